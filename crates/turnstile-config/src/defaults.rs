//! Kueue's defaulting (`apis/config/v1beta2/defaults.go` plus component-base's leader election defaults).
//!
//! The rule Kueue applies everywhere: an unset pointer (`None`) or an empty/zero plain value gets the default,
//! while a pointer explicitly set to a zero value (`qps: 0`, `namespace: ""`, `gcInterval: 0s`) is kept.

use crate::duration::GoDuration;
use crate::selector::{LabelSelector, LabelSelectorRequirement};
use crate::types::{
    ClientConnection, Configuration, IncrementalDispatcherConfig, Integrations,
    InternalCertManagement, LeaderElection, LocalQueueMetrics, MultiKueue, RequeuingStrategy,
    VisibilityServerConfiguration, WaitForPodsReady,
};

/// Namespace used when none is configured and the service-account namespace file is absent.
pub const DEFAULT_NAMESPACE: &str = "kueue-system";
/// Where a pod finds its own namespace.
pub const SERVICE_ACCOUNT_NAMESPACE_FILE: &str =
    "/var/run/secrets/kubernetes.io/serviceaccount/namespace";
/// Default `internalCertManagement.webhookServiceName`.
pub const DEFAULT_WEBHOOK_SERVICE_NAME: &str = "kueue-webhook-service";
/// Default `internalCertManagement.webhookSecretName`.
pub const DEFAULT_WEBHOOK_SECRET_NAME: &str = "kueue-webhook-server-cert";
/// Default `webhook.port`.
pub const DEFAULT_WEBHOOK_PORT: i64 = 9443;
/// Default `webhook.certDir`.
pub const DEFAULT_WEBHOOK_CERT_DIR: &str = "/tmp/k8s-webhook-server/serving-certs";
/// Default `health.healthProbeBindAddress`.
pub const DEFAULT_HEALTH_PROBE_BIND_ADDRESS: &str = ":8081";
/// Default `metrics.bindAddress`.
pub const DEFAULT_METRICS_BIND_ADDRESS: &str = ":8443";
/// Default `leaderElection.resourceName`.
pub const DEFAULT_LEADER_ELECTION_ID: &str = "c1f6bfd2.kueue.x-k8s.io";
/// Default `leaderElection.resourceLock`.
pub const DEFAULT_LEADER_ELECTION_RESOURCE_LOCK: &str = "leases";
/// Default `leaderElection.leaseDuration`.
pub const DEFAULT_LEASE_DURATION: GoDuration = GoDuration::from_secs(15);
/// Default `leaderElection.renewDeadline`.
pub const DEFAULT_RENEW_DEADLINE: GoDuration = GoDuration::from_secs(10);
/// Default `leaderElection.retryPeriod`.
pub const DEFAULT_RETRY_PERIOD: GoDuration = GoDuration::from_secs(2);
/// Default `clientConnection.qps`.
pub const DEFAULT_CLIENT_CONNECTION_QPS: f32 = 300.0;
/// Default `clientConnection.burst`.
pub const DEFAULT_CLIENT_CONNECTION_BURST: i32 = 500;
/// Default `integrations.frameworks` (when the list is empty).
pub const DEFAULT_FRAMEWORK: &str = "batch/job";
/// Default `waitForPodsReady.timeout` (also replaces an explicit `0s`).
pub const DEFAULT_WAIT_FOR_PODS_READY_TIMEOUT: GoDuration = GoDuration::from_mins(30);
/// Default `waitForPodsReady.requeuingStrategy.timestamp`.
pub const DEFAULT_REQUEUING_TIMESTAMP: &str = "Eviction";
/// Default `waitForPodsReady.requeuingStrategy.backoffBaseSeconds`.
pub const DEFAULT_REQUEUING_BACKOFF_BASE_SECONDS: i32 = 60;
/// Default `waitForPodsReady.requeuingStrategy.backoffMaxSeconds`.
pub const DEFAULT_REQUEUING_BACKOFF_MAX_SECONDS: i32 = 3600;
/// Default `multiKueue.gcInterval`.
pub const DEFAULT_MULTIKUEUE_GC_INTERVAL: GoDuration = GoDuration::from_mins(1);
/// Default `multiKueue.origin`.
pub const DEFAULT_MULTIKUEUE_ORIGIN: &str = "multikueue";
/// Default `multiKueue.workerLostTimeout`.
pub const DEFAULT_MULTIKUEUE_WORKER_LOST_TIMEOUT: GoDuration = GoDuration::from_mins(15);
/// The all-at-once MultiKueue dispatcher (default `multiKueue.dispatcherName`).
pub const MULTIKUEUE_DISPATCHER_ALL_AT_ONCE: &str =
    "kueue.x-k8s.io/multikueue-dispatcher-all-at-once";
