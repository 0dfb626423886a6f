//! Fair-sharing preemption (Kueue's rules S2-a / S2-b of the fair-sharing design): victims are
//! taken from the ClusterQueue whose subtree has the highest dominant resource share, and only
//! when the preemptor's share after admission stays below the victim side's share, so preemption
//! moves the cohort towards an even split rather than away from it.
//!
//! Shares are compared at the "almost lowest common ancestors": the two children of the lowest
//! cohort that holds both the preemptor's and the target's ClusterQueue.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use super::{Candidate, Reason, Target, allows, borrowing_on, candidate, fits, uses_any};
use crate::fair::{self, Share};
use crate::model::{Admitted, PreemptionPolicy, Workload};
use crate::resources::{FlavorResource, FrAmounts};
use crate::snapshot::Snapshot;
use crate::tree::NodeRef;

/// One fair-sharing preemption strategy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strategy {
    /// Preempt when the preemptor's share after admission is at most the target's share after
    /// the victim is removed.
    LessThanOrEqualToFinalShare,
    /// Preempt when the preemptor's share after admission is below the target's share before.
    LessThanInitialShare,
}

/// The configured `preemptionStrategies`: one of the three lists Kueue accepts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Strategies {
    /// `[LessThanOrEqualToFinalShare]`.
    FinalShare,
    /// `[LessThanInitialShare]`.
    InitialShare,
    /// `[LessThanOrEqualToFinalShare, LessThanInitialShare]` (Kueue's default).
    #[default]
    FinalThenInitialShare,
}

impl Strategies {
    /// The list as configured, or `None` for a list Kueue does not accept.
    pub fn from_list(list: &[Strategy]) -> Option<Self> {
        match list {
            [Strategy::LessThanOrEqualToFinalShare] => Some(Self::FinalShare),
            [Strategy::LessThanInitialShare] => Some(Self::InitialShare),
            [
                Strategy::LessThanOrEqualToFinalShare,
                Strategy::LessThanInitialShare,
            ] => Some(Self::FinalThenInitialShare),
            _ => None,
        }
    }

    fn first(self) -> Strategy {
        match self {
            Self::FinalShare | Self::FinalThenInitialShare => Strategy::LessThanOrEqualToFinalShare,
            Self::InitialShare => Strategy::LessThanInitialShare,
        }
    }

    fn has_second(self) -> bool {
        self == Self::FinalThenInitialShare
    }
}

fn passes(
    strategy: Strategy,
    preemptor_new: &Share,
    target_old: &Share,
    target_new: &Share,
) -> bool {
    match strategy {
        Strategy::LessThanOrEqualToFinalShare => fair::compare(preemptor_new, target_new).is_le(),
        Strategy::LessThanInitialShare => fair::compare(preemptor_new, target_old).is_lt(),
    }
}

/// Kueue's candidate order for fair sharing: evicted first, other ClusterQueues before the
/// preemptor's, lower priority, more recently reserved, then UID.
fn compare_candidates(a: &Candidate, b: &Candidate, own: &str) -> std::cmp::Ordering {
    b.evicted
        .cmp(&a.evicted)
        .then((a.queue == own).cmp(&(b.queue == own)))
        .then(a.priority.cmp(&b.priority))
        .then(b.reserved_at.cmp(&a.reserved_at))
        .then(a.uid.cmp(&b.uid))
        .then(a.key.cmp(&b.key))
}

/// The ClusterQueues that still have candidates, each with its candidates in order, and which
/// queues and cohorts the target search has pruned.
struct Ordering<'a> {
    own: &'a str,
    /// The preemptor's ancestors, nearest first.
    ancestors: Vec<String>,
    by_queue: BTreeMap<String, VecDeque<Candidate>>,
    pruned_queues: BTreeSet<String>,
    pruned_cohorts: BTreeSet<String>,
}

