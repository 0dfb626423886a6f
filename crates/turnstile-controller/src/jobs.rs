//! The Job reconciler: carries out what [`turnstile_jobs::decide::decide`] says for each
//! batch/v1 Job, leader-gated like the scheduler.
//!
//! Inputs: a Job reflector (managed fields dropped), the scheduler's cache for the Workloads a
//! Job controls (found by owner through [`Index::workloads_of_job`]), ResourceFlavors and
//! WorkloadPriorityClasses, and a PriorityClass reflector. A Job is reconciled when it changes,
//! when one of its Workloads changes (the cache reports them), when a deadline it asked for comes
//! (`waitForPodsReady`), after a failed write (backoff from 200 ms to 30 s), and in a full pass
//! when this replica becomes the leader and every five minutes.
//!
//! Every write carries the `resourceVersion` the decision was made from, so a decision taken on
//! a stale view fails with a conflict and is taken again on the fresh one. All state lives in the
//! API objects (the Job's `suspend` and `kueue.x-k8s.io/stopping`, the Workload's conditions), so a
//! restart anywhere in the lifecycle simply continues from what the objects say.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures::StreamExt;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::scheduling::v1::PriorityClass;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, ResourceExt};
use serde_json::Value;
use turnstile_api::keys::reasons;
use turnstile_api::{ResourceFlavor, Workload};
use turnstile_core::ObjectKey;
use turnstile_jobs::decide::{self, Action, Inputs, PodsReadyConfig, WorkloadView};
use turnstile_jobs::directives::{self, Admitted};
use turnstile_jobs::workload::{self, PodPriorityClass};
use turnstile_state::index::Index;

mod writes;

use crate::Error;
use crate::metrics;
use crate::scheduler::Shared;
use crate::webhook::JobsConfig;

/// Field manager of the Job reconciler's writes.
pub const FIELD_MANAGER: &str = "turnstile-job-controller";
/// Most Jobs reconciled at once.
const CONCURRENCY: usize = 16;
/// Interval of the full pass over every Job.
const RESYNC: Duration = Duration::from_mins(5);

/// What the reconciler is configured with.
#[derive(Clone, Debug, Default)]
pub struct JobSettings {
    /// Which Jobs are managed.
    pub jobs: JobsConfig,
    /// `waitForPodsReady`, when on.
    pub pods_ready: Option<PodsReadyConfig>,
    /// `objectRetentionPolicies.workloads.afterDeactivatedByKueue`.
    pub retain_deactivated: Option<Duration>,
}

struct Ctx {
    client: Client,
    shared: Shared,
    jobs: Store<Job>,
    priority_classes: Store<PriorityClass>,
    settings: JobSettings,
}

fn now_ms() -> i64 {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

fn job_key(job: &Job) -> ObjectKey {
    turnstile_state::index::key_of(&job.metadata)
}

/// A Workload with what the cache converted from its pod set.
struct Owned {
    wl: Workload,
    count: i32,
    min_count: Option<i32>,
    tolerations: Vec<turnstile_core::model::Toleration>,
    owner_uid: String,
    checks: Vec<String>,
    per_pod: Option<turnstile_core::resources::Requests>,
}

impl Owned {
    /// What the Job reconciler keeps of a cached Workload and its model.
    fn new(
        ix: &Index,
        wl: &Workload,
        model: Result<&turnstile_core::model::Workload, &turnstile_state::convert::ConvertError>,
    ) -> Self {
        let owner_uid = turnstile_state::index::job_owner(wl)
            .map(|r| r.uid.clone())
            .unwrap_or_default();
        let ps = model.ok().and_then(|m| m.pod_sets.first());
        Owned {
            wl: wl.clone(),
            // A Workload whose quantities do not convert is compared by its count alone.
            count: ps.map_or(-1, |p| p.count),
            min_count: ps.and_then(|p| p.min_count),
            tolerations: ps.map(|p| p.tolerations.clone()).unwrap_or_default(),
            owner_uid,
            checks: ix.checks_of_workload(wl),
            per_pod: ps.map(|p| p.per_pod.clone()),
        }
    }

    fn view(&self) -> WorkloadView<'_> {
        WorkloadView {
            wl: &self.wl,
            count: self.count,
            min_count: self.min_count,
            tolerations: self.tolerations.clone(),
            checks: self.checks.clone(),
            per_pod: self.per_pod.clone(),
        }
    }
}

