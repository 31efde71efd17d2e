//! Connection checks (`im chatops test`): what a platform's API says about a provider's
//! credentials, permissions and channels, one line each. Each platform answers what it can;
//! what it cannot answer is [`Verdict::Unknown`] with the reason, never a guess.

use crate::chat::ChatError;

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Pass,
    Fail,
    Unknown,
}

/// One check and its result.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Probe {
    /// What was checked, as the documentation words it (`Connected to Slack workspace`).
    pub check: String,
    pub verdict: Verdict,
    /// What was found, or why it failed or could not be told.
    pub detail: String,
}

impl Probe {
    pub fn pass(check: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            check: check.into(),
            verdict: Verdict::Pass,
            detail: detail.into(),
        }
    }

    pub fn fail(check: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            check: check.into(),
            verdict: Verdict::Fail,
            detail: detail.into(),
        }
    }

    pub fn unknown(check: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            check: check.into(),
            verdict: Verdict::Unknown,
            detail: detail.into(),
        }
    }

    /// `✓ Connected to Slack workspace (Acme)`, `✗ … — why`, `? … — why`.
    pub fn line(&self) -> String {
        let (mark, sep) = match self.verdict {
            Verdict::Pass => ("✓", " "),
            Verdict::Fail => ("✗", " — "),
            Verdict::Unknown => ("?", " — "),
        };
        match (self.verdict, self.detail.is_empty()) {
            (_, true) => format!("{mark} {}", self.check),
            (Verdict::Pass, false) => format!("{mark} {}{sep}({})", self.check, self.detail),
            _ => format!("{mark} {}{sep}{}", self.check, self.detail),
        }
    }
}

/// A channel the bot can see, and whether it can post there.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ChannelInfo {
    pub id: String,
    pub name: String,
    pub can_post: Verdict,
    /// Why it can or cannot (membership, a scope), or why it cannot be told.
    pub detail: String,
}

/// A chat error in the words an operator acts on: bad token, missing permission, unknown
/// channel, platform unreachable.
pub fn explain(error: &ChatError) -> String {
    match error {
        ChatError::Unauthorized(why) => format!("bad token: the platform refused it ({why})"),
        ChatError::NotFound(why) => format!("unknown channel or object ({why})"),
        ChatError::Permanent(why) if why.contains("missing_scope") || why.contains("Missing") => {
            format!("missing permission ({why})")
        }
        ChatError::Permanent(why) => format!("refused: {why}"),
        ChatError::Transient(why) | ChatError::Unknown(why) => format!("platform unreachable ({why})"),
        ChatError::RateLimited { wait, .. } => format!("rate limited; try again in {wait:?}"),
        ChatError::NameTaken => "name taken".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_read_like_the_documentation() {
        assert_eq!(
            Probe::pass("Connected to Slack workspace", "").line(),
            "✓ Connected to Slack workspace"
        );
        assert_eq!(
            Probe::pass("Default channel accessible", "#incidents").line(),
            "✓ Default channel accessible (#incidents)"
        );
        assert_eq!(
            Probe::fail("Bot permissions verified", "missing scopes: pins:write").line(),
            "✗ Bot permissions verified — missing scopes: pins:write"
        );
        assert_eq!(
            Probe::unknown("Slash commands configured", "not seen yet").line(),
            "? Slash commands configured — not seen yet"
        );
    }

    #[test]
    fn errors_are_told_apart() {
        assert!(explain(&ChatError::Unauthorized("invalid_auth".into())).starts_with("bad token"));
        assert!(explain(&ChatError::NotFound("channel_not_found".into())).starts_with("unknown channel"));
        assert!(explain(&ChatError::Permanent("missing_scope".into())).starts_with("missing permission"));
        assert!(explain(&ChatError::Permanent("Missing Access".into())).starts_with("missing permission"));
        assert!(explain(&ChatError::Permanent("is_archived".into())).starts_with("refused"));
        assert!(explain(&ChatError::Transient("connection refused".into())).starts_with("platform unreachable"));
        assert!(explain(&ChatError::Unknown("timed out".into())).starts_with("platform unreachable"));
        assert!(
            explain(&ChatError::RateLimited {
                wait: std::time::Duration::from_secs(2),
                global: false
            })
            .contains("2s")
        );
        assert_eq!(explain(&ChatError::NameTaken), "name taken");
    }
}
