//! Table of the Job lifecycle: one case per transition of `decide`.

// Test code: failures are panics.
#![allow(
    clippy::needless_pass_by_value,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::too_many_lines
)]

use k8s_openapi::api::batch::v1::Job;
use serde_json::{Value, json};
use turnstile_api as api;
use turnstile_jobs::decide::{
    Action, Inputs, PodsReadyConfig, WorkloadView, backoff_seconds, decide, unmanaged,
};
use turnstile_jobs::workload::{Priority, workload_name};

const NOW: i64 = 1_800_000_000_000;

fn job(spec: Value, status: Value) -> Job {
    let mut spec = spec;
    if spec.get("template").is_none() {
        spec["template"] = json!({"spec": {"containers": [{"name": "c", "image": "i"}]}});
    }
    serde_json::from_value(json!({
        "metadata": {"name": "pi", "namespace": "ns", "uid": "uid-1", "labels": {"kueue.x-k8s.io/queue-name": "lq"}},
        "spec": spec, "status": status}))
    .unwrap()
}

fn suspended() -> Job {
    job(json!({"suspend": true}), json!({}))
}

fn cond(t: &str, status: &str, reason: &str, message: &str) -> Value {
    json!({"type": t, "status": status, "reason": reason, "message": message, "lastTransitionTime": "2027-01-15T08:00:00Z"})
}

fn wl(conds: Vec<Value>, admitted: bool, extra_status: Value) -> api::Workload {
    let mut status = json!({"conditions": conds});
    if admitted {
        status["admission"] = json!({"clusterQueue": "cq", "podSetAssignments": [{"name": "main", "flavors": {"cpu": "on-demand"}, "resourceUsage": {"cpu": "1"}, "count": 1}]});
    }
    if let (Value::Object(s), Value::Object(e)) = (&mut status, extra_status) {
        s.extend(e);
    }
    serde_json::from_value(json!({
        "metadata": {"name": workload_name("pi", "uid-1"), "namespace": "ns", "finalizers": ["kueue.x-k8s.io/resource-in-use"]},
        "spec": {"queueName": "lq", "priority": 0, "podSets": []},
        "status": status}))
    .unwrap()
}

fn admitted_wl() -> api::Workload {
    wl(
        vec![
            cond(
                "QuotaReserved",
                "True",
                "QuotaReserved",
                "Quota reserved in ClusterQueue cq",
            ),
            cond("Admitted", "True", "Admitted", "The workload is admitted"),
        ],
        true,
        json!({}),
    )
}

fn view(w: &api::Workload, count: i32) -> WorkloadView<'_> {
    WorkloadView {
        wl: w,
        count,
        min_count: None,
        tolerations: vec![],
        checks: vec![],
        per_pod: None,
    }
}

/// Inputs for `job` owning `workloads`: no prebuilt Workload, priority 0, no waitForPodsReady, at NOW.
fn inputs<'a>(job: &'a Job, workloads: Vec<WorkloadView<'a>>) -> Inputs<'a> {
    Inputs {
        job,
        workloads,
        prebuilt: None,
        priority: Ok(Priority {
            class: None,
            value: 0,
        }),
        pods_ready: None,
        job_per_pod: None,
        now_ms: NOW,
        retain_deactivated_ms: None,
    }
}

fn run(
    job: &Job,
    wls: &[(&api::Workload, i32)],
    pods_ready: Option<PodsReadyConfig>,
) -> Vec<Action> {
    decide(&Inputs {
        pods_ready,
        ..inputs(job, wls.iter().map(|(w, c)| view(w, *c)).collect())
    })
}

fn kinds(actions: &[Action]) -> Vec<String> {
    actions
        .iter()
        .map(|a| match a {
            Action::CreateWorkload(_) => "CreateWorkload".into(),
            Action::PatchWorkload { .. } => "PatchWorkload".into(),
            Action::DeleteWorkload { .. } => "DeleteWorkload".into(),
            Action::StartJob { .. } => "StartJob".into(),
            Action::SuspendJob => "SuspendJob".into(),
            Action::ClearStartTime => "ClearStartTime".into(),
            Action::RestoreJob { .. } => "RestoreJob".into(),
            Action::WorkloadStatus { .. } => "WorkloadStatus".into(),
            Action::RemoveFinalizer { .. } => "RemoveFinalizer".into(),
            Action::Event { reason, .. } => format!("Event:{reason}"),
            Action::RequeueAfterMs(_) => "RequeueAfter".into(),
            Action::DeleteJob => "DeleteJob".into(),
        })
        .collect()
}

