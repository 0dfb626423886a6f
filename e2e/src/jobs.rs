//! Helpers for tests that run batch/v1 Jobs through Turnstile on the plane.

use std::collections::BTreeMap;

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams, Patch, PatchParams};
use serde_json::{Value, json};
use turnstile_api::Workload;

use crate::TestNs;

/// The label that opts a Job's namespace and the Job into the URL-registered webhook of the Job
/// tests.
pub const OPT_IN: (&str, &str) = ("e2e.turnstile.dev/webhook", "jobs");

/// A Workload's `status.schedulingStats.evictions` as `(reason, underlyingCause, count)`.
pub fn eviction_stats(w: &Workload) -> Vec<(String, String, i32)> {
    w.status
        .as_ref()
        .and_then(|s| s.scheduling_stats.as_ref())
        .map(|s| {
            s.evictions
                .iter()
                .map(|e| (e.reason.clone(), e.underlying_cause.clone(), e.count))
                .collect()
        })
        .unwrap_or_default()
}

/// A Workload condition.
pub fn cond<'a>(
    w: &'a Workload,
    t: &str,
) -> Option<&'a k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition> {
    crate::workload_condition(w, t)
}

/// Whether condition `t` is True.
pub fn is_true(w: &Workload, t: &str) -> bool {
    cond(w, t).is_some_and(|c| c.status == "True")
}

/// Holds quota and is not finished.
pub fn reserved(w: &Workload) -> bool {
    is_true(w, "QuotaReserved") && !is_true(w, "Finished")
}

/// Pod annotations for kwok: start at once, then complete (or fail) after exactly `delay`
/// (kwok's stages default to 1 s plus up to 5 s of jitter each).
pub fn kwok_timing(delay: &str) -> Value {
    let mut a = serde_json::Map::new();
    for stage in [
        "pod-create",
        "pod-init-container-running",
        "pod-init-container-completed",
        "pod-ready",
    ] {
        a.insert(format!("{stage}.stage.kwok.x-k8s.io/delay"), "0s".into());
        a.insert(
            format!("{stage}.stage.kwok.x-k8s.io/jitter-delay"),
            "0s".into(),
        );
    }
    for stage in ["pod-complete", "pod-fail"] {
        a.insert(format!("{stage}.stage.kwok.x-k8s.io/delay"), delay.into());
        a.insert(
            format!("{stage}.stage.kwok.x-k8s.io/jitter-delay"),
            delay.into(),
        );
    }
    Value::Object(a)
}

/// A queued Job (in LocalQueue `lq`, opted into the webhook) of one pod asking for `cpu`, whose pod completes after `delay` (kwok).
///
/// # Panics
/// Never for valid names.
pub fn job(name: &str, cpu: &str, delay: &str, extra_labels: &Value, pod_labels: &Value) -> Job {
    let mut labels = json!({"kueue.x-k8s.io/queue-name": "lq", OPT_IN.0: OPT_IN.1});
    if let (Value::Object(l), Value::Object(e)) = (&mut labels, extra_labels) {
        l.extend(e.clone());
    }
    serde_json::from_value(json!({"metadata": {"name": name, "labels": labels},
        "spec": {"backoffLimit": 0, "template": {
            "metadata": {"labels": pod_labels, "annotations": kwok_timing(delay)},
            "spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox",
                "resources": {"requests": {"cpu": cpu}}}]}}}}))
    .unwrap_or_else(|e| panic!("{e}"))
}

/// Whether a Job has completed (`Complete=True`).
pub fn complete(j: &Job) -> bool {
    j.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| {
            cs.iter()
                .any(|c| c.type_ == "Complete" && c.status == "True")
        })
}

/// The Workload a Job owns (by owner name), if any.
pub fn of_job<'a>(all: &'a BTreeMap<String, Workload>, job: &str) -> Option<&'a Workload> {
    all.values().find(|w| {
        w.metadata
            .owner_references
            .iter()
            .flatten()
            .any(|r| r.kind == "Job" && r.name == job)
    })
}

/// The pods of a Job.
///
/// # Panics
/// When the list fails.
pub async fn pods_of(ns: &TestNs, job: &str) -> Vec<Pod> {
    Api::<Pod>::namespaced(ns.client(), &ns.name)
        .list(&ListParams::default().labels(&format!("batch.kubernetes.io/job-name={job}")))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .items
}

/// A Job of the test namespace.
///
/// # Panics
/// When it cannot be read.
pub async fn get_job(ns: &TestNs, name: &str) -> Job {
    Api::<Job>::namespaced(ns.client(), &ns.name)
        .get(name)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

/// A ClusterQueue with one flavor's cpu quota, selecting namespaces labelled
/// `e2e.turnstile.dev/jobs: <selector>`.
pub fn queue_objects(
    cq: &str,
    flavor: &str,
    selector: &str,
    nominal: &str,
    preemption: &Value,
) -> Value {
    json!({"apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "ClusterQueue", "metadata": {"name": cq, "labels": {OPT_IN.0: OPT_IN.1}},
        "spec": {"namespaceSelector": {"matchLabels": {"e2e.turnstile.dev/jobs": selector}},
            "preemption": preemption,
            "resourceGroups": [{"coveredResources": ["cpu"], "flavors": [{"name": flavor,
                "resources": [{"name": "cpu", "nominalQuota": nominal}]}]}]}})
}

/// The ClusterQueue `cq`, LocalQueue `lq` in the namespace, and the namespace label the
/// ClusterQueue selects.
///
/// # Panics
/// When an API call fails.
pub async fn setup(ns: &TestNs, cq: &str, flavor: &str, nominal: &str, preemption: Value) {
    let sel = ns.name.clone();
    ns.apply_doc(&queue_objects(cq, flavor, &sel, nominal, &preemption))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    ns.apply_doc(
        &json!({"apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "LocalQueue",
        "metadata": {"name": "lq"}, "spec": {"clusterQueue": cq}}),
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    // The namespace label the ClusterQueue selects.
    Api::<k8s_openapi::api::core::v1::Namespace>::all(ns.client())
        .patch(
            &ns.name,
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"e2e.turnstile.dev/jobs": sel}}})),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
}

/// The cluster-scoped objects the Job tests share: ResourceFlavor `flavor` on the on-demand nodes
/// (opted into the test webhook) and one WorkloadPriorityClass per `(name, value)`.
pub async fn flavor_and_priority_classes(
    client: &kube::Client,
    flavor: &str,
    priority_classes: &[(&str, i32)],
) {
    let flavor_doc = json!({"apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "ResourceFlavor",
        "metadata": {"name": flavor, "labels": {OPT_IN.0: OPT_IN.1}},
        "spec": {"nodeLabels": {"instance-type": "on-demand"}}});
    crate::apply_cluster_object(client, &flavor_doc).await;
    for (name, value) in priority_classes {
        let doc = json!({"apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "WorkloadPriorityClass",
            "metadata": {"name": name}, "value": value});
        crate::apply_cluster_object(client, &doc).await;
    }
}
