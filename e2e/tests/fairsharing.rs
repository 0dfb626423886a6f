//! Fair sharing on the real plane: two ClusterQueues with no quota of their own share their
//! Cohort's pool; the older queue's workloads do not starve the other's, and each queue reports
//! its weighted share. A third queue joining with its own quota reclaims it by fair-sharing
//! preemption, one victim from each borrower.

// Test code: failures are panics.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::too_many_lines
)]

use std::time::Duration;

use kube::api::{Api, ListParams};
use serde_json::json;
use turnstile_api::{ClusterQueue, Workload};
use turnstile_e2e::{Harness, ManagerProcess, wait_for};

#[tokio::test]
async fn cohort_pool_is_shared_fairly() {
    let h = Harness::get().await.expect("control plane");
    let id = std::process::id();
    let (rf, cohort, sys, sel) = (
        format!("e2e-fair-{id}"),
        format!("e2e-fair-{id}"),
        format!("e2e-fair-system-{id}"),
        format!("f{id}"),
    );
    let (cq_a, cq_b, cq_c) = (
        format!("e2e-fair-a-{id}"),
        format!("e2e-fair-b-{id}"),
        format!("e2e-fair-c-{id}"),
    );
    h.kubectl(&["create", "namespace", &sys]).unwrap();
    let _cleanup = turnstile_e2e::Cleanup(
        h.clone(),
        vec![
            format!("namespace/{sys}"),
            format!("clusterqueue/{cq_a}"),
            format!("clusterqueue/{cq_b}"),
            format!("clusterqueue/{cq_c}"),
            format!("cohort/{cohort}"),
            format!("resourceflavor/{rf}"),
        ],
    );
    let args = turnstile_e2e::scheduler_args(&sys, "e2e-fair", &["--fair-sharing"]);
    let _manager = ManagerProcess::start(&h, &args, vec![]).await;
    h.run_labelled("fair", json!({"e2e.turnstile.dev/fair": sel.clone()}), move |ns| async move {
        let cq = |name: &str, nominal: &str| {
            json!({"apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "ClusterQueue", "metadata": {"name": name},
                "spec": {"cohortName": cohort, "namespaceSelector": {"matchLabels": {"e2e.turnstile.dev/fair": sel}},
                    "preemption": {"reclaimWithinCohort": "Any"},
                    "resourceGroups": [{"coveredResources": ["cpu"], "flavors": [{"name": rf, "resources": [{"name": "cpu", "nominalQuota": nominal}]}]}]}})
        };
        let workload = |name: String, lq: &str, cpu: &str| {
            json!({"apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "Workload", "metadata": {"name": name},
                "spec": {"queueName": lq, "podSets": [{"name": "main", "count": 1, "template": {"spec": {
                    "containers": [{"name": "c", "image": "busybox", "resources": {"requests": {"cpu": cpu}}}]}}}]}})
        };
        ns.apply_doc(&json!({"apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "ResourceFlavor", "metadata": {"name": rf}})).await.unwrap();
        // The queues have no quota until the Cohort's pool appears, after every workload is queued:
        // then one cycle sees both queues at once.
        for (q, lq) in [(&cq_a, "la"), (&cq_b, "lb")] {
            ns.apply_doc(&cq(q, "0")).await.unwrap();
            ns.apply_doc(&json!({"apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "LocalQueue", "metadata": {"name": lq}, "spec": {"clusterQueue": q}})).await.unwrap();
        }
        // a's workloads are all older than b's.
        for lq in ["la", "lb"] {
            for i in 0..4 {
                ns.apply_doc(&workload(format!("{lq}-{i}"), lq, "1")).await.unwrap();
            }
            tokio::time::sleep(Duration::from_millis(1100)).await;
        }
        ns.apply_doc(&json!({"apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "Cohort", "metadata": {"name": cohort},
            "spec": {"resourceGroups": [{"coveredResources": ["cpu"], "flavors": [{"name": rf, "resources": [{"name": "cpu", "nominalQuota": "4"}]}]}]}}))
        .await
        .unwrap();
        let api: Api<Workload> = Api::namespaced(ns.client(), &ns.name);
        let reserved_with = |n: usize, must: Option<&'static str>| {
            let api = api.clone();
            wait_for(Duration::from_secs(45), "admissions", move || {
                let api = api.clone();
                async move {
                    let list = api.list(&ListParams::default()).await.ok()?;
                    let mut names: Vec<String> = list
                        .items
                        .iter()
                        .filter(|w| w.status.as_ref().is_some_and(|s| s.conditions.iter().any(|c| c.type_ == "QuotaReserved" && c.status == "True")))
                        .map(|w| w.metadata.name.clone().unwrap_or_default())
                        .collect();
                    names.sort();
                    (names.len() == n && must.is_none_or(|m| names.iter().any(|x| x == m))).then_some(names)
                }
            })
        };
        let reserved = |n: usize| reserved_with(n, None);
        let admitted = reserved(4).await.unwrap();
        let from_a = admitted.iter().filter(|n| n.starts_with("la-")).count();
        assert_eq!(from_a, 2, "the pool is split 2/2, not taken by the older queue: {admitted:?}");
        let cqs: Api<ClusterQueue> = Api::all(ns.client());
        for q in [&cq_a, &cq_b] {
            let share = wait_for(Duration::from_secs(20), "weighted share", || {
                let cqs = cqs.clone();
                let q = q.clone();
                async move { cqs.get(&q).await.ok()?.status?.fair_sharing.map(|f| f.weighted_share).filter(|s| *s > 0) }
            })
            .await
            .unwrap();
            assert_eq!(share, 500, "{q} borrows 2 of the 4 cpu its cohort can lend");
        }
        // The root Cohort reports its share too (always 0: it has no parent to borrow from).
        let cohorts: Api<turnstile_api::Cohort> = Api::all(ns.client());
        let root_share = wait_for(Duration::from_secs(20), "cohort share", || {
            let cohorts = cohorts.clone();
            let cohort = cohort.clone();
            async move { cohorts.get(&cohort).await.ok()?.status?.fair_sharing.map(|f| f.weighted_share) }
        })
        .await
        .unwrap();
        assert_eq!(root_share, 0);

        // A third queue brings 2 cpu of its own: a and b borrow them (3 each)...
        ns.apply_doc(&cq(&cq_c, "2")).await.unwrap();
        ns.apply_doc(&json!({"apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "LocalQueue", "metadata": {"name": "lc"}, "spec": {"clusterQueue": cq_c}})).await.unwrap();
        let six = reserved(6).await.unwrap();
        assert_eq!(six.iter().filter(|n| n.starts_with("la-")).count(), 3, "{six:?}");
        // ...until c wants its quota back: one workload of each borrower is preempted.
        ns.apply_doc(&workload("lc-0".into(), "lc", "2")).await.unwrap();
        let victims = wait_for(Duration::from_secs(45), "two preempted", || {
            let api = api.clone();
            async move {
                let list = api.list(&ListParams::default()).await.ok()?;
                let v: Vec<(String, String)> = list
                    .items
                    .iter()
                    .filter_map(|w| {
                        let c = w.status.as_ref()?.conditions.iter().find(|c| c.type_ == "Preempted" && c.status == "True")?;
                        Some((w.metadata.name.clone().unwrap_or_default(), c.reason.clone()))
                    })
                    .collect();
                (v.len() == 2).then_some(v)
            }
        })
        .await
        .unwrap();
        assert!(victims.iter().all(|(_, r)| r == "InCohortReclamation"), "{victims:?}");
        assert_eq!(victims.iter().filter(|(n, _)| n.starts_with("la-")).count(), 1, "one from each borrower: {victims:?}");
        let last = reserved_with(5, Some("lc-0")).await.unwrap();
        assert_eq!(last.iter().filter(|n| n.starts_with("la-")).count(), 2, "{last:?}");
    })
    .await;
}