fn status_of(actions: &[Action]) -> &Value {
    actions
        .iter()
        .find_map(|a| match a {
            Action::WorkloadStatus { status, .. } => Some(status),
            _ => None,
        })
        .expect("a status write")
}

fn condition<'a>(status: &'a Value, t: &str) -> &'a Value {
    status["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == t)
        .unwrap_or_else(|| panic!("no {t} in {status}"))
}

const PODS_READY: PodsReadyConfig = PodsReadyConfig {
    timeout_ms: 300_000,
    recovery_timeout_ms: Some(300_000),
    backoff_base_seconds: 60,
    backoff_max_seconds: 3600,
    backoff_limit_count: Some(2),
};

#[test]
fn a_suspended_job_gets_its_workload() {
    let a = run(&suspended(), &[], None);
    assert_eq!(kinds(&a), ["CreateWorkload", "Event:CreatedWorkload"]);
    let Action::CreateWorkload(w) = &a[0] else {
        unreachable!()
    };
    assert_eq!(
        w.metadata.name.as_deref(),
        Some(workload_name("pi", "uid-1").as_str())
    );
}

#[test]
fn jobs_that_are_not_ours_or_not_ready_are_left_alone() {
    let other = job(
        json!({"suspend": true, "managedBy": "example.com/other"}),
        json!({}),
    );
    assert!(
        run(&other, &[], None).is_empty(),
        "managedBy another controller"
    );
    let multikueue = job(
        json!({"suspend": true, "managedBy": "kueue.x-k8s.io/multikueue"}),
        json!({}),
    );
    assert!(
        run(&multikueue, &[], None).is_empty(),
        "managedBy MultiKueue: not taken while Turnstile has no MultiKueue"
    );
    let draining = job(json!({"suspend": true}), json!({"active": 2}));
    assert!(
        run(&draining, &[], None).is_empty(),
        "pods still running: wait"
    );
    let waiting = suspended();
    let missing = decide(&Inputs {
        priority: Err("WorkloadPriorityClass high not found".into()),
        ..inputs(&waiting, vec![])
    });
    assert_eq!(kinds(&missing), ["Event:ErrWorkloadCompose"]);
}

#[test]
fn a_running_job_without_a_workload_is_suspended() {
    let running = job(json!({"suspend": false}), json!({"active": 1}));
    assert_eq!(
        kinds(&run(&running, &[], None)),
        ["SuspendJob", "Event:Stopped"]
    );
}

#[test]
fn admission_starts_the_job() {
    let w = admitted_wl();
    let a = run(&suspended(), &[(&w, 1)], Some(PODS_READY));
    assert_eq!(kinds(&a), ["StartJob", "WorkloadStatus", "Event:Started"]);
    assert_eq!(
        condition(status_of(&a), "PodsReady")["reason"],
        "WaitForStart"
    );
    let Action::Event { note, .. } = &a[2] else {
        unreachable!()
    };
    assert_eq!(note, "Admitted by clusterQueue cq");
    // Without waitForPodsReady, no PodsReady condition.
    assert_eq!(
        kinds(&run(&suspended(), &[(&w, 1)], None)),
        ["StartJob", "Event:Started"]
    );
}

#[test]
fn a_pending_workload_follows_the_queue_label() {
    let w = wl(vec![], false, json!({}));
    let mut j = suspended();
    j.metadata
        .labels
        .as_mut()
        .unwrap()
        .insert("kueue.x-k8s.io/queue-name".into(), "other".into());
    let a = run(&j, &[(&w, 1)], None);
    assert_eq!(
        a,
        vec![Action::PatchWorkload {
            name: workload_name("pi", "uid-1"),
            patch: json!({"spec": {"queueName": "other"}})
        }]
    );
    // Waiting quietly otherwise.
    assert!(run(&suspended(), &[(&w, 1)], None).is_empty());
}

