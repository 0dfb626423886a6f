//! Fault injection on the real plane: the manager is SIGKILLed at random points while a stream of
//! Jobs flows through a small ClusterQueue, and restarted at once. An invariant checker runs
//! throughout: never more quota held than the queue has; no Job runs (unsuspended or with pods)
//! without an admitted Workload. At the end every Job has completed and every Workload belongs to
//! an existing Job. Prints the figures.
//!
//! `E2E_FAULT_KILLS` sets the number of kills (default 8, the CI run); the long run is
//! `E2E_FAULT_KILLS=50 cargo test -p turnstile-e2e --test faults -- --nocapture`.

// Test code: failures are panics.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::too_many_lines
)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use k8s_openapi::api::batch::v1::Job;
use kube::api::{Api, ListParams, PostParams};
use serde_json::json;
use turnstile_e2e::faults::{QUOTA, Rng, Setup, start, stream};
use turnstile_e2e::jobs::{OPT_IN, job, of_job, setup};
use turnstile_e2e::{ManagerProcess, TestNs, wait_for};

async fn kill_stream(
    ns: TestNs,
    user: kube::Client,
    (cq, flavor): (String, String),
    kills: u64,
    (proc, args): (ManagerProcess, Vec<String>),
) {
    let mut rng = Rng::from_clock("faults");
    let h = ns.harness.clone();
    let started = Instant::now();
    // The killer: SIGKILL at a random point, restart at once.
    let killer = async move {
        let mut proc = proc;
        for k in 0..kills {
            tokio::time::sleep(Duration::from_millis(500 + rng.below(3500))).await;
            drop(proc);
            proc = ManagerProcess::start(&h, &args, vec![]).await;
            if k % 10 == 9 {
                println!(
                    "faults: {} kills in {:.0} s",
                    k + 1,
                    started.elapsed().as_secs_f64()
                );
            }
        }
        proc
    };
    let (f, _manager) = stream(&ns, user, (&cq, &flavor), 6 + kills * 2, killer).await;
    println!(
        "faults: {kills} SIGKILLs survived in {:.0} s; {n} of {n} Jobs completed; max quota held {:.1} of {QUOTA} cpu ({} invariant checks); {} Workloads, each with its Job",
        f.elapsed.as_secs_f64(),
        f.max_held_cpu,
        f.checks,
        f.workloads,
        n = f.jobs,
    );
}

