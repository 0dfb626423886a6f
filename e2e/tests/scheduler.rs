//! The scheduler on the real plane, with Workloads created directly: priority order, quota
//! respected, Hold, a quota raise admitting more, finishing freeing quota, preemption of lower
//! priority, and a manager restart without double admission.

// Test code: failures are panics.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::too_many_lines
)]

use std::collections::BTreeMap;
use std::time::Duration;

use kube::api::{Api, Patch, PatchParams};
use serde_json::{Value, json};
use turnstile_api::Workload;
use turnstile_e2e::{Harness, ManagerProcess, wait_for};

fn cq(name: &str, flavor: &str, selector: &str, nominal: &str, stop: &str) -> Value {
    json!({"apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "ClusterQueue", "metadata": {"name": name},
        "spec": {"namespaceSelector": {"matchLabels": {"e2e.turnstile.dev/sched": selector}}, "stopPolicy": stop,
            "preemption": {"withinClusterQueue": "LowerPriority"},
            "resourceGroups": [{"coveredResources": ["cpu"], "flavors": [{"name": flavor, "resources": [{"name": "cpu", "nominalQuota": nominal}]}]}]}})
}

fn workload(name: &str, priority: i32, cpu: &str) -> Value {
    json!({"apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "Workload", "metadata": {"name": name},
        "spec": {"queueName": "lq", "priority": priority, "podSets": [{"name": "main", "count": 1, "template": {"spec": {
            "restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox", "resources": {"requests": {"cpu": cpu}}}]}}}]}})
}

fn reserved(w: &Workload) -> bool {
    turnstile_e2e::reserving(w)
}

fn held(all: &BTreeMap<String, Workload>) -> i64 {
    turnstile_e2e::held_cpu_millis(all)
}

fn names(all: &BTreeMap<String, Workload>) -> Vec<String> {
    all.iter()
        .filter(|(_, w)| reserved(w))
        .map(|(n, _)| n.clone())
        .collect()
}

async fn start(h: &Harness, identity: &str, extra_cleanup: Vec<String>) -> ManagerProcess {
    let args = turnstile_e2e::scheduler_args(
        &format!("e2e-sched-system-{}", std::process::id()),
        identity,
        &["--lease-duration-seconds", "6"],
    );
    ManagerProcess::start(h, &args, extra_cleanup).await
}