#[test]
fn eviction_suspends_restores_then_releases() {
    let mut w = admitted_wl();
    w.status.as_mut().unwrap().conditions.push(
        serde_json::from_value(cond(
            "Evicted",
            "True",
            "Preempted",
            "Preempted to accommodate a workload",
        ))
        .unwrap(),
    );
    let running = job(
        json!({"suspend": false}),
        json!({"active": 1, "startTime": "2027-01-15T08:00:00Z"}),
    );
    let a = run(&running, &[(&w, 1)], None);
    assert_eq!(kinds(&a), ["SuspendJob", "Event:Stopped"]);
    let Action::Event { note, .. } = &a[1] else {
        unreachable!()
    };
    assert_eq!(note, "Preempted to accommodate a workload");
    // Suspended but startTime still set: clear it first.
    let mut stopping = job(
        json!({"suspend": true}),
        json!({"active": 1, "startTime": "2027-01-15T08:00:00Z"}),
    );
    stopping.metadata.annotations =
        Some([("kueue.x-k8s.io/stopping".to_owned(), "true".to_owned())].into());
    assert_eq!(kinds(&run(&stopping, &[(&w, 1)], None)), ["ClearStartTime"]);
    stopping.status.as_mut().unwrap().start_time = None;
    assert_eq!(kinds(&run(&stopping, &[(&w, 1)], None)), ["RestoreJob"]);
    // Restored, pods still terminating: wait; once gone, release the quota.
    let terminating = job(json!({"suspend": true}), json!({"active": 1}));
    assert!(run(&terminating, &[(&w, 1)], None).is_empty());
    let gone = job(json!({"suspend": true}), json!({"active": 0}));
    let a = run(&gone, &[(&w, 1)], None);
    assert_eq!(kinds(&a), ["WorkloadStatus"]);
    let st = status_of(&a);
    assert_eq!(st["admission"], Value::Null);
    assert_eq!(
        (
            condition(st, "Requeued")["status"].as_str(),
            condition(st, "Requeued")["reason"].as_str()
        ),
        (Some("True"), Some("Preempted"))
    );
    assert_eq!(
        condition(st, "QuotaReserved")["reason"],
        "PendingEvaluation"
    );
    assert_eq!(condition(st, "Admitted")["reason"], "NoReservation");
}

#[test]
fn a_timed_out_workload_waits_for_its_backoff() {
    let mut w = admitted_wl();
    w.status.as_mut().unwrap().conditions.push(
        serde_json::from_value(cond(
            "Evicted",
            "True",
            "PodsReadyTimeout",
            "Exceeded the PodsReady timeout ns/x",
        ))
        .unwrap(),
    );
    let a = run(
        &job(json!({"suspend": true}), json!({})),
        &[(&w, 1)],
        Some(PODS_READY),
    );
    let st = status_of(&a);
    assert_eq!(
        (
            condition(st, "Requeued")["status"].as_str(),
            condition(st, "Requeued")["reason"].as_str()
        ),
        (Some("False"), Some("PodsReadyTimeout"))
    );
}

#[test]
fn maximum_execution_time_counts_admitted_time_across_admissions() {
    let t0 = k8s_openapi::jiff::Timestamp::from_second(1_800_000_000).unwrap();
    let mut w = admitted_wl();
    let st = w.status.as_mut().unwrap();
    for c in &mut st.conditions {
        c.last_transition_time = k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(t0);
    }
    // 600 s allowed, 500 s used by earlier admissions (before a time window drained it).
    st.accumulated_past_execution_time_seconds = Some(500);
    w.spec.maximum_execution_time_seconds = Some(600);
    let running = job(json!({"suspend": false}), json!({"active": 1}));
    let at = |ms: i64| {
        decide(&Inputs {
            now_ms: ms,
            ..inputs(&running, vec![view(&w, 1)])
        })
    };
    assert!(at(NOW + 60_000).contains(&Action::RequeueAfterMs(40_000)));
    let a = at(NOW + 100_000);
    assert_eq!(kinds(&a), ["WorkloadStatus", "PatchWorkload"]);
    let target = condition(status_of(&a), "DeactivationTarget");
    assert_eq!(
        (&target["reason"], &target["message"]),
        (
            &json!("MaximumExecutionTimeExceeded"),
            &json!("exceeding the maximum execution time")
        )
    );
}

