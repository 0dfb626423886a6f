//! CustomResourceDefinitions of the Kueue kinds, generated from the Rust types.
//!
//! kube-derive produces the definitions; a compatibility pass then brings the schemas in line with
//! the ones Kueue publishes: no `nullable` (the apiserver then prunes explicit nulls and applies
//! defaults, as it does for Kueue), `spec` optional at the root, and quantities inside embedded
//! Kubernetes types (pod templates) given the int-or-string quantity schema with its pattern.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt;
use serde_json::Value;

use crate::v1alpha1::TimeWindowPolicy;
use crate::v1beta2::{
    AdmissionCheckCrd, ClusterQueueCrd, CohortCrd, LocalQueueCrd, ResourceFlavorCrd, WorkloadCrd,
    WorkloadPriorityClassCrd, quantity_schema,
};

/// The first words of the description k8s-openapi gives `resource.Quantity`; used to recognise
/// quantities inside embedded Kubernetes types.
const K8S_QUANTITY_DESCRIPTION: &str = "Quantity is a fixed-point representation of a number.";
/// The first words of the description k8s-openapi gives `metav1.Condition`.
const K8S_CONDITION_DESCRIPTION: &str =
    "Condition contains details for one aspect of the current state";

/// Constraints the apiserver's own `metav1.Condition` carries (and Kueue's CRDs repeat) that
/// k8s-openapi's schema lacks.
fn condition_constraints() -> Value {
    serde_json::json!({
        "properties": {
            "lastTransitionTime": { "format": "date-time" },
            "message": { "maxLength": 32768 },
            "observedGeneration": { "minimum": 0 },
            "reason": { "minLength": 1, "maxLength": 1024, "pattern": "^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$" },
            "status": { "enum": ["True", "False", "Unknown"] },
            "type": {
                "maxLength": 316,
                "pattern": "^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$"
            }
        }
    })
}

/// List and map semantics of `metav1.LabelSelector`, by JSON pointer inside a schema.
const LABEL_SELECTOR_MARKERS: &[(&str, &str, &str)] = &[
    ("", "x-kubernetes-map-type", "atomic"),
    (
        "/properties/matchExpressions",
        "x-kubernetes-list-type",
        "atomic",
    ),
    (
        "/properties/matchExpressions/items/properties/values",
        "x-kubernetes-list-type",
        "atomic",
    ),
];

/// Label selectors in our own types, by CRD name and JSON pointer to the selector's schema.
const LABEL_SELECTORS: &[(&str, &str)] = &[
    (
        "clusterqueues.kueue.x-k8s.io",
        "/properties/spec/properties/namespaceSelector",
    ),
    (
        "timewindowpolicies.turnstile.dev",
        "/properties/spec/properties/targets/properties/clusterQueueSelector",
    ),
];

/// Errors while producing CRDs.
#[derive(Debug)]
pub struct CrdError(String);

impl std::fmt::Display for CrdError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CrdError {}

/// Every CRD Turnstile installs, in a stable order, after the compatibility pass.
pub fn all() -> Result<Vec<CustomResourceDefinition>, CrdError> {
    [
        ResourceFlavorCrd::crd(),
        AdmissionCheckCrd::crd(),
        ClusterQueueCrd::crd(),
        CohortCrd::crd(),
        LocalQueueCrd::crd(),
        WorkloadCrd::crd(),
        WorkloadPriorityClassCrd::crd(),
        TimeWindowPolicy::crd(),
    ]
    .into_iter()
    .map(|crd| compat(&crd).and_then(|c| with_v1beta1(&c)))
    .collect()
}

/// Adds the served, deprecated v1beta1 version before v1beta2 (Kueue's order) to the Kueue kinds
/// Kueue serves as v1beta1. The conversion strategy stays `None` here, as in Kueue's base CRDs;
/// the chart sets the conversion webhook on the kinds whose shape differs (see
/// [`crate::v1beta1::schema::SERVED`]).
fn with_v1beta1(crd: &CustomResourceDefinition) -> Result<CustomResourceDefinition, CrdError> {
    let name = crd.metadata.name.clone().unwrap_or_default();
    if !crate::v1beta1::schema::SERVED
        .iter()
        .any(|(n, _)| *n == name)
    {
        return Ok(crd.clone());
    }
    let mut value =
        serde_json::to_value(crd).map_err(|e| CrdError(format!("encoding {name}: {e}")))?;
    let versions = value
        .pointer_mut("/spec/versions")
        .and_then(Value::as_array_mut)
        .ok_or_else(|| CrdError(format!("{name}: no versions")))?;
    let v1beta2 = versions
        .iter()
        .find(|v| v["name"] == "v1beta2")
        .ok_or_else(|| CrdError(format!("{name}: no v1beta2 version")))?;
    let v1beta1 = crate::v1beta1::schema::version(&name, v1beta2).map_err(CrdError)?;
    versions.insert(0, v1beta1);
    serde_json::from_value(value).map_err(|e| CrdError(format!("decoding {name}: {e}")))
}

