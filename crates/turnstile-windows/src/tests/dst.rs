//! Daylight-saving edges: gaps, folds, overnight `end`s and elapsed `duration`s.

use jiff::tz::TimeZoneDatabase;
use serde_json::json;
use turnstile_api::v1alpha1::WindowState;

use super::{just_before, schedule, t};

/// The transitions the tables rely on, read from the bundled database.
#[test]
fn transitions_are_where_the_tables_expect_them() {
    let db = TimeZoneDatabase::bundled();
    // (zone, a time before, the first transition after it)
    let table = [
        (
            "America/New_York",
            "2026-01-01T00:00:00Z",
            "2026-03-08T03:00:00-04:00",
        ),
        (
            "America/New_York",
            "2026-06-01T00:00:00Z",
            "2026-11-01T01:00:00-05:00",
        ),
        (
            "Europe/Berlin",
            "2026-01-01T00:00:00Z",
            "2026-03-29T03:00:00+02:00",
        ),
        (
            "Europe/Berlin",
            "2026-06-01T00:00:00Z",
            "2026-10-25T02:00:00+01:00",
        ),
        (
            "Australia/Sydney",
            "2026-01-01T00:00:00Z",
            "2026-04-05T02:00:00+10:00",
        ),
        (
            "Australia/Sydney",
            "2026-06-01T00:00:00Z",
            "2026-10-04T03:00:00+11:00",
        ),
        (
            "Australia/Lord_Howe",
            "2026-01-01T00:00:00Z",
            "2026-04-05T01:30:00+10:30",
        ),
        (
            "Australia/Lord_Howe",
            "2026-06-01T00:00:00Z",
            "2026-10-04T02:30:00+11:00",
        ),
    ];
    for (zone, from, expected) in table {
        let tz = db.get(zone).unwrap();
        let next = tz.following(t(from)).next().unwrap();
        assert_eq!(next.timestamp(), t(expected), "{zone} after {from}");
    }
    for zone in ["Asia/Tokyo", "UTC"] {
        let tz = db.get(zone).unwrap();
        assert!(
            tz.following(t("2026-01-01T00:00:00Z")).next().is_none(),
            "{zone}"
        );
    }
}

