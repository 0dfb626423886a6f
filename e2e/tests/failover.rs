//! Fail-over without over-commit, on the real plane: two replicas, 300 pending 1-cpu Workloads
//! on a 100-cpu ClusterQueue. The leader is frozen (SIGSTOP) in the middle of its admission burst,
//! the standby takes over and fills the queue, then the old leader is resumed: whatever it had
//! decided or queued must not land. An invariant checker polls throughout: never more than 100
//! cpu held. Prints its figures.

// Test code: failures are panics.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::too_many_lines
)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::{Duration, Instant};

use k8s_openapi::api::coordination::v1::Lease;
use kube::api::{Api, Patch, PatchParams};
use serde_json::{Value, json};
use turnstile_api::Workload;
use turnstile_e2e::{Harness, ManagerProcess, TestNs, wait_for};

const LEASE: &str = "c1f6bfd2.kueue.x-k8s.io";

fn reserved(w: &Workload) -> bool {
    turnstile_e2e::reserving(w)
}

fn held(all: &BTreeMap<String, Workload>) -> i64 {
    turnstile_e2e::held_cpu_millis(all) / 1000
}

fn cq(name: &str, flavor: &str, selector: &str, stop: &str) -> Value {
    json!({"apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "ClusterQueue", "metadata": {"name": name},
        "spec": {"namespaceSelector": {"matchLabels": {"e2e.turnstile.dev/failover": selector}}, "stopPolicy": stop,
            "resourceGroups": [{"coveredResources": ["cpu"], "flavors": [{"name": flavor, "resources": [{"name": "cpu", "nominalQuota": "100"}]}]}]}})
}

fn workload(name: &str) -> Value {
    json!({"apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "Workload", "metadata": {"name": name},
        "spec": {"queueName": "lq", "podSets": [{"name": "main", "count": 1, "template": {"spec": {
            "restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox", "resources": {"requests": {"cpu": "1"}}}]}}}]}})
}

async fn holder(h: &Harness, ns: &str) -> Option<String> {
    Api::<Lease>::namespaced(h.client.clone(), ns)
        .get_opt(LEASE)
        .await
        .ok()
        .flatten()?
        .spec?
        .holder_identity
}

fn signal(pid: u32, sig: &str) {
    let ok = std::process::Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill {sig} {pid}");
}

