//! Field-pathed validation errors.

use std::fmt;

/// A problem with one field of a `TimeWindowPolicySpec`, addressed by its JSON path
/// (`spec.windows[1].start`, `spec.timeZone`) so that it can be shown to the user as is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    /// JSON path of the field, from `spec` (`spec.exclusions[0].to`).
    pub path: String,
    /// What is wrong, written for the user.
    pub message: String,
}

impl FieldError {
    /// An error at `path`.
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> FieldError {
        FieldError {
            path: path.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

impl std::error::Error for FieldError {}
