//! Message templates in the product's syntax: `{{.Title}}`, `{{.Severity}}` …
//!
//! Templates are parsed when a provider is configured, so an unknown field or a broken `{{` is
//! refused then, with its line and the field named, and never fails at send time.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::incident::Incident;
use crate::timeline::EventKind;

/// Fields a template may use, with what they show.
pub const FIELDS: &[(&str, &str)] = &[
    ("ID", "incident id, INC-2026-001"),
    ("Title", "title"),
    ("Description", "description (empty if none)"),
    ("Severity", "SEV-1 … SEV-4"),
    ("PreviousSeverity", "severity before an escalation (empty otherwise)"),
    ("Status", "Open, Acknowledged, Resolved, Closed"),
    ("Service", "service (empty if none)"),
    ("Assignee", "assignee's name (empty if none)"),
    ("Commander", "incident commander's name (empty if none)"),
    ("DeclaredBy", "who declared it"),
    ("StartedAt", "declaration time, RFC 3339"),
    ("Resolution", "resolution note (empty if none)"),
    ("Event", "what happened: incident_created, incident_acknowledged …"),
    ("Note", "the note of this change (empty if none)"),
    ("TimeToAcknowledge", "e.g. 4m 10s (empty until acknowledged)"),
    ("TimeToResolve", "e.g. 1h 2m (empty until resolved)"),
];

/// Event types a template may be configured for.
pub const EVENT_TYPES: &[&str] = &[
    "incident_created",
    "incident_acknowledged",
    "incident_resolved",
    "incident_closed",
    "incident_escalated",
    "incident_assigned",
    "incident_updated",
    "sla_breach",
];

/// Platforms a template may be configured for.
pub const PLATFORMS: &[&str] = &["slack", "teams", "discord", "mattermost"];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("template {event}.{platform}, line {line}: {problem}")]
pub struct TemplateError {
    pub event: String,
    pub platform: String,
    pub line: usize,
    pub problem: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Field(String),
}

/// A parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
}

impl Template {
    /// Parses `source`; errors name the line (1-based) and the field.
    pub fn parse(source: &str) -> Result<Self, (usize, String)> {
        let mut parts = Vec::new();
        let mut rest = source;
        let mut line = 1;
        while let Some(open) = rest.find("{{") {
            let (text, after) = rest.split_at(open);
            line += text.matches('\n').count();
            if !text.is_empty() {
                parts.push(Part::Text(text.to_string()));
            }
            let after = &after[2..];
            let Some(close) = after.find("}}") else {
                return Err((line, "`{{` is not closed with `}}`".into()));
            };
            let inner = &after[..close];
            if inner.contains('\n') {
                return Err((
                    line,
                    format!(
                        "`{{{{{}` spans lines; close it with `}}}}` on the same line",
                        inner.lines().next().unwrap_or("")
                    ),
                ));
            }
            let name = inner.trim();
            let Some(field) = name.strip_prefix('.') else {
                return Err((
                    line,
                    format!("`{{{{{inner}}}}}` is not a field; fields look like {{{{.Title}}}}"),
                ));
            };
            if !FIELDS.iter().any(|(f, _)| *f == field) {
                let known: Vec<&str> = FIELDS.iter().map(|(f, _)| *f).collect();
                return Err((line, format!("unknown field `.{field}` (known: {})", known.join(", "))));
            }
            parts.push(Part::Field(field.to_string()));
            rest = &after[close + 2..];
        }
        if let Some(stray) = rest.find("}}") {
            line += rest[..stray].matches('\n').count();
            return Err((line, "`}}` without a matching `{{`".into()));
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_string()));
        }
        Ok(Self { parts })
    }

    /// Fills the template. `escape` is applied to field values (platform markup escaping).
    pub fn render(&self, values: &TemplateValues, escape: impl Fn(&str) -> String) -> String {
        self.parts
            .iter()
            .map(|p| match p {
                Part::Text(t) => t.clone(),
                Part::Field(f) => escape(values.get(f)),
            })
            .collect()
    }
}

/// Field values for one incident change.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TemplateValues(BTreeMap<&'static str, String>);

/// `4m 10s`, `1h 2m`, `45s`.
pub fn human_duration(d: time::Duration) -> String {
    let secs = d.whole_seconds().max(0);
    let (h, m, s) = (secs / 3600, (secs % 3600) / 60, secs % 60);
    match (h, m) {
        (0, 0) => format!("{s}s"),
        (0, _) => format!("{m}m {s}s"),
        _ => format!("{h}h {m}m"),
    }
}

