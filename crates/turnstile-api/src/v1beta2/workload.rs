//! Workload: the unit of admission — pod sets with their requests, a queue, a priority.

// kube-derive's `printcolumn(...)` attributes repeat the same keys by design.
#![allow(clippy::duplicated_attributes)]

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{PodTemplateSpec, Toleration};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{
    AdmissionCheckReference, ClusterQueueReference, LocalQueueName, PodSetReference,
    ResourceFlavorReference, ResourceList,
};

/// CEL helper: whether `obj` has a condition of type `t` with status True.
macro_rules! cond_true {
    ($obj:literal, $t:literal) => {
        concat!(
            "(has(",
            $obj,
            ".status) && has(",
            $obj,
            ".status.conditions) && ",
            $obj,
            ".status.conditions.exists(c, c.type == '",
            $t,
            "' && c.status == 'True'))"
        )
    };
}

/// Pod sets, queue and priority of a unit of work waiting for, or holding, quota.
#[derive(CustomResource, KubeSchema, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[kube(
    group = "kueue.x-k8s.io",
    version = "v1beta2",
    kind = "Workload",
    root = "WorkloadCrd",
    plural = "workloads",
    namespaced,
    shortname = "kwl",
    shortname = "kueueworkload",
    shortname = "kueueworkloads",
    status = "WorkloadStatus",
    derive = "PartialEq",
    derive = "Default",
    doc = "Workload is a unit of work that is admitted as a whole against a ClusterQueue's quota.",
    selectable = ".status.admission.clusterQueue",
    printcolumn(name = "Queue", type_ = "string", json_path = ".spec.queueName", description = "LocalQueue the workload was submitted to"),
    printcolumn(name = "Reserved in", type_ = "string", json_path = ".status.admission.clusterQueue", description = "ClusterQueue holding the workload's quota"),
    printcolumn(name = "Admitted", type_ = "string", json_path = ".status.conditions[?(@.type=='Admitted')].status", description = "Whether the workload is admitted"),
    printcolumn(name = "Finished", type_ = "string", json_path = ".status.conditions[?(@.type=='Finished')].status", description = "Whether the workload has finished"),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp", description = "Time since creation"),
    validation = Rule::new(concat!(
        "(", cond_true!("self", "QuotaReserved"), " && has(self.status.admission)) ? ",
        "size(self.status.admission.podSetAssignments) == size(self.spec.podSets) : true"))
        .message("podSetAssignments must have the same number of podSets as the spec"),
    validation = Rule::new(concat!(
        cond_true!("oldSelf", "QuotaReserved"),
        " ? has(self.spec.priorityClassRef) == has(oldSelf.spec.priorityClassRef) : true"))
        .message("priorityClassRef is immutable while workload quota reserved"),
    validation = Rule::new(concat!(
        "(", cond_true!("oldSelf", "QuotaReserved"), " && has(oldSelf.spec.priorityClassRef) && has(self.spec.priorityClassRef)) ? ",
        "self.spec.priorityClassRef.group == oldSelf.spec.priorityClassRef.group : true"))
        .message("priorityClassRef.group is immutable while workload quota reserved"),
    validation = Rule::new(concat!(
        "(", cond_true!("oldSelf", "QuotaReserved"), " && has(oldSelf.spec.priorityClassRef) && has(self.spec.priorityClassRef)) ? ",
        "self.spec.priorityClassRef.kind == oldSelf.spec.priorityClassRef.kind : true"))
        .message("priorityClassRef.kind is immutable while workload quota reserved"),
    validation = Rule::new(concat!(
        "(", cond_true!("oldSelf", "QuotaReserved"), " && has(oldSelf.spec.priorityClassRef) && has(self.spec.priorityClassRef) ",
        "&& self.spec.priorityClassRef.group == 'scheduling.k8s.io' && self.spec.priorityClassRef.kind == 'PriorityClass') ? ",
        "self.spec.priorityClassRef.name == oldSelf.spec.priorityClassRef.name : true"))
        .message("priorityClassRef.name is immutable for scheduling.k8s.io/priorityclass while workload quota reserved"),
    validation = Rule::new(concat!(
        "(", cond_true!("oldSelf", "QuotaReserved"), " && ", cond_true!("self", "QuotaReserved"), ") ? ",
        "(has(self.spec.queueName) ? has(oldSelf.spec.queueName) && self.spec.queueName == oldSelf.spec.queueName : !has(oldSelf.spec.queueName)) : true"))
        .message("queueName is immutable while workload quota reserved"),
    validation = Rule::new(concat!(
        "(", cond_true!("oldSelf", "Admitted"), " && ", cond_true!("self", "Admitted"), ") ? ",
        "(has(self.spec.maximumExecutionTimeSeconds) ? self.spec.maximumExecutionTimeSeconds : 0) == ",
        "(has(oldSelf.spec.maximumExecutionTimeSeconds) ? oldSelf.spec.maximumExecutionTimeSeconds : 0) : true"))
        .message("maximumExecutionTimeSeconds is immutable while workload quota reserved"),
)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("has(self.priorityClassRef) ? has(self.priority) : true")
    .message("priority should not be nil when priorityClassRef is set"))]
