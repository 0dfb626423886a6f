//! Closing notice, admission cut-off, drain and `next_transition`.

use serde_json::json;
use turnstile_api::v1alpha1::WindowState;

use super::{check_next_transition, schedule, t};

#[test]
fn notice_cutoff_and_drain_around_a_close() {
    let s = schedule(json!({
        "timeZone": "Europe/Berlin",
        "windows": [{"days": ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"],
                     "start": "20:00", "end": "06:00"}],
        "onClose": {"action": "Drain", "closingNoticeSeconds": 900, "drainGracePeriodSeconds": 300},
        "admission": {"cutoffBeforeCloseSeconds": 1800},
    }));
    let close = t("2026-06-03T06:00:00+02:00");
    // (now, state, admits, next_transition)
    let table = [
        (
            "2026-06-03T05:00:00+02:00",
            WindowState::Open,
            true,
            "2026-06-03T05:30:00+02:00",
        ),
        (
            "2026-06-03T05:29:59+02:00",
            WindowState::Open,
            true,
            "2026-06-03T05:30:00+02:00",
        ),
        // The cut-off (30 min) is longer than the notice (15 min): Closing from 05:30.
        (
            "2026-06-03T05:30:00+02:00",
            WindowState::Closing,
            false,
            "2026-06-03T06:00:00+02:00",
        ),
        (
            "2026-06-03T05:50:00+02:00",
            WindowState::Closing,
            false,
            "2026-06-03T06:00:00+02:00",
        ),
        (
            "2026-06-03T06:00:00+02:00",
            WindowState::Closed,
            false,
            "2026-06-03T06:05:00+02:00",
        ),
        (
            "2026-06-03T06:04:59+02:00",
            WindowState::Closed,
            false,
            "2026-06-03T06:05:00+02:00",
        ),
        (
            "2026-06-03T06:05:00+02:00",
            WindowState::Closed,
            false,
            "2026-06-03T20:00:00+02:00",
        ),
        (
            "2026-06-03T20:00:00+02:00",
            WindowState::Open,
            true,
            "2026-06-04T05:30:00+02:00",
        ),
    ];
    for (now, state, admits, next) in table {
        let e = s.at(t(now));
        assert_eq!((e.state, e.admits), (state, admits), "at {now}");
        assert_eq!(e.next_transition, Some(t(next)), "at {now}");
        if state == WindowState::Closed {
            assert_eq!(e.closed_since, Some(close), "at {now}");
            assert_eq!(e.drain_at, Some(t("2026-06-03T06:05:00+02:00")), "at {now}");
            assert_eq!(
                e.reopens_at,
                Some(t("2026-06-03T20:00:00+02:00")),
                "at {now}"
            );
        } else {
            assert_eq!((e.closed_since, e.drain_at), (None, None), "at {now}");
        }
    }
}

#[test]
fn a_notice_longer_than_the_cutoff_closes_before_it_stops_admitting() {
    let s = schedule(json!({
        "timeZone": "UTC",
        "windows": [{"days": ["Wed"], "start": "08:00", "end": "18:00"}],
        "onClose": {"action": "Hold", "closingNoticeSeconds": 3600},
        "admission": {"cutoffBeforeCloseSeconds": 600},
    }));
    let table = [
        ("2026-06-03T16:59:59Z", WindowState::Open, true),
        ("2026-06-03T17:00:00Z", WindowState::Closing, true),
        ("2026-06-03T17:50:00Z", WindowState::Closing, false),
        ("2026-06-03T18:00:00Z", WindowState::Closed, false),
    ];
    for (now, state, admits) in table {
        let e = s.at(t(now));
        assert_eq!((e.state, e.admits), (state, admits), "at {now}");
        // Hold: no drain.
        assert_eq!(e.drain_at, None);
    }
    // A window shorter than the notice is Closing from its start.
    let s = schedule(json!({
        "timeZone": "UTC",
        "windows": [{"days": ["Wed"], "start": "08:00", "duration": "30m"}],
        "onClose": {"action": "Hold", "closingNoticeSeconds": 3600},
    }));
    assert_eq!(s.at(t("2026-06-03T08:00:00Z")).state, WindowState::Closing);
    assert_eq!(
        s.at(t("2026-06-03T07:59:59Z")).next_transition,
        Some(t("2026-06-03T08:00:00Z"))
    );
}

#[test]
fn drain_without_grace_drains_at_the_close() {
    let s = schedule(json!({
        "timeZone": "UTC",
        "windows": [{"days": ["Wed"], "start": "08:00", "end": "18:00"}],
        "onClose": {"action": "Drain"},
    }));
    let e = s.at(t("2026-06-03T18:00:00Z"));
    assert_eq!(e.drain_at, Some(t("2026-06-03T18:00:00Z")));
    assert_eq!(e.next_transition, Some(t("2026-06-10T08:00:00Z")));
}

/// Following `next_transition` from an instant, for a week, in several policies: nothing
/// changes at sampled points in between, and something behavioural at each.
#[test]
fn next_transition_is_the_next_change() {
    let policies = [
        json!({
            "timeZone": "Europe/Berlin",
            "windows": [
                {"days": ["Mon", "Tue", "Wed", "Thu", "Fri"], "start": "20:00", "end": "06:00"},
                {"days": ["Sat"], "start": "00:00", "duration": "48h"},
            ],
            "exclusions": [{"from": "2026-03-25T03:00:00+01:00", "to": "2026-03-26T23:00:00+01:00"}],
            "onClose": {"action": "Drain", "closingNoticeSeconds": 900, "drainGracePeriodSeconds": 300},
            "admission": {"cutoffBeforeCloseSeconds": 1800},
            "override": {"state": "ForceOpen", "until": "2026-03-24T12:00:00+01:00"},
        }),
        json!({
            "timeZone": "America/New_York",
            "mode": "DenyDuring",
            "windows": [{"days": ["Sat", "Sun"], "start": "01:30", "end": "02:30"}],
            "onClose": {"action": "Drain", "drainGracePeriodSeconds": 7200},
            "admission": {"cutoffBeforeCloseSeconds": 600},
        }),
        json!({
            "timeZone": "Australia/Lord_Howe",
            "windows": [{"days": ["Sun"], "start": "01:45", "duration": "45m"}],
            "onClose": {"action": "Hold", "closingNoticeSeconds": 60},
            "override": {"state": "ForceClosed", "until": "2026-04-01T00:00:00+11:00"},
        }),
    ];
    for fields in policies {
        let s = schedule(fields);
        let mut now = t("2026-03-22T00:00:00Z");
        let end = t("2026-04-12T00:00:00Z");
        let mut steps = 0;
        while now < end {
            let e = check_next_transition(&s, now);
            let Some(next) = s.at(now).next_transition else {
                break;
            };
            assert!(e.next_transition.is_none_or(|n| n > next));
            now = next;
            steps += 1;
        }
        assert!(steps > 5, "only {steps} transitions");
    }
}
