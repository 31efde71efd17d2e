//! Secrets, tokens and e-mail addresses taken out of what people type, where it enters: every
//! command, mention and form is redacted by the gateway before it is stored, queued, logged,
//! posted or sent anywhere, with the built-in patterns and the provider's `redact_patterns`.

use std::sync::LazyLock;

use regex_lite::Regex;

use crate::command::Segment;
use crate::inbound::{Inbound, Submission};

/// What a redacted secret reads as.
pub const REDACTED: &str = "[redacted]";
/// What a redacted e-mail address reads as.
pub const EMAIL: &str = "[email]";
/// Most patterns a provider may add, and their longest length.
pub const MAX_PATTERNS: usize = 20;
pub const MAX_PATTERN_LEN: usize = 200;

/// Built-in patterns, each with what replaces a match.
const BUILT_IN: &[(&str, &str)] = &[
    // A private key block (to its end, or to the end of the text).
    (
        r"-----BEGIN [A-Z ]*PRIVATE KEY-----(?s:.*?)(?:-----END [A-Z ]*PRIVATE KEY-----|$)",
        REDACTED,
    ),
    // Slack tokens (bot, user, app-level, refresh, config).
    (r"\bxox[abposre]-[A-Za-z0-9-]{8,}", REDACTED),
    (r"\bxapp-[A-Za-z0-9-]{8,}", REDACTED),
    // GitHub tokens.
    (r"\bgh[pousr]_[A-Za-z0-9]{20,}", REDACTED),
    (r"\bgithub_pat_[A-Za-z0-9_]{20,}", REDACTED),
    // AWS access key ids.
    (r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b", REDACTED),
    // JSON Web Tokens (and so Teams/Bot Framework bearer tokens).
    (
        r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}",
        REDACTED,
    ),
    // Discord bot tokens.
    (
        r"\b[MNO][A-Za-z0-9_-]{23,27}\.[A-Za-z0-9_-]{6}\.[A-Za-z0-9_-]{27,}",
        REDACTED,
    ),
    // `Bearer <token>` and `password=…`, `api_key: …`, `token=…`, `secret=…`.
    (r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]{12,}", REDACTED),
    (
        r"(?i)\b(password|passwd|pwd|secret|api[_-]?key|access[_-]?key|token)(\s*[:=]\s*)[^\s,;]+",
        "${1}${2}[redacted]",
    ),
    // E-mail addresses.
    (
        r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}",
        EMAIL,
    ),
];

static PATTERNS: LazyLock<Vec<(Regex, &'static str)>> = LazyLock::new(|| {
    BUILT_IN
        .iter()
        .filter_map(|(p, with)| Regex::new(p).ok().map(|r| (r, *with)))
        .collect()
});

/// The built-in patterns and a provider's own.
#[derive(Clone, Debug, Default)]
pub struct Redactor {
    extra: Vec<Regex>,
}

/// Why a provider's pattern was refused.
pub fn check_patterns(patterns: &[String]) -> Result<(), String> {
    if patterns.len() > MAX_PATTERNS {
        return Err(format!("redact_patterns: at most {MAX_PATTERNS} patterns"));
    }
    for p in patterns {
        if p.is_empty() || p.len() > MAX_PATTERN_LEN {
            return Err(format!(
                "redact_patterns: `{p}` must be 1 to {MAX_PATTERN_LEN} characters"
            ));
        }
        let re = Regex::new(p).map_err(|e| format!("redact_patterns: `{p}` is not a regular expression: {e}"))?;
        if re.is_match("") {
            return Err(format!("redact_patterns: `{p}` matches empty text"));
        }
    }
    Ok(())
}

impl Redactor {
    /// With a provider's `redact_patterns` (checked when configured; a pattern that does not
    /// compile is skipped).
    pub fn new(extra: &[String]) -> Self {
        Self {
            extra: extra.iter().filter_map(|p| Regex::new(p).ok()).collect(),
        }
    }

    pub fn text(&self, text: &str) -> String {
        let mut out = text.to_string();
        for (re, with) in PATTERNS.iter() {
            if re.is_match(&out) {
                out = re.replace_all(&out, *with).into_owned();
            }
        }
        for re in &self.extra {
            if re.is_match(&out) {
                out = re.replace_all(&out, REDACTED).into_owned();
            }
        }
        out
    }

    pub fn segments(&self, segments: Vec<Segment>) -> Vec<Segment> {
        segments
            .into_iter()
            .map(|s| match s {
                Segment::Text(t) => Segment::Text(self.text(&t)),
                other => other,
            })
            .collect()
    }

    fn option(&self, text: Option<String>) -> Option<String> {
        text.map(|t| self.text(&t))
    }

