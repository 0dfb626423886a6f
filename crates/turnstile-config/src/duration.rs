//! Kubernetes `metav1.Duration`: a Go `time.Duration` (signed 64-bit nanoseconds) written as a Go duration
//! string (`"5m"`, `"1h30m"`, `"300ms"`, `"-1.5s"`).
//!
//! Parsing follows Go's `time.ParseDuration` exactly (grammar, units, overflow rules and error texts), and
//! [`Display`](std::fmt::Display) prints what Go's `Duration.String()` prints (`1h30m0s`, `1.5ms`, `0s`), which is
//! the form Kueue's validation messages show.

use std::fmt::{self, Write as _};
use std::str::FromStr;
use std::time::Duration;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::field::go_json_string;

const NANOS_PER_MICRO: u64 = 1_000;
const NANOS_PER_MILLI: u64 = 1_000_000;
const NANOS_PER_SECOND: u64 = 1_000_000_000;
const NANOS_PER_MINUTE: u64 = 60 * NANOS_PER_SECOND;
const NANOS_PER_HOUR: u64 = 60 * NANOS_PER_MINUTE;
const TWO_POW_63: u64 = 1 << 63;

/// A signed duration with nanosecond resolution, as Go's `time.Duration` / Kubernetes' `metav1.Duration`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct GoDuration {
    nanos: i64,
}

/// Why a duration string could not be parsed; prints Go's error text (`time: unknown unit "x" in duration "5x"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DurationParseError {
    message: String,
    input: String,
}

impl fmt::Display for DurationParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "time: {} {}", self.message, go_time_quote(&self.input))
    }
}

impl std::error::Error for DurationParseError {}

impl GoDuration {
    /// The zero duration.
    pub const ZERO: Self = Self { nanos: 0 };

    /// A duration of `nanos` nanoseconds (may be negative).
    pub const fn from_nanos(nanos: i64) -> Self {
        Self { nanos }
    }

    /// A duration of `secs` seconds (saturating at the `i64` nanosecond range).
    pub const fn from_secs(secs: i64) -> Self {
        Self {
            nanos: secs.saturating_mul(1_000_000_000),
        }
    }

    /// A duration of `mins` minutes (saturating at the `i64` nanosecond range).
    pub const fn from_mins(mins: i64) -> Self {
        Self::from_secs(mins.saturating_mul(60))
    }

    /// The signed number of nanoseconds.
    pub const fn as_nanos(self) -> i64 {
        self.nanos
    }

    /// Whether the duration is below zero.
    pub const fn is_negative(self) -> bool {
        self.nanos < 0
    }

    /// Whether the duration is zero.
    pub const fn is_zero(self) -> bool {
        self.nanos == 0
    }

    /// The duration as a [`std::time::Duration`], or `None` when negative.
    pub fn to_std(self) -> Option<Duration> {
        u64::try_from(self.nanos).ok().map(Duration::from_nanos)
    }

