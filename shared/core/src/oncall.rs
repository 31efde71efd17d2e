//! On-call rotations: who carries the pager for a service at a given moment.
//!
//! A rotation hands over at a local time (`09:00`) in its time zone; shifts that are whole days
//! move by calendar days, so the handoff stays at 09:00 local across daylight-saving changes
//! (a shift that spans the change is an hour shorter or longer). Overrides (a person for a
//! period) win over the rotation; the newest override wins over older ones. Participants are
//! chat identities (`slack:U123`, `discord:80351110224678912`).

use serde::{Deserialize, Serialize};

/// One service's rotation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rotation {
    pub service: String,
    /// In order: the first takes the shift starting at `start`'s handoff.
    pub participants: Vec<String>,
    /// Local handoff time, `HH:MM`.
    pub handoff: String,
    /// Shift length in hours (168 for weekly, 24 for daily).
    pub shift_hours: u32,
    /// IANA time zone (`Europe/Berlin`).
    pub timezone: String,
    /// The local date of the first handoff (`2026-11-30`).
    pub start: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub overrides: Vec<Override>,
}

/// A person on call instead of the rotation for `[from, to)` (epoch seconds).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Override {
    pub user: String,
    pub from: i64,
    pub to: i64,
}

/// Who is on call, until when, and whether through an override.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OnCall {
    pub user: String,
    /// Epoch seconds of the next change (the shift's end or the override's end).
    pub until: i64,
    pub overridden: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RotationError {
    #[error("a rotation needs at least one participant")]
    NoParticipants,
    #[error("participant `{0}` is not a chat identity like slack:U123")]
    BadParticipant(String),
    #[error("`{0}` is not a handoff time like 09:00")]
    BadHandoff(String),
    #[error("`{0}` is not a known time zone (use an IANA name such as Europe/Berlin)")]
    BadTimezone(String),
    #[error("`{0}` is not a start date like 2026-11-30")]
    BadStart(String),
    #[error("the shift length must be between 1 and 8760 hours")]
    BadShift,
    #[error("an override must end after it starts")]
    BadOverride,
}

/// `platform:id` with a known platform name and a plausible id.
pub fn valid_identity(identity: &str) -> bool {
    identity.split_once(':').is_some_and(|(platform, id)| {
        !platform.is_empty()
            && platform.chars().all(|c| c.is_ascii_lowercase())
            && !id.is_empty()
            && id.len() <= 64
            && id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    })
}

/// The key a rotation is kept under.
pub fn rotation_key(service: &str) -> String {
    format!("oncall:{service}")
}

struct Parsed {
    tz: jiff::tz::TimeZone,
    handoff: jiff::civil::Time,
    start: jiff::civil::Date,
}

impl Rotation {
    fn parsed(&self) -> Result<Parsed, RotationError> {
        if self.participants.is_empty() {
            return Err(RotationError::NoParticipants);
        }
        if let Some(bad) = self.participants.iter().find(|p| !valid_identity(p)) {
            return Err(RotationError::BadParticipant(bad.clone()));
        }
        if !(1..=8760).contains(&self.shift_hours) {
            return Err(RotationError::BadShift);
        }
        let tz =
            jiff::tz::TimeZone::get(&self.timezone).map_err(|_| RotationError::BadTimezone(self.timezone.clone()))?;
        let handoff: jiff::civil::Time = self
            .handoff
            .parse()
            .map_err(|_| RotationError::BadHandoff(self.handoff.clone()))?;
        let start: jiff::civil::Date = self
            .start
            .parse()
            .map_err(|_| RotationError::BadStart(self.start.clone()))?;
        Ok(Parsed { tz, handoff, start })
    }

    /// Checks every field.
    pub fn validate(&self) -> Result<(), RotationError> {
        self.parsed().map(|_| ())
    }