/// Warning event reason on a Job whose reconciliation keeps failing (a write refused by a webhook,
/// a ResourceQuota on Workloads, RBAC...), with the API's message.
pub const REASON_RECONCILE_FAILED: &str = "ReconcileFailed";

/// Runs the reconciler until the process ends.
pub async fn run(client: Client, shared: Shared, settings: JobSettings) {
    let dirty: Arc<Mutex<BTreeSet<ObjectKey>>> = Arc::default();
    let (jobs, writer) = reflector::store::<Job>();
    {
        let (dirty, wake) = (dirty.clone(), shared.jobs_wake.clone());
        let stream = watcher(Api::<Job>::all(client.clone()), watcher::Config::default())
            .backoff(crate::watch_backoff::WatchBackoff::default())
            .modify(|j| {
                j.managed_fields_mut().clear();
            })
            .reflect(writer)
            .touched_objects();
        tokio::spawn(async move {
            let mut stream = std::pin::pin!(stream);
            while let Some(item) = stream.next().await {
                match item {
                    Ok(job) => {
                        if let Ok(mut d) = dirty.lock() {
                            d.insert(job_key(&job));
                        }
                        wake.notify_one();
                    }
                    Err(e) => tracing::warn!(kind = "Job", error = %e, "watch error (retrying)"),
                }
            }
        });
    }
    let priority_classes =
        crate::webhook::spawn_reflector(Api::<PriorityClass>::all(client.clone()));
    if jobs.wait_until_ready().await.is_err() || priority_classes.wait_until_ready().await.is_err()
    {
        tracing::error!("the Job or PriorityClass watch ended before listing");
        return;
    }
    tracing::info!("Job reconciler caches synced");
    let ctx = Arc::new(Ctx {
        client,
        shared,
        jobs,
        priority_classes,
        settings,
    });
    drive(&ctx, &dirty).await;
}

/// The work loop: collects the Jobs to look at, reconciles them concurrently (each key once per
/// round), schedules retries and deadlines.
async fn drive(ctx: &Arc<Ctx>, dirty: &Mutex<BTreeSet<ObjectKey>>) {
    let mut timers: BTreeMap<ObjectKey, Instant> = BTreeMap::new();
    let mut failures: BTreeMap<ObjectKey, u32> = BTreeMap::new();
    let mut leading = false;
    let mut last_full = Instant::now();
    loop {
        ctx.shared.heartbeats.beat("jobs");
        let wait = timers
            .values()
            .min()
            .map_or(Duration::from_secs(1), |t| {
                t.saturating_duration_since(Instant::now())
            })
            .min(Duration::from_secs(1));
        let _ = tokio::time::timeout(wait, ctx.shared.jobs_wake.notified()).await;
        let mut keys: BTreeSet<ObjectKey> = dirty
            .lock()
            .map(|mut d| std::mem::take(&mut *d))
            .unwrap_or_default();
        if let Ok(mut ix) = ctx.shared.index.lock() {
            keys.extend(ix.take_dirty_jobs());
        }
        if !ctx.shared.leader.holds() {
            leading = false;
            timers.clear();
            failures.clear();
            continue;
        }
        if !leading || last_full.elapsed() >= RESYNC {
            leading = true;
            last_full = Instant::now();
            keys.extend(ctx.jobs.state().iter().map(|j| job_key(j)));
            if let Ok(ix) = ctx.shared.index.lock() {
                keys.extend(ix.jobs_with_workloads());
            }
        }
        let now = Instant::now();
        let due: Vec<ObjectKey> = timers
            .iter()
            .filter(|(_, t)| **t <= now)
            .map(|(k, _)| k.clone())
            .collect();
        for k in due {
            timers.remove(&k);
            keys.insert(k);
        }
        if keys.is_empty() {
            continue;
        }
        let results: Vec<(ObjectKey, Result<Option<Duration>, Error>)> =
            futures::stream::iter(keys.into_iter().map(|k| {
                let ctx = ctx.clone();
                async move {
                    let r = reconcile(&ctx, &k).await;
                    (k, r)
                }
            }))
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
        for (key, result) in results {
            match result {
                Ok(after) => {
                    failures.remove(&key);
                    if let Some(d) = after {
                        let at = Instant::now() + d;
                        let t = timers.entry(key).or_insert(at);
                        *t = (*t).min(at);
                    }
                }
                Err(e) => {
                    let n = failures.entry(key.clone()).or_insert(0);
                    *n = n.saturating_add(1);
                    let backoff = Duration::from_millis(200u64.saturating_mul(1 << (*n).min(8)))
                        .min(Duration::from_secs(30));
                    if *n >= 3 {
                        tracing::warn!(job = %key, error = %e, retry_in = ?backoff, "Job reconcile keeps failing");
                        // Say why on the Job itself, not only in this log (at the third failure in a
                        // row, then every tenth): a Job stuck suspended must tell its user.
                        if (*n == 3 || n.is_multiple_of(10)) && !matches!(e, Error::Waiting(_)) {
                            let (ns, name) = key.split_once('/').unwrap_or_default();
                            if let Some(job) = ctx.jobs.get(&ObjectRef::new(name).within(ns)) {
                                ctx.shared.events.emit(
                                    job.as_ref(),
                                    true,
                                    REASON_RECONCILE_FAILED,
                                    format!(
                                        "{e} (failed {n} times in a row; retrying in {}s)",
                                        backoff.as_secs()
                                    ),
                                );
                            }
                        }
                    } else {
                        tracing::debug!(job = %key, error = %e, retry_in = ?backoff, "Job reconcile failed");
                    }
                    timers.insert(key, Instant::now() + backoff);
                }
            }
        }
    }
}

