//! Memory and time at scale for the cache and the core together: 30 ClusterQueues in 5 cohorts
//! (Kueue's baseline shape) and N pending Workloads (default 100,000), applied as API objects.
//! Prints peak RSS of the process (VmHWM) and the time to apply, snapshot and run one cycle.
//!
//! `cargo bench -p turnstile-state --bench scale [-- N]`

// Benchmark code: a failure is a panic.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::cast_precision_loss,
    missing_docs
)]

use std::time::Instant;

use serde_json::json;
use turnstile_api as api;
use turnstile_core::{CycleConfig, schedule_cycle};
use turnstile_state::index::Index;

fn rss_mib(field: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| {
            l.strip_prefix(field).map(|v| {
                v.trim()
                    .trim_end_matches(" kB")
                    .trim()
                    .parse::<f64>()
                    .unwrap_or(0.0)
            })
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

fn main() {
    let n: usize = std::env::args()
        .find_map(|a| a.parse().ok())
        .unwrap_or(100_000);
    let start_rss = rss_mib("VmRSS:");
    let mut ix = Index::default();
    ix.apply_flavor(serde_json::from_value(json!({"metadata": {"name": "default"}})).unwrap());
    ix.apply_namespace("ns", std::collections::BTreeMap::default());
    for i in 0..30 {
        let cq: api::ClusterQueue = serde_json::from_value(json!({"metadata": {"name": format!("cq-{i:02}")}, "spec": {
            "cohortName": format!("cohort-{}", i / 6), "namespaceSelector": {},
            "preemption": {"reclaimWithinCohort": "Any", "withinClusterQueue": "LowerPriority"},
            "resourceGroups": [{"coveredResources": ["cpu"], "flavors": [{"name": "default", "resources": [
                {"name": "cpu", "nominalQuota": 20, "borrowingLimit": 100}]}]}]}}))
        .unwrap();
        ix.apply_cluster_queue(cq);
        let lq: api::LocalQueue = serde_json::from_value(json!({"metadata": {"name": format!("lq-{i:02}"), "namespace": "ns"}, "spec": {"clusterQueue": format!("cq-{i:02}")}})).unwrap();
        ix.apply_local_queue(lq);
    }
    let t = Instant::now();
    for i in 0..n {
        let (cpu, prio) = match i % 10 {
            0 => ("20", 200),
            1 | 2 => ("5", 100),
            _ => ("1", 50),
        };
        let wl: api::Workload = serde_json::from_value(json!({
            "metadata": {"name": format!("wl-{i}"), "namespace": "ns", "uid": format!("uid-{i:06}"), "creationTimestamp": "2026-11-25T00:00:00Z"},
            "spec": {"queueName": format!("lq-{:02}", i % 30), "priority": prio, "podSets": [{"name": "main", "count": 1, "template": {"spec": {
                "containers": [{"name": "c", "image": "busybox", "resources": {"requests": {"cpu": cpu}}}]}}}]}
        }))
        .unwrap();
        ix.apply_workload(wl);
    }
    let apply = t.elapsed();
    let t = Instant::now();
    let snap = ix.snapshot();
    let snapshot = t.elapsed();
    let t = Instant::now();
    let heads = ix.heads_limited(i64::MAX, CycleConfig::default().max_evaluations);
    let heads_time = t.elapsed();
    let t = Instant::now();
    let out = schedule_cycle(&snap, &heads, 0, &CycleConfig::default());
    let cycle = t.elapsed();
    println!(
        "{n} pending workloads: apply {apply:.2?} ({:.1} µs each), snapshot {snapshot:.2?}, heads {heads_time:.2?}, one cycle {cycle:.2?} ({} admitted)",
        apply.as_secs_f64() * 1e6 / n as f64,
        out.decisions
            .iter()
            .filter(|d| matches!(d, turnstile_core::Decision::Admit { .. }))
            .count()
    );
    println!(
        "RSS: at start {start_rss:.0} MiB, now {:.0} MiB, peak {:.0} MiB",
        rss_mib("VmRSS:"),
        rss_mib("VmHWM:")
    );
}