/// File name of a CRD under `crds/` (`<group>_<plural>.yaml`).
pub fn file_name(crd: &CustomResourceDefinition) -> String {
    format!("{}_{}.yaml", crd.spec.group, crd.spec.names.plural)
}

/// Renders a CRD as YAML.
pub fn to_yaml(crd: &CustomResourceDefinition) -> Result<String, CrdError> {
    serde_yaml::to_string(crd).map_err(|e| CrdError(format!("rendering {}: {e}", file_name(crd))))
}

fn compat(crd: &CustomResourceDefinition) -> Result<CustomResourceDefinition, CrdError> {
    let name = crd.metadata.name.clone().unwrap_or_default();
    let mut value =
        serde_json::to_value(crd).map_err(|e| CrdError(format!("encoding {name}: {e}")))?;
    if let Some(kind) = value.pointer("/spec/names/kind").and_then(Value::as_str) {
        let list_kind = format!("{kind}List");
        if let Some(names) = value
            .pointer_mut("/spec/names")
            .and_then(Value::as_object_mut)
        {
            names.insert("listKind".into(), list_kind.into());
        }
    }
    if let Some(versions) = value
        .pointer_mut("/spec/versions")
        .and_then(Value::as_array_mut)
    {
        for version in versions {
            if let Some(root) = version.pointer_mut("/schema/openAPIV3Schema") {
                fix_root(root);
                walk(root);
                for (_, pointer) in LABEL_SELECTORS.iter().filter(|(crd, _)| *crd == name) {
                    if let Some(selector) = root.pointer_mut(pointer) {
                        for (inner, key, val) in LABEL_SELECTOR_MARKERS {
                            if let Some(Value::Object(node)) = selector.pointer_mut(inner) {
                                node.insert((*key).into(), (*val).into());
                            }
                        }
                    }
                }
            }
        }
    }
    serde_json::from_value(value).map_err(|e| CrdError(format!("decoding {name}: {e}")))
}

/// At the root, `spec` and `status` are optional and carry no default; `apiVersion`, `kind` and
/// `metadata` are declared as the apiserver expects.
fn fix_root(root: &mut Value) {
    let Some(obj) = root.as_object_mut() else {
        return;
    };
    if let Some(Value::Object(props)) = obj.get_mut("properties") {
        props.insert("apiVersion".into(), serde_json::json!({ "type": "string" }));
        props.insert("kind".into(), serde_json::json!({ "type": "string" }));
        props.insert("metadata".into(), serde_json::json!({ "type": "object" }));
    }
    if let Some(Value::Array(required)) = obj.get_mut("required") {
        required.retain(|r| r != "spec" && r != "status" && r != "metadata");
        if required.is_empty() {
            obj.remove("required");
        }
    }
    if let Some(Value::Object(props)) = obj.get_mut("properties") {
        for prop in props.values_mut() {
            if let Some(p) = prop.as_object_mut() {
                p.remove("default");
            }
        }
    }
}

/// Merges `patch` into `target`, object by object.
fn merge(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(t), Value::Object(p)) => {
            for (k, v) in p {
                merge(t.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
        (t, p) => *t = p.clone(),
    }
}

fn walk(node: &mut Value) {
    match node {
        Value::Object(obj) => {
            obj.remove("nullable");
            if obj.get("x-kubernetes-int-or-string") == Some(&Value::Bool(true)) {
                obj.insert(
                    "anyOf".into(),
                    serde_json::json!([{ "type": "integer" }, { "type": "string" }]),
                );
            }
            let description = obj
                .get("description")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if description.starts_with(K8S_CONDITION_DESCRIPTION) {
                let mut patched = Value::Object(std::mem::take(obj));
                merge(&mut patched, &condition_constraints());
                if let Value::Object(p) = patched {
                    *obj = p;
                }
            }
            let is_k8s_quantity = obj
                .get("description")
                .and_then(Value::as_str)
                .is_some_and(|d| d.starts_with(K8S_QUANTITY_DESCRIPTION));
            if is_k8s_quantity {
                obj.remove("description");
                if let Value::Object(q) = quantity_schema().to_value() {
                    obj.extend(q);
                }
                return;
            }
            for child in obj.values_mut() {
                walk(child);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(walk),
        _ => {}
    }
}
