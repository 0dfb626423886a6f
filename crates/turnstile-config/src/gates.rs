//! Kueue v0.19.2's feature gates (`featureGates` in the Configuration), with their defaults, and
//! what Turnstile does with each: a gate a file sets must mean the same here as in Kueue, or the
//! manager refuses to start naming it — never a silent difference in how batch Jobs are handled.

use crate::field::{BadValue, FieldError, FieldPath};
use crate::types::Configuration;

/// What setting a gate does in Turnstile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GateUse {
    /// Turnstile acts on it (both values).
    Honoured,
    /// It changes how Kueue handles batch Jobs and Turnstile behaves as its default: a file
    /// setting the other value is refused.
    DefaultOnly,
    /// Locked by Kueue to its default (GA or deprecated): the other value is refused, as Kueue
    /// refuses it.
    Locked,
    /// It changes only what Turnstile does not do (other integrations, TAS, MultiKueue, DRA,
    /// the visibility server) or internals with no visible effect: accepted, with a warning
    /// when set.
    NoEffect,
}

/// Every Kueue v0.19.2 gate: name, default, and what Turnstile does with it.
pub const GATES: &[(&str, bool, GateUse)] = &[
    ("PartialAdmission", true, GateUse::DefaultOnly),
    ("FlavorFungibility", true, GateUse::DefaultOnly),
    ("VisibilityOnDemand", true, GateUse::Honoured),
    ("DisableWaitForPodsReady", false, GateUse::Honoured),
    ("PrioritySortingWithinCohort", true, GateUse::DefaultOnly),
    (
        "FairSharingPreemptWithinNominal",
        true,
        GateUse::DefaultOnly,
    ),
    (
        "FairSharingPrioritizeNonBorrowing",
        true,
        GateUse::DefaultOnly,
    ),
    ("MultiKueue", true, GateUse::NoEffect),
    ("TopologyAwareScheduling", true, GateUse::NoEffect),
    ("LocalQueueMetrics", true, GateUse::Honoured),
    ("TASProfileMixed", true, GateUse::NoEffect),
    ("HierarchicalCohorts", true, GateUse::Locked),
    ("AdmissionFairSharing", true, GateUse::NoEffect),
    ("ObjectRetentionPolicies", true, GateUse::Locked),
    ("TASFailedNodeReplacement", true, GateUse::NoEffect),
    ("ElasticJobsViaWorkloadSlices", true, GateUse::NoEffect),
    (
        "ElasticJobsViaWorkloadSlicesWithTAS",
        false,
        GateUse::NoEffect,
    ),
    ("TASFailedNodeReplacementFailFast", true, GateUse::NoEffect),
    ("TASReplaceNodeOnPodTermination", true, GateUse::NoEffect),
    (
        "SkipReassignmentForPodOwnedWorkloads",
        true,
        GateUse::NoEffect,
    ),
    (
        "TASReplaceNodeDueToNotReadyOverFixedTime",
        false,
        GateUse::NoEffect,
    ),
    (
        "ManagedJobsNamespaceSelectorAlwaysRespected",
        true,
        GateUse::Locked,
    ),
    ("TASBalancedPlacement", false, GateUse::NoEffect),
    (
        "TASAssignmentsEncodingByHostnamePrefix",
        true,
        GateUse::NoEffect,
    ),
    ("KueueDRAIntegration", true, GateUse::NoEffect),
    (
        "KueueDRAIntegrationExtendedResource",
        true,
        GateUse::NoEffect,
    ),
    (
        "KueueDRARejectWorkloadsWhenDRADisabled",
        true,
        GateUse::NoEffect,
    ),
    (
        "KueueDRAIntegrationPartitionableDevices",
        true,
        GateUse::NoEffect,
    ),
    (
        "KueueDRAIntegrationConsumableCapacity",
        false,
        GateUse::NoEffect,
    ),
    ("QuotaCheckStrategy", true, GateUse::DefaultOnly),
    ("MultiKueueAdaptersForCustomJobs", true, GateUse::NoEffect),
    ("WorkloadRequestUseMergePatch", false, GateUse::NoEffect),
    ("MultiKueueAllowInsecureKubeconfigs", false, GateUse::Locked),
    (
        "MultiKueueKubeConfigPathValidation",
        false,
        GateUse::NoEffect,
    ),
    ("ReclaimablePods", true, GateUse::DefaultOnly),
    ("PropagateBatchJobLabelsToWorkload", true, GateUse::Locked),
    ("MultiKueueClusterProfile", false, GateUse::NoEffect),
    ("FailureRecoveryPolicy", false, GateUse::NoEffect),
    (
        "SkipFinalizersForPodsSuspendedByParent",
        true,
        GateUse::Locked,
    ),
    ("MultiKueueWaitForWorkloadAdmitted", true, GateUse::Locked),
    (
        "MultiKueueRedoAdmissionOnEvictionInWorker",
        true,
        GateUse::Locked,
    ),
    ("TLSOptions", true, GateUse::NoEffect),
    ("RemoveFinalizersWithStrictPatch", true, GateUse::NoEffect),
    ("TASReplaceNodeOnNodeTaints", true, GateUse::NoEffect),
    ("AssignQueueLabelsForPods", true, GateUse::DefaultOnly),
    ("TASMultiLayerTopology", true, GateUse::NoEffect),
    ("SchedulingEquivalenceHashing", true, GateUse::NoEffect),
    ("SchedulerLongRequeueInterval", false, GateUse::DefaultOnly),
    (
        "SchedulerTimestampPreemptionBuffer",
        false,
        GateUse::DefaultOnly,
    ),
    ("CustomMetricLabels", false, GateUse::DefaultOnly),
    ("SparkApplicationIntegration", false, GateUse::NoEffect),
    ("MultiKueueOrchestratedPreemption", false, GateUse::NoEffect),
    ("PriorityBoost", false, GateUse::DefaultOnly),
    ("AdmissionGatedBy", true, GateUse::DefaultOnly),
    ("ShortWorkloadNames", false, GateUse::DefaultOnly),
    ("FastQuotaReleaseInPodIntegration", false, GateUse::NoEffect),
    (
        "RejectUpdatesToCQWithInvalidOnFlavors",
        false,
        GateUse::DefaultOnly,
    ),
    ("FinishOrphanedWorkloads", true, GateUse::DefaultOnly),
    (
        "MultiKueueIncrementalDispatcherConfig",
        true,
        GateUse::NoEffect,
    ),
    (
        "MultiKueueIncrementalDispatcherRespectConfigOrder",
        true,
        GateUse::NoEffect,
    ),
    ("ConcurrentAdmission", false, GateUse::DefaultOnly),
    ("MetricForWorkloadCreationLatency", true, GateUse::Honoured),
    ("TASRespectNodeAffinityPreferred", false, GateUse::NoEffect),
    ("MultiKueueManagerQuotaAutomation", false, GateUse::NoEffect),
    ("WorkloadIdentifierAnnotations", true, GateUse::NoEffect),
    ("WorkloadPriorityClassDefaulting", false, GateUse::Honoured),
    ("MetricsForCohorts", true, GateUse::Honoured),
    (
        "CleanupProvisioningRequestsOnEviction",
        true,
        GateUse::NoEffect,
    ),
    ("TASHandleOverlappingFlavors", true, GateUse::NoEffect),
    (
        "UnadmittedWorkloadsObservability",
        false,
        GateUse::DefaultOnly,
    ),
    (
        "TASRecomputeAssignmentWithinSchedulingCycle",
        true,
        GateUse::NoEffect,
    ),
    (
        "UnadmittedWorkloadsExplicitStatus",
        false,
        GateUse::DefaultOnly,
    ),
    (
        "DeferRayServiceFinalizationForRedisCleanup",
        true,
        GateUse::NoEffect,
    ),
    ("TASCacheNodeMatchResults", true, GateUse::NoEffect),
    ("TASCachingRemainingResources", true, GateUse::NoEffect),
    ("TASCacheTopologyTree", false, GateUse::NoEffect),
    ("SchedulerLibraryIntegration", false, GateUse::NoEffect),
    ("VectorizedResourceRequests", true, GateUse::NoEffect),
    (
        "WorkloadValidateResourcesAreNonNegative",
        true,
        GateUse::DefaultOnly,
    ),
    ("TASValidateWorkloadSliceSize", true, GateUse::NoEffect),
    (
        "WorkloadValidationForPodSetMetadata",
        true,
        GateUse::DefaultOnly,
    ),
    ("PrioritizePreemptorWorkloads", false, GateUse::DefaultOnly),
    ("LWSImmutableGroupSize", true, GateUse::NoEffect),
    (
        "FlavorFungibilityPreserveScanProgress",
        true,
        GateUse::DefaultOnly,
    ),
    (
        "SkipAncestorCheckForDeletedWorkloads",
        true,
        GateUse::NoEffect,
    ),
    ("MultiKueueRemoteSpecSync", true, GateUse::NoEffect),
    (
        "RecomputeAssignmentUponPreemptionTargetsOverlap",
        false,
        GateUse::DefaultOnly,
    ),
    ("PodIntegrationValidateGroupOwner", true, GateUse::NoEffect),
    ("ValidateRayAndSparkJobUpdates", true, GateUse::NoEffect),
];

