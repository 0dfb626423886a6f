//! Validation: every problem, at its field path.

use serde_json::json;

use super::spec;
use crate::{FieldError, compile, tzdb_version};

fn errors(fields: serde_json::Value) -> Vec<String> {
    match compile(&spec(fields)) {
        Ok(_) => Vec::new(),
        Err(errors) => errors.iter().map(ToString::to_string).collect(),
    }
}

#[test]
fn field_errors_have_paths() {
    let table: Vec<(serde_json::Value, Vec<&str>)> = vec![
        (
            json!({"timeZone": "UTC", "windows": [
                {"days": ["Mon"], "start": "08:00", "end": "10:00"},
                {"days": [], "start": "8:00", "end": "24:00"},
                {"days": ["Tue"], "start": "08:00", "duration": "169h"},
                {"days": ["Tue"], "start": "08:00", "duration": "0s"},
                {"days": ["Tue"], "start": "08:00", "duration": "1d"},
                {"days": ["Tue"], "start": "08:00", "end": "09:00", "duration": "1h"},
                {"days": ["Tue"], "start": "08:00:60"},
            ]}),
            vec![
                "spec.windows[1].days: at least one day is required",
                "spec.windows[1].start: invalid time \"8:00\": expected HH:MM or HH:MM:SS, from 00:00 to 23:59:59",
                "spec.windows[1].end: invalid time \"24:00\": expected HH:MM or HH:MM:SS, from 00:00 to 23:59:59",
                "spec.windows[2].duration: must be more than 0 and at most 168h",
                "spec.windows[3].duration: must be more than 0 and at most 168h",
                "spec.windows[4].duration: invalid duration \"1d\": expected hours, minutes and seconds in that order, such as 90m, 48h, 1h30m or 20s",
                "spec.windows[5]: exactly one of end and duration is required, not both",
                "spec.windows[6].start: invalid time \"08:00:60\": expected HH:MM or HH:MM:SS, from 00:00 to 23:59:59",
                "spec.windows[6]: exactly one of end and duration is required",
            ],
        ),
        (
            json!({"timeZone": "UTC", "windows": []}),
            vec!["spec.windows: at least one window is required"],
        ),
        (
            json!({"timeZone": "UTC",
                   "windows": [{"days": ["Mon"], "start": "08:00", "duration": "168h"}],
                   "exclusions": [
                       {"from": "2026-12-24T00:00:00Z", "to": "2026-12-27T00:00:00Z"},
                       {"from": "2026-12-24T00:00:00Z", "to": "2026-12-24T00:00:00Z"},
                   ],
                   "onClose": {"action": "Hold", "closingNoticeSeconds": -1,
                               "drainGracePeriodSeconds": 30, "maxConcurrentSuspensions": 0},
                   "admission": {"cutoffBeforeCloseSeconds": 604_801}}),
            vec![
                "spec.exclusions[1].to: must be after from (2026-12-24T00:00:00Z)",
                "spec.onClose.closingNoticeSeconds: must not be negative",
                "spec.onClose.drainGracePeriodSeconds: applies to action Drain only",
                "spec.onClose.maxConcurrentSuspensions: must be at least 1",
                "spec.admission.cutoffBeforeCloseSeconds: must be at most 604800",
            ],
        ),
        (
            json!({"timeZone": "UTC",
                   "windows": [{"days": ["Mon"], "start": "08:00", "end": "08:00"}],
                   "onClose": {"action": "Drain", "drainGracePeriodSeconds": -5}}),
            vec!["spec.onClose.drainGracePeriodSeconds: must not be negative"],
        ),
        (
            json!({"timeZone": "UTC",
                   "windows": [{"days": ["Mon"], "start": "08:00", "duration": "1h30m"}],
                   "onClose": {"action": "Drain", "drainGracePeriodSeconds": 300}}),
            vec![],
        ),
    ];
    for (fields, expected) in table {
        assert_eq!(errors(fields.clone()), expected, "{fields}");
    }
}

#[test]
fn time_zones_come_from_the_bundled_database_by_exact_name() {
    let window = json!([{"days": ["Mon"], "start": "08:00", "end": "10:00"}]);
    let version = tzdb_version();
    assert_ne!(version, "unknown");
    let table = [
        ("Europe/Berlin", None),
        ("UTC", None),
        ("Australia/Lord_Howe", None),
        ("US/Eastern", None),
        ("Etc/UTC", None),
        (
            "",
            Some(
                "spec.timeZone: required: an IANA time-zone name such as Europe/Berlin or UTC"
                    .to_owned(),
            ),
        ),
        (
            "Mars/Olympus_Mons",
            Some(format!(
                "spec.timeZone: unknown IANA time zone \"Mars/Olympus_Mons\" (time-zone database {version})"
            )),
        ),
        (
            "europe/berlin",
            Some(format!(
                "spec.timeZone: unknown IANA time zone \"europe/berlin\" (time-zone database {version}); did you mean \"Europe/Berlin\"?"
            )),
        ),
        (
            "Etc/Unknown",
            Some(format!(
                "spec.timeZone: unknown IANA time zone \"Etc/Unknown\" (time-zone database {version})"
            )),
        ),
        (
            "/etc/localtime",
            Some(format!(
                "spec.timeZone: unknown IANA time zone \"/etc/localtime\" (time-zone database {version})"
            )),
        ),
    ];
    for (zone, expected) in table {
        let got = errors(json!({"timeZone": zone, "windows": window}));
        assert_eq!(got, expected.into_iter().collect::<Vec<_>>(), "{zone:?}");
    }
}

#[test]
fn field_error_displays_path_and_message() {
    let e = FieldError::new(
        "spec.windows[1].duration",
        "must be more than 0 and at most 168h",
    );
    assert_eq!(
        e.to_string(),
        "spec.windows[1].duration: must be more than 0 and at most 168h"
    );
}
