//! `/dashboard` under `im serve`: the figures of `im chatops stats` as one page of server-rendered
//! SVG charts. No script, no font or style from elsewhere: it works offline. Every name shown
//! (teams, channels, people) is escaped: user text is data here too.

use std::fmt::Write as _;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use im_core::usage::{Named, Stats, UsageLog, parse_period};

use crate::stats::{percent, seconds};

/// `&`, `<`, `>`, `"` and `'` as entities.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// One bar of a chart: its label, the value it is drawn to, and the text printed beside it.
pub struct Bar {
    pub label: String,
    pub value: f64,
    pub shown: String,
}

const WIDTH: f64 = 560.0;
const LABEL: f64 = 190.0;
const ROW: f64 = 26.0;

/// A horizontal bar chart (`<svg id="chart-<id>">`); each bar carries `data-label` and
/// `data-value`, and its width is proportional to the largest value.
pub fn bars(id: &str, title: &str, rows: &[Bar]) -> String {
    let mut svg = String::new();
    let _ = write!(svg, "<section><h2>{}</h2>", escape(title));
    if rows.is_empty() {
        let _ = write!(
            svg,
            "<p class=\"empty\" id=\"chart-{id}\">Nothing counted yet.</p></section>"
        );
        return svg;
    }
    let max = rows.iter().map(|r| r.value).fold(0.0_f64, f64::max);
    let span = WIDTH - LABEL - 120.0;
    let height = ROW * rows.len() as f64 + 4.0;
    let _ = write!(
        svg,
        "<svg id=\"chart-{id}\" role=\"img\" aria-label=\"{}\" width=\"{WIDTH}\" height=\"{height}\" viewBox=\"0 0 {WIDTH} {height}\">",
        escape(title)
    );
    for (i, row) in rows.iter().enumerate() {
        let y = ROW * i as f64 + 2.0;
        let width = if max > 0.0 {
            (row.value / max * span).max(1.0)
        } else {
            1.0
        };
        let label = escape(&row.label);
        let _ = write!(
            svg,
            "<text x=\"{x}\" y=\"{ty}\" text-anchor=\"end\">{label}</text>\
             <rect class=\"bar\" x=\"{LABEL}\" y=\"{y}\" width=\"{width:.1}\" height=\"{h}\" data-label=\"{label}\" data-value=\"{value}\"><title>{label}: {shown}</title></rect>\
             <text class=\"value\" x=\"{vx:.1}\" y=\"{ty}\">{shown}</text>",
            x = LABEL - 8.0,
            ty = y + 15.0,
            h = ROW - 8.0,
            value = row.value,
            shown = escape(&row.shown),
            vx = LABEL + width + 6.0,
        );
    }
    svg.push_str("</svg></section>");
    svg
}

/// Commands per day as columns (`<svg id="chart-per-day">`, each `rect` with `data-day`).
fn columns(stats: &Stats) -> String {
    let days = &stats.commands_per_day;
    let height = 160.0;
    let max = days.iter().map(|d| d.count).max().unwrap_or(0).max(1) as f64;
    let step = (WIDTH - 20.0) / days.len().max(1) as f64;
    let mut svg = format!(
        "<section><h2>Commands per day</h2><svg id=\"chart-per-day\" role=\"img\" aria-label=\"Commands per day\" width=\"{WIDTH}\" height=\"{}\" viewBox=\"0 0 {WIDTH} {}\">",
        height + 50.0,
        height + 50.0
    );
    for (i, day) in days.iter().enumerate() {
        let h = day.count as f64 / max * height;
        let x = 10.0 + step * i as f64;
        let _ = write!(
            svg,
            "<rect class=\"bar\" x=\"{x:.1}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{h:.1}\" data-day=\"{d}\" data-value=\"{c}\"><title>{d}: {c}</title></rect>",
            y = height - h + 20.0,
            w = (step - 4.0).max(1.0),
            d = day.day,
            c = day.count,
        );
        if day.count > 0 && days.len() <= 31 {
            let _ = write!(
                svg,
                "<text class=\"value\" x=\"{tx:.1}\" y=\"{ty:.1}\" text-anchor=\"middle\">{c}</text>",
                tx = x + step / 2.0 - 2.0,
                ty = height - h + 16.0,
                c = day.count,
            );
        }
        if days.len() <= 14 || i % (days.len() / 7).max(1) == 0 {
            let _ = write!(
                svg,
                "<text class=\"axis\" x=\"{tx:.1}\" y=\"{ty}\" text-anchor=\"middle\">{label}</text>",
                tx = x + step / 2.0 - 2.0,
                ty = height + 38.0,
                label = day.day.get(5..).unwrap_or(&day.day),
            );
        }
    }
    svg.push_str("</svg></section>");
    svg
}

