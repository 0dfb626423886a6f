//! The scheduler loop: watches feed the [`Index`]; each cycle takes a snapshot, runs the pure
//! core, assumes its admissions at once, then writes one Workload status per decision that changed
//! something (server-side apply, field manager `turnstile-scheduler`). A failed admission write is
//! forgotten and the workload requeued. Workloads without an owner have no Job to stop, so their
//! eviction completes at once (quota released, `Requeued=True`).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures::StreamExt;
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};
use kube::{Client, Resource};
use serde_json::{Value, json};
use tokio::sync::Notify;
use turnstile_api::keys::{conditions, reasons};
use turnstile_api::{
    ClusterQueue, Cohort, LocalQueue, ResourceFlavor, Workload, WorkloadPriorityClass,
};
use turnstile_core::model::PodSetAssignment;
use turnstile_core::{CycleConfig, Decision, Eviction, ObjectKey, schedule_cycle};
use turnstile_state::index::{Index, SchedulerWrite};
use turnstile_state::lifecycle;

use crate::Error;
use crate::metrics;

/// How many Workload writes of a cycle are in flight at once.
const WRITE_CONCURRENCY: usize = 32;

/// Field manager of the scheduler's status writes.
pub const FIELD_MANAGER: &str = "turnstile-scheduler";
/// The shared cache and its wake-up signal.
#[derive(Clone, Default)]
pub struct Shared {
    /// The cache.
    pub index: Arc<Mutex<Index>>,
    /// Signalled when something changed that may let a workload in.
    pub wake: Arc<Notify>,
    /// Set once every watch has listed.
    pub synced: Arc<AtomicBool>,
    /// Whether this replica holds the leader Lease now; only then does it schedule and write (and
    /// the fenced client refuses writes otherwise).
    pub leader: Arc<crate::lease::Leadership>,
    /// Where events go (nowhere by default).
    pub events: crate::events::Events,
    /// Signalled on every cache change, for the Job reconciler (it asks the cache which Jobs'
    /// Workloads changed).
    pub jobs_wake: Arc<Notify>,
    /// The control loops' heartbeats (`/healthz`).
    pub heartbeats: Arc<crate::health::Heartbeats>,
    /// Kueue's `waitForPodsReady.blockAdmission`: admit only while every workload holding quota
    /// has its pods ready, one at a time.
    pub block_admission: bool,
}

