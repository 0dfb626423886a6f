//! Schema parity with Kueue's published CRDs.
//!
//! Compares the generated CRDs with the `v1beta2` version of the CRDs in Kueue's released Go module
//! (read from `$KUEUE_CRD_DIR`, which `.ci/run` points at the module cache after downloading the
//! module; nothing of Kueue's is committed here). Descriptions are ignored; everything that decides
//! validity, defaulting, list merging or display is compared: names, scope, subresources, printer
//! columns, selectable fields, and per schema node the type, format, enum, default, bounds, pattern,
//! required fields, list/map types and the number of CEL rules with their messages.
//!
//! When `$KUEUE_CRD_DIR` is unset the test fails under CI (`CI=true`) and is skipped otherwise.

// Test code: failures are panics.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::too_many_lines,
    clippy::too_many_arguments
)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use serde_json::Value;

/// Schema keywords compared node by node.
const KEYWORDS: &[&str] = &[
    "type",
    "format",
    "default",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    "minProperties",
    "maxProperties",
    "pattern",
    "anyOf",
    "x-kubernetes-list-type",
    "x-kubernetes-list-map-keys",
    "x-kubernetes-map-type",
    "x-kubernetes-int-or-string",
    "x-kubernetes-preserve-unknown-fields",
    "x-kubernetes-embedded-resource",
];

/// Differences we accept, by path prefix, with the reason. Keep this list short and explained.
const ACCEPTED: &[(&str, &str)] = &[
    (
        "workloadpriorityclasses.kueue.x-k8s.io: subresources: kueue={} ours=-",
        "an empty subresources object enables nothing; omitting it is equivalent",
    ),
    (
        "workloads.kueue.x-k8s.io.spec.podSets[].template",
        "the embedded PodTemplateSpec schema comes from k8s-openapi, which lacks Kubernetes' list/map \
         markers and some defaults; tracked in docs/api.md (known gaps)",
    ),
];

fn kueue_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("KUEUE_CRD_DIR") {
        return Some(PathBuf::from(dir));
    }
    assert!(
        std::env::var("CI").map_or(true, |v| v != "true"),
        "KUEUE_CRD_DIR must be set in CI (see .ci/run)"
    );
    eprintln!("KUEUE_CRD_DIR unset: skipping the Kueue parity check");
    None
}

fn version<'a>(crd: &'a Value, name: &str) -> &'a Value {
    crd["spec"]["versions"]
        .as_array()
        .and_then(|vs| vs.iter().find(|v| v["name"] == name))
        .unwrap_or(&Value::Null)
}

fn version_names(crd: &Value) -> Vec<Value> {
    crd["spec"]["versions"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|v| v["name"].clone())
        .collect()
}

fn as_set(v: Option<&Value>) -> BTreeSet<String> {
    v.and_then(Value::as_array).map_or_else(BTreeSet::new, |a| {
        a.iter().map(ToString::to_string).collect()
    })
}

fn rules(v: &Value) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for r in v
        .get("x-kubernetes-validations")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let msg = r
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or("<no message>")
            .to_owned();
        *out.entry(msg).or_default() += 1;
    }
    out
}

fn compare(path: &str, kueue: &Value, ours: &Value, diffs: &mut Vec<String>) {
    for key in KEYWORDS {
        let (k, o) = (kueue.get(*key), ours.get(*key));
        if !same(k, o) {
            diffs.push(format!("{path}: {key}: kueue={} ours={}", show(k), show(o)));
        }
    }
    let (ke, oe) = (as_set(kueue.get("enum")), as_set(ours.get("enum")));
    if ke != oe {
        diffs.push(format!("{path}: enum: kueue={ke:?} ours={oe:?}"));
    }
    let (kr, or) = (as_set(kueue.get("required")), as_set(ours.get("required")));
    if kr != or {
        diffs.push(format!("{path}: required: kueue={kr:?} ours={or:?}"));
    }
    let (kv, ov) = (rules(kueue), rules(ours));
    if kv != ov {
        diffs.push(format!(
            "{path}: x-kubernetes-validations: kueue={kv:?} ours={ov:?}"
        ));
    }
    let empty = serde_json::Map::new();
    let kp = kueue
        .get("properties")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let op = ours
        .get("properties")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    for (name, k) in kp {
        match op.get(name) {
            Some(o) => compare(&format!("{path}.{name}"), k, o, diffs),
            None => diffs.push(format!("{path}.{name}: missing in ours")),
        }
    }
    for name in op.keys().filter(|n| !kp.contains_key(*n)) {
        diffs.push(format!("{path}.{name}: not in Kueue"));
    }
    if let (Some(k), Some(o)) = (kueue.get("items"), ours.get("items")) {
        compare(&format!("{path}[]"), k, o, diffs);
    } else if kueue.get("items").is_some() != ours.get("items").is_some() {
        diffs.push(format!("{path}[]: items present in only one"));
    }
    match (
        kueue.get("additionalProperties"),
        ours.get("additionalProperties"),
    ) {
        (Some(k), Some(o)) => compare(&format!("{path}{{}}"), k, o, diffs),
        (None, None) => {}
        (k, o) => diffs.push(format!(
            "{path}{{}}: additionalProperties kueue={} ours={}",
            show(k),
            show(o)
        )),
    }
}

