//! Usage analytics: what people do through chat, counted per day.
//!
//! The timeline records changes to incidents; it does not record reads (`status`, `list`), clicks
//! that change nothing, delivery outcomes or how long a button took to answer. Those are
//! [`Usage`] events: each becomes a few named daily counters ([`Usage::counters`], added to one
//! record per day by a [`UsageLog`]) and one metric line ([`Usage::metric`], which the AWS adapter
//! prints in CloudWatch's Embedded Metric Format). [`Stats`] reads the counters back: the figures
//! of `im chatops stats` and the `/dashboard` page, computed once here.
//!
//! Counter names are fields joined by `|` (`commands|slack|acme|declare`); a `|` inside a field
//! becomes `/`, so a name always splits back into its fields.

use std::collections::BTreeMap;

use serde::Serialize;
use time::{Date, OffsetDateTime};

use crate::chat::BoxFuture;
use crate::ports::StoreError;

/// One thing someone did, or one delivery outcome.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Usage {
    /// A command typed in chat (`/im …`), whatever its result.
    Command {
        platform: String,
        provider: String,
        command: String,
        user: String,
        channel: Option<String>,
        /// False when it failed for a reason that is ours (storage, deadline), not the user's.
        ok: bool,
    },
    /// A button or menu on an incident card, and how long we took to answer it.
    Click {
        platform: String,
        provider: String,
        action: String,
        user: String,
        channel: Option<String>,
        answered_ms: u64,
    },
    /// An incident acknowledged from chat, this long after it was declared (when its first
    /// notification went out).
    Acknowledged { platform: String, after_seconds: u64 },
    /// A notification's delivery, one per job: posted, or given up with a reason.
    Delivery {
        platform: String,
        provider: String,
        failure: Option<String>,
    },
    /// A mention the bot understood as this intent.
    Mention { platform: String, intent: String },
}

