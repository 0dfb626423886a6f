//! Directives written at start and restored at stop.

// Test code: failures are panics.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::needless_pass_by_value
)]

use std::collections::BTreeMap;

use k8s_openapi::api::batch::v1::Job;
use serde_json::{Value, json};
use turnstile_api as api;
use turnstile_jobs::directives::{Admitted, needs_restore, restore_patch, start_patch};

fn job(template: Value, annotations: Value) -> Job {
    serde_json::from_value(
        json!({"metadata": {"name": "pi", "namespace": "ns", "annotations": annotations},
        "spec": {"suspend": true, "parallelism": 4, "template": template}}),
    )
    .unwrap()
}

fn flavors() -> BTreeMap<String, api::ResourceFlavor> {
    let f: api::ResourceFlavor =
        serde_json::from_value(json!({"metadata": {"name": "spot"}, "spec": {
        "nodeLabels": {"instance-type": "spot"},
        "tolerations": [{"key": "spot", "operator": "Exists", "effect": "NoSchedule"}]}}))
        .unwrap();
    [("spot".to_owned(), f)].into()
}

fn admitted(count: Option<i32>) -> Admitted<'static> {
    Admitted {
        workload: "job-pi-abcde",
        local_queue: "lq",
        cluster_queue: "cq",
        flavors: vec!["spot", "spot"],
        count,
        pod_set_updates: vec![],
    }
}

#[test]
fn start_applies_the_admission_checks_pod_set_updates() {
    let j = job(
        json!({"metadata": {"labels": {"app": "x"}}, "spec": {"containers": []}}),
        json!({}),
    );
    let update: turnstile_api::PodSetUpdate = serde_json::from_value(json!({"name": "main",
        "labels": {"checked": "yes"}, "annotations": {"by": "ac"}, "nodeSelector": {"pool": "p1"},
        "tolerations": [{"key": "pool", "operator": "Exists", "effect": "NoSchedule"}]}))
    .unwrap();
    let a = Admitted {
        pod_set_updates: vec![&update],
        ..admitted(None)
    };
    let p = start_patch(&j, &a, &flavors()).unwrap();
    let t = &p["spec"]["template"];
    assert_eq!(t["metadata"]["labels"]["checked"], "yes");
    assert_eq!(t["metadata"]["annotations"]["by"], "ac");
    assert_eq!(t["spec"]["nodeSelector"]["pool"], "p1");
    assert_eq!(t["spec"]["nodeSelector"]["instance-type"], "spot");
    assert!(
        t["spec"]["tolerations"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["key"] == "pool")
    );
    // An update that contradicts the Job is refused (Kueue: FailedToStart).
    let clash: turnstile_api::PodSetUpdate =
        serde_json::from_value(json!({"name": "main", "labels": {"app": "y"}})).unwrap();
    let a = Admitted {
        pod_set_updates: vec![&clash],
        ..admitted(None)
    };
    assert!(start_patch(&j, &a, &flavors()).is_err());
}

#[test]
fn start_writes_the_flavor_directives() {
    let j = job(
        json!({"metadata": {"labels": {"app": "x"}}, "spec": {"nodeSelector": {"zone": "a"}, "containers": []}}),
        json!({}),
    );
    let p = start_patch(&j, &admitted(Some(2)), &flavors()).unwrap();
    assert_eq!(p["spec"]["suspend"], false);
    assert_eq!(
        p["spec"]["template"]["spec"]["nodeSelector"],
        json!({"zone": "a", "instance-type": "spot"})
    );
    assert_eq!(
        p["spec"]["template"]["spec"]["tolerations"],
        json!([{"key": "spot", "operator": "Exists", "effect": "NoSchedule"}])
    );
    assert_eq!(
        p["spec"]["template"]["metadata"]["labels"],
        json!({"kueue.x-k8s.io/podset": "main", "kueue.x-k8s.io/local-queue-name": "lq", "kueue.x-k8s.io/cluster-queue-name": "cq"})
    );
    assert_eq!(
        p["spec"]["template"]["metadata"]["annotations"],
        json!({"kueue.x-k8s.io/workload": "job-pi-abcde"})
    );
    assert!(
        p["spec"].get("parallelism").is_none(),
        "no partial admission asked for"
    );
    let partial = job(
        json!({"spec": {"containers": []}}),
        json!({"kueue.x-k8s.io/job-min-parallelism": "1"}),
    );
    assert_eq!(
        start_patch(&partial, &admitted(Some(2)), &flavors()).unwrap()["spec"]["parallelism"],
        2
    );
}

#[test]
fn start_refuses_a_conflicting_directive() {
    let j = job(
        json!({"spec": {"nodeSelector": {"instance-type": "on-demand"}, "containers": []}}),
        json!({}),
    );
    let e = start_patch(&j, &admitted(None), &flavors()).unwrap_err();
    assert!(e.contains("nodeSelector key instance-type"), "{e}");
    let missing = Admitted {
        flavors: vec!["gone"],
        ..admitted(None)
    };
    assert_eq!(
        start_patch(&j, &missing, &flavors()).unwrap_err(),
        "flavor gone not found"
    );
}

#[test]
fn restore_puts_the_recorded_template_back() {
    let original: k8s_openapi::api::core::v1::PodTemplateSpec = serde_json::from_value(json!({
        "metadata": {"labels": {"app": "x"}}, "spec": {"nodeSelector": {"zone": "a"}, "containers": []}}))
    .unwrap();
    let started = job(
        json!({"metadata": {"labels": {"app": "x", "job-name": "pi", "kueue.x-k8s.io/podset": "main"}, "annotations": {"kueue.x-k8s.io/workload": "w"}},
            "spec": {"nodeSelector": {"zone": "a", "instance-type": "spot"}, "tolerations": [{"key": "spot", "operator": "Exists"}], "containers": []}}),
        json!({"kueue.x-k8s.io/stopping": "true"}),
    );
    assert!(needs_restore(&started, &original));
    let p = restore_patch(&started, &original, 4);
    assert_eq!(
        p["metadata"]["annotations"],
        json!({"kueue.x-k8s.io/stopping": null})
    );
    assert_eq!(
        p["spec"]["template"]["metadata"]["labels"],
        json!({"kueue.x-k8s.io/podset": null}),
        "job-name kept"
    );
    assert_eq!(
        p["spec"]["template"]["metadata"]["annotations"],
        json!({"kueue.x-k8s.io/workload": null})
    );
    assert_eq!(
        p["spec"]["template"]["spec"]["nodeSelector"],
        json!({"instance-type": null})
    );
    assert_eq!(p["spec"]["template"]["spec"]["tolerations"], Value::Null);
    let pristine = job(
        json!({"metadata": {"labels": {"app": "x"}}, "spec": {"nodeSelector": {"zone": "a"}, "containers": []}}),
        json!({}),
    );
    assert!(!needs_restore(&pristine, &original));
}
