//! Memory of the whole manager process with many pending Workloads (a figure, not a test that
//! CI runs): creates N Workloads (default 100,000; `TURNSTILE_SCALE_WORKLOADS`) in a ClusterQueue
//! whose quota they cannot fit, starts the manager, waits until its ClusterQueue status counts
//! them all as pending, keeps it running for a while, and prints its resident memory (current
//! and peak, from /proc) and how long the start took.
//!
//! ```text
//! cargo build --release -p turnstile
//! TURNSTILE_E2E_MANAGER_BIN=target/release/turnstile \
//!   cargo test -p turnstile-e2e --test scale -- --ignored --nocapture
//! ```

// Test code: failures are panics.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::too_many_lines
)]

use std::time::{Duration, Instant};

use futures::StreamExt;
use kube::api::{Api, PostParams};
use serde_json::json;
use turnstile_api::{ClusterQueue, Workload};
use turnstile_e2e::{Harness, ManagerProcess, wait_for};

fn rss_kib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

#[tokio::test]
#[ignore = "a figure-producing harness (minutes, 100k objects), not part of CI"]
async fn manager_memory_with_many_pending_workloads() {
    let n: usize = std::env::var("TURNSTILE_SCALE_WORKLOADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let h = Harness::get().await.expect("control plane");
    let id = std::process::id();
    let (cq_name, rf, sys, sel) = (
        format!("e2e-scale-{id}"),
        format!("e2e-scale-{id}"),
        format!("e2e-scale-system-{id}"),
        format!("s{id}"),
    );
    h.kubectl(&["create", "namespace", &sys]).unwrap();
    let _cleanup = turnstile_e2e::Cleanup(
        h.clone(),
        vec![
            format!("namespace/{sys}"),
            format!("clusterqueue/{cq_name}"),
            format!("resourceflavor/{rf}"),
        ],
    );
    let h2 = h.clone();
    h.run_labelled("scale", json!({"e2e.turnstile.dev/scale": sel.clone()}), move |ns| async move {
        ns.apply_doc(&json!({"apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "ResourceFlavor", "metadata": {"name": rf}})).await.unwrap();
        // 1 cpu of quota, every workload asks for 2: all stay pending.
        ns.apply_doc(&json!({"apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "ClusterQueue", "metadata": {"name": cq_name},
            "spec": {"namespaceSelector": {"matchLabels": {"e2e.turnstile.dev/scale": sel}},
                "resourceGroups": [{"coveredResources": ["cpu", "memory"], "flavors": [{"name": rf, "resources": [
                    {"name": "cpu", "nominalQuota": "1"}, {"name": "memory", "nominalQuota": "1Gi"}]}]}]}})).await.unwrap();
        ns.apply_doc(&json!({"apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "LocalQueue", "metadata": {"name": "lq"}, "spec": {"clusterQueue": cq_name}})).await.unwrap();
        let started = Instant::now();
        let tasks = 48;
        let mut set = tokio::task::JoinSet::new();
        for t in 0..tasks {
            let api: Api<Workload> = Api::namespaced(ns.client(), &ns.name);
            set.spawn(async move {
                for i in (t..n).step_by(tasks) {
                    let w: Workload = serde_json::from_value(json!({"apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "Workload",
                        "metadata": {"name": format!("w-{i:06}"), "labels": {"app": "scale", "team": format!("team-{}", i % 7)}},
                        "spec": {"queueName": "lq", "priority": i32::try_from(i % 10).unwrap(), "podSets": [{"name": "main", "count": 1, "template": {"spec": {
                            "containers": [{"name": "c", "image": "registry.example/batch/worker:1.0", "args": ["--task", format!("{i}")],
                                "resources": {"requests": {"cpu": "2", "memory": "256Mi"}}}]}}}]}}))
                    .unwrap();
                    loop {
                        match api.create(&PostParams::default(), &w).await {
                            // A create whose reply was lost may have been stored: done then.
                            Ok(_) => break,
                            Err(kube::Error::Api(e)) if e.code == 409 => break,
                            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
                        }
                    }
                }
            });
        }
        while set.join_next().await.is_some() {}
        let created = started.elapsed();
        eprintln!("created {n} workloads in {:.1} s", created.as_secs_f64());

        let args = turnstile_e2e::scheduler_args(&sys, "e2e-scale", &[]);
        let t0 = Instant::now();
        let manager = ManagerProcess::start(&h2, &args, vec![]).await;
        let ready = t0.elapsed();
        let cqs: Api<ClusterQueue> = Api::all(ns.client());
        let n32 = i32::try_from(n).unwrap();
        wait_for(Duration::from_mins(10), "all pending counted", || {
            let cqs = cqs.clone();
            let name = cq_name.clone();
            async move { (cqs.get(&name).await.ok()?.status?.pending_workloads == n32).then_some(()) }
        })
        .await
        .unwrap();
        let counted = t0.elapsed();
        let (rss_counted, _) = rss_kib(manager.pid());
        // Keep it scheduling (and writing pending statuses) for a while; sample memory.
        let mut peak_sampled = rss_counted;
        for _ in 0..60 {
            tokio::time::sleep(Duration::from_secs(1)).await;
            peak_sampled = peak_sampled.max(rss_kib(manager.pid()).0);
        }
        let (rss_end, hwm) = rss_kib(manager.pid());
        // A ClusterQueue spec edit at this size: raise the quota so that one workload fits and
        // time it from the edit to the first Workload event showing a reservation.
        let wls: Api<Workload> = Api::namespaced(ns.client(), &ns.name);
        let rv = wls
            .list_metadata(&kube::api::ListParams::default().limit(1))
            .await
            .unwrap()
            .metadata
            .resource_version
            .unwrap_or_default();
        let mut events = wls.watch(&kube::api::WatchParams::default(), &rv).await.unwrap().boxed();
        let edited = Instant::now();
        ns.apply_doc(&json!({"apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "ClusterQueue", "metadata": {"name": cq_name},
            "spec": {"namespaceSelector": {"matchLabels": {"e2e.turnstile.dev/scale": sel}},
                "resourceGroups": [{"coveredResources": ["cpu", "memory"], "flavors": [{"name": rf, "resources": [
                    {"name": "cpu", "nominalQuota": "2"}, {"name": "memory", "nominalQuota": "1Gi"}]}]}]}})).await.unwrap();
        let reserved = |w: &Workload| {
            w.status.as_ref().is_some_and(|s| s.conditions.iter().any(|c| c.type_ == "QuotaReserved" && c.status == "True"))
        };
        let took = tokio::time::timeout(Duration::from_mins(2), async {
            while let Some(Ok(ev)) = events.next().await {
                if let kube::api::WatchEvent::Modified(w) = ev
                    && reserved(&w)
                {
                    return edited.elapsed();
                }
            }
            edited.elapsed()
        })
        .await
        .unwrap();
        eprintln!(
            "manager with {n} pending workloads: ready after {:.1} s, all counted pending after {:.1} s; \
             RSS when counted {} MiB, after 60 s more {} MiB, peak (VmHWM) {} MiB; \
             a ClusterQueue quota edit admitted its first workload {:.2} s after the edit",
            ready.as_secs_f64(),
            counted.as_secs_f64(),
            rss_counted / 1024,
            rss_end / 1024,
            hwm / 1024,
            took.as_secs_f64()
        );
        drop(manager);
    })
    .await;
}