    /// Parses a Go duration string exactly as Go's `time.ParseDuration`: an optional sign, then one or more
    /// `<decimal number><unit>` pairs where the number may have a fraction and the unit is one of `ns`, `us`,
    /// `µs`, `μs`, `ms`, `s`, `m`, `h`. A lone `0` (optionally signed) needs no unit.
    pub fn parse(input: &str) -> Result<Self, DurationParseError> {
        let fail = |message: &str| DurationParseError {
            message: message.to_owned(),
            input: input.to_owned(),
        };
        let mut s = input.as_bytes();
        let mut negative = false;
        if let Some(&c) = s.first()
            && (c == b'-' || c == b'+')
        {
            negative = c == b'-';
            s = &s[1..];
        }
        if s == b"0" {
            return Ok(Self::ZERO);
        }
        if s.is_empty() {
            return Err(fail("invalid duration"));
        }
        let mut total: u64 = 0;
        while !s.is_empty() {
            if !(s[0] == b'.' || s[0].is_ascii_digit()) {
                return Err(fail("invalid duration"));
            }
            let before = s.len();
            let (mut value, rest) = leading_int(s).ok_or_else(|| fail("invalid duration"))?;
            s = rest;
            let had_integer = before != s.len();

            let mut fraction: u64 = 0;
            let mut scale: f64 = 1.0;
            let mut had_fraction = false;
            if s.first() == Some(&b'.') {
                s = &s[1..];
                let before = s.len();
                let (f, sc, rest) = leading_fraction(s);
                fraction = f;
                scale = sc;
                s = rest;
                had_fraction = before != s.len();
            }
            if !had_integer && !had_fraction {
                return Err(fail("invalid duration"));
            }

            let unit_len = s
                .iter()
                .position(|&c| c == b'.' || c.is_ascii_digit())
                .unwrap_or(s.len());
            if unit_len == 0 {
                return Err(fail("missing unit in duration"));
            }
            let unit_text = &s[..unit_len];
            s = &s[unit_len..];
            let Some(unit) = unit_nanos(unit_text) else {
                let unit = String::from_utf8_lossy(unit_text);
                return Err(fail(&format!(
                    "unknown unit {} in duration",
                    go_time_quote(&unit)
                )));
            };
            if value > TWO_POW_63 / unit {
                return Err(fail("invalid duration"));
            }
            value *= unit;
            if fraction > 0 {
                value += fraction_nanos(fraction, unit, scale);
                if value > TWO_POW_63 {
                    return Err(fail("invalid duration"));
                }
            }
            // Go adds with unsigned wrap-around before checking; mirror it.
            total = total.wrapping_add(value);
            if total > TWO_POW_63 {
                return Err(fail("invalid duration"));
            }
        }
        if negative {
            // 2^63 becomes i64::MIN, as in Go.
            #[allow(clippy::cast_possible_wrap)]
            let nanos = (total as i64).wrapping_neg();
            return Ok(Self { nanos });
        }
        i64::try_from(total)
            .map(|nanos| Self { nanos })
            .map_err(|_| fail("invalid duration"))
    }
}

/// `float64(f) * (float64(unit) / scale)` truncated to an integer, as Go computes a fractional part.
#[allow(
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss
)]
fn fraction_nanos(fraction: u64, unit: u64, scale: f64) -> u64 {
    (fraction as f64 * (unit as f64 / scale)) as u64
}

fn unit_nanos(unit: &[u8]) -> Option<u64> {
    match unit {
        b"ns" => Some(1),
        // `us`, and U+00B5 MICRO SIGN or U+03BC GREEK SMALL LETTER MU followed by `s`.
        b"us" | [0xC2, 0xB5, b's'] | [0xCE, 0xBC, b's'] => Some(NANOS_PER_MICRO),
        b"ms" => Some(NANOS_PER_MILLI),
        b"s" => Some(NANOS_PER_SECOND),
        b"m" => Some(NANOS_PER_MINUTE),
        b"h" => Some(NANOS_PER_HOUR),
        _ => None,
    }
}

/// Consumes leading decimal digits; `None` on overflow past 2^63 (Go's `leadingInt`).
fn leading_int(s: &[u8]) -> Option<(u64, &[u8])> {
    let mut x: u64 = 0;
    let mut i = 0;
    while i < s.len() && s[i].is_ascii_digit() {
        if x > TWO_POW_63 / 10 {
            return None;
        }
        x = x * 10 + u64::from(s[i] - b'0');
        if x > TWO_POW_63 {
            return None;
        }
        i += 1;
    }
    Some((x, &s[i..]))
}

/// Consumes leading decimal digits of a fraction, silently dropping precision on overflow (Go's
/// `leadingFraction`).
fn leading_fraction(s: &[u8]) -> (u64, f64, &[u8]) {
    let mut x: u64 = 0;
    let mut scale = 1.0_f64;
    let mut overflow = false;
    let mut i = 0;
    while i < s.len() && s[i].is_ascii_digit() {
        if !overflow {
            if x > (TWO_POW_63 - 1) / 10 {
                overflow = true;
            } else {
                let y = x * 10 + u64::from(s[i] - b'0');
                if y > TWO_POW_63 {
                    overflow = true;
                } else {
                    x = y;
                    scale *= 10.0;
                }
            }
        }
        i += 1;
    }
    (x, scale, &s[i..])
}

/// Go's `time.quote`: ASCII printable characters as is (with `"` and `\` escaped), every byte of anything else
/// as `\xNN`.
fn go_time_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if u32::from(c) >= 0x80 || u32::from(c) < 0x20 {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                let _ = write!(out, "\\x{b:02x}");
            }
        } else {
            if c == '"' || c == '\\' {
                out.push('\\');
            }
            out.push(c);
        }
    }
    out.push('"');
    out
}

