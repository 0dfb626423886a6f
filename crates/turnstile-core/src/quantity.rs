//! Resource quantities in exact integer arithmetic.
//!
//! A [`Quantity`] holds a Kubernetes quantity (`"500m"`, `"4Gi"`, `"1.5"`, `"2e3"`) as a whole number of
//! nano-units (10^-9) in an `i128`, so sums and comparisons are exact and the smallest quantity
//! Kubernetes can express (`1n`) is representable. Parsing follows the apiserver's grammar; a value
//! with finer precision than `1n` is rounded up, as Kubernetes rounds up; a value beyond what
//! Kubernetes can hold (2^63-1 units) is an error, never a panic or a wrap-around.

use std::fmt;

/// Nano-units per unit.
const NANO: i128 = 1_000_000_000;
/// Largest magnitude accepted, in nano-units: Kubernetes caps quantities at 2^63-1 units.
const MAX_NANOS: i128 = (i64::MAX as i128) * NANO;

/// An exact resource quantity.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Quantity {
    nanos: i128,
}

/// Why a quantity could not be parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum QuantityError {
    /// The text does not follow the quantity grammar.
    Syntax(String),
    /// The value is larger than Kubernetes can represent.
    TooLarge(String),
}

impl fmt::Display for QuantityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Syntax(s) => write!(
                f,
                "quantity {s:?} does not match the expected format (e.g. 500m, 2, 1.5Gi, 1e3)"
            ),
            Self::TooLarge(s) => write!(f, "quantity {s:?} is too large (at most 2^63-1)"),
        }
    }
}

impl std::error::Error for QuantityError {}

impl Quantity {
    /// Zero.
    pub const ZERO: Quantity = Quantity { nanos: 0 };

    /// A quantity of `n` whole units.
    pub fn from_units(n: i64) -> Self {
        Self {
            nanos: i128::from(n) * NANO,
        }
    }

    /// A quantity of `n` milli-units.
    pub fn from_millis(n: i64) -> Self {
        Self {
            nanos: i128::from(n) * 1_000_000,
        }
    }

    /// The value in nano-units.
    pub fn nanos(self) -> i128 {
        self.nanos
    }

    /// The value in milli-units, rounded up (as Kubernetes' `MilliValue`).
    pub fn millis_ceil(self) -> i128 {
        ceil_div(self.nanos, 1_000_000)
    }

    /// The value in whole units, rounded up (as Kubernetes' `Value`).
    pub fn units_ceil(self) -> i128 {
        ceil_div(self.nanos, NANO)
    }

    /// Whether the quantity is below zero.
    pub fn is_negative(self) -> bool {
        self.nanos < 0
    }

    /// Whether the quantity is zero.
    pub fn is_zero(self) -> bool {
        self.nanos == 0
    }

    /// Sum, or `None` beyond the representable range.
    pub fn checked_add(self, other: Self) -> Option<Self> {
        self.nanos
            .checked_add(other.nanos)
            .map(|nanos| Self { nanos })
    }

    /// Difference, or `None` beyond the representable range.
    pub fn checked_sub(self, other: Self) -> Option<Self> {
        self.nanos
            .checked_sub(other.nanos)
            .map(|nanos| Self { nanos })
    }

    /// Sum saturating at the representable range.
    #[must_use]
    pub fn saturating_add(self, other: Self) -> Self {
        Self {
            nanos: self.nanos.saturating_add(other.nanos),
        }
    }

    /// Difference saturating at the representable range.
    #[must_use]
    pub fn saturating_sub(self, other: Self) -> Self {
        Self {
            nanos: self.nanos.saturating_sub(other.nanos),
        }
    }

    /// Product with a count, or `None` beyond the representable range.
    pub fn checked_mul(self, n: i64) -> Option<Self> {
        self.nanos
            .checked_mul(i128::from(n))
            .map(|nanos| Self { nanos })
    }

    /// Product of two quantities (`2 × 500m = 1`), saturating at the representable range; below a
    /// nano-unit the product is truncated.
    #[must_use]
    pub fn saturating_mul_quantity(self, other: Self) -> Self {
        let nanos = self
            .nanos
            .checked_mul(other.nanos)
            .map_or_else(
                || {
                    // Too large for the exact product: scale first.
                    (self.nanos / NANO).saturating_mul(other.nanos)
                },
                |p| p / NANO,
            )
            .clamp(-MAX_NANOS, MAX_NANOS);
        Self { nanos }
    }

