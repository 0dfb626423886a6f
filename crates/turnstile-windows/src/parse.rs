//! The two string formats of a window: a local clock time and an elapsed duration.

use jiff::civil;

/// Parses `HH:MM` or `HH:MM:SS` (24-hour clock, two digits each, `00:00` to `23:59:59`).
pub(crate) fn clock(text: &str) -> Option<civil::Time> {
    let bytes = text.as_bytes();
    let two = |at: usize| -> Option<i8> {
        let hi = bytes.get(at).copied().filter(u8::is_ascii_digit)?;
        let lo = bytes.get(at + 1).copied().filter(u8::is_ascii_digit)?;
        i8::try_from((hi - b'0') * 10 + (lo - b'0')).ok()
    };
    let hour = two(0)?;
    if bytes.get(2) != Some(&b':') {
        return None;
    }
    let minute = two(3)?;
    let second = match bytes.len() {
        5 => 0,
        8 if bytes.get(5) == Some(&b':') => two(6)?,
        _ => return None,
    };
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    civil::Time::new(hour, minute, second, 0).ok()
}

/// Parses `([0-9]+h)?([0-9]+m)?([0-9]+s)?` into seconds. `None` when the text does not match;
/// a number too large for the arithmetic saturates (and is then rejected as too long).
pub(crate) fn duration_seconds(text: &str) -> Option<u64> {
    let mut total: u64 = 0;
    // The units must come in this order, each at most once.
    let mut units: &[(u8, u64)] = &[(b'h', 3600), (b'm', 60), (b's', 1)];
    let mut rest = text.as_bytes();
    while !rest.is_empty() {
        let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        if digits == 0 {
            return None;
        }
        let (number, tail) = rest.split_at(digits);
        let (&unit, tail) = tail.split_first()?;
        let at = units.iter().position(|&(u, _)| u == unit)?;
        let factor = units.get(at)?.1;
        units = units.get(at + 1..)?;
        let value = number.iter().fold(0u64, |acc, d| {
            acc.saturating_mul(10).saturating_add(u64::from(d - b'0'))
        });
        total = total.saturating_add(value.saturating_mul(factor));
        rest = tail;
    }
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_times() {
        let ok = [
            ("00:00", (0, 0, 0)),
            ("23:59", (23, 59, 0)),
            ("06:30:15", (6, 30, 15)),
            ("23:59:59", (23, 59, 59)),
        ];
        for (text, (h, m, s)) in ok {
            assert_eq!(clock(text), civil::Time::new(h, m, s, 0).ok(), "{text}");
        }
        for bad in [
            "",
            "6:00",
            "24:00",
            "12:60",
            "12:00:60",
            "12:00:",
            "12-00",
            "12:00:00:00",
            "1200",
            " 12:00",
            "12:0a",
            "+1:00",
            "12:00:5",
        ] {
            assert_eq!(clock(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn durations() {
        let ok = [
            ("90m", 5400),
            ("48h", 172_800),
            ("1h30m", 5400),
            ("20s", 20),
            ("1h1m1s", 3661),
            ("0h", 0),
            ("", 0),
            ("168h", 604_800),
            ("99999999999999999999999h", u64::MAX),
        ];
        for (text, secs) in ok {
            assert_eq!(duration_seconds(text), Some(secs), "{text}");
        }
        for bad in [
            "1", "h", "1m1h", "1h1h", "1d", "1.5h", "-1h", "1H", " 1h", "1h ",
        ] {
            assert_eq!(duration_seconds(bad), None, "{bad:?}");
        }
    }
}