pub struct WorkloadSpec {
    /// The groups of identical pods of this workload. 1 to 18.
    #[serde(default)]
    #[schemars(transform = super::common::no_default)]
    #[schemars(extend("minItems" = 1, "maxItems" = 18, "x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"]))]
    pub pod_sets: Vec<PodSet>,

    /// The LocalQueue, in the workload's namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_name: Option<LocalQueueName>,

    /// The priority class the priority comes from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority_class_ref: Option<PriorityClassRef>,

    /// The workload's priority; higher is admitted first. Unset counts as 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<i32>,

    /// False evicts the workload and keeps it out of the queues.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = true))]
    pub active: Option<bool>,

    /// Once admitted longer than this (summed over admissions), the workload is deactivated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub maximum_execution_time_seconds: Option<i32>,

    /// Gates that must open before the workload may preempt (accepted, not acted on yet). At most 8.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("maxItems" = 8, "x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"]))]
    pub preemption_gates: Vec<PreemptionGate>,
}

impl WorkloadSpec {
    /// The effective priority: `priority`, or 0 when unset.
    pub fn effective_priority(&self) -> i32 {
        self.priority.unwrap_or(0)
    }

    /// Whether the workload is active (`active` unset counts as true).
    pub fn is_active(&self) -> bool {
        self.active.unwrap_or(true)
    }
}

/// API group of a priority class reference.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum PriorityClassGroup {
    /// A WorkloadPriorityClass.
    #[serde(rename = "kueue.x-k8s.io")]
    Kueue,
    /// A pod PriorityClass.
    #[serde(rename = "scheduling.k8s.io")]
    Scheduling,
}

/// Kind of a priority class reference.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum PriorityClassKind {
    /// `kueue.x-k8s.io` WorkloadPriorityClass.
    WorkloadPriorityClass,
    /// `scheduling.k8s.io` PriorityClass.
    PriorityClass,
}

/// Reference to the class a workload's priority comes from.
#[derive(KubeSchema, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    validation = Rule::new("self.group != 'scheduling.k8s.io' || self.kind == 'PriorityClass'")
        .message("only the PriorityClass kind is allowed for the scheduling.k8s.io group"),
    validation = Rule::new("self.group != 'kueue.x-k8s.io' || self.kind == 'WorkloadPriorityClass'")
        .message("only the WorkloadPriorityClass kind is allowed for the kueue.x-k8s.io group"),
)]
pub struct PriorityClassRef {
    /// `kueue.x-k8s.io` or `scheduling.k8s.io`.
    pub group: PriorityClassGroup,
    /// `WorkloadPriorityClass` or `PriorityClass`.
    pub kind: PriorityClassKind,
    /// The class name.
    #[schemars(
        length(min = 1, max = 253),
        regex(pattern = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
    )]
    pub name: String,
}

/// A group of identical pods.
#[derive(KubeSchema, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("has(self.minCount) ? self.minCount <= self.count : true")
    .message("minCount should be positive and less or equal to count"))]
pub struct PodSet {
    /// The pod set's name, unique in the workload.
    #[serde(default = "PodSetReference::main")]
    #[schemars(extend("default" = "main"))]
    pub name: PodSetReference,

    /// The pods' template; only its labels and annotations matter in its metadata.
    pub template: PodTemplateSpec,

    /// Number of pods.
    #[serde(default = "one")]
    #[schemars(range(min = 0), extend("default" = 1))]
    pub count: i32,

    /// With partial admission, the fewest pods the workload may be admitted with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub min_count: Option<i32>,

    /// Topology-aware scheduling request (accepted, not acted on yet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topology_request: Option<PodSetTopologyRequest>,
}

