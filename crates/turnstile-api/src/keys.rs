//! Well-known names of the Kueue API: labels, annotations, finalizers, condition types and reasons.
//! Values match Kueue exactly; clients and tools depend on them.

/// The API group.
pub const GROUP: &str = "kueue.x-k8s.io";
/// The API version served.
pub const VERSION: &str = "v1beta2";
/// `apiVersion` of every kind.
pub const API_VERSION: &str = "kueue.x-k8s.io/v1beta2";

/// Finalizer on ClusterQueues, ResourceFlavors and Workloads while they are in use.
pub const RESOURCE_IN_USE_FINALIZER: &str = "kueue.x-k8s.io/resource-in-use";
/// Name of the pod set of a single-pod-set workload.
pub const DEFAULT_POD_SET_NAME: &str = "main";
/// Effective priority of a workload without one.
pub const DEFAULT_PRIORITY: i32 = 0;

/// Labels.
pub mod labels {
    /// On a Job: the LocalQueue it is submitted to.
    pub const QUEUE_NAME: &str = "kueue.x-k8s.io/queue-name";
    /// On a Job: the WorkloadPriorityClass it uses.
    pub const PRIORITY_CLASS: &str = "kueue.x-k8s.io/priority-class";
    /// On a Job: use this existing Workload instead of creating one.
    pub const PREBUILT_WORKLOAD_NAME: &str = "kueue.x-k8s.io/prebuilt-workload-name";
    /// On a Job: becomes the Workload's maximumExecutionTimeSeconds.
    pub const MAX_EXEC_TIME_SECONDS: &str = "kueue.x-k8s.io/max-exec-time-seconds";
    /// On a Workload: UID of the owning Job.
    pub const JOB_UID: &str = "kueue.x-k8s.io/job-uid";
    /// On running pods: the pod-set name.
    pub const POD_SET: &str = "kueue.x-k8s.io/podset";
    /// On running pods: the LocalQueue.
    pub const LOCAL_QUEUE_NAME: &str = "kueue.x-k8s.io/local-queue-name";
    /// On running pods: the ClusterQueue.
    pub const CLUSTER_QUEUE_NAME: &str = "kueue.x-k8s.io/cluster-queue-name";
    /// On objects Kueue manages.
    pub const MANAGED: &str = "kueue.x-k8s.io/managed";
}

/// Annotations.
pub mod annotations {
    /// Turnstile, on a Job whose queue a TimeWindowPolicy drains soon: when the window closes
    /// (RFC 3339); removed when no close is near. A hook for checkpointing.
    pub const TIME_WINDOW_CLOSES_AT: &str = "turnstile.dev/time-window-closes-at";
    /// On a batch Job: partial admission, the fewest pods it may run with.
    pub const JOB_MIN_PARALLELISM: &str = "kueue.x-k8s.io/job-min-parallelism";
    /// On an Indexed batch Job: set completions to the admitted parallelism.
    pub const JOB_COMPLETIONS_EQUAL_PARALLELISM: &str =
        "kueue.x-k8s.io/job-completions-equal-parallelism";
    /// On a batch Job: a stop is in progress.
    pub const STOPPING: &str = "kueue.x-k8s.io/stopping";
    /// On a Job: elastic job through workload slices.
    pub const ELASTIC_JOB: &str = "kueue.x-k8s.io/elastic-job";
    /// On a Job or Workload: admission waits until this is cleared.
    pub const ADMISSION_GATED_BY: &str = "kueue.x-k8s.io/admission-gated-by";
    /// On running pods: the Workload's name.
    pub const WORKLOAD: &str = "kueue.x-k8s.io/workload";
    /// On a Workload: a signed value added to its priority.
    pub const PRIORITY_BOOST: &str = "kueue.x-k8s.io/priority-boost";
    /// On a Job: use this existing Workload (annotation form).
    pub const PREBUILT_WORKLOAD_NAME: &str = "kueue.x-k8s.io/prebuilt-workload-name";
}

