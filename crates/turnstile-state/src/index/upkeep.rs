//! What the lifecycle requires beyond scheduling (Kueue's workload controller): evictions of
//! drained or deactivated workloads, letting parked ones back, priority updates; and which deleted
//! queues and flavors may lose their in-use finalizer.

use std::collections::BTreeMap;
use turnstile_core::ObjectKey;

use super::{
    BTreeSet, Index, Releasable, ReleasableKind, Upkeep, WindowTarget, api, condition,
    condition_true, conditions, holds_quota, is_admitted, local_queue_key_of, millis, reasons,
};

impl Index {
    /// Evictions and requeues the lifecycle calls for now, looking at every workload a rule can
    /// apply to: admitted workloads of a HoldAndDrain ClusterQueue or LocalQueue, or deactivated
    /// (`spec.active=false`), are evicted; parked ones are let back when their queue runs again or
    /// they are reactivated; `now_ms` ends backoffs (`Requeued=False/PodsReadyTimeout` →
    /// `BackoffFinished`). The whole answer, for tests and for a sweep; the scheduler asks
    /// [`Index::take_upkeep`], which looks only at what changed.
    pub fn upkeep(&self, now_ms: i64) -> Vec<Upkeep> {
        // Only the workloads a rule can apply to: those holding quota (evictions), those
        // waiting to be let back (`Requeued=False`) and those whose priority is stale.
        let candidates: BTreeSet<&ObjectKey> = self
            .ledger
            .holders()
            .map(|(k, _)| k)
            .chain(&self.requeued_false)
            .chain(&self.priority_stale)
            .collect();
        self.upkeep_of(candidates, now_ms)
    }

    /// What the lifecycle calls for among the workloads that may need it since the last call: the
    /// workloads that changed (or whose write failed), those of a LocalQueue that changed, those
    /// whose backoff has ended by `now_ms`, those whose priority is stale. Every workload is looked
    /// at after a ClusterQueue change, and on every call while a time window drains (its pace
    /// depends on evictions of other workloads finishing). Its cost follows what changed.
    pub fn take_upkeep(&mut self, now_ms: i64) -> Vec<Upkeep> {
        let due = std::mem::take(&mut self.upkeep_due);
        if std::mem::take(&mut self.upkeep_sweep) || self.window_effects.values().any(|e| e.drains)
        {
            return self.upkeep(now_ms);
        }
        let candidates: BTreeSet<&ObjectKey> = due
            .iter()
            .chain(
                self.backoff_ends
                    .iter()
                    .take_while(|(t, _)| *t <= now_ms)
                    .map(|(_, k)| k),
            )
            .chain(&self.priority_stale)
            .collect();
        self.upkeep_of(candidates, now_ms)
    }

    /// The lifecycle's rules in one place, in Kueue's order, applied to `candidates`; then the
    /// finished workloads whose retention has elapsed.
    fn upkeep_of(&self, candidates: BTreeSet<&ObjectKey>, now_ms: i64) -> Vec<Upkeep> {
        let mut out = Vec::new();
        // Drains are paced per queue: evictions under way (evicted, quota still held) count
        // against each draining policy's maxConcurrentSuspensions.
        let mut in_flight = self.window_evictions_in_flight();
        for key in candidates {
            self.upkeep_for(key, now_ms, &mut in_flight, &mut out);
        }
        // objectRetentionPolicies.workloads.afterFinished.
        out.extend(
            self.retention_expired(now_ms)
                .into_iter()
                .map(|key| Upkeep::DeleteFinished { key }),
        );
        out
    }

    /// What the lifecycle calls for on workload `key`.
    #[allow(clippy::too_many_lines)]
    fn upkeep_for(
        &self,
        key: &ObjectKey,
        now_ms: i64,
        in_flight: &mut BTreeMap<WindowTarget, u32>,
        out: &mut Vec<Upkeep>,
    ) {
        let Some(wl) = self.workloads.get(key) else {
            return;
        };
        if condition_true(wl, conditions::FINISHED) {
            return;
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
        let lq = wl.spec.queue_name.as_ref().and_then(|q| {
            self.local_queues
                .get(ObjectKey::new(ns, q.as_str()).as_str())
        });
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
            } else if is_admitted(wl)
                && let Some((target, queue, effect)) =
                    self.window_draining(&cq_name, &local_queue_key_of(wl))
            {
                let under_way = in_flight.entry(target).or_insert(0);
                if effect
                    .max_concurrent_suspensions
                    .is_none_or(|max| *under_way < max)
                {
                    *under_way += 1;
                    out.push(evict(reasons::TIME_WINDOW_CLOSED, &effect.message(&queue)));
                }
            } else if is_admitted(wl)
                && let Some(u) = self.window_notice_upkeep(key, wl, &cq_name)
            {
                out.push(u);
            }
            return;
        }
        let Some(requeued) = condition(wl, conditions::REQUEUED).filter(|c| c.status == "False")
        else {
            return;
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
            r if r == reasons::TIME_WINDOW_CLOSED
                && self
                    .window_closing(&cq_name, &local_queue_key_of(wl))
                    .is_none() =>
            {
                out.push(back(
                    reasons::TIME_WINDOW_OPENED,
                    "The time window that closed the queue is open again",
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

    /// The `TimeWindowClosing` condition an admitted workload should show and does not: True
    /// while a Drain policy on its queues is Closing, False once no close is near.
    fn window_notice_upkeep(
        &self,
        key: &ObjectKey,
        wl: &api::Workload,
        cq: &str,
    ) -> Option<Upkeep> {
        let shown = condition(wl, conditions::TIME_WINDOW_CLOSING);
        let notice = self.window_notice(cq, &local_queue_key_of(wl));
        let closes_at = notice.as_ref().map(|(_, at)| at.clone());
        let (status, reason, message) = match notice {
            Some((m, _)) => ("True", reasons::TIME_WINDOW_CLOSING, m),
            // Kept while the queue is closed: the drain it announced is under way.
            None if shown.is_some_and(|c| c.status == "True")
                && self.window_closing(cq, &local_queue_key_of(wl)).is_none() =>
            {
                (
                    "False",
                    reasons::TIME_WINDOW_NOT_CLOSING,
                    "No time window closes the workload's queues soon".to_owned(),
                )
            }
            None => return None,
        };
        let current =
            shown.is_some_and(|c| c.status == status && c.reason == reason && c.message == message);
        (!current).then(|| Upkeep::WindowNotice {
            key: key.clone(),
            closes_at,
            reason,
            message,
        })
    }

    /// Window evictions under way per draining queue: workloads evicted by a time window that
    /// still hold quota (their Jobs are stopping).
    fn window_evictions_in_flight(&self) -> BTreeMap<WindowTarget, u32> {
        let mut out = BTreeMap::new();
        if !self.window_effects.values().any(|e| e.drains) {
            return out;
        }
        for (key, _) in self.ledger.holders() {
            let Some(wl) = self.workloads.get(key) else {
                continue;
            };
            let by_window = condition(wl, conditions::EVICTED)
                .is_some_and(|c| c.status == "True" && c.reason == reasons::TIME_WINDOW_CLOSED);
            if !by_window {
                continue;
            }
            let cq = crate::lifecycle::admitted_to(wl);
            if let Some((target, _, _)) = self.window_draining(&cq, &local_queue_key_of(wl)) {
                *out.entry(target).or_insert(0) += 1;
            }
        }
        out
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
}
