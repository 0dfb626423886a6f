//! Properties over random policies: the state does not depend on the history of evaluations
//! (a controller restarted anywhere computes the same), and agrees with a naive model.

use jiff::civil::Date;
use jiff::tz::TimeZoneDatabase;
use jiff::{SignedDuration, Timestamp};
use proptest::prelude::*;
use serde_json::{Value, json};
use turnstile_api::v1alpha1::WindowState;

use super::{comparable, just_before, schedule};

const ZONES: [&str; 6] = [
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "Australia/Sydney",
    "Australia/Lord_Howe",
    "Asia/Tokyo",
];
const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
/// 2026-01-01T00:00:00Z: the random instants fall in 2026, across every transition above.
const BASE: i64 = 1_767_225_600;
const DAY: i64 = 86_400;

#[derive(Clone, Debug)]
enum Length {
    End(i8, i8),
    Seconds(i64),
}

#[derive(Clone, Debug)]
struct RandomWindow {
    days: u8,
    start: (i8, i8),
    length: Length,
}

#[derive(Clone, Debug)]
struct Policy {
    zone: &'static str,
    deny: bool,
    windows: Vec<RandomWindow>,
    /// Seconds since the Unix epoch.
    exclusion: Option<(i64, i64)>,
    /// Force open, until (seconds since the Unix epoch).
    forced: Option<(bool, i64)>,
    notice: i64,
    cutoff: i64,
    drain: Option<i64>,
}

fn clock(h: i8, m: i8) -> String {
    format!("{h:02}:{m:02}")
}

fn rfc3339(secs: i64) -> String {
    Timestamp::from_second(secs).unwrap().to_string()
}

impl Policy {
    fn fields(&self) -> Value {
        let windows: Vec<Value> = self
            .windows
            .iter()
            .map(|w| {
                let days: Vec<&str> = (0..7)
                    .filter(|i| w.days & (1 << i) != 0)
                    .map(|i| DAYS[i])
                    .collect();
                let mut window = json!({"days": days, "start": clock(w.start.0, w.start.1)});
                match w.length {
                    Length::End(h, m) => window["end"] = json!(clock(h, m)),
                    Length::Seconds(s) => window["duration"] = json!(format!("{s}s")),
                }
                window
            })
            .collect();
        let mut fields = json!({
            "timeZone": self.zone,
            "mode": if self.deny { "DenyDuring" } else { "AllowDuring" },
            "windows": windows,
            "onClose": match self.drain {
                Some(grace) => json!({"action": "Drain", "closingNoticeSeconds": self.notice,
                                      "drainGracePeriodSeconds": grace}),
                None => json!({"action": "Hold", "closingNoticeSeconds": self.notice}),
            },
            "admission": {"cutoffBeforeCloseSeconds": self.cutoff},
        });
        if let Some((from, to)) = self.exclusion {
            fields["exclusions"] = json!([{"from": rfc3339(from), "to": rfc3339(to)}]);
        }
        if let Some((open, until)) = self.forced {
            fields["override"] = json!({
                "state": if open { "ForceOpen" } else { "ForceClosed" },
                "until": rfc3339(until),
            });
        }
        fields
    }

    /// Whether the policy is open at `at`, computed occurrence by occurrence from the spec
    /// (through `Zoned`), without spans.
    fn naive_open(&self, at: Timestamp) -> bool {
        if let Some((open, until)) = self.forced
            && at.as_second() < until
        {
            return open;
        }
        let secs = at.as_second();
        let excluded = self
            .exclusion
            .is_some_and(|(from, to)| from <= secs && secs < to);
        let tz = TimeZoneDatabase::bundled().get(self.zone).unwrap();
        let today = at.to_zoned(tz.clone()).date();
        let in_window = !excluded
            && self.windows.iter().any(|w| {
                (-9..=1).any(|offset| {
                    let date: Date = today.checked_add(jiff::Span::new().days(offset)).unwrap();
                    let weekday = usize::try_from(date.weekday().to_monday_zero_offset()).unwrap();
                    if w.days & (1 << weekday) == 0 {
                        return false;
                    }
                    let start = date
                        .at(w.start.0, w.start.1, 0, 0)
                        .to_zoned(tz.clone())
                        .unwrap()
                        .timestamp();
                    let end = match w.length {
                        Length::Seconds(s) => start + SignedDuration::from_secs(s),
                        Length::End(h, m) => {
                            let next_day = (h, m) <= w.start;
                            let end_date = if next_day {
                                date.tomorrow().unwrap()
                            } else {
                                date
                            };
                            end_date
                                .at(h, m, 0, 0)
                                .to_zoned(tz.clone())
                                .unwrap()
                                .timestamp()
                        }
                    };
                    start <= at && at < end
                })
            });
        in_window != self.deny
    }
}