/// What the cache knows about the Workloads controlled by Job `key`.
fn owned_workloads(ix: &Index, key: &str) -> Vec<Owned> {
    ix.workloads_of_job(key)
        .into_iter()
        .map(|(wl, model)| Owned::new(ix, wl, model))
        .collect()
}

/// The prebuilt Workload Job `job` names, when it exists and the Job does not control it yet;
/// while it does not exist, the Job is woken when it appears.
fn prebuilt_workload(ix: &mut Index, job: &Job) -> Option<Owned> {
    let name = turnstile_jobs::workload::prebuilt_name(job)?;
    let ns = job.metadata.namespace.as_deref().unwrap_or_default();
    let key = ObjectKey::new(ns, name);
    let Some((wl, model)) = ix.workload_with_model(&key) else {
        ix.await_workload(&key, &job_key(job));
        return None;
    };
    let owned = Owned::new(ix, wl, model);
    (job.metadata.uid.as_deref() != Some(owned.owner_uid.as_str())).then_some(owned)
}

async fn reconcile(ctx: &Ctx, key: &str) -> Result<Option<Duration>, Error> {
    let (ns, name) = key.split_once('/').unwrap_or_default();
    let job = ctx.jobs.get(&ObjectRef::new(name).within(ns));
    let now = now_ms();
    let (owned, ns_labels, priority, prebuilt, job_per_pod) = {
        let mut ix = ctx
            .shared
            .index
            .lock()
            .map_err(|_| Error::Serve("cache lock poisoned".into()))?;
        let owned = owned_workloads(&ix, key);
        let ns_labels = ix.namespace_labels(ns).cloned().unwrap_or_default();
        let priority = job.as_ref().map(|j| {
            let pcs: Vec<PodPriorityClass> = ctx
                .priority_classes
                .state()
                .iter()
                .map(|pc| PodPriorityClass {
                    name: pc.name_any(),
                    value: pc.value.unwrap_or(0),
                    global_default: pc.global_default == Some(true),
                })
                .collect();
            workload::resolve_priority(j, |n| ix.priority_class_value(n), &pcs)
        });
        let prebuilt = job.as_ref().and_then(|j| prebuilt_workload(&mut ix, j));
        // One pod of the Job as its Workload would account it (same conversion, same rules).
        let job_per_pod = job.as_ref().and_then(|j| {
            let any = turnstile_jobs::workload::Priority {
                class: None,
                value: 0,
            };
            let wl = workload::new_workload(j, &any);
            ix.model_of(&wl)
                .ok()
                .and_then(|m| m.pod_sets.first().map(|p| p.per_pod.clone()))
        });
        (owned, ns_labels, priority, prebuilt, job_per_pod)
    };
    let uid = job.as_ref().and_then(|j| j.metadata.uid.clone());
    let (mine, orphans): (Vec<&Owned>, Vec<&Owned>) = owned
        .iter()
        .partition(|o| uid.as_deref() == Some(o.owner_uid.as_str()));
    // Workloads of a Job that is gone (or of an earlier Job of the same name).
    for o in orphans {
        for a in decide::orphan(&o.view(), now) {
            apply(ctx, None, &owned, a).await?;
        }
    }
    let (Some(job), Some(priority)) = (job, priority) else {
        return Ok(None);
    };
    if !ctx.settings.jobs.manages_job(&job, &ns_labels) {
        let views: Vec<_> = mine.iter().map(|o| o.view()).collect();
        for a in decide::unmanaged(&job, &views) {
            apply(ctx, Some(&job), &owned, a).await?;
        }
        return Ok(None);
    }
    // A missing priority class: decided (a Warning event), then retried with backoff until the
    // class appears (the cache may simply not have seen it yet).
    let missing_class = priority.as_ref().err().cloned();
    let inputs = Inputs {
        job: &job,
        workloads: mine.iter().map(|o| o.view()).collect(),
        prebuilt: prebuilt.as_ref().map(Owned::view),
        priority,
        pods_ready: ctx.settings.pods_ready,
        job_per_pod,
        now_ms: now,
        retain_deactivated_ms: ctx
            .settings
            .retain_deactivated
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
    };
    let mut after = None;
    let mut composed = true;
    for a in decide::decide(&inputs) {
        if matches!(&a, Action::Event { reason, .. } if *reason == "ErrWorkloadCompose") {
            composed = false;
        }
        if let Some(d) = apply(ctx, Some(&job), &owned, a).await? {
            after = Some(d);
        }
    }
    match missing_class {
        Some(why) if !composed => Err(Error::Waiting(why)),
        _ => Ok(after),
    }
}