fn one() -> i32 {
    1
}

/// Topology-aware scheduling request of a pod set.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PodSetTopologyRequest {
    /// Topology level all pods must share.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 63))]
    pub required: Option<String>,
    /// Topology level the pods should share if possible.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 63))]
    pub preferred: Option<String>,
    /// No topology constraint, but placed by topology-aware scheduling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unconstrained: Option<bool>,
    /// Label holding the pod's index.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 317))]
    pub pod_index_label: Option<String>,
    /// Label holding the pod's sub-group index.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 317))]
    pub sub_group_index_label: Option<String>,
    /// Number of sub-groups.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_group_count: Option<i32>,
    /// Pod sets with the same group name are placed together.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 256))]
    pub pod_set_group_name: Option<String>,
    /// Topology level each slice must share.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 63))]
    pub pod_set_slice_required_topology: Option<String>,
    /// Pods per slice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_set_slice_size: Option<i32>,
    /// Further slice constraints. At most 3.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("maxItems" = 3, "x-kubernetes-list-type" = "atomic"))]
    pub podset_slice_required_topology_constraints: Vec<PodsetSliceRequiredTopologyConstraint>,
}

/// A slice constraint of a topology request.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PodsetSliceRequiredTopologyConstraint {
    /// Topology level.
    #[schemars(length(min = 1, max = 63))]
    pub topology: String,
    /// Pods per slice at that level.
    #[schemars(range(min = 1))]
    pub size: i32,
}

/// A preemption gate of a workload.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PreemptionGate {
    /// The gate's name.
    #[schemars(length(min = 1, max = 63))]
    pub name: String,
}

/// Observed state of a Workload.
#[derive(KubeSchema, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    validation = Rule::new("has(oldSelf.clusterName) && has(self.clusterName) ? self.clusterName == oldSelf.clusterName : true")
        .message("clusterName is immutable once set"),
    validation = Rule::new("has(self.clusterName) ? !has(self.nominatedClusterNames) || size(self.nominatedClusterNames) == 0 : true")
        .message("clusterName and nominatedClusterNames are mutually exclusive"),
)]
pub struct WorkloadStatus {
    /// Conditions: QuotaReserved, Admitted, Evicted, Preempted, Requeued, PodsReady, Finished,
    /// DeactivationTarget. At most 16.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("maxItems" = 16, "x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,

    /// Where the workload holds quota, set with QuotaReserved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admission: Option<Admission>,

    /// Backoff bookkeeping of requeues.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requeue_state: Option<RequeueState>,

    /// Pods per pod set whose quota is no longer needed. At most 18.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("maxItems" = 18, "x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"]))]
    pub reclaimable_pods: Vec<ReclaimablePod>,

    /// States of the admission checks. At most 8.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("maxItems" = 8, "x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"]))]
    pub admission_checks: Vec<AdmissionCheckState>,

    /// Total requests per pod set of a pending workload. At most 18.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("maxItems" = 18, "x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"]))]
    pub resource_requests: Vec<PodSetRequest>,

    /// Seconds admitted in earlier admissions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accumulated_past_execution_time_seconds: Option<i32>,

    /// Eviction counts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduling_stats: Option<SchedulingStats>,

    /// Worker clusters nominated by MultiKueue (accepted, not acted on). At most 20.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("maxItems" = 20, "x-kubernetes-list-type" = "atomic"), inner(length(max = 256)))]
    pub nominated_cluster_names: Vec<String>,

    /// The worker cluster running the workload (MultiKueue; accepted, not acted on).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 256))]
    pub cluster_name: Option<String>,

    /// Unhealthy nodes to replace (topology-aware scheduling; accepted, not acted on). At most 8.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("maxItems" = 8, "x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"]))]
    pub unhealthy_nodes: Vec<UnhealthyNode>,

    /// States of the preemption gates. At most 8.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("maxItems" = 8, "x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"]))]
    pub preemption_gates: Vec<PreemptionGateState>,
}

/// Where a workload holds quota.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Admission {
    /// The ClusterQueue.
    #[serde(default)]
    #[schemars(transform = super::common::no_default)]
    pub cluster_queue: ClusterQueueReference,

    /// Flavor and usage per pod set. At most 18.
    #[serde(default)]
    #[schemars(transform = super::common::no_default)]
    #[schemars(extend("maxItems" = 18, "x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"]))]
    pub pod_set_assignments: Vec<PodSetAssignment>,
}