/// Kueue's default of a gate (false for an unknown name).
pub fn default_of(name: &str) -> bool {
    GATES
        .iter()
        .find(|(n, _, _)| *n == name)
        .is_some_and(|(_, d, _)| *d)
}

/// The gates a file sets that Turnstile cannot honour, as field errors: an unknown gate (Kueue
/// refuses it too), a locked gate set off its default, or a gate that changes batch Job handling
/// set to the value Turnstile does not implement.
pub(crate) fn refused(cfg: &Configuration) -> Vec<FieldError> {
    let path = FieldPath::new("featureGates");
    let mut errs = Vec::new();
    for (name, value) in &cfg.feature_gates {
        let at = path.key(name);
        match GATES.iter().find(|(n, _, _)| n == name) {
            None => errs.push(FieldError::invalid(
                &at,
                BadValue::json(value),
                format!("unrecognized feature gate {name:?} (Kueue v0.19 refuses it too)"),
            )),
            Some((_, default, GateUse::Locked)) if value != default => {
                errs.push(FieldError::forbidden(
                    &at,
                    format!(
                        "cannot set feature gate {name} to {value}, feature is locked to {default}"
                    ),
                ));
            }
            Some((_, default, GateUse::DefaultOnly)) if value != default => {
                errs.push(FieldError::forbidden(
                    &at,
                    format!(
                        "Turnstile does not support {name}={value}: it behaves as Kueue's default ({name}={default}); remove the gate"
                    ),
                ));
            }
            _ => {}
        }
    }
    errs
}

/// Gates a file sets that change nothing Turnstile does, for the startup warning.
pub(crate) fn without_effect(cfg: &Configuration) -> Vec<String> {
    cfg.feature_gates
        .iter()
        .filter(|(name, _)| {
            GATES
                .iter()
                .any(|(n, _, u)| n == name && *u == GateUse::NoEffect)
        })
        .map(|(name, value)| {
            format!("featureGates.{name} = {value} (no effect: Turnstile has no such feature)")
        })
        .collect()
}
