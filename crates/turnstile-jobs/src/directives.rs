//! Scheduling directives: what admission writes into a suspended Job's pod template (the
//! admitted flavors' node labels and tolerations, Kueue's pod labels and the workload
//! annotation), and how a stopped Job's template is put back exactly as its Workload recorded it.

use std::collections::BTreeMap;

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{PodTemplateSpec, Toleration};
use serde_json::{Map, Value, json};
use turnstile_api as api;
use turnstile_api::keys::{annotations, labels};

/// Labels the Job controller owns on the pod template; a restore keeps their current values.
const JOB_CONTROLLER_LABELS: [&str; 3] = [
    "controller-uid",
    "batch.kubernetes.io/controller-uid",
    "job-name",
];

fn is_dns_label(v: &str) -> bool {
    !v.is_empty()
        && v.len() <= 63
        && v.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !v.starts_with('-')
        && !v.ends_with('-')
}

fn add_all(
    into: &mut BTreeMap<String, String>,
    from: &BTreeMap<String, String>,
    what: &str,
) -> Result<(), String> {
    for (k, v) in from {
        match into.get(k) {
            Some(old) if old != v => {
                return Err(format!(
                    "{what} key {k} already has the value {old:?}, cannot set {v:?}"
                ));
            }
            _ => {
                into.insert(k.clone(), v.clone());
            }
        }
    }
    Ok(())
}

/// What admission says about the Job's pod set.
#[derive(Clone, Debug, Default)]
pub struct Admitted<'a> {
    /// The Workload's name.
    pub workload: &'a str,
    /// Its LocalQueue.
    pub local_queue: &'a str,
    /// Its ClusterQueue.
    pub cluster_queue: &'a str,
    /// Flavor per resource of pod set `main`.
    pub flavors: Vec<&'a str>,
    /// Admitted pod count (partial admission may lower it).
    pub count: Option<i32>,
    /// What the AdmissionChecks ask of pod set `main` (`podSetUpdates` of their states).
    pub pod_set_updates: Vec<&'a api::PodSetUpdate>,
}

/// The merge patch that starts a suspended Job with the admitted flavors' directives, or the
/// reason it cannot (a key already set to another value: Kueue finishes the Workload with
/// `FailedToStart`).
pub fn start_patch(
    job: &Job,
    admitted: &Admitted<'_>,
    flavors: &BTreeMap<String, api::ResourceFlavor>,
) -> Result<Value, String> {
    let template = job.spec.as_ref().map(|s| &s.template);
    let pod_spec = template.and_then(|t| t.spec.as_ref());
    let meta = template.and_then(|t| t.metadata.as_ref());
    let mut node_selector = pod_spec
        .and_then(|s| s.node_selector.clone())
        .unwrap_or_default();
    let mut tolerations: Vec<Toleration> = pod_spec
        .and_then(|s| s.tolerations.clone())
        .unwrap_or_default();
    let mut seen = std::collections::BTreeSet::new();
    for f in &admitted.flavors {
        if !seen.insert(*f) {
            continue;
        }
        let Some(flavor) = flavors.get(*f) else {
            return Err(format!("flavor {f} not found"));
        };
        add_all(&mut node_selector, &flavor.spec.node_labels, "nodeSelector")?;
        for t in &flavor.spec.tolerations {
            if !tolerations.contains(t) {
                tolerations.push(t.clone());
            }
        }
    }
    let mut pod_labels = BTreeMap::new();
    let mut pod_annotations = BTreeMap::new();
    for u in &admitted.pod_set_updates {
        add_all(&mut node_selector, &u.node_selector, "nodeSelector")?;
        add_all(&mut pod_labels, &u.labels, "label")?;
        add_all(&mut pod_annotations, &u.annotations, "annotation")?;
        for t in &u.tolerations {
            if !tolerations.contains(t) {
                tolerations.push(t.clone());
            }
        }
    }
    pod_labels.insert(labels::POD_SET.to_owned(), "main".to_owned());
    pod_labels.insert(
        labels::LOCAL_QUEUE_NAME.to_owned(),
        admitted.local_queue.to_owned(),
    );
    if is_dns_label(admitted.cluster_queue) {
        pod_labels.insert(
            labels::CLUSTER_QUEUE_NAME.to_owned(),
            admitted.cluster_queue.to_owned(),
        );
    }
    let mut all_labels = meta.and_then(|m| m.labels.clone()).unwrap_or_default();
    add_all(&mut all_labels, &pod_labels, "label")?;
    pod_annotations.insert(
        annotations::WORKLOAD.to_owned(),
        admitted.workload.to_owned(),
    );
    let mut all_annotations = meta.and_then(|m| m.annotations.clone()).unwrap_or_default();
    add_all(&mut all_annotations, &pod_annotations, "annotation")?;
    let mut spec = json!({
        "suspend": false,
        "template": {
            "metadata": {"labels": pod_labels, "annotations": pod_annotations},
            "spec": {"nodeSelector": node_selector, "tolerations": tolerations},
        },
    });
    if crate::workload::min_count(job).is_some()
        && let Some(c) = admitted.count
    {
        spec["parallelism"] = json!(c);
    }
    Ok(json!({ "spec": spec }))
}

