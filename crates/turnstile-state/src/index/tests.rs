// Scenario tests over the cache and the scheduling core together.
#![allow(clippy::too_many_lines)]

use std::str::FromStr;

use serde_json::{Value, json};
use turnstile_core::{CycleConfig, schedule_cycle};

use super::*;
use crate::lifecycle::merged_conditions;

fn obj<T: serde::de::DeserializeOwned>(v: Value) -> T {
    serde_json::from_value(v).unwrap()
}

fn cq(nominal: &str, extra: Value) -> api::ClusterQueue {
    let mut v = json!({"metadata": {"name": "cq"}, "spec": {"namespaceSelector": {}, "resourceGroups": [
        {"coveredResources": ["cpu"], "flavors": [{"name": "default", "resources": [{"name": "cpu", "nominalQuota": nominal}]}]}]}});
    if let Value::Object(m) = extra {
        for (k, x) in m {
            v["spec"][k] = x;
        }
    }
    obj(v)
}

fn wl(name: &str, cpu: &str, created: &str) -> api::Workload {
    obj(
        json!({"metadata": {"name": name, "namespace": "ns", "uid": format!("uid-{name}"), "creationTimestamp": created},
        "spec": {"queueName": "lq", "podSets": [{"name": "main", "count": 1, "template": {"spec": {"containers": [
            {"name": "c", "image": "i", "resources": {"requests": {"cpu": cpu}}}]}}}]}}),
    )
}

fn setup(nominal: &str) -> Index {
    let mut ix = Index::default();
    ix.apply_flavor(obj(json!({"metadata": {"name": "default"}})));
    ix.apply_cluster_queue(cq(nominal, json!({})));
    ix.apply_namespace("ns", BTreeMap::new());
    ix.apply_local_queue(obj(
        json!({"metadata": {"name": "lq", "namespace": "ns"}, "spec": {"clusterQueue": "cq"}}),
    ));
    ix
}

fn cycle(ix: &mut Index) -> CycleOutcome {
    let out = schedule_cycle(
        &ix.snapshot(),
        &ix.heads(i64::MAX),
        0,
        &CycleConfig::default(),
    );
    ix.apply_outcome(&out);
    out
}

fn admitted(out: &CycleOutcome) -> Vec<&str> {
    out.decisions
        .iter()
        .filter(|d| matches!(d, Decision::Admit { .. }))
        .map(|d| d.key().as_str())
        .collect()
}

#[test]
fn pending_admitted_assumed_and_forgotten() {
    let mut ix = setup("2");
    ix.apply_workload(wl("a", "1", "2026-11-25T00:00:01Z"));
    ix.apply_workload(wl("b", "1", "2026-11-25T00:00:02Z"));
    ix.apply_workload(wl("c", "1", "2026-11-25T00:00:03Z"));
    assert_eq!(
        ix.standing("ns/a"),
        Some(Standing::Pending {
            cluster_queue: "cq".into()
        })
    );
    assert_eq!(ix.pending_count("cq"), 3);
    let out = cycle(&mut ix);
    assert_eq!(
        admitted(&out),
        vec!["ns/a", "ns/b"],
        "both fit in one cycle; c waits"
    );
    assert_eq!(
        ix.standing("ns/a"),
        Some(Standing::Reserving {
            cluster_queue: "cq".into()
        }),
        "assumed at once"
    );
    // The next cycle already sees the assumed usage: nothing more fits.
    assert!(admitted(&cycle(&mut ix)).is_empty());
    // A failed write: forgetting b makes it pending again.
    ix.forget(&"ns/b".into());
    assert_eq!(
        ix.standing("ns/b"),
        Some(Standing::Pending {
            cluster_queue: "cq".into()
        })
    );
}

#[test]
fn finishing_frees_quota_and_requeues_the_set_aside() {
    let mut ix = setup("1");
    ix.apply_workload(wl("a", "1", "2026-11-25T00:00:01Z"));
    ix.apply_workload(wl("b", "1", "2026-11-25T00:00:02Z"));
    assert_eq!(admitted(&cycle(&mut ix)), vec!["ns/a"]);
    // b fitted when that cycle started: tried once more, then set aside.
    assert!(admitted(&cycle(&mut ix)).is_empty());
    assert!(
        ix.heads(i64::MAX).is_empty(),
        "b is set aside, not retried every cycle"
    );
    // a's admission comes back from the API, then a finishes.
    let mut a = wl("a", "1", "2026-11-25T00:00:01Z");
    a.status = Some(obj(json!({"conditions": [
        {"type": "QuotaReserved", "status": "True", "reason": "QuotaReserved", "message": "", "lastTransitionTime": "2026-11-25T00:01:00Z"}],
        "admission": {"clusterQueue": "cq", "podSetAssignments": [{"name": "main", "flavors": {"cpu": "default"}, "resourceUsage": {"cpu": "1"}, "count": 1}]}})));
    ix.apply_workload(a.clone());
    assert_eq!(
        ix.standing("ns/a"),
        Some(Standing::Reserving {
            cluster_queue: "cq".into()
        })
    );
    let status = a.status.as_mut().unwrap();
    status.conditions.push(obj(json!({"type": "Finished", "status": "True", "reason": "Succeeded", "message": "", "lastTransitionTime": "2026-11-25T00:02:00Z"})));
    ix.apply_workload(a);
    assert_eq!(ix.standing("ns/a"), Some(Standing::Done));
    assert_eq!(admitted(&cycle(&mut ix)), vec!["ns/b"]);
}

#[test]
fn raising_quota_admits_more_and_lowering_evicts_nothing() {
    let mut ix = setup("1");
    for (i, n) in ["a", "b", "c"].iter().enumerate() {
        ix.apply_workload(wl(n, "1", &format!("2026-11-25T00:00:0{i}Z")));
    }
    assert_eq!(admitted(&cycle(&mut ix)).len(), 1);
    ix.apply_cluster_queue(cq("3", json!({})));
    assert_eq!(
        admitted(&cycle(&mut ix)).len(),
        2,
        "the raise admits both waiting workloads at once"
    );
    ix.apply_cluster_queue(cq("1", json!({})));
    let out = cycle(&mut ix);
    assert!(
        out.evictions.is_empty() && admitted(&out).is_empty(),
        "lowering quota never evicts"
    );
    for n in ["ns/a", "ns/b", "ns/c"] {
        assert!(matches!(ix.standing(n), Some(Standing::Reserving { .. })));
    }
}

#[test]
fn blocked_workloads_say_why() {
    let mut ix = setup("1");
    let mut orphan = wl("o", "1", "2026-11-25T00:00:01Z");
    orphan.spec.queue_name = Some("nope".into());
    ix.apply_workload(orphan);
    assert_eq!(
        ix.standing("ns/o"),
        Some(Standing::Blocked {
            reason: "Misconfigured",
            message: "LocalQueue nope doesn't exist".into()
        })
    );

    ix.apply_cluster_queue(cq("1", json!({"stopPolicy": "Hold"})));
    ix.apply_workload(wl("w", "1", "2026-11-25T00:00:01Z"));
    assert_eq!(
        ix.standing("ns/w"),
        Some(Standing::Blocked {
            reason: "Suspended",
            message: "ClusterQueue cq is inactive".into()
        })
    );
    assert_eq!(
        ix.inactive("cq").unwrap().message,
        "Can't admit new workloads: is stopped."
    );

    let mut missing = cq("1", json!({}));
    missing.spec.resource_groups[0].flavors[0].name = "spot".into();
    ix.apply_cluster_queue(missing);
    let why = ix.inactive("cq").unwrap();
    assert_eq!(
        (why.reason, why.message.as_str()),
        (
            "FlavorNotFound",
            "Can't admit new workloads: references missing ResourceFlavor(s): spot."
        )
    );

    ix.apply_cluster_queue(cq(
        "1",
        json!({"namespaceSelector": {"matchLabels": {"team": "a"}}}),
    ));
    assert_eq!(
        ix.standing("ns/w"),
        Some(Standing::Blocked {
            reason: "Misconfigured",
            message: "workload namespace doesn't match ClusterQueue selector".into()
        })
    );
    ix.apply_namespace("ns", [("team".to_owned(), "a".to_owned())].into());
    assert_eq!(
        ix.standing("ns/w"),
        Some(Standing::Pending {
            cluster_queue: "cq".into()
        }),
        "a namespace label change lets it in"
    );

    let mut off = wl("off", "1", "2026-11-25T00:00:01Z");
    off.spec.active = Some(false);
    ix.apply_workload(off);
    assert_eq!(ix.standing("ns/off"), Some(Standing::Done));
}