impl<'a> Ordering<'a> {
    fn new(snap: &Snapshot, own: &'a str, candidates: Vec<Candidate>) -> Self {
        let mut by_queue: BTreeMap<String, VecDeque<Candidate>> = BTreeMap::new();
        for c in candidates {
            by_queue.entry(c.queue.clone()).or_default().push_back(c);
        }
        Self {
            own,
            ancestors: if snap.tree.in_cycle(own) {
                Vec::new()
            } else {
                snap.tree.ancestors(own)
            },
            by_queue,
            pruned_queues: BTreeSet::new(),
            pruned_cohorts: BTreeSet::new(),
        }
    }

    fn has_workload(&self, q: &str) -> bool {
        self.by_queue.get(q).is_some_and(|c| !c.is_empty())
    }

    fn pop(&mut self, q: &str) -> Option<Candidate> {
        self.by_queue.get_mut(q).and_then(VecDeque::pop_front)
    }

    /// The next ClusterQueue to take victims from, or `None` when the search is over.
    fn next(&mut self, snap: &Snapshot) -> Option<String> {
        let Some(root) = self.ancestors.last().cloned() else {
            return (!self.pruned_queues.contains(self.own) && self.has_workload(self.own))
                .then(|| self.own.to_owned());
        };
        while !self.pruned_cohorts.contains(&root) {
            if let Some(q) = self.descend(snap, &root) {
                return Some(q);
            }
        }
        None
    }

    fn share_of(snap: &Snapshot, node: NodeRef<'_>) -> Share {
        fair::share(&snap.tree, node, None, snap.weight(node))
    }

    /// From `cohort`, the child with the highest share: a ClusterQueue is returned, a cohort is
    /// descended into. Prunes what can no longer give victims.
    fn descend(&mut self, snap: &Snapshot, cohort: &str) -> Option<String> {
        let (queues, cohorts) = snap.tree.children(cohort);
        let mut best_queue: Option<(String, Share)> = None;
        for q in queues {
            if self.pruned_queues.contains(&q) {
                continue;
            }
            let s = Self::share_of(snap, NodeRef::Queue(&q));
            if (s.ratio <= 0.0 && q != self.own) || !self.has_workload(&q) {
                self.pruned_queues.insert(q);
                continue;
            }
            let better = match &best_queue {
                None => true,
                Some((bq, bs)) => match fair::compare(&s, bs) {
                    std::cmp::Ordering::Greater => true,
                    std::cmp::Ordering::Less => false,
                    std::cmp::Ordering::Equal => {
                        let first = |x: &str| self.by_queue.get(x).and_then(VecDeque::front);
                        match (first(&q), first(bq)) {
                            (Some(a), Some(b)) => compare_candidates(a, b, self.own).is_lt(),
                            _ => false,
                        }
                    }
                },
            };
            if better {
                best_queue = Some((q, s));
            }
        }
        let mut best_cohort: Option<(String, Share)> = None;
        for c in cohorts {
            if self.pruned_cohorts.contains(&c) {
                continue;
            }
            let s = Self::share_of(snap, NodeRef::Cohort(&c));
            if s.ratio <= 0.0 && !self.ancestors.contains(&c) {
                self.pruned_cohorts.insert(c);
            } else if best_cohort
                .as_ref()
                .is_none_or(|(_, bs)| fair::compare(&s, bs).is_ge())
            {
                best_cohort = Some((c, s));
            }
        }
        match (best_queue, best_cohort) {
            (None, None) => {
                self.pruned_cohorts.insert(cohort.to_owned());
                None
            }
            (Some((q, qs)), Some((c, cs))) => {
                if fair::compare(&cs, &qs).is_ge() {
                    self.descend(snap, &c)
                } else {
                    Some(q)
                }
            }
            (None, Some((c, _))) => self.descend(snap, &c),
            (Some((q, _)), None) => Some(q),
        }
    }