#[test]
fn pods_ready_condition_timeout_and_backoff() {
    let w = admitted_wl();
    // Admitted at NOW (2027-01-15T08:00:00Z); the deadline is 5 minutes later.
    let running = job(
        json!({"suspend": false, "parallelism": 2}),
        json!({"active": 2, "ready": 1}),
    );
    let t0 = k8s_openapi::jiff::Timestamp::from_second(1_800_000_000).unwrap();
    let mut w = w;
    for c in &mut w.status.as_mut().unwrap().conditions {
        c.last_transition_time = k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(t0);
    }
    let at = |ms: i64, w: &api::Workload, j: &Job| {
        decide(&Inputs {
            pods_ready: Some(PODS_READY),
            now_ms: ms,
            ..inputs(j, vec![view(w, 2)])
        })
    };
    let a = at(NOW + 60_000, &w, &running);
    assert_eq!(kinds(&a), ["WorkloadStatus", "RequeueAfter"]);
    assert_eq!(a[1], Action::RequeueAfterMs(240_000));
    assert_eq!(
        condition(status_of(&a), "PodsReady")["reason"],
        "WaitForStart"
    );
    let a = at(NOW + 300_000, &w, &running);
    assert_eq!(
        kinds(&a),
        ["WorkloadStatus", "Event:EvictedDueToPodsReadyTimeout"]
    );
    let st = status_of(&a);
    assert_eq!(condition(st, "Evicted")["reason"], "PodsReadyTimeout");
    assert_eq!(
        condition(st, "Evicted")["message"],
        format!(
            "Exceeded the PodsReady timeout ns/{}",
            workload_name("pi", "uid-1")
        )
    );
    assert_eq!(
        st["requeueState"],
        json!({"count": 1, "requeueAt": "2027-01-15T08:06:00Z"})
    );
    // The backoff limit (2) reached: deactivation instead of another requeue.
    let mut tired = w.clone();
    tired.status.as_mut().unwrap().requeue_state =
        serde_json::from_value(json!({"count": 2})).unwrap();
    let a = at(NOW + 300_000, &tired, &running);
    assert_eq!(kinds(&a), ["WorkloadStatus", "PatchWorkload"]);
    assert_eq!(
        condition(status_of(&a), "DeactivationTarget")["reason"],
        "RequeuingLimitExceeded"
    );
    // All pods ready: PodsReady True.
    let ready = job(
        json!({"suspend": false, "parallelism": 2}),
        json!({"active": 2, "ready": 2}),
    );
    let a = at(NOW + 60_000, &w, &ready);
    assert_eq!(condition(status_of(&a), "PodsReady")["status"], "True");
    assert_eq!(condition(status_of(&a), "PodsReady")["reason"], "Started");
}

#[test]
fn backoff_doubles_up_to_the_maximum() {
    assert_eq!(
        [1, 2, 3, 4].map(|n| backoff_seconds(n, 60, 3600)),
        [60, 120, 240, 480]
    );
    assert_eq!(backoff_seconds(10, 60, 3600), 3600);
    assert_eq!(backoff_seconds(500, 60, 3600), 3600, "no overflow");
}

#[test]
fn completion_finishes_the_workload_then_lets_it_go() {
    let w = admitted_wl();
    let done = job(
        json!({"suspend": false}),
        json!({"conditions": [{"type": "Complete", "status": "True", "message": "Reached expected number of succeeded pods"}]}),
    );
    let a = run(&done, &[(&w, 1)], None);
    assert_eq!(kinds(&a), ["WorkloadStatus", "Event:FinishedWorkload"]);
    let f = condition(status_of(&a), "Finished");
    assert_eq!(
        (f["reason"].as_str(), f["message"].as_str()),
        (
            Some("Succeeded"),
            Some("Reached expected number of succeeded pods")
        )
    );
    let failed = job(
        json!({"suspend": false}),
        json!({"conditions": [{"type": "Failed", "status": "True", "message": "Job has reached the specified backoff limit"}]}),
    );
    assert_eq!(
        condition(status_of(&run(&failed, &[(&w, 1)], None)), "Finished")["reason"],
        "Failed"
    );
    let mut finished = admitted_wl();
    finished
        .status
        .as_mut()
        .unwrap()
        .conditions
        .push(serde_json::from_value(cond("Finished", "True", "Succeeded", "")).unwrap());
    assert_eq!(
        kinds(&run(&done, &[(&finished, 1)], None)),
        ["RemoveFinalizer"]
    );
}

#[test]
fn a_changed_job_gets_an_updated_or_new_workload() {
    let pending = wl(vec![], false, json!({}));
    let bigger = job(json!({"suspend": true, "parallelism": 3}), json!({}));
    let a = run(&bigger, &[(&pending, 1)], None);
    assert_eq!(kinds(&a), ["PatchWorkload", "Event:UpdatedWorkload"]);
    let Action::PatchWorkload { patch, .. } = &a[0] else {
        unreachable!()
    };
    assert_eq!(patch["spec"]["podSets"][0]["count"], 3);
    // With a reservation the stale Workload is deleted instead.
    let a = run(&bigger, &[(&admitted_wl(), 1)], None);
    assert_eq!(kinds(&a), ["DeleteWorkload", "Event:DeletedWorkload"]);
}

