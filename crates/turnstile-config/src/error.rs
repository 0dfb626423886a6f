//! The error type and the steps shared by both file kinds (reading, YAML, `apiVersion`/`kind`).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::decode::{DecodeError, YamlError, yaml_to_json};
use crate::field::{BadValue, FieldError, FieldPath, go_quote};

/// Why a configuration file was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("reading {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The text is not valid YAML (the message names the line and column).
    #[error("YAML syntax error: {message}")]
    Syntax {
        /// The YAML parser's message, with position.
        message: String,
        /// 1-based line of the error, when known.
        line: Option<usize>,
        /// 1-based column of the error, when known.
        column: Option<usize>,
    },
    /// A value has the wrong type or cannot be parsed (duration, quantity); `path` names the field (empty: the
    /// document itself).
    #[error("{}", display_decode(path, message))]
    Decode {
        /// Field path, e.g. `waitForPodsReady.timeout`.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// The document decoded but failed validation (or has the wrong `apiVersion`/`kind`): every error found.
    #[error("{}", display_invalid(.0))]
    Invalid(Vec<FieldError>),
}

impl ConfigError {
    /// The validation errors, when this is [`ConfigError::Invalid`].
    pub fn field_errors(&self) -> &[FieldError] {
        match self {
            Self::Invalid(errs) => errs,
            _ => &[],
        }
    }
}

fn display_decode(path: &str, message: &str) -> String {
    if path.is_empty() {
        message.to_owned()
    } else {
        format!("{path}: {message}")
    }
}

fn display_invalid(errs: &[FieldError]) -> String {
    if let [one] = errs {
        return one.to_string();
    }
    let mut out = format!("invalid configuration ({} errors):", errs.len());
    for e in errs {
        let _ = write!(out, "\n  {e}");
    }
    out
}

impl From<DecodeError> for ConfigError {
    fn from(e: DecodeError) -> Self {
        Self::Decode {
            path: e.path.unwrap_or_default(),
            message: e.message,
        }
    }
}

pub(crate) fn read_file(path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
        path: path.to_owned(),
        source,
    })
}

/// Reads a YAML document into a JSON object (an empty document is an empty object).
pub(crate) fn read_yaml(text: &str) -> Result<Value, ConfigError> {
    let value = yaml_to_json(text).map_err(|e| match e {
        YamlError::Syntax(e) => {
            let location = e.location();
            ConfigError::Syntax {
                message: e.to_string(),
                line: location.as_ref().map(serde_yaml::Location::line),
                column: location.as_ref().map(serde_yaml::Location::column),
            }
        }
        YamlError::Structure(e) => e.into(),
    })?;
    match value {
        Value::Null => Ok(Value::Object(Map::new())),
        Value::Object(_) => Ok(value),
        other => Err(ConfigError::Decode {
            path: String::new(),
            message: format!(
                "the document must be a YAML mapping with apiVersion and kind, got {}",
                describe(&other)
            ),
        }),
    }
}

fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => format!("boolean `{b}`"),
        Value::Number(n) => format!("number `{n}`"),
        Value::String(s) => format!("string {}", go_quote(s)),
        Value::Array(_) => "a list".to_owned(),
        Value::Object(_) => "a mapping".to_owned(),
    }
}

/// Checks `apiVersion` and `kind`. `retired` lists other `apiVersion`s of the same kind with a hint.
pub(crate) fn header_errors(
    doc: &Value,
    api_version: &str,
    kind: &str,
    retired: &[(&str, &str)],
) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let mut check = |field: &str, expected: &str, retired: &[(&str, &str)]| {
        let path = FieldPath::new(field);
        match doc.get(field) {
            None | Some(Value::Null) => {
                errs.push(FieldError::required(
                    &path,
                    format!("must be {}", go_quote(expected)),
                ));
            }
            Some(Value::String(s)) if s.is_empty() => {
                errs.push(FieldError::required(
                    &path,
                    format!("must be {}", go_quote(expected)),
                ));
            }
            Some(Value::String(s)) if s == expected => {}
            Some(Value::String(s)) => match retired.iter().find(|(old, _)| old == s) {
                Some((_, hint)) => errs.push(FieldError::invalid(&path, BadValue::str(s), *hint)),
                None => errs.push(FieldError::not_supported(
                    &path,
                    BadValue::str(s),
                    &[expected],
                )),
            },
            Some(other) => errs.push(FieldError::invalid(
                &path,
                BadValue::json(other),
                "must be a string",
            )),
        }
    };
    check("apiVersion", api_version, retired);
    check("kind", kind, &[]);
    errs
}