fn window() -> impl Strategy<Value = RandomWindow> {
    let length = prop_oneof![
        (0i8..24, prop::sample::select(vec![0i8, 15, 30, 45])).prop_map(|(h, m)| Length::End(h, m)),
        (1i64..=7200).prop_map(Length::Seconds),
        (1i64..=168).prop_map(|h| Length::Seconds(h * 3600)),
    ];
    (
        1u8..128,
        (0i8..24, prop::sample::select(vec![0i8, 15, 30, 45, 59])),
        length,
    )
        .prop_map(|(days, start, length)| RandomWindow {
            days,
            start,
            length,
        })
}

fn policy() -> impl Strategy<Value = (Policy, i64)> {
    let anchor = BASE..BASE + 365 * DAY;
    (
        anchor,
        prop::sample::select(ZONES.to_vec()),
        any::<bool>(),
        prop::collection::vec(window(), 1..=3),
        prop::option::of((-10 * DAY..30 * DAY, 1..20 * DAY)),
        prop::option::of((any::<bool>(), -5 * DAY..20 * DAY)),
        (0i64..7200, 0i64..7200, prop::option::of(0i64..7200)),
    )
        .prop_map(
            |(anchor, zone, deny, windows, exclusion, forced, (notice, cutoff, drain))| {
                let policy = Policy {
                    zone,
                    deny,
                    windows,
                    exclusion: exclusion.map(|(from, len)| (anchor + from, anchor + from + len)),
                    forced: forced.map(|(open, until)| (open, anchor + until)),
                    notice,
                    cutoff,
                    drain,
                };
                (policy, anchor)
            },
        )
}

fn nanos(n: i128) -> SignedDuration {
    SignedDuration::from_nanos(i64::try_from(n).unwrap())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(192))]

    /// Following `next_transition` from `t0` to `t` ends in the evaluation `at(t)` gives, and
    /// nothing changes between two transitions.
    #[test]
    fn state_does_not_depend_on_restart_history(
        (policy, anchor) in policy(),
        t0_offset in 0..7 * DAY,
        elapsed in 0..10 * DAY,
        sub_second in 0u32..1_000_000_000,
    ) {
        let s = schedule(policy.fields());
        let t0 = Timestamp::new(anchor + t0_offset, 0).unwrap();
        let t = t0 + SignedDuration::new(elapsed, i32::try_from(sub_second).unwrap());

        let mut at = t0;
        let mut here = s.at(at);
        let mut steps = 0;
        loop {
            let stop = here.next_transition.filter(|&next| next <= t);
            // Sampled points up to the next transition (or `t`) say the same.
            let until = stop.unwrap_or(t);
            let gap = until.as_nanosecond() - at.as_nanosecond();
            for k in 1..4 {
                let probe = at + nanos(gap * k / 4);
                prop_assert_eq!(comparable(&s.at(probe), probe), comparable(&here, at), "at {}", probe);
            }
            if until > at {
                let last = just_before(until);
                prop_assert_eq!(comparable(&s.at(last), last), comparable(&here, at));
            }
            let Some(next) = stop else { break };
            prop_assert!(next > at);
            at = next;
            here = s.at(at);
            steps += 1;
            prop_assert!(steps < 10_000);
        }
        prop_assert_eq!(comparable(&s.at(t), t), comparable(&here, at));
    }

    /// The state agrees with the naive model, and so do the instants reported.
    #[test]
    fn state_agrees_with_a_naive_model(
        (policy, anchor) in policy(),
        offset in 0..21 * DAY,
    ) {
        let s = schedule(policy.fields());
        let now = Timestamp::from_second(anchor + offset).unwrap();
        let e = s.at(now);
        prop_assert_eq!(e.state != WindowState::Closed, policy.naive_open(now));
        prop_assert_eq!(e.override_active, policy.forced.is_some_and(|(_, u)| now.as_second() < u));
        let flips_at = |at: Timestamp, opens: bool| {
            policy.naive_open(just_before(at)) != opens && policy.naive_open(at) == opens
        };
        if let Some(close) = e.closes_at {
            prop_assert!(close > now && flips_at(close, false), "closes_at {}", close);
        }
        if let Some(reopen) = e.reopens_at {
            prop_assert!(reopen > now && flips_at(reopen, true), "reopens_at {}", reopen);
        }
        if let Some(since) = e.closed_since {
            prop_assert!(since <= now && flips_at(since, false), "closed_since {}", since);
        }
        if let Some((start, end)) = e.current_window {
            prop_assert!(start < end);
            prop_assert!(policy.naive_open(start) && policy.naive_open(just_before(end)));
        }
        if e.state == WindowState::Closed {
            prop_assert_eq!(e.closes_at, None);
        } else {
            prop_assert_eq!((e.reopens_at, e.closed_since, e.drain_at), (None, None, None));
        }
        prop_assert_eq!(e.drain_at.is_some(), e.state == WindowState::Closed && policy.drain.is_some());
    }
}