#[test]
fn a_partially_admitted_job_matches_its_workload() {
    // Workload asked for 3 pods (at least 1); 2 were admitted and the start set parallelism 2.
    let mut partial = admitted_wl();
    if let Some(a) = partial.status.as_mut().and_then(|s| s.admission.as_mut()) {
        a.pod_set_assignments[0].count = Some(2);
    }
    let running = {
        let mut j = job(
            json!({"suspend": false, "parallelism": 2}),
            json!({"active": 2}),
        );
        j.metadata.annotations = Some(
            [(
                "kueue.x-k8s.io/job-min-parallelism".to_owned(),
                "1".to_owned(),
            )]
            .into(),
        );
        j
    };
    let views = |w| {
        vec![WorkloadView {
            wl: w,
            count: 3,
            min_count: Some(1),
            tolerations: vec![],
            checks: vec![],
            per_pod: None,
        }]
    };
    let decide_for = |j: &Job, w| decide(&inputs(j, views(w)));
    let a = decide_for(&running, &partial);
    assert!(
        !kinds(&a)
            .iter()
            .any(|k| k == "DeleteWorkload" || k == "SuspendJob"),
        "{:?}",
        kinds(&a)
    );
    // A running Job resized to something else no longer matches.
    let mut resized = running.clone();
    resized.spec.as_mut().unwrap().parallelism = Some(1);
    let a = decide_for(&resized, &partial);
    assert!(
        kinds(&a).iter().any(|k| k == "DeleteWorkload"),
        "{:?}",
        kinds(&a)
    );
}

#[test]
fn a_prebuilt_workload_is_adopted_never_replaced() {
    let mut j = suspended();
    j.metadata
        .labels
        .as_mut()
        .unwrap()
        .insert("kueue.x-k8s.io/prebuilt-workload-name".into(), "pre".into());
    let mut pre = wl(vec![], false, json!({}));
    pre.metadata.name = Some("pre".into());
    pre.metadata.resource_version = Some("7".into());
    let with = |workloads: Vec<WorkloadView<'_>>, prebuilt: Option<WorkloadView<'_>>| {
        decide(&Inputs {
            prebuilt,
            ..inputs(&j, workloads)
        })
    };
    // Not there yet: wait, never create one.
    assert!(with(vec![], None).is_empty());
    // There, not ours yet: adopt it (controller reference and job-uid label, guarded).
    let a = with(vec![], Some(view(&pre, 1)));
    assert_eq!(kinds(&a), ["PatchWorkload", "Event:AdoptedWorkload"]);
    let Action::PatchWorkload { name, patch } = &a[0] else {
        unreachable!()
    };
    assert_eq!(name, "pre");
    assert_eq!(patch["metadata"]["resourceVersion"], "7");
    assert_eq!(patch["metadata"]["ownerReferences"][0]["uid"], "uid-1");
    assert_eq!(patch["metadata"]["ownerReferences"][0]["controller"], true);
    assert_eq!(
        patch["metadata"]["labels"]["kueue.x-k8s.io/job-uid"],
        "uid-1"
    );
    // Controlled by another object: left alone, with a warning.
    let mut taken = pre.clone();
    taken.metadata.owner_references = Some(vec![
        serde_json::from_value(json!({"apiVersion": "batch/v1", "kind": "Job", "name": "x", "uid": "other", "controller": true}))
            .unwrap(),
    ]);
    let a = with(vec![], Some(view(&taken, 1)));
    assert_eq!(kinds(&a), ["Event:PrebuiltWorkloadNotAdopted"]);
    // Adopted but describing another Job (2 pods for a 1-pod Job): finished OutOfSync, not replaced.
    let a = with(vec![view(&pre, 2)], None);
    assert_eq!(kinds(&a), ["WorkloadStatus"]);
    let finished = condition(status_of(&a), "Finished");
    assert_eq!(finished["reason"], "OutOfSync");
    // Adopted and matching: the normal lifecycle (nothing to do while it waits).
    assert!(with(vec![view(&pre, 1)], None).is_empty());
}

