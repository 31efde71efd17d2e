//! Slack's message text → the grammar's [`Segment`]s.
//!
//! Slack escapes `&`, `<` and `>` as entities and sends references in angle brackets: users
//! `<@U123|alice>`, channels `<#C123|ops>`, special mentions `<!here>`, links `<https://x|label>`.
//! Users and channels become reference segments; everything else becomes the text a person sees.

use im_core::UserRef;
use im_core::command::Segment;

/// Undoes Slack's escaping of `&`, `<` and `>` (the only three it escapes).
pub fn unescape_entities(text: &str) -> String {
    if !text.contains('&') {
        return text.to_string();
    }
    text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
}

fn reference(inner: &str, provider: &str) -> Segment {
    let (target, label) = match inner.split_once('|') {
        Some((t, l)) => (t, Some(unescape_entities(l))),
        None => (inner, None),
    };
    if let Some(id) = target.strip_prefix('@') {
        Segment::User(UserRef::new(id, label).on(provider))
    } else if let Some(id) = target.strip_prefix('#') {
        Segment::Channel {
            id: id.to_string(),
            name: label,
        }
    } else if let Some(special) = target.strip_prefix('!') {
        let name = special.split('^').next().unwrap_or(special);
        Segment::Text(label.unwrap_or_else(|| format!("@{name}")))
    } else {
        Segment::Text(label.unwrap_or_else(|| unescape_entities(target)))
    }
}

/// Reads Slack text; users belong to `provider`.
pub fn segments(text: &str, provider: &str) -> Vec<Segment> {
    let mut out = Vec::new();
    let mut plain = String::new();
    let mut rest = text;
    while let Some(open) = rest.find('<') {
        let after = &rest[open + 1..];
        let inner = after.find('>').map(|close| &after[..close]);
        // A reference's target has no spaces (its label may: `<https://x|status page>`).
        let is_reference = |i: &&str| {
            let target = i.split('|').next().unwrap_or("");
            !target.is_empty() && !target.contains(char::is_whitespace) && !i.contains('<')
        };
        match inner.filter(is_reference) {
            Some(inner) => {
                plain.push_str(&rest[..open]);
                match reference(inner, provider) {
                    Segment::Text(t) => {
                        plain = unescape_entities(&plain);
                        plain.push_str(&t);
                        out.push(Segment::Text(std::mem::take(&mut plain)));
                    }
                    other => {
                        if !plain.is_empty() {
                            out.push(Segment::Text(unescape_entities(&std::mem::take(&mut plain))));
                        }
                        out.push(other);
                    }
                }
                rest = &after[inner.len() + 1..];
            }
            None => {
                plain.push_str(&rest[..=open]);
                rest = after;
            }
        }
    }
    plain.push_str(rest);
    if !plain.is_empty() {
        out.push(Segment::Text(unescape_entities(&plain)));
    }
    out
}

/// Removes a leading mention of the bot (`<@UBOT> ack it` → `ack it`) from an `app_mention`.
pub fn strip_leading_mention(text: &str) -> &str {
    let trimmed = text.trim_start();
    match trimmed
        .strip_prefix("<@")
        .and_then(|r| r.find('>').map(|i| &r[i + 1..]))
    {
        Some(rest) => rest.trim_start(),
        None => trimmed,
    }
}

#[cfg(test)]
mod tests {
    /// The mention corpus read as Slack delivers it (mention markup through [`segments`]): the
    /// issue asks for 95 %; this guards what the rules do today, line by line: every corpus line,
    /// and the held-out set's one known miss. A change that loses a line fails here and is
    /// either fixed or, deliberately, written down. Chatter never yields a state change.
    #[test]
    fn the_mention_corpus_is_understood_and_its_chatter_never_acts() {
        let services: Vec<String> = include_str!("../../../tests/nlu/services.txt")
            .lines()
            .map(str::to_string)
            .collect();
        for (file, known_misses) in [
            (include_str!("../../../tests/nlu/corpus.jsonl"), 0),
            (include_str!("../../../tests/nlu/heldout.jsonl"), 1),
        ] {
            let e = im_core::nlu::evaluate(file, &services, |t| super::segments(t, "acme"));
            assert!(e.unreadable.is_empty(), "{:?}", e.unreadable);
            assert!(e.chatter_acting.is_empty(), "{:?}", e.chatter_acting);
            assert!(e.lines() >= 45 && e.misses.len() <= known_misses, "{}", e.report());
        }
    }

    use super::*;
    use im_core::command::{Assignee, Command, Declare, parse_segments};
    use im_core::{IncidentId, Verb};

    fn parse(text: &str) -> Result<Command, im_core::UsageError> {
        parse_segments(&segments(text, "acme"))
    }

    fn declare(title: &str) -> Command {
        Command::Declare(Declare {
            title: title.into(),
            severity: None,
            service: None,
            description: None,
        })
    }

    #[test]
    fn entities_and_references_read_as_meant() {
        assert_eq!(
            parse("declare R&amp;D wiki &lt;down&gt;"),
            Ok(declare("R&D wiki <down>"))
        );
        assert_eq!(
            parse("declare Outage in <#C123|ops> reported by <@U42|carol>"),
            Ok(declare("Outage in #ops reported by @carol"))
        );
        assert_eq!(
            parse("declare <!here> see <https://status.example.com|status page> now"),
            Ok(declare("@here see status page now"))
        );
        assert_eq!(parse("declare a <b c> d"), Ok(declare("a <b c> d")), "not a reference");
        assert_eq!(parse("declare x < y"), Ok(declare("x < y")));
        let id = IncidentId::parse("INC-2026-001").expect("id");
        assert_eq!(
            parse("assign INC-2026-001 <@U123|alice>"),
            Ok(Command::Assign {
                id: id.clone(),
                assignee: Assignee::User(UserRef::new("U123", Some("alice".into())).on("acme")),
            })
        );
        assert_eq!(
            parse("assign INC-2026-001 <@U123>"),
            Ok(Command::Assign {
                id,
                assignee: Assignee::User(UserRef::new("U123", None).on("acme")),
            })
        );
        let err = parse("assign INC-2026-001 <#C1|ops>").expect_err("a channel");
        assert_eq!(err.verb, Verb::Assign);
        assert!(err.problem.contains("not a channel"));
    }

    #[test]
    fn the_bots_own_mention_is_removed() {
        assert_eq!(strip_leading_mention("<@UBOT> ack INC-2026-001"), "ack INC-2026-001");
        assert_eq!(strip_leading_mention("  <@UBOT>   list"), "list");
        assert_eq!(strip_leading_mention("list <@UBOT>"), "list <@UBOT>");
    }
}