#[test]
fn unparsable_quota_makes_the_queue_inactive_not_a_crash() {
    let mut ix = setup("1");
    ix.apply_cluster_queue(cq("1e40", json!({})));
    let why = ix.inactive("cq").unwrap();
    assert!(
        why.message.contains(
            "invalid quantity at spec.resourceGroups[0].flavors[0].resources[0].nominalQuota"
        ),
        "{why:?}"
    );
    ix.apply_workload(wl("w", "1", "2026-11-25T00:00:01Z"));
    assert!(admitted(&cycle(&mut ix)).is_empty());
}

#[test]
fn queue_statuses_count_and_sum_usage() {
    let mut ix = setup("2");
    for (i, n) in ["a", "b", "c"].iter().enumerate() {
        ix.apply_workload(wl(n, "1", &format!("2026-11-25T00:00:0{i}Z")));
    }
    cycle(&mut ix);
    let st = ix.cluster_queue_status("cq").unwrap();
    assert_eq!(
        (
            st.pending_workloads,
            st.reserving_workloads,
            st.admitted_workloads
        ),
        (1, 2, 2)
    );
    assert_eq!(st.flavors_reservation[0].name.as_str(), "default");
    let cpu = &st.flavors_reservation[0].resources[0];
    assert_eq!(
        (
            cpu.name.as_str(),
            cpu.total.as_ref().map(turnstile_api::Quantity::as_str)
        ),
        ("cpu", Some("2"))
    );
    assert!(
        cpu.borrowed.is_none(),
        "borrowed is reported only in a cohort"
    );
    assert_eq!(
        (
            st.conditions[0].status.as_str(),
            st.conditions[0].reason.as_str()
        ),
        ("True", "Ready")
    );
    let lq = ix.local_queue_status("ns/lq").unwrap();
    assert_eq!(
        (
            lq.pending_workloads,
            lq.reserving_workloads,
            lq.admitted_workloads
        ),
        (1, 2, 2)
    );
    assert_eq!(lq.conditions[0].reason, "Ready");
    ix.apply_cluster_queue(cq("2", json!({"cohortName": "team", "stopPolicy": "Hold"})));
    let st = ix.cluster_queue_status("cq").unwrap();
    assert_eq!(
        st.flavors_usage[0].resources[0]
            .borrowed
            .as_ref()
            .map(turnstile_api::Quantity::as_str),
        Some("0")
    );
    assert_eq!(
        (
            st.conditions[0].status.as_str(),
            st.conditions[0].reason.as_str()
        ),
        ("False", "Stopped")
    );
    assert_eq!(
        ix.local_queue_status("ns/lq").unwrap().conditions[0].reason,
        "ClusterQueueIsInactive"
    );
}

fn admitted_wl(name: &str, extra_conditions: Value) -> api::Workload {
    let mut w = wl(name, "1", "2026-11-25T00:00:01Z");
    let mut conds = vec![
        json!({"type": "QuotaReserved", "status": "True", "reason": "QuotaReserved", "message": "", "lastTransitionTime": "2026-11-25T00:01:00Z"}),
        json!({"type": "Admitted", "status": "True", "reason": "Admitted", "message": "", "lastTransitionTime": "2026-11-25T00:01:00Z"}),
    ];
    if let Value::Array(extra) = extra_conditions {
        conds.extend(extra);
    }
    w.status = Some(obj(json!({"conditions": conds,
        "admission": {"clusterQueue": "cq", "podSetAssignments": [{"name": "main", "flavors": {"cpu": "default"}, "resourceUsage": {"cpu": "1"}, "count": 1}]}})));
    w
}

#[test]
fn admission_checks_gate_the_cluster_queue_and_apply_per_flavor() {
    let mut ix = setup("1");
    ix.apply_cluster_queue(cq(
        "1",
        json!({"admissionChecksStrategy": {"admissionChecks": [{"name": "ac1"}, {"name": "ac2", "onFlavors": ["spot"]}]}}),
    ));
    let why = ix.inactive("cq").unwrap();
    assert_eq!(why.reason, "AdmissionCheckNotFound");
    assert_eq!(
        why.message,
        "Can't admit new workloads: references missing AdmissionCheck(s): ac1,ac2."
    );
    let ac = |name: &str, active: &str| -> api::AdmissionCheck {
        obj(
            json!({"metadata": {"name": name}, "spec": {"controllerName": "c"},
            "status": {"conditions": [{"type": "Active", "status": active, "reason": "R", "message": "", "lastTransitionTime": "2026-11-25T00:00:00Z"}]}}),
        )
    };
    ix.apply_admission_check(ac("ac1", "True"));
    ix.apply_admission_check(ac("ac2", "False"));
    let why = ix.inactive("cq").unwrap();
    assert_eq!(
        (why.reason, why.message.as_str()),
        (
            "AdmissionCheckInactive",
            "Can't admit new workloads: references inactive AdmissionCheck(s): ac2."
        )
    );
    ix.apply_workload(wl("w", "1", "2026-11-25T00:00:01Z"));
    assert!(
        matches!(ix.standing("ns/w"), Some(Standing::Blocked { .. })),
        "an inactive ClusterQueue admits nothing"
    );
    ix.apply_admission_check(ac("ac2", "True"));
    assert!(ix.inactive("cq").is_none());
    assert!(matches!(
        ix.standing("ns/w"),
        Some(Standing::Pending { .. })
    ));
    assert_eq!(ix.checks_for("cq", ["default"]), ["ac1"]);
    assert_eq!(ix.checks_for("cq", ["spot"]), ["ac1", "ac2"]);
    assert!(ix.checks_for("other", ["spot"]).is_empty());
    ix.delete_admission_check("ac1");
    assert_eq!(ix.inactive("cq").unwrap().reason, "AdmissionCheckNotFound");
}

#[test]
fn a_deactivated_workload_holds_its_quota_until_released() {
    let mut ix = setup("1");
    let mut off = admitted_wl("a", json!([]));
    off.spec.active = Some(false);
    ix.apply_workload(off.clone());
    assert_eq!(
        ix.standing("ns/a"),
        Some(Standing::Reserving {
            cluster_queue: "cq".into()
        }),
        "its pods may still run"
    );
    ix.apply_workload(wl("b", "1", "2026-11-25T00:00:02Z"));
    assert!(admitted(&cycle(&mut ix)).is_empty(), "no over-commit");
    // Released (admission cleared): the quota is free and b is admitted.
    off.status = Some(obj(json!({"conditions": [
        {"type": "QuotaReserved", "status": "False", "reason": "Deactivated", "message": "", "lastTransitionTime": "2026-11-25T00:02:00Z"}]})));
    ix.apply_workload(off);
    assert_eq!(ix.standing("ns/a"), Some(Standing::Done));
    assert_eq!(admitted(&cycle(&mut ix)), ["ns/b"]);
}

#[test]
fn upkeep_drains_deactivates_and_lets_back() {
    let mut ix = setup("2");
    ix.apply_workload(admitted_wl("a", json!([])));
    assert!(ix.upkeep(0).is_empty());
    ix.apply_cluster_queue(cq("2", json!({"stopPolicy": "HoldAndDrain"})));
    assert_eq!(
        ix.upkeep(0),
        vec![Upkeep::Evict {
            key: "ns/a".into(),
            reason: "ClusterQueueStopped".into(),
            message: "The ClusterQueue is stopped".into()
        }]
    );
    ix.apply_cluster_queue(cq("2", json!({"stopPolicy": "Hold"})));
    assert!(ix.upkeep(0).is_empty(), "Hold lets admitted workloads run");
    let mut off = admitted_wl("b", json!([]));
    off.spec.active = Some(false);
    ix.apply_workload(off);
    assert!(ix.upkeep(0).contains(&Upkeep::Evict {
        key: "ns/b".into(),
        reason: "Deactivated".into(),
        message: "The workload is deactivated".into()
    }));
    // Deactivated by the controller: the cause is in the reason and message.
    let mut limit = admitted_wl(
        "d",
        json!([{"type": "DeactivationTarget", "status": "True", "reason": "RequeuingLimitExceeded",
            "message": "exceeding the maximum number of re-queuing retries", "lastTransitionTime": "2026-11-25T00:01:00Z"}]),
    );
    limit.spec.active = Some(false);
    ix.apply_workload(limit);
    assert!(ix.upkeep(0).contains(&Upkeep::Evict {
        key: "ns/d".into(),
        reason: "DeactivatedDueToRequeuingLimitExceeded".into(),
        message: "The workload is deactivated due to exceeding the maximum number of re-queuing retries".into()
    }));
    // Reactivated, it comes back (bare and caused deactivations alike).
    let mut back = wl("r", "1", "2026-11-25T00:00:01Z");
    back.status = Some(obj(json!({"conditions": [
        {"type": "Requeued", "status": "False", "reason": "DeactivatedDueToRequeuingLimitExceeded", "message": "", "lastTransitionTime": "2026-11-25T00:01:00Z"}]})));
    ix.apply_workload(back);
    assert!(ix.upkeep(0).contains(&Upkeep::Requeue {
        key: "ns/r".into(),
        reason: "Reactivated",
        message: "The workload was reactivated"
    }));
    // A parked workload comes back only when its queue runs again.
    let mut parked = wl("p", "1", "2026-11-25T00:00:01Z");
    parked.status = Some(obj(json!({"conditions": [
        {"type": "Requeued", "status": "False", "reason": "ClusterQueueStopped", "message": "The ClusterQueue is stopped", "lastTransitionTime": "2026-11-25T00:01:00Z"}]})));
    ix.apply_workload(parked);
    assert_eq!(ix.standing("ns/p"), Some(Standing::Parked));
    assert!(
        !ix.upkeep(0)
            .iter()
            .any(|u| matches!(u, Upkeep::Requeue { key, .. } if key == "ns/p"))
    );
    ix.apply_cluster_queue(cq("2", json!({})));
    assert!(ix.upkeep(0).contains(&Upkeep::Requeue {
        key: "ns/p".into(),
        reason: "ClusterQueueRestarted",
        message: "The ClusterQueue was restarted after being stopped"
    }));
}

