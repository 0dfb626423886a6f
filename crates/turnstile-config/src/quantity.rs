//! Kubernetes resource quantities (`500m`, `5Gi`, `1e3`, `4`), validated with the grammar and error texts of
//! apimachinery's `resource.ParseQuantity` and kept as written.

use std::fmt;
use std::str::FromStr;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::field::go_json_string;

/// A valid Kubernetes quantity, kept exactly as written (surrounding spaces trimmed).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Quantity(String);

/// Why a quantity is not valid; prints apimachinery's error text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuantityError {
    /// The text does not have the shape `<sign><digits>[.<digits>]<suffix>`.
    FormatWrong,
    /// The suffix is neither a decimal SI, a binary SI nor an exponent suffix.
    Suffix,
}

impl fmt::Display for QuantityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::FormatWrong => f.write_str(
                "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
            ),
            Self::Suffix => f.write_str("unable to parse quantity's suffix"),
        }
    }
}

impl std::error::Error for QuantityError {}

impl Quantity {
    /// Validates `text` (after trimming spaces) as a Kubernetes quantity.
    pub fn parse(text: &str) -> Result<Self, QuantityError> {
        let text = text.trim();
        check(text)?;
        Ok(Self(text.to_owned()))
    }

    /// The quantity as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Quantity {
    type Err = QuantityError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// Checks the grammar the way `parseQuantityString` + the suffix lookup do.
fn check(s: &str) -> Result<(), QuantityError> {
    if s.is_empty() {
        return Err(QuantityError::FormatWrong);
    }
    if s == "0" {
        return Ok(());
    }
    let suffix = split_suffix(s.as_bytes())?;
    if suffix_is_known(suffix) {
        Ok(())
    } else {
        Err(QuantityError::Suffix)
    }
}

/// Walks sign, digits, fraction and suffix; returns the suffix bytes.
fn split_suffix(b: &[u8]) -> Result<&[u8], QuantityError> {
    let end = b.len();
    let mut pos = 0;
    if matches!(b.first(), Some(b'-' | b'+')) {
        pos += 1;
    }
    // Leading zeros; only zeros (or nothing) after the sign is the number zero.
    while pos < end && b[pos] == b'0' {
        pos += 1;
    }
    if pos >= end {
        return Ok(&[]);
    }
    // Integer digits.
    while pos < end && b[pos].is_ascii_digit() {
        pos += 1;
    }
    if pos >= end {
        return Ok(&[]);
    }
    // Fraction digits (an empty fraction such as `1.` is accepted, as in apimachinery).
    if b[pos] == b'.' {
        pos += 1;
        while pos < end && b[pos].is_ascii_digit() {
            pos += 1;
        }
        if pos >= end {
            return Ok(&[]);
        }
    }
    let suffix_start = pos;
    while pos < end && b"eEinumkKMGTP".contains(&b[pos]) {
        pos += 1;
    }
    if pos >= end {
        return Ok(&b[suffix_start..]);
    }
    if b[pos] == b'-' || b[pos] == b'+' {
        pos += 1;
    }
    while pos < end && b[pos].is_ascii_digit() {
        pos += 1;
    }
    if pos >= end {
        Ok(&b[suffix_start..])
    } else {
        Err(QuantityError::FormatWrong)
    }
}

fn suffix_is_known(suffix: &[u8]) -> bool {
    const DECIMAL: [&[u8]; 10] = [b"", b"n", b"u", b"m", b"k", b"M", b"G", b"T", b"P", b"E"];
    const BINARY: [&[u8]; 6] = [b"Ki", b"Mi", b"Gi", b"Ti", b"Pi", b"Ei"];
    if DECIMAL.contains(&suffix) || BINARY.contains(&suffix) {
        return true;
    }
    // An exponent: `e`/`E` followed by a base-10 int64 (optionally signed).
    if suffix.len() > 1 && (suffix[0] == b'e' || suffix[0] == b'E') {
        return std::str::from_utf8(&suffix[1..])
            .ok()
            .and_then(|exp| exp.parse::<i64>().ok())
            .is_some();
    }
    false
}

impl Serialize for Quantity {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Quantity {
    /// Accepts a string or a number (as Kubernetes does); `null` is the zero quantity.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct QuantityVisitor;

        impl QuantityVisitor {
            fn from_text<E: de::Error>(text: &str) -> Result<Quantity, E> {
                Quantity::parse(text)
                    .map_err(|e| E::custom(format!("Invalid value: {}: {e}", go_json_string(text))))
            }
        }

        impl Visitor<'_> for QuantityVisitor {
            type Value = Quantity;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(r#"a quantity such as "500m", "4" or "5Gi""#)
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Quantity, E> {
                Self::from_text(v)
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Quantity, E> {
                Self::from_text(&v.to_string())
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Quantity, E> {
                Self::from_text(&v.to_string())
            }

            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Quantity, E> {
                Self::from_text(&v.to_string())
            }

            fn visit_unit<E: de::Error>(self) -> Result<Quantity, E> {
                Ok(Quantity("0".to_owned()))
            }
        }

        deserializer.deserialize_any(QuantityVisitor)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    #[test]
    fn accepts_valid_quantities() {
        for q in [
            "0",
            "00",
            "1",
            "500m",
            "5Gi",
            "4",
            "1.5",
            "1.5Gi",
            "1.",
            ".5",
            "+1",
            "-1",
            "1e3",
            "1E3",
            "1e+3",
            "1e-3",
            "100Mi",
            "2Ki",
            "3Ti",
            "4Pi",
            "5Ei",
            "6k",
            "7M",
            "8G",
            "9T",
            "10P",
            "11E",
            "12n",
            "13u",
            "0.5m",
            "-",
            "+",
            "0Gi",
            "Gi",
            ".",
            "-.",
            ".Ki",
            "-.5Ki",
            "99999999999999999999999",
            "0.000000000000000000001",
        ] {
            assert!(Quantity::parse(q).is_ok(), "{q}");
        }
        assert_eq!(Quantity::parse(" 5Gi ").unwrap().as_str(), "5Gi");
    }

    #[test]
    fn rejects_invalid_quantities() {
        let cases: &[(&str, QuantityError)] = &[
            ("", QuantityError::FormatWrong),
            ("5Gx", QuantityError::FormatWrong),
            ("5 Gi", QuantityError::FormatWrong),
            ("5gi", QuantityError::FormatWrong),
            ("5Mm", QuantityError::Suffix),
            ("5K", QuantityError::Suffix),
            ("5e", QuantityError::Suffix),
            ("5e99999999999999999999", QuantityError::Suffix),
            ("1.2.3", QuantityError::FormatWrong),
            ("abc", QuantityError::FormatWrong),
            ("1i", QuantityError::Suffix),
            ("1Gi5", QuantityError::Suffix),
            ("5e3e", QuantityError::FormatWrong),
            ("1mi", QuantityError::Suffix),
            ("1.5e", QuantityError::Suffix),
        ];
        for &(q, err) in cases {
            assert_eq!(Quantity::parse(q), Err(err), "{q}");
        }
        assert_eq!(
            QuantityError::FormatWrong.to_string(),
            "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
        );
    }
}