/// Kueue's metrics for what a status the reconciler wrote changed: a finish, an eviction (a
/// PodsReady timeout, a rejected check), an admission when the last AdmissionCheck turned Ready,
/// pods ready, quota released after an eviction.
fn count_transitions(ctx: &Ctx, before: &Workload, status: &Value, now_ms: i64) {
    use turnstile_api::keys::conditions;
    use turnstile_state::lifecycle::{condition_of, is_true};
    let cond = |t: &str| {
        status["conditions"]
            .as_array()
            .and_then(|cs| cs.iter().find(|c| c["type"] == t))
    };
    let became = |t: &str| {
        cond(t)
            .filter(|c| c["status"] == "True")
            .filter(|_| !is_true(before, t))
    };
    let cq = turnstile_state::lifecycle::admitted_to(before);
    if became(conditions::FINISHED).is_some() {
        metrics::finished(before, &cq);
    }
    if let Some(c) = became(conditions::EVICTED) {
        metrics::evicted(
            before,
            &cq,
            c["reason"].as_str().unwrap_or_default(),
            now_ms,
        );
    }
    if became(conditions::ADMITTED).is_some() {
        let checks_s = condition_of(before, conditions::QUOTA_RESERVED)
            .filter(|c| c.status == "True")
            .map_or(0.0, |c| {
                #[allow(clippy::cast_precision_loss)]
                let s = (now_ms - c.last_transition_time.0.as_millisecond()).max(0) as f64 / 1000.0;
                s
            });
        let cohorts = ctx
            .shared
            .index
            .lock()
            .map(|ix| ix.cohorts_above(&cq))
            .unwrap_or_default();
        metrics::admitted(before, &cq, &cohorts, now_ms, checks_s);
    }
    if became(conditions::PODS_READY)
        .is_some_and(|c| c["reason"] == turnstile_api::keys::reasons::STARTED)
    {
        metrics::pods_ready(before, &cq, now_ms);
    }
    let released = cond(conditions::QUOTA_RESERVED).is_some_and(|c| c["status"] == "False")
        && is_true(before, conditions::QUOTA_RESERVED);
    // The Evicted condition as written (set in this write, or earlier and kept).
    let evicted = cond(conditions::EVICTED)
        .filter(|c| c["status"] == "True")
        .and_then(|c| {
            let at = c["lastTransitionTime"].as_str()?;
            let ms = at.parse::<jiff::Timestamp>().ok()?.as_millisecond();
            Some((c["reason"].as_str().unwrap_or_default().to_owned(), ms))
        })
        .or_else(|| {
            condition_of(before, conditions::EVICTED)
                .filter(|c| c.status == "True")
                .map(|c| (c.reason.clone(), c.last_transition_time.0.as_millisecond()))
        });
    if released && let Some((reason, at)) = evicted {
        metrics::released_after_eviction(&cq, (&reason, at), now_ms);
    }
}

fn conflict_ok(
    r: Result<(), kube::Error>,
    what: &'static str,
    ok_codes: &[u16],
) -> Result<(), Error> {
    match r {
        Err(kube::Error::Api(e)) if ok_codes.contains(&e.code) => Ok(()),
        r => r.map_err(Error::kube(what)),
    }
}