/// Flavors and usage admitted for one pod set.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PodSetAssignment {
    /// The pod set.
    #[serde(default = "PodSetReference::main")]
    #[schemars(extend("default" = "main"))]
    pub name: PodSetReference,

    /// Resource name to the flavor it was admitted on.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub flavors: BTreeMap<String, ResourceFlavorReference>,

    /// Total admitted usage of the pod set (all its admitted pods).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub resource_usage: ResourceList,

    /// Admitted pod count (lower than the pod set's count under partial admission).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub count: Option<i32>,

    /// Topology assignment (accepted, not acted on yet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topology_assignment: Option<TopologyAssignment>,

    /// State of a delayed topology request: Pending or Ready.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("maxLength" = 7))]
    pub delayed_topology_request: Option<DelayedTopologyRequestState>,
}

/// State of a delayed topology request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum DelayedTopologyRequestState {
    /// Waiting.
    Pending,
    /// Done.
    Ready,
}

/// Compressed per-domain topology assignment.
#[derive(KubeSchema, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("self.slices.all(s, size(s.valuesPerLevel) == size(self.levels))")
    .message("valuesPerLevel must have the same length as the number of levels in this TopologyAssignment"))]
pub struct TopologyAssignment {
    /// Node labels of the topology levels. 1 to 16.
    #[schemars(extend("minItems" = 1, "maxItems" = 16, "x-kubernetes-list-type" = "atomic"), inner(length(max = 317)))]
    pub levels: Vec<String>,

    /// Slices of domains. At most 1000.
    #[schemars(extend("maxItems" = 1000, "x-kubernetes-list-type" = "atomic"))]
    pub slices: Vec<TopologyAssignmentSlice>,
}

/// A slice of topology domains.
#[derive(KubeSchema, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    validation = Rule::new("has(self.podCounts.individual) ? size(self.podCounts.individual) == self.domainCount : true")
        .message("podCounts.individual must have length equal to domainCount"),
    validation = Rule::new("self.valuesPerLevel.all(v, has(v.individual) ? size(v.individual.roots) == self.domainCount : true)")
        .message("valuesPerLevel.individual, if set, must have roots of length equal to domainCount of this TopologyAssignmentSlice"),
)]
pub struct TopologyAssignmentSlice {
    /// Number of domains.
    #[schemars(range(min = 1))]
    pub domain_count: i32,
    /// Values per level. 1 to 16.
    #[schemars(extend("minItems" = 1, "maxItems" = 16, "x-kubernetes-list-type" = "atomic"))]
    pub values_per_level: Vec<TopologyAssignmentSliceLevelValues>,
    /// Pod counts per domain.
    pub pod_counts: TopologyAssignmentSlicePodCounts,
}

/// Values of one level: one for all domains, or one per domain.
#[derive(KubeSchema, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("has(self.universal) != has(self.individual)")
    .message("exactly one of the fields in [universal individual] must be set"))]
pub struct TopologyAssignmentSliceLevelValues {
    /// The value shared by all domains.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 63))]
    pub universal: Option<String>,
    /// Values per domain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub individual: Option<TopologyAssignmentSliceLevelIndividualValues>,
}

/// Per-domain values, with a common prefix and suffix.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TopologyAssignmentSliceLevelIndividualValues {
    /// Common prefix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 63))]
    pub prefix: Option<String>,
    /// Common suffix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 63))]
    pub suffix: Option<String>,
    /// The varying parts. 1 to 100000.
    #[schemars(extend("minItems" = 1, "maxItems" = 100_000, "x-kubernetes-list-type" = "atomic"), inner(length(max = 63)))]
    pub roots: Vec<String>,
}

/// Pod counts: one for all domains, or one per domain.
#[derive(KubeSchema, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("[has(self.universal), has(self.individual)].filter(x, x).size() == 1")
    .message("exactly one of the fields in [universal individual] must be set"))]
pub struct TopologyAssignmentSlicePodCounts {
    /// Pods in every domain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub universal: Option<i32>,
    /// Pods per domain. 1 to 100000.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("minItems" = 1, "maxItems" = 100_000, "x-kubernetes-list-type" = "atomic"), inner(range(min = 1)))]
    pub individual: Vec<i32>,
}

/// Requeue backoff state.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RequeueState {
    /// Times the workload was requeued after a timeout or a retry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub count: Option<i32>,
    /// When the workload may be queued again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requeue_at: Option<Time>,
}

