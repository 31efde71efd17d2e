//! Rejected requests are logged, but not every one: platforms probe endpoints with bad
//! signatures, and a flood of them must not flood the logs.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Log lines per provider per window.
const PER_WINDOW: u32 = 3;
const WINDOW: Duration = Duration::from_secs(60);

#[derive(Default)]
pub(crate) struct Rejections {
    /// provider → (window start, rejections in it)
    windows: Mutex<HashMap<String, (Instant, u32)>>,
}

impl Rejections {
    /// Counts a rejection; logs it while the provider's window has room. Returns whether it
    /// was logged.
    pub(crate) fn note(&self, provider: &str, reason: &str) -> bool {
        let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        let (start, count) = windows.entry(provider.to_string()).or_insert((now, 0));
        if now.duration_since(*start) >= WINDOW {
            if *count > PER_WINDOW {
                tracing::warn!(
                    provider,
                    suppressed = *count - PER_WINDOW,
                    "more requests were rejected in the last minute"
                );
            }
            *start = now;
            *count = 0;
        }
        *count += 1;
        let log = *count <= PER_WINDOW;
        if log {
            tracing::warn!(provider, %reason, "rejected request");
        }
        log
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_few_rejections_per_provider_are_logged_then_counted() {
        let r = Rejections::default();
        let logged: Vec<bool> = (0..6).map(|_| r.note("acme", "signature")).collect();
        assert_eq!(logged, [true, true, true, false, false, false]);
        assert!(r.note("other", "signature"), "each provider has its own window");
    }
}