/// Workload condition types.
pub mod conditions {
    /// Turnstile: a TimeWindowPolicy drains the admitted workload's queue soon (True within the
    /// policy's closing notice).
    pub const TIME_WINDOW_CLOSING: &str = "TimeWindowClosing";
    /// Quota is reserved in a ClusterQueue.
    pub const QUOTA_RESERVED: &str = "QuotaReserved";
    /// Admitted: quota reserved and every admission check ready.
    pub const ADMITTED: &str = "Admitted";
    /// Finished (succeeded, failed, or orphaned).
    pub const FINISHED: &str = "Finished";
    /// All pods became ready.
    pub const PODS_READY: &str = "PodsReady";
    /// Evicted from its quota.
    pub const EVICTED: &str = "Evicted";
    /// Preempted by another workload.
    pub const PREEMPTED: &str = "Preempted";
    /// Whether the workload is back in the queue.
    pub const REQUEUED: &str = "Requeued";
    /// Marked for deactivation.
    pub const DEACTIVATION_TARGET: &str = "DeactivationTarget";
    /// Waiting for preemption gates.
    pub const BLOCKED_ON_PREEMPTION_GATES: &str = "BlockedOnPreemptionGates";
    /// Waiting for replacement pods (pod groups).
    pub const WAITING_FOR_REPLACEMENT_PODS: &str = "WaitingForReplacementPods";
    /// ClusterQueue and LocalQueue condition: the queue can admit.
    pub const ACTIVE: &str = "Active";
}