/// A metric line: dimensions, values and searchable properties (high-cardinality fields such as
/// the user go here, not into dimensions).
#[derive(Clone, Debug, PartialEq)]
pub struct Metric {
    pub dimensions: Vec<(&'static str, String)>,
    pub values: Vec<(&'static str, f64, Unit)>,
    pub properties: Vec<(&'static str, String)>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    Count,
    Seconds,
    Milliseconds,
}

impl Unit {
    pub fn as_str(self) -> &'static str {
        match self {
            Unit::Count => "Count",
            Unit::Seconds => "Seconds",
            Unit::Milliseconds => "Milliseconds",
        }
    }
}

fn field(value: &str) -> String {
    value.replace('|', "/")
}

fn name(parts: &[&str]) -> String {
    parts.iter().map(|p| field(p)).collect::<Vec<_>>().join("|")
}

/// A failure reason reduced to a short class (`channel_not_found: …` → `channel_not_found`,
/// `Missing Access (50001)` → `Missing_Access`).
pub fn reason_class(reason: &str) -> String {
    let head = reason.split([':', '(']).next().unwrap_or_default().trim();
    let class: String = head
        .chars()
        .map(|c| if c.is_whitespace() || c == '|' { '_' } else { c })
        .take(40)
        .collect();
    if class.is_empty() { "unknown".into() } else { class }
}

impl Usage {
    /// The daily counters this event adds to.
    pub fn counters(&self) -> Vec<(String, u64)> {
        let one = |parts: &[&str]| (name(parts), 1);
        match self {
            Usage::Command {
                platform,
                provider,
                command,
                user,
                channel,
                ok,
            } => {
                let mut out = vec![
                    one(&["commands", platform, provider, command]),
                    one(&["users", &format!("{provider}:{user}")]),
                ];
                if let Some(channel) = channel {
                    out.push(one(&["channels", provider, channel]));
                }
                if !ok {
                    out.push(one(&["errors", platform, command]));
                }
                out
            }
            Usage::Click {
                platform,
                provider,
                action,
                user,
                channel,
                answered_ms,
            } => {
                let mut out = vec![
                    one(&["clicks", platform, action]),
                    (name(&["click_ms", platform]), *answered_ms),
                    one(&["users", &format!("{provider}:{user}")]),
                ];
                if let Some(channel) = channel {
                    out.push(one(&["channels", provider, channel]));
                }
                out
            }
            Usage::Acknowledged {
                platform,
                after_seconds,
            } => vec![
                one(&["acks", platform]),
                (name(&["ack_seconds", platform]), *after_seconds),
            ],
            Usage::Delivery {
                platform,
                provider,
                failure,
            } => match failure {
                None => vec![one(&["delivered", platform]), one(&["delivered_by", provider])],
                Some(reason) => vec![
                    one(&["failed", platform, &reason_class(reason)]),
                    one(&["failed_by", provider]),
                ],
            },
            Usage::Mention { platform, intent } => vec![one(&["mentions", platform, intent])],
        }
    }

    /// Values this event sets (not adds) on the day's record: the time of a provider's last
    /// delivery (`last_delivery|<provider>` = Unix seconds), for `im chatops health`.
    pub fn stamps(&self, at: OffsetDateTime) -> Vec<(String, u64)> {
        match self {
            Usage::Delivery {
                provider,
                failure: None,
                ..
            } => vec![(
                name(&["last_delivery", provider]),
                at.unix_timestamp().max(0).unsigned_abs(),
            )],
            _ => Vec::new(),
        }
    }

    /// The metric line for CloudWatch (namespace `im/chatops`).
    pub fn metric(&self) -> Metric {
        match self {
            Usage::Command {
                platform,
                provider,
                command,
                user,
                channel,
                ok,
            } => Metric {
                dimensions: vec![("Platform", platform.clone()), ("Command", command.clone())],
                values: vec![
                    ("Commands", 1.0, Unit::Count),
                    ("CommandErrors", if *ok { 0.0 } else { 1.0 }, Unit::Count),
                ],
                properties: vec![
                    ("Provider", provider.clone()),
                    ("User", user.clone()),
                    ("Channel", channel.clone().unwrap_or_default()),
                ],
            },
            Usage::Click {
                platform,
                provider,
                action,
                user,
                channel,
                answered_ms,
            } => Metric {
                dimensions: vec![("Platform", platform.clone()), ("Action", action.clone())],
                values: vec![
                    ("Clicks", 1.0, Unit::Count),
                    ("InteractionResponseTime", *answered_ms as f64, Unit::Milliseconds),
                ],
                properties: vec![
                    ("Provider", provider.clone()),
                    ("User", user.clone()),
                    ("Channel", channel.clone().unwrap_or_default()),
                ],
            },
            Usage::Acknowledged {
                platform,
                after_seconds,
            } => Metric {
                dimensions: vec![("Platform", platform.clone())],
                values: vec![("TimeToAcknowledge", *after_seconds as f64, Unit::Seconds)],
                properties: vec![],
            },
            Usage::Delivery {
                platform,
                provider,
                failure,
            } => Metric {
                dimensions: vec![
                    ("Platform", platform.clone()),
                    (
                        "Outcome",
                        failure.as_deref().map_or_else(|| "delivered".to_string(), reason_class),
                    ),
                ],
                values: vec![("Deliveries", 1.0, Unit::Count)],
                properties: vec![("Provider", provider.clone())],
            },
            Usage::Mention { platform, intent } => Metric {
                dimensions: vec![("Platform", platform.clone()), ("Intent", intent.clone())],
                values: vec![("Mentions", 1.0, Unit::Count)],
                properties: vec![],
            },
        }
    }
}

/// One day's counters.
pub type DayCounters = BTreeMap<String, u64>;

/// Where the daily counters live.
pub trait UsageLog: Send + Sync {
    /// Adds `counters` to `day`'s record (creating it).
    fn add<'a>(&'a self, day: Date, counters: &'a [(String, u64)]) -> BoxFuture<'a, Result<(), StoreError>>;
    /// Sets `stamps` on `day`'s record (last writer wins), with the counters of the same event.
    fn add_with_stamps<'a>(
        &'a self,
        day: Date,
        counters: &'a [(String, u64)],
        stamps: &'a [(String, u64)],
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        let _ = stamps;
        self.add(day, counters)
    }
    /// The records of the days `from..=to` that exist, oldest first.
    fn days(&self, from: Date, to: Date) -> BoxFuture<'_, Result<Vec<(Date, DayCounters)>, StoreError>>;
}

/// One inbound request as `im chatops webhooks --recent` shows it: never its body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct RequestRecord {
    pub at: String,
    pub provider: String,
    /// Empty when the provider is unknown.
    pub platform: String,
    /// `command`, `action`, `mention`, `ping` … (empty when refused before it was read).
    pub kind: String,
    pub status: u16,
    /// `answered`, or why it was refused (`the signature does not match`, `tenant: …`).
    pub verdict: String,
    pub latency_ms: u64,
}