/// Pods of a pod set whose quota can be released.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReclaimablePod {
    /// The pod set.
    pub name: PodSetReference,
    /// Number of pods.
    #[schemars(range(min = 0))]
    pub count: i32,
}

/// State of one admission check.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AdmissionCheckState {
    /// The AdmissionCheck.
    pub name: AdmissionCheckReference,
    /// Pending, Ready, Retry or Rejected.
    pub state: CheckState,
    /// When the state last changed.
    #[schemars(extend("type" = "string", "format" = "date-time"))]
    pub last_transition_time: Time,
    /// Human-readable detail.
    #[schemars(length(max = 32768))]
    pub message: String,
    /// Seconds to wait before a retry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub requeue_after_seconds: Option<i32>,
    /// Retries so far.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub retry_count: Option<i32>,
    /// Changes the check asks for in the pod sets. At most 18.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("maxItems" = 18, "x-kubernetes-list-type" = "atomic"))]
    pub pod_set_updates: Vec<PodSetUpdate>,
}

/// Admission check states.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum CheckState {
    /// Not decided yet.
    Pending,
    /// Passed.
    Ready,
    /// Failed, to be retried.
    Retry,
    /// Failed for good.
    Rejected,
}

/// Changes an admission check asks for in a pod set.
#[derive(KubeSchema, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodSetUpdate {
    /// The pod set.
    pub name: PodSetReference,
    /// Labels to add.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Annotations to add.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// Node selector entries to add.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub node_selector: BTreeMap<String, String>,
    /// Tolerations to add. At most 8.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("maxItems" = 8, "x-kubernetes-list-type" = "atomic"))]
    #[x_kube(
        validation = Rule::new("self.all(t, has(t.key) || (has(t.operator) && t.operator == 'Exists'))")
            .message("operator must be Exists when 'key' is empty, which means 'match all values and all keys'"),
        validation = Rule::new("self.all(t, !has(t.tolerationSeconds) || (has(t.effect) && t.effect == 'NoExecute'))")
            .message("effect must be 'NoExecute' when 'tolerationSeconds' is set"),
        validation = Rule::new("self.all(t, !has(t.operator) || t.operator == 'Equal' || t.operator == 'Exists')")
            .message("supported toleration values: 'Equal'(default), 'Exists'"),
        validation = Rule::new("self.all(t, !has(t.operator) || t.operator != 'Exists' || !has(t.value))")
            .message("a value must be empty when 'operator' is 'Exists'"),
        validation = Rule::new("self.all(t, !has(t.effect) || t.effect == 'NoSchedule' || t.effect == 'PreferNoSchedule' || t.effect == 'NoExecute')")
            .message("supported taint effect values: 'NoSchedule', 'PreferNoSchedule', 'NoExecute'"),
    )]
    pub tolerations: Vec<Toleration>,
}

/// Total requests of one pod set.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PodSetRequest {
    /// The pod set.
    pub name: PodSetReference,
    /// Requests of all its pods.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub resources: ResourceList,
}

/// Scheduling statistics.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SchedulingStats {
    /// Evictions by reason and cause. At most 256.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("maxItems" = 256, "x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["reason", "underlyingCause"]))]
    pub evictions: Vec<WorkloadSchedulingStatsEviction>,
}

/// Count of evictions for one reason and cause.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkloadSchedulingStatsEviction {
    /// The eviction reason.
    #[schemars(length(max = 316))]
    pub reason: String,
    /// The underlying cause, possibly empty.
    #[schemars(length(max = 316))]
    pub underlying_cause: String,
    /// Number of evictions.
    #[schemars(range(min = 0))]
    pub count: i32,
}

/// A node to be replaced.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UnhealthyNode {
    /// Node name.
    #[schemars(length(max = 63))]
    pub name: String,
}

/// Position of a preemption gate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum PreemptionGatePosition {
    /// The gate blocks preemption.
    Closed,
    /// The gate allows preemption.
    Open,
}

/// State of one preemption gate.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PreemptionGateState {
    /// The gate.
    #[schemars(length(min = 1, max = 63))]
    pub name: String,
    /// Closed or Open.
    pub position: PreemptionGatePosition,
    /// When the position last changed.
    #[schemars(extend("type" = "string", "format" = "date-time"))]
    pub last_transition_time: Time,
}
