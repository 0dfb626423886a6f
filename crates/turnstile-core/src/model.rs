//! The scheduler's view of ClusterQueues, flavors and workloads: plain values, built by
//! `turnstile-state` from API objects.

use std::collections::BTreeMap;

use crate::key::ObjectKey;
use crate::resources::{Amount, FrAmounts, Requests};

/// How a ClusterQueue orders and blocks its pending workloads.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum QueueingStrategy {
    /// A head that does not fit blocks the workloads behind it.
    StrictFifo,
    /// A head that does not fit is set aside; the next ones are tried.
    #[default]
    BestEffortFifo,
}

/// What to do when a flavor fits only by borrowing or by preempting.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FungibilityPolicy {
    /// Settle on the flavor.
    #[default]
    MayStopSearch,
    /// Try the next flavor first.
    TryNextFlavor,
}

/// Tie-break between borrowing and preemption.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FungibilityPreference {
    /// Prefer a flavor that needs borrowing over one that needs preemption.
    #[default]
    BorrowingOverPreemption,
    /// Prefer a flavor that needs preemption over one that needs borrowing.
    PreemptionOverBorrowing,
}

/// Flavor fungibility of a ClusterQueue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fungibility {
    /// When the workload fits by borrowing.
    pub when_can_borrow: FungibilityPolicy,
    /// When the workload fits by preempting.
    pub when_can_preempt: FungibilityPolicy,
    /// Which to prefer when the scan runs out.
    pub preference: FungibilityPreference,
}

impl Default for Fungibility {
    fn default() -> Self {
        Self {
            when_can_borrow: FungibilityPolicy::MayStopSearch,
            when_can_preempt: FungibilityPolicy::TryNextFlavor,
            preference: FungibilityPreference::BorrowingOverPreemption,
        }
    }
}

/// A preemption policy (`withinClusterQueue`, `reclaimWithinCohort`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PreemptionPolicy {
    /// Never.
    #[default]
    Never,
    /// Lower priority only.
    LowerPriority,
    /// Lower priority, or equal priority and newer.
    LowerOrNewerEqualPriority,
    /// Any workload.
    Any,
}

/// `borrowWithinCohort`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BorrowWithinCohort {
    /// Preemption of lower-priority workloads in the cohort while borrowing is allowed.
    pub lower_priority: bool,
    /// Only candidates with priority at most this may be preempted while borrowing.
    pub max_priority_threshold: Option<i32>,
}

/// Preemption policies of a ClusterQueue.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Preemption {
    /// Within the ClusterQueue.
    pub within_cluster_queue: PreemptionPolicy,
    /// In other ClusterQueues of the cohort that use this one's lent quota.
    pub reclaim_within_cohort: PreemptionPolicy,
    /// While borrowing.
    pub borrow_within_cohort: BorrowWithinCohort,
}

/// A resource group: resources whose flavor is chosen together.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ResourceGroup {
    /// Resources covered.
    pub covered: Vec<String>,
    /// Flavors, in the order they are tried.
    pub flavors: Vec<String>,
}

/// A ClusterQueue as the scheduler sees it (quotas live in the tree).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ClusterQueue {
    /// Name.
    pub name: String,
    /// Queueing strategy.
    pub strategy: QueueingStrategy,
    /// Resource groups.
    pub resource_groups: Vec<ResourceGroup>,
    /// Flavor fungibility.
    pub fungibility: Fungibility,
    /// Preemption policies.
    pub preemption: Preemption,
    /// Whether it may admit (not stopped, flavors present, not terminating).
    pub active: bool,
}

/// A node taint.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Taint {
    /// Key.
    pub key: String,
    /// Value.
    pub value: String,
    /// Effect: NoSchedule, PreferNoSchedule or NoExecute.
    pub effect: String,
}