#[test]
fn admission_checks_hold_the_job_until_ready() {
    let reserved = |checks: Value, extra: Vec<Value>| {
        let mut conds = vec![cond(
            "QuotaReserved",
            "True",
            "QuotaReserved",
            "Quota reserved in ClusterQueue cq",
        )];
        conds.extend(extra);
        wl(conds, true, json!({"admissionChecks": checks}))
    };
    let with_checks = |w| WorkloadView {
        checks: vec!["ac1".into()],
        ..view(w, 1)
    };
    let run_view = |j: &Job, v: WorkloadView<'_>| decide(&inputs(j, vec![v]));
    let waiting = suspended();
    // Reserved, checks not written yet: write them Pending; the Job stays suspended.
    let w = reserved(json!([]), vec![]);
    let a = run_view(&waiting, with_checks(&w));
    assert_eq!(kinds(&a), ["WorkloadStatus"]);
    assert_eq!(status_of(&a)["admissionChecks"][0]["name"], "ac1");
    assert_eq!(status_of(&a)["admissionChecks"][0]["state"], "Pending");
    // The ClusterQueue's checks were removed after the reservation: the list empties, then the
    // Workload is admitted all the same.
    let stale = json!([{"name": "ac1", "state": "Pending", "message": "", "lastTransitionTime": "2027-01-15T08:00:00Z"}]);
    let w = reserved(stale, vec![]);
    let a = run_view(&waiting, view(&w, 1));
    assert_eq!(status_of(&a)["admissionChecks"], json!([]));
    let w = reserved(json!([]), vec![]);
    assert_eq!(
        kinds(&run_view(&waiting, view(&w, 1))),
        ["WorkloadStatus", "Event:Admitted"]
    );
    // Pending: nothing to do (not started).
    let pending = json!([{"name": "ac1", "state": "Pending", "message": "", "lastTransitionTime": "2027-01-15T08:00:00Z"}]);
    let w = reserved(pending, vec![]);
    assert!(run_view(&waiting, with_checks(&w)).is_empty());
    // Ready: admitted; then started.
    let ready = json!([{"name": "ac1", "state": "Ready", "message": "", "lastTransitionTime": "2027-01-15T08:00:00Z"}]);
    let w = reserved(ready.clone(), vec![]);
    let a = run_view(&waiting, with_checks(&w));
    assert_eq!(kinds(&a), ["WorkloadStatus", "Event:Admitted"]);
    assert_eq!(condition(status_of(&a), "Admitted")["status"], "True");
    let w = reserved(
        ready,
        vec![cond(
            "Admitted",
            "True",
            "Admitted",
            "The workload is admitted",
        )],
    );
    assert_eq!(
        kinds(&run_view(&waiting, with_checks(&w))),
        ["StartJob", "Event:Started"]
    );
    // Rejected: deactivated (target condition, spec.active false, Warning).
    let rejected = json!([{"name": "ac1", "state": "Rejected", "message": "no capacity", "lastTransitionTime": "2027-01-15T08:00:00Z"}]);
    let w = reserved(
        rejected,
        vec![cond(
            "Admitted",
            "True",
            "Admitted",
            "The workload is admitted",
        )],
    );
    let running = job(json!({"suspend": false}), json!({"active": 1}));
    let a = run_view(&running, with_checks(&w));
    assert_eq!(
        kinds(&a),
        [
            "WorkloadStatus",
            "PatchWorkload",
            "Event:AdmissionCheckRejected"
        ]
    );
    let target = condition(status_of(&a), "DeactivationTarget");
    assert_eq!(
        (&target["reason"], &target["message"]),
        (
            &json!("AdmissionCheck"),
            &json!("AdmissionCheck in Rejected state: \"ac1\" (no capacity)")
        )
    );
    // Retry: evicted with reason AdmissionCheck (the Job is then stopped as for any eviction).
    let retry = json!([{"name": "ac1", "state": "Retry", "message": "", "lastTransitionTime": "2027-01-15T08:00:00Z"}]);
    let w = reserved(
        retry,
        vec![cond(
            "Admitted",
            "True",
            "Admitted",
            "The workload is admitted",
        )],
    );
    let a = run_view(&running, with_checks(&w));
    assert_eq!(kinds(&a), ["WorkloadStatus"]);
    let evicted = condition(status_of(&a), "Evicted");
    assert_eq!(evicted["reason"], "AdmissionCheck");
    assert_eq!(
        evicted["message"],
        "Evicted due to AdmissionCheck in Retry state: \"ac1\""
    );
}

#[test]
fn deleting_the_workload_of_a_running_job_stops_it_first() {
    let mut w = admitted_wl();
    w.metadata.deletion_timestamp = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
        k8s_openapi::jiff::Timestamp::from_second(1_800_000_000).unwrap(),
    ));
    let running = job(json!({"suspend": false}), json!({"active": 1}));
    assert_eq!(
        kinds(&run(&running, &[(&w, 1)], None)),
        ["SuspendJob", "Event:Stopped"]
    );
    let mut stopping = job(json!({"suspend": true}), json!({"active": 0}));
    stopping.metadata.annotations =
        Some([("kueue.x-k8s.io/stopping".to_owned(), "true".to_owned())].into());
    assert_eq!(kinds(&run(&stopping, &[(&w, 1)], None)), ["RestoreJob"]);
    assert_eq!(
        kinds(&run(
            &job(json!({"suspend": true}), json!({})),
            &[(&w, 1)],
            None
        )),
        ["RemoveFinalizer"]
    );
}

#[test]
fn finished_pods_give_back_their_quota() {
    let w = admitted_wl();
    let j = job(
        json!({"suspend": false, "parallelism": 4, "completions": 6}),
        json!({"active": 4, "ready": 4, "succeeded": 3}),
    );
    let a = run(&j, &[(&w, 4)], None);
    // 3 of 6 done: 3 remain, 1 of the 4 parallel pods is no longer needed.
    assert_eq!(
        status_of(&a)["reclaimablePods"],
        json!([{"name": "main", "count": 1}])
    );
}