    /// Whether the quantity is an exact multiple of `n` (n > 0): `n` equal shares with no remainder.
    pub fn divisible_by(self, n: i64) -> bool {
        n > 0 && self.nanos % i128::from(n) == 0
    }

    /// Parses a quantity in Kubernetes' syntax.
    pub fn parse(text: &str) -> Result<Self, QuantityError> {
        parse(text)
    }
}

fn ceil_div(a: i128, b: i128) -> i128 {
    let q = a.div_euclid(b);
    if a.rem_euclid(b) == 0 { q } else { q + 1 }
}

impl std::str::FromStr for Quantity {
    type Err = QuantityError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse(s)
    }
}

impl fmt::Display for Quantity {
    /// Writes the quantity in decimal units with the smallest exact suffix among `""`, `m`, `u`, `n`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.nanos;
        if n % NANO == 0 {
            write!(f, "{}", n / NANO)
        } else if n % 1_000_000 == 0 {
            write!(f, "{}m", n / 1_000_000)
        } else if n % 1_000 == 0 {
            write!(f, "{}u", n / 1_000)
        } else {
            write!(f, "{n}n")
        }
    }
}

/// Scale of a suffix: a power of 10 (decimal) or of 2 (binary).
enum Scale {
    Pow10(i32),
    Pow2(u32),
}

fn suffix_scale(suffix: &str) -> Option<Scale> {
    Some(match suffix {
        "" => Scale::Pow10(0),
        "n" => Scale::Pow10(-9),
        "u" => Scale::Pow10(-6),
        "m" => Scale::Pow10(-3),
        "k" => Scale::Pow10(3),
        "M" => Scale::Pow10(6),
        "G" => Scale::Pow10(9),
        "T" => Scale::Pow10(12),
        "P" => Scale::Pow10(15),
        "E" => Scale::Pow10(18),
        "Ki" => Scale::Pow2(10),
        "Mi" => Scale::Pow2(20),
        "Gi" => Scale::Pow2(30),
        "Ti" => Scale::Pow2(40),
        "Pi" => Scale::Pow2(50),
        "Ei" => Scale::Pow2(60),
        _ => return None,
    })
}

