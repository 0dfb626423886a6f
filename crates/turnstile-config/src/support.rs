//! Which Configuration fields Turnstile acts on, and which it accepts but ignores for now.
//!
//! [`ACTED_ON`] and [`NOT_YET_SUPPORTED`] are the single source of truth; [`not_yet_supported`] reads them to list
//! what an admin set (to a non-default value) that Turnstile will not honour, for one startup warning.

use serde_json::Value;

use crate::defaults::{DEFAULT_FRAMEWORK, apply_defaults};
use crate::field::{go_float, go_json};
use crate::types::Configuration;

/// Field paths Turnstile acts on (a path covers everything below it).
pub const ACTED_ON: &[&str] = &[
    "apiVersion",
    "kind",
    "namespace",
    "manageJobsWithoutQueueName",
    "managedJobsNamespaceSelector",
    "waitForPodsReady.timeout",
    "waitForPodsReady.blockAdmission",
    "waitForPodsReady.recoveryTimeout",
    "waitForPodsReady.requeuingStrategy",
    "fairSharing",
    "resources.excludeResourcePrefixes",
    "resources.transformations",
    // Only the frameworks in SUPPORTED_FRAMEWORKS; see NOT_YET_SUPPORTED for the others.
    "integrations.frameworks",
    "clientConnection",
    "webhook",
    "metrics.bindAddress",
    "metrics.enableClusterQueueResources",
    "metrics.localQueueMetrics",
    "health",
    "leaderElection",
    "internalCertManagement",
    "visibilityServer",
    "objectRetentionPolicies",
    // Every gate is judged by crate::gates::GATES: honoured, refused when set off Kueue's
    // default, or without effect (a warning).
    "featureGates",
];

/// Job frameworks Turnstile manages.
pub const SUPPORTED_FRAMEWORKS: &[&str] = &[DEFAULT_FRAMEWORK];

/// How a [`NOT_YET_SUPPORTED`] entry is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotYetCheck {
    /// Reported when the value differs from Kueue's default.
    NonDefault,
    /// A list: each item not in the given list is reported.
    ItemsOtherThan(&'static [&'static str]),
    /// A map: each key set in the file is reported, except keys whose path is in [`ACTED_ON`].
    EachKey,
    /// It would change how batch Jobs are handled and Turnstile does not implement it: a value
    /// other than Kueue's default and the `accept`ed ones (canonical JSON) refuses the file.
    Refuse {
        /// Values accepted besides the default (e.g. the default written out).
        accept: &'static [&'static str],
        /// Why, for the error.
        why: &'static str,
    },
}

/// Field paths Turnstile accepts (and validates as Kueue does) but does not act on yet.
pub const NOT_YET_SUPPORTED: &[(&str, NotYetCheck)] = &[
    (
        "integrations.frameworks",
        NotYetCheck::ItemsOtherThan(SUPPORTED_FRAMEWORKS),
    ),
    ("integrations.externalFrameworks", NotYetCheck::NonDefault),
    ("integrations.labelKeysToCopy", NotYetCheck::NonDefault),
    (
        "admissionFairSharing",
        NotYetCheck::Refuse {
            accept: &[],
            why: "admission fair sharing is not supported; remove admissionFairSharing",
        },
    ),
    (
        "resources.quotaCheckStrategy",
        NotYetCheck::Refuse {
            accept: &["\"BlockUndeclared\""],
            why: "only BlockUndeclared (Kueue's default) is supported: a workload asking for a resource its ClusterQueue does not cover stays pending",
        },
    ),
    ("resources.deviceClassMappings", NotYetCheck::NonDefault),
    ("multiKueue.gcInterval", NotYetCheck::NonDefault),
    ("multiKueue.origin", NotYetCheck::NonDefault),
    ("multiKueue.workerLostTimeout", NotYetCheck::NonDefault),
    ("multiKueue.dispatcherName", NotYetCheck::NonDefault),
    ("multiKueue.externalFrameworks", NotYetCheck::NonDefault),
    ("multiKueue.clusterProfile", NotYetCheck::NonDefault),
    (
        "multiKueue.incrementalDispatcherConfig",
        NotYetCheck::NonDefault,
    ),
    ("metrics.customLabels", NotYetCheck::NonDefault),
    ("pprofBindAddress", NotYetCheck::NonDefault),
    ("controller.groupKindConcurrency", NotYetCheck::NonDefault),
    ("controller.cacheSyncTimeout", NotYetCheck::NonDefault),
    ("tls", NotYetCheck::NonDefault),
];