    /// The shares to compare for target ClusterQueue `target`: the preemptor side's and the
    /// target side's, each taken at the child of their lowest common ancestor.
    fn almost_lcas(&self, snap: &Snapshot, target: &str) -> (Share, Share) {
        let target_path = snap.tree.ancestors(target);
        let lca = target_path.iter().find(|c| self.ancestors.contains(c));
        // The node just under the LCA on a queue's path ("" stands for the queue itself).
        let below = |path: &[String]| -> String {
            let mut prev = String::new();
            for c in path {
                if Some(c) == lca {
                    break;
                }
                prev.clone_from(c);
            }
            prev
        };
        let node_share = |queue: &str, path: &[String]| {
            let n = below(path);
            if n.is_empty() {
                Self::share_of(snap, NodeRef::Queue(queue))
            } else {
                Self::share_of(snap, NodeRef::Cohort(&n))
            }
        };
        (
            node_share(self.own, &self.ancestors),
            node_share(target, &target_path),
        )
    }
}

/// Removes victims until `usage` fits; `snap` carries the preemptor's usage during the search.
struct Search<'s> {
    snap: &'s mut Snapshot,
    queue: String,
    usage: FrAmounts,
    needs: BTreeSet<FlavorResource>,
    removed: Vec<(Target, Admitted)>,
}

impl Search<'_> {
    fn take(&mut self, c: &Candidate, reason: Reason) {
        if let Some(a) = self.snap.remove(&c.queue, &c.key) {
            self.removed.push((
                Target {
                    key: c.key.clone(),
                    cluster_queue: c.queue.clone(),
                    reason,
                },
                a,
            ));
        }
    }

    fn fits(&mut self) -> bool {
        self.snap.tree.remove_usage(&self.queue, &self.usage);
        let ok = fits(self.snap, &self.queue, &self.usage, true);
        self.snap.tree.add_usage(&self.queue, &self.usage);
        ok
    }

    fn share_after_removal(&mut self, ord: &Ordering<'_>, target: &str, c: &Candidate) -> Share {
        let Some(u) = self
            .snap
            .admitted
            .get(target)
            .and_then(|m| m.get(&c.key))
            .map(Admitted::usage)
        else {
            return ord.almost_lcas(self.snap, target).1;
        };
        self.snap.tree.remove_usage(target, &u);
        let s = ord.almost_lcas(self.snap, target).1;
        self.snap.tree.add_usage(target, &u);
        s
    }

    /// Rule S2-a with the first strategy; returns whether the workload fits and the candidates
    /// to retry with the second strategy.
    fn first(&mut self, ord: &mut Ordering<'_>, strategy: Strategy) -> (bool, Vec<Candidate>) {
        let own = self.queue.clone();
        // A preemptor that stays within its nominal quota (with the workload added) reclaims
        // regardless of shares.
        let within_nominal = ord.ancestors.is_empty()
            || self
                .needs
                .iter()
                .all(|fr| self.snap.tree.within_nominal(NodeRef::Queue(&own), fr));
        let mut retry = Vec::new();
        while let Some(t) = ord.next(self.snap) {
            if t == own {
                if let Some(c) = ord.pop(&t) {
                    self.take(&c, Reason::InClusterQueue);
                    if self.fits() {
                        return (true, retry);
                    }
                }
                continue;
            }
            if within_nominal {
                if let Some(c) = ord.pop(&t) {
                    self.take(&c, Reason::InCohortReclamation);
                    if self.fits() {
                        return (true, retry);
                    }
                }
                continue;
            }
            let (preemptor_new, target_old) = ord.almost_lcas(self.snap, &t);
            if preemptor_new.weighted.is_infinite() && !target_old.weighted.is_infinite() {
                while let Some(c) = ord.pop(&t) {
                    retry.push(c);
                }
                continue;
            }
            while let Some(c) = ord.pop(&t) {
                let target_new = self.share_after_removal(ord, &t, &c);
                if passes(strategy, &preemptor_new, &target_old, &target_new) {
                    self.take(&c, Reason::InCohortFairSharing);
                    if self.fits() {
                        return (true, retry);
                    }
                    // Shares changed: choose the target ClusterQueue again.
                    break;
                }
                retry.push(c);
            }
        }
        (false, retry)
    }

    /// Rule S2-b: at most one victim per ClusterQueue whose share before preemption is above
    /// the preemptor's share after admission.
    fn second(&mut self, ord: &mut Ordering<'_>) -> bool {
        while let Some(t) = ord.next(self.snap) {
            let (preemptor_new, target_old) = ord.almost_lcas(self.snap, &t);
            if let Some(c) = ord.pop(&t)
                && fair::compare(&preemptor_new, &target_old).is_lt()
            {
                self.take(&c, Reason::InCohortFairSharing);
                if self.fits() {
                    return true;
                }
            }
            ord.pruned_queues.insert(t);
        }
        false
    }
}

