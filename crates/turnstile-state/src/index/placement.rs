//! Where each workload stands and goes: its standing (pending in a ClusterQueue, blocked, parked,
//! reserving, done), its place in the pending queues and the counts that follow, its charge in the
//! ledger, the scoped re-placements a queue, namespace, flavor or check change calls for, and the
//! batched requeues of cohort trees.

use super::{
    Arc, BTreeSet, Charge, Inactive, Index, Standing, api, condition, condition_true, conditions,
    convert, holds_quota, local_queue_key_of, millis, reasons,
};
use turnstile_core::ObjectKey;

impl Index {
    /// Places again the workloads of LocalQueue `key` (`namespace/name`).
    pub(super) fn replace_local_queue_members(&mut self, key: &ObjectKey) {
        self.dirty_local_queues.insert(key.clone());
        if let Some(members) = self.members.get(key) {
            self.upkeep_due.extend(members.iter().cloned());
        }
        let keys: Vec<ObjectKey> = self
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
    pub(super) fn replace_cluster_queue_members(&mut self, name: &str) {
        self.dirty_cluster_queues.insert(name.to_owned());
        // Its admitted workloads may have come through LocalQueues pointing elsewhere now.
        self.upkeep_sweep = true;
        let queues: Vec<ObjectKey> = self
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
    pub(super) fn replace_flavor_users(&mut self, name: &str) {
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
    pub(super) fn replace_check_users(&mut self, name: &str) {
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

    /// Moves the set-aside workloads of the cohort trees that gave quota back (or of every
    /// ClusterQueue, after a change that may concern any) back to the active queues: once per
    /// cycle however many releases came in between.
    pub(super) fn flush_requeues(&mut self) {
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
    pub(super) fn cohort_chain(&self, cq: &str) -> Vec<String> {
        let Some(first) = self
            .cluster_queues
            .get(cq)
            .and_then(|q| q.spec.cohort_name.as_ref())
            .map(ToString::to_string)
            .filter(|c| !c.is_empty())
        else {
            return Vec::new();
        };
        let mut chain = self.cohort_parents(&first);
        chain.insert(0, first);
        chain
    }

    /// Asks for the set-aside workloads of `cq`'s cohort tree to be tried again at the next cycle.
    pub(super) fn requeue_tree_of(&mut self, cq: &str) {
        self.requeue_trees.insert(cq.to_owned());
    }

    /// Puts a workload where it belongs (the pending queues, or nowhere) and keeps what follows
    /// from where it stands: the pending counts and the blocked reasons still to show.
    pub(super) fn place(&mut self, key: &ObjectKey) {
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
                let stale = self.stale.contains_key(key);
                let resumed_at = self.queue_timestamp(key, cluster_queue);
                match self.models.get_mut(key) {
                    Some(Ok(w)) if !stale => {
                        if w.cluster_queue != *cluster_queue {
                            // Set the queue on the one shared model (no copy once the pending
                            // queues have let go of theirs).
                            if let Some(old) = self.pending.remove(key) {
                                self.dirty_cluster_queues.insert(old.cluster_queue.clone());
                            }
                            Arc::make_mut(w).cluster_queue.clone_from(cluster_queue);
                        }
                        if let Some(ts) = resumed_at.filter(|ts| *ts != w.timestamp) {
                            Arc::make_mut(w).timestamp = ts;
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
                self.pending_in.insert(key.clone(), new);
            }
        }
        match standing {
            Some(Standing::Blocked { reason, message })
                if self.workloads.get(key).is_some_and(|wl| {
                    !crate::lifecycle::shows(
                        wl,
                        &[(conditions::QUOTA_RESERVED, "False", reason, &message)],
                    )
                }) =>
            {
                self.unreported.insert(key.clone(), (reason, message));
            }
            _ => {
                self.unreported.remove(key);
            }
        }
    }

    /// The queue-order timestamp of a pending workload, by Kueue's rules: the eviction time of a
    /// workload evicted for a PodsReady timeout (unless `requeuingStrategy.timestamp` is
    /// `Creation`) or by an AdmissionCheck (always); for work a time window drained from a queue
    /// whose policy resumes by `EvictionTime`, the eviction; else its creation.
    fn queue_timestamp(&self, key: &str, cluster_queue: &str) -> Option<i64> {
        let wl = self.workloads.get(key)?;
        let created = millis(wl.metadata.creation_timestamp.as_ref());
        let Some(ev) = condition(wl, conditions::EVICTED).filter(|c| c.status == "True") else {
            return Some(created);
        };
        let evicted_at = millis(Some(&ev.last_transition_time));
        match ev.reason.as_str() {
            reasons::PODS_READY_TIMEOUT if !self.requeue_by_creation => Some(evicted_at),
            reasons::ADMISSION_CHECK => Some(evicted_at),
            reasons::TIME_WINDOW_CLOSED => {
                let order = self
                    .window_of_cluster_queue(cluster_queue)
                    .or_else(|| self.window_of_local_queue(&local_queue_key_of(wl)))
                    .map(|e| e.resume_order)
                    .unwrap_or_default();
                Some(match order {
                    turnstile_api::v1alpha1::ResumeOrder::OriginalCreation => created,
                    turnstile_api::v1alpha1::ResumeOrder::EvictionTime => evicted_at,
                })
            }
            _ => Some(created),
        }
    }

    /// Brings the ledger up to date with what workload `key` holds now.
    pub(super) fn recharge(&mut self, key: &ObjectKey) {
        let charge = self.charge_of(key);
        let (cqs, lqs) = self.ledger.set(key, charge);
        self.dirty_cluster_queues.extend(cqs);
        self.dirty_local_queues.extend(lqs);
    }

    /// What workload `key` holds: its assumed or recorded admission, if it stands reserving.
    pub(super) fn charge_of(&self, key: &str) -> Option<Charge> {
        let Some(Standing::Reserving { cluster_queue }) = self.standing(key) else {
            return None;
        };
        let wl = self.workloads.get(key)?;
        let assignment = match self.assumed.get(key) {
            Some((_, a)) => Some(a.clone()),
            None => convert::admission(wl, |ps| self.spec_count(key, ps))
                .ok()
                .flatten()
                .map(|(_, a)| a),
        };
        let mut usage = Vec::new();
        for ps in assignment.iter().flatten() {
            for (r, amount) in &ps.usage {
                if let Some(f) = ps.flavors.get(r) {
                    usage.push(((f.clone(), r.clone()), *amount));
                }
            }
        }
        Some(Charge {
            cluster_queue,
            local_queue: local_queue_key_of(wl),
            // An assumed admission counts as admitted only when no AdmissionCheck applies (its
            // write then sets Admitted=True); else, as the stored Workload shows.
            admitted: match self.assumed.get(key) {
                Some((cq, a)) => !self.admission_has_checks(cq, a),
                None => condition_true(wl, conditions::ADMITTED),
            },
            usage,
            assignment,
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
        let Some(lq) = self.local_queues.get(&local_queue_key_of(wl)) else {
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
        // A request Turnstile cannot represent (e.g. more cpu than a 64-bit nano count holds):
        // never admitted, and the user is told which field.
        if let Some(Err(e)) = self.models.get(key) {
            return Some(Standing::Blocked {
                reason: reasons::INADMISSIBLE,
                message: format!("The workload's requests cannot be accounted: {e}"),
            });
        }
        if let Some((queue, effect)) = self.window_closing(&cq_name, &local_queue_key_of(wl)) {
            return Some(Standing::Blocked {
                reason: reasons::TIME_WINDOW_CLOSED,
                message: effect.message(&queue),
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
}
