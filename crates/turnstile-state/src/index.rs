//! The one authoritative cache: API objects as last seen, the pending queues, and what follows
//! from them (the scheduling snapshot, where each workload stands, ClusterQueue activity).
//! The controller feeds it watch events (`apply_*` / `delete_*`); everything here is synchronous
//! and free of I/O, so it is tested without a cluster.

use std::collections::{BTreeMap, BTreeSet};

use turnstile_api as api;
use turnstile_api::keys::{conditions, reasons};
use turnstile_core::model::{Admitted, Workload};
use turnstile_core::queue::PendingQueues;
use turnstile_core::tree::CohortQuotas;
use turnstile_core::{CycleOutcome, Decision, Snapshot};

use crate::convert;

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
    /// Finished or deactivated: holds nothing, waits for nothing.
    Done,
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
    cohorts: BTreeMap<String, api::Cohort>,
    flavors: BTreeMap<String, api::ResourceFlavor>,
    local_queues: BTreeMap<String, api::LocalQueue>,
    namespaces: BTreeMap<String, BTreeMap<String, String>>,
    workloads: BTreeMap<String, api::Workload>,
    pending: PendingQueues,
    /// Admissions decided but not yet seen back from the API (assumed).
    assumed: BTreeMap<String, (String, Vec<turnstile_core::model::PodSetAssignment>)>,
}