/// Condition reasons.
pub mod reasons {
    // QuotaReserved
    /// QuotaReserved True.
    pub const QUOTA_RESERVED: &str = "QuotaReserved";
    /// No flavor matches the pod set.
    pub const NO_MATCHING_FLAVOR: &str = "NoMatchingFlavor";
    /// Quota is in use by others.
    pub const WAITING_FOR_QUOTA: &str = "WaitingForQuota";
    /// The workload needs more than the queue could ever give.
    pub const EXCEEDS_MAX_QUOTA: &str = "ExceedsMaxQuota";
    /// Topology placement failed.
    pub const TOPOLOGY_PLACEMENT_FAILED: &str = "TopologyPlacementFailed";
    /// Waiting for preemption victims to go.
    pub const WAITING_FOR_PREEMPTED_WORKLOADS: &str = "WaitingForPreemptedWorkloads";
    /// The queue setup is wrong (missing LocalQueue or ClusterQueue...).
    pub const MISCONFIGURED: &str = "Misconfigured";
    /// The queue is stopped or inactive.
    pub const SUSPENDED: &str = "Suspended";
    /// Waiting for the scheduler.
    pub const PENDING_EVALUATION: &str = "PendingEvaluation";
    /// Waiting for admitted workloads to become ready.
    pub const WAITING_FOR_PODS_READY: &str = "WaitingForPodsReady";
    /// Admission is gated by an annotation.
    pub const ADMISSION_GATED: &str = "AdmissionGated";
    /// The Job is on hold.
    pub const ON_HOLD: &str = "OnHold";
    /// Legacy: inadmissible.
    pub const INADMISSIBLE: &str = "Inadmissible";
    /// Legacy: pending.
    pub const PENDING: &str = "Pending";
    /// Legacy: waiting.
    pub const WAITING: &str = "Waiting";
    // Admitted
    /// Admitted True.
    pub const ADMITTED: &str = "Admitted";
    /// Admitted False: no reservation.
    pub const NO_RESERVATION: &str = "NoReservation";
    /// Admitted False: admission checks not ready.
    pub const UNSATISFIED_ADMISSION_CHECKS: &str = "UnsatisfiedAdmissionChecks";
    /// Admitted False: delayed topology requests pending.
    pub const PENDING_DELAYED_TOPOLOGY_REQUESTS: &str = "PendingDelayedTopologyRequests";
    // Evicted
    /// Evicted by preemption.
    pub const PREEMPTED: &str = "Preempted";
    /// Evicted because pods were not ready in time.
    pub const PODS_READY_TIMEOUT: &str = "PodsReadyTimeout";
    /// Evicted by an admission check.
    pub const ADMISSION_CHECK: &str = "AdmissionCheck";
    /// Evicted because the ClusterQueue was stopped with HoldAndDrain.
    pub const CLUSTER_QUEUE_STOPPED: &str = "ClusterQueueStopped";
    /// Evicted because the LocalQueue was stopped with HoldAndDrain.
    pub const LOCAL_QUEUE_STOPPED: &str = "LocalQueueStopped";
    /// Evicted because nodes failed.
    pub const NODE_FAILURES: &str = "NodeFailures";
    /// Evicted to move to a better flavor.
    pub const FLAVOR_MIGRATION: &str = "FlavorMigration";
    /// Evicted on the MultiKueue manager cluster.
    pub const EVICTED_ON_MANAGER_CLUSTER: &str = "EvictedOnManagerCluster";
    /// Evicted because deactivated (`spec.active=false`).
    pub const DEACTIVATED: &str = "Deactivated";
    /// Prefix of `DeactivatedDueTo<cause>` eviction reasons.
    pub const DEACTIVATED_DUE_TO_PREFIX: &str = "DeactivatedDueTo";
    // Preempted
    /// Preempted within its ClusterQueue.
    pub const IN_CLUSTER_QUEUE: &str = "InClusterQueue";
    /// Preempted to reclaim nominal quota in the cohort.
    pub const IN_COHORT_RECLAMATION: &str = "InCohortReclamation";
    /// Preempted by fair sharing in the cohort.
    pub const IN_COHORT_FAIR_SHARING: &str = "InCohortFairSharing";
    /// Preempted while the preemptor borrows.
    pub const IN_COHORT_RECLAIM_WHILE_BORROWING: &str = "InCohortReclaimWhileBorrowing";
    /// Blocked by a preemption gate.
    pub const PREEMPTION_GATED: &str = "PreemptionGated";
    // Requeued
    /// Requeued after reactivation.
    pub const REACTIVATED: &str = "Reactivated";
    /// Requeued when the backoff ended.
    pub const BACKOFF_FINISHED: &str = "BackoffFinished";
    /// Requeued when the ClusterQueue restarted.
    pub const CLUSTER_QUEUE_RESTARTED: &str = "ClusterQueueRestarted";
    /// Requeued when the LocalQueue restarted.
    pub const LOCAL_QUEUE_RESTARTED: &str = "LocalQueueRestarted";
    /// Turnstile: a TimeWindowPolicy holds or drained the workload's queue (QuotaReserved=False,
    /// Evicted and Requeued=False reason). Never a preemption, never counted toward backoff.
    pub const TIME_WINDOW_CLOSED: &str = "TimeWindowClosed";
    /// Turnstile: the time window that drained the workload opened again (Requeued=True).
    pub const TIME_WINDOW_OPENED: &str = "TimeWindowOpened";
    /// Turnstile: `TimeWindowClosing=True`, the close is near.
    pub const TIME_WINDOW_CLOSING: &str = "TimeWindowClosing";
    /// Turnstile: `TimeWindowClosing=False`, no close is near (any more).
    pub const TIME_WINDOW_NOT_CLOSING: &str = "NoCloseNear";
    // DeactivationTarget
    /// Too many requeues.
    pub const REQUEUING_LIMIT_EXCEEDED: &str = "RequeuingLimitExceeded";
    /// Ran longer than maximumExecutionTimeSeconds.
    pub const MAXIMUM_EXECUTION_TIME_EXCEEDED: &str = "MaximumExecutionTimeExceeded";
    // PodsReady
    /// Pods not ready yet.
    pub const WAIT_FOR_START: &str = "WaitForStart";
    /// A pod failed; waiting for recovery.
    pub const WAIT_FOR_RECOVERY: &str = "WaitForRecovery";
    /// All pods ready.
    pub const STARTED: &str = "Started";
    /// All pods ready again after a failure.
    pub const RECOVERED: &str = "Recovered";
    // Finished
    /// The Job succeeded.
    pub const SUCCEEDED: &str = "Succeeded";
    /// The Job failed.
    pub const FAILED: &str = "Failed";
    /// The prebuilt workload no longer matches its Job.
    pub const OUT_OF_SYNC: &str = "OutOfSync";
    /// The owner is gone.
    pub const OWNER_NOT_FOUND: &str = "OwnerNotFound";
    /// The Job could not be started.
    pub const FAILED_TO_START: &str = "FailedToStart";
    /// Replaced by a new slice.
    pub const WORKLOAD_SLICE_REPLACED: &str = "WorkloadSliceReplaced";
    // ClusterQueue / LocalQueue Active
    /// The queue can admit.
    pub const READY: &str = "Ready";
    /// The queue is being deleted.
    pub const TERMINATING: &str = "Terminating";
    /// The queue is stopped.
    pub const STOPPED: &str = "Stopped";
    /// A referenced flavor is missing.
    pub const FLAVOR_NOT_FOUND: &str = "FlavorNotFound";
    /// A referenced admission check is missing.
    pub const ADMISSION_CHECK_NOT_FOUND: &str = "AdmissionCheckNotFound";
    /// A referenced admission check is inactive.
    pub const ADMISSION_CHECK_INACTIVE: &str = "AdmissionCheckInactive";
    /// A referenced topology is missing.
    pub const TOPOLOGY_NOT_FOUND: &str = "TopologyNotFound";
    /// LocalQueue: its ClusterQueue is missing.
    pub const CLUSTER_QUEUE_DOES_NOT_EXIST: &str = "ClusterQueueDoesNotExist";
    /// LocalQueue: its ClusterQueue is inactive.
    pub const CLUSTER_QUEUE_IS_INACTIVE: &str = "ClusterQueueIsInactive";
    /// Unknown state.
    pub const UNKNOWN: &str = "Unknown";
}