#[test]
fn workload_priority_class_values_are_pushed_to_workloads() {
    let mut ix = setup("2");
    let with_class = |name: &str, class: &str, priority: i32| {
        let mut w = wl(name, "1", "2026-11-25T00:00:01Z");
        w.spec.priority_class_ref = Some(obj(
            json!({"group": "kueue.x-k8s.io", "kind": "WorkloadPriorityClass", "name": class}),
        ));
        w.spec.priority = Some(priority);
        w
    };
    ix.apply_workload(with_class("a", "high", 100));
    ix.apply_workload(with_class("b", "missing", 5));
    let mut pod_class = with_class("c", "high", 1);
    pod_class.spec.priority_class_ref = Some(obj(
        json!({"group": "scheduling.k8s.io", "kind": "PriorityClass", "name": "high"}),
    ));
    ix.apply_workload(pod_class);
    ix.apply_priority_class(obj(json!({"metadata": {"name": "high"}, "value": 100})));
    assert!(ix.upkeep(0).is_empty(), "values already match");
    ix.apply_priority_class(obj(json!({"metadata": {"name": "high"}, "value": 1000})));
    assert_eq!(
        ix.upkeep(0),
        vec![Upkeep::SetPriority {
            key: "ns/a".into(),
            priority: 1000
        }],
        "only the workload naming the WorkloadPriorityClass; a pod PriorityClass is left alone"
    );
    ix.apply_workload(with_class("a", "high", 1000));
    assert!(ix.upkeep(0).is_empty());
    ix.delete_priority_class("high");
    assert!(ix.upkeep(0).is_empty(), "a deleted class changes nothing");
}

#[test]
fn backoff_ends_at_requeue_at() {
    let mut ix = setup("2");
    let mut w = wl("t", "1", "2026-11-25T00:00:01Z");
    w.status = Some(obj(json!({"conditions": [
        {"type": "Requeued", "status": "False", "reason": "PodsReadyTimeout", "message": "Exceeded the PodsReady timeout ns/t", "lastTransitionTime": "2026-11-25T00:01:00Z"}],
        "requeueState": {"count": 1, "requeueAt": "2026-11-25T00:02:00Z"}})));
    ix.apply_workload(w);
    assert_eq!(ix.standing("ns/t"), Some(Standing::Parked));
    let at = |s: &str| {
        k8s_openapi::jiff::Timestamp::from_str(s)
            .unwrap()
            .as_millisecond()
    };
    assert!(
        ix.upkeep(at("2026-11-25T00:01:59Z")).is_empty(),
        "still backing off"
    );
    assert_eq!(
        ix.upkeep(at("2026-11-25T00:02:00Z")),
        vec![Upkeep::Requeue {
            key: "ns/t".into(),
            reason: "BackoffFinished",
            message: "The workload backoff was finished"
        }]
    );
}

#[test]
fn workloads_are_found_by_their_job_and_changes_are_reported() {
    let mut ix = setup("2");
    let owned = |name: &str, job: &str| {
        let mut w = wl(name, "1", "2026-11-25T00:00:01Z");
        w.metadata.owner_references =
            Some(vec![obj(json!({"apiVersion": "batch/v1", "kind": "Job",
            "name": job, "uid": format!("uid-{job}"), "controller": true}))]);
        w
    };
    ix.apply_workload(owned("a", "j1"));
    ix.apply_workload(owned("b", "j1"));
    ix.apply_workload(wl("free", "1", "2026-11-25T00:00:01Z"));
    assert_eq!(ix.workloads_of_job("ns/j1").len(), 2);
    assert_eq!(
        ix.workloads_of_job("ns/j1")[0]
            .1
            .map(|m| m.pod_sets[0].count),
        Ok(1)
    );
    assert_eq!(ix.take_dirty_jobs(), ["ns/j1".into()].into());
    assert!(ix.take_dirty_jobs().is_empty());
    // Moving a Workload to another owner reports both Jobs.
    ix.apply_workload(owned("b", "j2"));
    assert_eq!(
        ix.take_dirty_jobs(),
        ["ns/j1".into(), "ns/j2".into()].into()
    );
    assert_eq!(ix.workloads_of_job("ns/j1").len(), 1);
    ix.delete_workload(&"ns/a".into());
    assert_eq!(ix.take_dirty_jobs(), ["ns/j1".into()].into());
    assert!(ix.workloads_of_job("ns/j1").is_empty());
    assert_eq!(ix.jobs_with_workloads(), vec!["ns/j2".to_owned()]);
}

#[test]
fn terminating_queues_and_flavors_let_go_once_unused() {
    let mut ix = setup("2");
    let deleting = |mut m: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta| {
        m.deletion_timestamp = Some(obj(json!("2026-11-25T00:00:00Z")));
        m.finalizers = Some(vec![
            "kueue.x-k8s.io/resource-in-use".into(),
            "other".into(),
        ]);
        m
    };
    ix.apply_workload(admitted_wl("a", json!([])));
    let mut c = ix.cluster_queue("cq").unwrap().clone();
    c.metadata = deleting(c.metadata);
    ix.apply_cluster_queue(c.clone());
    let mut f: api::ResourceFlavor = obj(json!({"metadata": {"name": "default"}}));
    f.metadata = deleting(f.metadata);
    ix.apply_flavor(f);
    assert!(
        ix.releasable().is_empty(),
        "a workload holds quota; the queue names the flavor"
    );
    ix.delete_workload(&"ns/a".into());
    assert_eq!(
        ix.releasable(),
        vec![Releasable {
            kind: ReleasableKind::ClusterQueue,
            name: "cq".into(),
            keep: vec!["other".into()],
            resource_version: None,
        }]
    );
    ix.delete_cluster_queue("cq");
    assert_eq!(ix.releasable()[0].kind, ReleasableKind::ResourceFlavor);
}

