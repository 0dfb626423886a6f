//! ClusterQueue: a cluster-wide pool of quota that LocalQueues point to.

// kube-derive's `printcolumn(...)` attributes repeat the same keys by design.
#![allow(clippy::duplicated_attributes)]

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, LabelSelector};
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{
    AdmissionCheckReference, AdmissionScope, CohortReference, FairSharing, FairSharingStatus,
    Quantity, ResourceFlavorReference, StopPolicy,
};

/// Quota per flavor and resource, cohort membership, queueing and preemption policies.
#[derive(CustomResource, KubeSchema, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[kube(
    group = "kueue.x-k8s.io",
    version = "v1beta2",
    kind = "ClusterQueue",
    root = "ClusterQueueCrd",
    plural = "clusterqueues",
    shortname = "cq",
    status = "ClusterQueueStatus",
    derive = "PartialEq",
    derive = "Default",
    doc = "ClusterQueue holds quota that the workloads of its LocalQueues are admitted against.",
    printcolumn(
        name = "Cohort",
        type_ = "string",
        json_path = ".spec.cohortName",
        description = "Cohort the ClusterQueue belongs to"
    ),
    printcolumn(
        name = "Strategy",
        type_ = "string",
        json_path = ".spec.queueingStrategy",
        description = "Queueing strategy that orders pending workloads",
        priority = 1
    ),
    printcolumn(
        name = "Pending Workloads",
        type_ = "integer",
        json_path = ".status.pendingWorkloads",
        description = "Workloads waiting for admission"
    ),
    printcolumn(
        name = "Admitted Workloads",
        type_ = "integer",
        json_path = ".status.admittedWorkloads",
        description = "Admitted workloads that have not finished",
        priority = 1
    )
)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("has(self.cohortName) || !has(self.resourceGroups) || self.resourceGroups.all(g, g.flavors.all(f, f.resources.all(r, !has(r.borrowingLimit))))")
    .message("borrowingLimit must be nil when cohort is empty"))]
pub struct ClusterQueueSpec {
    /// Groups of resources and the flavors that give quota for them, tried in order. A resource
    /// and a flavor may each appear in only one group. At most 16.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("maxItems" = 16, "x-kubernetes-list-type" = "atomic"))]
    pub resource_groups: Vec<ResourceGroup>,

    /// The cohort this ClusterQueue borrows from and lends to. Empty: no borrowing, no lending.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cohort_name: Option<CohortReference>,

    /// How pending workloads are ordered and whether an inadmissible head blocks the others.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "BestEffortFIFO"))]
    pub queueing_strategy: Option<QueueingStrategy>,

    /// Namespaces whose LocalQueues may submit here. Unset selects none; `{}` selects all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace_selector: Option<LabelSelector>,

    /// How flavors are tried when a workload could borrow or preempt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = {}))]
    pub flavor_fungibility: Option<FlavorFungibility>,

    /// When pending workloads may preempt admitted ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = {}))]
    pub preemption: Option<ClusterQueuePreemption>,

    /// Admission checks a workload must pass (accepted, not acted on yet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admission_checks_strategy: Option<AdmissionChecksStrategy>,

    /// None admits normally; Hold admits nothing new; HoldAndDrain also evicts admitted workloads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "None"))]
    pub stop_policy: Option<StopPolicy>,

    /// Fair-sharing weight, used when fair sharing is enabled in the configuration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fair_sharing: Option<FairSharing>,

    /// Admission fair sharing between LocalQueues (accepted, not acted on yet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admission_scope: Option<AdmissionScope>,

    /// Concurrent admission across flavors (accepted, not acted on yet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrent_admission_policy: Option<ConcurrentAdmissionPolicy>,
}

/// Pending-workload ordering.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    JsonSchema,
)]
pub enum QueueingStrategy {
    /// Priority, then creation time; a head that does not fit blocks the ones behind it.
    StrictFIFO,
    /// Priority, then creation time; a head that does not fit lets the next ones try.
    #[default]
    BestEffortFIFO,
}

/// A set of resources and the flavors that give quota for them.
#[derive(KubeSchema, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("self.flavors.all(f, size(f.resources) == size(self.coveredResources))")
    .message("flavors must have the same number of resources as the coveredResources"))]