async fn run(
    ns: TestNs,
    sys: String,
    (a, b): (ManagerProcess, ManagerProcess),
    names: (String, String),
) {
    let (cq_name, rf_name) = names;
    let sel = ns.name.clone();
    ns.apply_doc(&json!({"apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "ResourceFlavor", "metadata": {"name": rf_name}}))
        .await
        .unwrap();
    ns.apply_doc(&cq(&cq_name, &rf_name, &sel, "Hold"))
        .await
        .unwrap();
    ns.apply_doc(&json!({"apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "LocalQueue", "metadata": {"name": "lq"}, "spec": {"clusterQueue": cq_name}}))
        .await
        .unwrap();
    let docs: Vec<Value> = (0..300).map(|i| workload(&format!("w{i:03}"))).collect();
    for chunk in docs.chunks(25) {
        for r in futures::future::join_all(chunk.iter().map(|d| ns.apply_doc(d))).await {
            r.unwrap();
        }
    }
    turnstile_e2e::until_workloads(&ns, "300 workloads held back", |all| {
        all.len() == 300
            && all.values().all(|w| {
                turnstile_e2e::workload_condition(w, "QuotaReserved")
                    .is_some_and(|c| c.status == "False")
            })
    })
    .await;

    // The invariant checker: never more than 100 cpu held.
    let max_held = Arc::new(AtomicI64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let checker = {
        let (ns, max_held, stop) = (ns.clone(), max_held.clone(), stop.clone());
        tokio::spawn(async move {
            let mut samples = 0u64;
            while !stop.load(Ordering::SeqCst) {
                if let Ok(all) = turnstile_e2e::list_workloads(&ns).await {
                    let now = held(&all);
                    max_held.fetch_max(now, Ordering::SeqCst);
                    assert!(now <= 100, "over-commit: {now} cpu held of 100");
                    samples += 1;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            samples
        })
    };

    // Let the burst start, and freeze the leader in the middle of it.
    assert_eq!(holder(&ns.harness, &sys).await.as_deref(), Some("e2e-fo-a"));
    ns.apply_doc(&cq(&cq_name, &rf_name, &sel, "None"))
        .await
        .unwrap();
    // The leader sees the change within milliseconds and decides all 100 admissions in one
    // cycle; it is frozen while they are being written (32 at a time).
    tokio::time::sleep(Duration::from_millis(
        std::env::var("E2E_FREEZE_AFTER_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(25),
    ))
    .await;
    signal(a.pid(), "-STOP");
    let frozen = Instant::now();
    let paused_at = held(&turnstile_e2e::list_workloads(&ns).await.unwrap());
    // Meanwhile the world changes: the last 100 pending workloads become the most urgent, so the
    // new leader admits other workloads than the ones the frozen leader had decided on (whose
    // conditional writes would otherwise still match what they were decided on).
    let api: Api<Workload> = Api::namespaced(ns.client(), &ns.name);
    let urgent: Vec<String> = (200..300).map(|i| format!("w{i:03}")).collect();
    let (pp, raise) = (
        PatchParams::default(),
        Patch::Merge(json!({"spec": {"priority": 10}})),
    );
    for chunk in urgent.chunks(25) {
        for r in futures::future::join_all(chunk.iter().map(|n| api.patch(n, &pp, &raise))).await {
            r.unwrap();
        }
    }
    wait_for(Duration::from_mins(1), "the standby took over", || {
        let h = ns.harness.clone();
        let sys = sys.clone();
        async move { (holder(&h, &sys).await.as_deref() == Some("e2e-fo-b")).then_some(()) }
    })
    .await
    .unwrap();
    let takeover = frozen.elapsed();
    turnstile_e2e::until_workloads(&ns, "the standby filled the queue", |all| held(all) == 100)
        .await;
    // The old leader wakes up: what it had queued must not land.
    signal(a.pid(), "-CONT");
    tokio::time::sleep(Duration::from_secs(8)).await;
    // More work flows through the new leader: 20 finish, 20 more are admitted.
    let all = turnstile_e2e::list_workloads(&ns).await.unwrap();
    let done: Vec<String> = all
        .iter()
        .filter(|(_, w)| reserved(w))
        .map(|(n, _)| n.clone())
        .take(20)
        .collect();
    let finished = json!({"status": {"conditions": [{"type": "Finished", "status": "True", "reason": "Succeeded", "message": "done", "lastTransitionTime": "2026-11-25T00:00:00Z"}]}});
    for n in &done {
        api.patch_status(n, &PatchParams::default(), &Patch::Merge(&finished))
            .await
            .unwrap();
    }
    // (The merge patch replaced the conditions: finished ones show Finished only.)
    let finished_or_held = |all: &BTreeMap<String, Workload>| {
        all.values()
            .filter(|w| reserved(w) || turnstile_e2e::workload_condition(w, "Finished").is_some())
            .count()
    };
    let all = turnstile_e2e::until_workloads(&ns, "20 more admitted", |all| {
        held(all) == 100 && finished_or_held(all) == 120
    })
    .await;
    stop.store(true, Ordering::SeqCst);
    let samples = checker.await.unwrap();
    let refused = ManagerProcess::metric(
        &a.scrape(),
        "turnstile_api_writes_total",
        &[
            ("verb", "patch"),
            ("resource", "workloads/status"),
            ("result", "error"),
        ],
    );
    println!(
        "failover: leader frozen with {paused_at} of 100 cpu admitted (as seen just after); standby leader after {:.1} s; \
         max held {} of 100 cpu over {samples} samples; {} admitted in all (100 held, 20 finished); the old leader's refused workload writes: {refused}",
        takeover.as_secs_f64(),
        max_held.load(Ordering::SeqCst),
        finished_or_held(&all),
    );
    assert!(max_held.load(Ordering::SeqCst) <= 100);
    drop(b);
}

#[tokio::test]
async fn a_frozen_leader_never_over_commits_after_the_standby_took_over() {
    let h = Harness::get().await.expect("control plane");
    let id = std::process::id();
    let sys = format!("e2e-fo-system-{id}");
    h.kubectl(&["create", "namespace", &sys]).unwrap();
    let names = (format!("e2e-fo-{id}"), format!("e2e-fo-{id}"));
    let _cleanup = turnstile_e2e::Cleanup(
        h.clone(),
        vec![
            format!("namespace/{sys}"),
            format!("clusterqueue/{}", names.0),
            format!("resourceflavor/{}", names.1),
        ],
    );
    let lease = ["--lease-duration-seconds", "6"];
    let a = ManagerProcess::start(
        &h,
        &turnstile_e2e::scheduler_args(&sys, "e2e-fo-a", &lease),
        vec![],
    )
    .await;
    wait_for(Duration::from_secs(30), "e2e-fo-a leads", || {
        let h = h.clone();
        let sys = sys.clone();
        async move { (holder(&h, &sys).await.as_deref() == Some("e2e-fo-a")).then_some(()) }
    })
    .await
    .unwrap();
    let b = ManagerProcess::start(
        &h,
        &turnstile_e2e::scheduler_args(&sys, "e2e-fo-b", &lease),
        vec![],
    )
    .await;
    let sys2 = sys.clone();
    h.run_labelled("failover", json!({}), move |ns| async move {
        // The ClusterQueue selects the test namespace by a label set here.
        Api::<k8s_openapi::api::core::v1::Namespace>::all(ns.client())
            .patch(
                &ns.name,
                &PatchParams::default(),
                &Patch::Merge(
                    json!({"metadata": {"labels": {"e2e.turnstile.dev/failover": ns.name}}}),
                ),
            )
            .await
            .unwrap();
        run(ns, sys2, (a, b), names).await;
    })
    .await;
}
