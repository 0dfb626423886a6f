//! Preemption. Classical (fair sharing off): which admitted workloads to evict so that a workload
//! fits, following the ClusterQueue's `withinClusterQueue`, `reclaimWithinCohort` and
//! `borrowWithinCohort` policies, in a deterministic candidate order, with a minimal set found by
//! removing candidates until the workload fits and then putting back every one not needed.
//! With fair sharing on, [`fair`] chooses victims by dominant resource share instead.

use crate::key::ObjectKey;
use std::collections::BTreeSet;

use crate::model::{Admitted, PreemptionPolicy, Workload};
use crate::resources::{FlavorResource, FrAmounts};
use crate::snapshot::Snapshot;
use crate::tree::NodeRef;

mod fair;

pub use fair::{Strategies, Strategy};

/// Why a workload is preempted (the `Preempted` condition reason).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Reason {
    /// By a workload of its own ClusterQueue.
    InClusterQueue,
    /// Its ClusterQueue used quota another ClusterQueue of the cohort reclaims.
    InCohortReclamation,
    /// By a borrowing workload of higher priority in the cohort.
    InCohortReclaimWhileBorrowing,
    /// Fair sharing: its side of the cohort holds a larger share than the preemptor's.
    InCohortFairSharing,
}

impl Reason {
    /// The condition reason string.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InClusterQueue => "InClusterQueue",
            Self::InCohortReclamation => "InCohortReclamation",
            Self::InCohortReclaimWhileBorrowing => "InCohortReclaimWhileBorrowing",
            Self::InCohortFairSharing => "InCohortFairSharing",
        }
    }

    /// The human part of the `Preempted` message.
    pub fn human(self) -> &'static str {
        match self {
            Self::InClusterQueue => "prioritization in the ClusterQueue",
            Self::InCohortReclamation => "reclamation within the cohort",
            Self::InCohortReclaimWhileBorrowing => "reclamation within the cohort while borrowing",
            Self::InCohortFairSharing => "Fair Sharing within the cohort",
        }
    }
}

/// A workload to evict.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// Workload key.
    pub key: ObjectKey,
    /// Its ClusterQueue.
    pub cluster_queue: String,
    /// Why.
    pub reason: Reason,
}

/// Whether `policy` lets `preemptor` evict `candidate`.
pub fn allows(policy: PreemptionPolicy, preemptor: &Workload, candidate: &Workload) -> bool {
    match policy {
        PreemptionPolicy::Never => false,
        PreemptionPolicy::LowerPriority => candidate.priority < preemptor.priority,
        PreemptionPolicy::LowerOrNewerEqualPriority => {
            candidate.priority < preemptor.priority
                || (candidate.priority == preemptor.priority
                    && preemptor.timestamp < candidate.timestamp)
        }
        PreemptionPolicy::Any => true,
    }
}

#[derive(Clone, Debug)]
struct Candidate {
    key: ObjectKey,
    queue: String,
    priority: i32,
    reserved_at: i64,
    uid: String,
    evicted: bool,
    reason: Reason,
    /// A cohort candidate that may only be taken when the preemptor does not borrow.
    without_borrowing_only: bool,
}

fn uses_any(a: &Admitted, needs: &BTreeSet<FlavorResource>) -> bool {
    a.usage()
        .0
        .iter()
        .any(|(fr, v)| *v > 0 && needs.contains(fr))
}

fn borrowing_on(snap: &Snapshot, queue: &str, needs: &BTreeSet<FlavorResource>) -> bool {
    needs
        .iter()
        .any(|fr| !snap.tree.within_nominal(NodeRef::Queue(queue), fr))
}

fn order(c: &mut [Candidate]) {
    c.sort_by(|a, b| {
        b.evicted
            .cmp(&a.evicted)
            .then(a.priority.cmp(&b.priority))
            .then(b.reserved_at.cmp(&a.reserved_at))
            .then(a.uid.cmp(&b.uid))
            .then(a.key.cmp(&b.key))
    });
}

/// Whether `usage` fits the queue, and with `allow_borrowing` false also stays within nominal.
fn fits(snap: &Snapshot, queue: &str, usage: &FrAmounts, allow_borrowing: bool) -> bool {
    usage.0.iter().all(|(fr, v)| {
        let q = NodeRef::Queue(queue);
        *v <= snap.available(queue, fr)
            && (allow_borrowing
                || snap.tree.usage(q, fr).saturating_add(*v) <= snap.tree.quota(q, fr).nominal)
    })
}