/// Now, in Unix milliseconds (the loop's one clock read per step; the core gets it passed in).
fn now_ms() -> i64 {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

type Apply<K> = fn(&mut Index, K);
type Delete = fn(&mut Index, &ObjectKey);

fn key<K: Resource>(o: &K) -> ObjectKey {
    let name = o.meta().name.as_deref().unwrap_or_default();
    match o.meta().namespace.as_deref() {
        Some(ns) => ObjectKey::new(ns, name),
        None => ObjectKey::from(name),
    }
}

fn spawn_watch<K>(
    api: Api<K>,
    shared: Shared,
    apply: Apply<K>,
    delete: Delete,
    ready: Arc<AtomicBool>,
) where
    K: Resource + Clone + std::fmt::Debug + serde::de::DeserializeOwned + Send + Sync + 'static,
    K::DynamicType: Default,
{
    crate::health::supervise("watch", async move {
        let stream = watcher::watcher(api, watcher::Config::default())
            .backoff(crate::watch_backoff::WatchBackoff::default());
        let mut stream = std::pin::pin!(stream);
        let mut listing: Vec<ObjectKey> = Vec::new();
        let mut known: std::collections::BTreeSet<ObjectKey> = std::collections::BTreeSet::new();
        while let Some(ev) = stream.next().await {
            let ev = match ev {
                Ok(ev) => ev,
                Err(e) => {
                    tracing::warn!(kind = %K::kind(&Default::default()), error = %e, "watch error (retrying)");
                    continue;
                }
            };
            let Ok(mut ix) = shared.index.lock() else {
                return;
            };
            match ev {
                Event::Apply(o) | Event::InitApply(o) => {
                    let k = key(&o);
                    listing.push(k.clone());
                    known.insert(k);
                    apply(&mut ix, o);
                }
                Event::Delete(o) => {
                    let k = key(&o);
                    known.remove(&k);
                    delete(&mut ix, &k);
                }
                Event::Init => listing.clear(),
                Event::InitDone => {
                    // A re-list: forget what was not listed again.
                    let listed: std::collections::BTreeSet<ObjectKey> = listing.drain(..).collect();
                    for gone in known.difference(&listed).cloned().collect::<Vec<_>>() {
                        delete(&mut ix, &gone);
                    }
                    known = listed;
                    ready.store(true, Ordering::Relaxed);
                    tracing::debug!(kind = %K::kind(&Default::default()), objects = known.len(), "listed");
                }
            }
            drop(ix);
            shared.wake.notify_one();
            shared.jobs_wake.notify_one();
        }
    });
}

/// Starts the watches that feed the cache and the TimeWindowPolicy controller (on `clock`);
/// returns when every one has listed once and the windows' states are in the cache.
pub async fn start_watches(
    client: &Client,
    shared: &Shared,
    clock: Arc<dyn crate::windows::Clock>,
) {
    let flags: Vec<Arc<AtomicBool>> = (0..9).map(|_| Arc::new(AtomicBool::new(false))).collect();
    crate::health::supervise(
        "time-windows",
        crate::windows::run(client.clone(), shared.clone(), clock, flags[8].clone()),
    );
    spawn_watch(
        Api::<turnstile_api::AdmissionCheck>::all(client.clone()),
        shared.clone(),
        Index::apply_admission_check,
        |ix, k| ix.delete_admission_check(k),
        flags[7].clone(),
    );
    spawn_watch(
        Api::<WorkloadPriorityClass>::all(client.clone()),
        shared.clone(),
        Index::apply_priority_class,
        |ix, k| ix.delete_priority_class(k),
        flags[6].clone(),
    );
    spawn_watch(
        Api::<ResourceFlavor>::all(client.clone()),
        shared.clone(),
        Index::apply_flavor,
        |ix, k| ix.delete_flavor(k),
        flags[0].clone(),
    );
    spawn_watch(
        Api::<Cohort>::all(client.clone()),
        shared.clone(),
        Index::apply_cohort,
        |ix, k| ix.delete_cohort(k),
        flags[1].clone(),
    );
    spawn_watch(
        Api::<ClusterQueue>::all(client.clone()),
        shared.clone(),
        Index::apply_cluster_queue,
        |ix, k| ix.delete_cluster_queue(k),
        flags[2].clone(),
    );
    spawn_watch(
        Api::<LocalQueue>::all(client.clone()),
        shared.clone(),
        Index::apply_local_queue,
        Index::delete_local_queue,
        flags[3].clone(),
    );
    spawn_watch(
        Api::<Namespace>::all(client.clone()),
        shared.clone(),
        |ix, o| {
            ix.apply_namespace(
                o.metadata.name.as_deref().unwrap_or_default(),
                o.metadata.labels.clone().unwrap_or_default(),
            );
        },
        |ix, k| ix.apply_namespace(k, BTreeMap::new()),
        flags[4].clone(),
    );
    spawn_watch(
        Api::<Workload>::all(client.clone()),
        shared.clone(),
        Index::apply_workload,
        Index::delete_workload,
        flags[5].clone(),
    );
    while !flags.iter().all(|f| f.load(Ordering::Relaxed)) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    shared.synced.store(true, Ordering::Relaxed);
}

/// Runs scheduling cycles until the process ends. Wakes on cache changes, and every second for
/// backoff expiries.
pub async fn run(client: Client, shared: Shared, config: CycleConfig) {
    crate::health::supervise(
        "queue-statuses",
        queue_statuses(client.clone(), shared.clone(), config.fair_sharing),
    );
    let mut reasons_pacer = Pacer::new(PENDING_MESSAGE_PERIOD);
    let mut notes = PendingNotes::default();
    let mut idle = Duration::ZERO;
    loop {
        let wait = notes.next_due().map_or(Duration::from_secs(1), |due| {
            Duration::from_millis(u64::try_from(due - now_ms()).unwrap_or(0))
                .min(Duration::from_secs(1))
        });
        let _ = tokio::time::timeout(wait, shared.wake.notified()).await;
        shared.heartbeats.beat("scheduler");
        if !shared.leader.holds() {
            notes = PendingNotes::default();
            continue;
        }
        tell_pending(&client, &shared, &mut notes, now_ms()).await;
        // A cycle that admitted nothing is followed by a growing pause (as Kueue's loop backs
        // off), so that a stream of unrelated watch events does not re-evaluate the same
        // workloads over and over; an admission resets it.
        if !idle.is_zero() {
            tokio::time::sleep(idle).await;
        }
        upkeep(&client, &shared, now_ms()).await;
        release_finalizers(&client, &shared).await;
        let admitted = match cycle(&client, &shared, &config, &mut reasons_pacer, &mut notes).await
        {
            Ok(admitted) => admitted,
            Err(e) => {
                tracing::warn!(error = %e, "scheduling cycle failed");
                false
            }
        };
        idle = next_idle(idle, admitted);
    }
}

/// The pause before the next cycle: none after a cycle that admitted something, else double the
/// last one, from 1 ms up to 100 ms.
fn next_idle(last: Duration, admitted: bool) -> Duration {
    if admitted {
        Duration::ZERO
    } else {
        (last * 2).clamp(Duration::from_millis(1), Duration::from_millis(100))
    }
}

/// How often the queue status writer looks for queues whose status changed.
const STATUS_TICK: Duration = Duration::from_millis(250);

/// Writes ClusterQueue, LocalQueue and Cohort statuses apart from the scheduling loop, so that a
/// cycle never waits for them (leader only).
async fn queue_statuses(client: Client, shared: Shared, fair_sharing: bool) {
    let mut pacer = Pacer::new(STATUS_BATCH);
    loop {
        tokio::time::sleep(STATUS_TICK).await;
        if shared.leader.holds() {
            write_queue_statuses(&client, &shared, now_ms(), fair_sharing, &mut pacer).await;
        }
    }
}

fn admission_json(cq: &str, assignment: &[PodSetAssignment]) -> Value {
    json!({
        "clusterQueue": cq,
        "podSetAssignments": assignment.iter().map(|ps| json!({
            "name": ps.name,
            "flavors": ps.flavors,
            "resourceUsage": ps.usage.iter().map(|(r, a)| (r.clone(), Value::from(turnstile_state::convert::quantity_string(r, *a)))).collect::<serde_json::Map<_, _>>(),
            "count": ps.count,
        })).collect::<Vec<_>>(),
    })
}

/// Writes a Workload status built by [`lifecycle`] with the one write protocol
/// ([`crate::workload_status`]), as the scheduler.
async fn write_status(client: &Client, wl: &Workload, status: Value) -> Result<(), kube::Error> {
    crate::workload_status::write_seen(client, wl, status, FIELD_MANAGER).await
}

/// Keeps the stored lastTransitionTime of a condition whose status did not change.
fn keep_times(
    desired: &mut [k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition],
    stored: &[k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition],
    now_ms: i64,
) {
    for c in desired {
        match stored
            .iter()
            .find(|s| s.type_ == c.type_ && s.status == c.status)
        {
            Some(s) => c.last_transition_time = s.last_transition_time.clone(),
            None => {
                c.last_transition_time = k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
                    k8s_openapi::jiff::Timestamp::from_millisecond(now_ms - now_ms % 1000)
                        .unwrap_or(k8s_openapi::jiff::Timestamp::UNIX_EPOCH),
                );
            }
        }
    }
}

/// How often at most one queue's status is written: changes in between are coalesced into the
/// next write. Kueue batches by one second behind a slower loop; at Turnstile's admission rate one
/// second meant a status write per queue per second, about one per admission on a busy plane.
const STATUS_BATCH: Duration = Duration::from_secs(2);

/// When each object was last written, to coalesce writes per object: at most one per `period`.
struct Pacer {
    period: Duration,
    last: std::collections::HashMap<(&'static str, String), std::time::Instant>,
}

impl Pacer {
    fn new(period: Duration) -> Self {
        Self {
            period,
            last: std::collections::HashMap::new(),
        }
    }

