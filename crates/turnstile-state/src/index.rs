//! The one authoritative cache: API objects as last seen, the pending queues, and what follows
//! from them (the scheduling snapshot, where each workload stands, ClusterQueue activity).
//! The controller feeds it watch events (`apply_*` / `delete_*`); everything here is synchronous
//! and free of I/O, so it is tested without a cluster.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use turnstile_api as api;
use turnstile_api::keys::{conditions, reasons};
use turnstile_core::model::{Admitted, Workload};
use turnstile_core::queue::PendingQueues;
use turnstile_core::resources::FrAmounts;
use turnstile_core::tree::CohortQuotas;
use turnstile_core::{CycleOutcome, Decision, ObjectKey, Snapshot};

use crate::convert;
use crate::ledger::{Charge, Ledger, Totals};
use crate::lifecycle::{
    condition_of as condition, holds_quota, is_admitted, is_true as condition_true,
};

/// Where a workload stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Standing {
    /// Holds quota in a ClusterQueue.
    Reserving {
        /// The ClusterQueue.
        cluster_queue: String,
    },
    /// Waiting in a ClusterQueue's queue.
    Pending {
        /// The ClusterQueue.
        cluster_queue: String,
    },
    /// Cannot be queued: QuotaReserved=False with this reason and message.
    Blocked {
        /// Condition reason (`Misconfigured`, `Suspended`, `Deactivated`).
        reason: &'static str,
        /// Condition message.
        message: String,
    },
    /// Evicted and released, waiting to be allowed back (`Requeued=False`): in no queue.
    Parked,
    /// Finished or deactivated: holds nothing, waits for nothing.
    Done,
}

/// Something the workload lifecycle requires beyond scheduling (Kueue's workload controller).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Upkeep {
    /// Evict an admitted workload (`Evicted=True` with this reason and message).
    Evict {
        /// Workload key.
        key: ObjectKey,
        /// Eviction reason.
        reason: String,
        /// Eviction message.
        message: String,
    },
    /// Set `spec.priority` to the current value of the WorkloadPriorityClass the workload names.
    SetPriority {
        /// Workload key.
        key: ObjectKey,
        /// The class's value.
        priority: i32,
    },
    /// Show (or withdraw) the `TimeWindowClosing` notice on an admitted workload.
    WindowNotice {
        /// Workload key.
        key: ObjectKey,
        /// When the queue closes (RFC 3339) while a drain is near; `None` withdraws the notice.
        closes_at: Option<String>,
        /// Condition reason.
        reason: &'static str,
        /// Condition message.
        message: String,
    },
    /// Delete a finished workload whose retention (`objectRetentionPolicies.workloads.afterFinished`)
    /// has elapsed.
    DeleteFinished {
        /// Workload key.
        key: ObjectKey,
    },
    /// Let a parked workload back into its queue (`Requeued=True`).
    Requeue {
        /// Workload key.
        key: ObjectKey,
        /// Requeued reason.
        reason: &'static str,
        /// Requeued message.
        message: &'static str,
    },
}

/// Which kind a [`Releasable`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReleasableKind {
    /// A ClusterQueue.
    ClusterQueue,
    /// A ResourceFlavor.
    ResourceFlavor,
}

/// An object being deleted whose in-use finalizer may be removed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Releasable {
    /// Kind.
    pub kind: ReleasableKind,
    /// Name.
    pub name: String,
    /// The other finalizers, kept.
    pub keep: Vec<String>,
    /// The resourceVersion seen (the removal applies only to that version).
    pub resource_version: Option<String>,
}

/// Why a ClusterQueue is not active (the `Active` condition), or `None` when it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Inactive {
    /// Condition reason.
    pub reason: &'static str,
    /// Condition message.
    pub message: String,
}

/// Most finished workloads deleted for their retention per upkeep pass.
pub const RETENTION_BATCH: usize = 50;