#[test]
fn a_deactivation_release_clears_its_target_and_backoff() {
    let mut w = wl(
        vec![
            cond(
                "QuotaReserved",
                "True",
                "QuotaReserved",
                "Quota reserved in ClusterQueue cq",
            ),
            cond("Admitted", "True", "Admitted", "The workload is admitted"),
            cond(
                "DeactivationTarget",
                "True",
                "RequeuingLimitExceeded",
                "exceeding the maximum number of re-queuing retries",
            ),
            cond(
                "Evicted",
                "True",
                "DeactivatedDueToRequeuingLimitExceeded",
                "The workload is deactivated due to exceeding the maximum number of re-queuing retries",
            ),
        ],
        true,
        json!({"requeueState": {"count": 2, "requeueAt": "2027-01-15T08:00:00Z"}}),
    );
    w.spec.active = Some(false);
    let gone = job(json!({"suspend": true}), json!({"active": 0}));
    let a = run(&gone, &[(&w, 1)], None);
    assert_eq!(kinds(&a), ["WorkloadStatus"]);
    let st = status_of(&a);
    assert!(st.get("requeueState").is_some_and(Value::is_null), "{st}");
    assert!(st.get("admission").is_some_and(Value::is_null), "{st}");
    assert!(
        !st["conditions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["type"] == "DeactivationTarget"),
        "{st}"
    );
    assert_eq!(
        (
            condition(st, "Requeued")["status"].as_str(),
            condition(st, "Requeued")["reason"].as_str()
        ),
        (
            Some("False"),
            Some("DeactivatedDueToRequeuingLimitExceeded")
        )
    );
    assert_eq!(condition(st, "QuotaReserved")["reason"], "Deactivated");
}

#[test]
fn priority_comes_from_the_label_then_the_pod_class_then_the_global_default() {
    use turnstile_jobs::workload::{PodPriorityClass, resolve_priority};
    let wpc = |n: &str| (n == "high").then_some(1000);
    let pcs = [
        PodPriorityClass {
            name: "system".into(),
            value: 50,
            global_default: false,
        },
        PodPriorityClass {
            name: "d2".into(),
            value: 7,
            global_default: true,
        },
        PodPriorityClass {
            name: "d1".into(),
            value: 3,
            global_default: true,
        },
    ];
    let mut j = suspended();
    j.spec
        .as_mut()
        .unwrap()
        .template
        .spec
        .as_mut()
        .unwrap()
        .priority_class_name = Some("system".into());
    let from_pod = resolve_priority(&j, wpc, &pcs).unwrap();
    assert_eq!(
        (from_pod.value, from_pod.class.map(|c| (c.kind, c.name))),
        (
            50,
            Some((api::PriorityClassKind::PriorityClass, "system".into()))
        )
    );
    j.metadata
        .labels
        .as_mut()
        .unwrap()
        .insert("kueue.x-k8s.io/priority-class".into(), "high".into());
    let from_label = resolve_priority(&j, wpc, &pcs).unwrap();
    assert_eq!(
        (from_label.value, from_label.class.map(|c| (c.kind, c.name))),
        (
            1000,
            Some((api::PriorityClassKind::WorkloadPriorityClass, "high".into()))
        )
    );
    j.metadata
        .labels
        .as_mut()
        .unwrap()
        .insert("kueue.x-k8s.io/priority-class".into(), "nope".into());
    assert_eq!(
        resolve_priority(&j, wpc, &pcs),
        Err("workloadpriorityclasses.kueue.x-k8s.io \"nope\" not found".into())
    );
    let mut plain = suspended();
    assert_eq!(
        resolve_priority(&plain, wpc, &pcs).unwrap().value,
        3,
        "lowest global default"
    );
    assert_eq!(
        resolve_priority(&plain, wpc, &[]),
        Ok(Priority {
            class: None,
            value: 0
        })
    );
    plain
        .spec
        .as_mut()
        .unwrap()
        .template
        .spec
        .as_mut()
        .unwrap()
        .priority_class_name = Some("gone".into());
    assert!(resolve_priority(&plain, wpc, &pcs).is_err());
}

#[test]
fn a_job_no_longer_managed_loses_a_workload_that_runs_nothing_and_keeps_one_that_does() {
    let pending = wl(vec![], false, json!({}));
    let held = admitted_wl();
    // Suspended, no pods: the Workload goes (pending or holding quota alike).
    for w in [&pending, &held] {
        let a = unmanaged(&suspended(), &[view(w, 1)]);
        assert_eq!(kinds(&a), ["DeleteWorkload", "Event:DeletedWorkload"]);
    }
    // Being deleted: its finalizer goes.
    let mut going = held.clone();
    going.metadata.deletion_timestamp = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
        k8s_openapi::jiff::Timestamp::from_second(1_800_000_000).unwrap(),
    ));
    assert_eq!(
        kinds(&unmanaged(&suspended(), &[view(&going, 1)])),
        ["RemoveFinalizer"]
    );
    // Running, or still stopping its pods: nothing changes (its pods use the quota).
    let running = job(json!({"suspend": false}), json!({"active": 1}));
    assert!(unmanaged(&running, &[view(&held, 1)]).is_empty());
    let stopping = job(json!({"suspend": true}), json!({"active": 1}));
    assert!(unmanaged(&stopping, &[view(&held, 1)]).is_empty());
}