pub struct ResourceGroup {
    /// The resources this group gives quota for. 1 to 64.
    #[schemars(extend("minItems" = 1, "maxItems" = 64, "x-kubernetes-list-type" = "atomic"))]
    pub covered_resources: Vec<String>,

    /// The flavors, in the order they are tried. 1 to 64.
    #[schemars(extend("minItems" = 1, "maxItems" = 64, "x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"]))]
    pub flavors: Vec<FlavorQuotas>,
}

/// Quota of one flavor for each covered resource.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FlavorQuotas {
    /// The ResourceFlavor.
    pub name: ResourceFlavorReference,

    /// One entry per covered resource, in the same order. 1 to 64.
    #[schemars(extend("minItems" = 1, "maxItems" = 64, "x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"]))]
    pub resources: Vec<ResourceQuota>,
}

/// Quota of one resource in one flavor.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResourceQuota {
    /// The resource name, e.g. `cpu`.
    pub name: String,

    /// Quantity available to this queue's admitted workloads at any time. Not negative.
    pub nominal_quota: Quantity,

    /// Most this queue may borrow from its cohort above nominalQuota. Unset: no limit.
    /// Only allowed with a cohort.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub borrowing_limit: Option<Quantity>,

    /// Most of nominalQuota this queue lends to its cohort. Unset: all of it.
    /// Only allowed with a cohort.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lending_limit: Option<Quantity>,
}

/// What to do when a flavor would need borrowing or preemption.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    JsonSchema,
)]
pub enum FlavorFungibilityPolicy {
    /// Settle on this flavor.
    #[default]
    MayStopSearch,
    /// Try the next flavor first.
    TryNextFlavor,
}

/// Which of borrowing and preemption to prefer when both are possible.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
pub enum FlavorFungibilityPreference {
    /// Prefer a flavor that only needs borrowing.
    BorrowingOverPreemption,
    /// Prefer a flavor that only needs preemption.
    PreemptionOverBorrowing,
}

/// How the flavor search proceeds when a flavor needs borrowing or preemption.
#[derive(KubeSchema, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("has(self.preference) ? self.whenCanBorrow == 'TryNextFlavor' && self.whenCanPreempt == 'TryNextFlavor' : true")
    .message("preference can only be set when both whenCanBorrow and whenCanPreempt are TryNextFlavor"))]
pub struct FlavorFungibility {
    /// When the workload fits a flavor by borrowing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "MayStopSearch"))]
    pub when_can_borrow: Option<FlavorFungibilityPolicy>,

    /// When the workload fits a flavor by preempting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "TryNextFlavor"))]
    pub when_can_preempt: Option<FlavorFungibilityPolicy>,

    /// Tie-break between borrowing and preemption; unset behaves as BorrowingOverPreemption.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preference: Option<FlavorFungibilityPreference>,
}

/// Policy for preempting workloads of other ClusterQueues that use this one's nominal quota.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    JsonSchema,
)]
pub enum ReclaimWithinCohortPolicy {
    /// Never preempt.
    #[default]
    Never,
    /// Preempt workloads of lower priority.
    LowerPriority,
    /// Preempt any workload.
    Any,
}

/// Policy for preempting workloads of the same ClusterQueue.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    JsonSchema,
)]
pub enum WithinClusterQueuePolicy {
    /// Never preempt.
    #[default]
    Never,
    /// Preempt workloads of lower priority.
    LowerPriority,
    /// Preempt lower-priority workloads, and equal-priority ones that are newer.
    LowerOrNewerEqualPriority,
}

/// Policy for preempting while borrowing.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    JsonSchema,
)]
pub enum BorrowWithinCohortPolicy {
    /// Never preempt to borrow.
    #[default]
    Never,
    /// Preempt lower-priority workloads of the cohort to borrow.
    LowerPriority,
}

/// When a pending workload may preempt admitted ones.
#[derive(KubeSchema, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("self.reclaimWithinCohort != 'Never' || !has(self.borrowWithinCohort) || self.borrowWithinCohort.policy == 'Never'")
    .message("reclaimWithinCohort=Never and borrowWithinCohort.Policy!=Never"))]