fn key_of(meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> String {
    format!(
        "{}/{}",
        meta.namespace.as_deref().unwrap_or_default(),
        meta.name.as_deref().unwrap_or_default()
    )
}

fn condition_true(wl: &api::Workload, t: &str) -> bool {
    wl.status.as_ref().is_some_and(|s| {
        s.conditions
            .iter()
            .any(|c| c.type_ == t && c.status == "True")
    })
}

fn millis(t: Option<&k8s_openapi::apimachinery::pkg::apis::meta::v1::Time>) -> i64 {
    t.map_or(0, |t| t.0.as_millisecond())
}

impl Index {
    /// Records a ClusterQueue.
    pub fn apply_cluster_queue(&mut self, cq: api::ClusterQueue) {
        let name = cq.metadata.name.clone().unwrap_or_default();
        self.cluster_queues.insert(name.clone(), cq);
        self.resync_queue_members();
        self.requeue_tree_of(&name);
    }

    /// Forgets a ClusterQueue.
    pub fn delete_cluster_queue(&mut self, name: &str) {
        self.cluster_queues.remove(name);
        self.resync_queue_members();
    }

    /// Records a Cohort.
    pub fn apply_cohort(&mut self, c: api::Cohort) {
        self.cohorts
            .insert(c.metadata.name.clone().unwrap_or_default(), c);
        self.requeue_all();
    }

    /// Forgets a Cohort.
    pub fn delete_cohort(&mut self, name: &str) {
        self.cohorts.remove(name);
        self.requeue_all();
    }

    /// Records a ResourceFlavor.
    pub fn apply_flavor(&mut self, rf: api::ResourceFlavor) {
        self.flavors
            .insert(rf.metadata.name.clone().unwrap_or_default(), rf);
        self.requeue_all();
    }

    /// Forgets a ResourceFlavor.
    pub fn delete_flavor(&mut self, name: &str) {
        self.flavors.remove(name);
    }

    /// Records a LocalQueue.
    pub fn apply_local_queue(&mut self, lq: api::LocalQueue) {
        self.local_queues.insert(key_of(&lq.metadata), lq);
        self.resync_queue_members();
    }

    /// Forgets a LocalQueue.
    pub fn delete_local_queue(&mut self, key: &str) {
        self.local_queues.remove(key);
        self.resync_queue_members();
    }

    /// Records a Namespace's labels.
    pub fn apply_namespace(&mut self, name: &str, labels: BTreeMap<String, String>) {
        let changed = self.namespaces.get(name) != Some(&labels);
        self.namespaces.insert(name.to_owned(), labels);
        if changed {
            self.resync_queue_members();
            self.requeue_all();
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
        self.workloads.insert(key.clone(), wl);
        self.place(&key);
        if let Some(Standing::Reserving { cluster_queue }) = was
            && !matches!(self.standing(&key), Some(Standing::Reserving { .. }))
        {
            self.requeue_tree_of(&cluster_queue);
        }
    }

    /// Forgets a Workload.
    pub fn delete_workload(&mut self, key: &str) {
        let was = self.standing(key);
        self.workloads.remove(key);
        self.assumed.remove(key);
        self.pending.remove(key);
        if let Some(Standing::Reserving { cluster_queue }) = was {
            self.requeue_tree_of(&cluster_queue);
        }
    }

    /// Undoes an assumed admission whose write failed; the workload is pending again.
    pub fn forget(&mut self, key: &str) {
        if self.assumed.remove(key).is_some() {
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
            }
        }
    }

    fn requeue_all(&mut self) {
        let names: Vec<String> = self.cluster_queues.keys().cloned().collect();
        self.pending
            .requeue_inadmissible(names.iter().map(String::as_str));
    }

    fn requeue_tree_of(&mut self, cq: &str) {
        let snap = self.snapshot();
        let names = match snap.tree.root_of(cq) {
            Some(root) => snap.tree.queues_under(root),
            None => vec![cq.to_owned()],
        };
        self.pending
            .requeue_inadmissible(names.iter().map(String::as_str));
    }

    fn resync_queue_members(&mut self) {
        let keys: Vec<String> = self.workloads.keys().cloned().collect();
        for k in keys {
            self.place(&k);
        }
    }

    /// Puts a workload where it belongs: the pending queues, or nowhere.
    fn place(&mut self, key: &str) {
        match self.standing(key) {
            Some(Standing::Pending { cluster_queue }) => {
                let Some(wl) = self.workloads.get(key) else {
                    return;
                };
                let ts = millis(wl.metadata.creation_timestamp.as_ref());
                let not_before = wl
                    .status
                    .as_ref()
                    .and_then(|s| s.requeue_state.as_ref())
                    .map_or(0, |r| millis(r.requeue_at.as_ref()));
                match convert::workload(wl, &cluster_queue, ts) {
                    Ok(w) => self.pending.upsert(w, not_before),
                    Err(_) => {
                        self.pending.remove(key);
                    }
                }
            }
            _ => {
                self.pending.remove(key);
            }
        }
    }

    /// Where a workload stands, `None` if unknown.
    pub fn standing(&self, key: &str) -> Option<Standing> {
        let wl = self.workloads.get(key)?;
        if condition_true(wl, conditions::FINISHED) || !wl.spec.is_active() {
            return Some(Standing::Done);
        }
        if let Some((cq, _)) = self.assumed.get(key) {
            return Some(Standing::Reserving {
                cluster_queue: cq.clone(),
            });
        }
        if condition_true(wl, conditions::QUOTA_RESERVED)
            && let Some(adm) = wl.status.as_ref().and_then(|s| s.admission.as_ref())
        {
            return Some(Standing::Reserving {
                cluster_queue: adm.cluster_queue.to_string(),
            });
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
        if let Err(e) = convert::cluster_queue(cq, true) {
            parts.push(format!("has an invalid quantity at {}", e.path));
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
        for (key, wl) in &self.workloads {
            let Some(Standing::Reserving { cluster_queue }) = self.standing(key) else {
                continue;
            };
            let assignment = match self.assumed.get(key) {
                Some((_, a)) => a.clone(),
                None => match convert::admission(wl) {
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
            let Ok(workload) = convert::workload(
                wl,
                &cluster_queue,
                millis(wl.metadata.creation_timestamp.as_ref()),
            ) else {
                continue;
            };
            admitted.push(Admitted {
                workload,
                assignment,
                reserved_at,
                evicted: condition_true(wl, conditions::EVICTED),
            });
        }
        Snapshot::new(queues, &cohorts, flavors, admitted)
    }

    /// The pending workloads the next cycle may consider.
    pub fn heads(&self, now_ms: i64) -> BTreeMap<String, Vec<Workload>> {
        self.pending.heads(now_ms)
    }

    /// Workloads that cannot be queued, with the QuotaReserved=False reason and message they
    /// should show, when they do not show it yet.
    pub fn blocked_to_report(&self) -> Vec<(String, &'static str, String)> {
        let mut out = Vec::new();
        for (key, wl) in &self.workloads {
            if let Some(Standing::Blocked { reason, message }) = self.standing(key) {
                let shown = wl.status.as_ref().is_some_and(|s| {
                    s.conditions.iter().any(|c| {
                        c.type_ == conditions::QUOTA_RESERVED
                            && c.status == "False"
                            && c.reason == reason
                            && c.message == message
                    })
                });
                if !shown {
                    out.push((key.clone(), reason, message));
                }
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
        let snap_tree = self.snapshot().tree;
        let mut parts: Vec<String> = snap_tree.ancestors(cq);
        parts.reverse();
        parts.push(cq.to_owned());
        format!("/{}", parts.join("/"))
    }

    /// Pending workloads of a ClusterQueue.
    pub fn pending_count(&self, cq: &str) -> usize {
        self.pending.pending_count(cq)
    }
}

#[cfg(test)]
mod tests;