    /// Whether object `name` of `kind` may be written now (then the write is recorded).
    fn ready(&mut self, kind: &'static str, name: &str) -> bool {
        let now = std::time::Instant::now();
        let key = (kind, name.to_owned());
        if self
            .last
            .get(&key)
            .is_some_and(|t| now.duration_since(*t) < self.period)
        {
            return false;
        }
        // Entries older than the period decide nothing any more.
        if self.last.len() >= 4096 {
            let period = self.period;
            self.last.retain(|_, t| now.duration_since(*t) < period);
        }
        self.last.insert(key, now);
        true
    }

    fn forget(&mut self, kind: &'static str, name: &str) {
        self.last.remove(&(kind, name.to_owned()));
    }
}

/// Writes the ClusterQueue, LocalQueue and (with fair sharing) Cohort statuses that differ from
/// what is stored. Only queues whose inputs changed are looked at (with fair sharing every
/// ClusterQueue: any usage in its tree moves its share); each is written at most once per
/// [`STATUS_BATCH`], the rest put off to a later pass.
async fn write_queue_statuses(
    client: &Client,
    shared: &Shared,
    now_ms: i64,
    fair_sharing: bool,
    pacer: &mut Pacer,
) {
    let (cqs, lqs, cohorts) = {
        let Ok(mut ix) = shared.index.lock() else {
            return;
        };
        let (changed_cluster_queues, changed_local_queues) = ix.take_dirty_queues();
        let (mut later_cluster_queues, mut later_local_queues) = (Vec::new(), Vec::new());
        let snap = fair_sharing.then(|| ix.snapshot());
        let mut cohorts = Vec::new();
        if let Some(snap) = &snap {
            for n in ix.cohort_names() {
                let (Some(desired), Some(stored)) = (ix.cohort_status(&n, snap), ix.cohort(&n))
                else {
                    continue;
                };
                if stored.status.as_ref() != Some(&desired) && pacer.ready("cohort", &n) {
                    cohorts.push((n, desired));
                }
            }
        }
        let cq_names: Vec<String> = if fair_sharing {
            ix.queue_names().0
        } else {
            changed_cluster_queues.into_iter().collect()
        };
        let mut cqs = Vec::new();
        for n in cq_names {
            let (Some(mut desired), Some(stored)) = (
                ix.cluster_queue_status_with(&n, snap.as_ref()),
                ix.cluster_queue(&n),
            ) else {
                pacer.forget("cq", &n);
                continue;
            };
            let current = stored.status.clone().unwrap_or_default();
            keep_times(&mut desired.conditions, &current.conditions, now_ms);
            if desired != current {
                if pacer.ready("cq", &n) {
                    cqs.push((n, desired));
                } else {
                    later_cluster_queues.push(n);
                }
            }
        }
        let mut lqs = Vec::new();
        for k in changed_local_queues {
            let (Some(mut desired), Some(stored)) = (ix.local_queue_status(&k), ix.local_queue(&k))
            else {
                pacer.forget("lq", &k);
                continue;
            };
            let current = stored.status.clone().unwrap_or_default();
            keep_times(&mut desired.conditions, &current.conditions, now_ms);
            if desired != current {
                if pacer.ready("lq", &k) {
                    lqs.push((k, desired));
                } else {
                    later_local_queues.push(k);
                }
            }
        }
        ix.mark_dirty_queues(later_cluster_queues, later_local_queues);
        (cqs, lqs, cohorts)
    };
    let pp = &PatchParams::apply(FIELD_MANAGER).force();
    // Side by side: each is one write on its own object.
    futures::stream::iter(cohorts)
        .for_each_concurrent(WRITE_CONCURRENCY, |(name, status)| async move {
            let api: Api<Cohort> = Api::all(client.clone());
            let body = json!({"apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "Cohort", "metadata": {"name": name}, "status": status});
            let r = api.patch_status(&name, pp, &Patch::Apply(&body)).await;
            if let Err(e) = metrics::write("apply", "cohorts/status", r) {
                tracing::debug!(cohort = %name, error = %e, "status write failed");
            }
        })
        .await;
    futures::stream::iter(cqs)
        .for_each_concurrent(WRITE_CONCURRENCY, |(name, status)| async move {
            let api: Api<ClusterQueue> = Api::all(client.clone());
            let body = json!({"apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "ClusterQueue", "metadata": {"name": name}, "status": status});
            let r = api.patch_status(&name, pp, &Patch::Apply(&body)).await;
            if let Err(e) = metrics::write("apply", "clusterqueues/status", r) {
                tracing::debug!(cluster_queue = %name, error = %e, "status write failed");
                retry_later(shared, Some(name), None);
            }
        })
        .await;
    futures::stream::iter(lqs)
        .for_each_concurrent(WRITE_CONCURRENCY, |(key, status)| async move {
            let (ns, name) = key.split_once('/').unwrap_or_default();
            let api: Api<LocalQueue> = Api::namespaced(client.clone(), ns);
            let body = json!({"apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "LocalQueue", "metadata": {"name": name, "namespace": ns}, "status": status});
            let r = api.patch_status(name, pp, &Patch::Apply(&body)).await;
            if let Err(e) = metrics::write("apply", "localqueues/status", r) {
                tracing::debug!(local_queue = %key, error = %e, "status write failed");
                retry_later(shared, None, Some(key));
            }
        })
        .await;
}

/// Looks at a queue again in a later pass (its status write failed).
fn retry_later(shared: &Shared, cluster_queue: Option<String>, local_queue: Option<ObjectKey>) {
    if let Ok(mut ix) = shared.index.lock() {
        ix.mark_dirty_queues(cluster_queue, local_queue);
    }
}

/// Tells workloads that cannot be queued why (missing or stopped LocalQueue or ClusterQueue...).
async fn report_blocked(client: &Client, shared: &Shared, now_ms: i64) {
    let todo: Vec<(ObjectKey, Workload, Value)> = {
        let Ok(mut ix) = shared.index.lock() else {
            return;
        };
        let todo: Vec<(ObjectKey, Workload, Value)> = ix
            .blocked_to_report()
            .into_iter()
            .filter(|(k, ..)| !ix.is_held(k))
            .filter_map(|(k, r, m)| {
                let wl = ix.workload(&k)?.clone();
                let status = lifecycle::pending(&wl, r, &m, now_ms)?;
                Some((k, wl, status))
            })
            .collect();
        // Told once: not again until the write comes back.
        for (k, wl, _) in &todo {
            ix.writing(
                k,
                wl.metadata.resource_version.as_deref(),
                SchedulerWrite::BlockedReason,
            );
        }
        todo
    };
    futures::stream::iter(todo)
        .for_each_concurrent(WRITE_CONCURRENCY, |(key, wl, status)| async move {
            let r = write_status(client, &wl, status).await;
            if let Err(e) = &r {
                tracing::debug!(workload = %key, error = %e, "status write failed");
            }
            ended(shared, &wl, SchedulerWrite::BlockedReason, &r);
        })
        .await;
}

async fn cycle(
    client: &Client,
    shared: &Shared,
    config: &CycleConfig,
    reasons_pacer: &mut Pacer,
    notes: &mut PendingNotes,
) -> Result<bool, Error> {
    let now_ms = now_ms();
    report_blocked(client, shared, now_ms).await;
    let started = std::time::Instant::now();
    let (outcome, workloads, paths) = {
        let Ok(mut ix) = shared.index.lock() else {
            return Err(Error::Serve("cache lock poisoned".into()));
        };
        let heads = ix.heads_limited(now_ms, config.max_evaluations);
        if heads.is_empty() {
            return Ok(false);
        }
        let blocked_config;
        let config = if shared.block_admission {
            blocked_config = CycleConfig {
                admission_budget: Some(usize::from(ix.all_holders_ready())),
                ..*config
            };
            &blocked_config
        } else {
            config
        };
        let out = schedule_cycle(&ix.snapshot(), &heads, now_ms, config);
        ix.apply_outcome(&out);
        let took = started.elapsed().as_secs_f64();
        let result = if out
            .decisions
            .iter()
            .any(|d| matches!(d, Decision::Admit { .. }))
        {
            "success"
        } else {
            "inadmissible"
        };
        let m = metrics::global();
        m.observe(metrics::CYCLE_DURATION, &[], took);
        m.inc(metrics::ADMISSION_ATTEMPTS, &[("result", result)]);
        m.observe(
            metrics::ADMISSION_ATTEMPT_DURATION,
            &[("result", result)],
            took,
        );
        let mut wls = BTreeMap::new();
        let mut paths = BTreeMap::new();
        let mut out = out;
        defer_pending_reasons(&mut out, &heads, &ix, (now_ms, reasons_pacer), notes);
        // A victim whose eviction is on its way (or already evicted, its Job still stopping) is
        // not evicted again: the preemptor waits for the quota.
        out.evictions.retain(|e| {
            !ix.is_held(&e.target.key)
                && ix
                    .workload(&e.target.key)
                    .is_some_and(|w| !lifecycle::is_true(w, conditions::EVICTED))
        });
        let mut seen = std::collections::BTreeSet::new();
        out.evictions.retain(|e| seen.insert(e.target.key.clone()));
        for e in &out.evictions {
            let rv = ix
                .workload(&e.target.key)
                .and_then(|w| w.metadata.resource_version.clone());
            ix.writing(&e.target.key, rv.as_deref(), SchedulerWrite::Eviction);
        }
        // (An admission decided on a version older than a pending reason written meanwhile is
        // refused as stale, and the workload is held until the newer version is seen.)
        for d in &out.decisions {
            if let Some(w) = ix.workload(d.key()) {
                wls.insert(d.key().clone(), w.clone());
            }
        }
        for e in &out.evictions {
            for k in [&e.target.key, &e.preemptor] {
                if let Some(w) = ix.workload(k) {
                    wls.insert(k.clone(), w.clone());
                }
            }
            for cq in [&e.target.cluster_queue, &e.preemptor_queue] {
                paths.entry(cq.clone()).or_insert_with(|| ix.queue_path(cq));
            }
        }
        (out, wls, paths)
    };
    let admitted = outcome
        .decisions
        .iter()
        .any(|d| matches!(d, Decision::Admit { .. }));
    metrics::preemption_skips(&outcome.preemption_skips);
    hand_over(client, shared, outcome, &workloads, &paths, now_ms).await;
    Ok(admitted)
}

/// Carries out a cycle's writes, side by side ([`WRITE_CONCURRENCY`] in flight), and waits for
/// them: the next cycle then decides on the versions these writes produced (deciding on while
/// they are in flight was measured to trade every gain for writes refused as stale).
async fn hand_over(
    client: &Client,
    shared: &Shared,
    outcome: turnstile_core::CycleOutcome,
    workloads: &BTreeMap<ObjectKey, Workload>,
    paths: &BTreeMap<String, String>,
    now_ms: i64,
) {
    futures::stream::iter(&outcome.decisions)
        .for_each_concurrent(WRITE_CONCURRENCY, |d| async move {
            if let Some(wl) = workloads.get(d.key()) {
                write_decision(client, shared, wl, d, now_ms).await;
            }
        })
        .await;
    futures::stream::iter(&outcome.evictions)
        .for_each_concurrent(WRITE_CONCURRENCY, |e| async move {
            let Some(victim) = workloads.get(&e.target.key) else {
                return;
            };
            let preemptor = workloads.get(&e.preemptor);
            let r = evict(client, shared, (victim, preemptor), e, paths, now_ms).await;
            if let Err(err) = &r {
                tracing::warn!(workload = %e.target.key, error = %err, "eviction write failed");
            }
            ended(shared, victim, SchedulerWrite::Eviction, &r);
        })
        .await;
}

/// How long a head's pending reason waits before it is written: a workload admitted within it
/// (most heads in a busy queue are, as quota frees) costs no write for a status it would show for
/// a moment. Written then only if it still applies to the Workload as the cache has it.
const PENDING_GRACE_MS: i64 = 1_000;

/// Pending reasons decided by cycles and not written yet, each due at the end of its grace.
#[derive(Debug, Default)]
struct PendingNotes {
    notes: BTreeMap<ObjectKey, (&'static str, String, i64)>,
}

impl PendingNotes {
    /// Records the latest reason and message for `key`; the first one decided sets when it is due.
    fn defer(&mut self, key: &ObjectKey, reason: &'static str, message: &str, due_ms: i64) {
        match self.notes.get_mut(key) {
            Some(n) => {
                n.0 = reason;
                message.clone_into(&mut n.1);
            }
            None => {
                self.notes
                    .insert(key.clone(), (reason, message.to_owned(), due_ms));
            }
        }
    }

    /// The earliest time a note is due.
    fn next_due(&self) -> Option<i64> {
        self.notes.values().map(|n| n.2).min()
    }

    /// Takes the notes due at `now_ms`: `(key, reason, message)`.
    fn take_due(&mut self, now_ms: i64) -> Vec<(ObjectKey, &'static str, String)> {
        let due: Vec<ObjectKey> = self
            .notes
            .iter()
            .filter(|(_, n)| n.2 <= now_ms)
            .map(|(k, _)| k.clone())
            .collect();
        due.into_iter()
            .filter_map(|k| self.notes.remove(&k).map(|(r, m, _)| (k, r, m)))
            .collect()
    }
}

/// Writes the pending reasons whose grace is over, for the workloads still pending (not admitted,
/// deleted or being written meanwhile) and not showing them yet.
async fn tell_pending(client: &Client, shared: &Shared, notes: &mut PendingNotes, now_ms: i64) {
    let due = notes.take_due(now_ms);
    if due.is_empty() {
        return;
    }
    let todo: Vec<(Workload, &'static str, String)> = {
        let Ok(ix) = shared.index.lock() else {
            return;
        };
        due.into_iter()
            .filter(|(key, ..)| ix.is_pending(key) && !ix.is_held(key))
            .filter_map(|(key, r, m)| ix.workload(&key).map(|w| (w.clone(), r, m)))
            .collect()
    };
    futures::stream::iter(&todo)
        .for_each_concurrent(WRITE_CONCURRENCY, |(wl, reason, message)| async move {
            let d = Decision::Pending {
                key: turnstile_state::index::key_of(&wl.metadata),
                reason,
                message: message.clone(),
                requeue: turnstile_core::Requeue::Inadmissible,
            };
            write_decision(client, shared, wl, &d, now_ms).await;
        })
        .await;
}

/// How often at most a pending workload's message is rewritten while its reason stays the same
/// (its "N more needed" moves with every admission in its cohort); a new reason is written at once.
const PENDING_MESSAGE_PERIOD: Duration = Duration::from_secs(5);

/// Whether a head's pending reason is written now: a new reason at once, a new message under the
/// same reason at most once per [`PENDING_MESSAGE_PERIOD`].
fn tell_now(wl: &Workload, reason: &str, pacer: &mut Pacer) -> bool {
    let same_reason = lifecycle::condition_of(wl, conditions::QUOTA_RESERVED)
        .is_some_and(|c| c.status == "False" && c.reason == reason);
    let key = turnstile_state::index::key_of(&wl.metadata);
    if !same_reason {
        // A new reason does not wait; it is recorded, so that the message after it waits.
        pacer.forget("pending", &key);
    }
    pacer.ready("pending", &key)
}

/// Takes the cycle's pending decisions out of `out`; the heads' reasons that the Workloads do not
/// show yet (their message at most once per [`PENDING_MESSAGE_PERIOD`]) go to `notes`, to be
/// written after their grace.
fn defer_pending_reasons(
    out: &mut turnstile_core::CycleOutcome,
    heads: &BTreeMap<String, Vec<turnstile_core::model::Workload>>,
    ix: &turnstile_state::index::Index,
    (now_ms, pacer): (i64, &mut Pacer),
    notes: &mut PendingNotes,
) {
    let told = pending_heads(heads, &out.decisions);
    out.decisions.retain(|d| {
        let Decision::Pending {
            key,
            reason,
            message,
            ..
        } = d
        else {
            return true;
        };
        let tell = told.contains(key.as_str())
            && ix.workload(key).is_some_and(|w| {
                lifecycle::pending(w, reason, message, now_ms).is_some()
                    && tell_now(w, reason, pacer)
            });
        if tell {
            notes.defer(
                key,
                reason,
                message,
                now_ms.saturating_add(PENDING_GRACE_MS),
            );
        }
        false
    });
}

/// The workloads whose pending reason a cycle writes: per ClusterQueue, the first in queue order
/// that was not admitted (its head, the one Kueue's cycle evaluates). The workloads behind it keep
/// the status they show until they are the head: rewriting every evaluated workload's message
/// (its "N more needed" changes with every admission) would cost a write per workload per cycle.
fn pending_heads<'a>(
    heads: &'a BTreeMap<String, Vec<turnstile_core::model::Workload>>,
    decisions: &[Decision],
) -> std::collections::BTreeSet<&'a str> {
    let pending: std::collections::BTreeSet<&str> = decisions
        .iter()
        .filter(|d| matches!(d, Decision::Pending { .. }))
        .map(|d| d.key().as_str())
        .collect();
    heads
        .values()
        .filter_map(|list| {
            list.iter()
                .map(|w| w.key.as_str())
                .find(|k| pending.contains(k))
        })
        .collect()
}

/// Whether AdmissionChecks apply to an admission: the reservation is then the first step only;
/// the Job reconciler writes the checks (Pending) and admits once every one is Ready.
fn has_checks(
    shared: &Shared,
    cluster_queue: &str,
    assignment: &[turnstile_core::model::PodSetAssignment],
) -> bool {
    shared
        .index
        .lock()
        .is_ok_and(|ix| ix.admission_has_checks(cluster_queue, assignment))
}

/// The cache's side of a write that has ended ([`turnstile_state::index::Index::write_ended`]);
/// wakes the loop when the workload is back in its queue.
fn ended<T>(shared: &Shared, wl: &Workload, write: SchedulerWrite, r: &Result<T, kube::Error>) {
    let key = turnstile_state::index::key_of(&wl.metadata);
    let seen = wl.metadata.resource_version.as_deref();
    let again = shared
        .index
        .lock()
        .is_ok_and(|mut ix| ix.write_ended(&key, seen, write, crate::workload_status::end_of(r)));
    if again {
        shared.wake.notify_one();
    }
}

/// Which of the scheduler's writes an upkeep is.
fn upkeep_write(u: &turnstile_state::index::Upkeep) -> SchedulerWrite {
    if matches!(u, turnstile_state::index::Upkeep::Evict { .. }) {
        SchedulerWrite::Eviction
    } else {
        SchedulerWrite::Upkeep
    }
}

/// Writes what a decision changed on the Workload (nothing for an unchanged pending status).
async fn write_decision(
    client: &Client,
    shared: &Shared,
    wl: &Workload,
    d: &Decision,
    now_ms: i64,
) {
    match d {
        Decision::Admit {
            key,
            cluster_queue,
            assignment,
        } => {
            let quota_msg = format!("Quota reserved in ClusterQueue {cluster_queue}");
            let checked = has_checks(shared, cluster_queue, assignment);
            let status = lifecycle::reserve(
                wl,
                cluster_queue,
                admission_json(cluster_queue, assignment),
                checked,
                now_ms,
            );
            let r = write_status(client, wl, status).await;
            ended(shared, wl, SchedulerWrite::Admission, &r);
            if let Err(e) = r {
                tracing::info!(workload = %key, error = %e, "admission write failed; requeued");
            } else {
                tracing::info!(workload = %key, cluster_queue = %cluster_queue, "admitted");
                let waited = (now_ms - lifecycle::queued_at_ms(wl)).max(0) / 1000;
                metrics::quota_reserved(wl, cluster_queue, now_ms);
                if !checked {
                    let cohorts = shared
                        .index
                        .lock()
                        .map(|ix| ix.cohorts_above(cluster_queue))
                        .unwrap_or_default();
                    metrics::admitted(wl, cluster_queue, &cohorts, now_ms, 0.0);
                }
                shared.events.emit(
                    wl,
                    false,
                    reasons::QUOTA_RESERVED,
                    format!("{quota_msg}, wait time since queued was {waited}s"),
                );
                if !checked {
                    shared.events.emit(
                        wl,
                        false,
                        reasons::ADMITTED,
                        format!(
                            "Admitted by ClusterQueue {cluster_queue}, wait time since reservation was 0s"
                        ),
                    );
                }
            }
        }
        Decision::Pending {
            key,
            reason,
            message,
            ..
        } => {
            let Some(status) = lifecycle::pending(wl, reason, message, now_ms) else {
                return;
            };
            let r = write_status(client, wl, status).await;
            ended(shared, wl, SchedulerWrite::PendingReason, &r);
            if let Err(e) = r {
                tracing::debug!(workload = %key, error = %e, "pending status write failed");
            } else {
                shared.events.emit(wl, true, reason, message.clone());
            }
        }
        Decision::Blocked { .. } => {}
    }
}

/// Lets deleted ClusterQueues (no workload holds quota in them any more) and ResourceFlavors (no
/// ClusterQueue names them) go: removes the `kueue.x-k8s.io/resource-in-use` finalizer the webhook
/// added, with the resourceVersion seen as precondition.
async fn release_finalizers(client: &Client, shared: &Shared) {
    use turnstile_state::index::ReleasableKind;
    let todo = match shared.index.lock() {
        Ok(ix) => ix.releasable(),
        Err(_) => return,
    };
    for r in todo {
        let patch = Patch::Merge(
            json!({"metadata": {"finalizers": r.keep, "resourceVersion": r.resource_version}}),
        );
        let pp = PatchParams::default();
        let result = match r.kind {
            ReleasableKind::ClusterQueue => metrics::write(
                "patch",
                "clusterqueues",
                Api::<ClusterQueue>::all(client.clone())
                    .patch(&r.name, &pp, &patch)
                    .await
                    .map(|_| ()),
            ),
            ReleasableKind::ResourceFlavor => metrics::write(
                "patch",
                "resourceflavors",
                Api::<ResourceFlavor>::all(client.clone())
                    .patch(&r.name, &pp, &patch)
                    .await
                    .map(|_| ()),
            ),
        };
        match result {
            Ok(()) => tracing::info!(name = %r.name, kind = ?r.kind, "in-use finalizer removed"),
            Err(e) => tracing::debug!(name = %r.name, error = %e, "finalizer removal failed"),
        }
    }
}

/// Counts an eviction under Kueue's labels.
fn count_eviction(wl: &Workload, reason: &str) {
    metrics::evicted(wl, &lifecycle::admitted_to(wl), reason, now_ms());
}

/// Counts a preemption: the victim's eviction and the preempting queue's preemption.
fn count_preemption(victim: &Workload, preempting_cluster_queue: &str, reason: &str) {
    count_eviction(victim, reasons::PREEMPTED);
    metrics::global().inc(
        metrics::PREEMPTED,
        &[
            ("preempting_cluster_queue", preempting_cluster_queue),
            ("reason", reason),
        ],
    );
}

/// Deletes a finished Workload whose retention elapsed (Kueue's
/// `objectRetentionPolicies.workloads.afterFinished`): Kueue's in-use finalizer first (guarded by
/// the version seen), then the object (guarded by its UID), with Kueue's event.
async fn delete_finished(
    client: &Client,
    shared: &Shared,
    wl: &Workload,
) -> Result<(), kube::Error> {
    let api: Api<Workload> = Api::namespaced(
        client.clone(),
        wl.metadata.namespace.as_deref().unwrap_or_default(),
    );
    let name = wl.metadata.name.as_deref().unwrap_or_default();
    let finalizers = wl.metadata.finalizers.clone().unwrap_or_default();
    if finalizers
        .iter()
        .any(|f| f == turnstile_api::keys::RESOURCE_IN_USE_FINALIZER)
    {
        let keep: Vec<&String> = finalizers
            .iter()
            .filter(|f| *f != turnstile_api::keys::RESOURCE_IN_USE_FINALIZER)
            .collect();
        let r = api
            .patch(
                name,
                &PatchParams::default(),
                &Patch::Merge(json!({"metadata": {"finalizers": keep,
                    "resourceVersion": wl.metadata.resource_version}})),
            )
            .await
            .map(|_| ());
        metrics::write("patch", "workloads", r)?;
    }
    let params = kube::api::DeleteParams {
        preconditions: Some(kube::api::Preconditions {
            uid: wl.metadata.uid.clone(),
            resource_version: None,
        }),
        ..kube::api::DeleteParams::default()
    };
    match api.delete(name, &params).await.map(|_| ()) {
        // Gone already: nothing was deleted here, no event.
        Err(kube::Error::Api(e)) if e.code == 404 => Ok(()),
        r => {
            metrics::write("delete", "workloads", r)?;
            shared.events.emit(
                wl,
                false,
                "Deleted",
                "Deleted finished workload due to elapsed retention".to_owned(),
            );
            Ok(())
        }
    }
}

/// What the lifecycle calls for now, each with the Workload it is about, held until the write
/// comes back (done once, not again while it is on its way).
fn take_upkeep(shared: &Shared, now_ms: i64) -> Vec<(turnstile_state::index::Upkeep, Workload)> {
    use turnstile_state::index::Upkeep;
    let Ok(mut ix) = shared.index.lock() else {
        return Vec::new();
    };
    let todo: Vec<(Upkeep, Workload)> = ix
        .take_upkeep(now_ms)
        .into_iter()
        .filter_map(|u| {
            let key = match &u {
                Upkeep::Evict { key, .. }
                | Upkeep::Requeue { key, .. }
                | Upkeep::WindowNotice { key, .. }
                | Upkeep::SetPriority { key, .. }
                | Upkeep::DeleteFinished { key } => key.clone(),
            };
            (!ix.is_held(&key))
                .then(|| ix.workload(&key).cloned().map(|w| (u, w)))
                .flatten()
        })
        .collect();
    // Done once: not again until the write comes back.
    for (u, wl) in &todo {
        let key = turnstile_state::index::key_of(&wl.metadata);
        ix.writing(
            &key,
            wl.metadata.resource_version.as_deref(),
            upkeep_write(u),
        );
    }
    todo
}

/// Carries out what the workload lifecycle calls for (evictions of drained or deactivated
/// workloads, letting parked workloads back).
async fn upkeep(client: &Client, shared: &Shared, now_ms: i64) {
    use turnstile_state::index::Upkeep;
    for (u, wl) in take_upkeep(shared, now_ms) {
        let write = upkeep_write(&u);
        let result = match u {
            Upkeep::Evict {
                key,
                reason,
                message,
            } => {
                let (reason, message) = (reason.as_str(), message.as_str());
                tracing::info!(workload = %key, reason, "evicting");
                count_eviction(&wl, reason);
                shared.events.emit(
                    &wl,
                    false,
                    &format!("EvictedDueTo{reason}"),
                    message.to_owned(),
                );
                let status = lifecycle::eviction(&wl, reason, message, None, now_ms);
                write_status(client, &wl, status).await
            }
            Upkeep::SetPriority { key, priority } => {
                tracing::info!(workload = %key, priority, "priority class value changed");
                let api: Api<Workload> = Api::namespaced(
                    client.clone(),
                    wl.metadata.namespace.as_deref().unwrap_or_default(),
                );
                let r = api
                    .patch(
                        wl.metadata.name.as_deref().unwrap_or_default(),
                        &PatchParams::default(),
                        &Patch::Merge(json!({"spec": {"priority": priority}})),
                    )
                    .await
                    .map(|_| ());
                metrics::write("patch", "workloads", r)
            }
            Upkeep::WindowNotice {
                key,
                closes_at,
                reason,
                message,
            } => {
                tracing::info!(workload = %key, closes_at, "time-window notice");
                let notice = (closes_at.as_deref(), reason, message.as_str());
                window_notice(client, shared, &wl, notice, now_ms).await
            }
            Upkeep::DeleteFinished { key } => {
                tracing::info!(workload = %key, "deleting: finished and its retention elapsed");
                delete_finished(client, shared, &wl).await
            }
            Upkeep::Requeue {
                key,
                reason,
                message,
            } => {
                tracing::info!(workload = %key, reason, "requeued");
                write_status(
                    client,
                    &wl,
                    lifecycle::requeue(&wl, reason, message, now_ms),
                )
                .await
            }
        };
        if let Err(e) = &result {
            tracing::debug!(error = %e, "upkeep write failed");
        }
        ended(shared, &wl, write, &result);
    }
}

/// Shows (or withdraws) a time window's closing notice: the Workload's `TimeWindowClosing`
/// condition, an Event, and the `turnstile.dev/time-window-closes-at` annotation on its Job (a hook
/// for checkpointing; the annotation is best effort, the condition is the record).
async fn window_notice(
    client: &Client,
    shared: &Shared,
    wl: &Workload,
    (closes_at, reason, message): (Option<&str>, &str, &str),
    now_ms: i64,
) -> Result<(), kube::Error> {
    let closing = closes_at.is_some();
    let status = lifecycle::status_with(
        wl,
        &[(
            turnstile_api::keys::conditions::TIME_WINDOW_CLOSING,
            if closing { "True" } else { "False" },
            reason,
            message,
        )],
        now_ms,
        json!({}),
    );
    write_status(client, wl, status).await?;
    if closing {
        shared.events.emit(wl, false, reason, message.to_owned());
    }
    if let Some(owner) = turnstile_state::index::job_owner(wl) {
        let jobs: Api<k8s_openapi::api::batch::v1::Job> = Api::namespaced(
            client.clone(),
            wl.metadata.namespace.as_deref().unwrap_or_default(),
        );
        let r = jobs
            .patch(
                &owner.name,
                &PatchParams::default(),
                &Patch::Merge(json!({"metadata": {"annotations": {
                    turnstile_api::keys::annotations::TIME_WINDOW_CLOSES_AT: closes_at}}})),
            )
            .await
            .map(|_| ());
        if let Err(e) = metrics::write("patch", "jobs", r) {
            tracing::debug!(job = %owner.name, error = %e, "closing-notice annotation not written");
        }
    }
    Ok(())
}

async fn evict(
    client: &Client,
    shared: &Shared,
    (victim, preemptor): (&Workload, Option<&Workload>),
    e: &Eviction,
    paths: &BTreeMap<String, String>,
    now_ms: i64,
) -> Result<(), kube::Error> {
    let preemptor_cq = e.preemptor_queue.clone();
    let job_uid = preemptor
        .and_then(|p| p.metadata.labels.as_ref())
        .and_then(|l| l.get(turnstile_api::keys::labels::JOB_UID))
        .map_or("UNKNOWN", String::as_str);
    let message = format!(
        "Preempted to accommodate a workload (UID: {}, JobUID: {job_uid}) due to {}; preemptor path: {}; preemptee path: {}",
        e.preemptor_uid,
        e.target.reason.human(),
        paths.get(&preemptor_cq).cloned().unwrap_or_default(),
        paths
            .get(&e.target.cluster_queue)
            .cloned()
            .unwrap_or_default()
    );
    // A Workload without a Job to stop gives its quota back in the same write; it may come back
    // at once.
    let status = lifecycle::eviction(
        victim,
        reasons::PREEMPTED,
        &message,
        Some(e.target.reason.as_str()),
        now_ms,
    );
    write_status(client, victim, status).await?;
    tracing::info!(workload = %e.target.key, preemptor = %e.preemptor, reason = e.target.reason.as_str(), "preempted");
    count_preemption(victim, &preemptor_cq, e.target.reason.as_str());
    let priority = |w: Option<&Workload>| {
        let p = w.and_then(|w| w.spec.priority).unwrap_or(0);
        format!("{p} (base: {p}, boost: 0)")
    };
    shared.events.emit(
        victim,
        false,
        reasons::PREEMPTED,
        format!(
            "{message}; preemptor effective priority: {}; preemptee effective priority: {}",
            priority(preemptor),
            priority(Some(victim))
        ),
    );
    shared.events.emit(
        victim,
        false,
        &format!("EvictedDueTo{}", reasons::PREEMPTED),
        message.clone(),
    );
    if let Some(p) = preemptor {
        shared.events.emit(
            p,
            false,
            "PreemptedWorkload",
            format!(
                "Preempted workload {} (UID: {}) in ClusterQueue {}; due to {}",
                e.target.key,
                victim.metadata.uid.as_deref().unwrap_or_default(),
                e.target.cluster_queue,
                e.target.reason.human()
            ),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pending_notes_wait_their_grace_and_keep_the_latest_reason() {
        let mut n = PendingNotes::default();
        assert_eq!(n.next_due(), None);
        n.defer(&"ns/a".into(), "Pending", "first", 1_000);
        n.defer(&"ns/b".into(), "Pending", "b", 1_500);
        n.defer(&"ns/a".into(), "Pending", "second", 1_900);
        assert_eq!(
            n.next_due(),
            Some(1_000),
            "the first decision sets the time"
        );
        assert!(n.take_due(999).is_empty());
        assert_eq!(
            n.take_due(1_000),
            vec![("ns/a".into(), "Pending", "second".to_owned())]
        );
        assert_eq!(n.next_due(), Some(1_500));
        assert_eq!(n.take_due(5_000).len(), 1);
        assert!(n.take_due(5_000).is_empty());
    }
    use turnstile_core::Requeue;
    use turnstile_core::model::Workload as Model;

    fn model(key: &str, cq: &str) -> Model {
        Model {
            key: key.into(),
            uid: key.into(),
            cluster_queue: cq.into(),
            priority: 0,
            timestamp: 0,
            pod_sets: Vec::new(),
        }
    }

    fn pending(key: &str) -> Decision {
        Decision::Pending {
            key: key.into(),
            reason: "Pending",
            message: "no room".into(),
            requeue: Requeue::Inadmissible,
        }
    }

    #[test]
    fn only_each_queues_first_workload_not_admitted_is_told_why() {
        let heads: BTreeMap<String, Vec<Model>> = [
            (
                "a".to_owned(),
                vec![
                    model("ns/a1", "a"),
                    model("ns/a2", "a"),
                    model("ns/a3", "a"),
                ],
            ),
            (
                "b".to_owned(),
                vec![model("ns/b1", "b"), model("ns/b2", "b")],
            ),
            ("c".to_owned(), vec![model("ns/c1", "c")]),
        ]
        .into();
        // Decisions come in processing order, not queue order.
        let decisions = vec![
            pending("ns/a3"),
            Decision::Admit {
                key: "ns/a1".into(),
                cluster_queue: "a".into(),
                assignment: Vec::new(),
            },
            pending("ns/a2"),
            pending("ns/b2"),
            pending("ns/b1"),
            Decision::Admit {
                key: "ns/c1".into(),
                cluster_queue: "c".into(),
                assignment: Vec::new(),
            },
        ];
        let told: Vec<&str> = pending_heads(&heads, &decisions).into_iter().collect();
        assert_eq!(told, vec!["ns/a2", "ns/b1"]);
    }

    #[test]
    fn a_heads_message_is_rewritten_at_most_once_per_period_a_new_reason_at_once() {
        let wl = |reason: Option<&str>| -> Workload {
            let mut v = serde_json::json!({"metadata": {"name": "w", "namespace": "ns"}, "spec": {"podSets": []}});
            if let Some(r) = reason {
                v["status"] = serde_json::json!({"conditions": [{"type": "QuotaReserved", "status": "False",
                    "reason": r, "message": "1 more needed", "lastTransitionTime": "2026-12-01T00:00:00Z"}]});
            }
            serde_json::from_value(v).unwrap()
        };
        let mut p = Pacer::new(PENDING_MESSAGE_PERIOD);
        assert!(tell_now(&wl(None), "Pending", &mut p), "first time");
        assert!(
            !tell_now(&wl(Some("Pending")), "Pending", &mut p),
            "same reason, too soon"
        );
        assert!(
            tell_now(&wl(Some("Pending")), "Inadmissible", &mut p),
            "a new reason at once"
        );
    }

    #[test]
    fn an_idle_loop_backs_off_from_1_to_100_ms_and_an_admission_resets_it() {
        let mut d = Duration::ZERO;
        let mut seen = Vec::new();
        for _ in 0..9 {
            d = next_idle(d, false);
            seen.push(d.as_millis());
        }
        assert_eq!(seen, vec![1, 2, 4, 8, 16, 32, 64, 100, 100]);
        assert_eq!(next_idle(d, true), Duration::ZERO);
    }

    #[test]
    fn a_queue_status_is_written_at_most_once_per_batch_period() {
        let mut p = Pacer::new(STATUS_BATCH);
        assert!(p.ready("cq", "a"));
        assert!(!p.ready("cq", "a"), "again at once: put off");
        assert!(p.ready("lq", "a"), "another object");
        assert!(p.ready("cq", "b"));
        p.forget("cq", "a");
        assert!(p.ready("cq", "a"), "a deleted queue starts afresh");
    }
}
