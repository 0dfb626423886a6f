//! The quota tree: ClusterQueues and Cohorts, their quotas per flavor-resource, and usage.
//!
//! Semantics follow Kueue's resource nodes: a node's subtree quota is its own nominal quota plus
//! what its children lend up; with no `lendingLimit` a node lends everything (its local quota is 0),
//! so capacity is shared through the cohort; `borrowingLimit` caps what a subtree takes from its
//! parent. Usage added to a node consumes its local quota first and the excess is charged to the
//! parent. All maps are ordered; every operation is a pure function of the tree.

use std::collections::{BTreeMap, BTreeSet};

use crate::resources::{Amount, FlavorResource, FrAmounts};

/// Quota of one flavor-resource on one node.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Quota {
    /// Nominal quota.
    pub nominal: Amount,
    /// Most the node may take from its parent above what it holds; `None` is unlimited.
    pub borrowing_limit: Option<Amount>,
    /// Most of its quota the node lends to its parent; `None` lends everything.
    pub lending_limit: Option<Amount>,
}

/// A node of the tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum NodeRef<'a> {
    /// A ClusterQueue.
    Queue(&'a str),
    /// A Cohort.
    Cohort(&'a str),
}

#[derive(Clone, Debug, Default)]
struct Node {
    parent: Option<String>,
    quotas: BTreeMap<FlavorResource, Quota>,
    subtree_quota: FrAmounts,
    usage: FrAmounts,
    child_queues: BTreeSet<String>,
    child_cohorts: BTreeSet<String>,
}

/// The quota tree with usage.
#[derive(Clone, Debug, Default)]
pub struct QuotaTree {
    queues: BTreeMap<String, Node>,
    cohorts: BTreeMap<String, Node>,
    /// Cohorts on a parent cycle; their subtrees admit nothing.
    cyclic: BTreeSet<String>,
    /// Every flavor-resource with quota somewhere in the tree, sorted.
    frs: Vec<FlavorResource>,
}

/// Input description of a ClusterQueue for [`QuotaTree::build`].
#[derive(Clone, Debug, Default)]
pub struct QueueQuotas {
    /// Cohort name, if any.
    pub cohort: Option<String>,
    /// Quotas per flavor-resource.
    pub quotas: BTreeMap<FlavorResource, Quota>,
}

/// Input description of a Cohort for [`QuotaTree::build`].
#[derive(Clone, Debug, Default)]
pub struct CohortQuotas {
    /// Parent cohort, if any.
    pub parent: Option<String>,
    /// Quotas per flavor-resource (an extra pool shared by the subtree).
    pub quotas: BTreeMap<FlavorResource, Quota>,
}

/// Depth-first visit of cohorts, children before parents.
fn visit(t: &QuotaTree, c: &str, done: &mut BTreeSet<String>, out: &mut Vec<String>) {
    if !done.insert(c.to_owned()) {
        return;
    }
    if let Some(n) = t.cohorts.get(c) {
        for child in &n.child_cohorts {
            if !t.cyclic.contains(child) {
                visit(t, child, done, out);
            }
        }
    }
    out.push(c.to_owned());
}

impl QuotaTree {
    /// Builds the tree. Cohorts named by a ClusterQueue or a Cohort but not defined exist
    /// implicitly, without quota. Usage starts at zero.
    pub fn build(
        queues: &BTreeMap<String, QueueQuotas>,
        cohorts: &BTreeMap<String, CohortQuotas>,
    ) -> Self {
        let mut t = QuotaTree::default();
        for (name, c) in cohorts {
            let n = t.cohorts.entry(name.clone()).or_default();
            n.quotas.clone_from(&c.quotas);
            n.parent = c.parent.clone().filter(|p| !p.is_empty() && p != name);
        }
        // Implicit parents.
        let parents: Vec<String> = t
            .cohorts
            .values()
            .filter_map(|n| n.parent.clone())
            .collect();
        for p in parents {
            t.cohorts.entry(p).or_default();
        }
        for (name, q) in queues {
            let cohort = q.cohort.clone().filter(|c| !c.is_empty());
            if let Some(c) = &cohort {
                t.cohorts
                    .entry(c.clone())
                    .or_default()
                    .child_queues
                    .insert(name.clone());
            }
            t.queues.insert(
                name.clone(),
                Node {
                    parent: cohort,
                    quotas: q.quotas.clone(),
                    ..Node::default()
                },
            );
        }
        let links: Vec<(String, String)> = t
            .cohorts
            .iter()
            .filter_map(|(n, c)| c.parent.clone().map(|p| (p, n.clone())))
            .collect();
        for (p, child) in links {
            if let Some(parent) = t.cohorts.get_mut(&p) {
                parent.child_cohorts.insert(child);
            }
        }
        t.cyclic = t.find_cycles();
        let all: BTreeSet<FlavorResource> = t
            .queues
            .values()
            .chain(t.cohorts.values())
            .flat_map(|n| n.quotas.keys().cloned())
            .collect();
        t.frs = all.into_iter().collect();
        t.recompute_subtree_quotas();
        t
    }

    fn find_cycles(&self) -> BTreeSet<String> {
        let mut cyclic = BTreeSet::new();
        for start in self.cohorts.keys() {
            let mut seen = BTreeSet::new();
            let mut cur = Some(start.clone());
            while let Some(c) = cur {
                if !seen.insert(c.clone()) {
                    // Everything reachable from a cycle member is in the cycle's tree.
                    cyclic.extend(seen.iter().cloned());
                    break;
                }
                cur = self.cohorts.get(&c).and_then(|n| n.parent.clone());
            }
        }
        // Descendants of cyclic cohorts are cut off too.
        let mut changed = true;
        while changed {
            changed = false;
            for (name, n) in &self.cohorts {
                if !cyclic.contains(name) && n.parent.as_ref().is_some_and(|p| cyclic.contains(p)) {
                    cyclic.insert(name.clone());
                    changed = true;
                }
            }
        }
        cyclic
    }

    /// Whether the ClusterQueue's cohort tree has a cycle (it must not admit anything).
    pub fn in_cycle(&self, queue: &str) -> bool {
        self.queues
            .get(queue)
            .and_then(|q| q.parent.as_ref())
            .is_some_and(|c| self.cyclic.contains(c))
    }

    /// Names of the ClusterQueues in the tree.
    pub fn queue_names(&self) -> impl Iterator<Item = &str> {
        self.queues.keys().map(String::as_str)
    }

    /// The queue's cohort.
    pub fn cohort_of(&self, queue: &str) -> Option<&str> {
        self.queues.get(queue).and_then(|q| q.parent.as_deref())
    }

    /// The parent of a cohort.
    pub fn parent_of_cohort(&self, cohort: &str) -> Option<&str> {
        if self.cyclic.contains(cohort) {
            return None;
        }
        self.cohorts.get(cohort).and_then(|c| c.parent.as_deref())
    }

    /// Root cohort of a queue's tree (None without a cohort or in a cycle).
    pub fn root_of(&self, queue: &str) -> Option<&str> {
        if self.in_cycle(queue) {
            return None;
        }
        let mut cur = self.cohort_of(queue)?;
        while let Some(p) = self.parent_of_cohort(cur) {
            cur = p;
        }
        Some(cur)
    }

    fn node(&self, n: NodeRef<'_>) -> Option<&Node> {
        match n {
            NodeRef::Queue(q) => self.queues.get(q),
            NodeRef::Cohort(c) => self.cohorts.get(c),
        }
    }

    fn parent(&self, n: NodeRef<'_>) -> Option<&str> {
        match n {
            NodeRef::Queue(q) => self
                .queues
                .get(q)
                .and_then(|x| x.parent.as_deref())
                .filter(|c| !self.cyclic.contains(*c)),
            NodeRef::Cohort(c) => self.parent_of_cohort(c),
        }
    }

    fn recompute_subtree_quotas(&mut self) {
        for q in self.queues.values_mut() {
            q.subtree_quota = FrAmounts(
                q.quotas
                    .iter()
                    .map(|(fr, quota)| (fr.clone(), quota.nominal))
                    .collect(),
            );
        }
        // Cohorts bottom-up: process in an order where children come first.
        let order = self.cohorts_children_first();
        for name in order {
            let mut total = FrAmounts(
                self.cohorts[&name]
                    .quotas
                    .iter()
                    .map(|(fr, q)| (fr.clone(), q.nominal))
                    .collect(),
            );
            let (cqs, chs) = (
                self.cohorts[&name].child_queues.clone(),
                self.cohorts[&name].child_cohorts.clone(),
            );
            for q in &cqs {
                total.add_all(&self.lent_up(NodeRef::Queue(q)));
            }
            for c in &chs {
                total.add_all(&self.lent_up(NodeRef::Cohort(c)));
            }
            if let Some(c) = self.cohorts.get_mut(&name) {
                c.subtree_quota = total;
            }
        }
    }

    /// What a node contributes to its parent's subtree quota: `subtree − local` per fr.
    fn lent_up(&self, n: NodeRef<'_>) -> FrAmounts {
        let Some(node) = self.node(n) else {
            return FrAmounts::default();
        };
        FrAmounts(
            node.subtree_quota
                .0
                .iter()
                .map(|(fr, v)| (fr.clone(), v.saturating_sub(self.local_quota(n, fr))))
                .collect(),
        )
    }

    fn cohorts_children_first(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut done = BTreeSet::new();
        for c in self.cohorts.keys().filter(|c| !self.cyclic.contains(*c)) {
            visit(self, c, &mut done, &mut out);
        }
        out
    }

    /// Subtree quota of a node for `fr`.
    pub fn subtree_quota(&self, n: NodeRef<'_>, fr: &FlavorResource) -> Amount {
        self.node(n).map_or(0, |x| x.subtree_quota.get(fr))
    }

    /// Quota the node keeps for itself (not lent to its parent).
    pub fn local_quota(&self, n: NodeRef<'_>, fr: &FlavorResource) -> Amount {
        let Some(node) = self.node(n) else { return 0 };
        match node.quotas.get(fr).and_then(|q| q.lending_limit) {
            Some(lend) => node.subtree_quota.get(fr).saturating_sub(lend).max(0),
            None => 0,
        }
    }

    /// Usage charged to a node for `fr`.
    pub fn usage(&self, n: NodeRef<'_>, fr: &FlavorResource) -> Amount {
        self.node(n).map_or(0, |x| x.usage.get(fr))
    }

    /// The quota definition of a node for `fr`.
    pub fn quota(&self, n: NodeRef<'_>, fr: &FlavorResource) -> Quota {
        self.node(n)
            .and_then(|x| x.quotas.get(fr).copied())
            .unwrap_or_default()
    }

    fn local_available(&self, n: NodeRef<'_>, fr: &FlavorResource) -> Amount {
        self.local_quota(n, fr)
            .saturating_sub(self.usage(n, fr))
            .max(0)
    }

    /// What the node can still use of `fr` right now (may be negative when over-committed).
    pub fn available(&self, n: NodeRef<'_>, fr: &FlavorResource) -> Amount {
        match self.parent(n) {
            None => self.subtree_quota(n, fr).saturating_sub(self.usage(n, fr)),
            Some(p) => {
                let mut from_parent = self.available(NodeRef::Cohort(p), fr);
                if let Some(limit) = self.quota(n, fr).borrowing_limit {
                    let lq = self.local_quota(n, fr);
                    let borrowed = self.usage(n, fr).saturating_sub(lq).max(0);
                    let cap = self
                        .subtree_quota(n, fr)
                        .saturating_sub(lq)
                        .saturating_sub(borrowed)
                        .saturating_add(limit);
                    from_parent = from_parent.min(cap);
                }
                self.local_available(n, fr).saturating_add(from_parent)
            }
        }
    }

    /// The largest amount of `fr` the node could ever hold with the rest of the tree empty.
    pub fn potential_available(&self, n: NodeRef<'_>, fr: &FlavorResource) -> Amount {
        match self.parent(n) {
            None => self.subtree_quota(n, fr),
            Some(p) => {
                let mut v = self
                    .local_quota(n, fr)
                    .saturating_add(self.potential_available(NodeRef::Cohort(p), fr));
                if let Some(limit) = self.quota(n, fr).borrowing_limit {
                    v = v.min(self.subtree_quota(n, fr).saturating_add(limit));
                }
                v
            }
        }
    }

    /// Whether the node's usage of `fr` is within its subtree quota.
    pub fn within_nominal(&self, n: NodeRef<'_>, fr: &FlavorResource) -> bool {
        self.usage(n, fr) <= self.subtree_quota(n, fr)
    }

    /// Charges `usage` to a ClusterQueue (and what exceeds local quotas up the tree).
    pub fn add_usage(&mut self, queue: &str, usage: &FrAmounts) {
        for (fr, v) in &usage.0 {
            self.change(NodeRef::Queue(queue), fr, *v);
        }
    }

    /// Releases `usage` from a ClusterQueue.
    pub fn remove_usage(&mut self, queue: &str, usage: &FrAmounts) {
        for (fr, v) in &usage.0 {
            self.change(NodeRef::Queue(queue), fr, v.saturating_neg());
        }
    }

    fn change(&mut self, n: NodeRef<'_>, fr: &FlavorResource, delta: Amount) {
        if delta == 0 {
            return;
        }
        let lq = self.local_quota(n, fr);
        let old = self.usage(n, fr);
        let new = old.saturating_add(delta);
        let node = match n {
            NodeRef::Queue(q) => self.queues.get_mut(q),
            NodeRef::Cohort(c) => self.cohorts.get_mut(c),
        };
        let Some(node) = node else { return };
        node.usage.0.insert(fr.clone(), new);
        let up = new
            .saturating_sub(lq)
            .max(0)
            .saturating_sub(old.saturating_sub(lq).max(0));
        if up != 0
            && let Some(p) = self.parent(n).map(str::to_owned)
        {
            self.change(NodeRef::Cohort(&p), fr, up);
        }
    }

    /// Height of a cohort: 1 when it has only ClusterQueue children, else 1 + the highest child cohort.
    pub fn height(&self, cohort: &str) -> u32 {
        let Some(c) = self.cohorts.get(cohort) else {
            return 0;
        };
        1 + c
            .child_cohorts
            .iter()
            .filter(|x| !self.cyclic.contains(*x))
            .map(|x| self.height(x))
            .max()
            .unwrap_or(0)
    }

    /// How far up the tree a request of `value` for `fr` must borrow: 0 when it fits the queue's
    /// own nominal quota (or the queue has no cohort), else the height of the lowest ancestor whose
    /// subtree quota can hold it. Also whether that ancestor has a parent (reclaim possible higher up).
    pub fn borrowing_level(&self, queue: &str, fr: &FlavorResource, value: Amount) -> (u32, bool) {
        let q = NodeRef::Queue(queue);
        if self.usage(q, fr).saturating_add(value) <= self.quota(q, fr).nominal {
            return (0, false);
        }
        let Some(mut cur) = self.parent(q).map(str::to_owned) else {
            return (0, false);
        };
        let mut rem = value.saturating_sub(self.local_available(q, fr));
        loop {
            let c = NodeRef::Cohort(&cur);
            if self.usage(c, fr).saturating_add(rem) <= self.subtree_quota(c, fr) {
                return (self.height(&cur), self.parent(c).is_some());
            }
            rem = rem.saturating_sub(self.local_available(c, fr));
            match self.parent(c).map(str::to_owned) {
                Some(p) => cur = p,
                None => return (self.height(&cur), false),
            }
        }
    }

    /// Direct children of a cohort: (ClusterQueues, Cohorts), sorted, cycles excluded.
    pub fn children(&self, cohort: &str) -> (Vec<String>, Vec<String>) {
        self.cohorts.get(cohort).map_or_else(Default::default, |c| {
            (
                c.child_queues.iter().cloned().collect(),
                c.child_cohorts
                    .iter()
                    .filter(|x| !self.cyclic.contains(*x))
                    .cloned()
                    .collect(),
            )
        })
    }

    /// ClusterQueues of the subtree of `cohort` (sorted).
    pub fn queues_under(&self, cohort: &str) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(c) = self.cohorts.get(cohort) {
            out.extend(c.child_queues.iter().cloned());
            for child in &c.child_cohorts {
                if !self.cyclic.contains(child) {
                    out.extend(self.queues_under(child));
                }
            }
        }
        out.sort();
        out
    }

    /// Every Cohort not on a parent cycle with its subtree quota (its own nominal quota and what
    /// its children lend it, Kueue's `SubtreeQuota`).
    pub fn cohort_subtree_quotas(&self) -> impl Iterator<Item = (&str, &FrAmounts)> {
        self.cohorts
            .iter()
            .filter(|(n, _)| !self.cyclic.contains(*n))
            .map(|(n, c)| (n.as_str(), &c.subtree_quota))
    }

    /// Every flavor-resource that has quota somewhere in the tree (sorted).
    pub fn flavor_resources(&self) -> &[FlavorResource] {
        &self.frs
    }

    /// Ancestors of a ClusterQueue, nearest first.
    pub fn ancestors(&self, queue: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut cur = self.parent(NodeRef::Queue(queue)).map(str::to_owned);
        while let Some(c) = cur {
            if out.contains(&c) {
                break;
            }
            cur = self.parent(NodeRef::Cohort(&c)).map(str::to_owned);
            out.push(c);
        }
        out
    }
}

#[cfg(test)]
mod tests;