/// The incremental MultiKueue dispatcher.
pub const MULTIKUEUE_DISPATCHER_INCREMENTAL: &str =
    "kueue.x-k8s.io/multikueue-dispatcher-incremental";
/// Default `multiKueue.incrementalDispatcherConfig.stepSize` (incremental dispatcher only).
pub const DEFAULT_INCREMENTAL_DISPATCHER_STEP_SIZE: i32 = 3;
/// Default `admissionFairSharing.usageSamplingInterval`.
pub const DEFAULT_USAGE_SAMPLING_INTERVAL: GoDuration = GoDuration::from_mins(5);
/// Default `visibilityServer.bindPort`.
pub const DEFAULT_VISIBILITY_BIND_PORT: i32 = 8082;
/// Default `resources.transformations[].strategy`.
pub const DEFAULT_TRANSFORMATION_STRATEGY: &str = "Retain";
/// The label every namespace carries with its own name.
pub const NAMESPACE_NAME_LABEL: &str = "kubernetes.io/metadata.name";

/// The namespace Kueue falls back to: the pod's service-account namespace if readable and non-blank, else
/// `kueue-system`.
pub fn operator_namespace() -> String {
    std::fs::read_to_string(SERVICE_ACCOUNT_NAMESPACE_FILE)
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| DEFAULT_NAMESPACE.to_owned())
}

fn or_default_str(value: &mut String, default: &str) {
    if value.is_empty() {
        default.clone_into(value);
    }
}

fn or_default_duration(value: &mut GoDuration, default: GoDuration) {
    if value.is_zero() {
        *value = default;
    }
}

/// Applies Kueue's defaults in place. `fallback_namespace` is used when `namespace` is unset (Kueue uses
/// [`operator_namespace`]).
pub fn apply_defaults(cfg: &mut Configuration, fallback_namespace: &str) {
    let namespace = cfg
        .namespace
        .get_or_insert_with(|| fallback_namespace.to_owned())
        .clone();

    cfg.webhook.port.get_or_insert(DEFAULT_WEBHOOK_PORT);
    or_default_str(&mut cfg.webhook.cert_dir, DEFAULT_WEBHOOK_CERT_DIR);
    or_default_str(&mut cfg.metrics.bind_address, DEFAULT_METRICS_BIND_ADDRESS);
    or_default_str(
        &mut cfg.health.health_probe_bind_address,
        DEFAULT_HEALTH_PROBE_BIND_ADDRESS,
    );
    default_leader_election(
        cfg.leader_election
            .get_or_insert_with(LeaderElection::default),
    );
    cfg.metrics
        .local_queue_metrics
        .get_or_insert(LocalQueueMetrics {
            enable: true,
            local_queue_selector: None,
        });

    let icm = cfg
        .internal_cert_management
        .get_or_insert_with(InternalCertManagement::default);
    if *icm.enable.get_or_insert(true) {
        icm.webhook_service_name
            .get_or_insert_with(|| DEFAULT_WEBHOOK_SERVICE_NAME.to_owned());
        icm.webhook_secret_name
            .get_or_insert_with(|| DEFAULT_WEBHOOK_SECRET_NAME.to_owned());
    }

    let cc = cfg
        .client_connection
        .get_or_insert_with(ClientConnection::default);
    cc.qps.get_or_insert(DEFAULT_CLIENT_CONNECTION_QPS);
    cc.burst.get_or_insert(DEFAULT_CLIENT_CONNECTION_BURST);

    default_wait_for_pods_ready(
        cfg.wait_for_pods_ready
            .get_or_insert_with(WaitForPodsReady::default),
    );

    let integrations = cfg.integrations.get_or_insert_with(Integrations::default);
    if integrations.frameworks.is_empty() {
        integrations.frameworks = vec![DEFAULT_FRAMEWORK.to_owned()];
    }

    cfg.managed_jobs_namespace_selector
        .get_or_insert_with(|| default_namespace_selector(&namespace));

    default_multi_kueue(cfg.multi_kueue.get_or_insert_with(MultiKueue::default));

    if let Some(afs) = &mut cfg.admission_fair_sharing {
        or_default_duration(
            &mut afs.usage_sampling_interval,
            DEFAULT_USAGE_SAMPLING_INTERVAL,
        );
    }

    cfg.visibility_server
        .get_or_insert_with(VisibilityServerConfiguration::default)
        .bind_port
        .get_or_insert(DEFAULT_VISIBILITY_BIND_PORT);

    if let Some(resources) = &mut cfg.resources {
        for t in &mut resources.transformations {
            let strategy = t.strategy.get_or_insert_with(String::new);
            or_default_str(strategy, DEFAULT_TRANSFORMATION_STRATEGY);
        }
    }
}