/// (zone, opening day, start, `end=` or `duration=`, expected start, expected end, what).
#[rustfmt::skip]
const EDGES: &[(&str, &str, &str, &str, &str, &str, &str)] = &[
    // America/New_York, 2026-03-08: 02:00 EST -> 03:00 EDT.
    ("America/New_York", "Sun", "02:30", "duration=1h",
        "2026-03-08T03:30:00-04:00", "2026-03-08T04:30:00-04:00", "start in gap shifted by 1 h"),
    ("America/New_York", "Sun", "02:30", "end=04:00",
        "2026-03-08T03:30:00-04:00", "2026-03-08T04:00:00-04:00", "start in gap, wall-clock end"),
    ("America/New_York", "Sat", "20:00", "end=06:00",
        "2026-03-07T20:00:00-05:00", "2026-03-08T06:00:00-04:00", "overnight lasts 9 h"),
    ("America/New_York", "Sat", "20:00", "duration=10h",
        "2026-03-07T20:00:00-05:00", "2026-03-08T07:00:00-04:00", "duration is elapsed"),
    ("America/New_York", "Sat", "23:00", "end=02:30",
        "2026-03-07T23:00:00-05:00", "2026-03-08T03:30:00-04:00", "end in gap shifted by 1 h"),
    // America/New_York, 2026-11-01: 02:00 EDT -> 01:00 EST.
    ("America/New_York", "Sun", "01:30", "duration=1h",
        "2026-11-01T01:30:00-04:00", "2026-11-01T01:30:00-05:00", "start in fold: first occurrence"),
    ("America/New_York", "Sat", "20:00", "end=06:00",
        "2026-10-31T20:00:00-04:00", "2026-11-01T06:00:00-05:00", "overnight lasts 11 h"),
    ("America/New_York", "Sat", "22:00", "end=01:30",
        "2026-10-31T22:00:00-04:00", "2026-11-01T01:30:00-04:00", "end in fold: first occurrence"),
    ("America/New_York", "Sat", "20:00", "duration=10h",
        "2026-10-31T20:00:00-04:00", "2026-11-01T05:00:00-05:00", "duration is elapsed"),
    ("America/New_York", "Sat", "12:00", "end=12:00",
        "2026-10-31T12:00:00-04:00", "2026-11-01T12:00:00-05:00", "end == start: next day, 25 h"),
    // Europe/Berlin, 2026-03-29: 02:00 CET -> 03:00 CEST.
    ("Europe/Berlin", "Sun", "02:15", "end=05:00",
        "2026-03-29T03:15:00+02:00", "2026-03-29T05:00:00+02:00", "start in gap shifted by 1 h"),
    ("Europe/Berlin", "Sat", "20:00", "end=06:00",
        "2026-03-28T20:00:00+01:00", "2026-03-29T06:00:00+02:00", "overnight lasts 9 h"),
    ("Europe/Berlin", "Sat", "22:00", "duration=8h",
        "2026-03-28T22:00:00+01:00", "2026-03-29T07:00:00+02:00", "duration is elapsed"),
    ("Europe/Berlin", "Sat", "12:00", "end=12:00",
        "2026-03-28T12:00:00+01:00", "2026-03-29T12:00:00+02:00", "end == start: next day, 23 h"),
    // Europe/Berlin, 2026-10-25: 03:00 CEST -> 02:00 CET.
    ("Europe/Berlin", "Sun", "02:30", "duration=30m",
        "2026-10-25T02:30:00+02:00", "2026-10-25T02:00:00+01:00", "start in fold: first occurrence"),
    ("Europe/Berlin", "Sat", "20:00", "end=06:00",
        "2026-10-24T20:00:00+02:00", "2026-10-25T06:00:00+01:00", "overnight lasts 11 h"),
    ("Europe/Berlin", "Sat", "22:00", "duration=8h",
        "2026-10-24T22:00:00+02:00", "2026-10-25T05:00:00+01:00", "duration is elapsed"),
    // Australia/Sydney, 2026-04-05: 03:00 AEDT -> 02:00 AEST (autumn, southern hemisphere).
    ("Australia/Sydney", "Sun", "02:30", "end=04:00",
        "2026-04-05T02:30:00+11:00", "2026-04-05T04:00:00+10:00", "start in fold: first occurrence"),
    ("Australia/Sydney", "Sat", "20:00", "end=06:00",
        "2026-04-04T20:00:00+11:00", "2026-04-05T06:00:00+10:00", "overnight lasts 11 h"),
    // Australia/Sydney, 2026-10-04: 02:00 AEST -> 03:00 AEDT (spring).
    ("Australia/Sydney", "Sun", "02:30", "duration=1h",
        "2026-10-04T03:30:00+11:00", "2026-10-04T04:30:00+11:00", "start in gap shifted by 1 h"),
    ("Australia/Sydney", "Sat", "20:00", "end=06:00",
        "2026-10-03T20:00:00+10:00", "2026-10-04T06:00:00+11:00", "overnight lasts 9 h"),
    ("Australia/Sydney", "Sat", "20:00", "duration=10h",
        "2026-10-03T20:00:00+10:00", "2026-10-04T07:00:00+11:00", "duration is elapsed"),
    // Australia/Lord_Howe, 2026-04-05: 02:00 +11 -> 01:30 +10:30 (a 30-minute shift).
    ("Australia/Lord_Howe", "Sun", "01:45", "duration=30m",
        "2026-04-05T01:45:00+11:00", "2026-04-05T01:45:00+10:30", "start in fold: first occurrence"),
    ("Australia/Lord_Howe", "Sat", "20:00", "end=06:00",
        "2026-04-04T20:00:00+11:00", "2026-04-05T06:00:00+10:30", "overnight lasts 10.5 h"),
    // Australia/Lord_Howe, 2026-10-04: 02:00 +10:30 -> 02:30 +11.
    ("Australia/Lord_Howe", "Sun", "02:15", "end=04:00",
        "2026-10-04T02:45:00+11:00", "2026-10-04T04:00:00+11:00", "start in gap shifted by 30 min"),
    ("Australia/Lord_Howe", "Sat", "20:00", "end=06:00",
        "2026-10-03T20:00:00+10:30", "2026-10-04T06:00:00+11:00", "overnight lasts 9.5 h"),
    ("Australia/Lord_Howe", "Sat", "20:00", "duration=10h",
        "2026-10-03T20:00:00+10:30", "2026-10-04T06:30:00+11:00", "duration is elapsed"),
    // Zones without daylight saving: every night is the same.
    ("Asia/Tokyo", "Sat", "20:00", "end=06:00",
        "2026-03-07T20:00:00+09:00", "2026-03-08T06:00:00+09:00", "no DST: 10 h"),
    ("Asia/Tokyo", "Sat", "20:00", "end=06:00",
        "2026-10-31T20:00:00+09:00", "2026-11-01T06:00:00+09:00", "no DST: 10 h"),
    ("UTC", "Sun", "02:30", "duration=1h",
        "2026-03-29T02:30:00+00:00", "2026-03-29T03:30:00+00:00", "no DST: no shift"),
];

