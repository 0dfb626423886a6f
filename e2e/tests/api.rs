//! The Kueue API on a real apiserver: CRDs install, printer columns show, valid manifests are
//! stored without losing a field, and each validation rule rejects its invalid manifest with the
//! expected field path and message.

// Test code: failures are panics.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::too_many_lines,
    clippy::too_many_arguments
)]

use std::path::Path;

use serde_json::Value;
use turnstile_e2e::{Harness, read_manifests};

fn manifest_files(dir: &str) -> Vec<std::path::PathBuf> {
    let dir = turnstile_e2e::e2e_dir().join("manifests").join(dir);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    files
}

/// The parts of a submitted document the server must return unchanged.
fn comparable(doc: &Value) -> Value {
    let mut d = doc.clone();
    if let Some(meta) = d.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.retain(|k, _| k == "name" || k == "labels" || k == "annotations");
    }
    d
}

/// Checks that the stored object still has every submitted field and reads into our Rust type.
fn check_round_trip(file: &Path, doc: &Value, stored: &Value) {
    let name = doc["metadata"]["name"].as_str().unwrap_or_default();
    let diffs = turnstile_api::manifest::missing_or_changed(&comparable(doc), stored);
    assert!(
        diffs.is_empty(),
        "{}: {name}: the apiserver dropped or changed fields:\n{}",
        file.display(),
        diffs.join("\n")
    );
    let kind = doc["kind"].as_str().unwrap_or_default();
    let typed = match kind {
        "ResourceFlavor" => retyped::<turnstile_api::ResourceFlavor>(stored),
        "ClusterQueue" => retyped::<turnstile_api::ClusterQueue>(stored),
        "Cohort" => retyped::<turnstile_api::Cohort>(stored),
        "LocalQueue" => retyped::<turnstile_api::LocalQueue>(stored),
        "Workload" => retyped::<turnstile_api::Workload>(stored),
        "WorkloadPriorityClass" => retyped::<turnstile_api::WorkloadPriorityClass>(stored),
        other => panic!("unexpected kind {other}"),
    };
    let typed = typed.unwrap_or_else(|e| {
        panic!(
            "{}: {name}: the stored object does not read into the Rust type: {e}",
            file.display()
        )
    });
    let lost = turnstile_api::manifest::missing_or_changed(&comparable(doc), &typed);
    assert!(
        lost.is_empty(),
        "{}: {name}: the Rust type loses fields of the stored object:\n{}",
        file.display(),
        lost.join("\n")
    );
}

/// The stored object read into its Rust type and written out again.
fn retyped<T: serde::de::DeserializeOwned + serde::Serialize>(
    stored: &Value,
) -> Result<Value, serde_json::Error> {
    serde_json::to_value(serde_json::from_value::<T>(stored.clone())?)
}

#[tokio::test]
async fn valid_manifests_are_stored_without_losing_fields() {
    let h = Harness::get().await.expect("control plane");
    h.run("valid", |ns| async move {
        let mut files = manifest_files("valid");
        assert!(files.len() >= 6, "expected manifests for every kind");
        let examples = turnstile_e2e::e2e_dir().join("../examples/demo-queue.yaml");
        assert!(examples.is_file(), "{} missing", examples.display());
        files.push(examples);
        let mut kinds = std::collections::BTreeSet::new();
        for file in files {
            for doc in read_manifests(&file).expect("manifest parses") {
                kinds.insert(doc["kind"].as_str().unwrap_or_default().to_owned());
                let written = ns
                    .apply_doc(&doc)
                    .await
                    .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
                check_round_trip(&file, &doc, &written);
                let name = doc["metadata"]["name"].as_str().unwrap_or_default();
                let (api, _, _) = ns
                    .dynamic_api(
                        doc["apiVersion"].as_str().unwrap_or_default(),
                        doc["kind"].as_str().unwrap_or_default(),
                    )
                    .expect("api");
                let read = api
                    .get(name)
                    .await
                    .unwrap_or_else(|e| panic!("reading {name}: {e}"));
                check_round_trip(&file, &doc, &serde_json::to_value(&read).expect("encodes"));
            }
        }
        for kind in [
            "ResourceFlavor",
            "ClusterQueue",
            "Cohort",
            "LocalQueue",
            "Workload",
            "WorkloadPriorityClass",
        ] {
            assert!(kinds.contains(kind), "no valid manifest for {kind}");
        }
    })
    .await;
}

