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

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use k8s_openapi::api::batch::v1::Job;
use kube::api::{Api, ListParams, PostParams};
use serde_json::json;
use turnstile_e2e::jobs::{OPT_IN, job, of_job, setup};
use turnstile_e2e::{Harness, ManagerProcess, TestNs, UrlWebhooks, free_port, wait_for};

/// Quota of the queue, in cpu.
const QUOTA: i64 = 3;

/// A small deterministic generator (the seed is printed, so a failing run can be replayed).
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// One look at the invariants: Jobs first, Workloads after (a Job seen running must belong to a
/// Workload whose admission is visible by the later read).
async fn check(ns: &TestNs, max_held: &AtomicI64) -> Result<(), String> {
    let jobs = Api::<Job>::namespaced(ns.client(), &ns.name)
        .list(&ListParams::default())
        .await
        .map_err(|e| e.to_string())?;
    let running: Vec<String> = jobs
        .items
        .iter()
        .filter(|j| {
            let unsuspended = j.spec.as_ref().and_then(|s| s.suspend) == Some(false);
            let complete = j
                .status
                .as_ref()
                .and_then(|s| s.conditions.as_ref())
                .is_some_and(|cs| {
                    cs.iter().any(|c| {
                        (c.type_ == "Complete" || c.type_ == "Failed") && c.status == "True"
                    })
                });
            let active = j.status.as_ref().and_then(|s| s.active).unwrap_or(0) > 0;
            (unsuspended || active) && !complete
        })
        .map(|j| j.metadata.name.clone().unwrap_or_default())
        .collect();
    let all = turnstile_e2e::list_workloads(ns)
        .await
        .map_err(|e| e.to_string())?;
    let held = turnstile_e2e::held_cpu_millis(&all);
    max_held.fetch_max(held, Ordering::SeqCst);
    if held > QUOTA * 1000 {
        return Err(format!("over-commit: {held}m cpu held of {QUOTA}"));
    }
    for j in running {
        let admitted = of_job(&all, &j).is_some_and(|w| {
            turnstile_e2e::reserving(w)
                || turnstile_e2e::workload_condition(w, "Finished")
                    .is_some_and(|c| c.status == "True")
        });
        if !admitted {
            return Err(format!("Job {j} runs without an admitted Workload"));
        }
    }
    Ok(())
}

