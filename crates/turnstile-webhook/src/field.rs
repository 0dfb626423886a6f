//! Field-pathed validation errors, rendered the way the apiserver renders its own
//! (`spec.resourceGroups[0].flavors[1].name: Duplicate value: "spot"`).

use std::fmt;

/// A path to a field: `spec.podSets[0].name`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Path(String);

impl Path {
    /// A path starting at `root`.
    pub fn new(root: &str) -> Self {
        Self(root.to_owned())
    }

    /// The path of a child field.
    #[must_use]
    pub fn child(&self, name: &str) -> Self {
        if self.0.is_empty() {
            Self(name.to_owned())
        } else {
            Self(format!("{}.{name}", self.0))
        }
    }

    /// The path of a list item.
    #[must_use]
    pub fn index(&self, i: usize) -> Self {
        Self(format!("{}[{i}]", self.0))
    }

    /// The path of a map entry.
    #[must_use]
    pub fn key(&self, k: &str) -> Self {
        Self(format!("{}[{k}]", self.0))
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What is wrong with a field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    /// The value is not allowed.
    Invalid(String),
    /// The value must be set.
    Required,
    /// The field may not be set or changed.
    Forbidden,
    /// The value appears twice.
    Duplicate(String),
    /// The value is not one of the supported ones.
    NotSupported(String, Vec<String>),
}

/// One validation error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    /// Where.
    pub path: Path,
    /// What.
    pub kind: Kind,
    /// Why, for a person.
    pub detail: String,
}

impl FieldError {
    /// An invalid value.
    pub fn invalid(path: &Path, value: impl fmt::Display, detail: impl Into<String>) -> Self {
        Self {
            path: path.clone(),
            kind: Kind::Invalid(value.to_string()),
            detail: detail.into(),
        }
    }

    /// A missing value.
    pub fn required(path: &Path, detail: impl Into<String>) -> Self {
        Self {
            path: path.clone(),
            kind: Kind::Required,
            detail: detail.into(),
        }
    }

    /// A forbidden value or change.
    pub fn forbidden(path: &Path, detail: impl Into<String>) -> Self {
        Self {
            path: path.clone(),
            kind: Kind::Forbidden,
            detail: detail.into(),
        }
    }

    /// A duplicate value.
    pub fn duplicate(path: &Path, value: impl fmt::Display) -> Self {
        Self {
            path: path.clone(),
            kind: Kind::Duplicate(value.to_string()),
            detail: String::new(),
        }
    }

    /// An unsupported value.
    pub fn not_supported(path: &Path, value: impl fmt::Display, supported: Vec<String>) -> Self {
        Self {
            path: path.clone(),
            kind: Kind::NotSupported(value.to_string(), supported),
            detail: String::new(),
        }
    }

    /// The same error with a detail.
    #[must_use]
    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = detail.into();
        self
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Invalid(v) => write!(f, "{}: Invalid value: {v:?}", self.path)?,
            Kind::Required => write!(f, "{}: Required value", self.path)?,
            Kind::Forbidden => write!(f, "{}: Forbidden", self.path)?,
            Kind::Duplicate(v) => write!(f, "{}: Duplicate value: {v:?}", self.path)?,
            Kind::NotSupported(v, supported) => {
                let quoted: Vec<String> = supported.iter().map(|s| format!("{s:?}")).collect();
                write!(
                    f,
                    "{}: Unsupported value: {v:?}: supported values: {}",
                    self.path,
                    quoted.join(", ")
                )?;
            }
        }
        if !self.detail.is_empty() {
            write!(f, ": {}", self.detail)?;
        }
        Ok(())
    }
}

/// A list of errors; empty means valid.
pub type ErrorList = Vec<FieldError>;

/// Renders errors as one message, as the apiserver aggregates field errors: `[a, b]` for several.
pub fn message(errors: &[FieldError]) -> String {
    match errors {
        [] => String::new(),
        [one] => one.to_string(),
        many => format!(
            "[{}]",
            many.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_like_the_apiserver() {
        let p = Path::new("spec")
            .child("resourceGroups")
            .index(0)
            .child("flavors")
            .index(1)
            .child("name");
        assert_eq!(
            FieldError::duplicate(&p, "spot").to_string(),
            r#"spec.resourceGroups[0].flavors[1].name: Duplicate value: "spot""#
        );
        let e = FieldError::invalid(
            &Path::new("spec").child("x"),
            "-1",
            "must be greater than or equal to 0",
        );
        assert_eq!(
            e.to_string(),
            r#"spec.x: Invalid value: "-1": must be greater than or equal to 0"#
        );
        assert_eq!(
            message(&[e.clone(), FieldError::required(&Path::new("a"), "")]),
            format!("[{e}, a: Required value]")
        );
        let ns = FieldError::not_supported(&Path::new("f"), "x", vec!["a".into(), "b".into()]);
        assert_eq!(
            ns.to_string(),
            r#"f: Unsupported value: "x": supported values: "a", "b""#
        );
        assert_eq!(Path::new("m").key("k").to_string(), "m[k]");
    }
}