fn params() -> PatchParams {
    PatchParams {
        field_manager: Some(FIELD_MANAGER.into()),
        ..PatchParams::default()
    }
}

/// Sends a planned write ([`writes::plan`]).
async fn send(ctx: &Ctx, ns: &str, job_name: &str, p: writes::Planned) -> Result<(), Error> {
    use writes::{Target, Write};
    let workloads: Api<Workload> = Api::namespaced(ctx.client.clone(), ns);
    let jobs: Api<Job> = Api::namespaced(ctx.client.clone(), ns);
    let (verb, resource) = p.counted_as;
    let r = match p.write {
        Write::Patch {
            target: Target::Job,
            body,
        } => jobs
            .patch(job_name, &params(), &Patch::Merge(&body))
            .await
            .map(|_| ()),
        Write::Patch {
            target: Target::JobStatus,
            body,
        } => jobs
            .patch_status(job_name, &params(), &Patch::Merge(&body))
            .await
            .map(|_| ()),
        Write::Patch {
            target: Target::Workload(name),
            body,
        } => workloads
            .patch(&name, &params(), &Patch::Merge(&body))
            .await
            .map(|_| ()),
        Write::Delete { target, uid } => {
            let dp = DeleteParams {
                preconditions: uid.map(|u| kube::api::Preconditions {
                    uid: Some(u),
                    resource_version: None,
                }),
                ..DeleteParams::background()
            };
            match target {
                Target::Workload(name) => workloads.delete(&name, &dp).await.map(|_| ()),
                Target::Job | Target::JobStatus => jobs.delete(job_name, &dp).await.map(|_| ()),
            }
        }
        Write::Status {
            name,
            resource_version,
            status,
        } => {
            // Counted by the status protocol itself.
            let r = crate::workload_status::write(
                &ctx.client,
                (ns, name.as_str()),
                resource_version.as_deref(),
                status,
                FIELD_MANAGER,
            )
            .await;
            return conflict_ok(r, p.what, p.fine);
        }
    };
    conflict_ok(metrics::write(verb, resource, r), p.what, p.fine)
}