/// Writes the fractional digits of `v / 10^precision` (without trailing zeros, with a leading `.` if any) and
/// returns the integer part, like Go's `fmtFrac`.
fn split_fraction(v: u64, precision: u32) -> (u64, String) {
    let divisor = 10u64.pow(precision);
    let frac = v % divisor;
    if frac == 0 {
        return (v / divisor, String::new());
    }
    let digits = format!("{frac:0width$}", width = precision as usize);
    (v / divisor, format!(".{}", digits.trim_end_matches('0')))
}

impl fmt::Display for GoDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.nanos < 0 { "-" } else { "" };
        let u = self.nanos.unsigned_abs();
        if u < NANOS_PER_SECOND {
            if u == 0 {
                return f.write_str("0s");
            }
            let (precision, unit) = if u < NANOS_PER_MICRO {
                (0, "ns")
            } else if u < NANOS_PER_MILLI {
                (3, "µs")
            } else {
                (6, "ms")
            };
            let (int, frac) = split_fraction(u, precision);
            return write!(f, "{sign}{int}{frac}{unit}");
        }
        let (total_secs, frac) = split_fraction(u, 9);
        let secs = total_secs % 60;
        let total_mins = total_secs / 60;
        if total_mins == 0 {
            return write!(f, "{sign}{secs}{frac}s");
        }
        let mins = total_mins % 60;
        let hours = total_mins / 60;
        if hours == 0 {
            write!(f, "{sign}{mins}m{secs}{frac}s")
        } else {
            write!(f, "{sign}{hours}h{mins}m{secs}{frac}s")
        }
    }
}

impl FromStr for GoDuration {
    type Err = DurationParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl From<Duration> for GoDuration {
    /// Converts, saturating at Go's maximum duration (about 292 years).
    fn from(d: Duration) -> Self {
        Self {
            nanos: i64::try_from(d.as_nanos()).unwrap_or(i64::MAX),
        }
    }
}

impl Serialize for GoDuration {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for GoDuration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct DurationVisitor;

        impl Visitor<'_> for DurationVisitor {
            type Value = GoDuration;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(r#"a duration string such as "30s", "5m" or "1h30m""#)
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<GoDuration, E> {
                GoDuration::parse(v)
                    .map_err(|e| E::custom(format!("Invalid value: {}: {e}", go_json_string(v))))
            }
        }

        deserializer.deserialize_str(DurationVisitor)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    const S: i64 = 1_000_000_000;

    #[test]
    fn parses_like_go() {
        // (input, expected nanoseconds); expectations taken from Go's own time.ParseDuration table.
        let cases: &[(&str, i64)] = &[
            ("0", 0),
            ("5s", 5 * S),
            ("30s", 30 * S),
            ("1478s", 1478 * S),
            ("-5s", -5 * S),
            ("+5s", 5 * S),
            ("-0", 0),
            ("+0", 0),
            ("5.0s", 5 * S),
            ("5.6s", 5 * S + 600_000_000),
            ("5.s", 5 * S),
            (".5s", S / 2),
            ("1.0s", S),
            ("1.00s", S),
            ("1.004s", S + 4_000_000),
            ("1.0040s", S + 4_000_000),
            ("100.00100s", 100 * S + 1_000_000),
            ("10ns", 10),
            ("11us", 11_000),
            ("12µs", 12_000),
            ("12μs", 12_000),
            ("13ms", 13_000_000),
            ("14s", 14 * S),
            ("15m", 15 * 60 * S),
            ("16h", 16 * 3600 * S),
            ("3h30m", (3 * 3600 + 30 * 60) * S),
            ("10.5s4m", 4 * 60 * S + 10 * S + S / 2),
            ("-2m3.4s", -(2 * 60 * S + 3 * S + 400_000_000)),
            (
                "1h2m3s4ms5us6ns",
                3600 * S + 2 * 60 * S + 3 * S + 4_000_000 + 5_000 + 6,
            ),
            (
                "39h9m14.425s",
                39 * 3600 * S + 9 * 60 * S + 14 * S + 425_000_000,
            ),
            ("52763797000ns", 52_763_797_000),
            ("0.3333333333333333333h", 20 * 60 * S),
            ("9007199254740993ns", 9_007_199_254_740_993),
            ("9223372036854775807ns", i64::MAX),
            ("9223372036854775.807us", i64::MAX),
            ("9223372036s854ms775us807ns", i64::MAX),
            ("-9223372036854775808ns", i64::MIN),
            ("-9223372036854775.808us", i64::MIN),
            ("-2562047.7880152155h", -9_223_372_036_854_775_800),
            ("0.100000000000000000000h", 6 * 60 * S),
            (
                "0.830103483285477580700h",
                49 * 60 * S + 48 * S + 372_539_827,
            ),
        ];
        for &(input, nanos) in cases {
            let got = GoDuration::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(got.as_nanos(), nanos, "{input}");
        }
    }