pub struct ClusterQueuePreemption {
    /// Whether to preempt workloads of other queues of the cohort that use this queue's
    /// nominal quota: Never, LowerPriority or Any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "Never"))]
    pub reclaim_within_cohort: Option<ReclaimWithinCohortPolicy>,

    /// Whether to preempt in the cohort in order to borrow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = {}))]
    pub borrow_within_cohort: Option<BorrowWithinCohort>,

    /// Whether to preempt workloads of this queue: Never, LowerPriority or LowerOrNewerEqualPriority.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "Never"))]
    pub within_cluster_queue: Option<WithinClusterQueuePolicy>,
}

/// Preemption in the cohort while borrowing.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BorrowWithinCohort {
    /// Never or LowerPriority.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "Never"))]
    pub policy: Option<BorrowWithinCohortPolicy>,

    /// Only workloads with a priority up to this value may be preempted. Unset: no bound.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_priority_threshold: Option<i32>,
}

/// Admission checks of a ClusterQueue.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AdmissionChecksStrategy {
    /// The checks, each optionally limited to some flavors. 1 to 64.
    #[schemars(extend("minItems" = 1, "maxItems" = 64, "x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"]))]
    pub admission_checks: Vec<AdmissionCheckStrategyRule>,
}

/// One admission check and the flavors it applies to.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AdmissionCheckStrategyRule {
    /// The AdmissionCheck.
    pub name: AdmissionCheckReference,

    /// Flavors the check applies to; empty means every flavor. At most 64.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("maxItems" = 64, "x-kubernetes-list-type" = "set"))]
    pub on_flavors: Vec<ResourceFlavorReference>,
}

/// Concurrent admission across flavors.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConcurrentAdmissionPolicy {
    /// How a workload migrates between flavors.
    pub migration: ConcurrentAdmissionMigration,
}

/// Flavor migration of concurrent admission.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConcurrentAdmissionMigration {
    /// TryPreferredFlavors or RetainFirstAdmission.
    #[schemars(extend("maxLength" = 253))]
    pub mode: ConcurrentAdmissionMigrationMode,

    /// Limits on the migration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub constraints: Option<ConcurrentAdmissionConstraints>,
}

/// Concurrent admission migration modes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum ConcurrentAdmissionMigrationMode {
    /// Keep trying flavors earlier in the list.
    #[default]
    TryPreferredFlavors,
    /// Keep the first admission.
    RetainFirstAdmission,
}

/// Constraints on concurrent admission migration.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConcurrentAdmissionConstraints {
    /// The last flavor worth migrating to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_acceptable_flavor_name: Option<ResourceFlavorReference>,
}

/// Observed state of a ClusterQueue.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClusterQueueStatus {
    /// Conditions; the only type is `Active`. At most 16.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("maxItems" = 16, "x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,

    /// Quota held by workloads with QuotaReserved, per flavor and resource. At most 64.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("maxItems" = 64, "x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"]))]
    pub flavors_reservation: Vec<FlavorUsage>,

    /// Quota held by Admitted workloads, per flavor and resource. At most 64.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("maxItems" = 64, "x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"]))]
    pub flavors_usage: Vec<FlavorUsage>,

    /// Workloads waiting for admission.
    #[serde(default)]
    #[schemars(transform = super::common::no_default)]
    pub pending_workloads: i32,

    /// Workloads holding quota.
    #[serde(default)]
    #[schemars(transform = super::common::no_default)]
    pub reserving_workloads: i32,

    /// Admitted workloads that have not finished.
    #[serde(default)]
    #[schemars(transform = super::common::no_default)]
    pub admitted_workloads: i32,

    /// Fair-sharing state, when fair sharing is enabled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fair_sharing: Option<FairSharingStatus>,
}

/// Usage of one flavor.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FlavorUsage {
    /// The ResourceFlavor.
    pub name: ResourceFlavorReference,

    /// Usage per resource. At most 64.
    #[schemars(extend("maxItems" = 64, "x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"]))]
    pub resources: Vec<ResourceUsage>,
}

/// Usage of one resource.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResourceUsage {
    /// The resource name.
    pub name: String,

    /// Total quantity used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<Quantity>,

    /// The part of total above nominal quota (borrowed from the cohort).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub borrowed: Option<Quantity>,
}
