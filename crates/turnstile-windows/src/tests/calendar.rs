//! Overnight and week boundaries, unions, exclusions and overrides.

use serde_json::json;
use turnstile_api::v1alpha1::WindowState;

use super::{check_next_transition, is_open, schedule, t};
use crate::Schedule;

/// (instant, expected open) at the instants given.
fn assert_open_at(s: &Schedule, table: &[(&str, bool)], what: &str) {
    for &(at, open) in table {
        assert_eq!(is_open(s, t(at)), open, "{what}: at {at}");
    }
}

#[test]
fn an_overnight_window_belongs_to_the_day_it_opens() {
    let s = schedule(json!({
        "timeZone": "Europe/Berlin",
        "windows": [{"days": ["Fri"], "start": "22:00", "end": "06:00"}],
    }));
    assert_open_at(
        &s,
        &[
            ("2026-06-04T23:00:00+02:00", false), // Thursday night
            ("2026-06-05T01:00:00+02:00", false), // Friday 01:00 (Thursday's night)
            ("2026-06-05T21:59:59+02:00", false),
            ("2026-06-05T22:00:00+02:00", true),
            ("2026-06-06T01:00:00+02:00", true), // Saturday 01:00
            ("2026-06-06T05:59:59+02:00", true),
            ("2026-06-06T06:00:00+02:00", false),
            ("2026-06-06T07:00:00+02:00", false), // Saturday 07:00
            ("2026-06-06T23:00:00+02:00", false),
        ],
        "Fri 22:00-06:00",
    );
}

#[test]
fn windows_wrap_around_the_week() {
    let sunday_night = schedule(json!({
        "timeZone": "Europe/Berlin",
        "windows": [{"days": ["Sun"], "start": "22:00", "end": "06:00"}],
    }));
    assert_open_at(
        &sunday_night,
        &[
            ("2026-06-01T05:00:00+02:00", true), // Monday 05:00
            ("2026-06-01T06:00:00+02:00", false),
            ("2026-06-06T23:00:00+02:00", false), // Saturday night
            ("2026-06-07T22:30:00+02:00", true),
        ],
        "Sun 22:00-06:00",
    );
    let e = sunday_night.at(t("2026-06-01T05:00:00+02:00"));
    assert_eq!(
        e.current_window,
        Some((
            t("2026-05-31T22:00:00+02:00"),
            t("2026-06-01T06:00:00+02:00")
        ))
    );

    let weekend = schedule(json!({
        "timeZone": "Europe/Berlin",
        "windows": [{"days": ["Sat"], "start": "00:00", "duration": "48h"}],
    }));
    assert_open_at(
        &weekend,
        &[
            ("2026-06-05T23:59:59+02:00", false),
            ("2026-06-06T00:00:00+02:00", true),
            ("2026-06-07T23:59:59+02:00", true),
            ("2026-06-08T00:00:00+02:00", false),
        ],
        "Sat 00:00 for 48h",
    );
    // Across the change to summer time the 48 h are elapsed: the window ends at 01:00 Monday.
    assert_eq!(
        weekend.at(t("2026-03-28T12:00:00+01:00")).current_window,
        Some((
            t("2026-03-28T00:00:00+01:00"),
            t("2026-03-30T01:00:00+02:00")
        ))
    );
}

#[test]
fn windows_are_unioned_across_days_and_each_other() {
    // The design's example: weeknights plus the weekend, one span from Friday 20:00 to Monday
    // 00:00 (Sunday is not a weeknight here, so Monday 00:00-20:00 is closed).
    let s = schedule(json!({
        "timeZone": "Europe/Berlin",
        "windows": [
            {"days": ["Mon", "Tue", "Wed", "Thu", "Fri"], "start": "20:00", "end": "06:00"},
            {"days": ["Sat"], "start": "00:00", "duration": "48h"},
        ],
    }));
    let e = s.at(t("2026-06-06T12:00:00+02:00"));
    assert_eq!(e.state, WindowState::Open);
    assert_eq!(
        e.current_window,
        Some((
            t("2026-06-05T20:00:00+02:00"),
            t("2026-06-08T00:00:00+02:00")
        ))
    );
    let e = s.at(t("2026-06-08T00:00:00+02:00"));
    assert_eq!(e.state, WindowState::Closed);
    assert_eq!(e.reopens_at, Some(t("2026-06-08T20:00:00+02:00")));
    // The same as spans, cut at the bounds asked for.
    assert_eq!(
        s.open_spans(
            t("2026-06-04T12:00:00+02:00"),
            t("2026-06-09T12:00:00+02:00")
        ),
        vec![
            (
                t("2026-06-04T20:00:00+02:00"),
                t("2026-06-05T06:00:00+02:00")
            ),
            (
                t("2026-06-05T20:00:00+02:00"),
                t("2026-06-08T00:00:00+02:00")
            ),
            (
                t("2026-06-08T20:00:00+02:00"),
                t("2026-06-09T06:00:00+02:00")
            ),
        ]
    );
    // A span running over a bound is cut there.
    assert_eq!(
        s.open_spans(
            t("2026-06-05T01:00:00+02:00"),
            t("2026-06-05T02:00:00+02:00")
        ),
        vec![(
            t("2026-06-05T01:00:00+02:00"),
            t("2026-06-05T02:00:00+02:00")
        )]
    );

    // Repeated days are merged; overlapping windows too.
    let s = schedule(json!({
        "timeZone": "UTC",
        "windows": [
            {"days": ["Mon", "Mon"], "start": "08:00", "end": "12:00"},
            {"days": ["Mon"], "start": "11:00", "end": "13:00"},
        ],
    }));
    assert_eq!(
        s.at(t("2026-06-01T09:00:00Z")).current_window,
        Some((t("2026-06-01T08:00:00Z"), t("2026-06-01T13:00:00Z")))
    );
}

