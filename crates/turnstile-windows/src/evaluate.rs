//! Evaluating a [`Schedule`] at an instant.

use jiff::Timestamp;
use turnstile_api::v1alpha1::WindowState;

use crate::schedule::{Schedule, timestamp};
use crate::spans::{self, Span};

/// How far [`Schedule::at`] looks back and ahead, in days.
///
/// The search range is anchored to the UTC midnight at or before `now` (so that the answers do
/// not drift from one evaluation to the next): from `HORIZON_DAYS` days before it to
/// `HORIZON_DAYS + 1` days after it. See [`Schedule::horizon`].
pub const HORIZON_DAYS: i64 = 400;

const NANOS_PER_DAY: i128 = 86_400 * 1_000_000_000;
/// The first search range: a window opening up to 7 days before `now` can still be open.
const FIRST_REACH: i128 = 9 * NANOS_PER_DAY;

/// What a policy says at one instant. A pure function of the spec and `now`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Evaluation {
    /// Open, Closing (open, with a close within the closing notice or the admission cut-off) or
    /// Closed.
    pub state: WindowState,
    /// Whether new work may be admitted: open and not within `admission.cutoffBeforeCloseSeconds`
    /// of the next close.
    pub admits: bool,
    /// When closed: the start of the current closed period. `None` when it began before the
    /// search horizon (in particular while a ForceClosed override is active whose closed period
    /// reaches that far back: an override applies at every instant before its `until`).
    pub closed_since: Option<Timestamp>,
    /// When closed and the action is Drain: `closed_since` (or, when that is `None`, the start of
    /// the horizon) plus `onClose.drainGracePeriodSeconds` (0 when unset). Admitted work is
    /// evicted once `now` has reached it.
    pub drain_at: Option<Timestamp>,
    /// When closed: the next instant at which the policy is open; `None` when not within the
    /// horizon.
    pub reopens_at: Option<Timestamp>,
    /// When open (Open or Closing): the next instant at which the policy is closed; `None` when
    /// not within the horizon.
    pub closes_at: Option<Timestamp>,
    /// The open span (start, end) containing `now`, else the next one; `None` when no open span
    /// starts within the horizon. An end the search did not reach is reported as the horizon's
    /// bound, and so is such a start. With DenyDuring this is the time between windows.
    pub current_window: Option<(Timestamp, Timestamp)>,
    /// The next instant after `now` at which `state`, `admits` or `override_active` changes or
    /// `drain_at` is reached: the start of the closing notice or the cut-off, the close, the
    /// reopen, `drain_at`, or the override's `until`. `None` when there is none within the
    /// horizon. Nothing else in the evaluation changes before it (but for answers bounded by the
    /// horizon, which moves once a day).
    pub next_transition: Option<Timestamp>,
    /// Whether the override decides the state now (`now` is before its `until`).
    pub override_active: bool,
}

/// Where `now` falls in the open set.
enum Position {
    /// In the open span `[start, end)`.
    Open { start: i128, end: i128 },
    /// In the closed gap `[start, end)`, followed by the open span `next`.
    Closed {
        start: i128,
        end: i128,
        next: Option<Span>,
    },
}

impl Schedule {
    /// The search range `[start, end)` that [`Schedule::at`] uses for `now`: from
    /// [`HORIZON_DAYS`] days before the UTC midnight at or before `now` to `HORIZON_DAYS + 1`
    /// days after it. Answers beyond it are `None` (or cut to it, for `current_window`).
    pub fn horizon(now: Timestamp) -> (Timestamp, Timestamp) {
        let (start, end) = horizon_nanos(now.as_nanosecond());
        (timestamp(start), timestamp(end))
    }