#[tokio::test]
async fn scheduler_admits_by_priority_within_quota() {
    let h = Harness::get().await.expect("control plane");
    let sel = format!("s{}", std::process::id());
    let (cq_name, rf_name) = (format!("e2e-sched-{sel}"), format!("e2e-sched-{sel}"));
    // The manager's own namespace must exist for its certificate Secret.
    let sys = format!("e2e-sched-system-{}", std::process::id());
    h.kubectl(&["create", "namespace", &sys]).unwrap();
    let cleanup = vec![
        format!("namespace/{sys}"),
        format!("clusterqueue/{cq_name}"),
        format!("resourceflavor/{rf_name}"),
    ];
    let _cleanup = turnstile_e2e::Cleanup(h.clone(), cleanup);
    // Two replicas: only the Lease holder schedules.
    let a = start(&h, "e2e-a", vec![]).await;
    let b = start(&h, "e2e-b", vec![]).await;
    let sys2 = sys.clone();
    h.run_labelled("sched", json!({"e2e.turnstile.dev/sched": sel.clone()}), move |ns| async move {
        ns.apply_doc(&json!({"apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "ResourceFlavor", "metadata": {"name": rf_name}})).await.unwrap();
        // Held while the workloads arrive, so that they are ordered together.
        ns.apply_doc(&cq(&cq_name, &rf_name, &sel, "2", "Hold")).await.unwrap();
        ns.apply_doc(&json!({"apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "LocalQueue", "metadata": {"name": "lq"}, "spec": {"clusterQueue": cq_name}})).await.unwrap();
        for (n, p) in [("low", 0), ("mid", 5), ("high", 10)] {
            ns.apply_doc(&workload(n, p, "1")).await.unwrap();
        }
        let all = turnstile_e2e::until_workloads(&ns, "pending workloads told the queue is held", |all| {
            all.values().all(|w| turnstile_e2e::workload_condition(w, "QuotaReserved").is_some_and(|c| c.reason == "Suspended"))
        })
        .await;
        assert_eq!(names(&all), Vec::<String>::new(), "Hold admits nothing");

        // Priority order within quota.
        ns.apply_doc(&cq(&cq_name, &rf_name, &sel, "2", "None")).await.unwrap();
        let all = turnstile_e2e::until_workloads(&ns, "two admitted and low waiting", |all| {
            names(all).len() == 2 && all.get("low").and_then(|w| turnstile_e2e::workload_condition(w, "QuotaReserved")).is_some_and(|c| c.reason == "WaitingForQuota")
        })
        .await;
        assert_eq!(names(&all), vec!["high".to_owned(), "mid".to_owned()]);
        assert_eq!(held(&all), 2000);
        let low = turnstile_e2e::workload_condition(&all["low"], "QuotaReserved").unwrap();
        assert!(low.message.contains("insufficient unused quota for cpu in flavor"), "{}", low.message);
        assert_eq!(turnstile_e2e::until_event(&ns, "low", "WaitingForQuota").await, low.message, "a Warning event carries the pending message");
        let adm = all["high"].status.as_ref().unwrap().admission.as_ref().unwrap();
        assert_eq!(adm.cluster_queue.as_str(), cq_name);
        assert_eq!(adm.pod_set_assignments[0].flavors.get("cpu").map(turnstile_api::ResourceFlavorReference::as_str), Some(rf_name.as_str()));
        assert_eq!(turnstile_e2e::workload_condition(&all["high"], "Admitted").map(|c| c.reason.as_str()), Some("Admitted"));

        // Raising the quota admits the waiting workload at once.
        ns.apply_doc(&cq(&cq_name, &rf_name, &sel, "3", "None")).await.unwrap();
        let all = turnstile_e2e::until_workloads(&ns, "low admitted after the raise", |all| names(all).len() == 3).await;
        assert_eq!(held(&all), 3000);

        // Finishing frees quota for the next.
        let api: Api<Workload> = Api::namespaced(ns.client(), &ns.name);
        let finished = json!({"status": {"conditions": [{"type": "Finished", "status": "True", "reason": "Succeeded", "message": "done", "lastTransitionTime": "2026-11-25T00:00:00Z"}]}});
        api.patch_status("high", &PatchParams::apply("e2e-job-controller"), &Patch::Merge(&finished)).await.unwrap();
        // `next` is owned by an object no reconciler here stops (a ConfigMap): evicted, it must
        // give its quota back in the same write, or it would hold it forever.
        let owner: k8s_openapi::api::core::v1::ConfigMap = Api::namespaced(ns.client(), &ns.name)
            .create(&kube::api::PostParams::default(), &serde_json::from_value(json!({"metadata": {"name": "next-owner"}})).unwrap())
            .await
            .unwrap();
        let mut next = workload("next", 0, "1");
        next["metadata"]["ownerReferences"] = json!([{"apiVersion": "v1", "kind": "ConfigMap", "name": "next-owner",
            "uid": owner.metadata.uid.clone().unwrap(), "controller": true}]);
        ns.apply_doc(&next).await.unwrap();
        let all = turnstile_e2e::until_workloads(&ns, "next admitted after high finished", |all| all.get("next").is_some_and(reserved)).await;
        assert!(held(&all) <= 3000);

        // Preemption: an urgent workload evicts the lowest-priority ones it needs.
        ns.apply_doc(&workload("urgent", 100, "2")).await.unwrap();
        let all = turnstile_e2e::until_workloads(&ns, "urgent admitted by preemption", |all| all.get("urgent").is_some_and(reserved)).await;
        assert!(held(&all) <= 3000, "never over quota: {}", held(&all));
        let victims: Vec<String> = all.iter().filter(|(_, w)| turnstile_e2e::workload_condition(w, "Preempted").is_some_and(|c| c.status == "True")).map(|(n, _)| n.clone()).collect();
        assert_eq!(victims.len(), 2, "{victims:?}");
        assert!(victims.contains(&"next".to_owned()), "{victims:?}");
        for v in &victims {
            let w = &all[v];
            assert_eq!(turnstile_e2e::workload_condition(w, "Preempted").unwrap().reason, "InClusterQueue");
            assert_eq!(turnstile_e2e::workload_condition(w, "Evicted").unwrap().reason, "Preempted");
            assert!(turnstile_e2e::workload_condition(w, "Evicted").unwrap().message.starts_with("Preempted to accommodate a workload (UID: "));
            assert_eq!(turnstile_e2e::workload_condition(w, "Requeued").map(|c| c.status.as_str()), Some("True"));
            assert!(!reserved(w));
        }
        assert!(all.get("mid").is_some_and(reserved), "mid (priority 5) outranks the victims");

        // Queue statuses follow, and are not rewritten when nothing changes.
        let cqs: Api<turnstile_api::ClusterQueue> = Api::all(ns.client());
        let lqs: Api<turnstile_api::LocalQueue> = Api::namespaced(ns.client(), &ns.name);
        let reserved_now = i32::try_from(names(&all).len()).unwrap();
        let pending_now = i32::try_from(all.values().filter(|w| !reserved(w) && turnstile_e2e::workload_condition(w, "Finished").is_none()).count()).unwrap();
        let cq_now = wait_for(Duration::from_secs(20), "ClusterQueue status", || {
            let cqs = cqs.clone();
            let name = cq_name.clone();
            async move {
                let cq = cqs.get(&name).await.ok()?;
                let st = cq.status.clone()?;
                (st.admitted_workloads == reserved_now && st.reserving_workloads == reserved_now && st.pending_workloads == pending_now).then_some(cq)
            }
        })
        .await
        .unwrap();
        let st = cq_now.status.clone().unwrap();
        assert_eq!((st.conditions[0].type_.as_str(), st.conditions[0].status.as_str(), st.conditions[0].reason.as_str()), ("Active", "True", "Ready"));
        assert_eq!(st.flavors_reservation[0].resources[0].total.as_ref().map(turnstile_api::Quantity::as_str), Some("3"));
        // Queue statuses are written at most once a second each: the LocalQueue's may follow later.
        let lq = wait_for(Duration::from_secs(20), "LocalQueue status", || {
            let lqs = lqs.clone();
            async move {
                let st = lqs.get("lq").await.ok()?.status?;
                (st.admitted_workloads == reserved_now && st.pending_workloads == pending_now).then_some(st)
            }
        })
        .await
        .unwrap();
        assert_eq!(lq.conditions[0].reason, "Ready");
        tokio::time::sleep(Duration::from_secs(3)).await;
        assert_eq!(cqs.get(&cq_name).await.unwrap().metadata.resource_version, cq_now.metadata.resource_version, "unchanged status not rewritten");
        let out = ns.harness.kubectl(&["get", "cq", &cq_name, "-o", "wide"]).unwrap();
        assert!(out.contains(&format!("{pending_now}")), "{out}");

        // Fail-over: stop the leader; the other replica takes the Lease, rebuilt its view from the
        // API, admits nothing twice, and goes on scheduling.
        let leases: Api<k8s_openapi::api::coordination::v1::Lease> = Api::namespaced(ns.client(), &sys2);
        let holder = leases.get("c1f6bfd2.kueue.x-k8s.io").await.unwrap().spec.unwrap().holder_identity.unwrap();
        let before = names(&all);
        let (survivor, _standby) = if holder == "e2e-a" {
            drop(a);
            ("e2e-b", b)
        } else {
            drop(b);
            ("e2e-a", a)
        };
        let leases2 = leases.clone();
        wait_for(Duration::from_secs(30), "the standby to take the Lease", || {
            let leases = leases2.clone();
            async move {
                let l = leases.get("c1f6bfd2.kueue.x-k8s.io").await.ok()?;
                (l.spec?.holder_identity.as_deref() == Some(survivor)).then_some(())
            }
        })
        .await
        .unwrap();
        let all = turnstile_e2e::list_workloads(&ns).await.unwrap();
        assert_eq!(names(&all), before, "the same workloads hold quota after the fail-over");
        assert!(held(&all) <= 3000, "never over quota after the fail-over: {}", held(&all));
        api.patch_status("urgent", &PatchParams::apply("e2e-job-controller"), &Patch::Merge(&finished)).await.unwrap();
        let all = turnstile_e2e::until_workloads(&ns, "the new leader admits the preempted workloads", |all| victims.iter().all(|v| all.get(v).is_some_and(reserved))).await;
        assert!(held(&all) <= 3000);
    })
    .await;
}
