//! Kubernetes `metav1.LabelSelector`: `matchLabels` and `matchExpressions`, with apimachinery's validation and
//! matching semantics.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::field::{BadValue, FieldError, FieldPath};
use crate::names;

/// A label selector. An empty selector (no labels, no expressions) matches everything.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct LabelSelector {
    /// Each `key: value` must be present exactly.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub match_labels: BTreeMap<String, String>,
    /// Each requirement must hold.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub match_expressions: Vec<LabelSelectorRequirement>,
}

/// One `matchExpressions` entry. The operator is kept as written so an unknown one is reported by validation
/// (`… Invalid value: "Foo": not a valid selector operator`) rather than by the decoder.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct LabelSelectorRequirement {
    /// The label key.
    pub key: String,
    /// `In`, `NotIn`, `Exists` or `DoesNotExist`.
    pub operator: String,
    /// The values for `In` / `NotIn`; must be empty for `Exists` / `DoesNotExist`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
}

/// A `matchExpressions` operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SelectorOperator {
    /// The label is present and its value is one of `values`.
    In,
    /// The label is absent, or its value is none of `values`.
    NotIn,
    /// The label is present.
    Exists,
    /// The label is absent.
    DoesNotExist,
}

impl SelectorOperator {
    /// Parses the operator text (case-sensitive, as Kubernetes).
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "In" => Some(Self::In),
            "NotIn" => Some(Self::NotIn),
            "Exists" => Some(Self::Exists),
            "DoesNotExist" => Some(Self::DoesNotExist),
            _ => None,
        }
    }

    /// The operator as written in YAML.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::In => "In",
            Self::NotIn => "NotIn",
            Self::Exists => "Exists",
            Self::DoesNotExist => "DoesNotExist",
        }
    }
}

impl LabelSelectorRequirement {
    /// The typed operator, or `None` when the text is not one of the four operators.
    pub fn operator(&self) -> Option<SelectorOperator> {
        SelectorOperator::parse(&self.operator)
    }

    /// Whether `labels` satisfy this requirement. An unknown operator matches nothing.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        let value = labels.get(&self.key);
        match self.operator() {
            Some(SelectorOperator::In) => value.is_some_and(|v| self.values.contains(v)),
            Some(SelectorOperator::NotIn) => value.is_none_or(|v| !self.values.contains(v)),
            Some(SelectorOperator::Exists) => value.is_some(),
            Some(SelectorOperator::DoesNotExist) => value.is_none(),
            None => false,
        }
    }
}

impl LabelSelector {
    /// Whether `labels` satisfy every `matchLabels` entry and every expression. On a selector that fails
    /// [`LabelSelector::validate`] the result is meaningless (Kubernetes refuses to build such a selector).
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.match_labels
            .iter()
            .all(|(k, v)| labels.get(k) == Some(v))
            && self.match_expressions.iter().all(|r| r.matches(labels))
    }

    /// Kubernetes' `ValidateLabelSelector`, with `path` the selector's own field path
    /// (e.g. `managedJobsNamespaceSelector`). Returns every error.
    pub fn validate(&self, path: &str) -> Vec<FieldError> {
        self.validate_at(&FieldPath::new(path))
    }

    pub(crate) fn validate_at(&self, path: &FieldPath) -> Vec<FieldError> {
        let mut errs = Vec::new();
        let labels_path = path.child("matchLabels");
        for (key, value) in &self.match_labels {
            for msg in names::label_key(key) {
                errs.push(FieldError::invalid(&labels_path, BadValue::str(key), msg));
            }
            for msg in names::label_value(value) {
                errs.push(FieldError::invalid(&labels_path, BadValue::str(value), msg));
            }
        }
        for (i, req) in self.match_expressions.iter().enumerate() {
            let req_path = path.child("matchExpressions").index(i);
            match req.operator() {
                Some(SelectorOperator::In | SelectorOperator::NotIn) => {
                    if req.values.is_empty() {
                        errs.push(FieldError::required(
                            &req_path.child("values"),
                            "must be specified when `operator` is 'In' or 'NotIn'",
                        ));
                    }
                }
                Some(SelectorOperator::Exists | SelectorOperator::DoesNotExist) => {
                    if !req.values.is_empty() {
                        errs.push(FieldError::forbidden(
                            &req_path.child("values"),
                            "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
                        ));
                    }
                }
                None => errs.push(FieldError::invalid(
                    &req_path.child("operator"),
                    BadValue::str(&req.operator),
                    "not a valid selector operator",
                )),
            }
            for msg in names::label_key(&req.key) {
                errs.push(FieldError::invalid(
                    &req_path.child("key"),
                    BadValue::str(&req.key),
                    msg,
                ));
            }
            for (j, value) in req.values.iter().enumerate() {
                for msg in names::label_value(value) {
                    errs.push(FieldError::invalid(
                        &req_path.child("values").index(j),
                        BadValue::str(value),
                        msg,
                    ));
                }
            }
        }
        errs
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn req(key: &str, op: &str, values: &[&str]) -> LabelSelectorRequirement {
        LabelSelectorRequirement {
            key: key.to_owned(),
            operator: op.to_owned(),
            values: values.iter().map(|v| (*v).to_owned()).collect(),
        }
    }

    #[test]
    fn matching() {
        let ns = "kubernetes.io/metadata.name";
        let sel = LabelSelector {
            match_labels: BTreeMap::new(),
            match_expressions: vec![req(ns, "NotIn", &["kube-system", "kueue-system"])],
        };
        assert!(sel.matches(&labels(&[(ns, "default")])));
        assert!(sel.matches(&labels(&[])));
        assert!(!sel.matches(&labels(&[(ns, "kube-system")])));

        let sel = LabelSelector {
            match_labels: labels(&[("team", "a")]),
            match_expressions: vec![
                req("env", "In", &["prod", "dev"]),
                req("x", "DoesNotExist", &[]),
            ],
        };
        assert!(sel.matches(&labels(&[("team", "a"), ("env", "dev")])));
        assert!(!sel.matches(&labels(&[("team", "b"), ("env", "dev")])));
        assert!(!sel.matches(&labels(&[("team", "a")])));
        assert!(!sel.matches(&labels(&[("team", "a"), ("env", "dev"), ("x", "")])));

        let exists = LabelSelector {
            match_labels: BTreeMap::new(),
            match_expressions: vec![req("x", "Exists", &[])],
        };
        assert!(exists.matches(&labels(&[("x", "")])));
        assert!(!exists.matches(&labels(&[])));

        assert!(LabelSelector::default().matches(&labels(&[])));
        let bad = LabelSelector {
            match_labels: BTreeMap::new(),
            match_expressions: vec![req("x", "Equals", &["1"])],
        };
        assert!(!bad.matches(&labels(&[("x", "1")])));
    }

    #[test]
    fn validation_messages() {
        let sel = LabelSelector {
            match_labels: labels(&[("ok", "bad value")]),
            match_expressions: vec![
                req("a", "Foo", &[]),
                req("b", "In", &[]),
                req("c", "Exists", &["x"]),
            ],
        };
        let errs: Vec<String> = sel.validate("s").iter().map(ToString::to_string).collect();
        assert_eq!(errs, vec![
            "s.matchLabels: Invalid value: \"bad value\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')".to_owned(),
            "s.matchExpressions[0].operator: Invalid value: \"Foo\": not a valid selector operator".to_owned(),
            "s.matchExpressions[1].values: Required value: must be specified when `operator` is 'In' or 'NotIn'".to_owned(),
            "s.matchExpressions[2].values: Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'".to_owned(),
        ]);
    }
}