    /// The state of the policy at `now`. Reads no clock; the same `now` gives the same answer.
    pub fn at(&self, now: Timestamp) -> Evaluation {
        let now = now.as_nanosecond();
        let (horizon_start, horizon_end) = horizon_nanos(now);
        let override_active = self.forced.is_some_and(|(_, until)| now < until);
        let override_end = self
            .forced
            .map(|(_, until)| until)
            .filter(|&until| until > now);

        let position = self.locate(now, horizon_start, horizon_end);
        let bounded = |t: i128| (t > horizon_start && t < horizon_end).then_some(t);
        let first_after_now = |candidates: &[Option<i128>]| {
            candidates
                .iter()
                .flatten()
                .copied()
                .filter(|&t| t > now)
                .min()
        };

        match position {
            Position::Open { start, end } => {
                let closes_at = bounded(end);
                let warning = self.notice.max(self.cutoff);
                let closing = closes_at.is_some_and(|close| now >= close - warning && warning > 0);
                let cut_off =
                    closes_at.is_some_and(|close| now >= close - self.cutoff && self.cutoff > 0);
                let next_transition = first_after_now(&[
                    closes_at.map(|close| close - warning),
                    closes_at.map(|close| close - self.cutoff),
                    closes_at,
                    override_end,
                ]);
                Evaluation {
                    state: if closing {
                        WindowState::Closing
                    } else {
                        WindowState::Open
                    },
                    admits: !cut_off,
                    closed_since: None,
                    drain_at: None,
                    reopens_at: None,
                    closes_at: closes_at.map(timestamp),
                    current_window: Some((timestamp(start), timestamp(end))),
                    next_transition: next_transition.map(timestamp),
                    override_active,
                }
            }
            Position::Closed { start, end, next } => {
                let closed_since = bounded(start);
                let reopens_at = bounded(end);
                let drain_at = self
                    .drain_grace
                    .map(|grace| closed_since.unwrap_or(horizon_start) + grace);
                let next_transition = first_after_now(&[reopens_at, drain_at, override_end]);
                Evaluation {
                    state: WindowState::Closed,
                    admits: false,
                    closed_since: closed_since.map(timestamp),
                    drain_at: drain_at.map(timestamp),
                    reopens_at: reopens_at.map(timestamp),
                    closes_at: None,
                    current_window: next.map(|(s, e)| (timestamp(s), timestamp(e))),
                    next_transition: next_transition.map(timestamp),
                    override_active,
                }
            }
        }
    }

    /// Finds the open span or closed gap containing `now` (and the open span after a gap),
    /// widening the search range until their bounds are found or the horizon is reached.
    fn locate(&self, now: i128, horizon_start: i128, horizon_end: i128) -> Position {
        let mut lo = (now - FIRST_REACH).max(horizon_start);
        let mut hi = (now + FIRST_REACH).min(horizon_end);
        let mut open = self.open_set(lo, hi);
        loop {
            let at = open.partition_point(|&(_, end)| end <= now);
            let (position, left, right) = match open.get(at) {
                Some(&(start, end)) if start <= now => {
                    (Position::Open { start, end }, start == lo, end == hi)
                }
                next => {
                    let start = at
                        .checked_sub(1)
                        .and_then(|i| open.get(i))
                        .map_or(lo, |&(_, end)| end);
                    let (end, right) = match next {
                        Some(&(s, e)) => (s, e == hi),
                        None => (hi, true),
                    };
                    (
                        Position::Closed {
                            start,
                            end,
                            next: next.copied(),
                        },
                        start == lo,
                        right,
                    )
                }
            };
            let widen_left = left && lo > horizon_start;
            let widen_right = right && hi < horizon_end;
            if !widen_left && !widen_right {
                return position;
            }
            // Twice as far each time, computing only the new part.
            if widen_left {
                let new_lo = (now - 2 * (now - lo).max(FIRST_REACH)).max(horizon_start);
                open = spans::join(self.open_set(new_lo, lo), open);
                lo = new_lo;
            }
            if widen_right {
                let new_hi = (now + 2 * (hi - now).max(FIRST_REACH)).min(horizon_end);
                open = spans::join(open, self.open_set(hi, new_hi));
                hi = new_hi;
            }
        }
    }
}

/// `[start, end)` of the search range for `now` (nanoseconds), see [`Schedule::horizon`].
fn horizon_nanos(now: i128) -> (i128, i128) {
    let min = Timestamp::MIN.as_nanosecond();
    let max = Timestamp::MAX.as_nanosecond();
    let midnight = now.div_euclid(NANOS_PER_DAY) * NANOS_PER_DAY;
    let start = (midnight - i128::from(HORIZON_DAYS) * NANOS_PER_DAY).max(min);
    let end = (midnight + i128::from(HORIZON_DAYS + 1) * NANOS_PER_DAY).min(max);
    (start, end.max(now + 1))
}
