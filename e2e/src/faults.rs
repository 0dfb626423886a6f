//! Fault injection with an invariant checker: a stream of one-cpu Jobs flows through a small
//! ClusterQueue while a disruption (the caller's future: manager kills, apiserver restarts, ...)
//! runs beside it. Checked throughout: never more quota held than the queue has; no Job runs
//! (unsuspended or with pods) without an admitted Workload. At the end: every Job has completed
//! and every Workload belongs to a Job of the stream.

use std::collections::BTreeSet;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use k8s_openapi::api::batch::v1::Job;
use kube::api::{Api, ListParams, PostParams};
use serde_json::json;

use crate::jobs::{OPT_IN, complete, job, of_job, setup};
use crate::{Harness, ManagerProcess, TestNs, UrlWebhooks, free_port};

/// Quota of the queue, in cpu.
pub const QUOTA: i64 = 3;

/// A small deterministic generator (the seed is printed, so a failing run can be replayed).
pub struct Rng(pub u64);

impl Rng {
    /// A number below `n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

impl Rng {
    /// Seeded from the clock; the seed is printed so a failing run can be replayed.
    pub fn from_clock(what: &str) -> Self {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| u64::from(d.subsec_nanos()) ^ d.as_secs())
            | 1;
        println!("{what}: seed {seed}");
        Self(seed)
    }
}

/// One look at the invariants: Jobs first, Workloads after (a Job seen running must belong to a
/// Workload whose admission is visible by the later read).
pub async fn check(ns: &TestNs, max_held: &AtomicI64) -> Result<(), String> {
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
    let all = crate::list_workloads(ns).await.map_err(|e| e.to_string())?;
    let held = crate::held_cpu_millis(&all);
    max_held.fetch_max(held, Ordering::SeqCst);
    if held > QUOTA * 1000 {
        return Err(format!("over-commit: {held}m cpu held of {QUOTA}"));
    }
    for j in running {
        let admitted = of_job(&all, &j).is_some_and(|w| {
            crate::reserving(w)
                || crate::workload_condition(w, "Finished").is_some_and(|c| c.status == "True")
        });
        if !admitted {
            return Err(format!("Job {j} runs without an admitted Workload"));
        }
    }
    Ok(())
}

/// What a run saw.
#[derive(Debug)]
pub struct Figures {
    /// Jobs created (all completed).
    pub jobs: u64,
    /// Most quota held at one look, in cpu.
    pub max_held_cpu: f64,
    /// Invariant checks made.
    pub checks: u64,
    /// Workloads at the end (each with its Job).
    pub workloads: usize,
    /// From the first Job to the last completion.
    pub elapsed: Duration,
}