/// Equality where numbers compare by value (the CRD types hold bounds as floats: `1` == `1.0`).
fn same(a: Option<&Value>, b: Option<&Value>) -> bool {
    match (a, b) {
        (Some(Value::Number(x)), Some(Value::Number(y))) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

fn show(v: Option<&Value>) -> String {
    v.map_or_else(|| "-".to_owned(), ToString::to_string)
}

fn compare_crd(kueue: &Value, ours: &Value, diffs: &mut Vec<String>) {
    let name = ours["metadata"]["name"].as_str().unwrap_or("?").to_owned();
    if version_names(kueue) != version_names(ours) {
        diffs.push(format!(
            "{name}: versions: kueue={:?} ours={:?}",
            version_names(kueue),
            version_names(ours)
        ));
    }
    compare_version(kueue, ours, "v1beta2", &name, diffs);
    let mut v1beta1 = Vec::new();
    compare_version(kueue, ours, "v1beta1", &name, &mut v1beta1);
    diffs.extend(v1beta1.into_iter().map(|d| format!("v1beta1: {d}")));
}

/// Compares one version of a CRD (diffs are named by CRD and path, without the version).
fn compare_version(kueue: &Value, ours: &Value, ver: &str, name: &str, diffs: &mut Vec<String>) {
    for key in ["scope", "group"] {
        if kueue["spec"][key] != ours["spec"][key] {
            diffs.push(format!("{name}: spec.{key}"));
        }
    }
    for key in ["kind", "listKind", "plural", "singular"] {
        if kueue["spec"]["names"][key] != ours["spec"]["names"][key] {
            diffs.push(format!(
                "{name}: names.{key}: kueue={} ours={}",
                kueue["spec"]["names"][key], ours["spec"]["names"][key]
            ));
        }
    }
    for key in ["shortNames", "categories"] {
        let (k, o) = (
            as_set(kueue["spec"]["names"].get(key)),
            as_set(ours["spec"]["names"].get(key)),
        );
        if k != o {
            diffs.push(format!("{name}: names.{key}: kueue={k:?} ours={o:?}"));
        }
    }
    let (kv, ov) = (version(kueue, ver), version(ours, ver));
    for key in [
        "served",
        "storage",
        "subresources",
        "selectableFields",
        "deprecated",
        "deprecationWarning",
    ] {
        if kv.get(key) != ov.get(key) {
            diffs.push(format!(
                "{name}: {key}: kueue={} ours={}",
                show(kv.get(key)),
                show(ov.get(key))
            ));
        }
    }
    let cols = |v: &Value| -> Vec<(Value, Value, Value, Value)> {
        v.get("additionalPrinterColumns")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|c| {
                (
                    c["name"].clone(),
                    c["type"].clone(),
                    c["jsonPath"].clone(),
                    c.get("priority").cloned().unwrap_or(Value::from(0)),
                )
            })
            .collect()
    };
    if cols(kv) != cols(ov) {
        diffs.push(format!(
            "{name}: printer columns: kueue={:?} ours={:?}",
            cols(kv),
            cols(ov)
        ));
    }
    compare(
        name,
        &kv["schema"]["openAPIV3Schema"],
        &ov["schema"]["openAPIV3Schema"],
        diffs,
    );
}

#[test]
fn generated_crds_match_kueue_v1beta1_and_v1beta2() {
    let Some(dir) = kueue_dir() else { return };
    let ours = turnstile_api::crds::all().expect("generate CRDs");
    let mut diffs = Vec::new();
    // Turnstile's own kinds (turnstile.dev) have no Kueue counterpart.
    for crd in ours.iter().filter(|c| c.spec.group == "kueue.x-k8s.io") {
        let file = dir.join(turnstile_api::crds::file_name(crd));
        let text = std::fs::read_to_string(&file)
            .unwrap_or_else(|e| panic!("reading {}: {e}", file.display()));
        let kueue: Value = serde_yaml::from_str(&text).expect("Kueue CRD parses");
        let ours = serde_json::to_value(crd).expect("CRD encodes");
        compare_crd(&kueue, &ours, &mut diffs);
    }
    diffs.retain(|d| {
        let d = d.trim_start_matches("v1beta1: ");
        !ACCEPTED.iter().any(|(prefix, _)| d.starts_with(prefix))
    });
    assert!(
        diffs.is_empty(),
        "{} differences from Kueue:\n{}",
        diffs.len(),
        diffs.join("\n")
    );
}
