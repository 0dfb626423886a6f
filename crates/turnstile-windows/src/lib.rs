//! Time-window pause policies: the calendar of a `TimeWindowPolicy`, as a pure function of its
//! spec and the time.
//!
//! [`compile`] validates a [`TimeWindowPolicySpec`] (reporting every problem at its field path)
//! into a [`Schedule`]; [`Schedule::at`] tells, for an instant `now` given by the caller, whether
//! the policy is Open, Closing or Closed, whether it admits, since when it is closed, when it
//! drains, and when anything of that changes next, so that the controller can requeue for that
//! instant. Nothing here reads a clock or the host's time-zone database: the zone comes from the
//! database compiled into the binary ([`tzdb_version`]), so every node gives the same answer.
//!
//! # Semantics
//!
//! * A window opens on each listed local day (the day it *opens*: a Friday 22:00–06:00 window
//!   covers Saturday 01:00) at the local `start`. A `start` skipped by a daylight-saving change
//!   (spring forward) is moved forward by the length of the gap (02:30 in a 02:00→03:00 gap
//!   opens at 03:30); an ambiguous one (fall back) means its first occurrence (RFC 5545).
//! * `end` is a wall-clock time on the opening date, or on the next date when it is not after
//!   `start`: a 20:00–06:00 window lasts 9 h or 11 h on daylight-saving nights, and a window
//!   whose `end` equals its `start` lasts until the same wall-clock time on the next day (24 h,
//!   or 23 h or 25 h across a change), never zero. `end` follows the same gap and fold rule. If
//!   a gap moves `start` to or past `end`, that day's occurrence is empty.
//! * `duration` is elapsed time from the opening instant, whatever the clock does.
//! * All occurrences of all windows are unioned. Exclusions `[from, to)` are removed from them:
//!   no window is in effect during an exclusion.
//! * AllowDuring: open exactly inside the union; DenyDuring: open exactly outside it (so open
//!   during an exclusion).
//! * An override applies at every instant before its `until` (it has no start): ForceOpen opens,
//!   ForceClosed closes. From `until` on the calendar applies again. A close at `until` is a
//!   close like any other (it has its notice and cut-off).
//! * Closing: open, with the next close at most `max(closingNoticeSeconds,
//!   cutoffBeforeCloseSeconds)` away (the half-open span `[close - notice, close)`). The
//!   policy admits when open and not in `[close - cutoff, close)`.
//! * Answers are searched within a horizon of [`HORIZON_DAYS`] days either side of `now`, by
//!   whole spans, not by sampling.
//!
//! ```text
//!   TimeWindowPolicySpec --compile--> Schedule --at(now)--> Evaluation
//!                         (zone, times,            (state, admits, closes/reopens,
//!                          durations checked)        drain_at, next_transition)
//! ```

mod error;
mod evaluate;
mod parse;
mod schedule;
mod spans;
#[cfg(test)]
mod tests;

pub use error::FieldError;
pub use evaluate::{Evaluation, HORIZON_DAYS};
pub use schedule::{Schedule, compile, tzdb_version};
pub use turnstile_api::v1alpha1::{TimeWindowPolicySpec, WindowState};
