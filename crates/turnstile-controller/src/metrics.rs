//! Prometheus metrics (text exposition format 0.0.4) under Kueue's names where Kueue has one.
//!
//! Counters and histograms move when the controllers write (an admission, an eviction, a
//! finish...); gauges are computed from the cache at scrape time, so they are never stale. Every
//! series carries `replica_role` (`leader` or `follower`) as Kueue's do.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;

/// Kueue's `generateExponentialBuckets(14)`: 1, then 2.5·2^k.
const E14: [f64; 14] = [
    1.0, 2.5, 5.0, 10.0, 20.0, 40.0, 80.0, 160.0, 320.0, 640.0, 1280.0, 2560.0, 5120.0, 10240.0,
];
/// Kueue's `generateExponentialBuckets(16)` (the ClusterQueue admission wait time).
const E16: [f64; 16] = [
    1.0, 2.5, 5.0, 10.0, 20.0, 40.0, 80.0, 160.0, 320.0, 640.0, 1280.0, 2560.0, 5120.0, 10240.0,
    20480.0, 40960.0,
];
/// Prometheus' default buckets (Kueue's admission attempt duration).
const DEF_BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
/// `ExponentialBuckets(0.01, 2, 11)` (Kueue's workload creation latency).
const C11: [f64; 11] = [
    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24,
];
/// Buckets of Turnstile's own scheduling cycle duration.
const CYCLE_BUCKETS: [f64; 12] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0,
];

/// Kueue's explanation of the `reason` label of eviction metrics.
macro_rules! reason_help {
    () => {
        "The label 'reason' can have the following values:\n- \"Preempted\" means that the workload was evicted in order to free resources for a workload with a higher priority or reclamation of nominal quota.\n- \"PodsReadyTimeout\" means that the eviction took place due to a PodsReady timeout.\n- \"AdmissionCheck\" means that the workload was evicted because at least one admission check transitioned to False.\n- \"ClusterQueueStopped\" means that the workload was evicted because the ClusterQueue is stopped.\n- \"LocalQueueStopped\" means that the workload was evicted because the LocalQueue is stopped.\n- \"NodeFailures\" means that the workload was evicted due to node failures when using TopologyAwareScheduling.\n- \"Deactivated\" means that the workload was evicted because spec.active is set to false.\n"
    };
}
/// Kueue's explanation of the `underlying_cause` label.
macro_rules! cause_help {
    () => {
        "The label 'underlying_cause' can have the following values:\n- \"\" means that the value in 'reason' label is the root cause for eviction.\n- \"AdmissionCheck\" means that the workload was evicted by Kueue due to a rejected admission check.\n- \"MaximumExecutionTimeExceeded\" means that the workload was evicted by Kueue due to maximum execution time exceeded.\n- \"RequeuingLimitExceeded\" means that the workload was evicted by Kueue due to requeuing limit exceeded."
    };
}
macro_rules! attempt_help {
    () => {
        "Each admission attempt might try to admit more than one workload.\nThe label 'result' can have the following values:\n- 'success' means that at least one workload was admitted.,\n- 'inadmissible' means that no workload was admitted."
    };
}
macro_rules! pending_help {
    ($per:literal) => {
        concat!("The number of pending workloads, per '", $per, "' and 'status'.\n'status' can have the following values:\n- \"active\" means that the workloads are in the admission queue.\n- \"inadmissible\" means there was a failed admission attempt for these workloads and they won't be retried until cluster conditions, which could make this workload admissible, change")
    };
}
macro_rules! share_help {
    ($who:literal) => {
        concat!("Reports a value that representing the maximum of the ratios of usage above nominal\nquota to the lendable resources in the cohort, among all the resources provided by\nthe ", $who, ", and divided by the weight.\nIf zero, it means that the usage of the ", $who, " is below the nominal quota.\nIf the ", $who, " has a weight of zero and is borrowing, this will return NaN.")
    };
}

/// What a metric is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Only goes up.
    Counter,
    /// A value now.
    Gauge,
    /// A distribution.
    Histogram,
}

/// One metric's definition.
#[derive(Clone, Copy, Debug)]
pub struct Def {
    /// Full name.
    pub name: &'static str,
    /// Kind.
    pub kind: Kind,
    /// HELP text.
    pub help: &'static str,
}

macro_rules! defs {
    ($($id:ident = $name:literal, $kind:ident, $help:expr;)*) => {
        $(
            #[doc = $help]
            pub const $id: Def = Def { name: $name, kind: Kind::$kind, help: $help };
        )*
        /// Every metric, in exposition order.
        pub const ALL: &[Def] = &[$($id),*];
    };
}