/// Each window (opening on one day) gives exactly the span `[start, end)` on the given
/// night: closed just before, open from start, closed from end.
#[test]
fn occurrences_at_daylight_saving_edges() {
    for &(zone, day, start, length, open, close, what) in EDGES {
        let (key, value) = length.split_once('=').unwrap();
        let mut window = json!({"days": [day], "start": start});
        window[key] = json!(value);
        let s = schedule(json!({"timeZone": zone, "windows": [window]}));
        let (open, close) = (t(open), t(close));
        let case = format!("{zone} {day} {start} {length}: {what}");

        let before = s.at(just_before(open));
        assert_eq!(
            before.state,
            WindowState::Closed,
            "{case}: before the start"
        );
        assert_eq!(before.reopens_at, Some(open), "{case}: reopens_at");
        assert_eq!(
            before.current_window,
            Some((open, close)),
            "{case}: next window"
        );

        let during = s.at(open);
        assert_eq!(during.state, WindowState::Open, "{case}: at the start");
        assert_eq!(during.current_window, Some((open, close)), "{case}: window");
        assert_eq!(during.closes_at, Some(close), "{case}: closes_at");
        assert!(
            s.at(just_before(close)).admits,
            "{case}: just before the end"
        );

        let after = s.at(close);
        assert_eq!(after.state, WindowState::Closed, "{case}: at the end");
        assert_eq!(after.closed_since, Some(close), "{case}: closed_since");
    }
}

/// A gap that pushes `start` past `end` leaves that day without a window; the next week's
/// occurrence is whole.
#[test]
fn a_start_shifted_past_its_end_is_empty() {
    let s = schedule(json!({
        "timeZone": "America/New_York",
        "windows": [{"days": ["Sun"], "start": "02:30", "end": "03:15"}],
    }));
    let e = s.at(t("2026-03-08T00:00:00-05:00"));
    assert_eq!(e.state, WindowState::Closed);
    assert_eq!(
        e.current_window,
        Some((
            t("2026-03-15T02:30:00-04:00"),
            t("2026-03-15T03:15:00-04:00")
        ))
    );
    assert_eq!(e.closed_since, Some(t("2026-03-01T03:15:00-05:00")));
}

/// Over a fall-back night the same wall-clock hour happens twice: a window 01:00–01:30 means
/// the first pass only, and the repeated 01:00–01:30 is closed.
#[test]
fn the_repeated_hour_belongs_to_the_first_pass_only() {
    let s = schedule(json!({
        "timeZone": "America/New_York",
        "windows": [{"days": ["Sun"], "start": "01:00", "end": "01:30"}],
    }));
    assert!(super::is_open(&s, t("2026-11-01T01:15:00-04:00")));
    assert!(!super::is_open(&s, t("2026-11-01T01:15:00-05:00")));
}