// One match over every action reads as the table of what each does.
#[allow(clippy::too_many_lines)]
async fn apply(
    ctx: &Ctx,
    job: Option<&Job>,
    owned: &[Owned],
    action: Action,
) -> Result<Option<Duration>, Error> {
    let ns = job
        .and_then(|j| j.metadata.namespace.clone())
        .or_else(|| owned.first().and_then(|o| o.wl.metadata.namespace.clone()))
        .unwrap_or_default();
    let workloads: Api<Workload> = Api::namespaced(ctx.client.clone(), &ns);
    let jobs: Api<Job> = Api::namespaced(ctx.client.clone(), &ns);
    let find = |name: &str| {
        owned
            .iter()
            .find(|o| o.wl.metadata.name.as_deref() == Some(name))
    };
    let job_name = job.map(ResourceExt::name_any).unwrap_or_default();
    let job_rv = job.and_then(|j| j.metadata.resource_version.as_ref());
    if let Some(p) = writes::plan(&action, job, |n| find(n).map(|o| &o.wl)) {
        send(ctx, &ns, &job_name, p).await?;
        match &action {
            Action::WorkloadStatus { name, status } => {
                if let Some(o) = find(name) {
                    count_transitions(ctx, &o.wl, status, now_ms());
                }
            }
            Action::SuspendJob => tracing::info!(job = %job_name, "suspended"),
            Action::DeleteJob => {
                tracing::info!(job = %job_name, "deleted: deactivation retention period expired");
            }
            _ => {}
        }
        return Ok(None);
    }
    match action {
        Action::CreateWorkload(wl) => {
            let pp = PostParams {
                field_manager: Some(FIELD_MANAGER.into()),
                ..PostParams::default()
            };
            let r = workloads.create(&pp, &wl).await.map(|created| {
                // Kueue's creation latency, for Jobs seen at their first generation.
                if let Some(job) = job.filter(|j| j.metadata.generation == Some(1))
                    && let (Some(j), Some(w)) = (
                        job.metadata.creation_timestamp.as_ref(),
                        created.metadata.creation_timestamp.as_ref(),
                    )
                {
                    metrics::workload_created("Job", j.0.as_millisecond(), w.0.as_millisecond());
                }
            });
            let r = conflict_ok(
                metrics::write("create", "workloads", r),
                "creating a Workload",
                &[409],
            );
            // Refused (a ResourceQuota on workloads, a webhook down, bad input): the user sees
            // why on the Job; the creation is retried with backoff.
            if let (Err(e), Some(job)) = (&r, job) {
                ctx.shared.events.emit(
                    job,
                    true,
                    "FailedToCreateWorkload",
                    format!(
                        "Workload {} could not be created (retrying): {e}",
                        wl.metadata.name.as_deref().unwrap_or_default()
                    ),
                );
            }
            r?;
            tracing::info!(job = %job_name, workload = ?wl.metadata.name, "created Workload");
        }
        Action::StartJob { workload: name } => {
            let Some(o) = find(&name) else {
                return Ok(None);
            };
            let admission = o.wl.status.as_ref().and_then(|s| s.admission.as_ref());
            let main = admission.and_then(|a| a.pod_set_assignments.first());
            let cluster_queue = admission
                .map(|a| a.cluster_queue.to_string())
                .unwrap_or_default();
            let local_queue =
                o.wl.spec
                    .queue_name
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_default();
            let flavor_names: Vec<String> = main
                .map(|m| m.flavors.values().map(ToString::to_string).collect())
                .unwrap_or_default();
            let flavors: BTreeMap<String, ResourceFlavor> = {
                let ix = ctx
                    .shared
                    .index
                    .lock()
                    .map_err(|_| Error::Serve("cache lock poisoned".into()))?;
                flavor_names
                    .iter()
                    .filter_map(|f| ix.flavors().get(f).map(|rf| (f.clone(), rf.clone())))
                    .collect()
            };
            let admitted = Admitted {
                workload: &name,
                local_queue: &local_queue,
                cluster_queue: &cluster_queue,
                flavors: flavor_names.iter().map(String::as_str).collect(),
                count: main.and_then(|m| m.count),
                pod_set_updates: o
                    .wl
                    .status
                    .iter()
                    .flat_map(|s| s.admission_checks.iter())
                    .flat_map(|c| c.pod_set_updates.iter())
                    .filter(|u| u.name.as_str() == turnstile_api::keys::DEFAULT_POD_SET_NAME)
                    .collect(),
            };
            let Some(job) = job else { return Ok(None) };
            match directives::start_patch(job, &admitted, &flavors) {
                Ok(patch) => {
                    let r = jobs
                        .patch(
                            &job_name,
                            &params(),
                            &Patch::Merge(writes::guarded(patch, job_rv)),
                        )
                        .await;
                    conflict_ok(
                        metrics::write("patch", "jobs", r.map(|_| ())),
                        "starting a Job",
                        &[],
                    )?;
                    tracing::info!(job = %job_name, workload = %name, cluster_queue = %cluster_queue, "started");
                }
                Err(message) => {
                    tracing::warn!(job = %job_name, %message, "cannot start");
                    let a = decide::finish(&o.view(), reasons::FAILED_TO_START, &message, now_ms());
                    return Box::pin(apply(ctx, Some(job), owned, a)).await;
                }
            }
        }
        Action::RestoreJob { workload: name } => {
            let Some(job) = job else { return Ok(None) };
            // The cache drops pod sets: read the template the Workload recorded.
            let full = workloads
                .get(&name)
                .await
                .map_err(Error::kube("reading a Workload's template"))?;
            let Some(ps) = full.spec.pod_sets.first() else {
                return Ok(None);
            };
            let patch = directives::restore_patch(job, &ps.template, ps.count);
            let r = jobs
                .patch(
                    &job_name,
                    &params(),
                    &Patch::Merge(writes::guarded(patch, job_rv)),
                )
                .await;
            conflict_ok(
                metrics::write("patch", "jobs", r.map(|_| ())),
                "restoring a Job's template",
                &[],
            )?;
            tracing::info!(job = %job_name, workload = %name, "template restored");
        }
        Action::Event {
            warning,
            reason,
            note,
        } => {
            if let Some(job) = job {
                ctx.shared.events.emit(job, warning, reason, note);
            }
        }
        Action::RequeueAfterMs(ms) => {
            return Ok(Some(Duration::from_millis(u64::try_from(ms).unwrap_or(0))));
        }
        // Planned above; not planned means nothing to write (no Job, a Workload not seen).
        Action::PatchWorkload { .. }
        | Action::DeleteJob
        | Action::DeleteWorkload { .. }
        | Action::SuspendJob
        | Action::ClearStartTime
        | Action::WorkloadStatus { .. }
        | Action::RemoveFinalizer { .. } => {}
    }
    Ok(None)
}