defs! {
    BUILD_INFO = "kueue_build_info", Gauge,
        "Kueue build information. 1 labeled by git version, git commit, build date, go version, compiler, platform";
    ADMISSION_ATTEMPTS = "kueue_admission_attempts_total", Counter,
        concat!("The total number of attempts to admit workloads.\n", attempt_help!());
    ADMISSION_ATTEMPT_DURATION = "kueue_admission_attempt_duration_seconds", Histogram,
        concat!("The latency of an admission attempt.\n", attempt_help!());
    WORKLOAD_CREATION_LATENCY = "kueue_workload_creation_latency_seconds", Histogram,
        "The time between a job was created until its workload was created, per 'job_kind'. Entries are only recorded for objects with generation 1.";
    PENDING = "kueue_pending_workloads", Gauge, pending_help!("cluster_queue");
    FINISHED_NOW = "kueue_finished_workloads", Gauge,
        "The number of finished workloads per 'cluster_queue'.";
    PREEMPTION_SKIPS = "kueue_admission_cycle_preemption_skips", Gauge,
        "The number of Workloads in the ClusterQueue that got preemption candidates but had to be skipped because other ClusterQueues needed the same resources in the same cycle";
    QUOTA_RESERVED = "kueue_quota_reserved_workloads_total", Counter,
        "The total number of quota reserved workloads per 'cluster_queue'";
    QUOTA_RESERVED_WAIT = "kueue_quota_reserved_wait_time_seconds", Histogram,
        "The time between a workload was created or requeued until it got quota reservation, per 'cluster_queue'";
    FINISHED = "kueue_finished_workloads_total", Counter,
        "The total number of finished workloads per 'cluster_queue'";
    ADMITTED = "kueue_admitted_workloads_total", Counter,
        "The total number of admitted workloads per 'cluster_queue'";
    ADMISSION_WAIT = "kueue_admission_wait_time_seconds", Histogram,
        "The time between a workload was created or requeued until admission, per 'cluster_queue'";
    CHECKS_WAIT = "kueue_admission_checks_wait_time_seconds", Histogram,
        "The time from when a workload got the quota reservation until admission, per 'cluster_queue'";
    READY_WAIT = "kueue_ready_wait_time_seconds", Histogram,
        "The time between a workload was created or requeued until ready, per 'cluster_queue'";
    ADMITTED_UNTIL_READY = "kueue_admitted_until_ready_wait_time_seconds", Histogram,
        "The time between a workload was admitted until ready, per 'cluster_queue'";
    EVICTED = "kueue_evicted_workloads_total", Counter,
        concat!("The number of evicted workloads per 'cluster_queue',\n", reason_help!(), cause_help!());
    EVICTED_ONCE = "kueue_evicted_workloads_once_total", Counter,
        concat!("The number of unique workload evictions per 'cluster_queue',\n", reason_help!(), "The label 'underlying_cause' can have the following values:\n- \"\" means that the value in 'reason' label is the root cause for eviction.\n- \"WaitForStart\" means that the pods have not been ready since admission, or the workload is not admitted.\n- \"WaitForRecovery\" means that the Pods were ready since the workload admission, but some pod has failed.\n- \"AdmissionCheck\" means that the workload was evicted by Kueue due to a rejected admission check.\n- \"MaximumExecutionTimeExceeded\" means that the workload was evicted by Kueue due to maximum execution time exceeded.\n- \"RequeuingLimitExceeded\" means that the workload was evicted by Kueue due to requeuing limit exceeded.");
    READY_TO_EVICTED = "kueue_pods_ready_to_evicted_time_seconds", Histogram,
        concat!("The number of seconds between a workload's pods being ready and eviction workloads per 'cluster_queue',\n", reason_help!(), cause_help!());
    PREEMPTED = "kueue_preempted_workloads_total", Counter,
        "The number of preempted workloads per 'preempting_cluster_queue',\nThe label 'reason' can have the following values:\n- \"InClusterQueue\" means that the workload was preempted by a workload in the same ClusterQueue.\n- \"InCohortReclamation\" means that the workload was preempted by a workload in the same cohort due to reclamation of nominal quota.\n- \"InCohortFairSharing\" means that the workload was preempted by a workload in the same cohort Fair Sharing.\n- \"InCohortReclaimWhileBorrowing\" means that the workload was preempted by a workload in the same cohort due to reclamation of nominal quota while borrowing.";
    EVICTION_LATENCY = "kueue_workload_eviction_latency_seconds", Histogram,
        concat!("The time from workload eviction (WorkloadEvicted condition becomes True) until the workload returns to Pending (quota released).\nObserved on status transition from admitted or quota-reserved to pending while WorkloadEvicted remains True.\nEach matching update observes one latency sample (seconds) into this histogram; Prometheus aggregates samples across workloads.\nUses the eviction condition LastTransitionTime on the updated object as the start time; cluster_queue is taken from status.admission.cluster_queue on the pre-update object when set and non-empty (otherwise no sample is recorded for that update).\n", reason_help!());
    RESERVING_ACTIVE = "kueue_reserving_active_workloads", Gauge,
        "The number of Workloads that are reserving quota, per 'cluster_queue'";
    ADMITTED_ACTIVE = "kueue_admitted_active_workloads", Gauge,
        "The number of admitted Workloads that are active, per 'cluster_queue'";
    CQ_STATUS = "kueue_cluster_queue_status", Gauge,
        "Reports 'cluster_queue' with its 'status' (with possible values 'pending', 'active' or 'terminated').\nFor a ClusterQueue, the metric only reports a value of 1 for one of the statuses.";
    CQ_INFO = "kueue_cluster_queue_info", Gauge,
        "Reports ClusterQueue hierarchy information. The metric has value 1 and can be joined using labels.";
    CQ_RESERVATION = "kueue_cluster_queue_resource_reservation", Gauge,
        "Reports the cluster_queue's total resource reservation within all the flavors";
    CQ_USAGE = "kueue_cluster_queue_resource_usage", Gauge,
        "Reports the cluster_queue's total resource usage within all the flavors";
    CQ_NOMINAL = "kueue_cluster_queue_nominal_quota", Gauge,
        "Reports the cluster_queue's resource nominal quota within all the flavors";
    CQ_BORROWING_LIMIT = "kueue_cluster_queue_borrowing_limit", Gauge,
        "Reports the cluster_queue's resource borrowing limit within all the flavors. If borrowingLimit is unset, this metric reports +Inf.";
    CQ_LENDING_LIMIT = "kueue_cluster_queue_lending_limit", Gauge,
        "Reports the cluster_queue's resource lending limit within all the flavors. If lendingLimit is unset, this metric reports +Inf.";
    CQ_PENDING_RESOURCES = "kueue_cluster_queue_resource_pending", Gauge,
        "Reports the cluster_queue's total pending resource requests. Unlike resource_reservation, pending workloads have not yet been assigned to flavors.";
    CQ_WEIGHTED_SHARE = "kueue_cluster_queue_weighted_share", Gauge, share_help!("ClusterQueue");
    COHORT_WEIGHTED_SHARE = "kueue_cohort_weighted_share", Gauge, share_help!("Cohort");
    COHORT_SUBTREE_QUOTA = "kueue_cohort_subtree_quota", Gauge,
        "Reports the cohort's nominal quota aggregated within the cohort's subtree. The values are reported per resource and flavor";
    COHORT_SUBTREE_RESERVATIONS = "kueue_cohort_subtree_resource_reservations", Gauge,
        "Reports the cohort's resource reservations aggregated within the cohort's subtree. The values are reported per resource and flavor";
    COHORT_SUBTREE_ADMITTED = "kueue_cohort_subtree_admitted_workloads_total", Counter,
        "The total number of admitted workloads per cohort's subtree";
    COHORT_SUBTREE_ADMITTED_ACTIVE = "kueue_cohort_subtree_admitted_active_workloads", Gauge,
        "The number of admitted Workloads that are active, per cohort's subtree";
    COHORT_INFO = "kueue_cohort_info", Gauge,
        "Reports Cohort hierarchy information. The metric has value 1 and can be joined using labels.";
    LQ_PENDING = "kueue_local_queue_pending_workloads", Gauge, pending_help!("local_queue");
    LQ_FINISHED_NOW = "kueue_local_queue_finished_workloads", Gauge,
        "The number of finished workloads, per 'local_queue'.";
    LQ_QUOTA_RESERVED = "kueue_local_queue_quota_reserved_workloads_total", Counter,
        "The total number of quota reserved workloads per 'local_queue'";
    LQ_QUOTA_RESERVED_WAIT = "kueue_local_queue_quota_reserved_wait_time_seconds", Histogram,
        "The time between a workload was created or requeued until it got quota reservation, per 'local_queue'";
    LQ_FINISHED = "kueue_local_queue_finished_workloads_total", Counter,
        "The total number of finished workloads per 'local_queue'";
    LQ_ADMITTED = "kueue_local_queue_admitted_workloads_total", Counter,
        "The total number of admitted workloads per 'local_queue'";
    LQ_ADMISSION_WAIT = "kueue_local_queue_admission_wait_time_seconds", Histogram,
        "The time between a workload was created or requeued until admission, per 'local_queue'";
    LQ_CHECKS_WAIT = "kueue_local_queue_admission_checks_wait_time_seconds", Histogram,
        "The time from when a workload got the quota reservation until admission, per 'local_queue'";
    LQ_READY_WAIT = "kueue_local_queue_ready_wait_time_seconds", Histogram,
        "The time between a workload was created or requeued until ready, per 'local_queue'";
    LQ_ADMITTED_UNTIL_READY = "kueue_local_queue_admitted_until_ready_wait_time_seconds", Histogram,
        "The time between a workload was admitted until ready, per 'local_queue'";
    LQ_EVICTED = "kueue_local_queue_evicted_workloads_total", Counter,
        concat!("The number of evicted workloads per 'local_queue',\n", reason_help!(), cause_help!());
    LQ_RESERVING_ACTIVE = "kueue_local_queue_reserving_active_workloads", Gauge,
        "The number of Workloads that are reserving quota, per 'localQueue'";
    LQ_ADMITTED_ACTIVE = "kueue_local_queue_admitted_active_workloads", Gauge,
        "The number of admitted Workloads that are active, per 'localQueue'";
    LQ_STATUS = "kueue_local_queue_status", Gauge,
        "Reports 'localQueue' with its 'active' status (with possible values 'True', 'False', or 'Unknown').\nFor a LocalQueue, the metric only reports a value of 1 for one of the statuses.";
    LQ_RESERVATION = "kueue_local_queue_resource_reservation", Gauge,
        "Reports the localQueue's total resource reservation within all the flavors";
    LQ_USAGE = "kueue_local_queue_resource_usage", Gauge,
        "Reports the localQueue's total resource usage within all the flavors";
    WINDOW_STATE = "turnstile_time_window_state", Gauge,
        "The state of a TimeWindowPolicy: 1 for its current state (Open, Closing or Closed), 0 otherwise.";
    WINDOW_TRANSITIONS = "turnstile_time_window_transitions_total", Counter,
        "State changes of TimeWindowPolicies, per policy and the state entered.";
    CYCLE_DURATION = "turnstile_scheduling_cycle_duration_seconds", Histogram,
        "Wall time of one scheduling cycle (snapshot, core decision, applying the outcome), without the API writes.";
    API_WRITES = "turnstile_api_writes_total", Counter,
        "API writes by verb (create, patch, apply, delete), resource and result (ok, conflict, forbidden, not_found, invalid, error).";
}

fn buckets(def: Def) -> &'static [f64] {
    match def.name {
        "kueue_admission_wait_time_seconds" => &E16,
        "kueue_admission_attempt_duration_seconds" => &DEF_BUCKETS,
        "kueue_workload_creation_latency_seconds" => &C11,
        "turnstile_scheduling_cycle_duration_seconds" => &CYCLE_BUCKETS,
        _ => &E14,
    }
}

