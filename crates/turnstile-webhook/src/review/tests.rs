// Table-driven tests: long tables and by-value fixtures read best as they are.
#![allow(
    clippy::too_many_lines,
    clippy::type_complexity,
    clippy::needless_pass_by_value,
    clippy::semicolon_if_nothing_returned
)]

use serde_json::{Value, json};

use super::*;

struct Fixed(JobContext);

impl ReviewContext for Fixed {
    fn job_context(&self, _: &AdmissionRequest<DynamicObject>, _: &Job) -> JobContext {
        self.0.clone()
    }
}

fn review(
    kind: (&str, &str, &str),
    resource: &str,
    op: &str,
    object: Value,
    old: Option<Value>,
) -> Vec<u8> {
    let (group, version, k) = kind;
    serde_json::to_vec(&json!({
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": "0b1f4c2e-1111-4222-8333-444455556666",
            "kind": {"group": group, "version": version, "kind": k},
            "resource": {"group": group, "version": version, "resource": resource},
            "name": "x", "namespace": "ns", "operation": op,
            "userInfo": {"username": "alice"},
            "object": object, "oldObject": old, "dryRun": false
        }
    }))
    .unwrap()
}

fn response(reply: &Reply) -> Value {
    assert_eq!(
        reply.status,
        200,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    let v: Value = serde_json::from_slice(&reply.body).unwrap();
    assert_eq!(v["apiVersion"], "admission.k8s.io/v1");
    assert_eq!(v["response"]["uid"], "0b1f4c2e-1111-4222-8333-444455556666");
    v["response"].clone()
}

fn job_obj(suspend: Option<bool>) -> Value {
    let mut j = json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "x", "namespace": "ns",
        "labels": {"kueue.x-k8s.io/queue-name": "lq"}}, "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "i"}]}}}});
    if let Some(s) = suspend {
        j["spec"]["suspend"] = s.into();
    }
    j
}

#[test]
fn job_create_gets_a_suspend_patch_that_applies() {
    let body = review(
        ("batch", "v1", "Job"),
        "jobs",
        "CREATE",
        job_obj(Some(false)),
        None,
    );
    let resp = response(&handle(
        paths::MUTATE_JOB,
        &body,
        &Fixed(JobContext::default()),
    ));
    assert_eq!(resp["allowed"], true);
    assert_eq!(resp["patchType"], "JSONPatch", "{resp}");
    // kube serializes the patch bytes as a JSON array of numbers, which the apiserver accepts.
    let patch: Vec<u8> = serde_json::from_value(resp["patch"].clone()).unwrap();
    let patch: json_patch::Patch = serde_json::from_slice(&patch).unwrap();
    let mut obj = job_obj(Some(false));
    json_patch::patch(&mut obj, &patch).unwrap();
    assert_eq!(obj["spec"]["suspend"], true);
}

#[test]
fn invalid_objects_are_denied_with_field_paths() {
    let cq = json!({"apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "ClusterQueue", "metadata": {"name": "x"},
        "spec": {"cohortName": "c", "resourceGroups": [{"coveredResources": ["cpu"], "flavors": [
            {"name": "f", "resources": [{"name": "cpu", "nominalQuota": "1", "lendingLimit": "2"}]}]}]}});
    let body = review(
        ("kueue.x-k8s.io", "v1beta2", "ClusterQueue"),
        "clusterqueues",
        "CREATE",
        cq,
        None,
    );
    let resp = response(&handle(
        paths::VALIDATE_CLUSTER_QUEUE,
        &body,
        &Fixed(JobContext::default()),
    ));
    assert_eq!(resp["allowed"], false);
    // As Kueue's webhooks answer: 403 Forbidden, which clients test with IsForbidden.
    assert_eq!(
        (&resp["status"]["code"], &resp["status"]["reason"]),
        (&json!(403), &json!("Forbidden"))
    );
    let msg = resp["status"]["message"].as_str().unwrap();
    assert!(msg.contains(r#"spec.resourceGroups[0].flavors[0].resources[0].lendingLimit: Invalid value: "2": must be less than or equal to the nominalQuota"#), "{msg}");
}

#[test]
fn finalizer_is_added_on_create() {
    let rf = json!({"apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "ResourceFlavor", "metadata": {"name": "x"}});
    let body = review(
        ("kueue.x-k8s.io", "v1beta2", "ResourceFlavor"),
        "resourceflavors",
        "CREATE",
        rf,
        None,
    );
    let resp = response(&handle(
        paths::MUTATE_RESOURCE_FLAVOR,
        &body,
        &Fixed(JobContext::default()),
    ));
    assert_eq!(resp["allowed"], true);
    assert_eq!(resp["patchType"], "JSONPatch");
}

#[test]
fn bad_input_gets_clear_errors_not_panics() {
    let ctx = Fixed(JobContext::default());
    let cases: Vec<(&str, Vec<u8>, u16, &str)> = vec![
        (
            paths::VALIDATE_JOB,
            b"not json".to_vec(),
            400,
            "not an AdmissionReview",
        ),
        (
            paths::VALIDATE_JOB,
            b"{}".to_vec(),
            400,
            "not an AdmissionReview",
        ),
        (
            paths::VALIDATE_JOB,
            br#"{"apiVersion":"admission.k8s.io/v1beta1","kind":"AdmissionReview"}"#.to_vec(),
            400,
            "expected admission.k8s.io/v1",
        ),
        (
            paths::VALIDATE_JOB,
            br#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}"#.to_vec(),
            400,
            "without a request",
        ),
        ("/nowhere", b"{}".to_vec(), 404, "no webhook"),
        (
            paths::VALIDATE_JOB,
            vec![b' '; MAX_BODY_BYTES + 1],
            413,
            "exceeds",
        ),
    ];
    for (path, body, status, text) in cases {
        let reply = handle(path, &body, &ctx);
        assert_eq!(reply.status, status, "{path}");
        assert!(
            String::from_utf8_lossy(&reply.body).contains(text),
            "{}",
            String::from_utf8_lossy(&reply.body)
        );
    }
    // A Pod sent to the Job webhook: a clear denial, not a crash.
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "x"}});
    let resp = response(&handle(
        paths::VALIDATE_JOB,
        &review(("", "v1", "Pod"), "pods", "CREATE", pod, None),
        &ctx,
    ));
    assert_eq!(resp["allowed"], false);
    assert!(
        resp["status"]["message"]
            .as_str()
            .unwrap()
            .contains("this webhook reviews batch/v1 Job, got /v1 Pod")
    );
    // A Job whose spec has the wrong shape.
    let bad = json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "x"}, "spec": {"parallelism": "many"}});
    let resp = response(&handle(
        paths::VALIDATE_JOB,
        &review(("batch", "v1", "Job"), "jobs", "CREATE", bad, None),
        &ctx,
    ));
    assert_eq!(resp["allowed"], false);
    assert!(
        resp["status"]["message"]
            .as_str()
            .unwrap()
            .contains("cannot decode the Job")
    );
}