/// `spec.managedBy` of batch/v1 Jobs, and the one rule for which Jobs Turnstile may queue.
pub mod managed_by {
    use k8s_openapi::api::batch::v1::Job;

    /// The built-in Job controller (the value a Job without `spec.managedBy` behaves as).
    pub const JOB_CONTROLLER: &str = "kubernetes.io/job-controller";
    /// Kueue's MultiKueue dispatcher. Turnstile has no MultiKueue, so such Jobs are not taken: the
    /// webhook neither suspends nor validates them and the Job reconciler never creates their Workload.
    pub const MULTIKUEUE: &str = "kueue.x-k8s.io/multikueue";

    /// Whether the Job runs under the built-in Job controller (`spec.managedBy` unset or
    /// [`JOB_CONTROLLER`]): only then may Turnstile suspend, queue and start it.
    pub fn job_is_ours(job: &Job) -> bool {
        job.spec
            .as_ref()
            .and_then(|s| s.managed_by.as_deref())
            .is_none_or(|m| m == JOB_CONTROLLER)
    }

    /// The LocalQueue a Job names ([`super::labels::QUEUE_NAME`]). An empty value names none, as
    /// in Kueue: such a Job is queued only with `manageJobsWithoutQueueName`.
    pub fn job_queue_name(job: &Job) -> Option<&str> {
        job.metadata
            .labels
            .as_ref()?
            .get(super::labels::QUEUE_NAME)
            .map(String::as_str)
            .filter(|q| !q.is_empty())
    }

    /// Whether a Job in a managed namespace is queued: it names a queue, or
    /// `manageJobsWithoutQueueName` takes Jobs that do not. The webhook (which suspends it) and
    /// the Job reconciler (which makes its Workload) both ask this, so that no Job is suspended
    /// and then left alone.
    pub fn job_is_queued(job: &Job, manage_jobs_without_queue_name: bool) -> bool {
        manage_jobs_without_queue_name || job_queue_name(job).is_some()
    }
}