const MAX_VALUE_LEN: usize = 400;

fn lookup<'a>(root: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(root, |v, name| v.get(name))
}

fn is_acted_on(path: &str) -> bool {
    ACTED_ON
        .iter()
        .any(|p| path == *p || path.starts_with(&format!("{p}.")))
}

/// Compact JSON with object keys sorted, whatever map order `serde_json` is built with.
fn canonical_json(value: &Value) -> String {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            let inner: Vec<String> = entries
                .into_iter()
                .map(|(k, v)| format!("{}:{}", go_json(k), canonical_json(v)))
                .collect();
            format!("{{{}}}", inner.join(","))
        }
        Value::Array(items) => {
            let inner: Vec<String> = items.iter().map(canonical_json).collect();
            format!("[{}]", inner.join(","))
        }
        Value::Number(n) if n.is_f64() => go_float(n.as_f64().unwrap_or_default()),
        scalar => go_json(scalar),
    }
}

fn shorten(mut text: String) -> String {
    if text.chars().count() > MAX_VALUE_LEN {
        text = text.chars().take(MAX_VALUE_LEN).collect();
        text.push('…');
    }
    text
}

/// Lists the fields set in `cfg` (to something other than Kueue's default) that Turnstile accepts but does not
/// act on yet, one line each (`multiKueue.origin = "east"`, `integrations.frameworks contains "pod"`), in the
/// order of [`NOT_YET_SUPPORTED`]. Empty when everything set is honoured.
pub fn not_yet_supported(cfg: &Configuration) -> Vec<String> {
    let mut defaults = Configuration::default();
    apply_defaults(&mut defaults, cfg.namespace());
    let actual = serde_json::to_value(cfg).unwrap_or(Value::Null);
    let default = serde_json::to_value(&defaults).unwrap_or(Value::Null);
    let mut out = crate::gates::without_effect(cfg);
    for &(path, check) in NOT_YET_SUPPORTED {
        let value = lookup(&actual, path);
        match check {
            NotYetCheck::NonDefault => {
                if let Some(v) = value
                    && value != lookup(&default, path)
                {
                    out.push(format!("{path} = {}", shorten(canonical_json(v))));
                }
            }
            NotYetCheck::ItemsOtherThan(supported) => {
                for item in value.and_then(Value::as_array).into_iter().flatten() {
                    if !item.as_str().is_some_and(|s| supported.contains(&s)) {
                        out.push(format!("{path} contains {}", canonical_json(item)));
                    }
                }
            }
            NotYetCheck::Refuse { .. } => {}
            NotYetCheck::EachKey => {
                for (key, v) in value.and_then(Value::as_object).into_iter().flatten() {
                    let key_path = format!("{path}.{key}");
                    if !is_acted_on(&key_path) {
                        out.push(format!("{key_path} = {}", shorten(canonical_json(v))));
                    }
                }
            }
        }
    }
    out
}

/// The fields set in `cfg` that Turnstile refuses ([`NotYetCheck::Refuse`]): set to something
/// other than Kueue's default and the accepted values. Each error names the field and says why.
pub(crate) fn refused(cfg: &Configuration) -> Vec<crate::field::FieldError> {
    use crate::field::{BadValue, FieldError, FieldPath};
    let mut defaults = Configuration::default();
    apply_defaults(&mut defaults, cfg.namespace());
    let actual = serde_json::to_value(cfg).unwrap_or(Value::Null);
    let default = serde_json::to_value(&defaults).unwrap_or(Value::Null);
    let mut out = Vec::new();
    for &(path, check) in NOT_YET_SUPPORTED {
        let NotYetCheck::Refuse { accept, why } = check else {
            continue;
        };
        if let Some(v) = lookup(&actual, path)
            && Some(v) != lookup(&default, path)
            && !accept.contains(&canonical_json(v).as_str())
        {
            let names: Vec<&str> = path.split('.').collect();
            out.push(FieldError::invalid(
                &FieldPath::of(&names),
                BadValue::json(v),
                why,
            ));
        }
    }
    out
}