    /// Who is on call at `at` (epoch seconds); `None` before the first handoff.
    pub fn on_call(&self, at: i64) -> Option<OnCall> {
        if let Some(o) = self.overrides.iter().rev().find(|o| o.from <= at && at < o.to) {
            return Some(OnCall {
                user: o.user.clone(),
                until: o.to,
                overridden: true,
            });
        }
        let p = self.parsed().ok()?;
        let n = i64::try_from(self.participants.len()).ok()?;
        let handoff_on = |date: jiff::civil::Date| {
            date.to_datetime(p.handoff)
                .to_zoned_datetime(p.tz.clone())
                .ok()
                .map(|z| z.timestamp().as_second())
        };
        let first = handoff_on(p.start)?;
        if at < first {
            return None;
        }
        let (index, until) = if self.shift_hours.is_multiple_of(24) {
            // Whole days: count calendar days in the zone, so 09:00 stays 09:00 across DST.
            let days_per_shift = i64::from(self.shift_hours / 24);
            let local = jiff::Timestamp::from_second(at).ok()?.to_zoned_datetime(p.tz.clone());
            let mut date = local.date();
            if handoff_on(date)? > at {
                date = date.yesterday().ok()?;
            }
            let days = (date - p.start).get_days();
            let shift = i64::from(days).div_euclid(days_per_shift);
            let shift_start = p
                .start
                .checked_add(jiff::Span::new().days(shift * days_per_shift))
                .ok()?;
            let next = shift_start.checked_add(jiff::Span::new().days(days_per_shift)).ok()?;
            (shift, handoff_on(next)?)
        } else {
            let length = i64::from(self.shift_hours) * 3600;
            let shift = (at - first).div_euclid(length);
            (shift, first + (shift + 1) * length)
        };
        let who = self
            .participants
            .get(usize::try_from(index.rem_euclid(n)).ok()?)?
            .clone();
        // An override starting before the shift ends cuts it short.
        let until = self
            .overrides
            .iter()
            .filter(|o| o.from > at && o.from < until)
            .map(|o| o.from)
            .min()
            .unwrap_or(until);
        Some(OnCall {
            user: who,
            until,
            overridden: false,
        })
    }

    /// Adds an override; expired ones are dropped.
    pub fn add_override(&mut self, o: Override, now: i64) -> Result<(), RotationError> {
        if o.to <= o.from {
            return Err(RotationError::BadOverride);
        }
        if !valid_identity(&o.user) {
            return Err(RotationError::BadParticipant(o.user));
        }
        self.overrides.retain(|x| x.to > now);
        self.overrides.push(o);
        Ok(())
    }
}