#[test]
fn workload_reviews_decoded_in_one_pass_answer_as_the_general_path() {
    let kind = ("kueue.x-k8s.io", "v1beta2", "Workload");
    let wl = |count: i64, cpu: &str, reserved: bool| {
        let mut v = json!({"apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "Workload",
            "metadata": {"name": "x", "namespace": "ns"},
            "spec": {"queueName": "lq", "podSets": [{"name": "main", "count": count, "template": {"spec": {
                "containers": [{"name": "c", "image": "i", "resources": {"requests": {"cpu": cpu}}}]}}}]}});
        if reserved {
            v["status"] = json!({"conditions": [{"type": "QuotaReserved", "status": "True",
                "reason": "QuotaReserved", "message": "", "lastTransitionTime": "2026-12-01T00:00:00Z"}],
                "admission": {"clusterQueue": "cq", "podSetAssignments": [{"name": "main",
                    "flavors": {"cpu": "f"}, "resourceUsage": {"cpu": "1"}, "count": 1}]}});
        }
        v
    };
    let ctx = Fixed(JobContext::default());
    let cases = [
        (
            paths::VALIDATE_WORKLOAD,
            review(kind, "workloads", "CREATE", wl(1, "1", false), None),
            true,
        ),
        (
            paths::MUTATE_WORKLOAD,
            review(kind, "workloads", "CREATE", wl(1, "1", false), None),
            true,
        ),
        (
            paths::VALIDATE_WORKLOAD,
            review(kind, "workloads", "CREATE", wl(1, "-1", false), None),
            false,
        ),
        (
            paths::VALIDATE_WORKLOAD,
            review(
                kind,
                "workloads",
                "UPDATE",
                wl(2, "1", true),
                Some(wl(1, "1", true)),
            ),
            false,
        ),
        (
            paths::VALIDATE_WORKLOAD,
            review(
                kind,
                "workloads",
                "UPDATE",
                wl(1, "1", true),
                Some(wl(1, "1", false)),
            ),
            true,
        ),
        (
            paths::VALIDATE_WORKLOAD,
            review(
                ("kueue.x-k8s.io", "v1beta2", "Cohort"),
                "cohorts",
                "CREATE",
                wl(1, "1", false),
                None,
            ),
            false,
        ),
    ];
    for (path, body, allowed) in cases {
        let fast = workload_review(path, &body).expect("decodes as a Workload review");
        assert_eq!(fast, general_review(path, &body, &ctx), "{path}");
        assert_eq!(
            response(&fast)["allowed"],
            allowed,
            "{path}: {}",
            String::from_utf8_lossy(&fast.body)
        );
    }
    // Not a Workload as the schema has it: the general path answers, with the reason.
    let bad = review(
        kind,
        "workloads",
        "CREATE",
        json!({"metadata": {"name": "x"}, "spec": {"podSets": "x"}}),
        None,
    );
    assert!(workload_review(paths::VALIDATE_WORKLOAD, &bad).is_none());
    let r = response(&handle(paths::VALIDATE_WORKLOAD, &bad, &ctx));
    assert_eq!(r["allowed"], false);
    assert!(
        r["status"]["message"]
            .as_str()
            .unwrap()
            .contains("cannot decode the Workload"),
        "{r}"
    );
    assert!(
        workload_review(paths::VALIDATE_COHORT, &body_of_cohort()).is_none(),
        "other paths"
    );
}

fn body_of_cohort() -> Vec<u8> {
    review(
        ("kueue.x-k8s.io", "v1beta2", "Cohort"),
        "cohorts",
        "CREATE",
        json!({"metadata": {"name": "c"}, "spec": {}}),
        None,
    )
}