#[test]
fn merged_conditions_keep_places_times_and_the_filter() {
    let mut w = admitted_wl(
        "m",
        json!([{"type": "PodsReady", "status": "False", "reason": "WaitForStart", "message": "",
            "lastTransitionTime": "2026-11-25T00:02:00Z"}]),
    );
    w.metadata.generation = Some(3);
    let now = "2026-11-25T01:00:00Z";
    let set = [
        ("Admitted", "True", "Admitted", "again"),
        ("QuotaReserved", "False", "Pending", "m"),
        ("Evicted", "True", "Preempted", "p"),
    ];
    let all = merged_conditions(&w, &set, now, |_| true);
    let types: Vec<&str> = all.iter().map(|c| c["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["QuotaReserved", "Admitted", "PodsReady", "Evicted"]);
    assert_eq!(all[0]["lastTransitionTime"], now, "status changed");
    assert_eq!(
        all[1]["lastTransitionTime"], "2026-11-25T00:01:00Z",
        "status kept"
    );
    assert_eq!(all[1]["message"], "again");
    assert_eq!(all[1]["observedGeneration"], 3);
    assert_eq!(all[2]["reason"], "WaitForStart", "untouched");
    assert_eq!(all[3]["lastTransitionTime"], now);
    let owned = merged_conditions(&w, &set, now, |t| t != "PodsReady" && t != "Evicted");
    let types: Vec<&str> = owned.iter().map(|c| c["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["QuotaReserved", "Admitted"]);
}

/// A random walk over watch events (workloads arriving, admitted, finishing, deleted, parked;
/// queue spec edits and status-only echoes; LocalQueues repointed and stopped; namespace labels;
/// flavors and priority classes coming and going; cycles whose admissions are confirmed or
/// forgotten). After every step the incrementally kept index must say exactly what an index
/// built from scratch from the same objects says (standings, queue statuses, pending counts,
/// blocked reasons, upkeep, releasable finalizers), and every queue whose status changed must
/// have been marked for the status writer.
#[test]
fn take_upkeep_looks_only_at_what_changed_and_at_backoffs_whose_time_came() {
    let mut ix = setup("4");
    ix.apply_workload(admitted_wl("a", json!([])));
    ix.apply_workload(admitted_wl("b", json!([])));
    assert!(ix.take_upkeep(0).is_empty());
    // A ClusterQueue change: every holder is looked at, each called for once.
    ix.apply_cluster_queue(cq("4", json!({"stopPolicy": "HoldAndDrain"})));
    let first = ix.take_upkeep(0);
    assert_eq!(first, ix.upkeep(0));
    assert_eq!(first.len(), 2);
    assert!(ix.take_upkeep(0).is_empty(), "nothing changed since");
    // A failed write lets that workload be looked at again, only it.
    ix.release_hold(&"ns/a".into());
    assert_eq!(
        ix.take_upkeep(0),
        vec![Upkeep::Evict {
            key: "ns/a".into(),
            reason: "ClusterQueueStopped".into(),
            message: "The ClusterQueue is stopped".into()
        }]
    );
    // A LocalQueue change: its workloads are looked at.
    ix.apply_cluster_queue(cq("4", json!({})));
    assert!(ix.take_upkeep(0).is_empty());
    ix.apply_local_queue(obj(
        json!({"metadata": {"name": "lq", "namespace": "ns"}, "spec": {"clusterQueue": "cq", "stopPolicy": "HoldAndDrain"}}),
    ));
    assert_eq!(ix.take_upkeep(0).len(), 2);
    assert!(ix.take_upkeep(0).is_empty());
    // A workload that changes is looked at.
    let mut off = admitted_wl("c", json!([]));
    off.spec.active = Some(false);
    ix.apply_workload(off);
    assert_eq!(
        ix.take_upkeep(0),
        vec![Upkeep::Evict {
            key: "ns/c".into(),
            reason: "Deactivated".into(),
            message: "The workload is deactivated".into()
        }]
    );
    // A backoff ends with no event: it is taken when its time comes, and until it changes.
    let mut t = wl("t", "1", "2026-11-25T00:00:01Z");
    t.status = Some(obj(json!({"conditions": [
        {"type": "Requeued", "status": "False", "reason": "PodsReadyTimeout", "message": "", "lastTransitionTime": "2026-11-25T00:01:00Z"}],
        "requeueState": {"count": 1, "requeueAt": "2026-11-25T00:02:00Z"}})));
    ix.apply_workload(t.clone());
    let end = k8s_openapi::jiff::Timestamp::from_str("2026-11-25T00:02:00Z")
        .unwrap()
        .as_millisecond();
    assert!(ix.take_upkeep(end - 1).is_empty(), "still backing off");
    let back = vec![Upkeep::Requeue {
        key: "ns/t".into(),
        reason: "BackoffFinished",
        message: "The workload backoff was finished",
    }];
    assert_eq!(ix.take_upkeep(end), back);
    assert_eq!(ix.take_upkeep(end + 1), back, "still parked: taken again");
    t.status = Some(obj(json!({"conditions": [
        {"type": "Requeued", "status": "True", "reason": "BackoffFinished", "message": "", "lastTransitionTime": "2026-11-25T00:02:00Z"}]})));
    ix.apply_workload(t);
    assert!(ix.take_upkeep(end + 2).is_empty());
}

#[test]
fn incremental_state_equals_a_rebuild_after_any_event_sequence() {
    use std::collections::BTreeMap as Map;
    struct World {
        flavors: Map<String, api::ResourceFlavor>,
        cqs: Map<String, api::ClusterQueue>,
        lqs: Map<String, api::LocalQueue>,
        namespaces: Map<String, BTreeMap<String, String>>,
        classes: Map<String, api::WorkloadPriorityClass>,
        wls: Map<String, api::Workload>,
        windows: Vec<WindowPolicy>,
    }
    impl World {
        fn rebuild(&self) -> Index {
            let mut ix = Index::default();
            for f in self.flavors.values() {
                ix.apply_flavor(f.clone());
            }
            for c in self.classes.values() {
                ix.apply_priority_class(c.clone());
            }
            for (n, l) in &self.namespaces {
                ix.apply_namespace(n, l.clone());
            }
            for c in self.cqs.values() {
                ix.apply_cluster_queue(c.clone());
            }
            for l in self.lqs.values() {
                ix.apply_local_queue(l.clone());
            }
            for w in self.wls.values() {
                ix.apply_workload(w.clone());
            }
            ix.set_window_policies(self.windows.clone());
            ix
        }
    }
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    let mut rnd = move |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    let cq_of = |name: &str,
                 nominal: u64,
                 stop: bool,
                 sel: bool,
                 spot: bool|
     -> api::ClusterQueue {
        let labels = if spot {
            json!({"tier": "spot"})
        } else {
            json!({})
        };
        let mut v = json!({"metadata": {"name": name, "generation": 1, "labels": labels}, "spec": {
            "cohortName": "co",
            "namespaceSelector": if sel { json!({"matchLabels": {"team": "a"}}) } else { json!({}) },
            "resourceGroups": [{"coveredResources": ["cpu"], "flavors": [
                {"name": if name == "cq2" { "spot" } else { "default" }, "resources": [{"name": "cpu", "nominalQuota": nominal.to_string()}]}]}]}});
        if stop {
            v["spec"]["stopPolicy"] = json!("Hold");
        }
        obj(v)
    };
    let lq_of = |ns: &str, cq: &str, stop: bool| -> api::LocalQueue {
        let mut v = json!({"metadata": {"name": "lq", "namespace": ns, "generation": 1}, "spec": {"clusterQueue": cq}});
        if stop {
            v["spec"]["stopPolicy"] = json!("Hold");
        }
        obj(v)
    };
    let mut w = World {
        flavors: Map::new(),
        cqs: Map::new(),
        lqs: Map::new(),
        namespaces: Map::new(),
        classes: Map::new(),
        wls: Map::new(),
        windows: Vec::new(),
    };
    let mut ix = Index::default();
    let mut observed: Map<String, String> = Map::new();
    let mut told: Vec<Upkeep> = Vec::new();
    let mut next = 0;
    for step in 0..1500 {
        match rnd(17) {
            0..=3 => {
                next += 1;
                let ns = ["ns1", "ns2"][usize::try_from(rnd(2)).unwrap()];
                let mut x = wl(
                    &format!("w{next}"),
                    &format!("{}", 1 + rnd(3)),
                    "2026-11-25T00:00:01Z",
                );
                x.metadata.namespace = Some(ns.into());
                if rnd(6) == 0 {
                    x.spec.queue_name = Some("missing".into());
                }
                if rnd(3) == 0 {
                    x.spec.priority_class_ref = Some(obj(
                        json!({"group": "kueue.x-k8s.io", "kind": "WorkloadPriorityClass", "name": "high"}),
                    ));
                    x.spec.priority = Some(i32::try_from(rnd(3)).unwrap());
                }
                let k = format!("{ns}/w{next}");
                ix.apply_workload(x.clone());
                w.wls.insert(k, x);
            }
            4 | 5 => {
                // Admitted (or only reserved) through the API in the queue its LocalQueue names.
                let Some(k) = w
                    .wls
                    .keys()
                    .nth(usize::try_from(rnd(w.wls.len().max(1) as u64)).unwrap())
                    .cloned()
                else {
                    continue;
                };
                let x = w.wls.get_mut(&k).unwrap();
                let cq = if rnd(2) == 0 { "cq1" } else { "cq2" };
                let flavor = if cq == "cq2" { "spot" } else { "default" };
                let admitted = if rnd(3) == 0 { "False" } else { "True" };
                x.status = Some(obj(json!({"conditions": [
                    {"type": "QuotaReserved", "status": "True", "reason": "QuotaReserved", "message": "", "lastTransitionTime": "2026-11-25T00:01:00Z"},
                    {"type": "Admitted", "status": admitted, "reason": "Admitted", "message": "", "lastTransitionTime": "2026-11-25T00:01:00Z"}],
                    "admission": {"clusterQueue": cq, "podSetAssignments": [{"name": "main", "flavors": {"cpu": flavor}, "resourceUsage": {"cpu": "1"}, "count": 1}]}})));
                ix.apply_workload(x.clone());
            }
            6 => {
                let Some(k) = w
                    .wls
                    .keys()
                    .nth(usize::try_from(rnd(w.wls.len().max(1) as u64)).unwrap())
                    .cloned()
                else {
                    continue;
                };
                let x = w.wls.get_mut(&k).unwrap();
                let mut conds = x.status.take().map(|s| s.conditions).unwrap_or_default();
                let (t, status, reason) = match rnd(4) {
                    0 => ("Finished", "True", "Succeeded"),
                    1 => ("Requeued", "False", "ClusterQueueStopped"),
                    2 => ("Requeued", "False", "TimeWindowClosed"),
                    _ => ("Requeued", "True", "Requeued"),
                };
                conds.retain(|c| c.type_ != t);
                conds.push(obj(json!({"type": t, "status": status, "reason": reason, "message": "", "lastTransitionTime": "2026-11-25T00:02:00Z"})));
                x.status = Some(api::WorkloadStatus {
                    conditions: conds,
                    ..Default::default()
                });
                ix.apply_workload(x.clone());
            }
            7 => {
                let Some(k) = w
                    .wls
                    .keys()
                    .nth(usize::try_from(rnd(w.wls.len().max(1) as u64)).unwrap())
                    .cloned()
                else {
                    continue;
                };
                w.wls.remove(&k);
                ix.delete_workload(&ObjectKey::from(k.as_str()));
            }
            8 | 9 => {
                let name = if rnd(2) == 0 { "cq1" } else { "cq2" };
                if rnd(8) == 0 {
                    w.cqs.remove(name);
                    ix.delete_cluster_queue(name);
                } else {
                    let c = cq_of(name, 1 + rnd(4), rnd(4) == 0, rnd(4) == 0, rnd(2) == 0);
                    ix.apply_cluster_queue(c.clone());
                    w.cqs.insert(name.into(), c);
                }
            }
            10 => {
                // A status-only echo of a ClusterQueue.
                let Some(mut c) = w.cqs.values().next().cloned() else {
                    continue;
                };
                c.status = Some(api::ClusterQueueStatus {
                    pending_workloads: i32::try_from(rnd(50)).unwrap(),
                    ..Default::default()
                });
                // Or a relabelling (a policy's selector may start or stop matching).
                if rnd(2) == 0 {
                    c.metadata.labels =
                        (rnd(2) == 0).then(|| [("tier".to_owned(), "spot".to_owned())].into());
                }
                ix.apply_cluster_queue(c.clone());
                w.cqs.insert(c.metadata.name.clone().unwrap(), c);
            }
            11 => {
                let ns = ["ns1", "ns2"][usize::try_from(rnd(2)).unwrap()];
                let key = format!("{ns}/lq");
                if rnd(6) == 0 {
                    w.lqs.remove(&key);
                    ix.delete_local_queue(&ObjectKey::from(key.as_str()));
                } else {
                    let l = lq_of(
                        ns,
                        ["cq1", "cq2", "cq3"][usize::try_from(rnd(3)).unwrap()],
                        rnd(5) == 0,
                    );
                    ix.apply_local_queue(l.clone());
                    w.lqs.insert(key, l);
                }
            }
            12 => {
                let ns = ["ns1", "ns2"][usize::try_from(rnd(2)).unwrap()];
                let labels: BTreeMap<String, String> = if rnd(2) == 0 {
                    [("team".to_owned(), "a".to_owned())].into()
                } else {
                    BTreeMap::new()
                };
                ix.apply_namespace(ns, labels.clone());
                w.namespaces.insert(ns.into(), labels);
            }
            13 => {
                let name = ["default", "spot"][usize::try_from(rnd(2)).unwrap()];
                if rnd(3) == 0 {
                    w.flavors.remove(name);
                    ix.delete_flavor(name);
                } else {
                    let f: api::ResourceFlavor = obj(json!({"metadata": {"name": name}}));
                    ix.apply_flavor(f.clone());
                    w.flavors.insert(name.into(), f);
                }
            }
            14 => {
                if rnd(3) == 0 {
                    w.classes.remove("high");
                    ix.delete_priority_class("high");
                } else {
                    let c: api::WorkloadPriorityClass =
                        obj(json!({"metadata": {"name": "high"}, "value": rnd(3)}));
                    ix.apply_priority_class(c.clone());
                    w.classes.insert("high".into(), c);
                }
            }
            16 => {
                // The time windows change: up to three policies, by name, label and LocalQueue,
                // open, held or drained.
                let targets = [
                    json!({"clusterQueues": ["cq1"]}),
                    json!({"clusterQueueSelector": {"matchLabels": {"tier": "spot"}}}),
                    json!({"localQueues": [{"namespace": "ns1", "name": "lq"}]}),
                ];
                let chosen: Vec<usize> = (0..3).filter(|_| rnd(2) == 0).collect();
                w.windows = chosen
                    .into_iter()
                    .map(|i| {
                        let closed = rnd(2) == 0;
                        let closing = !closed && rnd(2) == 0;
                        let drain = rnd(2) == 0;
                        WindowPolicy {
                            name: format!("p{i}"),
                            targets: obj(targets[i].clone()),
                            action: if drain {
                                turnstile_api::v1alpha1::CloseAction::Drain
                            } else {
                                turnstile_api::v1alpha1::CloseAction::Hold
                            },
                            state: if closed {
                                turnstile_api::v1alpha1::WindowState::Closed
                            } else if closing {
                                turnstile_api::v1alpha1::WindowState::Closing
                            } else {
                                turnstile_api::v1alpha1::WindowState::Open
                            },
                            admits: !closed,
                            drains: closed && drain,
                            reopens_at: Some(format!("2026-12-0{}T20:00:00Z", 1 + rnd(3))),
                            closes_at: closing
                                .then(|| format!("2026-12-0{}T05:00:00Z", 1 + rnd(3))),
                            drains_at: closing.then(|| "2026-12-09T05:00:00Z".to_owned()),
                            max_concurrent_suspensions: u32::try_from(rnd(3))
                                .ok()
                                .filter(|n| *n > 0),
                            resume_order: if rnd(2) == 0 {
                                turnstile_api::v1alpha1::ResumeOrder::OriginalCreation
                            } else {
                                turnstile_api::v1alpha1::ResumeOrder::EvictionTime
                            },
                        }
                    })
                    .collect();
                ix.set_window_policies(w.windows.clone());
            }
            _ => {
                // A cycle: its admissions are assumed, then confirmed by the API or forgotten.
                let out = cycle(&mut ix);
                for d in &out.decisions {
                    if let Decision::Admit {
                        key,
                        cluster_queue,
                        assignment,
                    } = d
                    {
                        if rnd(2) == 0 {
                            ix.forget(key);
                        } else {
                            let x = w.wls.get_mut(key.as_str()).unwrap();
                            let ps = &assignment[0];
                            x.status = Some(obj(json!({"conditions": [
                                {"type": "QuotaReserved", "status": "True", "reason": "QuotaReserved", "message": "", "lastTransitionTime": "2026-11-25T00:01:00Z"},
                                {"type": "Admitted", "status": "True", "reason": "Admitted", "message": "", "lastTransitionTime": "2026-11-25T00:01:00Z"}],
                                "admission": {"clusterQueue": cluster_queue, "podSetAssignments": [{"name": ps.name, "flavors": ps.flavors,
                                    "resourceUsage": ps.usage.iter().map(|(r, v)| (r.clone(), convert::quantity_string(r, *v))).collect::<BTreeMap<_, _>>(), "count": ps.count}]}})));
                            ix.apply_workload(x.clone());
                        }
                    }
                }
            }
        }
        let fresh = w.rebuild();
        let (marked_cluster_queues, marked_local_queues) = ix.take_dirty_queues();
        for k in w.wls.keys() {
            assert_eq!(
                ix.standing(k),
                fresh.standing(k),
                "step {step}: standing of {k}"
            );
        }
        for n in ["cq1", "cq2", "cq3"] {
            let status = ix.cluster_queue_status(n);
            assert_eq!(
                status,
                fresh.cluster_queue_status(n),
                "step {step}: status of {n}"
            );
            assert_eq!(
                ix.pending_count(n),
                fresh.pending_count(n),
                "step {step}: pending in {n}"
            );
            let shown = format!("{status:?}");
            if observed.get(n) != Some(&shown) {
                assert!(
                    status.is_none() || marked_cluster_queues.contains(n),
                    "step {step}: {n} changed but was not marked"
                );
                observed.insert(n.into(), shown);
            }
        }
        for k in ["ns1/lq", "ns2/lq"] {
            let status = ix.local_queue_status(k);
            assert_eq!(
                status,
                fresh.local_queue_status(k),
                "step {step}: status of {k}"
            );
            let shown = format!("{status:?}");
            if observed.get(k) != Some(&shown) {
                assert!(
                    status.is_none() || marked_local_queues.contains(k),
                    "step {step}: {k} changed but was not marked"
                );
                observed.insert(k.into(), shown);
            }
        }
        assert_eq!(
            ix.blocked_to_report(),
            fresh.blocked_to_report(),
            "step {step}: blocked"
        );
        assert_eq!(ix.upkeep(0), fresh.upkeep(0), "step {step}: upkeep");
        // What looking only at what changed has called for covers everything called for.
        told.extend(ix.take_upkeep(0));
        for u in ix.upkeep(0) {
            assert!(
                told.contains(&u),
                "step {step}: {u:?} called for, never taken"
            );
        }
        // The snapshot built from the views kept per change equals one built from scratch.
        assert_eq!(
            format!("{:?}", ix.snapshot()),
            format!("{:?}", fresh.snapshot()),
            "step {step}: snapshot"
        );
        assert_eq!(
            ix.releasable(),
            fresh.releasable(),
            "step {step}: releasable"
        );
    }
}

#[test]
fn an_admission_refused_as_stale_waits_for_the_newer_version() {
    let mut ix = setup("2");
    let mut a = wl("a", "1", "2026-11-25T00:00:01Z");
    a.metadata.resource_version = Some("10".into());
    ix.apply_workload(a.clone());
    assert_eq!(admitted(&cycle(&mut ix)), vec!["ns/a"]);
    // The write was refused: the Workload changed since version 10.
    ix.forget_stale(&"ns/a".into(), Some("10"));
    assert_eq!(
        ix.standing("ns/a"),
        Some(Standing::Pending {
            cluster_queue: "cq".into()
        }),
        "still pending"
    );
    assert!(
        ix.heads(i64::MAX).is_empty(),
        "not decided again on the same stale view"
    );
    assert_eq!(ix.local_queue_status("ns/lq").unwrap().pending_workloads, 1);
    // The newer version arrives: back in the queue, admitted on the fresh view.
    a.metadata.resource_version = Some("11".into());
    ix.apply_workload(a);
    assert_eq!(admitted(&cycle(&mut ix)), vec!["ns/a"]);
    // A refusal on a version the cache has already moved past requeues at once.
    ix.forget_stale(&"ns/a".into(), Some("10"));
    assert_eq!(ix.heads(i64::MAX).len(), 1);
}

fn window(
    name: &str,
    targets: Value,
    admits: bool,
    drains: bool,
    max: Option<u32>,
) -> WindowPolicy {
    WindowPolicy {
        name: name.into(),
        targets: obj(targets),
        action: if drains {
            turnstile_api::v1alpha1::CloseAction::Drain
        } else {
            turnstile_api::v1alpha1::CloseAction::Hold
        },
        state: if admits {
            turnstile_api::v1alpha1::WindowState::Open
        } else {
            turnstile_api::v1alpha1::WindowState::Closed
        },
        admits,
        drains,
        reopens_at: (!admits).then(|| "2026-12-08T19:00:00Z".to_owned()),
        closes_at: None,
        drains_at: None,
        max_concurrent_suspensions: max,
        resume_order: turnstile_api::v1alpha1::ResumeOrder::OriginalCreation,
    }
}

#[test]
fn a_closed_window_holds_pending_work_and_says_until_when() {
    let mut ix = setup("4");
    ix.apply_workload(admitted_wl("run", json!([])));
    let changed = ix.set_window_policies(vec![window(
        "night",
        json!({"clusterQueues": ["cq"]}),
        false,
        false,
        None,
    )]);
    assert_eq!(changed, vec![WindowTarget::ClusterQueue("cq".into())]);
    ix.apply_workload(wl("new", "1", "2026-11-25T00:00:02Z"));
    assert_eq!(
        ix.standing("ns/new"),
        Some(Standing::Blocked {
            reason: "TimeWindowClosed",
            message:
                "ClusterQueue cq is closed by TimeWindowPolicy night until 2026-12-08T19:00:00Z"
                    .into()
        })
    );
    assert!(admitted(&cycle(&mut ix)).is_empty(), "nothing admitted");
    assert!(ix.upkeep(0).is_empty(), "Hold lets admitted work run");
    assert_eq!(ix.window_affected("night"), (1, 1));
    // Reported the same again: nothing moves.
    assert!(
        ix.set_window_policies(vec![window(
            "night",
            json!({"clusterQueues": ["cq"]}),
            false,
            false,
            None
        )])
        .is_empty()
    );
    // Open: admitted through the scheduler.
    ix.set_window_policies(vec![window(
        "night",
        json!({"clusterQueues": ["cq"]}),
        true,
        false,
        None,
    )]);
    assert_eq!(admitted(&cycle(&mut ix)), ["ns/new"]);
}

#[test]
fn a_drain_evicts_paced_and_lets_back_at_the_reopen_and_drain_beats_hold() {
    let mut ix = setup("4");
    for n in ["a", "b", "c"] {
        ix.apply_workload(admitted_wl(n, json!([])));
    }
    // Hold on the ClusterQueue, Drain (2 at a time) on the LocalQueue: Drain applies.
    ix.set_window_policies(vec![
        window("hold", json!({"clusterQueues": ["cq"]}), false, false, None),
        window(
            "drain",
            json!({"localQueues": [{"namespace": "ns", "name": "lq"}]}),
            false,
            true,
            Some(2),
        ),
    ]);
    let evictions: Vec<Upkeep> = ix.upkeep(0);
    let msg = "LocalQueue ns/lq is closed by TimeWindowPolicy drain until 2026-12-08T19:00:00Z";
    assert_eq!(
        evictions,
        vec![
            Upkeep::Evict {
                key: "ns/a".into(),
                reason: "TimeWindowClosed".into(),
                message: msg.into()
            },
            Upkeep::Evict {
                key: "ns/b".into(),
                reason: "TimeWindowClosed".into(),
                message: msg.into()
            },
        ],
        "paced: two under way at once"
    );
    let evicted = json!([{"type": "Evicted", "status": "True", "reason": "TimeWindowClosed", "message": msg, "lastTransitionTime": "2026-11-25T00:05:00Z"}]);
    ix.apply_workload(admitted_wl("a", evicted.clone()));
    ix.apply_workload(admitted_wl("b", evicted));
    assert!(ix.upkeep(0).is_empty(), "a and b are still stopping");
    // a released (its Job stopped): parked until the window opens; c may go now.
    let mut a = wl("a", "1", "2026-11-25T00:00:01Z");
    a.status = Some(obj(json!({"conditions": [
        {"type": "Evicted", "status": "True", "reason": "TimeWindowClosed", "message": msg, "lastTransitionTime": "2026-11-25T00:05:00Z"},
        {"type": "QuotaReserved", "status": "False", "reason": "PendingEvaluation", "message": msg, "lastTransitionTime": "2026-11-25T00:06:00Z"},
        {"type": "Requeued", "status": "False", "reason": "TimeWindowClosed", "message": msg, "lastTransitionTime": "2026-11-25T00:06:00Z"}]})));
    ix.apply_workload(a);
    assert_eq!(ix.standing("ns/a"), Some(Standing::Parked));
    assert_eq!(
        ix.upkeep(0),
        vec![Upkeep::Evict {
            key: "ns/c".into(),
            reason: "TimeWindowClosed".into(),
            message: msg.into()
        }]
    );
    // The drain policy opens but the hold policy still closes the ClusterQueue: a stays parked.
    ix.set_window_policies(vec![
        window("hold", json!({"clusterQueues": ["cq"]}), false, false, None),
        window(
            "drain",
            json!({"localQueues": [{"namespace": "ns", "name": "lq"}]}),
            true,
            false,
            Some(2),
        ),
    ]);
    assert!(
        !ix.upkeep(0)
            .iter()
            .any(|u| matches!(u, Upkeep::Requeue { .. })),
        "not let back while another policy closes the queue"
    );
    ix.set_window_policies(vec![]);
    assert_eq!(
        ix.upkeep(0),
        vec![Upkeep::Requeue {
            key: "ns/a".into(),
            reason: "TimeWindowOpened",
            message: "The time window that closed the queue is open again"
        }]
    );
}

#[test]
fn drained_work_resumes_by_creation_or_by_eviction_time() {
    let mut ix = setup("1");
    let drained = |name: &str, created: &str, evicted_at: &str| {
        let mut w = wl(name, "1", created);
        w.status = Some(obj(json!({"conditions": [
            {"type": "Evicted", "status": "True", "reason": "TimeWindowClosed", "message": "", "lastTransitionTime": evicted_at},
            {"type": "Requeued", "status": "True", "reason": "TimeWindowOpened", "message": "", "lastTransitionTime": "2026-11-26T00:00:00Z"}]})));
        w
    };
    // Older by creation, evicted later.
    ix.apply_workload(drained(
        "old",
        "2026-11-25T00:00:01Z",
        "2026-11-25T10:00:00Z",
    ));
    ix.apply_workload(drained(
        "young",
        "2026-11-25T00:00:02Z",
        "2026-11-25T09:00:00Z",
    ));
    let mut policy = window("night", json!({"clusterQueues": ["cq"]}), true, false, None);
    ix.set_window_policies(vec![policy.clone()]);
    assert_eq!(admitted(&cycle(&mut ix)), ["ns/old"], "OriginalCreation");
    ix.forget(&"ns/old".into());
    policy.resume_order = turnstile_api::v1alpha1::ResumeOrder::EvictionTime;
    ix.set_window_policies(vec![policy]);
    assert_eq!(admitted(&cycle(&mut ix)), ["ns/young"], "EvictionTime");
}

#[test]
fn a_near_drain_is_announced_on_admitted_workloads_and_withdrawn_after() {
    let mut ix = setup("4");
    ix.apply_workload(admitted_wl("a", json!([])));
    let mut closing = window("night", json!({"clusterQueues": ["cq"]}), true, false, None);
    closing.action = turnstile_api::v1alpha1::CloseAction::Drain;
    closing.state = turnstile_api::v1alpha1::WindowState::Closing;
    closing.closes_at = Some("2026-12-08T05:00:00Z".into());
    closing.drains_at = Some("2026-12-08T05:05:00Z".into());
    ix.set_window_policies(vec![closing.clone()]);
    let message = "ClusterQueue cq closes at 2026-12-08T05:00:00Z (TimeWindowPolicy night, Drain): admitted work is suspended from 2026-12-08T05:05:00Z; checkpoint before then";
    assert_eq!(
        ix.upkeep(0),
        vec![Upkeep::WindowNotice {
            key: "ns/a".into(),
            closes_at: Some("2026-12-08T05:00:00Z".into()),
            reason: "TimeWindowClosing",
            message: message.into()
        }]
    );
    let noticed = json!([{"type": "TimeWindowClosing", "status": "True", "reason": "TimeWindowClosing", "message": message, "lastTransitionTime": "2026-11-25T00:05:00Z"}]);
    ix.apply_workload(admitted_wl("a", noticed.clone()));
    assert!(ix.upkeep(0).is_empty(), "told once");
    // A Hold policy announces nothing.
    let mut hold = closing.clone();
    hold.action = turnstile_api::v1alpha1::CloseAction::Hold;
    ix.apply_workload(admitted_wl("b", json!([])));
    ix.set_window_policies(vec![hold]);
    assert_eq!(
        ix.upkeep(0),
        vec![Upkeep::WindowNotice {
            key: "ns/a".into(),
            closes_at: None,
            reason: "NoCloseNear",
            message: "No time window closes the workload's queues soon".into()
        }],
        "withdrawn when no drain is near; nothing for b"
    );
    // Closed and draining: the notice stays, the eviction comes.
    ix.set_window_policies(vec![window(
        "night",
        json!({"clusterQueues": ["cq"]}),
        false,
        true,
        None,
    )]);
    let keys: Vec<String> = ix
        .upkeep(0)
        .into_iter()
        .map(|u| match u {
            Upkeep::Evict { key, reason, .. } => format!("evict {key} {reason}"),
            other => format!("{other:?}"),
        })
        .collect();
    assert_eq!(
        keys,
        ["evict ns/a TimeWindowClosed", "evict ns/b TimeWindowClosed"]
    );
}

#[test]
fn a_workload_whose_requests_cannot_be_represented_is_told_why_not_dropped() {
    let mut ix = setup("4");
    ix.apply_workload(wl("huge", "100Ei", "2026-11-25T00:00:01Z"));
    let Some(Standing::Blocked { reason, message }) = ix.standing("ns/huge") else {
        panic!("{:?}", ix.standing("ns/huge"));
    };
    assert_eq!(reason, "Inadmissible");
    assert!(
        message.contains("spec.podSets[0]") && message.contains("cpu"),
        "{message}"
    );
    assert_eq!(
        ix.blocked_to_report()
            .iter()
            .map(|(k, r, _)| (k.as_str(), *r))
            .collect::<Vec<_>>(),
        [("ns/huge", "Inadmissible")]
    );
    assert!(admitted(&cycle(&mut ix)).is_empty());
}

/// Kueue's queue order: a workload requeued after a PodsReady timeout goes behind those queued
/// since (its eviction time), unless `requeuingStrategy.timestamp` is `Creation`; one evicted by
/// an AdmissionCheck always does.
#[test]
fn requeued_workloads_are_ordered_by_eviction_unless_by_creation() {
    let evicted = |name: &str, reason: &str| {
        let mut w = wl(name, "1", "2026-11-25T00:00:01Z");
        w.status = Some(obj(
            json!({"conditions": [{"type": "Evicted", "status": "True",
            "reason": reason, "message": "", "lastTransitionTime": "2026-11-25T00:10:00Z"}]}),
        ));
        w
    };
    let order = |by_creation: bool, reason: &str| {
        let mut ix = setup("1").with_requeuing_by_creation(by_creation);
        ix.apply_workload(evicted("old", reason));
        ix.apply_workload(wl("new", "1", "2026-11-25T00:05:00Z"));
        admitted(&cycle(&mut ix))
            .into_iter()
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    assert_eq!(order(false, "PodsReadyTimeout"), ["ns/new"]);
    assert_eq!(order(true, "PodsReadyTimeout"), ["ns/old"]);
    assert_eq!(order(true, "AdmissionCheck"), ["ns/new"]);
    assert_eq!(
        order(false, "Preempted"),
        ["ns/old"],
        "other evictions keep creation"
    );
}

/// `waitForPodsReady.blockAdmission` looks at every workload holding quota: ready only when each
/// active, unfinished one has `PodsReady=True`.
#[test]
fn holders_ready_follows_pods_ready() {
    let mut ix = setup("4");
    assert!(ix.all_holders_ready(), "nothing holds quota");
    ix.apply_workload(wl("a", "1", "2026-11-25T00:00:01Z"));
    let out = cycle(&mut ix);
    assert_eq!(admitted(&out), ["ns/a"]);
    assert!(!ix.all_holders_ready(), "assumed, pods not ready");
    let mut a = wl("a", "1", "2026-11-25T00:00:01Z");
    a.status = Some(obj(
        json!({"admission": {"clusterQueue": "cq", "podSetAssignments": [
            {"name": "main", "count": 1, "flavors": {"cpu": "default"}, "resourceUsage": {"cpu": "1"}}]},
        "conditions": [
            {"type": "QuotaReserved", "status": "True", "reason": "QuotaReserved", "message": "", "lastTransitionTime": "2026-11-25T00:00:02Z"},
            {"type": "Admitted", "status": "True", "reason": "Admitted", "message": "", "lastTransitionTime": "2026-11-25T00:00:02Z"},
            {"type": "PodsReady", "status": "False", "reason": "WaitForStart", "message": "", "lastTransitionTime": "2026-11-25T00:00:02Z"}]}),
    ));
    ix.apply_workload(a.clone());
    assert!(!ix.all_holders_ready());
    let mut ready = a.clone();
    if let Some(s) = ready.status.as_mut() {
        s.conditions[2].status = "True".into();
        s.conditions[2].reason = "Started".into();
    }
    ix.apply_workload(ready);
    assert!(ix.all_holders_ready());
    let mut inactive = a;
    inactive.spec.active = Some(false);
    ix.apply_workload(inactive);
    assert!(
        ix.all_holders_ready(),
        "a deactivated workload does not hold others back"
    );
}

#[test]
fn a_workload_whose_eviction_is_being_written_is_an_evicted_candidate_in_snapshots() {
    let mut ix = setup("2");
    let mut a = admitted_wl("a", json!([]));
    a.metadata.resource_version = Some("7".into());
    ix.apply_workload(a.clone());
    let evicted = |ix: &Index| ix.snapshot().admitted["cq"]["ns/a"].evicted;
    assert!(!evicted(&ix));
    // The scheduler holds a victim while its eviction is written: preemptors take it first
    // instead of choosing another victim.
    // Held for another write (a priority value, a notice): not a candidate on its way out.
    ix.hold_until_newer(&"ns/a".into(), Some("7"));
    assert!(!evicted(&ix));
    ix.release_hold(&"ns/a".into());
    ix.hold_eviction(&"ns/a".into(), Some("7"));
    assert!(evicted(&ix));
    a.metadata.resource_version = Some("8".into());
    ix.apply_workload(a);
    assert!(!evicted(&ix), "a newer version without Evicted lets it go");
}

#[test]
fn finished_workloads_are_deleted_after_their_retention_and_only_those() {
    let mut ix = Index::default().with_finished_retention(Some(std::time::Duration::from_mins(1)));
    ix.apply_flavor(obj(json!({"metadata": {"name": "default"}})));
    ix.apply_cluster_queue(cq("1", json!({})));
    ix.apply_namespace("ns", BTreeMap::new());
    let finished = |name: &str, at: &str| {
        let mut w = wl(name, "1", "2026-11-25T00:00:01Z");
        w.status = Some(obj(json!({"conditions": [
            {"type": "Finished", "status": "True", "reason": "Succeeded", "message": "", "lastTransitionTime": at}]})));
        w
    };
    let t0 = 1_795_564_800_000; // 2026-11-25T00:00:00Z
    ix.apply_workload(finished("early", "2026-11-25T00:00:00Z"));
    ix.apply_workload(finished("late", "2026-11-25T00:00:30Z"));
    ix.apply_workload(wl("pending", "1", "2026-11-25T00:00:02Z"));
    let due = |ix: &Index, now: i64| -> Vec<String> {
        ix.upkeep(now)
            .into_iter()
            .filter_map(|u| match u {
                Upkeep::DeleteFinished { key } => Some(key.to_string()),
                _ => None,
            })
            .collect()
    };
    assert!(due(&ix, t0 + 59_999).is_empty());
    assert_eq!(due(&ix, t0 + 60_000), ["ns/early"]);
    assert_eq!(due(&ix, t0 + 90_000), ["ns/early", "ns/late"]);
    // Being deleted: not asked again; deleted: forgotten.
    let mut going = finished("early", "2026-11-25T00:00:00Z");
    going.metadata.deletion_timestamp = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
        "2026-11-25T00:01:00Z".parse().unwrap(),
    ));
    ix.apply_workload(going);
    assert_eq!(due(&ix, t0 + 90_000), ["ns/late"]);
    ix.delete_workload(&"ns/early".into());
    ix.delete_workload(&"ns/late".into());
    assert!(due(&ix, i64::MAX).is_empty());
    // A backlog goes a batch per pass, oldest first.
    for i in 0..60 {
        ix.apply_workload(finished(&format!("old-{i:02}"), "2026-11-25T00:00:00Z"));
    }
    let batch = due(&ix, i64::MAX);
    assert_eq!(batch.len(), super::RETENTION_BATCH);
    // A workload whose deletion is on its way is not asked again.
    let mut held = finished("old-00", "2026-11-25T00:00:00Z");
    held.metadata.resource_version = Some("3".into());
    ix.apply_workload(held);
    ix.hold_until_newer(&"ns/old-00".into(), Some("3"));
    assert!(!due(&ix, i64::MAX).contains(&"ns/old-00".to_owned()));
    // Without a retention nothing is ever deleted.
    let mut keep = setup("1");
    keep.apply_workload(finished("x", "2026-11-25T00:00:00Z"));
    assert!(due(&keep, i64::MAX).is_empty());
}

#[test]
fn finished_workloads_are_counted_per_queue_as_they_come_and_go() {
    let mut ix = setup("1");
    let finished = |name: &str| {
        let mut w = wl(name, "1", "2026-11-25T00:00:01Z");
        w.status = Some(obj(json!({"conditions": [
            {"type": "Finished", "status": "True", "reason": "Succeeded", "message": "", "lastTransitionTime": "2026-11-25T00:01:00Z"}]})));
        w
    };
    ix.apply_workload(finished("a"));
    ix.apply_workload(finished("b"));
    ix.apply_workload(wl("c", "1", "2026-11-25T00:00:02Z"));
    let counts = |ix: &Index| {
        let (cq, lq) = ix.finished_counts();
        (cq.get("cq").copied(), lq.get("ns/lq").copied())
    };
    assert_eq!(counts(&ix), (Some(2), Some(2)));
    // Applied again unchanged: counted once.
    ix.apply_workload(finished("a"));
    assert_eq!(counts(&ix), (Some(2), Some(2)));
    ix.delete_workload(&"ns/a".into());
    assert_eq!(counts(&ix), (Some(1), Some(1)));
    ix.apply_workload(finished("c"));
    ix.delete_workload(&"ns/b".into());
    assert_eq!(counts(&ix), (Some(1), Some(1)));
    ix.delete_workload(&"ns/c".into());
    assert_eq!(counts(&ix), (None, None));
}

#[test]
fn an_assumed_admission_under_admission_checks_reserves_without_admitting() {
    let mut ix = setup("2");
    ix.apply_admission_check(obj(json!({"metadata": {"name": "ac"}, "spec": {"controllerName": "c"},
        "status": {"conditions": [{"type": "Active", "status": "True", "reason": "R", "message": "", "lastTransitionTime": "2026-11-25T00:00:00Z"}]}})));
    ix.apply_cluster_queue(cq(
        "2",
        json!({"admissionChecksStrategy": {"admissionChecks": [{"name": "ac"}]}}),
    ));
    ix.apply_workload(wl("a", "1", "2026-11-25T00:00:01Z"));
    assert_eq!(admitted(&cycle(&mut ix)), ["ns/a"]);
    let st = ix.cluster_queue_status("cq").unwrap();
    assert_eq!(
        (st.reserving_workloads, st.admitted_workloads),
        (1, 0),
        "the checks decide the admission: the reservation written does not say Admitted"
    );
    let lq = ix.local_queue_status("ns/lq").unwrap();
    assert_eq!((lq.reserving_workloads, lq.admitted_workloads), (1, 0));
    // Without checks, the assumed admission is counted admitted at once.
    ix.apply_cluster_queue(cq("2", json!({})));
    ix.apply_workload(wl("b", "1", "2026-11-25T00:00:02Z"));
    assert_eq!(admitted(&cycle(&mut ix)), ["ns/b"]);
    let st = ix.cluster_queue_status("cq").unwrap();
    assert_eq!((st.reserving_workloads, st.admitted_workloads), (2, 1));
}

/// The keys at the heads of the active queues now.
fn head_keys(ix: &mut Index) -> Vec<String> {
    ix.heads(i64::MAX)
        .into_values()
        .flatten()
        .map(|w| w.key.to_string())
        .collect()
}

#[test]
fn the_scheduler_write_protocol_holds_and_gives_back_as_each_write_ends() {
    use super::writes::{SchedulerWrite as W, WriteEnd as E};
    let key: ObjectKey = "ns/a".into();
    let at = |rv: &str| {
        let mut a = wl("a", "1", "2026-11-25T00:00:01Z");
        a.metadata.resource_version = Some(rv.into());
        a
    };

    // An admission refused as stale (409): released, and out of the active queues until a newer
    // version is seen; a stored one keeps the assumed charge.
    let mut ix = setup("1");
    ix.apply_workload(at("10"));
    assert_eq!(admitted(&cycle(&mut ix)), ["ns/a"]);
    ix.writing(&key, Some("10"), W::Admission);
    assert!(!ix.write_ended(&key, Some("10"), W::Admission, E::Stored));
    assert_eq!(ix.snapshot().admitted["cq"].len(), 1, "still assumed");
    assert!(ix.write_ended(&key, Some("10"), W::Admission, E::Conflict));
    assert!(
        ix.snapshot()
            .admitted
            .get("cq")
            .is_none_or(BTreeMap::is_empty)
    );
    assert!(ix.is_held("ns/a") && head_keys(&mut ix).is_empty());
    ix.apply_workload(at("11"));
    assert_eq!(
        head_keys(&mut ix),
        ["ns/a"],
        "back once the newer version is seen"
    );

    // Any other failure gives it back at once.
    let mut ix = setup("1");
    ix.apply_workload(at("10"));
    cycle(&mut ix);
    assert!(ix.write_ended(&key, Some("10"), W::Admission, E::Failed));
    assert!(!ix.is_held("ns/a"));
    assert_eq!(head_keys(&mut ix), ["ns/a"]);

    // An eviction holds the workload and shows it evicted; a failed one lets the lifecycle call
    // for it again.
    let mut ix = setup("1");
    let mut a = admitted_wl("a", json!([]));
    a.metadata.resource_version = Some("10".into());
    a.spec.active = Some(false);
    ix.apply_workload(a);
    let evict = ix.take_upkeep(0);
    assert_eq!(evict.len(), 1);
    ix.writing(&key, Some("10"), W::Eviction);
    assert!(ix.is_held("ns/a"));
    assert!(
        ix.snapshot().admitted["cq"]["ns/a"].evicted,
        "shown evicted"
    );
    assert!(ix.take_upkeep(0).is_empty());
    assert!(!ix.write_ended(&key, Some("10"), W::Eviction, E::Failed));
    assert!(!ix.is_held("ns/a"));
    assert_eq!(ix.take_upkeep(0), evict, "called for again");

    // Upkeep and blocked-reason writes hold until the newer version; a conflict gives back.
    for w in [W::Upkeep, W::BlockedReason] {
        let mut ix = setup("1");
        ix.apply_workload(at("10"));
        ix.writing(&key, Some("10"), w);
        assert!(ix.is_held("ns/a"));
        assert!(!ix.write_ended(&key, Some("10"), w, E::Stored));
        assert!(ix.is_held("ns/a"), "{w:?}: held until the write comes back");
        assert!(!ix.write_ended(&key, Some("10"), w, E::Conflict));
        assert!(!ix.is_held("ns/a"), "{w:?}");
    }

    // A pending reason changes nothing the cycle reads, whatever its end.
    let mut ix = setup("1");
    ix.apply_workload(at("10"));
    ix.writing(&key, Some("10"), W::PendingReason);
    assert!(!ix.is_held("ns/a"));
    assert!(!ix.write_ended(&key, Some("10"), W::PendingReason, E::Failed));
    assert_eq!(head_keys(&mut ix), ["ns/a"]);
}
