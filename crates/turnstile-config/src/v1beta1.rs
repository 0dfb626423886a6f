//! Kueue's `config.kueue.x-k8s.io/v1beta1` Configuration, read by converting the document to
//! v1beta2 the way Kueue v0.19 does (its v1beta1 defaults first, then its conversion), so that a
//! migrating admin's older file means what it meant to Kueue:
//!
//! | v1beta1 | v1beta2 |
//! |---|---|
//! | `waitForPodsReady` absent, or `enable: false` | off (no `waitForPodsReady`; v1beta2's default would turn it on) |
//! | `waitForPodsReady.enable: true` | present; `timeout` defaults to **5m** (v1beta2: 30m), `blockAdmission` to **true** (v1beta2: false) |
//! | `fairSharing` absent, or `enable: false` | off |
//! | `fairSharing.enable: true` | present; `preemptionStrategies` default `[LessThanOrEqualToFinalShare, LessThanInitialShare]` |
//! | `queueVisibility`, `integrations.podOptions` | dropped (Kueue drops them too), with a warning |
//!
//! Every other field has the same name and meaning in both versions.

use serde_json::{Value, json};

/// The version read by conversion.
pub const API_VERSION: &str = "config.kueue.x-k8s.io/v1beta1";

/// What the conversion decided that the v1beta2 document cannot say.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Converted {
    /// waitForPodsReady was off in v1beta1 (v1beta2's defaults must not turn it on).
    pub wait_for_pods_ready_off: bool,
    /// Warnings for what was dropped.
    pub warnings: Vec<String>,
}

fn enabled(block: Option<&Value>) -> bool {
    block
        .and_then(|b| b.get("enable"))
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

/// Rewrites a v1beta1 document into v1beta2 in place.
pub(crate) fn to_v1beta2(doc: &mut Value) -> Converted {
    let mut out = Converted::default();
    let Some(m) = doc.as_object_mut() else {
        return out;
    };
    m.insert("apiVersion".into(), json!(crate::API_VERSION));
    if enabled(m.get("waitForPodsReady")) {
        if let Some(w) = m.get_mut("waitForPodsReady").and_then(Value::as_object_mut) {
            w.remove("enable");
            for (field, default) in [("timeout", json!("5m")), ("blockAdmission", json!(true))] {
                if w.get(field).is_none_or(Value::is_null) {
                    w.insert(field.into(), default);
                }
            }
        }
    } else {
        m.remove("waitForPodsReady");
        out.wait_for_pods_ready_off = true;
    }
    if enabled(m.get("fairSharing")) {
        if let Some(f) = m.get_mut("fairSharing").and_then(Value::as_object_mut) {
            f.remove("enable");
            let empty = f
                .get("preemptionStrategies")
                .and_then(Value::as_array)
                .is_none_or(Vec::is_empty);
            if empty {
                f.insert(
                    "preemptionStrategies".into(),
                    json!(["LessThanOrEqualToFinalShare", "LessThanInitialShare"]),
                );
            }
        }
    } else {
        m.remove("fairSharing");
    }
    if m.remove("queueVisibility").is_some() {
        out.warnings.push(
            "queueVisibility: v1beta1 only, dropped (as Kueue does); pending workloads are served by the visibility API"
                .into(),
        );
    }
    if let Some(i) = m.get_mut("integrations").and_then(Value::as_object_mut)
        && i.remove("podOptions").is_some()
    {
        out.warnings.push(
            "integrations.podOptions: v1beta1 only, dropped (as Kueue does); use managedJobsNamespaceSelector"
                .into(),
        );
    }
    out
}
