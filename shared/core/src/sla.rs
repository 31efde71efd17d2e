//! SLA targets, breach detection and the weekly summary.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use time::{Duration, OffsetDateTime};

use crate::incident::{Incident, Severity, Status};
use crate::message::{Block, Doc, Fact, Text};
use crate::template::human_duration;

/// Acknowledge and resolve targets per severity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlaTargets(BTreeMap<Severity, (Duration, Duration)>);

impl Default for SlaTargets {
    /// SEV-1 5 min / 1 h, SEV-2 15 min / 4 h, SEV-3 1 h / 24 h, SEV-4 4 h / 72 h.
    fn default() -> Self {
        Self(BTreeMap::from([
            (Severity::Sev1, (Duration::minutes(5), Duration::hours(1))),
            (Severity::Sev2, (Duration::minutes(15), Duration::hours(4))),
            (Severity::Sev3, (Duration::hours(1), Duration::hours(24))),
            (Severity::Sev4, (Duration::hours(4), Duration::hours(72))),
        ]))
    }
}

/// `90s`, `5m`, `4h`, `3d`, or a number of seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let (number, unit) = t.split_at(t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len()));
    let n: i64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration (e.g. 30s, 5m, 4h, 3d)"))?;
    let d = match unit.trim() {
        "" | "s" => Duration::seconds(n),
        "m" | "min" => Duration::minutes(n),
        "h" => Duration::hours(n),
        "d" => Duration::days(n),
        other => return Err(format!("`{other}` is not a unit (s, m, h, d)")),
    };
    if d <= Duration::ZERO {
        return Err(format!("`{text}` must be positive"));
    }
    Ok(d)
}

impl SlaTargets {
    /// Overrides from JSON: `{"SEV-1": {"ack": "10m", "resolve": "2h"}, …}`; missing ones keep
    /// their defaults.
    pub fn with_overrides(json: &str) -> Result<Self, String> {
        let mut targets = Self::default();
        let value: serde_json::Value = serde_json::from_str(json).map_err(|e| format!("SLA targets: {e}"))?;
        let map = value.as_object().ok_or("SLA targets must be a JSON object")?;
        for (key, v) in map {
            let severity = Severity::parse(key).map_err(|e| e.to_string())?;
            let entry = targets
                .0
                .entry(severity)
                .or_insert((Duration::hours(1), Duration::hours(24)));
            for (name, slot) in [("ack", &mut entry.0), ("resolve", &mut entry.1)] {
                if let Some(d) = v.get(name) {
                    let text = match d {
                        serde_json::Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    *slot = parse_duration(&text)?;
                }
            }
            if let Some(unknown) = v
                .as_object()
                .and_then(|o| o.keys().find(|k| *k != "ack" && *k != "resolve"))
            {
                return Err(format!("SLA targets: unknown key `{unknown}` (ack, resolve)"));
            }
        }
        Ok(targets)
    }

    pub fn get(&self, severity: Severity) -> (Duration, Duration) {
        self.0
            .get(&severity)
            .copied()
            .unwrap_or((Duration::hours(1), Duration::hours(24)))
    }

    /// Targets this incident has breached at `now` and not yet recorded: (`ack`|`resolve`, limit).
    pub fn due(&self, incident: &Incident, now: OffsetDateTime) -> Vec<(&'static str, Duration)> {
        let (ack, resolve) = self.get(incident.severity);
        let age = now - incident.declared_at;
        let recorded = |t: &str| incident.sla_breaches.iter().any(|b| b == t);
        let mut due = Vec::new();
        if incident.status == Status::Open && age > ack && !recorded("ack") {
            due.push(("ack", ack));
        }
        if incident.status.is_active() && age > resolve && !recorded("resolve") {
            due.push(("resolve", resolve));
        }
        due
    }
}

/// Counts and mean times for incidents declared in a period.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    #[serde(with = "time::serde::rfc3339")]
    pub from: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub to: OffsetDateTime,
    pub by_severity: BTreeMap<Severity, usize>,
    pub mean_time_to_acknowledge: Option<Duration>,
    pub mean_time_to_resolve: Option<Duration>,
    pub open: usize,
}

fn mean(durations: impl Iterator<Item = Duration>) -> Option<Duration> {
    let (sum, n) = durations.fold((Duration::ZERO, 0i32), |(s, n), d| (s + d, n + 1));
    (n > 0).then(|| sum / n)
}

impl Summary {
    pub fn of(incidents: &[Incident], from: OffsetDateTime, to: OffsetDateTime) -> Self {
        let period: Vec<&Incident> = incidents
            .iter()
            .filter(|i| i.declared_at >= from && i.declared_at < to)
            .collect();
        let mut by_severity = BTreeMap::new();
        for s in Severity::ALL {
            by_severity.insert(s, period.iter().filter(|i| i.severity == s).count());
        }
        Self {
            from,
            to,
            by_severity,
            mean_time_to_acknowledge: mean(period.iter().filter_map(|i| i.time_to_acknowledge())),
            mean_time_to_resolve: mean(period.iter().filter_map(|i| i.time_to_resolve())),
            open: period.iter().filter(|i| i.status.is_active()).count(),
        }
    }