/// Epoch seconds as local time in a zone, for answers ("Mon 09:00 CET").
pub fn local_time(at: i64, timezone: &str) -> String {
    let tz = jiff::tz::TimeZone::get(timezone).unwrap_or(jiff::tz::TimeZone::UTC);
    jiff::Timestamp::from_second(at)
        .map(|t| t.to_zoned_datetime(tz).strftime("%a %Y-%m-%d %H:%M %Z").to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> i64 {
        text.parse::<jiff::Timestamp>().expect("timestamp").as_second()
    }

    fn weekly() -> Rotation {
        Rotation {
            service: "payments".into(),
            participants: vec!["slack:UANN".into(), "slack:UBOB".into(), "slack:UCEC".into()],
            handoff: "09:00".into(),
            shift_hours: 168,
            timezone: "Europe/Berlin".into(),
            start: "2026-10-19".into(),
            overrides: Vec::new(),
        }
    }

    #[test]
    fn the_pager_passes_at_the_local_handoff() {
        let r = weekly();
        // Monday 2026-10-19 09:00 Berlin (CEST, UTC+2) is 07:00 UTC.
        assert_eq!(r.on_call(at("2026-10-19T06:59:59Z")), None, "before the first handoff");
        let ann = r.on_call(at("2026-10-19T07:00:00Z")).expect("on call");
        assert_eq!(ann.user, "slack:UANN");
        assert_eq!(
            ann.until,
            at("2026-10-26T08:00:00Z"),
            "next Monday 09:00, now CET (UTC+1)"
        );
        assert_eq!(r.on_call(at("2026-10-26T07:59:59Z")).expect("x").user, "slack:UANN");
        assert_eq!(r.on_call(at("2026-10-26T08:00:00Z")).expect("x").user, "slack:UBOB");
        assert_eq!(r.on_call(at("2026-11-02T08:00:00Z")).expect("x").user, "slack:UCEC");
        assert_eq!(
            r.on_call(at("2026-11-09T08:00:00Z")).expect("x").user,
            "slack:UANN",
            "round again"
        );
    }

    #[test]
    fn daylight_saving_keeps_the_handoff_at_nine_local() {
        let mut r = weekly();
        r.shift_hours = 24;
        r.start = "2026-10-24".into();
        // Clocks go back on Sunday 2026-10-25 in Berlin: Saturday's shift lasts 25 hours.
        let sat = r.on_call(at("2026-10-24T07:00:00Z")).expect("x");
        assert_eq!(sat.user, "slack:UANN");
        assert_eq!(sat.until, at("2026-10-25T08:00:00Z"));
        assert_eq!(
            r.on_call(at("2026-10-25T07:30:00Z")).expect("x").user,
            "slack:UANN",
            "08:30 local"
        );
        assert_eq!(
            r.on_call(at("2026-10-25T08:00:00Z")).expect("x").user,
            "slack:UBOB",
            "09:00 local"
        );
    }

    #[test]
    fn shifts_of_hours_run_on_the_clock() {
        let mut r = weekly();
        r.shift_hours = 12;
        r.timezone = "UTC".into();
        r.start = "2026-12-01".into();
        assert_eq!(r.on_call(at("2026-12-01T20:59:00Z")).expect("x").user, "slack:UANN");
        let bob = r.on_call(at("2026-12-01T21:00:00Z")).expect("x");
        assert_eq!(
            (bob.user.as_str(), bob.until),
            ("slack:UBOB", at("2026-12-02T09:00:00Z"))
        );
    }

    #[test]
    fn an_override_wins_and_cuts_the_shift_short() {
        let mut r = weekly();
        let from = at("2026-10-20T12:00:00Z");
        let to = at("2026-10-21T12:00:00Z");
        r.add_override(
            Override {
                user: "slack:UDAN".into(),
                from,
                to,
            },
            from - 10,
        )
        .expect("ok");
        let before = r.on_call(from - 1).expect("x");
        assert_eq!(
            (before.user.as_str(), before.until, before.overridden),
            ("slack:UANN", from, false)
        );
        let during = r.on_call(from).expect("x");
        assert_eq!(
            (during.user.as_str(), during.until, during.overridden),
            ("slack:UDAN", to, true)
        );
        assert_eq!(r.on_call(to).expect("x").user, "slack:UANN");
        assert_eq!(
            r.add_override(
                Override {
                    user: "slack:UDAN".into(),
                    from: to,
                    to: from
                },
                0
            ),
            Err(RotationError::BadOverride)
        );
        // Expired overrides are dropped when a new one is added.
        r.add_override(
            Override {
                user: "slack:UEVE".into(),
                from: to + 10,
                to: to + 20,
            },
            to + 1,
        )
        .expect("ok");
        assert_eq!(r.overrides.len(), 1);
    }

    #[test]
    fn identities_are_platform_colon_id() {
        assert!(valid_identity("slack:U123"));
        assert!(valid_identity("discord:80351110224678912"));
        for bad in [
            "U123",
            "Slack:U1",
            "slack1:U1",
            ":U1",
            "slack:",
            "slack:U 1",
            "slack:<@U1>",
        ] {
            assert!(!valid_identity(bad), "{bad}");
        }
        assert!(valid_identity(&format!("slack:{}", "U".repeat(64))));
        assert!(!valid_identity(&format!("slack:{}", "U".repeat(65))));
        assert_eq!(
            rotation_key("payments"),
            "oncall:payments",
            "README: MEMO#oncall:<service>"
        );
    }

    #[test]
    fn later_shifts_end_at_their_own_handoff() {
        let r = weekly();
        let cec = r.on_call(at("2026-11-05T12:00:00Z")).expect("x");
        assert_eq!(
            (cec.user.as_str(), cec.until),
            ("slack:UCEC", at("2026-11-09T08:00:00Z"))
        );
    }

    #[test]
    fn only_an_override_within_the_shift_cuts_it_short() {
        let mut r = weekly();
        let next_month = at("2026-11-20T00:00:00Z");
        r.add_override(
            Override {
                user: "slack:UDAN".into(),
                from: next_month,
                to: next_month + 3600,
            },
            0,
        )
        .expect("ok");
        let ann = r.on_call(at("2026-10-20T12:00:00Z")).expect("x");
        assert_eq!(
            ann.until,
            at("2026-10-26T08:00:00Z"),
            "next month's override leaves this shift alone"
        );
    }

    #[test]
    fn an_override_that_ended_is_dropped_one_still_running_is_kept() {
        let mut r = weekly();
        r.add_override(
            Override {
                user: "slack:UDAN".into(),
                from: 100,
                to: 200,
            },
            0,
        )
        .expect("ok");
        r.add_override(
            Override {
                user: "slack:UEVE".into(),
                from: 150,
                to: 400,
            },
            0,
        )
        .expect("ok");
        r.add_override(
            Override {
                user: "slack:UFAY".into(),
                from: 500,
                to: 600,
            },
            200,
        )
        .expect("ok");
        let users: Vec<&str> = r.overrides.iter().map(|o| o.user.as_str()).collect();
        assert_eq!(
            users,
            ["slack:UEVE", "slack:UFAY"],
            "the one that ended at 200 is gone at 200"
        );
    }

    #[test]
    fn bad_rotations_are_refused_with_the_reason() {
        let mut r = weekly();
        r.timezone = "Mars/Olympus".into();
        assert_eq!(r.validate(), Err(RotationError::BadTimezone("Mars/Olympus".into())));
        let mut r = weekly();
        r.participants = vec!["U123".into()];
        assert_eq!(r.validate(), Err(RotationError::BadParticipant("U123".into())));
        let mut r = weekly();
        r.handoff = "25:00".into();
        assert!(matches!(r.validate(), Err(RotationError::BadHandoff(_))));
        let mut r = weekly();
        r.shift_hours = 0;
        assert_eq!(r.validate(), Err(RotationError::BadShift));
        assert!(weekly().validate().is_ok());
        assert_eq!(
            local_time(at("2026-10-26T08:00:00Z"), "Europe/Berlin"),
            "Mon 2026-10-26 09:00 CET"
        );
    }
}
