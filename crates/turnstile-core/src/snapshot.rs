//! A scheduling snapshot: the quota tree with the usage of every admitted workload, the
//! ClusterQueues, the flavors. The cycle mutates its own copy as it admits and preempts.

use crate::key::ObjectKey;
use std::collections::BTreeMap;

use crate::model::{Admitted, ClusterQueue, Flavor};
use crate::preempt::Strategies;
use crate::resources::{FlavorResource, FrAmounts};
use crate::tree::{CohortQuotas, NodeRef, QueueQuotas, QuotaTree};

/// Everything a cycle decides from.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    /// Quotas and usage.
    pub tree: QuotaTree,
    /// ClusterQueues by name.
    pub queues: BTreeMap<String, ClusterQueue>,
    /// Flavors by name.
    pub flavors: BTreeMap<String, Flavor>,
    /// Workloads holding quota, per ClusterQueue, by key.
    pub admitted: BTreeMap<String, BTreeMap<ObjectKey, Admitted>>,
    /// Fair-sharing weights of ClusterQueues (`q/<name>`) and Cohorts (`c/<name>`); 1 when absent.
    pub weights: BTreeMap<String, f64>,
    /// Fair sharing is on, with these preemption strategies (set by the cycle from its config).
    pub fair_sharing: Option<Strategies>,
}

impl Snapshot {
    /// Builds a snapshot and charges every admitted workload's usage.
    pub fn new(
        queues: Vec<(ClusterQueue, QueueQuotas)>,
        cohorts: &BTreeMap<String, CohortQuotas>,
        flavors: Vec<Flavor>,
        admitted: Vec<Admitted>,
    ) -> Self {
        let quotas: BTreeMap<String, QueueQuotas> = queues
            .iter()
            .map(|(q, qq)| (q.name.clone(), qq.clone()))
            .collect();
        let mut snap = Snapshot {
            tree: QuotaTree::build(&quotas, cohorts),
            queues: queues
                .into_iter()
                .map(|(q, _)| (q.name.clone(), q))
                .collect(),
            flavors: flavors.into_iter().map(|f| (f.name.clone(), f)).collect(),
            admitted: BTreeMap::new(),
            weights: BTreeMap::new(),
            fair_sharing: None,
        };
        for a in admitted {
            snap.add(a);
        }
        snap
    }

    /// Charges an admitted workload.
    pub fn add(&mut self, a: Admitted) {
        let cq = a.workload.cluster_queue.clone();
        self.tree.add_usage(&cq, &a.usage());
        self.admitted
            .entry(cq)
            .or_default()
            .insert(a.workload.key.clone(), a);
    }

    /// Releases a workload's quota; returns it.
    pub fn remove(&mut self, queue: &str, key: &str) -> Option<Admitted> {
        let a = self.admitted.get_mut(queue)?.remove(key)?;
        self.tree.remove_usage(queue, &a.usage());
        Some(a)
    }

    /// What the ClusterQueue can still use of `fr`, never negative.
    pub fn available(&self, queue: &str, fr: &FlavorResource) -> i64 {
        self.tree.available(NodeRef::Queue(queue), fr).max(0)
    }

    /// Whether `usage` fits the ClusterQueue now.
    pub fn fits(&self, queue: &str, usage: &FrAmounts) -> bool {
        usage
            .0
            .iter()
            .all(|(fr, v)| *v <= self.available(queue, fr))
    }

    /// The fair-sharing weight of a node.
    pub fn weight(&self, node: NodeRef<'_>) -> f64 {
        let key = match node {
            NodeRef::Queue(q) => format!("q/{q}"),
            NodeRef::Cohort(c) => format!("c/{c}"),
        };
        self.weights.get(&key).copied().unwrap_or(1.0)
    }

    /// Whether the ClusterQueue can admit at all.
    pub fn is_active(&self, queue: &str) -> bool {
        self.queues.get(queue).is_some_and(|q| q.active) && !self.tree.in_cycle(queue)
    }
}