#[test]
fn a_workload_asking_other_amounts_per_pod_is_not_the_jobs() {
    use turnstile_core::resources::Requests;
    let per_pod = |milli: i64| -> Requests { [("cpu".to_owned(), milli)].into_iter().collect() };
    let w = wl(vec![], false, json!({}));
    let job = suspended();
    let decide_with = |job_cpu: i64, wl_cpu: i64| {
        decide(&Inputs {
            job_per_pod: Some(per_pod(job_cpu)),
            ..inputs(
                &job,
                vec![WorkloadView {
                    per_pod: Some(per_pod(wl_cpu)),
                    ..view(&w, 1)
                }],
            )
        })
    };
    // Same amounts: followed (nothing to do for a pending Workload of a suspended Job).
    assert!(!kinds(&decide_with(1000, 1000)).contains(&"DeleteWorkload".to_owned()));
    // A Workload claiming 1 cpu for a Job whose pods ask 10: not adopted; updated in place while
    // nothing is reserved.
    let a = decide_with(10_000, 1000);
    assert!(
        kinds(&a).contains(&"PatchWorkload".to_owned()),
        "{:?}",
        kinds(&a)
    );
}

#[test]
fn a_job_being_deleted_gets_no_workload() {
    let mut going = suspended();
    going.metadata.deletion_timestamp = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
        k8s_openapi::jiff::Timestamp::from_second(1_800_000_000).unwrap(),
    ));
    assert!(!kinds(&decide(&inputs(&going, vec![]))).contains(&"CreateWorkload".to_owned()));
    assert!(kinds(&decide(&inputs(&suspended(), vec![]))).contains(&"CreateWorkload".to_owned()));
}

#[test]
fn a_job_deactivated_by_the_rules_is_deleted_after_its_retention() {
    // Released after `DeactivatedDueToRequeuingLimitExceeded` at NOW (the condition's time).
    let released = |reason: &str| {
        let mut w = wl(
            vec![
                cond("QuotaReserved", "False", "Deactivated", "released"),
                cond("Evicted", "True", reason, "The workload is deactivated"),
                cond("Requeued", "False", reason, "The workload is deactivated"),
            ],
            false,
            json!({}),
        );
        w.spec.active = Some(false);
        w
    };
    let stopped = job(json!({"suspend": true}), json!({"active": 0}));
    let by_rules = released("DeactivatedDueToRequeuingLimitExceeded");
    let at = |now: i64, retain: Option<i64>, w: &api::Workload| {
        decide(&Inputs {
            now_ms: now,
            retain_deactivated_ms: retain,
            ..inputs(&stopped, vec![view(w, 1)])
        })
    };
    assert!(at(NOW, None, &by_rules).is_empty(), "no retention: kept");
    assert_eq!(
        at(NOW + 20_000, Some(60_000), &by_rules),
        [Action::RequeueAfterMs(40_000)],
        "woken when it is due"
    );
    let gone = at(NOW + 60_000, Some(60_000), &by_rules);
    assert_eq!(kinds(&gone), ["DeleteJob", "Event:Deleted"]);
    assert!(
        matches!(&gone[1], Action::Event { note, .. } if note == "Deleted job: deactivation retention period expired")
    );
    assert_eq!(
        kinds(&at(NOW, Some(0), &by_rules)),
        ["DeleteJob", "Event:Deleted"]
    );
    // Deactivated by a user (`Deactivated`): never deleted, as Kueue.
    assert!(at(NOW + 60_000, Some(0), &released("Deactivated")).is_empty());
    // Reactivated meanwhile: kept.
    let mut back = by_rules.clone();
    back.spec.active = Some(true);
    assert!(!kinds(&at(NOW + 60_000, Some(0), &back)).contains(&"DeleteJob".to_owned()));
}