/// The workloads to evict so that `wl` (with `usage`) fits, considering only candidates using a
/// flavor-resource in `needs`; empty when no set works. `snap` is restored before returning.
/// With fair sharing on (`snap.fair_sharing`), the fair-sharing strategies decide.
pub fn targets(
    snap: &mut Snapshot,
    wl: &Workload,
    usage: &FrAmounts,
    needs: &BTreeSet<FlavorResource>,
) -> Vec<Target> {
    if let Some(strategies) = snap.fair_sharing {
        return fair::targets(snap, wl, usage, needs, strategies);
    }
    let Some(cq) = snap.queues.get(&wl.cluster_queue).cloned() else {
        return Vec::new();
    };
    let policy = cq.preemption;
    let mut same = Vec::new();
    for a in snap
        .admitted
        .get(&cq.name)
        .into_iter()
        .flat_map(|m| m.values())
    {
        if a.workload.key != wl.key
            && uses_any(a, needs)
            && allows(policy.within_cluster_queue, wl, &a.workload)
        {
            same.push(candidate(a, Reason::InClusterQueue, false));
        }
    }
    let mut cohort = Vec::new();
    if policy.reclaim_within_cohort != PreemptionPolicy::Never
        && let Some(root) = snap.tree.root_of(&cq.name).map(str::to_owned)
    {
        for other in snap.tree.queues_under(&root) {
            if other == cq.name || !borrowing_on(snap, &other, needs) {
                continue;
            }
            for a in snap
                .admitted
                .get(&other)
                .into_iter()
                .flat_map(|m| m.values())
            {
                if !uses_any(a, needs) || !allows(policy.reclaim_within_cohort, wl, &a.workload) {
                    continue;
                }
                let bwc = policy.borrow_within_cohort;
                let p = a.workload.priority;
                let while_borrowing = bwc.lower_priority
                    && p < wl.priority
                    && bwc.max_priority_threshold.is_none_or(|t| p <= t);
                let reason = if while_borrowing {
                    Reason::InCohortReclaimWhileBorrowing
                } else {
                    Reason::InCohortReclamation
                };
                cohort.push(candidate(a, reason, !while_borrowing));
            }
        }
    }
    order(&mut same);
    order(&mut cohort);
    let mut sequence: Vec<Candidate> = Vec::new();
    sequence.extend(cohort.iter().filter(|c| c.evicted).cloned());
    sequence.extend(same.iter().filter(|c| c.evicted).cloned());
    sequence.extend(cohort.iter().filter(|c| !c.evicted).cloned());
    sequence.extend(same.iter().filter(|c| !c.evicted).cloned());

    let below_nominal = needs.iter().all(|fr| {
        let q = NodeRef::Queue(&cq.name);
        snap.tree.usage(q, fr) < snap.tree.quota(q, fr).nominal
    });
    let forbid = !policy.borrow_within_cohort.lower_priority;
    let attempts: &[bool] = if cohort.is_empty() || (forbid && !below_nominal) {
        &[true]
    } else if forbid {
        &[false, true]
    } else {
        &[true, false]
    };
    for &allow_borrowing in attempts {
        if let Some(found) = attempt(snap, &cq.name, usage, needs, &sequence, allow_borrowing) {
            return found;
        }
    }
    Vec::new()
}

fn candidate(a: &Admitted, reason: Reason, without_borrowing_only: bool) -> Candidate {
    Candidate {
        key: a.workload.key.clone(),
        queue: a.workload.cluster_queue.clone(),
        priority: a.workload.priority,
        reserved_at: a.reserved_at,
        uid: a.workload.uid.clone(),
        evicted: a.evicted,
        reason,
        without_borrowing_only,
    }
}

fn attempt(
    snap: &mut Snapshot,
    queue: &str,
    usage: &FrAmounts,
    needs: &BTreeSet<FlavorResource>,
    sequence: &[Candidate],
    allow_borrowing: bool,
) -> Option<Vec<Target>> {
    let mut removed: Vec<(Candidate, Admitted)> = Vec::new();
    let mut ok = false;
    for c in sequence {
        if c.queue != queue {
            if allow_borrowing && c.without_borrowing_only {
                continue;
            }
            if !borrowing_on(snap, &c.queue, needs) {
                continue;
            }
        }
        if let Some(a) = snap.remove(&c.queue, &c.key) {
            removed.push((c.clone(), a));
        }
        if fits(snap, queue, usage, allow_borrowing) {
            ok = true;
            break;
        }
    }
    let mut result = None;
    if ok {
        // Fill back: try to keep each chosen victim except the last, newest choice first.
        let mut keep_removed = vec![true; removed.len()];
        for i in (0..removed.len().saturating_sub(1)).rev() {
            snap.add(removed[i].1.clone());
            if fits(snap, queue, usage, allow_borrowing) {
                keep_removed[i] = false;
            } else {
                snap.remove(&removed[i].0.queue, &removed[i].0.key);
            }
        }
        result = Some(
            removed
                .iter()
                .zip(&keep_removed)
                .filter(|(_, k)| **k)
                .map(|((c, _), _)| Target {
                    key: c.key.clone(),
                    cluster_queue: c.queue.clone(),
                    reason: c.reason,
                })
                .collect(),
        );
        for ((_, a), k) in removed.into_iter().zip(keep_removed) {
            if k {
                snap.add(a);
            }
        }
    } else {
        for (_, a) in removed {
            snap.add(a);
        }
    }
    result
}