/// `kubernetes.io/metadata.name NotIn [kube-system, <namespace>]`.
pub fn default_namespace_selector(namespace: &str) -> LabelSelector {
    LabelSelector {
        match_labels: std::collections::BTreeMap::new(),
        match_expressions: vec![LabelSelectorRequirement {
            key: NAMESPACE_NAME_LABEL.to_owned(),
            operator: "NotIn".to_owned(),
            values: vec!["kube-system".to_owned(), namespace.to_owned()],
        }],
    }
}

fn default_leader_election(le: &mut LeaderElection) {
    or_default_str(&mut le.resource_name, DEFAULT_LEADER_ELECTION_ID);
    or_default_str(&mut le.resource_lock, DEFAULT_LEADER_ELECTION_RESOURCE_LOCK);
    or_default_duration(&mut le.lease_duration, DEFAULT_LEASE_DURATION);
    or_default_duration(&mut le.renew_deadline, DEFAULT_RENEW_DEADLINE);
    or_default_duration(&mut le.retry_period, DEFAULT_RETRY_PERIOD);
    le.leader_elect.get_or_insert(true);
}

fn default_wait_for_pods_ready(w: &mut WaitForPodsReady) {
    or_default_duration(&mut w.timeout, DEFAULT_WAIT_FOR_PODS_READY_TIMEOUT);
    w.block_admission.get_or_insert(false);
    w.recovery_timeout.get_or_insert(w.timeout);
    let rs = w
        .requeuing_strategy
        .get_or_insert_with(RequeuingStrategy::default);
    rs.timestamp
        .get_or_insert_with(|| DEFAULT_REQUEUING_TIMESTAMP.to_owned());
    rs.backoff_base_seconds
        .get_or_insert(DEFAULT_REQUEUING_BACKOFF_BASE_SECONDS);
    rs.backoff_max_seconds
        .get_or_insert(DEFAULT_REQUEUING_BACKOFF_MAX_SECONDS);
}

fn default_multi_kueue(mk: &mut MultiKueue) {
    mk.gc_interval.get_or_insert(DEFAULT_MULTIKUEUE_GC_INTERVAL);
    // Unlike the other pointers, an explicit empty origin is replaced too.
    let origin = mk.origin.get_or_insert_with(String::new);
    or_default_str(origin, DEFAULT_MULTIKUEUE_ORIGIN);
    mk.worker_lost_timeout
        .get_or_insert(DEFAULT_MULTIKUEUE_WORKER_LOST_TIMEOUT);
    mk.dispatcher_name
        .get_or_insert_with(|| MULTIKUEUE_DISPATCHER_ALL_AT_ONCE.to_owned());
    if mk.dispatcher_name.as_deref() == Some(MULTIKUEUE_DISPATCHER_INCREMENTAL) {
        mk.incremental_dispatcher_config
            .get_or_insert_with(IncrementalDispatcherConfig::default)
            .step_size
            .get_or_insert(DEFAULT_INCREMENTAL_DISPATCHER_STEP_SIZE);
    }
}