    pub fn total(&self) -> usize {
        self.by_severity.values().sum()
    }

    /// The summary as a message.
    pub fn doc(&self) -> Doc {
        let day = time::macros::format_description!("[year]-[month]-[day]");
        let title = format!(
            "Weekly incident summary ({} – {})",
            self.from.format(&day).unwrap_or_default(),
            (self.to - Duration::seconds(1)).format(&day).unwrap_or_default(),
        );
        let counts: Vec<String> = self.by_severity.iter().map(|(s, n)| format!("{s}: {n}")).collect();
        let total = Text::new()
            .bold(format!(
                "{} incident{}",
                self.total(),
                if self.total() == 1 { "" } else { "s" }
            ))
            .plain(format!(" — {}", counts.join(" · ")));
        let show = |d: Option<Duration>| d.map(human_duration).unwrap_or_else(|| "—".into());
        let mut doc = Doc::new(format!("📊 {title}: {}", total.plain_text()));
        doc.push(Block::Paragraph(
            Text::new().plain("📊 ").bold(title).plain("\n").extend(total),
        ));
        doc.push(Block::Facts(vec![vec![
            Fact::new("Mean time to acknowledge", show(self.mean_time_to_acknowledge)),
            Fact::new("Mean time to resolve", show(self.mean_time_to_resolve)),
            Fact::new("Still open", self.open.to_string()),
        ]]));
        doc
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn incident(n: u64, severity: Severity, status: Status) -> Incident {
        let mut incident = crate::memory::incident(n, severity, status);
        incident.declared_at = datetime!(2026-11-23 10:00 UTC);
        incident.updated_at = incident.declared_at;
        incident
    }

    #[test]
    fn breaches_are_due_once_per_target() {
        let t = SlaTargets::default();
        let mut inc = incident(1, Severity::Sev1, Status::Open);
        let start = inc.declared_at;
        assert!(
            t.due(&inc, start + Duration::minutes(5)).is_empty(),
            "at the limit is not a breach"
        );
        assert_eq!(
            t.due(&inc, start + Duration::minutes(6)),
            [("ack", Duration::minutes(5))]
        );
        inc.sla_breaches.push("ack".into());
        assert!(t.due(&inc, start + Duration::minutes(7)).is_empty());
        assert_eq!(
            t.due(&inc, start + Duration::minutes(61)),
            [("resolve", Duration::hours(1))]
        );
        inc.status = Status::Acknowledged;
        inc.sla_breaches.clear();
        assert_eq!(
            t.due(&inc, start + Duration::minutes(61)),
            [("resolve", Duration::hours(1))],
            "acknowledged: no ack breach"
        );
        inc.status = Status::Resolved;
        assert!(t.due(&inc, start + Duration::hours(100)).is_empty());
    }

    #[test]
    fn overrides() {
        let t = SlaTargets::with_overrides(r#"{"SEV-1": {"ack": "10m"}, "sev4": {"resolve": 7200}}"#).expect("valid");
        assert_eq!(t.get(Severity::Sev1), (Duration::minutes(10), Duration::hours(1)));
        assert_eq!(t.get(Severity::Sev4), (Duration::hours(4), Duration::hours(2)));
        assert!(SlaTargets::with_overrides(r#"{"SEV-9": {}}"#).is_err());
        assert!(SlaTargets::with_overrides(r#"{"SEV-1": {"ack": "soon"}}"#).is_err());
        assert!(SlaTargets::with_overrides(r#"{"SEV-1": {"acknowledge": "5m"}}"#).is_err());
    }

    #[test]
    fn weekly_summary() {
        let mut a = incident(1, Severity::Sev1, Status::Resolved);
        a.acknowledged_at = Some(a.declared_at + Duration::minutes(4));
        a.resolved_at = Some(a.declared_at + Duration::hours(1));
        let mut b = incident(2, Severity::Sev2, Status::Acknowledged);
        b.acknowledged_at = Some(b.declared_at + Duration::minutes(10));
        let mut old = incident(3, Severity::Sev3, Status::Open);
        old.declared_at = datetime!(2026-11-01 10:00 UTC);
        let s = Summary::of(
            &[a, b, old],
            datetime!(2026-11-23 0:00 UTC),
            datetime!(2026-11-30 0:00 UTC),
        );
        assert_eq!(s.total(), 2);
        assert_eq!(s.mean_time_to_acknowledge, Some(Duration::minutes(7)));
        assert_eq!(s.mean_time_to_resolve, Some(Duration::hours(1)));
        let text = s.doc().plain_text();
        assert!(text.contains("(2026-11-23 – 2026-11-29)"), "{text}");
        assert!(
            text.contains("2 incidents — SEV-1: 1 · SEV-2: 1 · SEV-3: 0 · SEV-4: 0"),
            "{text}"
        );
        assert!(
            text.contains("Mean time to acknowledge: 7m 0s | Mean time to resolve: 1h 0m | Still open: 1"),
            "{text}"
        );
        let back: Summary = serde_json::from_value(serde_json::to_value(&s).expect("json")).expect("parse");
        assert_eq!(back, s, "summaries travel on the deliveries queue");
    }
}
