//! Fault injection on the real plane: kube-apiserver is SIGKILLed twice while a stream of Jobs
//! flows through a small ClusterQueue — once briefly (3 s, watches and the Lease survive), once
//! for longer than the leader Lease (20 s, the manager must step down, then lead again). The
//! invariants of `turnstile_e2e::faults` are checked throughout; at the end every Job has
//! completed, every Workload has its Job, and the manager is the same process (it reconnected
//! rather than crashed).
//!
//! A test binary of its own: the outage is seen by everything on the plane.

// Test code: failures are panics.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use serde_json::json;
use turnstile_e2e::faults::{QUOTA, Setup, start, stream};
use turnstile_e2e::jobs::OPT_IN;

#[tokio::test]
async fn jobs_survive_kube_apiserver_restarts() {
    let Setup {
        h,
        cq,
        flavor,
        manager,
        user,
        cleanup: _cleanup,
        serial: _serial,
        ..
    } = start("e2e-apirestart").await;
    let pid = manager.pid();
    let plane = h.clone();
    h.run_labelled("apirestart", json!({OPT_IN.0: OPT_IN.1}), move |ns| async move {
        let outages = async move {
            let started = Instant::now();
            let mut seen = Vec::new();
            for (after, down) in [(5, 3), (6, 20)] {
                tokio::time::sleep(Duration::from_secs(after)).await;
                let at = started.elapsed().as_secs_f64();
                let h = plane.clone();
                let t = Instant::now();
                tokio::task::spawn_blocking(move || h.restart_apiserver(Duration::from_secs(down)))
                    .await
                    .unwrap();
                seen.push(format!(
                    "at {at:.0} s for {down} s (ready again after {:.1} s)",
                    t.elapsed().as_secs_f64()
                ));
            }
            seen
        };
        let (f, outages) = stream(&ns, user, (&cq, &flavor), 30, outages).await;
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let state = stat.rsplit_once(") ").map(|(_, rest)| &rest[..1]);
        assert!(
            state.is_some_and(|s| s != "Z"),
            "the manager exited during the outages ({stat:?})"
        );
        println!(
            "faults: kube-apiserver SIGKILLed {}; {n} of {n} Jobs completed in {:.0} s; max quota held {:.1} of {QUOTA} cpu ({} invariant checks); {} Workloads, each with its Job; the manager (pid {pid}) survived",
            outages.join(", "),
            f.elapsed.as_secs_f64(),
            f.max_held_cpu,
            f.checks,
            f.workloads,
            n = f.jobs,
        );
    })
    .await;
    drop(manager);
}