type Labels = Vec<(&'static str, String)>;

#[derive(Clone, Debug, Default)]
struct Hist {
    counts: Vec<u64>,
    sum: f64,
    count: u64,
}

/// A gauge value computed at scrape time.
#[derive(Clone, Debug)]
pub struct Sample {
    /// The metric.
    pub def: Def,
    /// Its labels.
    pub labels: Labels,
    /// The value.
    pub value: f64,
}

/// The process's counters and histograms.
#[derive(Debug, Default)]
pub struct Metrics {
    counters: Mutex<BTreeMap<(&'static str, Labels), f64>>,
    histograms: Mutex<BTreeMap<(&'static str, Labels), Hist>>,
}

static GLOBAL: std::sync::LazyLock<Metrics> = std::sync::LazyLock::new(Metrics::default);

/// Finds a LocalQueue's labels by `(namespace, name)`.
pub type LabelsOf<'a> = dyn Fn(&str, &str) -> Option<BTreeMap<String, String>> + 'a;

/// Does a LocalQueue with these labels get metrics (`metrics.localQueueMetrics.localQueueSelector`).
pub type LocalQueueFilter = std::sync::Arc<dyn Fn(&BTreeMap<String, String>) -> bool + Send + Sync>;

/// Which optional series are exposed, from Kueue's Configuration (as Kueue decides them).
#[derive(Clone, Default)]
#[allow(clippy::struct_excessive_bools)] // one switch per Kueue setting, as the file has them
pub struct Settings {
    /// `metrics.enableClusterQueueResources`: the ClusterQueue quota, limit, reservation, usage
    /// and weighted-share gauges.
    pub cluster_queue_resources: bool,
    /// `metrics.localQueueMetrics.enable` (with its selector): the `kueue_local_queue_*` series.
    pub local_queues: bool,
    /// `metrics.localQueueMetrics.localQueueSelector`: which LocalQueues get them (all if none).
    pub local_queue_selector: Option<LocalQueueFilter>,
    /// Fair sharing on: the weighted-share gauges.
    pub fair_sharing: bool,
    /// Kueue's `MetricsForCohorts` gate: the ClusterQueue and cohort info gauges.
    pub hierarchy_info: bool,
    /// Kueue's `MetricForWorkloadCreationLatency` gate.
    pub creation_latency: bool,
}

static SETTINGS: std::sync::OnceLock<Settings> = std::sync::OnceLock::new();

/// Sets what is exposed (once, at start; later calls are ignored).
pub fn configure(settings: Settings) {
    let _ = SETTINGS.set(settings);
}

fn settings() -> Settings {
    SETTINGS.get().cloned().unwrap_or_default()
}

/// `kueue_build_info`'s labels for this binary.
fn build_info() -> Sample {
    Sample {
        def: BUILD_INFO,
        labels: vec![
            ("git_version", format!("v{}", env!("CARGO_PKG_VERSION"))),
            (
                "git_commit",
                option_env!("TURNSTILE_GIT_COMMIT")
                    .unwrap_or("unknown")
                    .to_owned(),
            ),
            (
                "build_date",
                option_env!("TURNSTILE_BUILD_DATE").unwrap_or("").to_owned(),
            ),
            ("go_version", String::new()),
            ("compiler", "rustc".to_owned()),
            (
                "platform",
                format!("{}/{}", std::env::consts::OS, std::env::consts::ARCH),
            ),
        ],
        value: 1.0,
    }
}

/// Whether a series is exposed: `kueue_local_queue_*` series only with LocalQueue metrics on,
/// and only for the LocalQueues the selector picks (`lq_labels` finds a LocalQueue's labels).
fn exposed(
    def: Def,
    labels: &[(&'static str, String)],
    s: &Settings,
    lq_labels: &LabelsOf<'_>,
) -> bool {
    if def.name == CQ_INFO.name || def.name == COHORT_INFO.name {
        return s.hierarchy_info;
    }
    if def.name == WORKLOAD_CREATION_LATENCY.name {
        return s.creation_latency;
    }
    if !def.name.starts_with("kueue_local_queue_") {
        return true;
    }
    if !s.local_queues {
        return false;
    }
    let Some(sel) = &s.local_queue_selector else {
        return true;
    };
    let get = |k: &str| {
        labels
            .iter()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| v.as_str())
            .unwrap_or_default()
    };
    lq_labels(get("namespace"), get("name")).is_some_and(|l| sel(&l))
}

/// The process's metrics (one registry per process, as Prometheus clients have).
pub fn global() -> &'static Metrics {
    &GLOBAL
}

/// Counts one API write (`verb`: create, patch, apply, delete) and passes its result through.
/// `result` is `ok`, `conflict` (409: a stale view or an object that already exists, retried),
/// `forbidden` (403: missing RBAC), `not_found`, `invalid` (422) or `error`.
pub fn write<T>(
    verb: &'static str,
    resource: &'static str,
    r: Result<T, kube::Error>,
) -> Result<T, kube::Error> {
    let result = match &r {
        Ok(_) => "ok",
        Err(kube::Error::Api(e)) => match e.code {
            409 => "conflict",
            403 => "forbidden",
            404 => "not_found",
            422 => "invalid",
            _ => "error",
        },
        Err(_) => "error",
    };
    global().inc(
        API_WRITES,
        &[("verb", verb), ("resource", resource), ("result", result)],
    );
    r
}

/// The `priority_class` label of a Workload (its class name, or empty).
pub fn priority_class(wl: &turnstile_api::Workload) -> String {
    wl.spec
        .priority_class_ref
        .as_ref()
        .map(|r| r.name.clone())
        .unwrap_or_default()
}

fn secs(ms: i64) -> f64 {
    #[allow(clippy::cast_precision_loss)]
    let s = ms.max(0) as f64 / 1000.0;
    s
}

fn since(now_ms: i64, t: Option<&k8s_openapi::apimachinery::pkg::apis::meta::v1::Time>) -> f64 {
    secs(now_ms - t.map_or(now_ms, |t| t.0.as_millisecond()))
}

/// A Workload's LocalQueue labels: `(name, namespace)`.
fn local_queue_of(wl: &turnstile_api::Workload) -> (String, String) {
    (
        wl.spec
            .queue_name
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
        wl.metadata.namespace.clone().unwrap_or_default(),
    )
}

/// The labels of a Workload's series: `(priority_class, LocalQueue name, namespace)`.
struct Of {
    pc: String,
    lq: String,
    ns: String,
}

impl Of {
    fn new(wl: &turnstile_api::Workload) -> Self {
        let (lq, ns) = local_queue_of(wl);
        Self {
            pc: priority_class(wl),
            lq,
            ns,
        }
    }

    fn cq<'a>(&'a self, cluster_queue: &'a str) -> [(&'static str, &'a str); 2] {
        [
            ("cluster_queue", cluster_queue),
            ("priority_class", self.pc.as_str()),
        ]
    }

    fn lq(&self) -> [(&'static str, &str); 3] {
        [
            ("name", self.lq.as_str()),
            ("namespace", self.ns.as_str()),
            ("priority_class", self.pc.as_str()),
        ]
    }
}

/// A quota reservation (Kueue's `QuotaReservedWorkload` and its LocalQueue twin): the counters
/// and the time since the Workload was queued.
pub fn quota_reserved(wl: &turnstile_api::Workload, cluster_queue: &str, now_ms: i64) {
    let m = global();
    let of = Of::new(wl);
    let waited = secs(now_ms - turnstile_state::lifecycle::queued_at_ms(wl));
    let (cq, lq) = (of.cq(cluster_queue), of.lq());
    m.inc(QUOTA_RESERVED, &cq);
    m.observe(QUOTA_RESERVED_WAIT, &cq, waited);
    m.inc(LQ_QUOTA_RESERVED, &lq);
    m.observe(LQ_QUOTA_RESERVED_WAIT, &lq, waited);
}

/// An admission (by the scheduler, or when the last AdmissionCheck turns Ready): the counters,
/// the time since queued, the time the checks took (`checks_s`, 0 without checks), and the
/// admitted count of every cohort above the ClusterQueue (`cohorts`).
pub fn admitted(
    wl: &turnstile_api::Workload,
    cluster_queue: &str,
    cohorts: &[String],
    now_ms: i64,
    checks_s: f64,
) {
    let m = global();
    let of = Of::new(wl);
    let waited = secs(now_ms - turnstile_state::lifecycle::queued_at_ms(wl));
    let (cq, lq) = (of.cq(cluster_queue), of.lq());
    m.inc(ADMITTED, &cq);
    m.observe(ADMISSION_WAIT, &cq, waited);
    m.observe(CHECKS_WAIT, &cq, checks_s);
    m.inc(LQ_ADMITTED, &lq);
    m.observe(LQ_ADMISSION_WAIT, &lq, waited);
    m.observe(LQ_CHECKS_WAIT, &lq, checks_s);
    for c in cohorts {
        m.inc(
            COHORT_SUBTREE_ADMITTED,
            &[("cohort", c.as_str()), ("priority_class", of.pc.as_str())],
        );
    }
}

/// An eviction of `wl` (as seen before it) whose `Evicted` condition has `condition_reason`: the
/// counters (Kueue's labels from [`turnstile_state::lifecycle::eviction_cause`]; the first
/// eviction of its kind in the Workload's `schedulingStats` also counts as a unique one), and the
/// time since the pods were ready when they were.
pub fn evicted(
    wl: &turnstile_api::Workload,
    cluster_queue: &str,
    condition_reason: &str,
    now_ms: i64,
) {
    use turnstile_state::lifecycle::{condition_of, eviction_cause, eviction_count};
    let m = global();
    let (reason, cause) = eviction_cause(wl, condition_reason);
    let pc = priority_class(wl);
    let (lq, ns) = local_queue_of(wl);
    let cq_labels = [
        ("cluster_queue", cluster_queue),
        ("reason", reason),
        ("underlying_cause", cause),
        ("priority_class", pc.as_str()),
    ];
    m.inc(EVICTED, &cq_labels);
    if eviction_count(wl, reason, cause) == 0 {
        m.inc(EVICTED_ONCE, &cq_labels);
    }
    m.inc(
        LQ_EVICTED,
        &[
            ("name", lq.as_str()),
            ("namespace", ns.as_str()),
            ("reason", reason),
            ("underlying_cause", cause),
            ("priority_class", pc.as_str()),
        ],
    );
    if let Some(ready) =
        condition_of(wl, turnstile_api::keys::conditions::PODS_READY).filter(|c| c.status == "True")
    {
        m.observe(
            READY_TO_EVICTED,
            &[
                ("cluster_queue", cluster_queue),
                ("reason", reason),
                ("underlying_cause", cause),
            ],
            since(now_ms, Some(&ready.last_transition_time)),
        );
    }
}

/// A finish.
pub fn finished(wl: &turnstile_api::Workload, cluster_queue: &str) {
    let m = global();
    let of = Of::new(wl);
    m.inc(FINISHED, &of.cq(cluster_queue));
    m.inc(LQ_FINISHED, &of.lq());
}

/// Pods ready for the first time since admission (`PodsReady=True/Started`): the time since
/// queued and since admitted.
pub fn pods_ready(wl: &turnstile_api::Workload, cluster_queue: &str, now_ms: i64) {
    use turnstile_state::lifecycle::condition_of;
    let m = global();
    let of = Of::new(wl);
    let waited = secs(now_ms - turnstile_state::lifecycle::queued_at_ms(wl));
    let admitted = since(
        now_ms,
        condition_of(wl, turnstile_api::keys::conditions::ADMITTED)
            .map(|c| &c.last_transition_time),
    );
    let (cq, lq) = (of.cq(cluster_queue), of.lq());
    m.observe(READY_WAIT, &cq, waited);
    m.observe(ADMITTED_UNTIL_READY, &cq, admitted);
    m.observe(LQ_READY_WAIT, &lq, waited);
    m.observe(LQ_ADMITTED_UNTIL_READY, &lq, admitted);
}

/// Quota released after an eviction: the time since the eviction, from the `Evicted` condition
/// as written (`evicted`: its reason and time in unix ms).
pub fn released_after_eviction(
    cluster_queue: &str,
    (reason, evicted_ms): (&str, i64),
    now_ms: i64,
) {
    if cluster_queue.is_empty() {
        return;
    }
    global().observe(
        EVICTION_LATENCY,
        &[("cluster_queue", cluster_queue), ("reason", reason)],
        secs(now_ms - evicted_ms),
    );
}

/// Kueue's `kueue_admission_cycle_preemption_skips`: per ClusterQueue with skips in a cycle, how
/// many of its workloads found victims but were skipped (overlapping victims, or no longer fitting
/// once the cycle's other preemptions were counted). As Kueue, queues without skips in a cycle
/// keep the value they had.
pub fn preemption_skips(skips: &BTreeMap<String, usize>) {
    for (cq, n) in skips {
        #[allow(clippy::cast_precision_loss)]
        global().set(PREEMPTION_SKIPS, &[("cluster_queue", cq)], *n as f64);
    }
}

/// A Workload created for a Job (Kueue records it only for Jobs at generation 1).
pub fn workload_created(job_kind: &str, job_created_ms: i64, workload_created_ms: i64) {
    global().observe(
        WORKLOAD_CREATION_LATENCY,
        &[("job_kind", job_kind)],
        secs(workload_created_ms - job_created_ms),
    );
}

fn owned(labels: &[(&'static str, &str)]) -> Labels {
    labels.iter().map(|(k, v)| (*k, (*v).to_owned())).collect()
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('\n', "\\n")
        .replace('"', "\\\"")
}

fn render_labels(labels: &[(&'static str, String)], extra: Option<(&str, String)>) -> String {
    let mut parts: Vec<String> = labels
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
        .collect();
    if let Some((k, v)) = extra {
        parts.push(format!("{k}=\"{v}\""));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!("{{{}}}", parts.join(","))
    }
}

fn number(v: f64) -> String {
    if v.is_nan() {
        "NaN".to_owned()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.to_owned()
    } else {
        format!("{v}")
    }
}

impl Metrics {
    /// Adds `by` to a counter.
    pub fn add(&self, def: Def, labels: &[(&'static str, &str)], by: f64) {
        if let Ok(mut c) = self.counters.lock() {
            *c.entry((def.name, owned(labels))).or_insert(0.0) += by;
        }
    }

    /// Sets a gauge the process keeps (not one computed from the cache at each scrape).
    pub fn set(&self, def: Def, labels: &[(&'static str, &str)], value: f64) {
        if let Ok(mut c) = self.counters.lock() {
            c.insert((def.name, owned(labels)), value);
        }
    }

    /// Adds one to a counter.
    pub fn inc(&self, def: Def, labels: &[(&'static str, &str)]) {
        self.add(def, labels, 1.0);
    }

    /// Records one observation of a histogram.
    pub fn observe(&self, def: Def, labels: &[(&'static str, &str)], value: f64) {
        let bounds = buckets(def);
        if let Ok(mut h) = self.histograms.lock() {
            let e = h.entry((def.name, owned(labels))).or_insert_with(|| Hist {
                counts: vec![0; bounds.len()],
                ..Hist::default()
            });
            for (i, b) in bounds.iter().enumerate() {
                if value <= *b {
                    e.counts[i] += 1;
                }
            }
            e.sum += value;
            e.count += 1;
        }
    }

    /// The current value of a counter (tests and checks).
    pub fn counter(&self, def: Def, labels: &[(&'static str, &str)]) -> f64 {
        self.counters
            .lock()
            .ok()
            .and_then(|c| c.get(&(def.name, owned(labels))).copied())
            .unwrap_or(0.0)
    }

    /// The exposition text: every counter and histogram, then `gauges`, with `replica_role` added
    /// to every series but `kueue_build_info` (as Kueue's), LocalQueue series filtered by the
    /// [`Settings`] (`lq_labels` finds a LocalQueue's labels for the selector).
    pub fn render(&self, gauges: &[Sample], role: &str, lq_labels: &LabelsOf) -> String {
        let settings = settings();
        let show = |def: Def, labels: &[(&'static str, String)]| {
            exposed(def, labels, &settings, lq_labels)
        };
        let info = build_info();
        let counters = self.counters.lock().map(|c| c.clone()).unwrap_or_default();
        let histograms = self
            .histograms
            .lock()
            .map(|h| h.clone())
            .unwrap_or_default();
        let mut out = String::new();
        for def in ALL {
            let role = || (def.name != BUILD_INFO.name).then(|| ("replica_role", role.to_owned()));
            let kind = match def.kind {
                Kind::Counter => "counter",
                Kind::Gauge => "gauge",
                Kind::Histogram => "histogram",
            };
            // The text format escapes `\` and line feeds in HELP (Kueue's help texts have lines).
            let help = def.help.replace('\\', "\\\\").replace('\n', "\\n");
            let _ = writeln!(out, "# HELP {} {help}", def.name);
            let _ = writeln!(out, "# TYPE {} {kind}", def.name);
            match def.kind {
                Kind::Counter | Kind::Gauge => {
                    if matches!(def.kind, Kind::Gauge) {
                        for s in gauges
                            .iter()
                            .chain(std::iter::once(&info))
                            .filter(|s| s.def.name == def.name && show(*def, &s.labels))
                        {
                            let _ = writeln!(
                                out,
                                "{}{} {}",
                                def.name,
                                render_labels(&s.labels, role()),
                                number(s.value)
                            );
                        }
                    }
                    // Counters, and gauges the process sets itself ([`Metrics::set`]).
                    for ((_, labels), v) in counters
                        .iter()
                        .filter(|((n, l), _)| *n == def.name && show(*def, l))
                    {
                        let _ = writeln!(
                            out,
                            "{}{} {}",
                            def.name,
                            render_labels(labels, role()),
                            number(*v)
                        );
                    }
                }
                Kind::Histogram => {
                    for ((_, labels), h) in histograms
                        .iter()
                        .filter(|((n, l), _)| *n == def.name && show(*def, l))
                    {
                        for (b, c) in buckets(*def).iter().zip(&h.counts) {
                            let mut l = labels.clone();
                            l.push(("le", number(*b)));
                            let _ = writeln!(
                                out,
                                "{}_bucket{} {c}",
                                def.name,
                                render_labels(&l, role())
                            );
                        }
                        let mut l = labels.clone();
                        l.push(("le", "+Inf".to_owned()));
                        let _ = writeln!(
                            out,
                            "{}_bucket{} {}",
                            def.name,
                            render_labels(&l, role()),
                            h.count
                        );
                        let _ = writeln!(
                            out,
                            "{}_sum{} {}",
                            def.name,
                            render_labels(labels, role()),
                            number(h.sum)
                        );
                        let _ = writeln!(
                            out,
                            "{}_count{} {}",
                            def.name,
                            render_labels(labels, role()),
                            h.count
                        );
                    }
                }
            }
        }
        out
    }
}

/// A quantity as the float Prometheus carries (0 when absent or unreadable).
fn qty(q: Option<&turnstile_api::Quantity>) -> f64 {
    q.and_then(|q| turnstile_core::quantity::Quantity::parse(&q.0).ok())
        .map_or(0.0, |q| {
            // Quantities are nano-exact; a float is what Prometheus carries.
            #[allow(clippy::cast_precision_loss)]
            let v = q.nanos() as f64 / 1e9;
            v
        })
}

/// An amount in scheduling units as Kueue reports it: the quantity the statuses write for it
/// (`convert::quantity_string`, cpu from milli-units), as a float.
fn amount(resource: &str, v: i64) -> f64 {
    qty(Some(&turnstile_api::Quantity(
        turnstile_state::convert::quantity_string(resource, v),
    )))
}

/// Kueue's cohort subtree gauges: the subtree's nominal quota and the quota reserved by every
/// ClusterQueue in it, per flavor and resource, where positive (Kueue clears the others).
fn cohort_subtree_gauges(
    ix: &turnstile_state::index::Index,
    reservations: &[(String, String, String, f64)],
) -> Vec<Sample> {
    let mut out = Vec::new();
    for (cohort, (quota, queues)) in ix.cohort_subtrees() {
        let mut reserved: BTreeMap<(String, String), f64> = BTreeMap::new();
        for (cq, flavor, resource, v) in reservations {
            if queues.binary_search(cq).is_ok() {
                *reserved
                    .entry((flavor.clone(), resource.clone()))
                    .or_default() += v;
            }
        }
        let labels = |flavor: &str, resource: &str| {
            vec![
                ("cohort", cohort.clone()),
                ("flavor", flavor.to_owned()),
                ("resource", resource.to_owned()),
            ]
        };
        for (fr, v) in &quota.0 {
            if *v > 0 {
                out.push(Sample {
                    def: COHORT_SUBTREE_QUOTA,
                    labels: labels(&fr.flavor, &fr.resource),
                    value: amount(&fr.resource, *v),
                });
            }
        }
        for ((flavor, resource), v) in reserved {
            if v > 0.0 {
                out.push(Sample {
                    def: COHORT_SUBTREE_RESERVATIONS,
                    labels: labels(&flavor, &resource),
                    value: v,
                });
            }
        }
    }
    out
}

#[allow(clippy::cast_precision_loss)]
fn count(n: usize) -> f64 {
    n as f64
}

/// `(parent, root)` of a chain of cohorts listed nearest first.
fn parent_and_root(chain: &[String]) -> (String, String) {
    (
        chain.first().cloned().unwrap_or_default(),
        chain.last().cloned().unwrap_or_default(),
    )
}

/// The gauges the cache implies now (Kueue's ClusterQueue, cohort and LocalQueue gauges, the
/// optional ones as [`Settings`] say), read from the statuses the index keeps current and the
/// usage ledger; the pending splits walk the pending workloads once.
#[allow(clippy::too_many_lines)]
pub fn cache_gauges(ix: &turnstile_state::index::Index) -> Vec<Sample> {
    cache_gauges_with(ix, &settings())
}

#[allow(clippy::too_many_lines)]
fn cache_gauges_with(ix: &turnstile_state::index::Index, settings: &Settings) -> Vec<Sample> {
    let mut out = Vec::new();
    let (cq_names, lq_keys) = ix.queue_names();
    let (done_by_cluster_queue, done_by_local_queue) = ix.finished_counts();
    let mut subtree_admitted: BTreeMap<String, f64> = BTreeMap::new();
    // (ClusterQueue, flavor, resource, reserved) for the cohort subtree sums.
    let mut reservations: Vec<(String, String, String, f64)> = Vec::new();
    for name in cq_names {
        let (Some(cq), Some(status)) = (ix.cluster_queue(&name), ix.cluster_queue_status(&name))
        else {
            continue;
        };
        let cohort = cq
            .spec
            .cohort_name
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default();
        let chain = ix.cohorts_above(&name);
        let (parent, root) = parent_and_root(&chain);
        out.push(Sample {
            def: CQ_INFO,
            labels: vec![
                ("cluster_queue", name.clone()),
                ("parent_cohort", parent),
                ("root_cohort", root),
            ],
            value: 1.0,
        });
        for c in &chain {
            *subtree_admitted.entry(c.clone()).or_default() += f64::from(status.admitted_workloads);
        }
        let (active, inadmissible) = ix.pending_split(&name);
        for (st, n) in [("active", active), ("inadmissible", inadmissible)] {
            out.push(Sample {
                def: PENDING,
                labels: vec![("cluster_queue", name.clone()), ("status", st.to_owned())],
                value: count(n),
            });
        }
        out.push(Sample {
            def: FINISHED_NOW,
            labels: vec![("cluster_queue", name.clone())],
            value: count(done_by_cluster_queue.get(&name).copied().unwrap_or(0)),
        });
        out.push(Sample {
            def: RESERVING_ACTIVE,
            labels: vec![("cluster_queue", name.clone())],
            value: f64::from(status.reserving_workloads),
        });
        out.push(Sample {
            def: ADMITTED_ACTIVE,
            labels: vec![("cluster_queue", name.clone())],
            value: f64::from(status.admitted_workloads),
        });
        let current = if cq.metadata.deletion_timestamp.is_some() {
            "terminating"
        } else if status
            .conditions
            .iter()
            .any(|c| c.type_ == "Active" && c.status == "True")
        {
            "active"
        } else {
            "pending"
        };
        for st in ["pending", "active", "terminating"] {
            out.push(Sample {
                def: CQ_STATUS,
                labels: vec![("cluster_queue", name.clone()), ("status", st.to_owned())],
                value: if st == current { 1.0 } else { 0.0 },
            });
        }
        for f in &status.flavors_reservation {
            for r in &f.resources {
                reservations.push((
                    name.clone(),
                    f.name.to_string(),
                    r.name.clone(),
                    qty(r.total.as_ref()),
                ));
            }
        }
        if !settings.cluster_queue_resources {
            continue;
        }
        // Every resource the queue covers (0 when nothing pending asks for it), and any other a
        // pending workload asks for.
        let mut pending: BTreeMap<String, f64> = cq
            .spec
            .resource_groups
            .iter()
            .flat_map(|rg| rg.covered_resources.iter().map(|r| (r.clone(), 0.0)))
            .collect();
        for (r, v) in ix.pending_requests(&name).into_iter().flatten() {
            pending.insert(r.clone(), amount(r, *v));
        }
        for (resource, value) in pending {
            out.push(Sample {
                def: CQ_PENDING_RESOURCES,
                labels: vec![("cluster_queue", name.clone()), ("resource", resource)],
                value,
            });
        }
        let resource_labels = |flavor: &str, resource: &str| {
            vec![
                ("cohort", cohort.clone()),
                ("cluster_queue", name.clone()),
                ("flavor", flavor.to_owned()),
                ("resource", resource.to_owned()),
            ]
        };
        for (def, list) in [
            (CQ_RESERVATION, &status.flavors_reservation),
            (CQ_USAGE, &status.flavors_usage),
        ] {
            for f in list {
                for r in &f.resources {
                    out.push(Sample {
                        def,
                        labels: resource_labels(f.name.as_ref(), &r.name),
                        value: qty(r.total.as_ref()),
                    });
                }
            }
        }
        for rg in &cq.spec.resource_groups {
            for f in &rg.flavors {
                for r in &f.resources {
                    let limit = |q: Option<&turnstile_api::Quantity>| {
                        q.map_or(f64::INFINITY, |q| qty(Some(q)))
                    };
                    for (def, value) in [
                        (CQ_NOMINAL, qty(Some(&r.nominal_quota))),
                        (CQ_BORROWING_LIMIT, limit(r.borrowing_limit.as_ref())),
                        (CQ_LENDING_LIMIT, limit(r.lending_limit.as_ref())),
                    ] {
                        out.push(Sample {
                            def,
                            labels: resource_labels(f.name.as_ref(), &r.name),
                            value,
                        });
                    }
                }
            }
        }
        if settings.fair_sharing
            && let Some(fs) = &status.fair_sharing
        {
            out.push(Sample {
                def: CQ_WEIGHTED_SHARE,
                labels: vec![("cluster_queue", name.clone()), ("cohort", cohort.clone())],
                value: share(fs.weighted_share),
            });
        }
    }
    // Every cohort: those with an object and those only named by a ClusterQueue or a parent.
    let mut cohorts: std::collections::BTreeSet<String> = ix.cohort_names().into_iter().collect();
    cohorts.extend(subtree_admitted.keys().cloned());
    for cohort in cohorts {
        let chain = ix.cohort_parents(&cohort);
        let parent = chain.first().cloned().unwrap_or_default();
        // A root cohort is its own root (as Kueue reports it).
        let root = chain.last().cloned().unwrap_or_else(|| cohort.clone());
        out.push(Sample {
            def: COHORT_INFO,
            labels: vec![
                ("cohort", cohort.clone()),
                ("parent_cohort", parent),
                ("root_cohort", root),
            ],
            value: 1.0,
        });
        if settings.fair_sharing
            && let Some(fs) = ix
                .cohort(&cohort)
                .and_then(|c| c.status.as_ref())
                .and_then(|s| s.fair_sharing.as_ref())
        {
            out.push(Sample {
                def: COHORT_WEIGHTED_SHARE,
                labels: vec![("cohort", cohort.clone())],
                value: share(fs.weighted_share),
            });
        }
    }
    out.extend(cohort_subtree_gauges(ix, &reservations));
    for (cohort, n) in subtree_admitted {
        out.push(Sample {
            def: COHORT_SUBTREE_ADMITTED_ACTIVE,
            labels: vec![("cohort", cohort)],
            value: n,
        });
    }
    if settings.local_queues {
        let pending = ix.local_queue_pending_split();
        for key in lq_keys {
            let (Some(lq), Some(status)) = (ix.local_queue(&key), ix.local_queue_status(&key))
            else {
                continue;
            };
            let ns = lq.metadata.namespace.clone().unwrap_or_default();
            let lq_name = lq.metadata.name.clone().unwrap_or_default();
            let id = || vec![("name", lq_name.clone()), ("namespace", ns.clone())];
            let (active, inadmissible) = pending.get(&key).copied().unwrap_or_default();
            for (st, n) in [("active", active), ("inadmissible", inadmissible)] {
                let mut l = id();
                l.push(("status", st.to_owned()));
                out.push(Sample {
                    def: LQ_PENDING,
                    labels: l,
                    value: count(n),
                });
            }
            out.push(Sample {
                def: LQ_FINISHED_NOW,
                labels: id(),
                value: count(done_by_local_queue.get(&key).copied().unwrap_or(0)),
            });
            out.push(Sample {
                def: LQ_RESERVING_ACTIVE,
                labels: id(),
                value: f64::from(status.reserving_workloads),
            });
            out.push(Sample {
                def: LQ_ADMITTED_ACTIVE,
                labels: id(),
                value: f64::from(status.admitted_workloads),
            });
            let active_now = status
                .conditions
                .iter()
                .find(|c| c.type_ == "Active")
                .map_or("Unknown", |c| c.status.as_str());
            for st in ["True", "False", "Unknown"] {
                let mut l = id();
                l.push(("active", st.to_owned()));
                out.push(Sample {
                    def: LQ_STATUS,
                    labels: l,
                    value: if st == active_now { 1.0 } else { 0.0 },
                });
            }
            for (def, list) in [
                (LQ_RESERVATION, &status.flavors_reservation),
                (LQ_USAGE, &status.flavors_usage),
            ] {
                for f in list {
                    for r in &f.resources {
                        let mut l = id();
                        l.push(("flavor", f.name.to_string()));
                        l.push(("resource", r.name.clone()));
                        out.push(Sample {
                            def,
                            labels: l,
                            value: qty(r.total.as_ref()),
                        });
                    }
                }
            }
        }
    }
    out.extend(window_gauges(ix));
    out
}

/// A weighted share as Kueue reports it: the share value, NaN for "infinite" (zero weight while
/// borrowing).
fn share(v: i64) -> f64 {
    if v == i64::MAX {
        f64::NAN
    } else {
        #[allow(clippy::cast_precision_loss)]
        let f = v as f64;
        f
    }
}

/// `turnstile_time_window_state`: 1 for each policy's current state, 0 for the others.
fn window_gauges(ix: &turnstile_state::index::Index) -> Vec<Sample> {
    let mut out = Vec::new();
    for p in ix.window_policies() {
        for st in [
            turnstile_api::v1alpha1::WindowState::Open,
            turnstile_api::v1alpha1::WindowState::Closing,
            turnstile_api::v1alpha1::WindowState::Closed,
        ] {
            out.push(Sample {
                def: WINDOW_STATE,
                labels: vec![("policy", p.name.clone()), ("state", format!("{st:?}"))],
                value: if st == p.state { 1.0 } else { 0.0 },
            });
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::float_cmp)]
mod tests {
    use super::*;

    #[test]
    fn counters_and_histograms_render_in_prometheus_text() {
        let m = Metrics::default();
        m.inc(ADMITTED, &[("cluster_queue", "cq"), ("priority_class", "")]);
        m.inc(ADMITTED, &[("cluster_queue", "cq"), ("priority_class", "")]);
        m.observe(
            ADMISSION_WAIT,
            &[("cluster_queue", "cq"), ("priority_class", "")],
            3.0,
        );
        let text = m.render(
            &[Sample {
                def: PENDING,
                labels: vec![
                    ("cluster_queue", "c\"q".into()),
                    ("status", "active".into()),
                ],
                value: 4.0,
            }],
            "leader",
            &|_, _| None,
        );
        assert!(
            text.contains("kueue_build_info{git_version=\"v")
                && text.contains("compiler=\"rustc\""),
            "{text}"
        );
        assert!(
            !text.contains("replica_role=\"leader\"} 1\n# HELP kueue_admission_attempts"),
            "kueue_build_info carries no replica_role"
        );
        for line in text.lines() {
            assert!(
                line.starts_with("# HELP ")
                    || line.starts_with("# TYPE ")
                    || line.split_once(' ').is_some_and(|(series, value)| {
                        series.starts_with("kueue_") || series.starts_with("turnstile_")
                    } && (value
                        .parse::<f64>()
                        .is_ok()
                        || value == "+Inf"
                        || value == "NaN")),
                "not a line of the text format: {line:?}"
            );
        }
        assert!(text.contains("# HELP kueue_evicted_workloads_total The number of evicted workloads per 'cluster_queue',\\nThe label 'reason'"));
        assert!(
            text.contains("# TYPE kueue_admitted_workloads_total counter\n"),
            "{text}"
        );
        assert!(
            text.contains("kueue_admitted_workloads_total{cluster_queue=\"cq\",priority_class=\"\",replica_role=\"leader\"} 2\n"),
            "{text}"
        );
        assert!(
            text.contains("kueue_admission_wait_time_seconds_bucket{cluster_queue=\"cq\",priority_class=\"\",le=\"2.5\",replica_role=\"leader\"} 0\n")
                && text.contains("kueue_admission_wait_time_seconds_bucket{cluster_queue=\"cq\",priority_class=\"\",le=\"5\",replica_role=\"leader\"} 1\n")
                && text.contains("kueue_admission_wait_time_seconds_bucket{cluster_queue=\"cq\",priority_class=\"\",le=\"+Inf\",replica_role=\"leader\"} 1\n")
                && text.contains("kueue_admission_wait_time_seconds_sum{cluster_queue=\"cq\",priority_class=\"\",replica_role=\"leader\"} 3\n"),
            "{text}"
        );
        assert!(
            text.contains("kueue_pending_workloads{cluster_queue=\"c\\\"q\",status=\"active\",replica_role=\"leader\"} 4\n"),
            "{text}"
        );
        assert_eq!(
            m.counter(ADMITTED, &[("cluster_queue", "cq"), ("priority_class", "")]),
            2.0
        );
    }

    /// Every metric Kueue v0.19.2 registers (`pkg/metrics`), with its type and histogram
    /// buckets: `Some(..)` when Turnstile exposes it, `None` with the reason it does not.
    type Entry = (&'static str, Kind, &'static [f64], Result<(), &'static str>);

    const NOT_MULTIKUEUE: &str = "MultiKueue is not supported";
    const OFF_IN_KUEUE: &str =
        "behind Kueue's UnadmittedWorkloadsObservability gate, off by default; not implemented";

    const KUEUE: &[Entry] = &[
        ("kueue_build_info", Kind::Gauge, &[], Ok(())),
        ("kueue_admission_attempts_total", Kind::Counter, &[], Ok(())),
        (
            "kueue_admission_attempt_duration_seconds",
            Kind::Histogram,
            &DEF_BUCKETS,
            Ok(()),
        ),
        (
            "multikueue_workloads_dispatched_total",
            Kind::Counter,
            &[],
            Err(NOT_MULTIKUEUE),
        ),
        (
            "multikueue_workloads_admitted_total",
            Kind::Counter,
            &[],
            Err(NOT_MULTIKUEUE),
        ),
        (
            "kueue_admission_cycle_preemption_skips",
            Kind::Gauge,
            &[],
            Ok(()),
        ),
        (
            "kueue_pod_scheduling_gate_removal_seconds",
            Kind::Histogram,
            &DEF_BUCKETS,
            Err(
                "scheduling gates are removed only for pod groups, topology-aware and elastic Jobs, which are not supported",
            ),
        ),
        (
            "kueue_workload_creation_latency_seconds",
            Kind::Histogram,
            &C11,
            Ok(()),
        ),
        ("kueue_pending_workloads", Kind::Gauge, &[], Ok(())),
        ("kueue_finished_workloads", Kind::Gauge, &[], Ok(())),
        (
            "kueue_quota_reserved_workloads_total",
            Kind::Counter,
            &[],
            Ok(()),
        ),
        (
            "kueue_quota_reserved_wait_time_seconds",
            Kind::Histogram,
            &E14,
            Ok(()),
        ),
        ("kueue_finished_workloads_total", Kind::Counter, &[], Ok(())),
        ("kueue_admitted_workloads_total", Kind::Counter, &[], Ok(())),
        (
            "kueue_admission_wait_time_seconds",
            Kind::Histogram,
            &E16,
            Ok(()),
        ),
        (
            "kueue_admission_checks_wait_time_seconds",
            Kind::Histogram,
            &E14,
            Ok(()),
        ),
        (
            "kueue_ready_wait_time_seconds",
            Kind::Histogram,
            &E14,
            Ok(()),
        ),
        (
            "kueue_admitted_until_ready_wait_time_seconds",
            Kind::Histogram,
            &E14,
            Ok(()),
        ),
        ("kueue_evicted_workloads_total", Kind::Counter, &[], Ok(())),
        (
            "kueue_evicted_workloads_once_total",
            Kind::Counter,
            &[],
            Ok(()),
        ),
        (
            "kueue_pods_ready_to_evicted_time_seconds",
            Kind::Histogram,
            &E14,
            Ok(()),
        ),
        (
            "kueue_preempted_workloads_total",
            Kind::Counter,
            &[],
            Ok(()),
        ),
        (
            "kueue_workload_eviction_latency_seconds",
            Kind::Histogram,
            &E14,
            Ok(()),
        ),
        ("kueue_reserving_active_workloads", Kind::Gauge, &[], Ok(())),
        ("kueue_admitted_active_workloads", Kind::Gauge, &[], Ok(())),
        ("kueue_cluster_queue_status", Kind::Gauge, &[], Ok(())),
        (
            "kueue_unadmitted_workloads",
            Kind::Gauge,
            &[],
            Err(OFF_IN_KUEUE),
        ),
        ("kueue_cluster_queue_info", Kind::Gauge, &[], Ok(())),
        (
            "kueue_cluster_queue_resource_reservation",
            Kind::Gauge,
            &[],
            Ok(()),
        ),
        (
            "kueue_cluster_queue_resource_usage",
            Kind::Gauge,
            &[],
            Ok(()),
        ),
        (
            "kueue_cluster_queue_nominal_quota",
            Kind::Gauge,
            &[],
            Ok(()),
        ),
        (
            "kueue_cluster_queue_borrowing_limit",
            Kind::Gauge,
            &[],
            Ok(()),
        ),
        (
            "kueue_cluster_queue_lending_limit",
            Kind::Gauge,
            &[],
            Ok(()),
        ),
        (
            "kueue_cluster_queue_resource_pending",
            Kind::Gauge,
            &[],
            Ok(()),
        ),
        (
            "kueue_cluster_queue_weighted_share",
            Kind::Gauge,
            &[],
            Ok(()),
        ),
        ("kueue_cohort_weighted_share", Kind::Gauge, &[], Ok(())),
        ("kueue_cohort_subtree_quota", Kind::Gauge, &[], Ok(())),
        (
            "kueue_cohort_subtree_resource_reservations",
            Kind::Gauge,
            &[],
            Ok(()),
        ),
        (
            "kueue_cohort_subtree_admitted_workloads_total",
            Kind::Counter,
            &[],
            Ok(()),
        ),
        (
            "kueue_cohort_subtree_admitted_active_workloads",
            Kind::Gauge,
            &[],
            Ok(()),
        ),
        ("kueue_cohort_info", Kind::Gauge, &[], Ok(())),
        (
            "kueue_local_queue_pending_workloads",
            Kind::Gauge,
            &[],
            Ok(()),
        ),
        (
            "kueue_local_queue_finished_workloads",
            Kind::Gauge,
            &[],
            Ok(()),
        ),
        (
            "kueue_local_queue_quota_reserved_workloads_total",
            Kind::Counter,
            &[],
            Ok(()),
        ),
        (
            "kueue_local_queue_quota_reserved_wait_time_seconds",
            Kind::Histogram,
            &E14,
            Ok(()),
        ),
        (
            "kueue_local_queue_finished_workloads_total",
            Kind::Counter,
            &[],
            Ok(()),
        ),
        (
            "kueue_local_queue_admitted_workloads_total",
            Kind::Counter,
            &[],
            Ok(()),
        ),
        (
            "kueue_local_queue_admission_wait_time_seconds",
            Kind::Histogram,
            &E14,
            Ok(()),
        ),
        (
            "kueue_local_queue_admission_checks_wait_time_seconds",
            Kind::Histogram,
            &E14,
            Ok(()),
        ),
        (
            "kueue_local_queue_ready_wait_time_seconds",
            Kind::Histogram,
            &E14,
            Ok(()),
        ),
        (
            "kueue_local_queue_admitted_until_ready_wait_time_seconds",
            Kind::Histogram,
            &E14,
            Ok(()),
        ),
        (
            "kueue_local_queue_evicted_workloads_total",
            Kind::Counter,
            &[],
            Ok(()),
        ),
        (
            "kueue_local_queue_reserving_active_workloads",
            Kind::Gauge,
            &[],
            Ok(()),
        ),
        (
            "kueue_local_queue_admitted_active_workloads",
            Kind::Gauge,
            &[],
            Ok(()),
        ),
        ("kueue_local_queue_status", Kind::Gauge, &[], Ok(())),
        (
            "kueue_local_queue_resource_reservation",
            Kind::Gauge,
            &[],
            Ok(()),
        ),
        ("kueue_local_queue_resource_usage", Kind::Gauge, &[], Ok(())),
        (
            "kueue_local_queue_admission_fair_sharing_usage",
            Kind::Gauge,
            &[],
            Err("admission fair sharing is not supported"),
        ),
        (
            "kueue_local_queue_unadmitted_workloads",
            Kind::Gauge,
            &[],
            Err(OFF_IN_KUEUE),
        ),
    ];

    /// Fails on drift: a metric of ours under Kueue's prefix that Kueue does not have, one Kueue
    /// has that is neither exposed nor explained, or a type or bucket list that differs.
    #[test]
    fn the_metric_set_matches_kueues() {
        assert_eq!(KUEUE.len(), 59, "Kueue v0.19.2 registers 59 collectors");
        for def in ALL.iter().filter(|d| !d.name.starts_with("turnstile_")) {
            let k = KUEUE
                .iter()
                .find(|k| k.0 == def.name)
                .unwrap_or_else(|| panic!("{} is not a Kueue metric", def.name));
            assert!(
                k.3.is_ok(),
                "{} is exposed but listed as not: {:?}",
                def.name,
                k.3
            );
            assert_eq!(def.kind, k.1, "{}: type", def.name);
            if def.kind == Kind::Histogram {
                assert_eq!(buckets(*def), k.2, "{}: buckets", def.name);
            }
        }
        for k in KUEUE {
            let ours = ALL.iter().any(|d| d.name == k.0);
            assert_eq!(
                ours,
                k.3.is_ok(),
                "{}: exposed here {ours}, listed {:?}",
                k.0,
                k.3
            );
        }
        let exposed = KUEUE.iter().filter(|k| k.3.is_ok()).count();
        eprintln!("Kueue metrics exposed: {exposed} of {}", KUEUE.len());
    }

    #[test]
    fn finished_workloads_and_preemption_skips_are_gauges_of_their_queues() {
        use serde_json::json;
        let obj = |v: serde_json::Value| v;
        let mut ix = turnstile_state::index::Index::default();
        ix.apply_flavor(
            serde_json::from_value(obj(json!({"metadata": {"name": "default"}}))).unwrap(),
        );
        ix.apply_cluster_queue(
            serde_json::from_value(obj(
                json!({"metadata": {"name": "cq"}, "spec": {"namespaceSelector": {},
                "resourceGroups": [{"coveredResources": ["cpu"], "flavors": [{"name": "default",
                    "resources": [{"name": "cpu", "nominalQuota": "1"}]}]}]}}),
            ))
            .unwrap(),
        );
        ix.apply_namespace("ns", BTreeMap::new());
        ix.apply_local_queue(
            serde_json::from_value(obj(json!({"metadata": {"name": "lq", "namespace": "ns"},
                "spec": {"clusterQueue": "cq"}})))
            .unwrap(),
        );
        for name in ["a", "b"] {
            ix.apply_workload(
                serde_json::from_value(obj(json!({"metadata": {"name": name, "namespace": "ns"},
                    "spec": {"queueName": "lq", "podSets": []},
                    "status": {"conditions": [{"type": "Finished", "status": "True", "reason": "Succeeded",
                        "message": "", "lastTransitionTime": "2026-11-25T00:01:00Z"}]}})))
                .unwrap(),
            );
        }
        let gauges = cache_gauges(&ix);
        let value = |def: Def| {
            gauges
                .iter()
                .find(|s| s.def.name == def.name)
                .map(|s| (s.labels.clone(), s.value))
        };
        assert_eq!(
            value(FINISHED_NOW),
            Some((vec![("cluster_queue", "cq".to_owned())], 2.0))
        );
        // (The LocalQueue twin is emitted only with LocalQueue metrics configured, a process-wide
        // setting; it reads the same per-LocalQueue count, tested in the index.)
        let m = Metrics::default();
        m.set(PREEMPTION_SKIPS, &[("cluster_queue", "cq")], 3.0);
        m.set(PREEMPTION_SKIPS, &[("cluster_queue", "cq")], 1.0);
        let text = m.render(&[], "leader", &|_, _| None);
        assert!(
            text.contains(
                "kueue_admission_cycle_preemption_skips{cluster_queue=\"cq\",replica_role=\"leader\"} 1\n"
            ),
            "{text}"
        );
    }

    /// ClusterQueue `a` (4 cpu, lends 1) in cohort `team` under `root` (2 cpu of its own), `b`
    /// (3 cpu) in `root`; a workload of 2 cpu admitted in `a`, two pending in `b` (3 x 0.5 and
    /// 3 x 1 cpu, 1Gi each pod).
    fn cohort_tree_index() -> turnstile_state::index::Index {
        use serde_json::json;
        let mut ix = turnstile_state::index::Index::default();
        ix.apply_flavor(serde_json::from_value(json!({"metadata": {"name": "f"}})).unwrap());
        let cq = |name: &str, cohort: &str, quota: serde_json::Value| {
            serde_json::from_value(json!({"metadata": {"name": name}, "spec": {
                "cohortName": cohort, "namespaceSelector": {},
                "resourceGroups": [{"coveredResources": ["cpu", "memory"], "flavors": [{"name": "f",
                    "resources": [quota, {"name": "memory", "nominalQuota": "0"}]}]}]}}))
            .unwrap()
        };
        // a lends 1 of its 4 cpu to team; team lends everything to root (2 of its own), as b.
        ix.apply_cluster_queue(cq(
            "a",
            "team",
            json!({"name": "cpu", "nominalQuota": "4", "lendingLimit": "1"}),
        ));
        ix.apply_cluster_queue(cq("b", "root", json!({"name": "cpu", "nominalQuota": "3"})));
        ix.apply_cohort(
            serde_json::from_value(
                json!({"metadata": {"name": "team"}, "spec": {"parentName": "root"}}),
            )
            .unwrap(),
        );
        ix.apply_cohort(
            serde_json::from_value(json!({"metadata": {"name": "root"}, "spec": {
                "resourceGroups": [{"coveredResources": ["cpu"], "flavors": [{"name": "f",
                    "resources": [{"name": "cpu", "nominalQuota": "2"}]}]}]}}))
            .unwrap(),
        );
        ix.apply_namespace("ns", BTreeMap::new());
        for (lq, cq) in [("la", "a"), ("lb", "b")] {
            ix.apply_local_queue(
                serde_json::from_value(json!({"metadata": {"name": lq, "namespace": "ns"},
                    "spec": {"clusterQueue": cq}}))
                .unwrap(),
            );
        }
        let pod_sets = |cpu: &str, count: i32| {
            json!([{"name": "main", "count": count, "template": {"spec": {"containers": [{"name": "c",
                "resources": {"requests": {"cpu": cpu, "memory": "1Gi"}}}]}}}])
        };
        ix.apply_workload(
            serde_json::from_value(json!({"metadata": {"name": "running", "namespace": "ns", "uid": "u1"},
                "spec": {"queueName": "la", "podSets": pod_sets("1", 2)},
                "status": {"conditions": [{"type": "QuotaReserved", "status": "True", "reason": "QuotaReserved",
                    "message": "", "lastTransitionTime": "2026-12-01T00:00:00Z"}],
                    "admission": {"clusterQueue": "a", "podSetAssignments": [{"name": "main", "count": 2,
                        "flavors": {"cpu": "f", "memory": "f"}, "resourceUsage": {"cpu": "2", "memory": "2Gi"}}]}}}))
            .unwrap(),
        );
        for (name, cpu) in [("p1", "500m"), ("p2", "1")] {
            ix.apply_workload(
                serde_json::from_value(
                    json!({"metadata": {"name": name, "namespace": "ns", "uid": name},
                    "spec": {"queueName": "lb", "podSets": pod_sets(cpu, 3)}}),
                )
                .unwrap(),
            );
        }
        ix
    }

    #[test]
    fn pending_requests_and_cohort_subtrees_are_summed_as_kueue_does() {
        let ix = cohort_tree_index();
        let on = Settings {
            cluster_queue_resources: true,
            ..Settings::default()
        };
        let gauges = cache_gauges_with(&ix, &on);
        let find = |def: Def, labels: &[(&str, &str)]| {
            gauges
                .iter()
                .filter(|s| s.def.name == def.name)
                .find(|s| {
                    labels
                        .iter()
                        .all(|(k, v)| s.labels.iter().any(|(k2, v2)| k2 == k && v2 == v))
                })
                .map(|s| s.value)
        };
        let pending = |cq: &str, r: &str| {
            find(
                CQ_PENDING_RESOURCES,
                &[("cluster_queue", cq), ("resource", r)],
            )
        };
        assert_eq!(pending("b", "cpu"), Some(4.5), "3 x 0.5 + 3 x 1");
        assert_eq!(pending("b", "memory"), Some(6.0 * 1024.0 * 1024.0 * 1024.0));
        assert_eq!(
            pending("a", "cpu"),
            Some(0.0),
            "a covered resource with nothing pending"
        );
        let quota = |c: &str, r: &str| {
            find(
                COHORT_SUBTREE_QUOTA,
                &[("cohort", c), ("flavor", "f"), ("resource", r)],
            )
        };
        assert_eq!(quota("team", "cpu"), Some(1.0), "what a lends");
        assert_eq!(
            quota("root", "cpu"),
            Some(6.0),
            "2 own + 1 from team + 3 from b"
        );
        assert_eq!(quota("root", "memory"), None, "zero quota is not reported");
        let reserved = |c: &str, r: &str| {
            find(
                COHORT_SUBTREE_RESERVATIONS,
                &[("cohort", c), ("flavor", "f"), ("resource", r)],
            )
        };
        assert_eq!(reserved("team", "cpu"), Some(2.0));
        assert_eq!(
            reserved("root", "cpu"),
            Some(2.0),
            "a nested queue counts up the tree"
        );
        assert_eq!(
            reserved("root", "memory"),
            Some(2.0 * 1024.0 * 1024.0 * 1024.0)
        );
        let off = cache_gauges_with(&ix, &Settings::default());
        assert!(
            !off.iter().any(|s| s.def.name == CQ_PENDING_RESOURCES.name),
            "behind metrics.enableClusterQueueResources"
        );
        assert!(off.iter().any(|s| s.def.name == COHORT_SUBTREE_QUOTA.name));
    }

    #[test]
    fn the_first_eviction_of_a_kind_counts_once() {
        use serde_json::json;
        let wl: turnstile_api::Workload = serde_json::from_value(json!({
            "metadata": {"name": "w", "namespace": "ns", "labels": {"kueue.x-k8s.io/queue-name": "lq"}},
            "spec": {"queueName": "lq", "podSets": []},
            "status": {"schedulingStats": {"evictions": [{"reason": "Preempted", "underlyingCause": "", "count": 1}]}}}))
        .unwrap();
        evicted(&wl, "cq-once", "Preempted", 0);
        evicted(&wl, "cq-once", "DeactivatedDueToRequeuingLimitExceeded", 0);
        let text = global().render(&[], "leader", &|_, _| None);
        let line = |name: &str, reason: &str, cause: &str| {
            format!(
                "{name}{{cluster_queue=\"cq-once\",reason=\"{reason}\",underlying_cause=\"{cause}\",priority_class=\"\",replica_role=\"leader\"}} 1\n"
            )
        };
        assert!(
            text.contains(&line("kueue_evicted_workloads_total", "Preempted", "")),
            "{text}"
        );
        assert!(
            !text.contains(
                "kueue_evicted_workloads_once_total{cluster_queue=\"cq-once\",reason=\"Preempted\""
            ),
            "evicted before for this reason: {text}"
        );
        assert!(
            text.contains(&line(
                "kueue_evicted_workloads_once_total",
                "Deactivated",
                "RequeuingLimitExceeded"
            )),
            "{text}"
        );
    }

    #[test]
    fn local_queue_series_follow_the_settings() {
        let lq = vec![("name", "lq".to_owned()), ("namespace", "ns".to_owned())];
        let labels = |_: &str, _: &str| Some(BTreeMap::from([("team".to_owned(), "a".to_owned())]));
        let on = Settings {
            local_queues: true,
            ..Settings::default()
        };
        assert!(exposed(LQ_ADMITTED, &lq, &on, &labels));
        assert!(
            exposed(ADMITTED, &lq, &Settings::default(), &labels),
            "not a LocalQueue series"
        );
        assert!(!exposed(LQ_ADMITTED, &lq, &Settings::default(), &labels));
        let picky = Settings {
            local_queues: true,
            local_queue_selector: Some(std::sync::Arc::new(|l: &BTreeMap<String, String>| {
                l.get("team").map(String::as_str) == Some("b")
            })),
            ..Settings::default()
        };
        assert!(!exposed(LQ_ADMITTED, &lq, &picky, &labels));
    }
}