#[test]
fn a_window_every_day_all_day_is_always_open() {
    let s = schedule(json!({
        "timeZone": "Europe/Berlin",
        "windows": [{"days": ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"],
                     "start": "00:00", "end": "00:00"}],
    }));
    let now = t("2026-03-29T02:30:00+01:00");
    let e = s.at(now);
    assert_eq!(e.state, WindowState::Open);
    assert_eq!(e.closes_at, None);
    assert_eq!(e.next_transition, None);
    assert_eq!(e.current_window, Some(Schedule::horizon(now)));

    let deny = schedule(json!({
        "timeZone": "Europe/Berlin",
        "mode": "DenyDuring",
        "windows": [{"days": ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"],
                     "start": "00:00", "end": "00:00"}],
        "onClose": {"action": "Drain", "drainGracePeriodSeconds": 60},
    }));
    let e = deny.at(now);
    assert_eq!(e.state, WindowState::Closed);
    assert_eq!(
        (e.closed_since, e.reopens_at, e.current_window),
        (None, None, None)
    );
    // Closed since before the horizon: the grace is long over.
    assert!(e.drain_at.is_some_and(|d| d < now));
}

#[test]
fn an_exclusion_clips_the_windows() {
    let fields = |mode: &str| {
        json!({
            "timeZone": "Europe/Berlin",
            "mode": mode,
            "windows": [{"days": ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"],
                         "start": "20:00", "end": "06:00"}],
            "exclusions": [{"from": "2026-12-24T00:00:00+01:00", "to": "2026-12-27T00:00:00+01:00"}],
        })
    };
    let allow = schedule(fields("AllowDuring"));
    // The night of the 23rd is cut at midnight.
    let e = allow.at(t("2026-12-23T23:00:00+01:00"));
    assert_eq!(e.state, WindowState::Open);
    assert_eq!(e.closes_at, Some(t("2026-12-24T00:00:00+01:00")));
    // Closed over the holiday, nights included; the night of the 26th resumes at midnight.
    let e = allow.at(t("2026-12-24T21:00:00+01:00"));
    assert_eq!(e.state, WindowState::Closed);
    assert_eq!(e.closed_since, Some(t("2026-12-24T00:00:00+01:00")));
    assert_eq!(e.reopens_at, Some(t("2026-12-27T00:00:00+01:00")));
    assert_eq!(
        e.current_window,
        Some((
            t("2026-12-27T00:00:00+01:00"),
            t("2026-12-27T06:00:00+01:00")
        ))
    );

    let deny = schedule(fields("DenyDuring"));
    let e = deny.at(t("2026-12-23T21:00:00+01:00"));
    assert_eq!(e.state, WindowState::Closed);
    assert_eq!(e.reopens_at, Some(t("2026-12-24T00:00:00+01:00")));
    // Open through the holiday and the days around it: from 06:00 on the 23rd to 20:00 on the 27th.
    let e = deny.at(t("2026-12-24T21:00:00+01:00"));
    assert_eq!(e.state, WindowState::Open);
    assert_eq!(
        e.current_window,
        Some((
            t("2026-12-24T00:00:00+01:00"),
            t("2026-12-27T00:00:00+01:00")
        ))
    );
    assert_eq!(e.closes_at, Some(t("2026-12-27T00:00:00+01:00")));
}

#[test]
fn long_closed_periods_are_found_by_whole_spans() {
    // An exclusion of almost a year: the reopen and the start of the closed period are found.
    let s = schedule(json!({
        "timeZone": "America/New_York",
        "windows": [{"days": ["Mon"], "start": "09:00", "end": "17:00"}],
        "exclusions": [{"from": "2026-01-06T00:00:00-05:00", "to": "2026-12-15T00:00:00-05:00"}],
    }));
    let e = s.at(t("2026-07-01T12:00:00-04:00"));
    assert_eq!(e.state, WindowState::Closed);
    assert_eq!(e.closed_since, Some(t("2026-01-05T17:00:00-05:00")));
    assert_eq!(e.reopens_at, Some(t("2026-12-21T09:00:00-05:00")));
    check_next_transition(&s, t("2026-07-01T12:00:00-04:00"));

    // Beyond the horizon: nothing to report but that it is closed.
    let s = schedule(json!({
        "timeZone": "UTC",
        "windows": [{"days": ["Mon"], "start": "09:00", "end": "17:00"}],
        "exclusions": [{"from": "2026-01-01T00:00:00Z", "to": "2029-01-01T00:00:00Z"}],
    }));
    let e = s.at(t("2027-06-01T00:00:00Z"));
    assert_eq!(e.state, WindowState::Closed);
    assert_eq!(
        (e.closed_since, e.reopens_at, e.next_transition),
        (None, None, None)
    );
}