fn parse(text: &str) -> Result<Quantity, QuantityError> {
    let syntax = || QuantityError::Syntax(text.chars().take(64).collect());
    let too_large = || QuantityError::TooLarge(text.chars().take(64).collect());
    let s = text.trim();
    if s.is_empty() || s.len() > 128 {
        return Err(syntax());
    }
    let (negative, rest) = match s.as_bytes()[0] {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    // number: digits [. digits] | . digits
    let num_end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(rest.len());
    let (number, suffix) = rest.split_at(num_end);
    let (int_part, frac_part) = number.split_once('.').unwrap_or((number, ""));
    if (int_part.is_empty() && frac_part.is_empty()) || frac_part.contains('.') {
        return Err(syntax());
    }
    // A known suffix (`E`, `Ei`...) first; otherwise `e`/`E` starts an exponent.
    let scale = if let Some(scale) = suffix_scale(suffix) {
        scale
    } else {
        let exp = suffix
            .strip_prefix(['e', 'E'])
            .and_then(parse_exponent)
            .ok_or_else(syntax)?;
        Scale::Pow10(exp)
    };
    // Mantissa as an integer and a decimal exponent: number = digits * 10^-frac_len.
    let digits = format!("{int_part}{frac_part}");
    let digits = digits.trim_start_matches('0');
    if digits.len() > 60 {
        return Err(too_large());
    }
    let mantissa: i128 = if digits.is_empty() {
        0
    } else {
        digits.parse().map_err(|_| too_large())?
    };
    let frac_len = i32::try_from(frac_part.len()).map_err(|_| syntax())?;
    // value in nanos = mantissa * 10^(9 - frac_len) * scale, rounded up in magnitude.
    let nanos = match scale {
        Scale::Pow10(e) => scale_pow10(mantissa, e + 9 - frac_len),
        Scale::Pow2(p) => {
            let m = mantissa.checked_mul(1i128 << p);
            m.and_then(|m| scale_pow10(m, 9 - frac_len))
        }
    }
    .ok_or_else(too_large)?;
    if nanos > MAX_NANOS {
        return Err(too_large());
    }
    Ok(Quantity {
        nanos: if negative { -nanos } else { nanos },
    })
}

fn parse_exponent(s: &str) -> Option<i32> {
    let (neg, digits) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || digits.len() > 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let v: i32 = digits.parse().ok()?;
    Some(if neg { -v } else { v })
}

/// `m * 10^e` for a non-negative `m`, rounding up when `e < 0`; `None` on overflow.
fn scale_pow10(m: i128, e: i32) -> Option<i128> {
    if m == 0 {
        return Some(0);
    }
    if e >= 0 {
        let p = 10i128.checked_pow(u32::try_from(e).ok()?)?;
        m.checked_mul(p)
    } else {
        let d = u32::try_from(-e).ok()?;
        if d > 38 {
            return Some(1); // any positive value smaller than 1n rounds up to 1n
        }
        let p = 10i128.pow(d);
        Some(ceil_div(m, p))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &str) -> Quantity {
        Quantity::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn parses_the_kubernetes_forms() {
        let cases: &[(&str, i128)] = &[
            ("0", 0),
            ("1", NANO),
            ("+2", 2 * NANO),
            ("-3", -3 * NANO),
            ("500m", NANO / 2),
            ("1.5", 3 * NANO / 2),
            (".5", NANO / 2),
            ("5.", 5 * NANO),
            ("1n", 1),
            ("250u", 250_000),
            ("2k", 2_000 * NANO),
            ("4Gi", 4 * (1 << 30) * NANO),
            ("1.5Gi", 3 * (1 << 29) * NANO),
            ("1Ki", 1024 * NANO),
            ("1e3", 1_000 * NANO),
            ("1E-3", NANO / 1_000),
            ("12e+2", 1_200 * NANO),
            ("0.0001n", 1),
            ("100M", 100_000_000 * NANO),
        ];
        for (text, nanos) in cases {
            assert_eq!(q(text).nanos(), *nanos, "{text}");
        }
    }

    #[test]
    fn rejects_bad_syntax_with_a_clear_error() {
        for bad in [
            "", "abc", "1x", "1.2.3", "--1", "1e", "1e+", "Gi", ".", "1 Gi", "1ki", "1e99999", "١",
        ] {
            match Quantity::parse(bad) {
                Err(QuantityError::Syntax(_) | QuantityError::TooLarge(_)) => {}
                Ok(v) => panic!("{bad:?} parsed as {v}"),
            }
        }
        assert!(
            Quantity::parse("ten")
                .unwrap_err()
                .to_string()
                .contains("expected format")
        );
    }

    #[test]
    fn huge_values_are_errors_not_panics() {
        for big in [
            "9223372036854775808",
            "10E",
            "100Ei",
            "1e19",
            "99999999999999999999999999999999999999999999999999999",
        ] {
            assert!(
                matches!(Quantity::parse(big), Err(QuantityError::TooLarge(_))),
                "{big}"
            );
        }
        assert_eq!(q("9223372036854775807").units_ceil(), i128::from(i64::MAX));
        assert_eq!(q("7Ei").units_ceil(), 7 * (1i128 << 60));
    }

    #[test]
    fn arithmetic_and_rounding() {
        assert_eq!(q("1").checked_add(q("500m")), Some(q("1.5")));
        assert_eq!(q("1").checked_sub(q("1500m")), Some(q("-500m")));
        assert_eq!(q("1500m").checked_mul(3), Some(q("4.5")));
        assert_eq!(q("1n").millis_ceil(), 1);
        assert_eq!(q("1001m").units_ceil(), 2);
        assert_eq!(q("-1500m").units_ceil(), -1);
        assert!(q("3").divisible_by(3));
        assert!(!q("1").divisible_by(3));
        assert!(!q("1").divisible_by(0));
        assert!(q("500m") < q("1"));
        assert_eq!(q("1.5").to_string(), "1500m");
        assert_eq!(q("2k").to_string(), "2000");
        assert_eq!(q("1n").to_string(), "1n");
    }
}