    /// What a request says, redacted: command and mention text, form fields.
    pub fn inbound(&self, inbound: Inbound) -> Inbound {
        match inbound {
            Inbound::Command { ctx, text } => Inbound::Command {
                ctx,
                text: self.segments(text),
            },
            Inbound::Mention { ctx, text } => Inbound::Mention {
                ctx,
                text: self.segments(text),
            },
            Inbound::Submission { ctx, submission } => Inbound::Submission {
                ctx,
                submission: match submission {
                    Submission::StatusUpdate { incident, note } => Submission::StatusUpdate {
                        incident,
                        note: self.text(&note),
                    },
                    Submission::Declare {
                        title,
                        severity,
                        service,
                        description,
                    } => Submission::Declare {
                        title: self.text(&title),
                        severity,
                        service: self.option(service),
                        description: self.option(description),
                    },
                },
            },
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(text: &str) -> String {
        Redactor::default().text(text)
    }

    #[test]
    fn secrets_and_addresses_are_taken_out() {
        for (given, expected) in [
            (
                "token xoxb-1234567890-0987654321-AbCdEfGhIjKl leaked",
                "token [redacted] leaked",
            ),
            ("xapp-1-A0123-456-abcdef0123", "[redacted]"),
            (
                "ghp_0123456789abcdefghijABCDEFGHIJ012345 in the log",
                "[redacted] in the log",
            ),
            ("github_pat_11ABCDEFG0123456789_abcdefghijklmnop", "[redacted]"),
            ("key AKIAIOSFODNN7EXAMPLE found", "key [redacted] found"),
            (
                "Authorization: Bearer abc.def-ghi_jkl012345",
                "Authorization: [redacted]",
            ),
            (
                "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N",
                "[redacted]",
            ),
            ("password=hunter2, user=bob", "password=[redacted], user=bob"),
            ("API_KEY: sk_live_51Habc; next", "API_KEY: [redacted]; next"),
            ("mail alice.smith+ops@example.co.uk now", "mail [email] now"),
            (
                "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY----- after",
                "[redacted] after",
            ),
            ("-----BEGIN PRIVATE KEY-----\nMIIE (cut)", "[redacted]"),
            (
                "MTk4NjIyNDgzNDcxOTI1MjQ4.Cl2FMQ.ZnCjm1XVW7vRze4b7Cq4se7kKWs in chat",
                "[redacted] in chat",
            ),
        ] {
            assert_eq!(r(given), expected, "{given}");
        }
    }

    #[test]
    fn ordinary_words_stay() {
        for kept in [
            "Payment processing down",
            "INC-2026-001 resolved by restarting MySQL",
            "token bucket exhausted on the gateway",
            "the secret sauce is caching",
            "@alice see #ops",
            "xoxb- alone",
            "v2.3.1 rollout",
        ] {
            assert_eq!(r(kept), kept);
        }
    }

    #[test]
    fn providers_add_their_own_patterns() {
        let ours = Redactor::new(&["ACME-[0-9]{6}".into(), "(?i)cust(omer)?#[0-9]+".into()]);
        assert_eq!(
            ours.text("ticket ACME-123456 for Customer#42"),
            "ticket [redacted] for [redacted]"
        );
        assert!(check_patterns(&["ACME-[0-9]{6}".into()]).is_ok());
        assert!(
            check_patterns(&["(unclosed".into()])
                .unwrap_err()
                .contains("not a regular expression")
        );
        assert!(
            check_patterns(&["a*".into()])
                .unwrap_err()
                .contains("matches empty text")
        );
        assert!(check_patterns(&[String::new()]).is_err());
        assert!(check_patterns(&["x".repeat(MAX_PATTERN_LEN + 1)]).is_err());
        assert!(check_patterns(&["x".repeat(MAX_PATTERN_LEN)]).is_ok());
        assert!(check_patterns(&vec!["x".to_string(); MAX_PATTERNS + 1]).is_err());
        assert!(check_patterns(&vec!["x".to_string(); MAX_PATTERNS]).is_ok());
    }

    #[test]
    fn requests_are_redacted_where_people_type() {
        let ctx = crate::inbound::Context::default();
        let ours = Redactor::default();
        let command = ours.inbound(Inbound::Command {
            ctx: ctx.clone(),
            text: vec![
                Segment::Text("declare leaked xoxb-1234567890-abcdefghij by ".into()),
                Segment::User(crate::UserRef::new("U1", Some("bob@example.com".into()))),
            ],
        });
        let Inbound::Command { text, .. } = command else {
            panic!()
        };
        assert_eq!(text[0], Segment::Text("declare leaked [redacted] by ".into()));
        assert!(
            matches!(&text[1], Segment::User(u) if u.id == "U1"),
            "people stay people"
        );
        let form = ours.inbound(Inbound::Submission {
            ctx: ctx.clone(),
            submission: Submission::Declare {
                title: "ops@example.com down".into(),
                severity: Some("SEV-2".into()),
                service: Some("checkout".into()),
                description: Some("password: x1".into()),
            },
        });
        let Inbound::Submission { submission, .. } = form else {
            panic!()
        };
        assert_eq!(
            submission,
            Submission::Declare {
                title: "[email] down".into(),
                severity: Some("SEV-2".into()),
                service: Some("checkout".into()),
                description: Some("password: [redacted]".into()),
            }
        );
        let note = ours.inbound(Inbound::Submission {
            ctx: ctx.clone(),
            submission: Submission::StatusUpdate {
                incident: crate::IncidentId::new(2026, 1),
                note: "rotated AKIAIOSFODNN7EXAMPLE".into(),
            },
        });
        assert!(
            matches!(note, Inbound::Submission { submission: Submission::StatusUpdate { note, .. }, .. } if note == "rotated [redacted]")
        );
        let mention = ours.inbound(Inbound::Mention {
            ctx,
            text: vec![Segment::Text("my email is a@b.io".into())],
        });
        assert!(
            matches!(mention, Inbound::Mention { text, .. } if text == vec![Segment::Text("my email is [email]".into())])
        );
    }
}