/// Records usage: the daily counters and, where the adapter has one, a metric line. Never fails
/// the request it describes: a failure is logged.
pub trait UsageRecorder: Send + Sync {
    fn record(&self, at: OffsetDateTime, usage: Usage) -> BoxFuture<'_, ()>;

    /// Keeps a short-lived record of one inbound request (`webhooks --recent`).
    fn request(&self, record: RequestRecord) -> BoxFuture<'_, ()> {
        let _ = record;
        Box::pin(async {})
    }
}

/// Counts into a [`UsageLog`] only (tests, `im serve` without metrics).
pub struct LogRecorder<L>(pub L);

impl<L: UsageLog> UsageRecorder for LogRecorder<L> {
    fn record(&self, at: OffsetDateTime, usage: Usage) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            let counters = usage.counters();
            let stamps = usage.stamps(at);
            if let Err(e) = self.0.add_with_stamps(at.date(), &counters, &stamps).await {
                tracing::warn!(error = %e, "usage counters not recorded");
            }
        })
    }
}

/// Records nothing.
pub struct NoUsage;

impl UsageRecorder for NoUsage {
    fn record(&self, _: OffsetDateTime, _: Usage) -> BoxFuture<'_, ()> {
        Box::pin(async {})
    }
}

// ---------------------------------------------------------------------------------------------
// Reading the counters back.

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CommandCount {
    /// The provider the command came through (a team's workspace or server).
    pub team: String,
    pub platform: String,
    pub command: String,
    pub count: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DayCount {
    pub day: String,
    pub count: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Average {
    pub platform: String,
    pub count: u64,
    /// `None` when nothing was counted.
    pub average: Option<f64>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Named {
    pub name: String,
    pub count: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DeliveryRate {
    pub platform: String,
    pub delivered: u64,
    pub failed: u64,
    /// Delivered / (delivered + failed), `None` without deliveries.
    pub success_rate: Option<f64>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Engagement {
    pub notifications: u64,
    pub clicks: u64,
    pub clicks_per_notification: Option<f64>,
    pub active_users: u64,
}

/// The figures of a period.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Stats {
    pub from: String,
    pub to: String,
    pub total_commands: u64,
    /// Most used first.
    pub commands: Vec<CommandCount>,
    /// Every day of the period, zero included.
    pub commands_per_day: Vec<DayCount>,
    pub command_errors: Vec<Named>,
    /// Seconds from declaration to acknowledgement, per platform.
    pub time_to_acknowledge: Vec<Average>,
    /// Milliseconds to answer a click, per platform.
    pub interaction_response: Vec<Average>,
    pub clicks_by_action: Vec<Named>,
    /// Commands and clicks per channel (`provider/channel`), busiest first, at most 10.
    pub channels: Vec<Named>,
    pub mentions: Vec<Named>,
    pub delivery: Vec<DeliveryRate>,
    pub delivery_failures: Vec<Named>,
    pub top_users: Vec<Named>,
    pub engagement: Engagement,
}

fn sorted(map: BTreeMap<String, u64>, limit: usize) -> Vec<Named> {
    let mut out: Vec<Named> = map.into_iter().map(|(name, count)| Named { name, count }).collect();
    out.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.name.cmp(&b.name)));
    out.truncate(limit);
    out
}

fn ratio(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

impl Stats {
    /// The figures of `from..=to` from the days' counters (days without a record count zero).
    pub fn compute(from: Date, to: Date, days: &[(Date, DayCounters)]) -> Stats {
        let mut commands: BTreeMap<(String, String, String), u64> = BTreeMap::new();
        let mut per_day: BTreeMap<Date, u64> = BTreeMap::new();
        let mut errors = BTreeMap::new();
        let mut acks: BTreeMap<String, (u64, u64)> = BTreeMap::new();
        let mut clicks_ms: BTreeMap<String, (u64, u64)> = BTreeMap::new();
        let mut clicks = BTreeMap::new();
        let mut channels = BTreeMap::new();
        let mut mentions = BTreeMap::new();
        let mut delivery: BTreeMap<String, (u64, u64)> = BTreeMap::new();
        let mut failures = BTreeMap::new();
        let mut users = BTreeMap::new();
        per_day.extend(days_between(from, to).into_iter().map(|d| (d, 0)));
        for (day, counters) in days.iter().filter(|(d, _)| *d >= from && *d <= to) {
            for (key, &n) in counters {
                let parts: Vec<&str> = key.split('|').collect();
                match parts.as_slice() {
                    ["commands", platform, team, command] => {
                        *commands
                            .entry((team.to_string(), platform.to_string(), command.to_string()))
                            .or_default() += n;
                        *per_day.entry(*day).or_default() += n;
                    }
                    ["errors", platform, command] => *errors.entry(format!("{platform} {command}")).or_default() += n,
                    ["acks", platform] => acks.entry(platform.to_string()).or_default().0 += n,
                    ["ack_seconds", platform] => acks.entry(platform.to_string()).or_default().1 += n,
                    ["clicks", platform, action] => {
                        clicks_ms.entry(platform.to_string()).or_default().0 += n;
                        *clicks.entry(action.to_string()).or_default() += n;
                    }
                    ["click_ms", platform] => clicks_ms.entry(platform.to_string()).or_default().1 += n,
                    ["channels", team, channel] => *channels.entry(format!("{team}/{channel}")).or_default() += n,
                    ["mentions", _, intent] => *mentions.entry(intent.to_string()).or_default() += n,
                    ["delivered", platform] => delivery.entry(platform.to_string()).or_default().0 += n,
                    ["failed", platform, reason] => {
                        delivery.entry(platform.to_string()).or_default().1 += n;
                        *failures.entry(format!("{platform} {reason}")).or_default() += n;
                    }
                    ["users", user] => *users.entry(user.to_string()).or_default() += n,
                    _ => {}
                }
            }
        }
        let mut command_list: Vec<CommandCount> = commands
            .into_iter()
            .map(|((team, platform, command), count)| CommandCount {
                team,
                platform,
                command,
                count,
            })
            .collect();
        command_list.sort_by(|a, b| {
            b.count
                .cmp(&a.count)
                .then_with(|| (&a.team, &a.command, &a.platform).cmp(&(&b.team, &b.command, &b.platform)))
        });
        let average = |map: BTreeMap<String, (u64, u64)>| -> Vec<Average> {
            map.into_iter()
                .map(|(platform, (count, total))| Average {
                    platform,
                    count,
                    average: ratio(total, count),
                })
                .collect()
        };
        let notifications: u64 = delivery.values().map(|(d, _)| d).sum();
        let click_total: u64 = clicks.values().sum();
        let active_users = users.len() as u64;
        Stats {
            from: from.to_string(),
            to: to.to_string(),
            total_commands: command_list.iter().map(|c| c.count).sum(),
            commands: command_list,
            commands_per_day: per_day
                .into_iter()
                .map(|(day, count)| DayCount {
                    day: day.to_string(),
                    count,
                })
                .collect(),
            command_errors: sorted(errors, usize::MAX),
            time_to_acknowledge: average(acks),
            interaction_response: average(clicks_ms),
            clicks_by_action: sorted(clicks, usize::MAX),
            channels: sorted(channels, 10),
            mentions: sorted(mentions, usize::MAX),
            delivery: delivery
                .into_iter()
                .map(|(platform, (delivered, failed))| DeliveryRate {
                    platform,
                    delivered,
                    failed,
                    success_rate: ratio(delivered, delivered + failed),
                })
                .collect(),
            delivery_failures: sorted(failures, usize::MAX),
            top_users: sorted(users, 10),
            engagement: Engagement {
                notifications,
                clicks: click_total,
                clicks_per_notification: ratio(click_total, notifications),
                active_users,
            },
        }
    }
}

/// Every day of `from..=to`, oldest first (empty when `from` is after `to`).
pub fn days_between(from: Date, to: Date) -> Vec<Date> {
    std::iter::successors(Some(from), |d| d.next_day())
        .take_while(|d| *d <= to)
        .collect()
}

/// `7d`, `24h`, `2w` → whole days (at least 1). Anything else is refused with a reason.
pub fn parse_period(text: &str) -> Result<u32, String> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: u32 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a period: use e.g. 7d, 24h or 2w"))?;
    let days = match unit {
        "d" | "" => n,
        "w" => n.saturating_mul(7),
        "h" => n.div_ceil(24),
        _ => return Err(format!("`{text}` is not a period: use e.g. 7d, 24h or 2w")),
    };
    match days {
        0 => Err("the period must be at least one day".into()),
        d if d > 366 => Err("the period can be at most 366 days (counters are kept 400 days)".into()),
        d => Ok(d),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn command(provider: &str, command: &str, user: &str, ok: bool) -> Usage {
        Usage::Command {
            platform: "slack".into(),
            provider: provider.into(),
            command: command.into(),
            user: user.into(),
            channel: Some("C1".into()),
            ok,
        }
    }

    fn day(usages: &[Usage]) -> DayCounters {
        let mut out = DayCounters::new();
        for usage in usages {
            for (k, v) in usage.counters() {
                *out.entry(k).or_default() += v;
            }
        }
        out
    }

    #[test]
    fn counters_name_their_fields_and_a_pipe_cannot_forge_one() {
        assert_eq!(
            command("acme", "declare", "U1", false).counters(),
            vec![
                ("commands|slack|acme|declare".to_string(), 1),
                ("users|acme:U1".to_string(), 1),
                ("channels|acme|C1".to_string(), 1),
                ("errors|slack|declare".to_string(), 1),
            ]
        );
        let forged = command("a|b", "x|y", "U1", true).counters();
        assert_eq!(forged[0].0, "commands|slack|a/b|x/y");
        assert_eq!(forged.len(), 3, "no error counter when it worked");
    }

    #[test]
    fn stats_rank_commands_average_times_and_rate_deliveries() {
        let d1 = date!(2026 - 11 - 30);
        let d2 = date!(2026 - 12 - 01);
        let first = day(&[
            command("acme", "declare", "U1", true),
            command("acme", "list", "U1", true),
            command("acme", "list", "U2", true),
            command("beta", "list", "U3", false),
            Usage::Acknowledged {
                platform: "slack".into(),
                after_seconds: 120,
            },
            Usage::Delivery {
                platform: "slack".into(),
                provider: "acme".into(),
                failure: None,
            },
        ]);
        let second = day(&[
            Usage::Acknowledged {
                platform: "slack".into(),
                after_seconds: 60,
            },
            Usage::Click {
                platform: "discord".into(),
                provider: "ops".into(),
                action: "ack".into(),
                user: "42".into(),
                channel: Some("800".into()),
                answered_ms: 30,
            },
            Usage::Click {
                platform: "discord".into(),
                provider: "ops".into(),
                action: "ack".into(),
                user: "42".into(),
                channel: Some("800".into()),
                answered_ms: 50,
            },
            Usage::Delivery {
                platform: "slack".into(),
                provider: "acme".into(),
                failure: Some("channel_not_found: no such channel".into()),
            },
            Usage::Delivery {
                platform: "slack".into(),
                provider: "acme".into(),
                failure: None,
            },
            Usage::Delivery {
                platform: "slack".into(),
                provider: "acme".into(),
                failure: None,
            },
            Usage::Mention {
                platform: "slack".into(),
                intent: "oncall".into(),
            },
        ]);
        let outside = day(&[command("acme", "declare", "U9", true)]);
        let stats = Stats::compute(d1, d2, &[(d1, first), (d2, second), (date!(2026 - 11 - 29), outside)]);
        assert_eq!(stats.total_commands, 4);
        assert_eq!(
            (
                stats.commands[0].team.as_str(),
                stats.commands[0].command.as_str(),
                stats.commands[0].count
            ),
            ("acme", "list", 2)
        );
        assert_eq!(stats.commands.len(), 3);
        assert_eq!(
            stats.commands_per_day,
            vec![
                DayCount {
                    day: "2026-11-30".into(),
                    count: 4
                },
                DayCount {
                    day: "2026-12-01".into(),
                    count: 0
                }
            ]
        );
        assert_eq!(
            stats.command_errors,
            vec![Named {
                name: "slack list".into(),
                count: 1
            }]
        );
        assert_eq!(stats.time_to_acknowledge[0].average, Some(90.0));
        assert_eq!(stats.time_to_acknowledge[0].count, 2);
        assert_eq!(stats.interaction_response[0].average, Some(40.0));
        assert_eq!(stats.delivery[0].success_rate, Some(0.75));
        assert_eq!(
            stats.delivery_failures,
            vec![Named {
                name: "slack channel_not_found".into(),
                count: 1
            }]
        );
        assert_eq!(
            stats.channels[0],
            Named {
                name: "acme/C1".into(),
                count: 3
            }
        );
        assert_eq!(
            stats.channels[1],
            Named {
                name: "ops/800".into(),
                count: 2
            }
        );
        assert_eq!(
            stats.mentions,
            vec![Named {
                name: "oncall".into(),
                count: 1
            }]
        );
        assert_eq!(stats.engagement.notifications, 3);
        assert_eq!(stats.engagement.clicks, 2);
        assert_eq!(
            stats.engagement.active_users, 4,
            "U1, U2, U3 and discord 42; U9 is outside"
        );
        // Ties are ranked by name.
        assert_eq!(
            stats.top_users[..2],
            [
                Named {
                    name: "acme:U1".into(),
                    count: 2
                },
                Named {
                    name: "ops:42".into(),
                    count: 2
                }
            ]
        );
    }

    #[test]
    fn an_empty_period_has_no_averages_and_no_rates() {
        let d = date!(2026 - 12 - 01);
        let stats = Stats::compute(d, d, &[]);
        assert_eq!(stats.total_commands, 0);
        assert_eq!(stats.engagement.clicks_per_notification, None);
        assert!(stats.delivery.is_empty());
        assert_eq!(stats.commands_per_day.len(), 1);
    }

    #[test]
    fn periods_are_whole_days_and_bad_ones_are_explained() {
        assert_eq!(parse_period("7d"), Ok(7));
        assert_eq!(parse_period("2w"), Ok(14));
        assert_eq!(parse_period("25h"), Ok(2));
        assert_eq!(parse_period("30"), Ok(30));
        assert!(parse_period("0d").is_err());
        assert_eq!(parse_period("366d"), Ok(366));
        assert!(parse_period("367d").unwrap_err().contains("366"));
        assert!(parse_period("a week").unwrap_err().contains("7d"));
        assert!(parse_period("7m").is_err());
    }

    #[test]
    fn a_delivery_counts_by_platform_and_provider_and_stamps_the_last_one() {
        let at = OffsetDateTime::from_unix_timestamp(1_800_000_000).expect("time");
        let ok = Usage::Delivery {
            platform: "slack".into(),
            provider: "acme".into(),
            failure: None,
        };
        assert_eq!(
            ok.counters(),
            vec![("delivered|slack".to_string(), 1), ("delivered_by|acme".to_string(), 1)]
        );
        assert_eq!(ok.stamps(at), vec![("last_delivery|acme".to_string(), 1_800_000_000)]);
        let failed = Usage::Delivery {
            platform: "slack".into(),
            provider: "acme".into(),
            failure: Some("not_in_channel".into()),
        };
        assert_eq!(failed.counters()[1], ("failed_by|acme".to_string(), 1));
        assert!(failed.stamps(at).is_empty(), "only a delivery is a last delivery");
        assert!(command("acme", "list", "U1", true).stamps(at).is_empty());
    }

    #[test]
    fn days_between_includes_both_ends() {
        let (a, b) = (date!(2026 - 11 - 30), date!(2026 - 12 - 02));
        assert_eq!(days_between(a, b), vec![a, date!(2026 - 12 - 01), b]);
        assert_eq!(days_between(a, a), vec![a]);
        assert!(days_between(b, a).is_empty());
    }

    #[test]
    fn units_are_cloudwatch_names() {
        assert_eq!(
            [Unit::Count, Unit::Seconds, Unit::Milliseconds].map(Unit::as_str),
            ["Count", "Seconds", "Milliseconds"]
        );
    }

    #[test]
    fn reasons_are_reduced_to_a_class() {
        assert_eq!(reason_class("channel_not_found: gone"), "channel_not_found");
        assert_eq!(reason_class("not_in_channel"), "not_in_channel");
        assert_eq!(reason_class(""), "unknown");
        assert_eq!(reason_class(&"x".repeat(80)).len(), 40);
    }

    #[test]
    fn metric_lines_keep_users_out_of_dimensions() {
        let metric = command("acme", "declare", "U1", true).metric();
        assert_eq!(
            metric.dimensions,
            vec![("Platform", "slack".to_string()), ("Command", "declare".to_string())]
        );
        assert!(metric.properties.contains(&("User", "U1".to_string())));
        assert_eq!(metric.values[1], ("CommandErrors", 0.0, Unit::Count));
        let failed = Usage::Delivery {
            platform: "discord".into(),
            provider: "ops".into(),
            failure: Some("Missing Access (50001)".into()),
        }
        .metric();
        assert_eq!(failed.dimensions[1], ("Outcome", "Missing_Access".to_string()));
    }
}