#[cfg(test)]
mod tests;

/// Fair-sharing victims for `wl` (with `usage`), considering candidates using a flavor-resource
/// in `needs`; empty when no set works. `snap` is restored before returning.
pub fn targets(
    snap: &mut Snapshot,
    wl: &Workload,
    usage: &FrAmounts,
    needs: &BTreeSet<FlavorResource>,
    strategies: Strategies,
) -> Vec<Target> {
    let Some(cq) = snap.queues.get(&wl.cluster_queue).cloned() else {
        return Vec::new();
    };
    let policy = cq.preemption;
    let mut candidates = Vec::new();
    let mut add_from = |snap: &Snapshot, queue: &str, p: PreemptionPolicy| {
        for a in snap
            .admitted
            .get(queue)
            .into_iter()
            .flat_map(|m| m.values())
        {
            if a.workload.key != wl.key && uses_any(a, needs) && allows(p, wl, &a.workload) {
                candidates.push(candidate(a, Reason::InCohortFairSharing, false));
            }
        }
    };
    if policy.within_cluster_queue != PreemptionPolicy::Never {
        add_from(snap, &cq.name, policy.within_cluster_queue);
    }
    if policy.reclaim_within_cohort != PreemptionPolicy::Never
        && !snap.tree.in_cycle(&cq.name)
        && let Some(root) = snap.tree.root_of(&cq.name).map(str::to_owned)
    {
        for other in snap.tree.queues_under(&root) {
            if other != cq.name && borrowing_on(snap, &other, needs) {
                add_from(snap, &other, policy.reclaim_within_cohort);
            }
        }
    }
    if candidates.is_empty() {
        return Vec::new();
    }
    candidates.sort_by(|a, b| compare_candidates(a, b, &cq.name));

    // Shares are computed with the incoming workload charged to its ClusterQueue.
    snap.tree.add_usage(&cq.name, usage);
    let mut search = Search {
        snap,
        queue: cq.name.clone(),
        usage: usage.clone(),
        needs: needs.clone(),
        removed: Vec::new(),
    };
    let mut ord = Ordering::new(search.snap, &cq.name, candidates);
    let (mut ok, retry) = search.first(&mut ord, strategies.first());
    if !ok && strategies.has_second() && !retry.is_empty() {
        let mut second = Ordering::new(search.snap, &cq.name, retry);
        ok = search.second(&mut second);
    }
    let Search {
        snap,
        removed,
        queue,
        ..
    } = search;
    snap.tree.remove_usage(&queue, usage);
    if !ok {
        for (_, a) in removed {
            snap.add(a);
        }
        return Vec::new();
    }
    // Fill back: keep each victim but the last if the workload still fits without evicting it.
    let mut keep = vec![true; removed.len()];
    for i in (0..removed.len().saturating_sub(1)).rev() {
        snap.add(removed[i].1.clone());
        if fits(snap, &queue, usage, true) {
            keep[i] = false;
        } else {
            snap.remove(&removed[i].0.cluster_queue, &removed[i].0.key);
        }
    }
    let mut out = Vec::new();
    for ((t, a), k) in removed.into_iter().zip(keep) {
        if k {
            snap.add(a);
            out.push(t);
        }
    }
    out
}