/// A pod toleration.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Toleration {
    /// Key; empty matches every key (with operator Exists).
    pub key: String,
    /// `Exists`, else `Equal`.
    pub exists: bool,
    /// Value for `Equal`.
    pub value: String,
    /// Effect; empty matches every effect.
    pub effect: String,
}

impl Toleration {
    /// Whether this toleration tolerates `taint`.
    pub fn tolerates(&self, taint: &Taint) -> bool {
        (self.effect.is_empty() || self.effect == taint.effect)
            && (self.key.is_empty() || self.key == taint.key)
            && (self.exists || self.value == taint.value)
            && (!self.key.is_empty() || self.exists)
    }
}

/// A ResourceFlavor.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Flavor {
    /// Name.
    pub name: String,
    /// Labels of its nodes.
    pub node_labels: BTreeMap<String, String>,
    /// Taints of its nodes.
    pub node_taints: Vec<Taint>,
    /// Tolerations it adds to admitted pods.
    pub tolerations: Vec<Toleration>,
}

/// One node-selector requirement of a required node-affinity term.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct SelectorRequirement {
    /// Label key.
    pub key: String,
    /// In, NotIn, Exists, DoesNotExist, Gt, Lt.
    pub operator: String,
    /// Values.
    pub values: Vec<String>,
}

/// A group of identical pods.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct PodSet {
    /// Name.
    pub name: String,
    /// Pods.
    pub count: i32,
    /// Fewest pods for partial admission.
    pub min_count: Option<i32>,
    /// Requests of one pod, in scheduling units.
    pub per_pod: Requests,
    /// The pods' nodeSelector.
    pub node_selector: BTreeMap<String, String>,
    /// Required node affinity: OR of terms, each an AND of requirements.
    pub required_affinity: Vec<Vec<SelectorRequirement>>,
    /// The pods' tolerations.
    pub tolerations: Vec<Toleration>,
}

/// A workload.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Workload {
    /// `namespace/name`; unique.
    pub key: ObjectKey,
    /// UID, the final tie-break.
    pub uid: String,
    /// The ClusterQueue it is queued in or admitted to.
    pub cluster_queue: String,
    /// Effective priority.
    pub priority: i32,
    /// Queue-order timestamp (any monotonic unit, e.g. milliseconds since the epoch).
    pub timestamp: i64,
    /// Pod sets.
    pub pod_sets: Vec<PodSet>,
}

/// Flavors and count admitted for one pod set.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PodSetAssignment {
    /// Pod set name.
    pub name: String,
    /// Admitted pods (fewer than requested under partial admission).
    pub count: i32,
    /// Resource to flavor.
    pub flavors: BTreeMap<String, String>,
    /// Total usage per resource for `count` pods.
    pub usage: Requests,
}

/// A workload holding quota.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Admitted {
    /// The workload.
    pub workload: Workload,
    /// Its assignment.
    pub assignment: Vec<PodSetAssignment>,
    /// When its quota was reserved (same unit as timestamps).
    pub reserved_at: i64,
    /// Already evicted (still holding quota until released).
    pub evicted: bool,
}

impl Admitted {
    /// Usage per flavor-resource.
    pub fn usage(&self) -> FrAmounts {
        usage_of(&self.assignment)
    }
}

/// Usage per flavor-resource of an assignment.
pub fn usage_of(assignment: &[PodSetAssignment]) -> FrAmounts {
    let mut out = FrAmounts::default();
    for ps in assignment {
        for (resource, amount) in &ps.usage {
            if let Some(flavor) = ps.flavors.get(resource) {
                out.add(
                    &crate::resources::FlavorResource::new(flavor, resource),
                    *amount,
                );
            }
        }
    }
    out
}

/// Total requests of a pod set for `count` pods.
pub fn total(per_pod: &Requests, count: i32) -> BTreeMap<String, Amount> {
    per_pod
        .iter()
        .map(|(r, v)| (r.clone(), v.saturating_mul(i64::from(count))))
        .collect()
}
