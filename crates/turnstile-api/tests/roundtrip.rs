//! Serde round trips of every kind against the manifests in `e2e/manifests/valid` (which the e2e
//! suite also stores on a real apiserver), and the CRD snapshot in `crds/`.

// Test code: failures are panics.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::too_many_lines,
    clippy::too_many_arguments
)]

use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use turnstile_api::manifest::missing_or_changed;
use turnstile_api::{
    ClusterQueue, Cohort, LocalQueue, ResourceFlavor, Workload, WorkloadPriorityClass,
};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn docs() -> Vec<(String, Value)> {
    let dir = repo().join("e2e/manifests/valid");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("fixtures")
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    let mut out = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("readable");
        for doc in serde_yaml::Deserializer::from_str(&text) {
            let v: Value = serde::Deserialize::deserialize(doc).expect("YAML");
            out.push((file.display().to_string(), v));
        }
    }
    out
}

/// YAML -> typed -> JSON keeps every field; JSON -> typed gives the same value again.
fn round_trip<T: DeserializeOwned + Serialize + PartialEq + std::fmt::Debug>(
    file: &str,
    doc: &Value,
) {
    let typed: T = serde_json::from_value(doc.clone()).unwrap_or_else(|e| panic!("{file}: {e}"));
    let json = serde_json::to_value(&typed).expect("serializes");
    let lost = missing_or_changed(doc, &json);
    assert!(
        lost.is_empty(),
        "{file}: fields lost in the round trip:\n{}",
        lost.join("\n")
    );
    let again: T = serde_json::from_value(json).expect("reads its own output");
    assert_eq!(typed, again, "{file}: second round trip differs");
}

#[test]
fn every_valid_manifest_round_trips_through_its_type() {
    let mut seen = std::collections::BTreeSet::new();
    for (file, doc) in docs() {
        let kind = doc["kind"].as_str().expect("kind").to_owned();
        match kind.as_str() {
            "ResourceFlavor" => round_trip::<ResourceFlavor>(&file, &doc),
            "ClusterQueue" => round_trip::<ClusterQueue>(&file, &doc),
            "Cohort" => round_trip::<Cohort>(&file, &doc),
            "LocalQueue" => round_trip::<LocalQueue>(&file, &doc),
            "Workload" => round_trip::<Workload>(&file, &doc),
            "WorkloadPriorityClass" => round_trip::<WorkloadPriorityClass>(&file, &doc),
            other => panic!("{file}: unexpected kind {other}"),
        }
        seen.insert(kind);
    }
    assert_eq!(seen.len(), 6, "fixtures must cover every kind: {seen:?}");
}

#[test]
fn quantities_read_numbers_and_write_strings() {
    let cq: ClusterQueue = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "q"},
        "spec": {"resourceGroups": [{"coveredResources": ["cpu"], "flavors": [{"name": "f", "resources": [
            {"name": "cpu", "nominalQuota": 9, "borrowingLimit": 1.5, "lendingLimit": "500m"}]}]}]}
    }))
    .expect("numbers are quantities");
    let r = &cq.spec.resource_groups[0].flavors[0].resources[0];
    assert_eq!(r.nominal_quota.as_str(), "9");
    assert_eq!(
        r.borrowing_limit
            .as_ref()
            .map(turnstile_api::Quantity::as_str),
        Some("1.5")
    );
    let json = serde_json::to_value(&cq).expect("serializes");
    assert_eq!(
        json["spec"]["resourceGroups"][0]["flavors"][0]["resources"][0]["nominalQuota"],
        "9"
    );
    assert_eq!(json["apiVersion"], "kueue.x-k8s.io/v1beta2");
    assert_eq!(json["kind"], "ClusterQueue");
}

#[test]
fn objects_without_spec_read_as_defaults() {
    let rf: ResourceFlavor = serde_json::from_value(serde_json::json!({
        "apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "ResourceFlavor", "metadata": {"name": "default-flavor"}
    }))
    .expect("no spec");
    assert_eq!(rf.spec, turnstile_api::ResourceFlavorSpec::default());
    let wpc: WorkloadPriorityClass = serde_json::from_value(serde_json::json!({
        "apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "WorkloadPriorityClass", "metadata": {"name": "p"}, "value": 5
    }))
    .expect("flat fields");
    assert_eq!(wpc.spec.value, 5);
    let json = serde_json::to_value(&wpc).expect("serializes");
    assert_eq!(json["value"], 5);
    assert!(
        json.get("spec").is_none(),
        "WorkloadPriorityClass has no spec wrapper: {json}"
    );
}

#[test]
fn committed_crds_match_the_types() {
    for crd in turnstile_api::crds::all().expect("CRDs") {
        let path = repo()
            .join("crds")
            .join(turnstile_api::crds::file_name(&crd));
        let committed =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let body = committed.split_once('\n').map_or("", |(_, rest)| rest);
        let generated = turnstile_api::crds::to_yaml(&crd).expect("YAML");
        assert!(
            body == generated,
            "{} is stale: run `cargo run -p turnstile -- crds`",
            path.display()
        );
    }
}