fn named(rows: &[Named]) -> Vec<Bar> {
    rows.iter()
        .map(|n| Bar {
            label: n.name.clone(),
            value: n.count as f64,
            shown: n.count.to_string(),
        })
        .collect()
}

fn tile(id: &str, label: &str, value: &str) -> String {
    format!(
        "<div class=\"tile\"><div class=\"figure\" id=\"tile-{id}\">{}</div><div class=\"label\">{}</div></div>",
        escape(value),
        escape(label)
    )
}

/// The whole page for the figures of a period.
pub fn render(stats: &Stats, since: &str) -> String {
    let acks: u64 = stats.time_to_acknowledge.iter().map(|a| a.count).sum();
    let ack_total: f64 = stats
        .time_to_acknowledge
        .iter()
        .filter_map(|a| a.average.map(|avg| avg * a.count as f64))
        .sum();
    let delivered: u64 = stats.delivery.iter().map(|d| d.delivered).sum();
    let failed: u64 = stats.delivery.iter().map(|d| d.failed).sum();
    let rate = (delivered + failed > 0).then(|| delivered as f64 / (delivered + failed) as f64);
    let e = &stats.engagement;
    let mut page = String::from(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>ChatOps usage</title><style>\
         body{font:14px system-ui,sans-serif;margin:24px;color:#1d1d1f;background:#fafafa}\
         h1{font-size:20px;margin:0 0 4px}h2{font-size:15px;margin:20px 0 6px}\
         .period{color:#555;margin-bottom:16px}.period a{margin-right:8px}\
         .tiles{display:flex;flex-wrap:wrap;gap:12px}.tile{background:#fff;border:1px solid #ddd;border-radius:6px;padding:10px 14px;min-width:140px}\
         .figure{font-size:22px;font-weight:600}.label{color:#555;font-size:12px}\
         .grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(580px,1fr));gap:8px}\
         section{background:#fff;border:1px solid #ddd;border-radius:6px;padding:6px 12px}\
         rect.bar{fill:#3b6fd8}text{font-size:12px;fill:#333}text.value{fill:#111;font-weight:600}text.axis{fill:#666;font-size:11px}\
         .empty{color:#888}</style></head><body>",
    );
    let _ = write!(
        page,
        "<h1>ChatOps usage</h1><div class=\"period\" id=\"period\">{} … {} · <a href=\"?since=1d\">today</a><a href=\"?since=7d\">7 days</a><a href=\"?since=30d\">30 days</a><a href=\"?since=90d\">90 days</a> (showing {})</div>",
        escape(&stats.from),
        escape(&stats.to),
        escape(since)
    );
    page.push_str("<div class=\"tiles\">");
    page.push_str(&tile("commands", "commands", &stats.total_commands.to_string()));
    page.push_str(&tile(
        "ack",
        "average time to acknowledge",
        &seconds((acks > 0).then(|| ack_total / acks as f64)),
    ));
    page.push_str(&tile("delivery", "notifications delivered", &percent(rate)));
    page.push_str(&tile(
        "engagement",
        "clicks per notification",
        &e.clicks_per_notification
            .map_or_else(|| "-".into(), |v| format!("{v:.2}")),
    ));
    page.push_str(&tile("people", "active people", &e.active_users.to_string()));
    page.push_str("</div><div class=\"grid\">");
    page.push_str(&columns(stats));
    let commands: Vec<Bar> = stats
        .commands
        .iter()
        .take(15)
        .map(|c| Bar {
            label: format!("{} · {} · {}", c.team, c.platform, c.command),
            value: c.count as f64,
            shown: c.count.to_string(),
        })
        .collect();
    page.push_str(&bars("commands", "Most used commands by team", &commands));
    let ack: Vec<Bar> = stats
        .time_to_acknowledge
        .iter()
        .map(|a| Bar {
            label: a.platform.clone(),
            value: a.average.unwrap_or(0.0),
            shown: format!("{} ({} acks)", seconds(a.average), a.count),
        })
        .collect();
    page.push_str(&bars("ack", "Time from notification to acknowledgement", &ack));
    let delivery: Vec<Bar> = stats
        .delivery
        .iter()
        .map(|d| Bar {
            label: d.platform.clone(),
            value: d.success_rate.unwrap_or(0.0) * 100.0,
            shown: format!("{} ({})", percent(d.success_rate), d.delivered + d.failed),
        })
        .collect();
    page.push_str(&bars("delivery", "Delivery success", &delivery));
    page.push_str(&bars(
        "failures",
        "Delivery failures by reason",
        &named(&stats.delivery_failures),
    ));
    let response: Vec<Bar> = stats
        .interaction_response
        .iter()
        .map(|a| Bar {
            label: a.platform.clone(),
            value: a.average.unwrap_or(0.0),
            shown: format!(
                "{} ({} clicks)",
                a.average.map_or_else(|| "-".into(), |v| format!("{v:.0} ms")),
                a.count
            ),
        })
        .collect();
    page.push_str(&bars("response", "Button and menu answer time", &response));
    page.push_str(&bars("actions", "Clicks by action", &named(&stats.clicks_by_action)));
    page.push_str(&bars(
        "channels",
        "Channel activity during incidents",
        &named(&stats.channels),
    ));
    page.push_str(&bars("mentions", "Mention intents", &named(&stats.mentions)));
    page.push_str(&bars("people", "Most active people", &named(&stats.top_users)));
    page.push_str("</div></body></html>");
    page
}

#[derive(serde::Deserialize)]
struct Period {
    since: Option<String>,
}

async fn page(State(log): State<Arc<dyn UsageLog>>, Query(period): Query<Period>) -> Response {
    let since = period.since.unwrap_or_else(|| "7d".into());
    let days = match parse_period(&since) {
        Ok(days) => days,
        Err(why) => return (StatusCode::BAD_REQUEST, why).into_response(),
    };
    match crate::stats::read(log.as_ref(), crate::stats::today(), days).await {
        Ok(stats) => (
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            render(&stats, &since),
        )
            .into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "reading usage for the dashboard");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "the usage counters cannot be read right now",
            )
                .into_response()
        }
    }
}

/// `GET /dashboard[?since=7d]` over the daily counters.
pub fn router(log: Arc<dyn UsageLog>) -> Router {
    Router::new().route("/dashboard", get(page)).with_state(log)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_are_proportional_and_names_are_escaped() {
        let svg = bars(
            "t",
            "Title",
            &[
                Bar {
                    label: "<script>alert(1)</script>".into(),
                    value: 10.0,
                    shown: "10".into(),
                },
                Bar {
                    label: "b\"&".into(),
                    value: 5.0,
                    shown: "5".into(),
                },
            ],
        );
        assert!(!svg.contains("<script>"), "{svg}");
        assert!(
            svg.contains("data-label=\"&lt;script&gt;alert(1)&lt;/script&gt;\""),
            "{svg}"
        );
        assert!(svg.contains("data-label=\"b&quot;&amp;\""), "{svg}");
        let span = WIDTH - LABEL - 120.0;
        assert!(
            svg.contains(&format!("width=\"{span:.1}\"")),
            "the largest fills the span"
        );
        assert!(
            svg.contains(&format!("width=\"{:.1}\"", span / 2.0)),
            "half the value, half the width"
        );
    }

    #[test]
    fn an_empty_chart_says_so() {
        assert!(bars("x", "X", &[]).contains("Nothing counted yet."));
    }
}