async fn stream(
    ns: TestNs,
    user: kube::Client,
    (cq, flavor): (String, String),
    kills: u64,
    manager: (ManagerProcess, Vec<String>),
) {
    setup(&ns, &cq, &flavor, &QUOTA.to_string(), json!({})).await;
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| u64::from(d.subsec_nanos()) ^ d.as_secs())
        | 1;
    println!("faults: seed {seed}");
    let done = Arc::new(AtomicBool::new(false));
    let max_held = Arc::new(AtomicI64::new(0));
    let checks = Arc::new(AtomicU64::new(0));
    let checker = {
        let (ns, done, max_held, checks) =
            (ns.clone(), done.clone(), max_held.clone(), checks.clone());
        tokio::spawn(async move {
            while !done.load(Ordering::SeqCst) {
                if let Err(why) = check(&ns, &max_held).await {
                    // A read can fail while the plane is busy; an invariant never may.
                    assert!(
                        !(why.starts_with("over-commit") || why.contains("without an admitted")),
                        "{why}"
                    );
                }
                checks.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(150)).await;
            }
        })
    };
    // The stream: a Job every 700 ms; creation retried while the webhook is down.
    let total = 6 + kills * 2;
    let creator = {
        let (ns, user) = (ns.clone(), user.clone());
        tokio::spawn(async move {
            let jobs: Api<Job> = Api::namespaced(user, &ns.name);
            for i in 0..total {
                let j = job(&format!("j{i:03}"), "1", "2s", &json!({}), &json!({}));
                wait_for(Duration::from_mins(2), "the Job created", || {
                    let jobs = jobs.clone();
                    let j = j.clone();
                    async move {
                        match jobs.create(&PostParams::default(), &j).await {
                            Ok(_) => Some(()),
                            Err(kube::Error::Api(e)) if e.code == 409 => Some(()),
                            Err(_) => None,
                        }
                    }
                })
                .await
                .unwrap();
                tokio::time::sleep(Duration::from_millis(700)).await;
            }
        })
    };
    // The killer: SIGKILL at a random point, restart at once.
    let (mut proc, args) = manager;
    let mut rng = Rng(seed);
    let started = Instant::now();
    for k in 0..kills {
        tokio::time::sleep(Duration::from_millis(500 + rng.below(3500))).await;
        drop(proc);
        proc = ManagerProcess::start(&ns.harness, &args, vec![]).await;
        if k % 10 == 9 {
            println!(
                "faults: {} kills in {:.0} s",
                k + 1,
                started.elapsed().as_secs_f64()
            );
        }
    }
    creator.await.unwrap();
    // Every Job completes.
    let names: BTreeSet<String> = (0..total).map(|i| format!("j{i:03}")).collect();
    wait_for(Duration::from_mins(5), "every Job completed", || {
        let ns = ns.clone();
        let names = names.clone();
        async move {
            let jobs = Api::<Job>::namespaced(ns.client(), &ns.name)
                .list(&ListParams::default())
                .await
                .ok()?;
            let complete = jobs
                .items
                .iter()
                .filter(|j| {
                    j.status
                        .as_ref()
                        .and_then(|s| s.conditions.as_ref())
                        .is_some_and(|cs| {
                            cs.iter()
                                .any(|c| c.type_ == "Complete" && c.status == "True")
                        })
                })
                .filter(|j| names.contains(j.metadata.name.as_deref().unwrap_or_default()))
                .count();
            (complete == names.len()).then_some(())
        }
    })
    .await
    .unwrap();
    done.store(true, Ordering::SeqCst);
    checker.await.unwrap();
    // No Workload without its Job.
    let all = turnstile_e2e::list_workloads(&ns).await.unwrap();
    for (name, w) in &all {
        let owner = w
            .metadata
            .owner_references
            .iter()
            .flatten()
            .find(|r| r.kind == "Job")
            .map(|r| r.name.clone());
        assert!(
            owner.as_ref().is_some_and(|o| names.contains(o)),
            "Workload {name} has no Job of the stream: {owner:?}"
        );
    }
    let max_cpu =
        f64::from(u32::try_from(max_held.load(Ordering::SeqCst)).unwrap_or(u32::MAX)) / 1000.0;
    println!(
        "faults: {kills} SIGKILLs survived in {:.0} s; {total} of {total} Jobs completed; max quota held {max_cpu:.1} of {QUOTA} cpu ({} invariant checks); {} Workloads, each with its Job",
        started.elapsed().as_secs_f64(),
        checks.load(Ordering::SeqCst),
        all.len()
    );
    drop(proc);
}

/// One manager (with the test webhooks registered by URL) and a ClusterQueue's names, for a test
/// named `prefix`; the cleanup guard removes what it made.
struct Setup {
    h: Harness,
    cq: String,
    flavor: String,
    args: Vec<String>,
    manager: ManagerProcess,
    user: kube::Client,
    _cleanup: turnstile_e2e::Cleanup,
}

async fn start(prefix: &str) -> Setup {
    let h = Harness::get().await.expect("control plane");
    let id = std::process::id();
    let port = free_port();
    let hooks = UrlWebhooks::register(&h, prefix, port, OPT_IN).await;
    let flavor = format!("{prefix}-od-{id}");
    let cq = format!("{prefix}-{id}");
    let mut cleanup = hooks.cleanup();
    cleanup.extend([
        format!("clusterqueue/{cq}"),
        format!("resourceflavor/{flavor}"),
    ]);
    let guard = turnstile_e2e::Cleanup(h.clone(), cleanup);
    let mut args = hooks.manager_args(port);
    args.extend(["--identity".to_owned(), prefix.to_owned()]);
    let manager = ManagerProcess::start(&h, &args, vec![]).await;
    let user = h.client_as(&hooks.user).await.unwrap();
    turnstile_e2e::jobs::flavor_and_priority_classes(&h.client, &flavor, &[]).await;
    Setup {
        h,
        cq,
        flavor,
        args,
        manager,
        user,
        _cleanup: guard,
    }
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
        _cleanup,
    } = start("e2e-faults").await;
    h.run_labelled("faults", json!({OPT_IN.0: OPT_IN.1}), move |ns| {
        stream(ns, user, (cq, flavor), kills, (manager, args))
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
                    .all(|j| {
                        j.status
                            .as_ref()
                            .and_then(|s| s.conditions.as_ref())
                            .is_some_and(|cs| {
                                cs.iter()
                                    .any(|c| c.type_ == "Complete" && c.status == "True")
                            })
                    })
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
    let Setup {
        h,
        cq,
        flavor,
        manager: _manager,
        user,
        _cleanup,
        ..
    } = start("e2e-toggle").await;
    h.run_labelled("toggle", json!({OPT_IN.0: OPT_IN.1}), move |ns| {
        toggling(ns, user, (cq, flavor))
    })
    .await;
}