#[test]
fn overrides_force_the_state_until_they_end() {
    let night = |extra: serde_json::Value| {
        let mut fields = json!({
            "timeZone": "Europe/Berlin",
            "windows": [{"days": ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"],
                         "start": "20:00", "end": "06:00"}],
            "onClose": {"action": "Drain", "closingNoticeSeconds": 600, "drainGracePeriodSeconds": 300},
        });
        fields["override"] = extra;
        schedule(fields)
    };

    // ForceOpen in the day, until 15:00: open, and the close at 15:00 has its notice.
    let s = night(json!({"state": "ForceOpen", "until": "2026-06-03T15:00:00+02:00"}));
    let e = s.at(t("2026-06-03T12:00:00+02:00"));
    assert_eq!(
        (e.state, e.admits, e.override_active),
        (WindowState::Open, true, true)
    );
    assert_eq!(e.closes_at, Some(t("2026-06-03T15:00:00+02:00")));
    assert_eq!(e.next_transition, Some(t("2026-06-03T14:50:00+02:00")));
    assert_eq!(
        s.at(t("2026-06-03T14:55:00+02:00")).state,
        WindowState::Closing
    );
    // After `until` the calendar applies.
    let e = s.at(t("2026-06-03T15:00:00+02:00"));
    assert_eq!((e.state, e.override_active), (WindowState::Closed, false));
    assert_eq!(e.closed_since, Some(t("2026-06-03T15:00:00+02:00")));
    assert_eq!(e.drain_at, Some(t("2026-06-03T15:05:00+02:00")));
    assert_eq!(e.reopens_at, Some(t("2026-06-03T20:00:00+02:00")));

    // ForceOpen ending inside a window: one open span, the override's end is still a transition.
    let s = night(json!({"state": "ForceOpen", "until": "2026-06-03T22:00:00+02:00"}));
    let e = s.at(t("2026-06-03T12:00:00+02:00"));
    assert_eq!(e.closes_at, Some(t("2026-06-04T06:00:00+02:00")));
    assert_eq!(e.next_transition, Some(t("2026-06-03T22:00:00+02:00")));
    assert!(!s.at(t("2026-06-03T22:00:00+02:00")).override_active);

    // ForceClosed in a window: closed, reopening at the next window after `until`.
    let s = night(json!({"state": "ForceClosed", "until": "2026-06-04T08:00:00+02:00"}));
    let now = t("2026-06-03T21:00:00+02:00");
    let e = s.at(now);
    assert_eq!(
        (e.state, e.admits, e.override_active),
        (WindowState::Closed, false, true)
    );
    assert_eq!(e.reopens_at, Some(t("2026-06-04T20:00:00+02:00")));
    // An override has no start: the closed period reaches past the horizon, the grace is over.
    assert_eq!(e.closed_since, None);
    assert!(e.drain_at.is_some_and(|d| d < now));
    assert_eq!(e.next_transition, Some(t("2026-06-04T08:00:00+02:00")));

    // ForceClosed ending inside a window: it reopens at `until`.
    let s = night(json!({"state": "ForceClosed", "until": "2026-06-03T23:00:00+02:00"}));
    let e = s.at(now);
    assert_eq!(e.reopens_at, Some(t("2026-06-03T23:00:00+02:00")));
    assert_eq!(
        e.current_window,
        Some((
            t("2026-06-03T23:00:00+02:00"),
            t("2026-06-04T06:00:00+02:00")
        ))
    );

    // An override in the past changes nothing.
    let s = night(json!({"state": "ForceClosed", "until": "2026-01-01T00:00:00+01:00"}));
    let e = s.at(now);
    assert_eq!((e.state, e.override_active), (WindowState::Open, false));
}

#[test]
fn extreme_instants_do_not_panic() {
    let s = schedule(json!({
        "timeZone": "America/New_York",
        "windows": [{"days": ["Mon", "Sun"], "start": "20:00", "end": "06:00"}],
        "exclusions": [{"from": "2026-12-24T00:00:00Z", "to": "2026-12-27T00:00:00Z"}],
        "onClose": {"action": "Drain", "closingNoticeSeconds": 900, "drainGracePeriodSeconds": 300},
        "override": {"state": "ForceClosed", "until": "2026-09-01T06:00:00Z"},
    }));
    for now in [
        jiff::Timestamp::MIN,
        jiff::Timestamp::MAX,
        t("-009999-01-03T00:00:00Z"),
        t("9999-12-29T00:00:00Z"),
        jiff::Timestamp::UNIX_EPOCH,
    ] {
        let e = s.at(now);
        if let Some(next) = e.next_transition {
            assert!(next > now);
        }
    }
}
