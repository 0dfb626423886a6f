//! Workload lifecycle on the real plane: a ClusterQueue or LocalQueue stopped with HoldAndDrain
//! evicts its admitted workloads, which come back when the policy returns to None; a deactivated
//! workload (`spec.active=false`) is evicted and comes back when reactivated; a
//! WorkloadPriorityClass's new value is pushed to the workloads naming it.

// Test code: failures are panics.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::too_many_lines
)]

use std::time::Duration;

use kube::api::{Api, Patch, PatchParams};
use serde_json::{Value, json};
use turnstile_api::Workload;
use turnstile_e2e::{Harness, ManagerProcess, wait_for};

fn reserved(w: &Workload) -> bool {
    turnstile_e2e::workload_condition(w, "QuotaReserved").is_some_and(|c| c.status == "True")
}

fn workload(name: &str) -> Value {
    json!({"apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "Workload", "metadata": {"name": name},
        "spec": {"queueName": "lq", "podSets": [{"name": "main", "count": 1, "template": {"spec": {
            "containers": [{"name": "c", "image": "busybox", "resources": {"requests": {"cpu": "1"}}}]}}}]}})
}

#[tokio::test]
async fn hold_and_drain_and_deactivation() {
    let h = Harness::get().await.expect("control plane");
    let id = std::process::id();
    let (cq_name, rf_name, sys, sel) = (
        format!("e2e-life-{id}"),
        format!("e2e-life-{id}"),
        format!("e2e-life-system-{id}"),
        format!("l{id}"),
    );
    h.kubectl(&["create", "namespace", &sys]).unwrap();
    let _cleanup = turnstile_e2e::Cleanup(
        h.clone(),
        vec![
            format!("namespace/{sys}"),
            format!("clusterqueue/{cq_name}"),
            format!("resourceflavor/{rf_name}"),
            format!("workloadpriorityclass/{rf_name}"),
        ],
    );
    let args = turnstile_e2e::scheduler_args(&sys, "e2e-life", &[]);
    let _manager = ManagerProcess::start(&h, &args, vec![]).await;
    let (cq_x, cq_y, cohort) = (
        format!("e2e-borrow-x-{id}"),
        format!("e2e-borrow-y-{id}"),
        format!("e2e-borrow-{id}"),
    );
    let _cleanup2 = turnstile_e2e::Cleanup(
        h.clone(),
        vec![
            format!("clusterqueue/{cq_x}"),
            format!("clusterqueue/{cq_y}"),
        ],
    );
    let (rf2, sel2) = (rf_name.clone(), sel.clone());
    h.run_labelled("life", json!({"e2e.turnstile.dev/life": sel.clone()}), move |ns| async move {
        let cq = |stop: &str| {
            json!({"apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "ClusterQueue", "metadata": {"name": cq_name},
                "spec": {"namespaceSelector": {"matchLabels": {"e2e.turnstile.dev/life": sel}}, "stopPolicy": stop,
                    "resourceGroups": [{"coveredResources": ["cpu"], "flavors": [{"name": rf_name, "resources": [{"name": "cpu", "nominalQuota": "2"}]}]}]}})
        };
        let lq = |stop: &str| json!({"apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "LocalQueue", "metadata": {"name": "lq"}, "spec": {"clusterQueue": cq_name, "stopPolicy": stop}});
        ns.apply_doc(&json!({"apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "ResourceFlavor", "metadata": {"name": rf_name}})).await.unwrap();
        ns.apply_doc(&cq("None")).await.unwrap();
        ns.apply_doc(&lq("None")).await.unwrap();
        ns.apply_doc(&workload("w1")).await.unwrap();
        ns.apply_doc(&workload("w2")).await.unwrap();
        turnstile_e2e::until_workloads(&ns, "both admitted", |all| all.len() == 2 && all.values().all(reserved)).await;
        let note = turnstile_e2e::until_event(&ns, "w1", "QuotaReserved").await;
        assert!(note.starts_with(&format!("Quota reserved in ClusterQueue {cq_name}, wait time since queued was ")), "{note}");
        let note = turnstile_e2e::until_event(&ns, "w1", "Admitted").await;
        assert_eq!(note, format!("Admitted by ClusterQueue {cq_name}, wait time since reservation was 0s"));

        // ClusterQueue HoldAndDrain evicts; None brings them back.
        ns.apply_doc(&cq("HoldAndDrain")).await.unwrap();
        let all = turnstile_e2e::until_workloads(&ns, "both drained", |all| all.values().all(|w| !reserved(w) && turnstile_e2e::workload_condition(w, "Requeued").is_some_and(|c| c.status == "False"))).await;
        assert_eq!(turnstile_e2e::until_event(&ns, "w2", "EvictedDueToClusterQueueStopped").await, "The ClusterQueue is stopped");
        for w in all.values() {
            let ev = turnstile_e2e::workload_condition(w, "Evicted").unwrap();
            assert_eq!((ev.status.as_str(), ev.reason.as_str(), ev.message.as_str()), ("True", "ClusterQueueStopped", "The ClusterQueue is stopped"));
            assert_eq!(turnstile_e2e::workload_condition(w, "Requeued").unwrap().reason, "ClusterQueueStopped");
            assert!(w.status.as_ref().unwrap().admission.is_none(), "quota released");
        }
        ns.apply_doc(&cq("None")).await.unwrap();
        let all = turnstile_e2e::until_workloads(&ns, "both back after the restart", |all| all.values().all(reserved)).await;
        for w in all.values() {
            assert_eq!(turnstile_e2e::workload_condition(w, "Requeued").map(|c| c.reason.as_str()), Some("ClusterQueueRestarted"));
            let ev = turnstile_e2e::workload_condition(w, "Evicted").unwrap();
            assert_eq!((ev.status.as_str(), ev.reason.as_str()), ("False", "QuotaReserved"), "a new reservation resets Evicted");
        }

        // LocalQueue HoldAndDrain likewise.
        ns.apply_doc(&lq("HoldAndDrain")).await.unwrap();
        turnstile_e2e::until_workloads(&ns, "drained by the LocalQueue", |all| {
            all.values().all(|w| !reserved(w) && turnstile_e2e::workload_condition(w, "Evicted").is_some_and(|c| c.status == "True" && c.reason == "LocalQueueStopped"))
        })
        .await;
        ns.apply_doc(&lq("None")).await.unwrap();
        let all = turnstile_e2e::until_workloads(&ns, "back after the LocalQueue restarts", |all| all.values().all(reserved)).await;
        assert!(all.values().all(|w| turnstile_e2e::workload_condition(w, "Requeued").is_some_and(|c| c.reason == "LocalQueueRestarted")));

        // Deactivation evicts; reactivation requeues.
        let api: Api<Workload> = Api::namespaced(ns.client(), &ns.name);
        api.patch("w1", &PatchParams::default(), &Patch::Merge(json!({"spec": {"active": false}}))).await.unwrap();
        let all = turnstile_e2e::until_workloads(&ns, "w1 deactivated", |all| all.get("w1").is_some_and(|w| turnstile_e2e::workload_condition(w, "QuotaReserved").is_some_and(|c| c.reason == "Deactivated"))).await;
        let w1 = &all["w1"];
        assert_eq!(turnstile_e2e::workload_condition(w1, "Evicted").map(|c| c.reason.as_str()), Some("Deactivated"));
        assert_eq!(turnstile_e2e::workload_condition(w1, "QuotaReserved").unwrap().message, "The workload is deactivated");
        assert!(reserved(&all["w2"]), "w2 untouched");
        api.patch("w1", &PatchParams::default(), &Patch::Merge(json!({"spec": {"active": true}}))).await.unwrap();
        let all = turnstile_e2e::until_workloads(&ns, "w1 reactivated and admitted", |all| all.get("w1").is_some_and(reserved)).await;
        assert_eq!(turnstile_e2e::workload_condition(&all["w1"], "Requeued").map(|c| c.reason.as_str()), Some("Reactivated"));

        // A WorkloadPriorityClass's new value reaches the workloads that name it.
        let wpc = |v: i32| json!({"apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "WorkloadPriorityClass", "metadata": {"name": rf_name}, "value": v});
        ns.apply_doc(&wpc(10)).await.unwrap();
        let mut w3 = workload("w3");
        w3["spec"]["priorityClassRef"] = json!({"group": "kueue.x-k8s.io", "kind": "WorkloadPriorityClass", "name": rf_name});
        w3["spec"]["priority"] = json!(10);
        ns.apply_doc(&w3).await.unwrap();
        ns.apply_doc(&wpc(500)).await.unwrap();
        turnstile_e2e::until_workloads(&ns, "w3 priority follows its class", |all| all.get("w3").is_some_and(|w| w.spec.priority == Some(500))).await;
    })
    .await;
    // Borrowing and reclaim in a cohort: y borrows x's idle quota; when x needs it back, y's
    // borrowing workload is preempted (InCohortReclamation) and x's workload is admitted.
    h.run_labelled("borrow", json!({"e2e.turnstile.dev/life": sel2.clone()}), move |ns| async move {
        let cq = |name: &str| {
            json!({"apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "ClusterQueue", "metadata": {"name": name},
                "spec": {"cohortName": cohort, "namespaceSelector": {"matchLabels": {"e2e.turnstile.dev/life": sel2}},
                    "preemption": {"reclaimWithinCohort": "Any"},
                    "resourceGroups": [{"coveredResources": ["cpu"], "flavors": [{"name": rf2, "resources": [{"name": "cpu", "nominalQuota": "2"}]}]}]}})
        };
        // The first part's flavor went with its namespace's cleanup.
        ns.apply_doc(&json!({"apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "ResourceFlavor", "metadata": {"name": rf2}})).await.unwrap();
        for (q, lq) in [(&cq_x, "lx"), (&cq_y, "ly")] {
            ns.apply_doc(&cq(q)).await.unwrap();
            ns.apply_doc(&json!({"apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "LocalQueue", "metadata": {"name": lq}, "spec": {"clusterQueue": q}})).await.unwrap();
        }
        let wl = |name: &str, lq: &str, priority: i32| {
            json!({"apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "Workload", "metadata": {"name": name},
                "spec": {"queueName": lq, "priority": priority, "podSets": [{"name": "main", "count": 1, "template": {"spec": {
                    "containers": [{"name": "c", "image": "busybox", "resources": {"requests": {"cpu": "1"}}}]}}}]}})
        };
        for i in 0..4 {
            ns.apply_doc(&wl(&format!("y{i}"), "ly", 100)).await.unwrap();
        }
        let all = turnstile_e2e::until_workloads(&ns, "y borrows all of x's quota", |all| all.len() == 4 && all.values().all(reserved)).await;
        assert_eq!(all.len(), 4);
        let cqs: Api<turnstile_api::ClusterQueue> = Api::all(ns.client());
        let y_status = wait_for(Duration::from_secs(20), "y reports borrowing", || {
            let cqs = cqs.clone();
            let name = cq_y.clone();
            async move {
                let st = cqs.get(&name).await.ok()?.status?;
                let borrowed = st.flavors_reservation.first()?.resources.first()?.borrowed.clone()?;
                (borrowed.as_str() == "2").then_some(st)
            }
        })
        .await
        .unwrap();
        assert_eq!(y_status.reserving_workloads, 4);
        // x reclaims one unit, although its workload has a lower priority than y's.
        ns.apply_doc(&wl("x0", "lx", 0)).await.unwrap();
        let all = turnstile_e2e::until_workloads(&ns, "x0 admitted by reclaiming", |all| all.get("x0").is_some_and(reserved)).await;
        let victims: Vec<&String> = all.iter().filter(|(_, w)| turnstile_e2e::workload_condition(w, "Preempted").is_some_and(|c| c.status == "True")).map(|(n, _)| n).collect();
        assert_eq!(victims.len(), 1, "one borrowed unit is enough: {victims:?}");
        assert!(victims[0].starts_with('y'));
        assert_eq!(turnstile_e2e::workload_condition(&all[victims[0]], "Preempted").unwrap().reason, "InCohortReclamation");
        let note = turnstile_e2e::until_event(&ns, victims[0], "Preempted").await;
        assert!(note.contains("due to reclamation within the cohort") && note.ends_with("preemptee effective priority: 100 (base: 100, boost: 0)"), "{note}");
        let note = turnstile_e2e::until_event(&ns, "x0", "PreemptedWorkload").await;
        assert!(note.starts_with(&format!("Preempted workload {}/{}", ns.name, victims[0])), "{note}");
        assert_eq!(all.values().filter(|w| reserved(w)).count(), 4, "4 cpu in the cohort, never more");
    })
    .await;
}