/// The cache.
#[derive(Clone, Debug, Default)]
pub struct Index {
    cluster_queues: BTreeMap<String, api::ClusterQueue>,
    /// Path of the first unparsable quantity of each ClusterQueue that has one, found once when the
    /// queue changes (not on every workload placement).
    cluster_queue_errors: BTreeMap<String, String>,
    cohorts: BTreeMap<String, api::Cohort>,
    flavors: BTreeMap<String, api::ResourceFlavor>,
    local_queues: BTreeMap<ObjectKey, api::LocalQueue>,
    namespaces: BTreeMap<String, BTreeMap<String, String>>,
    /// Workloads as last seen, without their pod sets (they live on, converted, in `models`) and
    /// managed fields: the cache holds what it decides from, not every container field.
    workloads: BTreeMap<ObjectKey, api::Workload>,
    /// Each workload converted for the scheduler once, when it changes (its ClusterQueue is set
    /// when it is queued); an error when a quantity in it does not parse.
    models: BTreeMap<ObjectKey, Result<Arc<Workload>, convert::ConvertError>>,
    pending: PendingQueues,
    /// WorkloadPriorityClass values by name.
    priority_classes: BTreeMap<String, i32>,
    /// The scheduling views of the ClusterQueues (converted when a spec changes; `active` is set
    /// per snapshot; absent while the spec does not convert), Cohorts and ResourceFlavors: a
    /// snapshot clones them instead of converting every object every cycle.
    converted_cluster_queues: BTreeMap<
        String,
        (
            turnstile_core::model::ClusterQueue,
            turnstile_core::tree::QueueQuotas,
        ),
    >,
    converted_cohorts: BTreeMap<String, CohortQuotas>,
    converted_flavors: BTreeMap<String, turnstile_core::model::Flavor>,
    /// Admissions decided but not yet seen back from the API (assumed).
    assumed: BTreeMap<ObjectKey, (String, Vec<turnstile_core::model::PodSetAssignment>)>,
    /// Workload keys by the Job reconciler's key ([`job_key_of`]).
    by_job: BTreeMap<ObjectKey, BTreeSet<ObjectKey>>,
    /// Jobs whose Workloads changed since the Job controller last looked.
    dirty_jobs: BTreeSet<ObjectKey>,
    /// AdmissionChecks by name: whether each is active.
    admission_checks: BTreeMap<String, bool>,
    /// Jobs waiting for a prebuilt Workload to appear, by the Workload's key.
    awaited: BTreeMap<ObjectKey, BTreeSet<ObjectKey>>,
    /// Kueue's `resources` configuration (excluded prefixes, transformations).
    resource_rules: convert::ResourceRules,
    /// `waitForPodsReady.requeuingStrategy.timestamp: Creation`: a workload requeued after a
    /// PodsReady timeout keeps its creation time in the queue order (default: its eviction).
    requeue_by_creation: bool,
    /// What each workload holding quota charges, and the per-queue totals.
    ledger: Ledger,
    /// Workload keys by their LocalQueue key (`namespace/queueName`, whether it exists or not):
    /// the workloads a queue, namespace or flavor change may move.
    members: BTreeMap<ObjectKey, BTreeSet<ObjectKey>>,
    /// The LocalQueue key of each workload standing `Pending`, and the count per LocalQueue.
    pending_in: BTreeMap<ObjectKey, ObjectKey>,
    pending_per_local_queue: BTreeMap<ObjectKey, usize>,
    /// Blocked workloads whose QuotaReserved condition does not show why yet.
    unreported: BTreeMap<ObjectKey, (&'static str, String)>,
    /// Workloads with `Requeued=False` (the lifecycle may let them back).
    requeued_false: BTreeSet<ObjectKey>,
    /// Parked workloads waiting out a backoff (`PodsReadyTimeout`, `AdmissionCheck`), by when it
    /// ends (`requeueState.requeueAt`; 0 for none): the lifecycle looks at each when its time comes.
    backoff_ends: BTreeSet<(i64, ObjectKey)>,
    backoff_end_of: BTreeMap<ObjectKey, i64>,
    /// Workloads the lifecycle has to look at again since [`Index::take_upkeep`] last looked:
    /// those that changed, those of a LocalQueue that changed, those whose write failed; and
    /// whether a change (a ClusterQueue's) calls for a look at every one.
    upkeep_due: BTreeSet<ObjectKey>,
    upkeep_sweep: bool,
    /// Workload keys by the WorkloadPriorityClass they name, and those whose priority differs
    /// from their class's value.
    by_priority_class: BTreeMap<String, BTreeSet<ObjectKey>>,
    priority_stale: BTreeSet<ObjectKey>,
    /// ClusterQueues whose cohort tree's set-aside workloads go back to the active queues at the
    /// next cycle (many quota releases between two cycles cost one requeue), or all of them.
    requeue_trees: BTreeSet<String>,
    requeue_every_queue: bool,
    /// Workloads whose admission was refused as stale, with the resourceVersion it was decided on:
    /// kept out of the active queues until a newer version is seen.
    stale: BTreeMap<ObjectKey, String>,
    /// ClusterQueues and LocalQueues whose desired status may have changed since the writer last
    /// looked.
    dirty_cluster_queues: BTreeSet<String>,
    dirty_local_queues: BTreeSet<ObjectKey>,
    /// TimeWindowPolicies' states by name, and their combined effect on each queue they target.
    window_policies: BTreeMap<String, WindowPolicy>,
    window_effects: BTreeMap<WindowTarget, WindowEffect>,
    /// `objectRetentionPolicies.workloads.afterFinished`, in milliseconds.
    retain_finished_ms: Option<i64>,
    /// Finished workloads by when they finished (the `Finished` condition's time): the retention
    /// looks only at those whose time has come.
    finished_by_time: BTreeSet<(i64, ObjectKey)>,
    finished_at: BTreeMap<ObjectKey, (i64, ObjectKey)>,
    /// Finished workloads per LocalQueue key (Kueue's finished-workload gauges).
    finished_per_local_queue: BTreeMap<ObjectKey, usize>,
    /// Held workloads whose hold is an eviction being written: preemption candidates already
    /// on their way out.
    evicting: BTreeSet<ObjectKey>,
}

/// The Job reconciler's key for a Workload: the `namespace/name` of the batch/v1 Job controlling
/// it, or, for a Workload made for a Job (it carries `kueue.x-k8s.io/job-uid`) that has lost its
/// controller (the Job was deleted with `propagationPolicy: Orphan`, or the reference was edited
/// away), `namespace/job-uid:<uid>`. No Job can have that name (`:` is not allowed in names), so
/// the reconciler finds no Job under it and finishes the Workload as an orphan.
pub fn job_key_of(wl: &api::Workload) -> Option<ObjectKey> {
    controlling_job(wl).or_else(|| {
        let uid = wl
            .metadata
            .labels
            .as_ref()?
            .get(api::keys::labels::JOB_UID)?;
        Some(ObjectKey::new(
            wl.metadata.namespace.as_deref().unwrap_or_default(),
            &format!("job-uid:{uid}"),
        ))
    })
}

/// The owner reference of the batch/v1 Job controlling a Workload, if any (the one proof that a
/// Workload is a Job's: labels and other owner references prove nothing).
pub fn job_owner(
    wl: &api::Workload,
) -> Option<&k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference> {
    wl.metadata
        .owner_references
        .as_ref()?
        .iter()
        .find(|r| r.controller == Some(true) && r.kind == "Job" && r.api_version == "batch/v1")
}

/// The `namespace/name` of the batch/v1 Job controlling a Workload, if any.
pub fn controlling_job(wl: &api::Workload) -> Option<ObjectKey> {
    let r = job_owner(wl)?;
    Some(ObjectKey::new(
        wl.metadata.namespace.as_deref().unwrap_or_default(),
        &r.name,
    ))
}

/// The LocalQueue key (`namespace/queueName`) a Workload names.
fn local_queue_key_of(wl: &api::Workload) -> ObjectKey {
    ObjectKey::new(
        wl.metadata.namespace.as_deref().unwrap_or_default(),
        wl.spec
            .queue_name
            .as_ref()
            .map(api::LocalQueueName::as_str)
            .unwrap_or_default(),
    )
}

/// The cache's key of a namespaced object: `namespace/name`.
pub fn key_of(meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> ObjectKey {
    ObjectKey::new(
        meta.namespace.as_deref().unwrap_or_default(),
        meta.name.as_deref().unwrap_or_default(),
    )
}

fn millis(t: Option<&k8s_openapi::apimachinery::pkg::apis::meta::v1::Time>) -> i64 {
    t.map_or(0, |t| t.0.as_millisecond())
}

impl Index {
    /// An empty cache that accounts requests under `rules` (set before any workload arrives).
    pub fn with_resource_rules(rules: convert::ResourceRules) -> Self {
        Self {
            resource_rules: rules,
            ..Self::default()
        }
    }

    /// Orders workloads requeued after a PodsReady timeout by their creation rather than their
    /// eviction (`waitForPodsReady.requeuingStrategy.timestamp: Creation`); set before any
    /// workload arrives.
    #[must_use]
    pub fn with_requeuing_by_creation(mut self, by_creation: bool) -> Self {
        self.requeue_by_creation = by_creation;
        self
    }

    /// Deletes finished workloads this long after they finished (Kueue's
    /// `objectRetentionPolicies.workloads.afterFinished`); set before any workload arrives.
    #[must_use]
    pub fn with_finished_retention(mut self, after: Option<std::time::Duration>) -> Self {
        self.retain_finished_ms = after.map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        self
    }

    /// Files (or unfiles) workload `key` among the parked ones waiting out a backoff, by when it
    /// ends.
    fn track_backoff(&mut self, key: &ObjectKey) {
        let now = self.workloads.get(key).and_then(|w| {
            let c = condition(w, conditions::REQUEUED).filter(|c| c.status == "False")?;
            (c.reason == reasons::PODS_READY_TIMEOUT || c.reason == reasons::ADMISSION_CHECK).then(
                || {
                    millis(
                        w.status
                            .as_ref()
                            .and_then(|s| s.requeue_state.as_ref())
                            .and_then(|rs| rs.requeue_at.as_ref()),
                    )
                },
            )
        });
        if self.backoff_end_of.get(key) == now.as_ref() {
            return;
        }
        if let Some(t) = self.backoff_end_of.remove(key) {
            self.backoff_ends.remove(&(t, key.clone()));
        }
        if let Some(t) = now {
            self.backoff_ends.insert((t, key.clone()));
            self.backoff_end_of.insert(key.clone(), t);
        }
    }

    /// Files (or unfiles) workload `key` among the finished ones, by the time it finished.
    fn track_finished(&mut self, key: &ObjectKey) {
        let now = self.workloads.get(key).and_then(|w| {
            let c = condition(w, conditions::FINISHED).filter(|c| c.status == "True")?;
            Some((
                c.last_transition_time.0.as_millisecond(),
                local_queue_key_of(w),
            ))
        });
        if self.finished_at.get(key) == now.as_ref() {
            return;
        }
        if let Some((t, lq)) = self.finished_at.remove(key) {
            self.finished_by_time.remove(&(t, key.clone()));
            if let Some(n) = self.finished_per_local_queue.get_mut(&lq) {
                *n -= 1;
                if *n == 0 {
                    self.finished_per_local_queue.remove(&lq);
                }
            }
        }
        if let Some((t, lq)) = now {
            self.finished_by_time.insert((t, key.clone()));
            *self.finished_per_local_queue.entry(lq.clone()).or_default() += 1;
            self.finished_at.insert(key.clone(), (t, lq));
        }
    }

    /// Finished workloads (still present) per ClusterQueue and per LocalQueue key, as Kueue's
    /// `kueue_finished_workloads` and `kueue_local_queue_finished_workloads` count them: by the
    /// LocalQueue a workload names, and for a ClusterQueue through its LocalQueues.
    pub fn finished_counts(&self) -> (BTreeMap<String, usize>, &BTreeMap<ObjectKey, usize>) {
        let mut per_cq: BTreeMap<String, usize> = BTreeMap::new();
        for (lq, n) in &self.finished_per_local_queue {
            if let Some(cq) = self.cluster_queue_of(lq) {
                *per_cq.entry(cq).or_default() += n;
            }
        }
        (per_cq, &self.finished_per_local_queue)
    }

    /// Finished workloads whose retention has elapsed at `now_ms` and that are not being
    /// deleted yet, oldest first, at most [`RETENTION_BATCH`] (a large backlog, e.g. when the
    /// retention is first turned on, is worked off a batch per pass, never holding up scheduling
    /// for long).
    pub(super) fn retention_expired(&self, now_ms: i64) -> Vec<ObjectKey> {
        let Some(keep) = self.retain_finished_ms else {
            return Vec::new();
        };
        self.finished_by_time
            .iter()
            .take_while(|(t, _)| t.saturating_add(keep) <= now_ms)
            .filter(|(_, k)| {
                !self.stale.contains_key(k)
                    && self
                        .workloads
                        .get(k)
                        .is_some_and(|w| w.metadata.deletion_timestamp.is_none())
            })
            .take(RETENTION_BATCH)
            .map(|(_, k)| k.clone())
            .collect()
    }

    /// Records a ClusterQueue. Only a change of its spec (or its deletion starting) moves
    /// workloads, and only its own; a status write (Turnstile's own, coming back) moves none.
    pub fn apply_cluster_queue(&mut self, cq: api::ClusterQueue) {
        let name = cq.metadata.name.clone().unwrap_or_default();
        self.dirty_cluster_queues.insert(name.clone());
        let old = self.cluster_queues.get(&name);
        let changed = old.is_none_or(|o| {
            o.spec != cq.spec || o.metadata.deletion_timestamp != cq.metadata.deletion_timestamp
        });
        let old_tree = old.map(|_| self.cohort_chain(&name).last().cloned());
        let relabelled = old.is_none_or(|o| o.metadata.labels != cq.metadata.labels);
        if !changed {
            self.cluster_queues.insert(name, cq);
            if relabelled && self.windows_select_by_label() {
                self.reresolve_windows();
            }
            return;
        }
        match convert::cluster_queue(&cq, true) {
            Ok(view) => {
                self.cluster_queue_errors.remove(&name);
                self.converted_cluster_queues.insert(name.clone(), view);
            }
            Err(e) => {
                self.cluster_queue_errors.insert(name.clone(), e.path);
                self.converted_cluster_queues.remove(&name);
            }
        }
        self.cluster_queues.insert(name.clone(), cq);
        if relabelled && self.windows_select_by_label() {
            self.reresolve_windows();
        }
        self.replace_cluster_queue_members(&name);
        // Quota may have grown here or, moved to another cohort, in the tree it left.
        self.requeue_tree_of(&name);
        if old_tree.flatten() != self.cohort_chain(&name).last().cloned() {
            self.requeue_every_queue = true;
        }
    }

    /// Forgets a ClusterQueue.
    pub fn delete_cluster_queue(&mut self, name: &str) {
        self.cluster_queues.remove(name);
        self.converted_cluster_queues.remove(name);
        self.cluster_queue_errors.remove(name);
        self.dirty_cluster_queues.remove(name);
        if self.windows_select_by_label() {
            self.reresolve_windows();
        }
        self.replace_cluster_queue_members(name);
        self.requeue_every_queue = true;
    }

    /// Records a Cohort; a change of its spec may let set-aside workloads in.
    pub fn apply_cohort(&mut self, c: api::Cohort) {
        let name = c.metadata.name.clone().unwrap_or_default();
        let changed = self.cohorts.get(&name).is_none_or(|o| o.spec != c.spec);
        match convert::cohort(&c) {
            Ok(q) => self.converted_cohorts.insert(name.clone(), q),
            Err(_) => self.converted_cohorts.remove(&name),
        };
        self.cohorts.insert(name, c);
        if changed {
            self.requeue_every_queue = true;
        }
    }

    /// Forgets a Cohort.
    pub fn delete_cohort(&mut self, name: &str) {
        self.cohorts.remove(name);
        self.converted_cohorts.remove(name);
        self.requeue_every_queue = true;
    }

    /// Records a WorkloadPriorityClass (by value, like every other watch callback).
    #[allow(clippy::needless_pass_by_value)]
    pub fn apply_priority_class(&mut self, c: api::WorkloadPriorityClass) {
        let name = c.metadata.name.clone().unwrap_or_default();
        if self.priority_classes.insert(name.clone(), c.spec.value) != Some(c.spec.value) {
            self.restale_priority_class(&name);
        }
    }

    /// Forgets a WorkloadPriorityClass (workloads keep the priority they have).
    pub fn delete_priority_class(&mut self, name: &str) {
        if self.priority_classes.remove(name).is_some() {
            self.restale_priority_class(name);
        }
    }

    /// Re-judges whether the workloads naming WorkloadPriorityClass `name` carry its value.
    fn restale_priority_class(&mut self, name: &str) {
        let keys: Vec<ObjectKey> = self
            .by_priority_class
            .get(name)
            .into_iter()
            .flatten()
            .cloned()
            .collect();
        for k in keys {
            self.restale_priority(&k);
        }
    }

    /// The WorkloadPriorityClass a workload names, if any.
    fn priority_class_of(wl: &api::Workload) -> Option<&str> {
        wl.spec
            .priority_class_ref
            .as_ref()
            .filter(|r| r.kind == api::PriorityClassKind::WorkloadPriorityClass)
            .map(|r| r.name.as_str())
    }

    fn restale_priority(&mut self, key: &ObjectKey) {
        let stale = self.workloads.get(key).is_some_and(|wl| {
            !condition_true(wl, conditions::FINISHED)
                && Self::priority_class_of(wl)
                    .and_then(|c| self.priority_classes.get(c))
                    .is_some_and(|v| wl.spec.priority != Some(*v))
        });
        if stale {
            self.priority_stale.insert(key.clone());
        } else {
            self.priority_stale.remove(key);
        }
    }

    /// Records a ResourceFlavor. A new one may make ClusterQueues naming it active; a spec
    /// change (labels, taints) may let set-aside workloads in.
    pub fn apply_flavor(&mut self, rf: api::ResourceFlavor) {
        let name = rf.metadata.name.clone().unwrap_or_default();
        self.converted_flavors
            .insert(name.clone(), convert::flavor(&rf));
        let old = self.flavors.insert(name.clone(), rf);
        let (new, changed) = match (&old, self.flavors.get(&name)) {
            (None, _) => (true, true),
            (Some(o), Some(n)) => (false, o.spec != n.spec),
            (Some(_), None) => (false, false),
        };
        if new {
            self.replace_flavor_users(&name);
        }
        if changed {
            self.requeue_every_queue = true;
        }
    }

    /// Forgets a ResourceFlavor (ClusterQueues naming it become inactive).
    pub fn delete_flavor(&mut self, name: &str) {
        self.converted_flavors.remove(name);
        if self.flavors.remove(name).is_some() {
            self.replace_flavor_users(name);
        }
    }

    /// Records an AdmissionCheck; a ClusterQueue naming a missing or inactive one cannot admit.
    // By value like every `apply_*`: the watches hand each object over.
    #[allow(clippy::needless_pass_by_value)]
    pub fn apply_admission_check(&mut self, ac: api::AdmissionCheck) {
        let name = ac.metadata.name.clone().unwrap_or_default();
        if self.admission_checks.insert(name.clone(), ac.is_active()) != Some(ac.is_active()) {
            // Whether the ClusterQueues naming it are active changed: their workloads move
            // between blocked and pending.
            self.replace_check_users(&name);
            self.requeue_every_queue = true;
        }
    }

    /// Forgets an AdmissionCheck.
    pub fn delete_admission_check(&mut self, name: &str) {
        if self.admission_checks.remove(name).is_some() {
            self.replace_check_users(name);
        }
    }

    /// The AdmissionChecks of ClusterQueue `cq` that apply to a workload assigned `flavors`
    /// (a rule with `onFlavors` applies only when one of them is assigned), sorted by name.
    pub fn checks_for<'f>(
        &self,
        cq: &str,
        flavors: impl IntoIterator<Item = &'f str>,
    ) -> Vec<String> {
        let flavors: BTreeSet<&str> = flavors.into_iter().collect();
        let mut out: Vec<String> = self
            .cluster_queues
            .get(cq)
            .and_then(|q| q.spec.admission_checks_strategy.as_ref())
            .map(|s| {
                s.admission_checks
                    .iter()
                    .filter(|r| {
                        r.on_flavors.is_empty()
                            || r.on_flavors.iter().any(|f| flavors.contains(f.as_str()))
                    })
                    .map(|r| r.name.to_string())
                    .collect()
            })
            .unwrap_or_default();
        out.sort();
        out.dedup();
        out
    }

    /// Whether AdmissionChecks apply to an admission to `cq` with `assignment`: the reservation is
    /// then the first step only (the checks decide when it is admitted).
    pub fn admission_has_checks(
        &self,
        cq: &str,
        assignment: &[turnstile_core::model::PodSetAssignment],
    ) -> bool {
        let flavors = assignment
            .iter()
            .flat_map(|ps| ps.flavors.values().map(String::as_str));
        !self.checks_for(cq, flavors).is_empty()
    }

    /// The AdmissionChecks that apply to a Workload under its current reservation (none without
    /// one): its ClusterQueue's, for the flavors it was assigned.
    pub fn checks_of_workload(&self, wl: &api::Workload) -> Vec<String> {
        let Some(adm) = wl.status.as_ref().and_then(|s| s.admission.as_ref()) else {
            return Vec::new();
        };
        let flavors = adm
            .pod_set_assignments
            .iter()
            .flat_map(|p| p.flavors.values().map(api::ResourceFlavorReference::as_str));
        self.checks_for(adm.cluster_queue.as_str(), flavors)
    }

    /// Records a LocalQueue; a change of its spec moves its own workloads only.
    pub fn apply_local_queue(&mut self, lq: api::LocalQueue) {
        let key = key_of(&lq.metadata);
        self.dirty_local_queues.insert(key.clone());
        let changed = self
            .local_queues
            .get(&key)
            .is_none_or(|o| o.spec != lq.spec);
        self.local_queues.insert(key.clone(), lq);
        if changed {
            self.replace_local_queue_members(&key);
        }
    }

    /// Forgets a LocalQueue.
    pub fn delete_local_queue(&mut self, key: &ObjectKey) {
        self.local_queues.remove(key);
        self.dirty_local_queues.remove(key);
        self.replace_local_queue_members(key);
    }

    /// Records a Namespace's labels; a change moves the workloads of that namespace only.
    pub fn apply_namespace(&mut self, name: &str, labels: BTreeMap<String, String>) {
        let changed = self.namespaces.get(name) != Some(&labels);
        self.namespaces.insert(name.to_owned(), labels);
        if changed {
            let prefix = format!("{name}/");
            let queues: Vec<ObjectKey> = self
                .members
                .range::<str, _>((
                    std::ops::Bound::Included(prefix.as_str()),
                    std::ops::Bound::Unbounded,
                ))
                .take_while(|(k, _)| k.starts_with(&prefix))
                .map(|(k, _)| k.clone())
                .collect();
            for q in queues {
                self.replace_local_queue_members(&q);
            }
        }
    }

    /// Records a Workload (as the API has it now). A workload that stops holding quota frees room
    /// in its cohort tree, so the tree's set-aside workloads are tried again.
    pub fn apply_workload(&mut self, wl: api::Workload) {
        // One key per workload for its whole life: every map, queue and model shares the one
        // filed when it was first seen.
        let key = key_of(&wl.metadata);
        let key = self
            .workloads
            .get_key_value(key.as_str())
            .map_or(key, |(k, _)| k.clone());
        let was = self.standing(&key);
        if wl.status.as_ref().is_some_and(|s| s.admission.is_some())
            || condition_true(&wl, conditions::FINISHED)
        {
            self.assumed.remove(&key);
        }
        let mut wl = wl;
        let model = convert::workload(
            &wl,
            "",
            millis(wl.metadata.creation_timestamp.as_ref()),
            &self.resource_rules,
        )
        .map(|mut m| {
            m.key = key.clone();
            Arc::new(m)
        });
        // Pod sets (large even when empty), managed fields, annotations and labels (but the
        // Job UID) are not needed once converted; a map with even one entry costs a whole node.
        wl.spec.pod_sets = Vec::new();
        wl.metadata.managed_fields = None;
        wl.metadata.annotations = None;
        wl.metadata.labels = wl.metadata.labels.take().and_then(|mut l| {
            let uid = l.remove(api::keys::labels::JOB_UID)?;
            Some([(api::keys::labels::JOB_UID.to_owned(), uid)].into())
        });
        self.models.insert(key.clone(), model);
        let owner = job_key_of(&wl);
        let reclaimable = |w: &api::Workload| w.status.as_ref().map(|s| s.reclaimable_pods.clone());
        let mut reclaimed = false;
        let now_reclaimable = reclaimable(&wl);
        let requeued_false =
            condition(&wl, conditions::REQUEUED).is_some_and(|c| c.status == "False");
        let class = Self::priority_class_of(&wl).map(str::to_owned);
        self.link_members(&key, Some(&wl));
        if self.stale.get(&key).map(String::as_str) != wl.metadata.resource_version.as_deref() {
            self.stale.remove(&key);
            self.evicting.remove(&key);
        }
        if let Some(old) = self.workloads.insert(key.clone(), wl) {
            reclaimed = reclaimable(&old) != now_reclaimable;
            self.unlink_job(&key, &old);
            if let Some(c) = Self::priority_class_of(&old) {
                self.unlink_priority_class(c, &key);
            }
        }
        if let Some(c) = class {
            self.by_priority_class
                .entry(c)
                .or_default()
                .insert(key.clone());
        }
        self.track_finished(&key);
        self.restale_priority(&key);
        if requeued_false {
            self.requeued_false.insert(key.clone());
        } else {
            self.requeued_false.remove(&key);
        }
        self.track_backoff(&key);
        self.upkeep_due.insert(key.clone());
        if let Some(job) = owner {
            self.by_job
                .entry(job.clone())
                .or_default()
                .insert(key.clone());
            self.dirty_jobs.insert(job);
        }
        if let Some(jobs) = self.awaited.remove(&key) {
            self.dirty_jobs.extend(jobs);
        }
        self.place(&key);
        self.recharge(&key);
        // Quota given back: the workload stopped holding it, or reported pods reclaimable.
        if let Some(Standing::Reserving { cluster_queue }) = was
            && (reclaimed || !matches!(self.standing(&key), Some(Standing::Reserving { .. })))
        {
            self.requeue_tree_of(&cluster_queue);
        }
    }

    /// How a Workload would be converted for scheduling under this cache's resource rules (for
    /// comparing a Job with its Workload by accounted requests).
    pub fn model_of(&self, wl: &api::Workload) -> Result<Workload, convert::ConvertError> {
        convert::workload(wl, "", 0, &self.resource_rules)
    }

    /// Forgets a Workload.
    pub fn delete_workload(&mut self, key: &ObjectKey) {
        let was = self.standing(key);
        self.link_members(key, None);
        if let Some(old) = self.workloads.remove(key) {
            self.unlink_job(key, &old);
            if let Some(c) = Self::priority_class_of(&old) {
                self.unlink_priority_class(c, key);
            }
        }
        self.track_finished(key);
        self.models.remove(key);
        self.assumed.remove(key);
        self.requeued_false.remove(key);
        self.track_backoff(key);
        self.upkeep_due.remove(key);
        self.priority_stale.remove(key);
        self.stale.remove(key);
        self.evicting.remove(key);
        // Unknown now: out of the pending queues, the counts and the ledger.
        self.place(key);
        self.recharge(key);
        if let Some(Standing::Reserving { cluster_queue }) = was {
            self.requeue_tree_of(&cluster_queue);
        }
    }

    /// Files workload `key` under the LocalQueue `wl` names (`None`: forgotten), out of the one
    /// it named before.
    fn link_members(&mut self, key: &ObjectKey, wl: Option<&api::Workload>) {
        let old = self.workloads.get(key).map(local_queue_key_of);
        let new = wl.map(local_queue_key_of);
        if old == new {
            return;
        }
        if let Some(old) = old
            && let Some(set) = self.members.get_mut(&old)
        {
            set.remove(key);
            if set.is_empty() {
                self.members.remove(&old);
            }
        }
        if let Some(new) = new {
            self.members.entry(new).or_default().insert(key.clone());
        }
    }

    fn unlink_priority_class(&mut self, class: &str, key: &ObjectKey) {
        if let Some(set) = self.by_priority_class.get_mut(class) {
            set.remove(key);
            if set.is_empty() {
                self.by_priority_class.remove(class);
            }
        }
    }

    /// ResourceFlavors by name.
    pub fn flavors(&self) -> &BTreeMap<String, api::ResourceFlavor> {
        &self.flavors
    }

    /// The value of a WorkloadPriorityClass.
    pub fn priority_class_value(&self, name: &str) -> Option<i32> {
        self.priority_classes.get(name).copied()
    }

    /// A Namespace's labels (`None`: not seen).
    pub fn namespace_labels(&self, name: &str) -> Option<&BTreeMap<String, String>> {
        self.namespaces.get(name)
    }

    /// Undoes an assumed admission whose write failed; the workload is pending again.
    pub fn forget(&mut self, key: &ObjectKey) {
        if self.assumed.remove(key).is_some() {
            self.place(key);
            self.recharge(key);
        }
    }

    /// Undoes an assumed admission refused because the Workload changed since it was seen at
    /// `resource_version` (409 Conflict): the workload stays out of the active queues until the
    /// cache sees its newer version, so that it is not decided again on the same stale view.
    pub fn forget_stale(&mut self, key: &ObjectKey, resource_version: Option<&str>) {
        self.hold_until_newer(key, resource_version);
        self.forget(key);
    }

    /// Keeps workload `key` out of the active queues while the cache still has it at
    /// `resource_version`: a status write based on that version is on its way, and deciding again
    /// on it would only be refused. The next version seen lets it back.
    pub fn hold_until_newer(&mut self, key: &ObjectKey, resource_version: Option<&str>) {
        if let Some(rv) = resource_version
            && self
                .workloads
                .get(key)
                .and_then(|w| w.metadata.resource_version.as_deref())
                == Some(rv)
        {
            self.stale.insert(key.clone(), rv.to_owned());
            self.place(key);
        }
    }

    /// [`Index::hold_until_newer`] for an eviction being written: until the newer version is
    /// seen, snapshots show the workload as evicted (preemptors take it first, as Kueue's
    /// candidate order takes evicted workloads first, instead of choosing new victims).
    pub fn hold_eviction(&mut self, key: &ObjectKey, resource_version: Option<&str>) {
        self.hold_until_newer(key, resource_version);
        if self.stale.contains_key(key) {
            self.evicting.insert(key.clone());
        }
    }

    /// Whether workload `key` is held (a write based on the version the cache has is on its way).
    pub fn is_held(&self, key: &str) -> bool {
        self.stale.contains_key(key)
    }

    /// Lets a held workload back at once (the write it waited for failed).
    pub fn release_hold(&mut self, key: &ObjectKey) {
        self.upkeep_due.insert(key.clone());
        self.evicting.remove(key);
        if self.stale.remove(key).is_some() {
            self.place(key);
        }
    }

    /// Applies a cycle: admissions are assumed at once (the next snapshot already charges them),
    /// set-aside workloads leave the active queue.
    pub fn apply_outcome(&mut self, outcome: &CycleOutcome) {
        self.pending.apply(outcome);
        for d in &outcome.decisions {
            if let Decision::Admit {
                key,
                cluster_queue,
                assignment,
            } = d
            {
                self.assumed
                    .insert(key.clone(), (cluster_queue.clone(), assignment.clone()));
                self.place(key);
                self.recharge(key);
            }
        }
    }

    /// The scheduling snapshot of the current state (assumed admissions included).
    pub fn snapshot(&self) -> Snapshot {
        let mut queues = Vec::new();
        for (name, (view, quotas)) in &self.converted_cluster_queues {
            let mut view = view.clone();
            view.active = self.inactive(name).is_none();
            queues.push((view, quotas.clone()));
        }
        let cohorts = &self.converted_cohorts;
        let flavors = self.converted_flavors.values().cloned().collect();
        let mut admitted = Vec::new();
        for (key, charge) in self.ledger.holders() {
            let Some(wl) = self.workloads.get(key) else {
                continue;
            };
            let cluster_queue = charge.cluster_queue.clone();
            // Converted when the holder last changed (the ledger keeps it), not per cycle.
            let Some(assignment) = charge.assignment.clone() else {
                continue;
            };
            let reserved_at = wl
                .status
                .as_ref()
                .and_then(|s| {
                    s.conditions
                        .iter()
                        .find(|c| c.type_ == conditions::QUOTA_RESERVED)
                })
                .map_or(0, |c| c.last_transition_time.0.as_millisecond());
            let Some(Ok(model)) = self.models.get(key) else {
                continue;
            };
            let mut workload = (**model).clone();
            workload.cluster_queue = cluster_queue;
            admitted.push(Admitted {
                workload,
                assignment,
                reserved_at,
                // Evicted, or held while a write about it is on its way (a preemption victim
                // whose eviction is being written): preemptors take such workloads first (as
                // Kueue's candidate order does) instead of choosing new victims.
                evicted: condition_true(wl, conditions::EVICTED) || self.evicting.contains(key),
            });
        }
        let mut snap = Snapshot::new(queues, cohorts, flavors, admitted);
        let weight = |fs: Option<&api::FairSharing>| {
            fs.and_then(|f| f.weight.as_ref())
                .and_then(|w| turnstile_core::Quantity::parse(w.as_str()).ok())
                .map(|q| {
                    #[allow(clippy::cast_precision_loss)]
                    let w = q.nanos() as f64 / 1e9;
                    w
                })
        };
        for (n, cq) in &self.cluster_queues {
            if let Some(w) = weight(cq.spec.fair_sharing.as_ref()) {
                snap.weights.insert(format!("q/{n}"), w);
            }
        }
        for (n, c) in &self.cohorts {
            if let Some(w) = weight(c.spec.fair_sharing.as_ref()) {
                snap.weights.insert(format!("c/{n}"), w);
            }
        }
        snap
    }

    /// The pending workloads the next cycle may consider (set-aside workloads whose tree gave
    /// quota back since the last cycle are active again first).
    pub fn heads(&mut self, now_ms: i64) -> BTreeMap<String, Vec<Workload>> {
        self.flush_requeues();
        self.pending.heads(now_ms, usize::MAX)
    }

    /// The pending workloads a cycle with evaluation budget `budget` will consider (round-robin).
    pub fn heads_limited(&mut self, now_ms: i64, budget: usize) -> BTreeMap<String, Vec<Workload>> {
        self.flush_requeues();
        self.pending.heads_budget(now_ms, budget)
    }

    /// Workloads that cannot be queued, with the QuotaReserved=False reason and message they
    /// should show, when they do not show it yet (kept as workloads move, never found by a scan).
    pub fn blocked_to_report(&self) -> Vec<(ObjectKey, &'static str, String)> {
        self.unreported
            .iter()
            .map(|(k, (r, m))| (k.clone(), *r, m.clone()))
            .collect()
    }

    /// ClusterQueues and LocalQueues whose desired status may differ from the stored one since
    /// the last call: `(ClusterQueue names, LocalQueue keys)`.
    pub fn take_dirty_queues(&mut self) -> (BTreeSet<String>, BTreeSet<ObjectKey>) {
        (
            std::mem::take(&mut self.dirty_cluster_queues),
            std::mem::take(&mut self.dirty_local_queues),
        )
    }

    /// Marks queues to be looked at again (their status write was put off).
    pub fn mark_dirty_queues(
        &mut self,
        cluster_queues: impl IntoIterator<Item = String>,
        local_queues: impl IntoIterator<Item = ObjectKey>,
    ) {
        self.dirty_cluster_queues.extend(cluster_queues);
        self.dirty_local_queues.extend(local_queues);
    }

    /// `spec.podSets[].count` of pod set `pod_set` of Workload `key`, from its model (the stored
    /// Workload has no pod sets).
    fn spec_count(&self, key: &str, pod_set: &str) -> Option<i32> {
        let model = self.models.get(key)?.as_ref().ok()?;
        model
            .pod_sets
            .iter()
            .find(|p| p.name == pod_set)
            .map(|p| p.count)
    }

    /// Names of the ClusterQueues and keys of the LocalQueues known.
    pub fn queue_names(&self) -> (Vec<String>, Vec<ObjectKey>) {
        (
            self.cluster_queues.keys().cloned().collect(),
            self.local_queues.keys().cloned().collect(),
        )
    }

    /// Names of the Cohort objects.
    pub fn cohort_names(&self) -> Vec<String> {
        self.cohorts.keys().cloned().collect()
    }

    /// The stored Cohort.
    pub fn cohort(&self, name: &str) -> Option<&api::Cohort> {
        self.cohorts.get(name)
    }

    /// The stored status of a ClusterQueue.
    pub fn cluster_queue(&self, name: &str) -> Option<&api::ClusterQueue> {
        self.cluster_queues.get(name)
    }

    /// The stored LocalQueue.
    pub fn local_queue(&self, key: &str) -> Option<&api::LocalQueue> {
        self.local_queues.get(key)
    }

    /// A workload as last seen.
    pub fn workload(&self, key: &str) -> Option<&api::Workload> {
        self.workloads.get(key)
    }

    /// `/<root>/…/<cohort>/<cq>`: where a ClusterQueue sits in its cohort tree.
    pub fn queue_path(&self, cq: &str) -> String {
        let mut parts: Vec<String> = self.cohort_chain(cq);
        parts.reverse();
        parts.push(cq.to_owned());
        format!("/{}", parts.join("/"))
    }

    /// Whether every active, unfinished workload holding quota (assumed ones included) has its
    /// pods ready: Kueue's `waitForPodsReady.blockAdmission` admits only then. Walks the holders.
    pub fn all_holders_ready(&self) -> bool {
        use crate::lifecycle::is_true;
        self.ledger.holders().all(|(key, _)| {
            self.workloads.get(key).is_none_or(|wl| {
                !wl.spec.is_active()
                    || is_true(wl, conditions::FINISHED)
                    || is_true(wl, conditions::PODS_READY)
            })
        })
    }

    /// The cohorts above a ClusterQueue, nearest first (empty outside any cohort).
    pub fn cohorts_above(&self, cq: &str) -> Vec<String> {
        self.cohort_chain(cq)
    }

    /// The cohorts above a Cohort, nearest first.
    pub fn cohort_parents(&self, cohort: &str) -> Vec<String> {
        let mut chain: Vec<String> = Vec::new();
        let mut cur = self
            .cohorts
            .get(cohort)
            .and_then(|c| c.spec.parent_name.as_ref())
            .map(ToString::to_string)
            .filter(|c| !c.is_empty());
        while let Some(c) = cur {
            if chain.contains(&c) || c == cohort {
                break;
            }
            cur = self
                .cohorts
                .get(&c)
                .and_then(|x| x.spec.parent_name.as_ref())
                .map(ToString::to_string)
                .filter(|p| !p.is_empty());
            chain.push(c);
        }
        chain
    }

    /// Pending workloads per LocalQueue key (`namespace/name`): `(active, inadmissible)`. Walks
    /// the pending workloads once (a scrape's cost, as the ClusterQueue split's).
    pub fn local_queue_pending_split(&self) -> BTreeMap<ObjectKey, (usize, usize)> {
        let mut out: BTreeMap<ObjectKey, (usize, usize)> = BTreeMap::new();
        for (key, inadmissible) in self.pending.all_items() {
            let Some(wl) = self.workloads.get(key) else {
                continue;
            };
            let e = out.entry(local_queue_key_of(wl)).or_default();
            if inadmissible {
                e.1 += 1;
            } else {
                e.0 += 1;
            }
        }
        out
    }

    /// Pending workloads of a ClusterQueue.
    pub fn pending_count(&self, cq: &str) -> usize {
        self.pending.pending_count(cq)
    }

    /// The pending workloads of ClusterQueue `cq` (what Kueue's visibility API lists), unsorted,
    /// for a caller that must not hold the cache long: each pending workload's scheduling model
    /// (its priority and queue order; sort with `turnstile_core::queue::sort_in_queue_order`) and
    /// the Workload's identity (name, namespace, creation time, owners, queue name: a small
    /// copy), or `None` when there is no such ClusterQueue.
    pub fn pending_members(&self, cq: &str) -> Option<Vec<(Arc<Workload>, api::Workload)>> {
        if !self.cluster_queues.contains_key(cq) {
            return None;
        }
        Some(
            self.pending
                .members(cq)
                .into_iter()
                .filter_map(|m| {
                    let w = self.workloads.get(&m.key)?;
                    let mut id = api::Workload::default();
                    id.metadata.name.clone_from(&w.metadata.name);
                    id.metadata.namespace.clone_from(&w.metadata.namespace);
                    id.metadata
                        .creation_timestamp
                        .clone_from(&w.metadata.creation_timestamp);
                    id.metadata
                        .owner_references
                        .clone_from(&w.metadata.owner_references);
                    id.spec.queue_name.clone_from(&w.spec.queue_name);
                    Some((m, id))
                })
                .collect(),
        )
    }

    /// The ClusterQueue LocalQueue `key` (`namespace/name`) points at, when the LocalQueue exists.
    pub fn cluster_queue_of(&self, local_queue: &str) -> Option<String> {
        self.local_queues
            .get(local_queue)
            .and_then(|lq| lq.spec.cluster_queue.as_ref())
            .map(ToString::to_string)
    }

    /// What the pending workloads of a ClusterQueue request in all, per resource in scheduling
    /// units (cpu in milli-units); kept as workloads come and go, not summed here.
    pub fn pending_requests(&self, cq: &str) -> Option<&BTreeMap<String, i64>> {
        self.pending.pending_requests(cq)
    }

    /// The nominal quota of every Cohort's subtree (its own and what its children lend it,
    /// Kueue's `SubtreeQuota`) per flavor-resource in scheduling units, with the ClusterQueues in
    /// it (at any depth). Cohorts on a parent cycle are left out. Built from the queue and cohort
    /// objects on each call (for scrapes; no workload is looked at).
    pub fn cohort_subtrees(&self) -> BTreeMap<String, (FrAmounts, Vec<String>)> {
        let queues: BTreeMap<String, turnstile_core::tree::QueueQuotas> = self
            .cluster_queues
            .iter()
            .filter_map(|(n, cq)| {
                convert::cluster_queue(cq, true)
                    .ok()
                    .map(|(_, q)| (n.clone(), q))
            })
            .collect();
        let cohorts: BTreeMap<String, CohortQuotas> = self
            .cohorts
            .iter()
            .filter_map(|(n, c)| convert::cohort(c).ok().map(|q| (n.clone(), q)))
            .collect();
        let tree = turnstile_core::tree::QuotaTree::build(&queues, &cohorts);
        tree.cohort_subtree_quotas()
            .map(|(c, quota)| (c.to_owned(), (quota.clone(), tree.queues_under(c))))
            .collect()
    }

    /// Whether a workload is in a pending queue (active or set aside).
    pub fn is_pending(&self, key: &str) -> bool {
        self.pending.state(key).is_some()
    }

    /// Pending workloads of a ClusterQueue: `(active, inadmissible)`.
    pub fn pending_split(&self, cq: &str) -> (usize, usize) {
        let all = self.pending.pending_count(cq);
        let aside = self.pending.inadmissible_count(cq);
        (all.saturating_sub(aside), aside)
    }
}

mod jobs;
mod placement;
mod statuses;
mod upkeep;
mod windows;
mod writes;

pub use windows::{WindowEffect, WindowPolicy, WindowTarget};
pub use writes::{SchedulerWrite, WriteEnd};

#[cfg(test)]
mod tests;
