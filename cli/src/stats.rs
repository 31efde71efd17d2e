//! `im chatops stats`: the usage figures of a period as tables or JSON, and the period's reading
//! from the table's daily counters (shared with `/dashboard`).

use comfy_table::presets::UTF8_BORDERS_ONLY;
use comfy_table::{CellAlignment, Table};
use im_core::usage::{Stats, UsageLog};
use time::{Date, Duration, OffsetDateTime};

/// The figures of the `days` days ending `today` (inclusive).
pub async fn read(log: &dyn UsageLog, today: Date, days: u32) -> Result<Stats, im_core::StoreError> {
    let from = today - Duration::days(i64::from(days.saturating_sub(1)));
    let counters = log.days(from, today).await?;
    Ok(Stats::compute(from, today, &counters))
}

pub fn today() -> Date {
    OffsetDateTime::now_utc().date()
}

/// `252` → `4m 12s`; `None` → `-`.
pub fn seconds(value: Option<f64>) -> String {
    let Some(value) = value else {
        return "-".into();
    };
    let total = value.round() as u64;
    match total {
        0..=59 => format!("{total}s"),
        60..=3599 => format!("{}m {:02}s", total / 60, total % 60),
        _ => format!("{}h {:02}m", total / 3600, total % 3600 / 60),
    }
}

pub fn percent(value: Option<f64>) -> String {
    value.map_or_else(|| "-".into(), |v| format!("{:.1} %", v * 100.0))
}

fn table(header: &[&str], rows: Vec<Vec<String>>) -> String {
    let mut table = Table::new();
    table.load_preset(UTF8_BORDERS_ONLY).set_header(header.to_vec());
    for row in rows {
        table.add_row(row);
    }
    for (i, name) in header.iter().enumerate().skip(1) {
        if let Some(column) = table.column_mut(i)
            && *name != "Platform"
            && *name != "Command"
        {
            column.set_cell_alignment(CellAlignment::Right);
        }
    }
    table.to_string()
}

/// The figures as a person reads them in a terminal.
pub fn render_table(stats: &Stats) -> String {
    let mut out = format!("ChatOps usage {} … {}\n\n", stats.from, stats.to);
    if stats.total_commands == 0 && stats.engagement.clicks == 0 && stats.engagement.notifications == 0 {
        out.push_str("Nothing was counted in this period.\n");
        return out;
    }
    out.push_str(&format!("Most used commands ({} in all)\n", stats.total_commands));
    out.push_str(&table(
        &["Team", "Platform", "Command", "Count"],
        stats
            .commands
            .iter()
            .map(|c| {
                vec![
                    c.team.clone(),
                    c.platform.clone(),
                    c.command.clone(),
                    c.count.to_string(),
                ]
            })
            .collect(),
    ));
    out.push_str("\n\nTime from notification to acknowledgement\n");
    out.push_str(&table(
        &["Platform", "Acknowledged", "Average"],
        stats
            .time_to_acknowledge
            .iter()
            .map(|a| vec![a.platform.clone(), a.count.to_string(), seconds(a.average)])
            .collect(),
    ));
    out.push_str("\n\nInteractive elements\n");
    out.push_str(&table(
        &["Platform", "Clicks", "Average answer"],
        stats
            .interaction_response
            .iter()
            .map(|a| {
                let ms = a.average.map_or_else(|| "-".into(), |v| format!("{v:.0} ms"));
                vec![a.platform.clone(), a.count.to_string(), ms]
            })
            .collect(),
    ));
    out.push_str("\n\nDelivery\n");
    out.push_str(&table(
        &["Platform", "Delivered", "Failed", "Success"],
        stats
            .delivery
            .iter()
            .map(|d| {
                vec![
                    d.platform.clone(),
                    d.delivered.to_string(),
                    d.failed.to_string(),
                    percent(d.success_rate),
                ]
            })
            .collect(),
    ));
    for (title, rows) in [
        ("Delivery failures", &stats.delivery_failures),
        ("Channel activity (commands and clicks)", &stats.channels),
        ("Mention intents", &stats.mentions),
        ("Most active people", &stats.top_users),
        ("Command errors", &stats.command_errors),
    ] {
        if rows.is_empty() {
            continue;
        }
        out.push_str(&format!("\n\n{title}\n"));
        out.push_str(&table(
            &["", "Count"],
            rows.iter().map(|n| vec![n.name.clone(), n.count.to_string()]).collect(),
        ));
    }
    let e = &stats.engagement;
    out.push_str(&format!(
        "\n\nEngagement: {} notifications, {} clicks ({} per notification), {} active people\n",
        e.notifications,
        e.clicks,
        e.clicks_per_notification
            .map_or_else(|| "-".into(), |v| format!("{v:.2}")),
        e.active_users
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use im_core::usage::{DayCounters, Usage};
    use time::macros::date;

    fn seeded() -> Stats {
        let mut day = DayCounters::new();
        for usage in [
            Usage::Command {
                platform: "slack".into(),
                provider: "acme".into(),
                command: "declare".into(),
                user: "U1".into(),
                channel: Some("C1".into()),
                ok: true,
            },
            Usage::Acknowledged {
                platform: "slack".into(),
                after_seconds: 252,
            },
            Usage::Delivery {
                platform: "slack".into(),
                provider: "acme".into(),
                failure: None,
            },
        ] {
            for (k, v) in usage.counters() {
                *day.entry(k).or_default() += v;
            }
        }
        let d = date!(2026 - 12 - 01);
        Stats::compute(d, d, &[(d, day)])
    }

    #[test]
    fn the_table_shows_each_figure_readably() {
        let text = render_table(&seeded());
        assert!(text.starts_with("ChatOps usage 2026-12-01 … 2026-12-01"), "{text}");
        assert!(text.contains("Most used commands (1 in all)"), "{text}");
        let declare = text.lines().find(|l| l.contains("declare")).expect("a declare row");
        assert!(
            declare.contains("acme") && declare.contains("slack") && declare.trim_end().ends_with("1 │"),
            "{declare}"
        );
        assert!(text.contains("4m 12s"), "{text}");
        assert!(text.contains("100.0 %"), "{text}");
        assert!(text.contains("Engagement: 1 notifications, 0 clicks (0.00 per notification), 1 active people"));
    }

    #[test]
    fn an_empty_period_says_so() {
        let d = date!(2026 - 12 - 01);
        let text = render_table(&Stats::compute(d, d, &[]));
        assert!(text.contains("Nothing was counted in this period."), "{text}");
    }

    #[test]
    fn durations_read_as_people_say_them() {
        assert_eq!(seconds(Some(42.4)), "42s");
        assert_eq!(seconds(Some(252.0)), "4m 12s");
        assert_eq!(seconds(Some(7260.0)), "2h 01m");
        assert_eq!(seconds(None), "-");
        assert_eq!(percent(Some(0.9876)), "98.8 %");
    }
}
