//! Table-driven tests of the calendar. Every instant is written in RFC 3339 with the offset it
//! has in the policy's zone, so that the tables read as local times.

mod calendar;
mod closing;
mod dst;
mod property;
mod validation;

use jiff::Timestamp;
use serde_json::{Value, json};
use turnstile_api::v1alpha1::{TimeWindowPolicySpec, WindowState};

use crate::{Evaluation, Schedule, compile};

/// An instant from RFC 3339.
pub(crate) fn t(text: &str) -> Timestamp {
    text.parse()
        .unwrap_or_else(|e| panic!("bad timestamp {text:?}: {e}"))
}

/// A spec from the fields given, with targets, a mode (AllowDuring) and onClose (Hold) filled
/// in when absent.
pub(crate) fn spec(fields: Value) -> TimeWindowPolicySpec {
    let mut object = json!({
        "targets": {"clusterQueues": ["q"]},
        "mode": "AllowDuring",
        "onClose": {"action": "Hold"},
    });
    let Value::Object(fields) = fields else {
        panic!("not an object: {fields}")
    };
    for (key, value) in fields {
        object[key] = value;
    }
    serde_json::from_value(object).expect("a spec")
}

/// A compiled spec, see [`spec`].
pub(crate) fn schedule(fields: Value) -> Schedule {
    compile(&spec(fields)).unwrap_or_else(|errors| panic!("invalid spec: {errors:?}"))
}

/// One nanosecond before `at`.
pub(crate) fn just_before(at: Timestamp) -> Timestamp {
    at.checked_sub(jiff::SignedDuration::from_nanos(1)).unwrap()
}

/// Whether the policy is open (Open or Closing) at `now`.
pub(crate) fn is_open(s: &Schedule, now: Timestamp) -> bool {
    s.at(now).state != WindowState::Closed
}

/// The evaluation with the answers that the horizon bounds (which moves with `now`, once a
/// day) replaced by a marker, so that evaluations at different instants compare.
pub(crate) fn comparable(e: &Evaluation, now: Timestamp) -> Evaluation {
    let (start, end) = Schedule::horizon(now);
    let mark = |at: Timestamp| {
        if at == start || at == end {
            Timestamp::MIN
        } else {
            at
        }
    };
    let mut e = e.clone();
    e.current_window = e.current_window.map(|(a, b)| (mark(a), mark(b)));
    if e.state == WindowState::Closed && e.closed_since.is_none() {
        e.drain_at = e.drain_at.map(|_| Timestamp::MIN);
    }
    e
}

/// Checks `next_transition` of the evaluation at `now`: nothing changes at sampled points
/// before it (the whole evaluation is the same, but for the horizon), and something
/// behavioural does at it.
pub(crate) fn check_next_transition(s: &Schedule, now: Timestamp) -> Evaluation {
    let here = s.at(now);
    let Some(next) = here.next_transition else {
        return here;
    };
    assert!(next > now, "next_transition {next} not after {now}");
    let gap = next.duration_since(now);
    for k in 1..8 {
        let probe = now + gap / 8 * k;
        assert_eq!(
            comparable(&s.at(probe), probe),
            comparable(&here, now),
            "changed at {probe}, before {next} (from {now})"
        );
    }
    let last = just_before(next);
    assert_eq!(
        comparable(&s.at(last), last),
        comparable(&here, now),
        "changed just before {next}"
    );
    let there = s.at(next);
    let drain_reached = here.drain_at.is_some_and(|d| d == next);
    assert!(
        there.state != here.state
            || there.admits != here.admits
            || there.override_active != here.override_active
            || drain_reached,
        "nothing behavioural changes at {next}: {here:?} -> {there:?}"
    );
    there
}