#[tokio::test]
async fn jobs_survive_a_manager_killed_at_random_points() {
    let kills: u64 = std::env::var("E2E_FAULT_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(8);
    let Setup {
        h,
        cq,
        flavor,
        args,
        manager,
        user,
        cleanup: _cleanup,
        serial: _serial,
    } = start("e2e-faults").await;
    h.run_labelled("faults", json!({OPT_IN.0: OPT_IN.1}), move |ns| {
        kill_stream(ns, user, (cq, flavor), kills, (manager, args))
    })
    .await;
}

/// Parallelism toggled 1 <-> 20 on suspended Jobs while the scheduler is deciding on them: an
/// admission computed for one pod must never start twenty. Invariants throughout: the quota is
/// never exceeded, and a running Job never has more pods allowed (`parallelism`) than its
/// Workload's admission counts.
async fn toggling(ns: TestNs, user: kube::Client, (cq, flavor): (String, String)) {
    const JOBS: usize = 8;
    setup(&ns, &cq, &flavor, "20", json!({})).await;
    // Held while the Jobs arrive and the toggling starts; released mid-toggling, so that the
    // admissions (one 20-pod Job fits at a time) race the changes.
    let held_queue = |stop: &str| {
        let mut cq_doc =
            turnstile_e2e::jobs::queue_objects(&cq, &flavor, &ns.name, "20", &json!({}));
        cq_doc["spec"]["stopPolicy"] = json!(stop);
        cq_doc
    };
    ns.apply_doc(&held_queue("Hold")).await.unwrap();
    let jobs: Api<Job> = Api::namespaced(user, &ns.name);
    for i in 0..JOBS {
        jobs.create(
            &PostParams::default(),
            &job(&format!("t{i}"), "1", "1s", &json!({}), &json!({})),
        )
        .await
        .unwrap();
    }
    let stop = Arc::new(AtomicBool::new(false));
    let toggles = Arc::new(AtomicU64::new(0));
    let flipper = {
        let (jobs, stop, toggles) = (jobs.clone(), stop.clone(), toggles.clone());
        tokio::spawn(async move {
            let mut n = 0u64;
            while !stop.load(Ordering::SeqCst) {
                n += 1;
                for i in 0..JOBS {
                    let name = format!("t{i}");
                    let Ok(j) = jobs.get(&name).await else {
                        continue;
                    };
                    if j.spec.as_ref().and_then(|s| s.suspend) != Some(true) {
                        continue;
                    }
                    let p = if (n + i as u64).is_multiple_of(2) {
                        20
                    } else {
                        1
                    };
                    // Conditional on the version read: never changes a Job that has just started.
                    let patch = json!({"metadata": {"resourceVersion": j.metadata.resource_version},
                        "spec": {"parallelism": p, "completions": p}});
                    if jobs
                        .patch(
                            &name,
                            &kube::api::PatchParams::default(),
                            &kube::api::Patch::Merge(&patch),
                        )
                        .await
                        .is_ok()
                    {
                        toggles.fetch_add(1, Ordering::SeqCst);
                    }
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    };
    let violations = Arc::new(AtomicU64::new(0));
    let max_held = Arc::new(AtomicI64::new(0));
    let checker = {
        let (ns, stop, max_held, violations) = (
            ns.clone(),
            stop.clone(),
            max_held.clone(),
            violations.clone(),
        );
        tokio::spawn(async move {
            let mut checks = 0u64;
            loop {
                let done = stop.load(Ordering::SeqCst);
                let Ok(list) = Api::<Job>::namespaced(ns.client(), &ns.name)
                    .list(&ListParams::default())
                    .await
                else {
                    continue;
                };
                let Ok(all) = turnstile_e2e::list_workloads(&ns).await else {
                    continue;
                };
                let held = turnstile_e2e::held_cpu_millis(&all);
                max_held.fetch_max(held, Ordering::SeqCst);
                assert!(held <= 20_000, "over-commit: {held}m of 20 cpu");
                for j in &list.items {
                    let name = j.metadata.name.clone().unwrap_or_default();
                    if j.spec.as_ref().and_then(|s| s.suspend) != Some(false) {
                        continue;
                    }
                    let parallelism = j.spec.as_ref().and_then(|s| s.parallelism).unwrap_or(1);
                    let admitted = of_job(&all, &name)
                        .and_then(|w| w.status.as_ref()?.admission.as_ref())
                        .map_or(0, |a| {
                            a.pod_set_assignments
                                .iter()
                                .map(|p| p.count.unwrap_or(0))
                                .sum()
                        });
                    let finished = of_job(&all, &name).is_some_and(|w| {
                        turnstile_e2e::workload_condition(w, "Finished")
                            .is_some_and(|c| c.status == "True")
                    });
                    if !finished && parallelism > admitted {
                        violations.fetch_add(1, Ordering::SeqCst);
                        panic!(
                            "Job {name} runs with parallelism {parallelism} on an admission of {admitted} pods"
                        );
                    }
                }
                checks += 1;
                if done {
                    return checks;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };
    // Toggle for a while (the queue opens after 2 s); every Job must then complete.
    tokio::time::sleep(Duration::from_secs(2)).await;
    ns.apply_doc(&held_queue("None")).await.unwrap();
    tokio::time::sleep(Duration::from_secs(12)).await;
    stop.store(true, Ordering::SeqCst);
    flipper.await.unwrap();
    wait_for(
        Duration::from_mins(3),
        "every toggled Job completed",
        || {
            let jobs = jobs.clone();
            async move {
                let list = jobs.list(&ListParams::default()).await.ok()?;
                list.items
                    .iter()
                    .all(turnstile_e2e::jobs::complete)
                    .then_some(())
            }
        },
    )
    .await
    .unwrap();
    let checks = checker.await.unwrap();
    let max_cpu =
        f64::from(u32::try_from(max_held.load(Ordering::SeqCst)).unwrap_or(u32::MAX)) / 1000.0;
    println!(
        "faults: parallelism toggled {} times on {JOBS} suspended Jobs while admitting; all completed; max held {max_cpu:.1} of 20 cpu; {checks} checks, {} violations",
        toggles.load(Ordering::SeqCst),
        violations.load(Ordering::SeqCst)
    );
}

#[tokio::test]
async fn parallelism_toggled_while_admissions_are_in_flight() {
    start("e2e-toggle").await.run("toggle", toggling).await;
}

/// A running Job's Workload deactivated while its pod has a long termination grace period (kwok
/// keeps the pod Terminating for 15 to 30 s): the Job is suspended, never deleted; the quota stays
/// held while the Job has active pods; the next Job is admitted only after that, and never while
/// the first still counts as running. Checked every 100 ms throughout.
async fn deactivated_with_long_grace(
    ns: TestNs,
    user: kube::Client,
    (cq, flavor): (String, String),
) {
    use k8s_openapi::api::core::v1::Pod;
    setup(&ns, &cq, &flavor, "1", json!({})).await;
    let jobs: Api<Job> = Api::namespaced(user, &ns.name);
    let mut long = job("long", "1", "600s", &json!({}), &json!({}));
    {
        let t = long.spec.as_mut().unwrap().template.clone();
        let mut t = serde_json::to_value(t).unwrap();
        t["metadata"]["annotations"]["pod-delete.stage.kwok.x-k8s.io/delay"] = json!("15s");
        t["spec"]["terminationGracePeriodSeconds"] = json!(30);
        long.spec.as_mut().unwrap().template = serde_json::from_value(t).unwrap();
    }
    jobs.create(&PostParams::default(), &long).await.unwrap();
    let pods: Api<Pod> = Api::namespaced(ns.client(), &ns.name);
    let running_pod = || async {
        pods.list(&ListParams::default().labels("batch.kubernetes.io/job-name=long"))
            .await
            .ok()
            .and_then(|l| {
                l.items
                    .into_iter()
                    .find(|p| p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running"))
            })
    };
    wait_for(
        Duration::from_mins(1),
        "the long Job's pod running",
        || async { running_pod().await.map(|_| ()) },
    )
    .await
    .unwrap();
    jobs.create(
        &PostParams::default(),
        &job("next", "1", "1s", &json!({}), &json!({})),
    )
    .await
    .unwrap();
    let all = turnstile_e2e::list_workloads(&ns).await.unwrap();
    let wl = of_job(&all, "long").unwrap().metadata.name.clone().unwrap();
    let deactivated_at = Instant::now();
    Api::<turnstile_api::Workload>::namespaced(ns.client(), &ns.name)
        .patch(
            &wl,
            &kube::api::PatchParams::default(),
            &kube::api::Patch::Merge(json!({"spec": {"active": false}})),
        )
        .await
        .unwrap();
    // Watch until the next Job has completed and the long Job's pod is gone.
    let (mut checks, mut max_held, mut terminating_seen) = (0u64, 0i64, None::<f64>);
    let (mut released_at, mut next_admitted_at, mut pod_gone_at) = (None, None, None);
    loop {
        assert!(
            deactivated_at.elapsed() < Duration::from_mins(3),
            "stuck: released {released_at:?}, next admitted {next_admitted_at:?}, pod gone {pod_gone_at:?}"
        );
        let Ok(list) = jobs.list(&ListParams::default()).await else {
            continue;
        };
        let Ok(all) = turnstile_e2e::list_workloads(&ns).await else {
            continue;
        };
        let Ok(pod_list) = pods
            .list(&ListParams::default().labels("batch.kubernetes.io/job-name=long"))
            .await
        else {
            continue;
        };
        checks += 1;
        let t = deactivated_at.elapsed().as_secs_f64();
        let held = turnstile_e2e::held_cpu_millis(&all);
        max_held = max_held.max(held);
        assert!(held <= 1000, "over-commit: {held}m cpu held of 1");
        let get = |n: &str| {
            list.items
                .iter()
                .find(|j| j.metadata.name.as_deref() == Some(n))
        };
        let long_job = get("long").expect("the deactivated Job is never deleted");
        let long_active = long_job.status.as_ref().and_then(|s| s.active).unwrap_or(0);
        let long_wl = of_job(&all, "long").expect("the deactivated Workload stays");
        let long_holds = turnstile_e2e::reserving(long_wl);
        if long_active > 0 {
            assert!(
                long_holds,
                "quota released while the Job still has {long_active} active pod(s)"
            );
        } else if !long_holds && released_at.is_none() {
            released_at = Some(t);
        }
        let next_runs = get("next").is_some_and(|j| {
            j.spec.as_ref().and_then(|s| s.suspend) == Some(false)
                || j.status.as_ref().and_then(|s| s.active).unwrap_or(0) > 0
        });
        if next_runs {
            next_admitted_at.get_or_insert(t);
            assert!(
                long_active == 0 && !long_holds,
                "the next Job runs while the deactivated one still counts ({long_active} active pods, holds quota: {long_holds})"
            );
        }
        if pod_list
            .items
            .iter()
            .any(|p| p.metadata.deletion_timestamp.is_some())
        {
            terminating_seen = Some(t);
        }
        if pod_list.items.is_empty() {
            pod_gone_at.get_or_insert(t);
        }
        let next_done = get("next").is_some_and(turnstile_e2e::jobs::complete);
        if next_done && pod_gone_at.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The deactivated Job: suspended, its Workload inactive and evicted as Kueue says.
    let long_job = jobs.get("long").await.unwrap();
    assert_eq!(long_job.spec.and_then(|s| s.suspend), Some(true));
    let all = turnstile_e2e::list_workloads(&ns).await.unwrap();
    let w = of_job(&all, "long").unwrap();
    assert_eq!(w.spec.active, Some(false));
    let evicted = turnstile_e2e::workload_condition(w, "Evicted").unwrap();
    assert_eq!(
        (evicted.status.as_str(), evicted.reason.as_str()),
        ("True", "Deactivated")
    );
    let qr = turnstile_e2e::workload_condition(w, "QuotaReserved").unwrap();
    assert_eq!(qr.status, "False");
    println!(
        "faults: deactivated a running Job (grace 30 s): quota released at {:.1} s, next Job admitted at {:.1} s, the old pod Terminating until {:.1} s and gone at {:.1} s; max held {:.1} of 1 cpu; {checks} checks",
        released_at.unwrap_or(f64::NAN),
        next_admitted_at.unwrap_or(f64::NAN),
        terminating_seen.unwrap_or(f64::NAN),
        pod_gone_at.unwrap_or(f64::NAN),
        f64::from(u32::try_from(max_held).unwrap_or(u32::MAX)) / 1000.0,
    );
}

#[tokio::test]
async fn deactivating_a_running_job_with_a_long_grace_period() {
    start("e2e-deact")
        .await
        .run("deact", deactivated_with_long_grace)
        .await;
}
