//! Kubernetes-style field paths and field errors (`waitForPodsReady.timeout: Invalid value: "-1s": …`).
//!
//! The rendering follows apimachinery's `field.Error`: `<path>: <type>[: <value>][: <detail>]`, where the value of
//! a string is Go-quoted and the value of anything else is its JSON encoding.

use std::fmt::{self, Write as _};

use serde::Serialize;

/// A field path as Kubernetes prints it: `a.b[0].c`, map keys as `m[key]`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct FieldPath(String);

impl FieldPath {
    /// A path starting at a top-level field.
    pub(crate) fn new(name: &str) -> Self {
        Self(name.to_owned())
    }

    /// A path made of several nested field names.
    pub(crate) fn of(names: &[&str]) -> Self {
        let mut path = Self::default();
        for name in names {
            path = path.child(name);
        }
        path
    }

    /// `self.name`.
    pub(crate) fn child(&self, name: &str) -> Self {
        if self.0.is_empty() {
            Self(name.to_owned())
        } else {
            Self(format!("{}.{name}", self.0))
        }
    }

    /// `self[index]`.
    pub(crate) fn index(&self, index: usize) -> Self {
        Self(format!("{}[{index}]", self.0))
    }

    /// `self[key]`.
    pub(crate) fn key(&self, key: &str) -> Self {
        Self(format!("{}[{key}]", self.0))
    }

    /// The path as text.
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The kind of a field error, as in apimachinery's `field.ErrorType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldErrorType {
    /// `Invalid value`: a malformed or out-of-range value.
    Invalid,
    /// `Unsupported value`: a value outside an enumeration.
    NotSupported,
    /// `Required value`: a missing value.
    Required,
    /// `Duplicate value`: a value that must be unique.
    Duplicate,
    /// `Forbidden`: a value not allowed in this combination.
    Forbidden,
    /// `Too many`: a list with too many items.
    TooMany,
    /// `Too long`: a value longer than allowed.
    TooLong,
}

impl FieldErrorType {
    /// The text Kubernetes prints for this kind.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Invalid => "Invalid value",
            Self::NotSupported => "Unsupported value",
            Self::Required => "Required value",
            Self::Duplicate => "Duplicate value",
            Self::Forbidden => "Forbidden",
            Self::TooMany => "Too many",
            Self::TooLong => "Too long",
        }
    }

    /// Whether Kubernetes prints the offending value for this kind.
    fn shows_value(self) -> bool {
        matches!(
            self,
            Self::Invalid | Self::NotSupported | Self::Duplicate | Self::TooMany
        )
    }
}

/// One validation error on one field, printed exactly like Kubernetes prints a `field.Error`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// What is wrong.
    pub error_type: FieldErrorType,
    /// The field path, e.g. `waitForPodsReady.timeout` or `resources.transformations[1].input`.
    pub field: String,
    /// The offending value as printed (Go-quoted string or JSON), when the kind prints one.
    pub bad_value: Option<String>,
    /// The explanation, e.g. `must be greater than or equal to 0` (may be empty).
    pub detail: String,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.error_type.as_str())?;
        if self.error_type.shows_value()
            && let Some(value) = &self.bad_value
        {
            write!(f, ": {value}")?;
        }
        if !self.detail.is_empty() {
            write!(f, ": {}", self.detail)?;
        }
        Ok(())
    }
}

impl std::error::Error for FieldError {}

/// An offending value, rendered the way apimachinery renders `BadValue`.
#[derive(Debug, Clone)]
pub(crate) enum BadValue {
    /// A Go `string`: printed with `%q`.
    Str(String),
    /// A Go integer: printed plainly.
    Int(i64),
    /// A Go bool: printed plainly.
    Bool(bool),
    /// Any other Go value: printed as its JSON encoding (already rendered).
    Json(String),
}

impl BadValue {
    /// A string value (printed Go-quoted).
    pub(crate) fn str(s: &str) -> Self {
        Self::Str(s.to_owned())
    }

    /// A value printed as its JSON encoding (Go `json.Marshal`).
    pub(crate) fn json<T: Serialize + ?Sized>(value: &T) -> Self {
        Self::Json(go_json(value))
    }

    fn render(&self) -> String {
        match self {
            Self::Str(s) => go_quote(s),
            Self::Int(i) => i.to_string(),
            Self::Bool(b) => b.to_string(),
            Self::Json(j) => j.clone(),
        }
    }
}