/// Runs `total` Jobs (one every 700 ms, each one pod of 1 cpu for 2 s; creation retried while the
/// webhook or the apiserver is down) through ClusterQueue `cq` (quota [`QUOTA`]) while `disrupt`
/// runs, checking the invariants every 150 ms; then waits up to 5 minutes for every Job to
/// complete. Returns the figures and what `disrupt` returned (e.g. a manager to keep alive).
///
/// # Panics
/// When an invariant is broken or a Job does not complete.
pub async fn stream<D, T>(
    ns: &TestNs,
    user: kube::Client,
    (cq, flavor): (&str, &str),
    total: u64,
    disrupt: D,
) -> (Figures, T)
where
    D: Future<Output = T>,
{
    setup(ns, cq, flavor, &QUOTA.to_string(), json!({})).await;
    let done = Arc::new(AtomicBool::new(false));
    let max_held = Arc::new(AtomicI64::new(0));
    let checks = Arc::new(AtomicU64::new(0));
    let checker = {
        let (ns, done, max_held, checks) =
            (ns.clone(), done.clone(), max_held.clone(), checks.clone());
        tokio::spawn(async move {
            while !done.load(Ordering::SeqCst) {
                if let Err(why) = check(&ns, &max_held).await {
                    // A read can fail while the plane is busy or down; an invariant never may.
                    assert!(
                        !(why.starts_with("over-commit") || why.contains("without an admitted")),
                        "{why}"
                    );
                } else {
                    checks.fetch_add(1, Ordering::SeqCst);
                }
                tokio::time::sleep(Duration::from_millis(150)).await;
            }
        })
    };
    let started = Instant::now();
    let creator = {
        let (ns, user) = (ns.clone(), user.clone());
        tokio::spawn(async move {
            let jobs: Api<Job> = Api::namespaced(user, &ns.name);
            for i in 0..total {
                let j = job(&format!("j{i:03}"), "1", "2s", &json!({}), &json!({}));
                crate::wait_for(Duration::from_mins(2), "the Job created", || {
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
                .unwrap_or_else(|e| panic!("{e}"));
                tokio::time::sleep(Duration::from_millis(700)).await;
            }
        })
    };
    let disrupted = disrupt.await;
    creator.await.unwrap_or_else(|e| panic!("{e}"));
    let names: BTreeSet<String> = (0..total).map(|i| format!("j{i:03}")).collect();
    crate::wait_for(Duration::from_mins(5), "every Job completed", || {
        let ns = ns.clone();
        let names = names.clone();
        async move {
            let jobs = Api::<Job>::namespaced(ns.client(), &ns.name)
                .list(&ListParams::default())
                .await
                .ok()?;
            let n = jobs
                .items
                .iter()
                .filter(|j| complete(j))
                .filter(|j| names.contains(j.metadata.name.as_deref().unwrap_or_default()))
                .count();
            (n == names.len()).then_some(())
        }
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let elapsed = started.elapsed();
    done.store(true, Ordering::SeqCst);
    checker.await.unwrap_or_else(|e| panic!("{e}"));
    let all = crate::list_workloads(ns)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
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
    let held = u32::try_from(max_held.load(Ordering::SeqCst)).unwrap_or(u32::MAX);
    (
        Figures {
            jobs: total,
            max_held_cpu: f64::from(held) / 1000.0,
            checks: checks.load(Ordering::SeqCst),
            workloads: all.len(),
            elapsed,
        },
        disrupted,
    )
}

/// One manager (with the test webhooks registered by URL) and a ClusterQueue's names, for a test
/// named `prefix`; the cleanup guard removes what it made.
pub struct Setup {
    /// The plane.
    pub h: Harness,
    /// The ClusterQueue's name.
    pub cq: String,
    /// The ResourceFlavor's name.
    pub flavor: String,
    /// The manager's arguments (to start it again).
    pub args: Vec<String>,
    /// The running manager.
    pub manager: ManagerProcess,
    /// A client as the webhook's test user.
    pub user: kube::Client,
    /// Removes what the set-up made.
    pub cleanup: crate::Cleanup,
    /// Held for the whole test: the fault tests of one binary run one at a time, since their
    /// webhook configurations select the same opted-in objects and a killed manager's webhook
    /// would refuse another test's requests.
    pub serial: tokio::sync::MutexGuard<'static, ()>,
}

static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

impl Setup {
    /// Runs `body` (given the namespace, the test user and the ClusterQueue's and flavor's
    /// names) in a namespace opted into the test webhooks, the manager and the guards alive
    /// until it ends.
    pub async fn run<F, Fut>(self, name: &str, body: F)
    where
        F: FnOnce(TestNs, kube::Client, (String, String)) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let Setup {
            h,
            cq,
            flavor,
            manager,
            user,
            cleanup,
            serial,
            ..
        } = self;
        h.run_labelled(name, json!({OPT_IN.0: OPT_IN.1}), move |ns| {
            body(ns, user, (cq, flavor))
        })
        .await;
        drop((manager, cleanup, serial));
    }
}

///
/// # Panics
/// When the plane is not there or the manager does not start.
pub async fn start(prefix: &str) -> Setup {
    let serial = SERIAL.lock().await;
    let h = Harness::get()
        .await
        .unwrap_or_else(|e| panic!("control plane: {e}"));
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
    let guard = crate::Cleanup(h.clone(), cleanup);
    let mut args = hooks.manager_args(port);
    args.extend(["--identity".to_owned(), prefix.to_owned()]);
    let manager = ManagerProcess::start(&h, &args, vec![]).await;
    let user = h
        .client_as(&hooks.user)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    crate::jobs::flavor_and_priority_classes(&h.client, &flavor, &[]).await;
    Setup {
        h,
        cq,
        flavor,
        args,
        manager,
        user,
        cleanup: guard,
        serial,
    }
}