    #[test]
    fn rejects_like_go() {
        let cases: &[(&str, &str)] = &[
            ("", r#"time: invalid duration """#),
            ("3", r#"time: missing unit in duration "3""#),
            ("-", r#"time: invalid duration "-""#),
            ("s", r#"time: invalid duration "s""#),
            (".", r#"time: invalid duration ".""#),
            ("-.", r#"time: invalid duration "-.""#),
            (".s", r#"time: invalid duration ".s""#),
            ("+.s", r#"time: invalid duration "+.s""#),
            ("1d", r#"time: unknown unit "d" in duration "1d""#),
            ("5x", r#"time: unknown unit "x" in duration "5x""#),
            ("1.5 h", r#"time: unknown unit " h" in duration "1.5 h""#),
            ("3000000h", r#"time: invalid duration "3000000h""#),
            (
                "9223372036854775808ns",
                r#"time: invalid duration "9223372036854775808ns""#,
            ),
            (
                "9223372036854775.808us",
                r#"time: invalid duration "9223372036854775.808us""#,
            ),
            (
                "9223372036854ms775us808ns",
                r#"time: invalid duration "9223372036854ms775us808ns""#,
            ),
            (
                "-9223372036854775809ns",
                r#"time: invalid duration "-9223372036854775809ns""#,
            ),
            ("1m 5s", r#"time: unknown unit "m " in duration "1m 5s""#),
            (
                "5é",
                r#"time: unknown unit "\xc3\xa9" in duration "5\xc3\xa9""#,
            ),
            (r#"5""#, r#"time: unknown unit "\"" in duration "5\"""#),
        ];
        for &(input, message) in cases {
            let err = GoDuration::parse(input).expect_err(input);
            assert_eq!(err.to_string(), message, "{input}");
        }
    }

    #[test]
    fn prints_like_go() {
        let cases: &[(i64, &str)] = &[
            (0, "0s"),
            (1, "1ns"),
            (1_100, "1.1µs"),
            (2_200_000, "2.2ms"),
            (3_300_000_000, "3.3s"),
            (4 * 60 * S + 5 * S, "4m5s"),
            (4 * 60 * S + 5 * S + 1_000_000, "4m5.001s"),
            (5 * 3600 * S + 6 * 60 * S + 7 * S + 1_000_000, "5h6m7.001s"),
            (8 * 60 * S + 1, "8m0.000000001s"),
            (30 * 60 * S, "30m0s"),
            (3600 * S, "1h0m0s"),
            (-S, "-1s"),
            (-90 * S, "-1m30s"),
            (-1_500_000, "-1.5ms"),
            (i64::MAX, "2562047h47m16.854775807s"),
            (i64::MIN, "-2562047h47m16.854775808s"),
        ];
        for &(nanos, text) in cases {
            assert_eq!(GoDuration::from_nanos(nanos).to_string(), text);
        }
    }

    #[test]
    fn round_trips_through_text() {
        for text in ["5m", "1h30m", "300ms", "10s", "-1s", "0s", "2h45m30.5s"] {
            let d = GoDuration::parse(text).unwrap();
            assert_eq!(GoDuration::parse(&d.to_string()).unwrap(), d, "{text}");
        }
    }

    #[test]
    fn converts_to_std() {
        assert_eq!(
            GoDuration::parse("1h30m").unwrap().to_std(),
            Some(Duration::from_mins(90))
        );
        assert_eq!(GoDuration::parse("-1s").unwrap().to_std(), None);
        assert_eq!(
            GoDuration::from(Duration::from_millis(300)).to_string(),
            "300ms"
        );
        assert_eq!(GoDuration::from_mins(30).to_string(), "30m0s");
        assert!(GoDuration::from_secs(-1).is_negative());
        assert!(GoDuration::ZERO.is_zero());
    }
}
