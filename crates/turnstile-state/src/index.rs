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
use turnstile_core::tree::CohortQuotas;
use turnstile_core::{CycleOutcome, Decision, Snapshot};

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
        key: String,
        /// Eviction reason.
        reason: String,
        /// Eviction message.
        message: String,
    },
    /// Set `spec.priority` to the current value of the WorkloadPriorityClass the workload names.
    SetPriority {
        /// Workload key.
        key: String,
        /// The class's value.
        priority: i32,
    },
    /// Let a parked workload back into its queue (`Requeued=True`).
    Requeue {
        /// Workload key.
        key: String,
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

/// The cache.
#[derive(Clone, Debug, Default)]
pub struct Index {
    cluster_queues: BTreeMap<String, api::ClusterQueue>,
    /// Path of the first unparsable quantity of each ClusterQueue that has one, found once when the
    /// queue changes (not on every workload placement).
    cluster_queue_errors: BTreeMap<String, String>,
    cohorts: BTreeMap<String, api::Cohort>,
    flavors: BTreeMap<String, api::ResourceFlavor>,
    local_queues: BTreeMap<String, api::LocalQueue>,
    namespaces: BTreeMap<String, BTreeMap<String, String>>,
    /// Workloads as last seen, without their pod sets (they live on, converted, in `models`) and
    /// managed fields: the cache holds what it decides from, not every container field.
    workloads: BTreeMap<String, api::Workload>,
    /// Each workload converted for the scheduler once, when it changes (its ClusterQueue is set
    /// when it is queued); an error when a quantity in it does not parse.
    models: BTreeMap<String, Result<Arc<Workload>, convert::ConvertError>>,
    pending: PendingQueues,
    /// WorkloadPriorityClass values by name.
    priority_classes: BTreeMap<String, i32>,
    /// Admissions decided but not yet seen back from the API (assumed).
    assumed: BTreeMap<String, (String, Vec<turnstile_core::model::PodSetAssignment>)>,
    /// Workload keys by the Job reconciler's key ([`job_key_of`]).
    by_job: BTreeMap<String, BTreeSet<String>>,
    /// Jobs whose Workloads changed since the Job controller last looked.
    dirty_jobs: BTreeSet<String>,
    /// AdmissionChecks by name: whether each is active.
    admission_checks: BTreeMap<String, bool>,
    /// Jobs waiting for a prebuilt Workload to appear, by the Workload's key.
    awaited: BTreeMap<String, BTreeSet<String>>,
    /// Kueue's `resources` configuration (excluded prefixes, transformations).
    resource_rules: convert::ResourceRules,
    /// What each workload holding quota charges, and the per-queue totals.
    ledger: Ledger,
    /// Workload keys by their LocalQueue key (`namespace/queueName`, whether it exists or not):
    /// the workloads a queue, namespace or flavor change may move.
    members: BTreeMap<String, BTreeSet<String>>,
    /// The LocalQueue key of each workload standing `Pending`, and the count per LocalQueue.
    pending_in: BTreeMap<String, String>,
    pending_per_local_queue: BTreeMap<String, usize>,
    /// Blocked workloads whose QuotaReserved condition does not show why yet.
    unreported: BTreeMap<String, (&'static str, String)>,
    /// Workloads with `Requeued=False` (the lifecycle may let them back).
    requeued_false: BTreeSet<String>,
    /// Workload keys by the WorkloadPriorityClass they name, and those whose priority differs
    /// from their class's value.
    by_priority_class: BTreeMap<String, BTreeSet<String>>,
    priority_stale: BTreeSet<String>,
    /// ClusterQueues whose cohort tree's set-aside workloads go back to the active queues at the
    /// next cycle (many quota releases between two cycles cost one requeue), or all of them.
    requeue_trees: BTreeSet<String>,
    requeue_every_queue: bool,
    /// ClusterQueues and LocalQueues whose desired status may have changed since the writer last
    /// looked.
    dirty_cluster_queues: BTreeSet<String>,
    dirty_local_queues: BTreeSet<String>,
}

/// The Job reconciler's key for a Workload: the `namespace/name` of the batch/v1 Job controlling
/// it, or, for a Workload made for a Job (it carries `kueue.x-k8s.io/job-uid`) that has lost its
/// controller (the Job was deleted with `propagationPolicy: Orphan`, or the reference was edited
/// away), `namespace/job-uid:<uid>`. No Job can have that name (`:` is not allowed in names), so
/// the reconciler finds no Job under it and finishes the Workload as an orphan.
pub fn job_key_of(wl: &api::Workload) -> Option<String> {
    controlling_job(wl).or_else(|| {
        let uid = wl
            .metadata
            .labels
            .as_ref()?
            .get(api::keys::labels::JOB_UID)?;
        Some(format!(
            "{}/job-uid:{uid}",
            wl.metadata.namespace.as_deref().unwrap_or_default()
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
pub fn controlling_job(wl: &api::Workload) -> Option<String> {
    let r = job_owner(wl)?;
    Some(format!(
        "{}/{}",
        wl.metadata.namespace.as_deref().unwrap_or_default(),
        r.name
    ))
}

/// The LocalQueue key (`namespace/queueName`) a Workload names.
fn local_queue_key_of(wl: &api::Workload) -> String {
    format!(
        "{}/{}",
        wl.metadata.namespace.as_deref().unwrap_or_default(),
        wl.spec
            .queue_name
            .as_ref()
            .map(api::LocalQueueName::as_str)
            .unwrap_or_default()
    )
}

/// Whether the Workload's QuotaReserved condition already shows this blocked reason.
fn shows_blocked(wl: &api::Workload, reason: &str, message: &str) -> bool {
    condition(wl, conditions::QUOTA_RESERVED)
        .is_some_and(|c| c.status == "False" && c.reason == reason && c.message == message)
}

fn key_of(meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> String {
    format!(
        "{}/{}",
        meta.namespace.as_deref().unwrap_or_default(),
        meta.name.as_deref().unwrap_or_default()
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
        if !changed {
            self.cluster_queues.insert(name, cq);
            return;
        }
        match convert::cluster_queue(&cq, true) {
            Ok(_) => self.cluster_queue_errors.remove(&name),
            Err(e) => self.cluster_queue_errors.insert(name.clone(), e.path),
        };
        self.cluster_queues.insert(name.clone(), cq);
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
        self.cluster_queue_errors.remove(name);
        self.dirty_cluster_queues.remove(name);
        self.replace_cluster_queue_members(name);
        self.requeue_every_queue = true;
    }

    /// Records a Cohort; a change of its spec may let set-aside workloads in.
    pub fn apply_cohort(&mut self, c: api::Cohort) {
        let name = c.metadata.name.clone().unwrap_or_default();
        let changed = self.cohorts.get(&name).is_none_or(|o| o.spec != c.spec);
        self.cohorts.insert(name, c);
        if changed {
            self.requeue_every_queue = true;
        }
    }

    /// Forgets a Cohort.
    pub fn delete_cohort(&mut self, name: &str) {
        self.cohorts.remove(name);
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
        let keys: Vec<String> = self
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

    fn restale_priority(&mut self, key: &str) {
        let stale = self.workloads.get(key).is_some_and(|wl| {
            !condition_true(wl, conditions::FINISHED)
                && Self::priority_class_of(wl)
                    .and_then(|c| self.priority_classes.get(c))
                    .is_some_and(|v| wl.spec.priority != Some(*v))
        });
        if stale {
            self.priority_stale.insert(key.to_owned());
        } else {
            self.priority_stale.remove(key);
        }
    }

    /// Records a ResourceFlavor. A new one may make ClusterQueues naming it active; a spec
    /// change (labels, taints) may let set-aside workloads in.
    pub fn apply_flavor(&mut self, rf: api::ResourceFlavor) {
        let name = rf.metadata.name.clone().unwrap_or_default();
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
    pub fn delete_local_queue(&mut self, key: &str) {
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
            let queues: Vec<String> = self
                .members
                .range(prefix.clone()..)
                .take_while(|(k, _)| k.starts_with(&prefix))
                .map(|(k, _)| k.clone())
                .collect();
            for q in queues {
                self.replace_local_queue_members(&q);
            }
        }
    }

    /// Places again the workloads of LocalQueue `key` (`namespace/name`).
    fn replace_local_queue_members(&mut self, key: &str) {
        self.dirty_local_queues.insert(key.to_owned());
        let keys: Vec<String> = self
            .members
            .get(key)
            .into_iter()
            .flatten()
            .cloned()
            .collect();
        for k in keys {
            self.place(&k);
        }
    }

    /// Places again the workloads of every LocalQueue pointing at ClusterQueue `name`.
    fn replace_cluster_queue_members(&mut self, name: &str) {
        self.dirty_cluster_queues.insert(name.to_owned());
        let queues: Vec<String> = self
            .local_queues
            .iter()
            .filter(|(_, lq)| {
                lq.spec
                    .cluster_queue
                    .as_ref()
                    .is_some_and(|c| c.as_str() == name)
            })
            .map(|(k, _)| k.clone())
            .collect();
        for q in queues {
            self.replace_local_queue_members(&q);
        }
    }

    /// Places again the workloads of the ClusterQueues that name flavor `name`.
    fn replace_flavor_users(&mut self, name: &str) {
        let queues: Vec<String> = self
            .cluster_queues
            .iter()
            .filter(|(_, cq)| {
                cq.spec
                    .resource_groups
                    .iter()
                    .any(|g| g.flavors.iter().any(|f| f.name.as_str() == name))
            })
            .map(|(n, _)| n.clone())
            .collect();
        for q in queues {
            self.replace_cluster_queue_members(&q);
        }
    }

    /// Places again the workloads of the ClusterQueues that name AdmissionCheck `name`.
    fn replace_check_users(&mut self, name: &str) {
        let queues: Vec<String> = self
            .cluster_queues
            .iter()
            .filter(|(_, cq)| {
                cq.spec
                    .admission_checks_strategy
                    .iter()
                    .any(|s| s.admission_checks.iter().any(|r| r.name.as_str() == name))
            })
            .map(|(n, _)| n.clone())
            .collect();
        for q in queues {
            self.replace_cluster_queue_members(&q);
        }
    }

    /// Records a Workload (as the API has it now). A workload that stops holding quota frees room
    /// in its cohort tree, so the tree's set-aside workloads are tried again.
    pub fn apply_workload(&mut self, wl: api::Workload) {
        let key = key_of(&wl.metadata);
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
        .map(Arc::new);
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
        self.restale_priority(&key);
        if requeued_false {
            self.requeued_false.insert(key.clone());
        } else {
            self.requeued_false.remove(&key);
        }
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

    /// Forgets a Workload.
    pub fn delete_workload(&mut self, key: &str) {
        let was = self.standing(key);
        self.link_members(key, None);
        if let Some(old) = self.workloads.remove(key) {
            self.unlink_job(key, &old);
            if let Some(c) = Self::priority_class_of(&old) {
                self.unlink_priority_class(c, key);
            }
        }
        self.models.remove(key);
        self.assumed.remove(key);
        self.requeued_false.remove(key);
        self.priority_stale.remove(key);
        // Unknown now: out of the pending queues, the counts and the ledger.
        self.place(key);
        self.recharge(key);
        if let Some(Standing::Reserving { cluster_queue }) = was {
            self.requeue_tree_of(&cluster_queue);
        }
    }

    /// Files workload `key` under the LocalQueue `wl` names (`None`: forgotten), out of the one
    /// it named before.
    fn link_members(&mut self, key: &str, wl: Option<&api::Workload>) {
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
            self.members.entry(new).or_default().insert(key.to_owned());
        }
    }

    fn unlink_priority_class(&mut self, class: &str, key: &str) {
        if let Some(set) = self.by_priority_class.get_mut(class) {
            set.remove(key);
            if set.is_empty() {
                self.by_priority_class.remove(class);
            }
        }
    }

    fn unlink_job(&mut self, key: &str, old: &api::Workload) {
        let Some(job) = job_key_of(old) else {
            return;
        };
        if let Some(set) = self.by_job.get_mut(&job) {
            set.remove(key);
            if set.is_empty() {
                self.by_job.remove(&job);
            }
        }
        self.dirty_jobs.insert(job);
    }

    /// The Workloads a Job controls (`namespace/name` of the Job; the caller checks the owner's
    /// UID), each with its converted model (pod counts, tolerations) or why it did not convert.
    pub fn workloads_of_job(
        &self,
        job: &str,
    ) -> Vec<(&api::Workload, Result<&Workload, &convert::ConvertError>)> {
        self.by_job
            .get(job)
            .into_iter()
            .flatten()
            .filter_map(|k| self.workload_with_model(k))
            .collect()
    }

    /// A Workload (`namespace/name`) with its converted model or why it did not convert.
    pub fn workload_with_model(
        &self,
        key: &str,
    ) -> Option<(&api::Workload, Result<&Workload, &convert::ConvertError>)> {
        let wl = self.workloads.get(key)?;
        let model = self.models.get(key)?.as_ref().map(AsRef::as_ref);
        Some((wl, model))
    }

    /// Marks Job `job` (`namespace/name`) dirty when Workload `workload` (`namespace/name`) is
    /// next seen (a prebuilt Workload the Job waits for).
    pub fn await_workload(&mut self, workload: &str, job: &str) {
        self.awaited
            .entry(workload.to_owned())
            .or_default()
            .insert(job.to_owned());
    }

    /// Jobs whose Workloads changed since the last call (`namespace/name`).
    pub fn take_dirty_jobs(&mut self) -> BTreeSet<String> {
        std::mem::take(&mut self.dirty_jobs)
    }

    /// Every Job that controls a Workload (`namespace/name`).
    pub fn jobs_with_workloads(&self) -> Vec<String> {
        self.by_job.keys().cloned().collect()
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
    pub fn forget(&mut self, key: &str) {
        if self.assumed.remove(key).is_some() {
            self.place(key);
            self.recharge(key);
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

    /// Moves the set-aside workloads of the cohort trees that gave quota back (or of every
    /// ClusterQueue, after a change that may concern any) back to the active queues: once per
    /// cycle however many releases came in between.
    fn flush_requeues(&mut self) {
        if self.requeue_every_queue {
            self.requeue_every_queue = false;
            self.requeue_trees.clear();
            let names: Vec<String> = self.cluster_queues.keys().cloned().collect();
            self.pending
                .requeue_inadmissible(names.iter().map(String::as_str));
            return;
        }
        if self.requeue_trees.is_empty() {
            return;
        }
        let asked = std::mem::take(&mut self.requeue_trees);
        let roots: BTreeSet<Option<String>> = asked
            .iter()
            .map(|q| self.cohort_chain(q).last().cloned())
            .collect();
        let names: Vec<String> = self
            .cluster_queues
            .keys()
            .filter(|q| match self.cohort_chain(q).last() {
                Some(root) => roots.contains(&Some(root.clone())),
                None => asked.contains(*q),
            })
            .cloned()
            .collect();
        self.pending
            .requeue_inadmissible(names.iter().map(String::as_str));
    }

    /// Cohorts from a ClusterQueue up to its root (stops at a cycle).
    fn cohort_chain(&self, cq: &str) -> Vec<String> {
        let mut chain: Vec<String> = Vec::new();
        let mut cur = self
            .cluster_queues
            .get(cq)
            .and_then(|q| q.spec.cohort_name.as_ref())
            .map(ToString::to_string)
            .filter(|c| !c.is_empty());
        while let Some(c) = cur {
            if chain.contains(&c) {
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

    /// Asks for the set-aside workloads of `cq`'s cohort tree to be tried again at the next cycle.
    fn requeue_tree_of(&mut self, cq: &str) {
        self.requeue_trees.insert(cq.to_owned());
    }

    /// Puts a workload where it belongs (the pending queues, or nowhere) and keeps what follows
    /// from where it stands: the pending counts and the blocked reasons still to show.
    fn place(&mut self, key: &str) {
        let standing = self.standing(key);
        let mut queued = None;
        match &standing {
            Some(Standing::Pending { cluster_queue }) => {
                let not_before = self
                    .workloads
                    .get(key)
                    .and_then(|wl| wl.status.as_ref())
                    .and_then(|s| s.requeue_state.as_ref())
                    .map_or(0, |r| millis(r.requeue_at.as_ref()));
                match self.models.get_mut(key) {
                    Some(Ok(w)) => {
                        if w.cluster_queue != *cluster_queue {
                            // Set the queue on the one shared model (no copy once the pending
                            // queues have let go of theirs).
                            if let Some(old) = self.pending.remove(key) {
                                self.dirty_cluster_queues.insert(old.cluster_queue.clone());
                            }
                            Arc::make_mut(w).cluster_queue.clone_from(cluster_queue);
                        }
                        self.pending.upsert(Arc::clone(w), not_before);
                    }
                    _ => {
                        self.pending.remove(key);
                    }
                }
                self.dirty_cluster_queues.insert(cluster_queue.clone());
                queued = self.workloads.get(key).map(local_queue_key_of);
            }
            _ => {
                if let Some(old) = self.pending.remove(key) {
                    self.dirty_cluster_queues.insert(old.cluster_queue.clone());
                }
            }
        }
        if self.pending_in.get(key) != queued.as_ref() {
            if let Some(old) = self.pending_in.remove(key) {
                if let Some(n) = self.pending_per_local_queue.get_mut(&old) {
                    *n = n.saturating_sub(1);
                    if *n == 0 {
                        self.pending_per_local_queue.remove(&old);
                    }
                }
                self.dirty_local_queues.insert(old);
            }
            if let Some(new) = queued {
                *self.pending_per_local_queue.entry(new.clone()).or_insert(0) += 1;
                self.dirty_local_queues.insert(new.clone());
                self.pending_in.insert(key.to_owned(), new);
            }
        }
        match standing {
            Some(Standing::Blocked { reason, message })
                if self
                    .workloads
                    .get(key)
                    .is_some_and(|wl| !shows_blocked(wl, reason, &message)) =>
            {
                self.unreported.insert(key.to_owned(), (reason, message));
            }
            _ => {
                self.unreported.remove(key);
            }
        }
    }

    /// Brings the ledger up to date with what workload `key` holds now.
    fn recharge(&mut self, key: &str) {
        let charge = self.charge_of(key);
        let (cqs, lqs) = self.ledger.set(key, charge);
        self.dirty_cluster_queues.extend(cqs);
        self.dirty_local_queues.extend(lqs);
    }

    /// What workload `key` holds: its assumed or recorded admission, if it stands reserving.
    fn charge_of(&self, key: &str) -> Option<Charge> {
        let Some(Standing::Reserving { cluster_queue }) = self.standing(key) else {
            return None;
        };
        let wl = self.workloads.get(key)?;
        let assignment = match self.assumed.get(key) {
            Some((_, a)) => a.clone(),
            None => convert::admission(wl, |ps| self.spec_count(key, ps))
                .ok()
                .flatten()
                .map(|(_, a)| a)
                .unwrap_or_default(),
        };
        let mut usage = Vec::new();
        for ps in &assignment {
            for (r, amount) in &ps.usage {
                if let Some(f) = ps.flavors.get(r) {
                    usage.push(((f.clone(), r.clone()), *amount));
                }
            }
        }
        Some(Charge {
            cluster_queue,
            local_queue: local_queue_key_of(wl),
            admitted: self.assumed.contains_key(key) || condition_true(wl, conditions::ADMITTED),
            usage,
        })
    }

    /// Where a workload stands, `None` if unknown.
    pub fn standing(&self, key: &str) -> Option<Standing> {
        let wl = self.workloads.get(key)?;
        if condition_true(wl, conditions::FINISHED) {
            return Some(Standing::Done);
        }
        if let Some((cq, _)) = self.assumed.get(key) {
            return Some(Standing::Reserving {
                cluster_queue: cq.clone(),
            });
        }
        // A deactivated workload keeps its quota until it is released (its pods may still run):
        // only the release (admission cleared once the Job has stopped) gives it back.
        if holds_quota(wl)
            && let Some(adm) = wl.status.as_ref().and_then(|s| s.admission.as_ref())
        {
            return Some(Standing::Reserving {
                cluster_queue: adm.cluster_queue.to_string(),
            });
        }
        if !wl.spec.is_active() {
            return Some(Standing::Done);
        }
        if condition(wl, conditions::REQUEUED).is_some_and(|c| c.status == "False") {
            return Some(Standing::Parked);
        }
        let ns = wl.metadata.namespace.clone().unwrap_or_default();
        let lq_name = wl
            .spec
            .queue_name
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default();
        let Some(lq) = self.local_queues.get(&format!("{ns}/{lq_name}")) else {
            return Some(Standing::Blocked {
                reason: reasons::MISCONFIGURED,
                message: format!("LocalQueue {lq_name} doesn't exist"),
            });
        };
        if lq.spec.stop_policy.unwrap_or_default() != api::StopPolicy::None {
            return Some(Standing::Blocked {
                reason: reasons::SUSPENDED,
                message: format!("LocalQueue {lq_name} is inactive"),
            });
        }
        let cq_name = lq
            .spec
            .cluster_queue
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default();
        let Some(cq) = self.cluster_queues.get(&cq_name) else {
            return Some(Standing::Blocked {
                reason: reasons::MISCONFIGURED,
                message: format!("ClusterQueue {cq_name} doesn't exist"),
            });
        };
        let labels = self.namespaces.get(&ns).cloned().unwrap_or_default();
        let selected = cq
            .spec
            .namespace_selector
            .as_ref()
            .is_some_and(|s| turnstile_api::selector::matches(s, &labels));
        if !selected {
            return Some(Standing::Blocked {
                reason: reasons::MISCONFIGURED,
                message: "workload namespace doesn't match ClusterQueue selector".into(),
            });
        }
        if self.inactive(&cq_name).is_some() {
            return Some(Standing::Blocked {
                reason: reasons::SUSPENDED,
                message: format!("ClusterQueue {cq_name} is inactive"),
            });
        }
        Some(Standing::Pending {
            cluster_queue: cq_name,
        })
    }

    /// Why a ClusterQueue cannot admit, or `None` when it can.
    pub fn inactive(&self, name: &str) -> Option<Inactive> {
        let Some(cq) = self.cluster_queues.get(name) else {
            return Some(Inactive {
                reason: "NotFound",
                message: "ClusterQueue not found".into(),
            });
        };
        if cq.metadata.deletion_timestamp.is_some() {
            return Some(Inactive {
                reason: reasons::TERMINATING,
                message: "Can't admit new workloads; clusterQueue is terminating".into(),
            });
        }
        let mut parts = Vec::new();
        let mut reason = None;
        if cq.spec.stop_policy.unwrap_or_default() != api::StopPolicy::None {
            parts.push("is stopped".to_owned());
            reason = reason.or(Some(reasons::STOPPED));
        }
        let missing: BTreeSet<String> = cq
            .spec
            .resource_groups
            .iter()
            .flat_map(|g| g.flavors.iter().map(|f| f.name.to_string()))
            .filter(|f| !self.flavors.contains_key(f))
            .collect();
        if !missing.is_empty() {
            parts.push(format!(
                "references missing ResourceFlavor(s): {}",
                missing.into_iter().collect::<Vec<_>>().join(",")
            ));
            reason = reason.or(Some(reasons::FLAVOR_NOT_FOUND));
        }
        let named: BTreeSet<String> = cq
            .spec
            .admission_checks_strategy
            .iter()
            .flat_map(|s| s.admission_checks.iter().map(|r| r.name.to_string()))
            .collect();
        let missing: Vec<&str> = named
            .iter()
            .filter(|n| !self.admission_checks.contains_key(*n))
            .map(String::as_str)
            .collect();
        if !missing.is_empty() {
            parts.push(format!(
                "references missing AdmissionCheck(s): {}",
                missing.join(",")
            ));
            reason = reason.or(Some(reasons::ADMISSION_CHECK_NOT_FOUND));
        }
        let inactive: Vec<&str> = named
            .iter()
            .filter(|n| self.admission_checks.get(*n) == Some(&false))
            .map(String::as_str)
            .collect();
        if !inactive.is_empty() {
            parts.push(format!(
                "references inactive AdmissionCheck(s): {}",
                inactive.join(",")
            ));
            reason = reason.or(Some(reasons::ADMISSION_CHECK_INACTIVE));
        }
        if let Some(path) = self.cluster_queue_errors.get(name) {
            parts.push(format!("has an invalid quantity at {path}"));
            reason = reason.or(Some(reasons::UNKNOWN));
        }
        reason.map(|reason| Inactive {
            reason,
            message: format!("Can't admit new workloads: {}.", parts.join(", ")),
        })
    }

    /// The scheduling snapshot of the current state (assumed admissions included).
    pub fn snapshot(&self) -> Snapshot {
        let mut queues = Vec::new();
        for (name, cq) in &self.cluster_queues {
            let active = self.inactive(name).is_none();
            if let Ok(pair) = convert::cluster_queue(cq, active) {
                queues.push(pair);
            }
        }
        let cohorts: BTreeMap<String, CohortQuotas> = self
            .cohorts
            .iter()
            .filter_map(|(n, c)| convert::cohort(c).ok().map(|q| (n.clone(), q)))
            .collect();
        let flavors = self.flavors.values().map(convert::flavor).collect();
        let mut admitted = Vec::new();
        for (key, charge) in self.ledger.holders() {
            let Some(wl) = self.workloads.get(key) else {
                continue;
            };
            let cluster_queue = charge.cluster_queue.clone();
            let assignment = match self.assumed.get(key) {
                Some((_, a)) => a.clone(),
                None => match convert::admission(wl, |ps| self.spec_count(key, ps)) {
                    Ok(Some((_, a))) => a,
                    _ => continue,
                },
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
                evicted: condition_true(wl, conditions::EVICTED),
            });
        }
        let mut snap = Snapshot::new(queues, &cohorts, flavors, admitted);
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
    pub fn blocked_to_report(&self) -> Vec<(String, &'static str, String)> {
        self.unreported
            .iter()
            .map(|(k, (r, m))| (k.clone(), *r, m.clone()))
            .collect()
    }

    /// ClusterQueues and LocalQueues whose desired status may differ from the stored one since
    /// the last call: `(ClusterQueue names, LocalQueue keys)`.
    pub fn take_dirty_queues(&mut self) -> (BTreeSet<String>, BTreeSet<String>) {
        (
            std::mem::take(&mut self.dirty_cluster_queues),
            std::mem::take(&mut self.dirty_local_queues),
        )
    }

    /// Marks queues to be looked at again (their status write was put off).
    pub fn mark_dirty_queues(
        &mut self,
        cluster_queues: impl IntoIterator<Item = String>,
        local_queues: impl IntoIterator<Item = String>,
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

    /// The status a ClusterQueue should show (conditions without times: the writer keeps or sets
    /// them). `None` for an unknown queue.
    pub fn cluster_queue_status(&self, name: &str) -> Option<api::ClusterQueueStatus> {
        self.cluster_queue_status_with(name, None)
    }

    /// As [`Index::cluster_queue_status`]; with a snapshot (fair sharing on), also the weighted share.
    pub fn cluster_queue_status_with(
        &self,
        name: &str,
        fair: Option<&Snapshot>,
    ) -> Option<api::ClusterQueueStatus> {
        let cq = self.cluster_queues.get(name)?;
        let empty = Totals::default();
        let totals = self.ledger.cluster_queue(name).unwrap_or(&empty);
        let in_cohort = cq.spec.cohort_name.as_ref().is_some_and(|c| !c.is_empty());
        let quotas = convert::cluster_queue(cq, true)
            .map(|(_, q)| q.quotas)
            .unwrap_or_default();
        let flavors_usage = |admitted: bool| -> Vec<api::FlavorUsage> {
            let mut out = Vec::new();
            for g in &cq.spec.resource_groups {
                for f in &g.flavors {
                    let mut resources: Vec<api::ResourceUsage> = g
                        .covered_resources
                        .iter()
                        .map(|r| {
                            let total = if admitted {
                                totals.admitted_of(f.name.as_str(), r)
                            } else {
                                totals.reserving_of(f.name.as_str(), r)
                            };
                            let nominal = quotas
                                .get(&turnstile_core::resources::FlavorResource::new(
                                    f.name.as_str(),
                                    r,
                                ))
                                .map_or(0, |q| q.nominal);
                            api::ResourceUsage {
                                name: r.clone(),
                                total: Some(convert::quantity_string(r, total).as_str().into()),
                                borrowed: in_cohort.then(|| {
                                    convert::quantity_string(r, (total - nominal).max(0))
                                        .as_str()
                                        .into()
                                }),
                            }
                        })
                        .collect();
                    resources.sort_by(|a, b| a.name.cmp(&b.name));
                    out.push(api::FlavorUsage {
                        name: f.name.clone(),
                        resources,
                    });
                }
            }
            out
        };
        let (status, reason, message) = match self.inactive(name) {
            None => ("True", reasons::READY, "Can admit new workloads".to_owned()),
            Some(i) => ("False", i.reason, i.message),
        };
        let condition = k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition {
            type_: conditions::ACTIVE.into(),
            status: status.into(),
            reason: reason.into(),
            message,
            observed_generation: cq.metadata.generation,
            last_transition_time: k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
                k8s_openapi::jiff::Timestamp::UNIX_EPOCH,
            ),
        };
        Some(api::ClusterQueueStatus {
            conditions: vec![condition],
            flavors_reservation: flavors_usage(false),
            flavors_usage: flavors_usage(true),
            pending_workloads: i32::try_from(self.pending_count(name)).unwrap_or(i32::MAX),
            reserving_workloads: totals.reserving_count,
            admitted_workloads: totals.admitted_count,
            fair_sharing: fair.map(|snap| {
                let node = turnstile_core::tree::NodeRef::Queue(name);
                api::FairSharingStatus {
                    weighted_share: turnstile_core::fair::share(
                        &snap.tree,
                        node,
                        None,
                        snap.weight(node),
                    )
                    .status_value(),
                }
            }),
        })
    }

    /// The status a LocalQueue should show. `None` for an unknown queue.
    pub fn local_queue_status(&self, key: &str) -> Option<api::LocalQueueStatus> {
        let lq = self.local_queues.get(key)?;
        let cq_name = lq
            .spec
            .cluster_queue
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default();
        let stopped = lq.spec.stop_policy.unwrap_or_default() != api::StopPolicy::None;
        let (status, reason, message) = if stopped {
            ("False", reasons::STOPPED, "LocalQueue is stopped")
        } else if !self.cluster_queues.contains_key(&cq_name) {
            (
                "False",
                reasons::CLUSTER_QUEUE_DOES_NOT_EXIST,
                "Can't submit new workloads to clusterQueue",
            )
        } else if self.inactive(&cq_name).is_none() {
            (
                "True",
                reasons::READY,
                "Can submit new workloads to localQueue",
            )
        } else {
            (
                "False",
                reasons::CLUSTER_QUEUE_IS_INACTIVE,
                "Can't submit new workloads to clusterQueue",
            )
        };
        let empty = Totals::default();
        let totals = if self.cluster_queues.contains_key(&cq_name) {
            self.ledger.local_queue(key, &cq_name).unwrap_or(&empty)
        } else {
            &empty
        };
        let pending = if stopped {
            0
        } else {
            self.pending_per_local_queue.get(key).copied().unwrap_or(0)
        };
        let lq_usage =
            |usage: &mut dyn Iterator<Item = (&(String, String), i64)>| -> Vec<api::LocalQueueFlavorUsage> {
                let mut by_flavor: BTreeMap<String, Vec<api::LocalQueueResourceUsage>> =
                    BTreeMap::new();
                for ((f, r), v) in usage {
                    by_flavor
                        .entry(f.clone())
                        .or_default()
                        .push(api::LocalQueueResourceUsage {
                            name: r.clone(),
                            total: Some(convert::quantity_string(r, v).as_str().into()),
                        });
                }
                by_flavor
                    .into_iter()
                    .map(|(f, resources)| api::LocalQueueFlavorUsage {
                        name: f.as_str().into(),
                        resources,
                    })
                    .collect()
            };
        Some(api::LocalQueueStatus {
            conditions: vec![k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition {
                type_: conditions::ACTIVE.into(),
                status: status.into(),
                reason: reason.into(),
                message: message.into(),
                observed_generation: lq.metadata.generation,
                last_transition_time: k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
                    k8s_openapi::jiff::Timestamp::UNIX_EPOCH,
                ),
            }],
            pending_workloads: i32::try_from(pending).unwrap_or(i32::MAX),
            reserving_workloads: totals.reserving_count,
            admitted_workloads: totals.admitted_count,
            flavors_reservation: lq_usage(&mut totals.reserving()),
            flavors_usage: lq_usage(&mut totals.admitted()),
            fair_sharing: None,
        })
    }

    /// Names of the ClusterQueues and keys of the LocalQueues known.
    pub fn queue_names(&self) -> (Vec<String>, Vec<String>) {
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

    /// The status a Cohort should show with fair sharing on: its weighted share in `snap`.
    pub fn cohort_status(&self, name: &str, snap: &Snapshot) -> Option<api::CohortStatus> {
        self.cohorts.get(name)?;
        let node = turnstile_core::tree::NodeRef::Cohort(name);
        Some(api::CohortStatus {
            fair_sharing: Some(api::FairSharingStatus {
                weighted_share: turnstile_core::fair::share(
                    &snap.tree,
                    node,
                    None,
                    snap.weight(node),
                )
                .status_value(),
            }),
        })
    }

    /// The stored status of a ClusterQueue.
    pub fn cluster_queue(&self, name: &str) -> Option<&api::ClusterQueue> {
        self.cluster_queues.get(name)
    }

    /// The stored LocalQueue.
    pub fn local_queue(&self, key: &str) -> Option<&api::LocalQueue> {
        self.local_queues.get(key)
    }

    /// Evictions and requeues the lifecycle calls for now: admitted workloads of a HoldAndDrain
    /// ClusterQueue or LocalQueue, or deactivated (`spec.active=false`), are evicted; parked ones
    /// are let back when their queue runs again or they are reactivated.
    /// `now_ms` ends backoffs (`Requeued=False/PodsReadyTimeout` → `BackoffFinished`).
    // The lifecycle rules in one place, in Kueue's order.
    #[allow(clippy::too_many_lines)]
    pub fn upkeep(&self, now_ms: i64) -> Vec<Upkeep> {
        let mut out = Vec::new();
        // Only the workloads a rule can apply to: those holding quota (evictions), those
        // waiting to be let back (`Requeued=False`) and those whose priority is stale.
        let candidates: BTreeSet<&String> = self
            .ledger
            .holders()
            .map(|(k, _)| k)
            .chain(&self.requeued_false)
            .chain(&self.priority_stale)
            .collect();
        for key in candidates {
            let Some(wl) = self.workloads.get(key) else {
                continue;
            };
            if condition_true(wl, conditions::FINISHED) {
                continue;
            }
            // A WorkloadPriorityClass's value is pushed to the workloads that name it.
            if let Some(r) = &wl.spec.priority_class_ref
                && r.kind == api::PriorityClassKind::WorkloadPriorityClass
                && let Some(v) = self.priority_classes.get(&r.name)
                && wl.spec.priority != Some(*v)
            {
                out.push(Upkeep::SetPriority {
                    key: key.clone(),
                    priority: *v,
                });
            }
            let ns = wl.metadata.namespace.as_deref().unwrap_or_default();
            let lq = wl
                .spec
                .queue_name
                .as_ref()
                .and_then(|q| self.local_queues.get(&format!("{ns}/{q}")));
            let lq_policy = lq.and_then(|l| l.spec.stop_policy).unwrap_or_default();
            let cq_name = wl
                .status
                .as_ref()
                .and_then(|s| s.admission.as_ref())
                .map(|a| a.cluster_queue.to_string())
                .or_else(|| {
                    lq.and_then(|l| l.spec.cluster_queue.as_ref())
                        .map(ToString::to_string)
                })
                .unwrap_or_default();
            let cq_policy = self
                .cluster_queues
                .get(&cq_name)
                .and_then(|c| c.spec.stop_policy)
                .unwrap_or_default();
            if holds_quota(wl) && !condition_true(wl, conditions::EVICTED) {
                let evict = |reason: &str, message: &str| Upkeep::Evict {
                    key: key.clone(),
                    reason: reason.to_owned(),
                    message: message.to_owned(),
                };
                if !wl.spec.is_active() {
                    // Deactivated by Turnstile (backoff limit...): the cause goes into the reason.
                    let (reason, message) = match condition(wl, conditions::DEACTIVATION_TARGET)
                        .filter(|c| c.status == "True")
                    {
                        Some(t) => (
                            format!("{}{}", reasons::DEACTIVATED_DUE_TO_PREFIX, t.reason),
                            format!("The workload is deactivated due to {}", t.message),
                        ),
                        None => (
                            reasons::DEACTIVATED.to_owned(),
                            "The workload is deactivated".to_owned(),
                        ),
                    };
                    out.push(evict(&reason, &message));
                } else if cq_policy == api::StopPolicy::HoldAndDrain && is_admitted(wl) {
                    out.push(evict(
                        reasons::CLUSTER_QUEUE_STOPPED,
                        "The ClusterQueue is stopped",
                    ));
                } else if lq_policy == api::StopPolicy::HoldAndDrain && is_admitted(wl) {
                    out.push(evict(
                        reasons::LOCAL_QUEUE_STOPPED,
                        "The LocalQueue is stopped",
                    ));
                }
                continue;
            }
            let Some(requeued) =
                condition(wl, conditions::REQUEUED).filter(|c| c.status == "False")
            else {
                continue;
            };
            let back = |reason, message| Upkeep::Requeue {
                key: key.clone(),
                reason,
                message,
            };
            match requeued.reason.as_str() {
                r if r == reasons::CLUSTER_QUEUE_STOPPED && cq_policy == api::StopPolicy::None => {
                    out.push(back(
                        reasons::CLUSTER_QUEUE_RESTARTED,
                        "The ClusterQueue was restarted after being stopped",
                    ));
                }
                r if r == reasons::LOCAL_QUEUE_STOPPED && lq_policy == api::StopPolicy::None => {
                    out.push(back(
                        reasons::LOCAL_QUEUE_RESTARTED,
                        "The LocalQueue was restarted after being stopped",
                    ));
                }
                // Kueue lets only the bare `Deactivated` back; a workload deactivated by the
                // controller (`DeactivatedDueTo<cause>`) comes back too once reactivated.
                r if r.starts_with(reasons::DEACTIVATED) && wl.spec.is_active() => {
                    out.push(back(reasons::REACTIVATED, "The workload was reactivated"));
                }
                r if (r == reasons::PODS_READY_TIMEOUT || r == reasons::ADMISSION_CHECK)
                    && wl
                        .status
                        .as_ref()
                        .and_then(|s| s.requeue_state.as_ref())
                        .is_none_or(|rs| millis(rs.requeue_at.as_ref()) <= now_ms) =>
                {
                    out.push(back(
                        reasons::BACKOFF_FINISHED,
                        "The workload backoff was finished",
                    ));
                }
                _ => {}
            }
        }
        out
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

    /// Pending workloads of a ClusterQueue.
    pub fn pending_count(&self, cq: &str) -> usize {
        self.pending.pending_count(cq)
    }

    /// ClusterQueues and ResourceFlavors being deleted whose `kueue.x-k8s.io/resource-in-use`
    /// finalizer may go: a ClusterQueue once no workload holds quota in it, a ResourceFlavor once
    /// no ClusterQueue names it. Each with the finalizers to keep and its resourceVersion.
    pub fn releasable(&self) -> Vec<Releasable> {
        let has = |m: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta| {
            m.deletion_timestamp.is_some()
                && m.finalizers
                    .iter()
                    .flatten()
                    .any(|f| f == api::keys::RESOURCE_IN_USE_FINALIZER)
        };
        let rest = |m: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta| {
            m.finalizers
                .iter()
                .flatten()
                .filter(|f| *f != api::keys::RESOURCE_IN_USE_FINALIZER)
                .cloned()
                .collect()
        };
        let mut out = Vec::new();
        for (name, cq) in &self.cluster_queues {
            let in_use = || {
                self.ledger
                    .cluster_queue(name)
                    .is_some_and(|t| t.reserving_count > 0)
            };
            if has(&cq.metadata) && !in_use() {
                out.push(Releasable {
                    kind: ReleasableKind::ClusterQueue,
                    name: name.clone(),
                    keep: rest(&cq.metadata),
                    resource_version: cq.metadata.resource_version.clone(),
                });
            }
        }
        for (name, rf) in &self.flavors {
            let named = || {
                self.cluster_queues.values().any(|cq| {
                    cq.spec
                        .resource_groups
                        .iter()
                        .any(|rg| rg.flavors.iter().any(|f| f.name.as_str() == name))
                })
            };
            if has(&rf.metadata) && !named() {
                out.push(Releasable {
                    kind: ReleasableKind::ResourceFlavor,
                    name: name.clone(),
                    keep: rest(&rf.metadata),
                    resource_version: rf.metadata.resource_version.clone(),
                });
            }
        }
        out
    }

    /// Pending workloads of a ClusterQueue: `(active, inadmissible)`.
    pub fn pending_split(&self, cq: &str) -> (usize, usize) {
        let all = self.pending.pending_count(cq);
        let aside = self.pending.inadmissible_count(cq);
        (all.saturating_sub(aside), aside)
    }
}

#[cfg(test)]
mod tests;