#[tokio::test]
async fn defaults_are_applied_as_kueue_does() {
    let h = Harness::get().await.expect("control plane");
    h.run("defaults", |ns| async move {
        let cq = serde_json::json!({
            "apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "ClusterQueue",
            "metadata": {"name": format!("{}-cq", ns.name)}, "spec": {}
        });
        let stored = ns.apply_doc(&cq).await.expect("ClusterQueue accepted");
        let spec = &stored["spec"];
        assert_eq!(spec["queueingStrategy"], "BestEffortFIFO");
        assert_eq!(spec["stopPolicy"], "None");
        assert_eq!(spec["flavorFungibility"], serde_json::json!({"whenCanBorrow": "MayStopSearch", "whenCanPreempt": "TryNextFlavor"}));
        assert_eq!(
            spec["preemption"],
            serde_json::json!({"reclaimWithinCohort": "Never", "withinClusterQueue": "Never", "borrowWithinCohort": {"policy": "Never"}})
        );
        assert!(spec.get("namespaceSelector").is_none(), "a nil namespaceSelector must stay nil (selects nothing)");

        let wl = serde_json::json!({
            "apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "Workload", "metadata": {"name": "wl"},
            "spec": {"podSets": [{"template": {"spec": {"containers": [{"name": "c", "image": "i"}]}}}]}
        });
        let stored = ns.apply_doc(&wl).await.expect("Workload accepted");
        assert_eq!(stored["spec"]["active"], true);
        assert_eq!(stored["spec"]["podSets"][0]["name"], "main");
        assert_eq!(stored["spec"]["podSets"][0]["count"], 1);
        let typed: turnstile_api::Workload = serde_json::from_value(stored).expect("typed");
        assert!(typed.spec.is_active());
        assert_eq!(typed.spec.effective_priority(), 0);

        let fs = serde_json::json!({
            "apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "LocalQueue", "metadata": {"name": "lq"},
            "spec": {"clusterQueue": "cq", "fairSharing": {}}
        });
        let stored = ns.apply_doc(&fs).await.expect("LocalQueue accepted");
        assert_eq!(stored["spec"]["fairSharing"]["weight"], 1);
        assert_eq!(stored["spec"]["stopPolicy"], "None");

        let rf = serde_json::json!({
            "apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "ResourceFlavor", "metadata": {"name": format!("{}-rf", ns.name)}
        });
        let stored = ns.apply_doc(&rf).await.expect("a ResourceFlavor without spec is valid");
        let typed: turnstile_api::ResourceFlavor = serde_json::from_value(stored).expect("reads without spec");
        assert!(typed.spec.node_labels.is_empty());
    })
    .await;
}

/// Reads `# field:` and `# message:` from the head of an invalid manifest.
fn expectation(file: &Path) -> (String, String) {
    let text = std::fs::read_to_string(file).expect("readable");
    let get = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("# {key}: ")))
            .unwrap_or_else(|| panic!("{}: missing '# {key}:' line", file.display()))
            .to_owned()
    };
    (get("field"), get("message"))
}

#[tokio::test]
async fn invalid_manifests_are_rejected_with_field_paths() {
    let h = Harness::get().await.expect("control plane");
    h.run("invalid", |ns| async move {
        let files = manifest_files("invalid");
        assert!(
            files.len() >= 30,
            "expected one invalid manifest per rule, found {}",
            files.len()
        );
        let mut failures = Vec::new();
        for file in &files {
            let (field, message) = expectation(file);
            let docs = read_manifests(file).expect("manifest parses");
            let (last, setup) = docs.split_last().expect("at least one document");
            for doc in setup {
                ns.apply_doc(doc)
                    .await
                    .unwrap_or_else(|e| panic!("{}: setup document rejected: {e}", file.display()));
            }
            match ns.apply_doc(last).await {
                Ok(_) => failures.push(format!(
                    "{}: accepted, expected {field}: {message}",
                    file.display()
                )),
                Err(e) => {
                    let text = e.to_string();
                    if !text.contains(&format!("{field}: ")) || !text.contains(&message) {
                        failures.push(format!(
                            "{}: expected `{field}: ...{message}`, got: {text}",
                            file.display()
                        ));
                    }
                }
            }
        }
        assert!(
            failures.is_empty(),
            "{} of {} invalid manifests misbehaved:\n{}",
            failures.len(),
            files.len(),
            failures.join("\n")
        );
    })
    .await;
}