impl TemplateValues {
    pub fn new(incident: &Incident, event: EventKind, note: Option<&str>, previous: Option<crate::Severity>) -> Self {
        let name = |u: &Option<crate::UserRef>| u.as_ref().map(|u| u.display().to_string()).unwrap_or_default();
        let mut m = BTreeMap::new();
        m.insert("ID", incident.id.to_string());
        m.insert("Title", incident.title.clone());
        m.insert("Description", incident.description.clone().unwrap_or_default());
        m.insert("Severity", incident.severity.to_string());
        m.insert("PreviousSeverity", previous.map(|s| s.to_string()).unwrap_or_default());
        m.insert("Status", incident.status.to_string());
        m.insert("Service", incident.service.clone().unwrap_or_default());
        m.insert("Assignee", name(&incident.assignee));
        m.insert("Commander", name(&incident.commander));
        m.insert("DeclaredBy", incident.declared_by.display().to_string());
        m.insert(
            "StartedAt",
            incident
                .declared_at
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default(),
        );
        m.insert("Resolution", incident.resolution.clone().unwrap_or_default());
        m.insert("Event", event.as_str().to_string());
        m.insert("Note", note.unwrap_or_default().to_string());
        m.insert(
            "TimeToAcknowledge",
            incident.time_to_acknowledge().map(human_duration).unwrap_or_default(),
        );
        m.insert(
            "TimeToResolve",
            incident.time_to_resolve().map(human_duration).unwrap_or_default(),
        );
        Self(m)
    }

    pub fn get(&self, field: &str) -> &str {
        self.0.get(field).map(String::as_str).unwrap_or("")
    }
}

/// `templates` in a provider's configuration: event type → platform → template source.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TemplateSet(pub BTreeMap<String, BTreeMap<String, String>>);

impl TemplateSet {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Checks every template (event type, platform, syntax, fields).
    pub fn validate(&self) -> Result<(), TemplateError> {
        for (event, per_platform) in &self.0 {
            for (platform, source) in per_platform {
                let fail = |line: usize, problem: String| TemplateError {
                    event: event.clone(),
                    platform: platform.clone(),
                    line,
                    problem,
                };
                if !EVENT_TYPES.contains(&event.as_str()) {
                    return Err(fail(
                        0,
                        format!("unknown event type `{event}` (known: {})", EVENT_TYPES.join(", ")),
                    ));
                }
                if !PLATFORMS.contains(&platform.as_str()) {
                    return Err(fail(
                        0,
                        format!("unknown platform `{platform}` (known: {})", PLATFORMS.join(", ")),
                    ));
                }
                Template::parse(source).map_err(|(line, problem)| fail(line, problem))?;
            }
        }
        Ok(())
    }

    /// The configured template for an event on a platform, parsed.
    pub fn get(&self, event: EventKind, platform: &str) -> Option<Template> {
        let source = self.0.get(event.as_str())?.get(platform)?;
        Template::parse(source).ok()
    }
}

impl fmt::Display for TemplateSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} template(s)", self.0.values().map(BTreeMap::len).sum::<usize>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_template_parses_and_renders() {
        let t = Template::parse("🚨 *{{.Title}}*\n{{.Description}}\nSeverity: {{.Severity}} | Service: {{ .Service }}")
            .expect("valid");
        let mut values = TemplateValues::default();
        values.0.insert("Title", "DB <down>".into());
        values.0.insert("Severity", "SEV-1".into());
        values.0.insert("Service", "checkout".into());
        let out = t.render(&values, |s| s.replace('<', "&lt;").replace('>', "&gt;"));
        assert_eq!(out, "🚨 *DB &lt;down&gt;*\n\nSeverity: SEV-1 | Service: checkout");
    }

    #[test]
    fn bad_templates_name_the_line_and_field() {
        let set = |src: &str| {
            let mut m = BTreeMap::new();
            m.insert(
                "incident_created".to_string(),
                BTreeMap::from([("slack".to_string(), src.to_string())]),
            );
            TemplateSet(m)
        };
        let err = set("🚨 {{.Title}}\nSeverity: {{.Sevrity}}")
            .validate()
            .expect_err("unknown field");
        assert_eq!(err.line, 2);
        assert!(
            err.to_string()
                .contains("incident_created.slack, line 2: unknown field `.Sevrity`"),
            "{err}"
        );
        let err = set("line one\nline two {{.Title").validate().expect_err("unclosed");
        assert_eq!(err.line, 2);
        assert!(err.problem.contains("not closed"));
        assert!(
            set("{{Title}}")
                .validate()
                .expect_err("no dot")
                .problem
                .contains("not a field")
        );
        assert!(set("a }} b").validate().is_err());
        let mut wrong_event = set("x").0;
        let inner = wrong_event.remove("incident_created").expect("present");
        wrong_event.insert("incident_exploded".into(), inner);
        assert!(
            TemplateSet(wrong_event)
                .validate()
                .expect_err("event")
                .problem
                .contains("unknown event type")
        );
        let platform = TemplateSet(BTreeMap::from([(
            "sla_breach".to_string(),
            BTreeMap::from([("irc".to_string(), "x".to_string())]),
        )]));
        assert!(
            platform
                .validate()
                .expect_err("platform")
                .problem
                .contains("unknown platform")
        );
    }
}