impl FieldError {
    fn new(
        error_type: FieldErrorType,
        path: &FieldPath,
        value: Option<BadValue>,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            error_type,
            field: path.as_str().to_owned(),
            bad_value: value.map(|v| v.render()),
            detail: detail.into(),
        }
    }

    /// `field.Invalid`.
    pub(crate) fn invalid(path: &FieldPath, value: BadValue, detail: impl Into<String>) -> Self {
        Self::new(FieldErrorType::Invalid, path, Some(value), detail)
    }

    /// `field.NotSupported`: lists the supported values, each quoted.
    pub(crate) fn not_supported<S: AsRef<str>>(
        path: &FieldPath,
        value: BadValue,
        supported: &[S],
    ) -> Self {
        let detail = if supported.is_empty() {
            String::new()
        } else {
            let quoted: Vec<String> = supported.iter().map(|s| go_quote(s.as_ref())).collect();
            format!("supported values: {}", quoted.join(", "))
        };
        Self::new(FieldErrorType::NotSupported, path, Some(value), detail)
    }

    /// `field.Required`.
    pub(crate) fn required(path: &FieldPath, detail: impl Into<String>) -> Self {
        Self::new(FieldErrorType::Required, path, None, detail)
    }

    /// `field.Duplicate`.
    pub(crate) fn duplicate(path: &FieldPath, value: BadValue) -> Self {
        Self::new(FieldErrorType::Duplicate, path, Some(value), "")
    }

    /// `field.Forbidden`.
    pub(crate) fn forbidden(path: &FieldPath, detail: impl Into<String>) -> Self {
        Self::new(FieldErrorType::Forbidden, path, None, detail)
    }

    /// `field.TooMany`.
    pub(crate) fn too_many(path: &FieldPath, actual: usize, max: usize) -> Self {
        let noun = if max == 1 { "item" } else { "items" };
        Self::new(
            FieldErrorType::TooMany,
            path,
            Some(BadValue::Int(i64::try_from(actual).unwrap_or(i64::MAX))),
            format!("must have at most {max} {noun}"),
        )
    }

    /// `field.TooLong` (byte length).
    pub(crate) fn too_long(path: &FieldPath, max: usize) -> Self {
        let noun = if max == 1 { "byte" } else { "bytes" };
        Self::new(
            FieldErrorType::TooLong,
            path,
            None,
            format!("may not be more than {max} {noun}"),
        )
    }
}

/// Go's `strconv.Quote` (what `%q` prints) for the characters a configuration file can reasonably hold.
pub(crate) fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if u32::from(c) < 0x20 || c == '\u{7f}' => {
                let _ = write!(out, "\\x{:02x}", u32::from(c));
            }
            c if c.is_control() => {
                let code = u32::from(c);
                if code <= 0xFFFF {
                    let _ = write!(out, "\\u{code:04x}");
                } else {
                    let _ = write!(out, "\\U{code:08x}");
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Go's `json.Marshal` output for a value: compact JSON with `<`, `>`, `&`, U+2028 and U+2029 escaped.
pub(crate) fn go_json<T: Serialize + ?Sized>(value: &T) -> String {
    let json = serde_json::to_string(value).unwrap_or_default();
    go_html_escape(&json)
}

/// A JSON string literal as Go's encoder writes it.
pub(crate) fn go_json_string(s: &str) -> String {
    go_json(s)
}

fn go_html_escape(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

/// Go's `%v`/JSON rendering of a float64: integral values without a fractional part.
pub(crate) fn go_float(value: f64) -> String {
    // Rust's `Display` for floats prints the shortest representation that round-trips and omits `.0`,
    // which is what Go prints for the magnitudes a configuration holds.
    format!("{value}")
}

/// Removes repeated errors, keeping the first occurrence (what `ErrorList.ToAggregate` does).
pub(crate) fn dedup(errors: Vec<FieldError>) -> Vec<FieldError> {
    let mut seen = std::collections::HashSet::new();
    errors
        .into_iter()
        .filter(|e| seen.insert(e.to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    #[test]
    fn paths_render_like_kubernetes() {
        let p = FieldPath::new("resources")
            .child("transformations")
            .index(2)
            .child("outputs")
            .key("example.com/gpu");
        assert_eq!(
            p.as_str(),
            "resources.transformations[2].outputs[example.com/gpu]"
        );
        assert_eq!(FieldPath::of(&["a", "b"]).as_str(), "a.b");
    }

    #[test]
    fn errors_render_like_kubernetes() {
        let p = FieldPath::of(&["waitForPodsReady", "timeout"]);
        assert_eq!(
            FieldError::invalid(
                &p,
                BadValue::str("-1s"),
                "must be greater than or equal to 0"
            )
            .to_string(),
            r#"waitForPodsReady.timeout: Invalid value: "-1s": must be greater than or equal to 0"#
        );
        assert_eq!(
            FieldError::required(&p, "must be specified").to_string(),
            "waitForPodsReady.timeout: Required value: must be specified"
        );
        assert_eq!(
            FieldError::not_supported(&p, BadValue::str("x"), &["A", "B"]).to_string(),
            r#"waitForPodsReady.timeout: Unsupported value: "x": supported values: "A", "B""#
        );
        assert_eq!(
            FieldError::duplicate(&p, BadValue::str("cpu")).to_string(),
            r#"waitForPodsReady.timeout: Duplicate value: "cpu""#
        );
        assert_eq!(
            FieldError::forbidden(&p, "nope").to_string(),
            "waitForPodsReady.timeout: Forbidden: nope"
        );
        assert_eq!(
            FieldError::too_many(&p, 17, 16).to_string(),
            "waitForPodsReady.timeout: Too many: 17: must have at most 16 items"
        );
        assert_eq!(
            FieldError::too_long(&p, 63).to_string(),
            "waitForPodsReady.timeout: Too long: may not be more than 63 bytes"
        );
        assert_eq!(
            FieldError::invalid(&p, BadValue::json(&["a<b"]), "x").to_string(),
            r#"waitForPodsReady.timeout: Invalid value: ["a\u003cb"]: x"#
        );
    }

    #[test]
    fn go_quote_escapes() {
        assert_eq!(go_quote("a\"b\\c\n\u{1}é"), r#""a\"b\\c\n\x01é""#);
        assert_eq!(go_float(-1.0), "-1");
        assert_eq!(go_float(0.5), "0.5");
    }

    #[test]
    fn dedup_keeps_first() {
        let p = FieldPath::new("a");
        let e1 = FieldError::required(&p, "x");
        let e2 = FieldError::required(&p, "y");
        let out = dedup(vec![e1.clone(), e2.clone(), e1.clone()]);
        assert_eq!(out, vec![e1, e2]);
    }
}