#[tokio::test]
async fn crds_are_established_and_kubectl_shows_kueue_columns() {
    let h = Harness::get().await.expect("control plane");
    h.run("columns", |ns| async move {
        let cq = format!("{}-cq", ns.name);
        let setup = [
            serde_json::json!({"apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "ClusterQueue", "metadata": {"name": cq},
                "spec": {"cohortName": "team", "queueingStrategy": "StrictFIFO"},
                "status": {"pendingWorkloads": 3, "admittedWorkloads": 2, "reservingWorkloads": 2}}),
            serde_json::json!({"apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "LocalQueue", "metadata": {"name": "lq"},
                "spec": {"clusterQueue": cq}, "status": {"pendingWorkloads": 1, "admittedWorkloads": 4}}),
            serde_json::json!({"apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "WorkloadPriorityClass",
                "metadata": {"name": format!("{}-wpc", ns.name)}, "value": 77}),
            serde_json::json!({"apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "Workload", "metadata": {"name": "wl"},
                "spec": {"queueName": "lq", "podSets": [{"name": "main", "count": 1, "template": {"spec": {"containers": [{"name": "c", "image": "i"}]}}}]},
                "status": {"conditions": [
                    {"type": "QuotaReserved", "status": "True", "reason": "QuotaReserved", "message": "m", "lastTransitionTime": "2026-11-25T00:00:00Z"},
                    {"type": "Admitted", "status": "True", "reason": "Admitted", "message": "m", "lastTransitionTime": "2026-11-25T00:00:00Z"}],
                    "admission": {"clusterQueue": cq, "podSetAssignments": [{"name": "main", "count": 1}]}}}),
        ];
        for doc in &setup {
            ns.apply_doc(doc).await.unwrap_or_else(|e| panic!("{e}"));
        }
        let h = &ns.harness;
        let out = h.kubectl(&["get", "cq", &cq]).expect("kubectl get cq");
        assert_row(&out, &["NAME", "COHORT", "PENDING WORKLOADS"], &[cq.as_str(), "team", "3"]);
        assert!(!out.contains("STRATEGY"), "Strategy is a wide column:\n{out}");
        let out = h.kubectl(&["get", "clusterqueues", &cq, "-o", "wide"]).expect("wide");
        assert_row(&out, &["NAME", "COHORT", "STRATEGY", "PENDING WORKLOADS", "ADMITTED WORKLOADS"], &[cq.as_str(), "team", "StrictFIFO", "3", "2"]);
        let out = h.kubectl(&["get", "lq", "-n", &ns.name]).expect("kubectl get lq");
        assert_row(&out, &["NAME", "CLUSTERQUEUE", "PENDING WORKLOADS", "ADMITTED WORKLOADS"], &["lq", cq.as_str(), "1", "4"]);
        for short in ["queue", "queues", "localqueue"] {
            h.kubectl(&["get", short, "lq", "-n", &ns.name]).unwrap_or_else(|e| panic!("short name {short}: {e}"));
        }
        let out = h.kubectl(&["get", "wpc", &format!("{}-wpc", ns.name)]).expect("kubectl get wpc");
        assert_row(&out, &["NAME", "VALUE"], &[&format!("{}-wpc", ns.name), "77"]);
        let out = h.kubectl(&["get", "kwl", "-n", &ns.name]).expect("kubectl get kwl");
        assert_row(&out, &["NAME", "QUEUE", "RESERVED IN", "ADMITTED", "FINISHED", "AGE"], &["wl", "lq", cq.as_str(), "True"]);
        let selected = h
            .kubectl(&["get", "workloads", "-n", &ns.name, "--field-selector", &format!("status.admission.clusterQueue={cq}"), "-o", "name"])
            .expect("field selector on status.admission.clusterQueue");
        assert_eq!(selected.trim(), "workload.kueue.x-k8s.io/wl");
        for short in ["rf", "flavor", "flavors", "co", "kueueworkload", "kueueworkloads"] {
            let ns_args = if short.starts_with("kueue") { vec!["-n", ns.name.as_str()] } else { vec![] };
            let mut args = vec!["get", short];
            args.extend(ns_args);
            h.kubectl(&args).unwrap_or_else(|e| panic!("short name {short}: {e}"));
        }
    })
    .await;
}

/// Asserts that the table's header holds `columns` in order and some row starts with `cells`.
fn assert_row(table: &str, columns: &[&str], cells: &[&str]) {
    let mut lines = table.lines();
    let header = lines.next().unwrap_or_default();
    let mut at = 0;
    for col in columns {
        match header[at..].find(col) {
            Some(i) => at += i + col.len(),
            None => panic!("column {col} missing or out of order in:\n{table}"),
        }
    }
    let found = lines.any(|row| {
        let fields: Vec<&str> = row.split_whitespace().collect();
        cells
            .iter()
            .enumerate()
            .all(|(i, c)| fields.get(i) == Some(c))
    });
    assert!(found, "no row starting with {cells:?} in:\n{table}");
}