/// `from` replaced exactly by `to` as a JSON merge patch (keys only in `from` become null).
fn replace_map(from: &BTreeMap<String, String>, to: &BTreeMap<String, String>) -> Value {
    let mut m = Map::new();
    for k in from.keys() {
        if !to.contains_key(k) {
            m.insert(k.clone(), Value::Null);
        }
    }
    for (k, v) in to {
        if from.get(k) != Some(v) {
            m.insert(k.clone(), Value::String(v.clone()));
        }
    }
    Value::Object(m)
}

/// The merge patch that puts a stopped Job's scheduling directives back as its Workload recorded
/// them (labels, annotations, nodeSelector, tolerations, scheduling gates; the Job controller's
/// own labels keep their current values), sets parallelism back to the pod-set count when partial
/// admission changed it, and clears the `stopping` annotation.
pub fn restore_patch(job: &Job, original: &PodTemplateSpec, count: i32) -> Value {
    let current = job.spec.as_ref().map(|s| &s.template);
    let cur_meta = current.and_then(|t| t.metadata.as_ref());
    let cur_spec = current.and_then(|t| t.spec.as_ref());
    let orig_meta = original.metadata.as_ref();
    let orig_spec = original.spec.as_ref();
    let cur_labels = cur_meta.and_then(|m| m.labels.clone()).unwrap_or_default();
    let mut want_labels = orig_meta.and_then(|m| m.labels.clone()).unwrap_or_default();
    for k in JOB_CONTROLLER_LABELS {
        if let Some(v) = cur_labels.get(k) {
            want_labels.insert(k.to_owned(), v.clone());
        }
    }
    let cur_annotations = cur_meta
        .and_then(|m| m.annotations.clone())
        .unwrap_or_default();
    let want_annotations = orig_meta
        .and_then(|m| m.annotations.clone())
        .unwrap_or_default();
    let cur_ns = cur_spec
        .and_then(|s| s.node_selector.clone())
        .unwrap_or_default();
    let want_ns = orig_spec
        .and_then(|s| s.node_selector.clone())
        .unwrap_or_default();
    let tolerations = orig_spec.and_then(|s| s.tolerations.clone());
    let gates = orig_spec.and_then(|s| s.scheduling_gates.clone());
    let mut spec = json!({
        "template": {
            "metadata": {
                "labels": replace_map(&cur_labels, &want_labels),
                "annotations": replace_map(&cur_annotations, &want_annotations),
            },
            "spec": {
                "nodeSelector": replace_map(&cur_ns, &want_ns),
                "tolerations": tolerations,
                "schedulingGates": gates,
            },
        },
    });
    if crate::workload::min_count(job).is_some() {
        spec["parallelism"] = json!(count);
    }
    json!({
        "metadata": {"annotations": {annotations::STOPPING: Value::Null}},
        "spec": spec,
    })
}

/// Whether the Job's template differs from the Workload's record in a directive a restore sets.
pub fn needs_restore(job: &Job, original: &PodTemplateSpec) -> bool {
    let patch = restore_patch(job, original, crate::workload::pod_count(job));
    let t = &patch["spec"]["template"];
    let empty = |v: &Value| v.as_object().is_none_or(Map::is_empty);
    let cur_spec = job.spec.as_ref().and_then(|s| s.template.spec.as_ref());
    !empty(&t["metadata"]["labels"])
        || !empty(&t["metadata"]["annotations"])
        || !empty(&t["spec"]["nodeSelector"])
        || cur_spec
            .and_then(|s| s.tolerations.clone())
            .unwrap_or_default()
            != original
                .spec
                .as_ref()
                .and_then(|s| s.tolerations.clone())
                .unwrap_or_default()
        || cur_spec
            .and_then(|s| s.scheduling_gates.clone())
            .unwrap_or_default()
            != original
                .spec
                .as_ref()
                .and_then(|s| s.scheduling_gates.clone())
                .unwrap_or_default()
}
