//! The `config.kueue.x-k8s.io/v1beta2` `Configuration` types, field for field.
//!
//! Go pointers are `Option`s (so "unset" and "set to the zero value" stay distinct, which Kueue's defaulting
//! relies on); Go values are plain fields with their zero value as default. Enumerations are kept as strings so
//! a wrong value is reported by validation with Kueue's message; typed views live in [`crate::accessors`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::duration::GoDuration;
use crate::quantity::Quantity;
use crate::selector::LabelSelector;

/// `apiVersion` of Kueue's Configuration.
pub const API_VERSION: &str = "config.kueue.x-k8s.io/v1beta2";
/// `kind` of Kueue's Configuration.
pub const KIND: &str = "Configuration";

// Helpers used as `skip_serializing_if`, mirroring Go's `omitempty`.
#[allow(clippy::trivially_copy_pass_by_ref)] // serde passes a reference
fn is_false(b: &bool) -> bool {
    !*b
}

/// Kueue's manager configuration (`kind: Configuration`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Configuration {
    /// `config.kueue.x-k8s.io/v1beta2`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub api_version: String,
    /// `Configuration`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub kind: String,
    /// The namespace the manager runs in (webhook Service DNS name, default namespace exclusion).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Webhook server settings.
    pub webhook: ControllerWebhook,
    /// Leader election settings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub leader_election: Option<LeaderElection>,
    /// Metrics endpoint settings.
    pub metrics: ControllerMetrics,
    /// Health probe settings.
    pub health: ControllerHealth,
    /// Address of the pprof endpoint (`""` or `"0"`: off).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub pprof_bind_address: String,
    /// Per-kind reconciler concurrency and cache sync timeout.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub controller: Option<ControllerConfigurationSpec>,
    /// TLS settings of Kueue's servers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsOptions>,
    /// Whether jobs without the `kueue.x-k8s.io/queue-name` label are managed (suspended until admitted).
    pub manage_jobs_without_queue_name: bool,
    /// Which namespaces' jobs are eligible for management.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub managed_jobs_namespace_selector: Option<LabelSelector>,
    /// Self-signed certificates for the webhook server.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub internal_cert_management: Option<InternalCertManagement>,
    /// All-or-nothing admission: evict workloads whose pods are not ready in time. On whenever present.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wait_for_pods_ready: Option<WaitForPodsReady>,
    /// Client-side rate limits for the Kubernetes API.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_connection: Option<ClientConnection>,
    /// Which job frameworks are managed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub integrations: Option<Integrations>,
    /// MultiKueue settings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub multi_kueue: Option<MultiKueue>,
    /// Fair sharing; on whenever present.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fair_sharing: Option<FairSharing>,
    /// Admission fair sharing (usage-based ordering within a ClusterQueue); on whenever present.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub admission_fair_sharing: Option<AdmissionFairSharing>,
    /// Resource handling: excluded prefixes, transformations, DRA mappings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resources: Option<Resources>,
    /// Feature gate overrides by name.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub feature_gates: BTreeMap<String, bool>,
    /// Automatic deletion of finished / deactivated objects.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object_retention_policies: Option<ObjectRetentionPolicies>,
    /// The visibility API server.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub visibility_server: Option<VisibilityServerConfiguration>,
}

/// `webhook`: the webhook server.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ControllerWebhook {
    /// Port the webhook server listens on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<i64>,
    /// Host the webhook server binds to (empty: all interfaces).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub host: String,
    /// Directory holding `tls.crt` and `tls.key`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub cert_dir: String,
}

/// `leaderElection` (component-base `LeaderElectionConfiguration`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct LeaderElection {
    /// Whether to elect a leader before running.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub leader_elect: Option<bool>,
    /// How long a lease is valid without renewal.
    pub lease_duration: GoDuration,
    /// How long the leader keeps trying to renew before giving up.
    pub renew_deadline: GoDuration,
    /// Wait between acquisition/renewal attempts.
    pub retry_period: GoDuration,
    /// The lock object type (`leases`).
    pub resource_lock: String,
    /// The lock object name.
    pub resource_name: String,
    /// The lock object namespace (empty: the manager's namespace).
    pub resource_namespace: String,
}

/// `metrics`: the metrics endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ControllerMetrics {
    /// Address of the metrics endpoint (`"0"`: off).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub bind_address: String,
    /// Whether ClusterQueue resource usage/quota metrics are reported.
    #[serde(skip_serializing_if = "is_false")]
    pub enable_cluster_queue_resources: bool,
    /// Labels/annotations promoted to `custom_*` metric labels.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub custom_labels: Vec<ControllerMetricsCustomLabel>,
    /// LocalQueue metrics.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub local_queue_metrics: Option<LocalQueueMetrics>,
}

/// `metrics.customLabels[]`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ControllerMetricsCustomLabel {
    /// Suffix of the `custom_<name>` metric label.
    pub name: String,
    /// Label key to read the value from.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub source_label_key: String,
    /// Annotation key to read the value from.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub source_annotation_key: String,
    /// `Cohort`, `LocalQueue`, `ClusterQueue` (default) or `Workload`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_kind: Option<String>,
    /// Allowed values; others are reported as untracked.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tracked_values: Vec<String>,
}

/// `metrics.localQueueMetrics`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct LocalQueueMetrics {
    /// Whether LocalQueue metrics are exposed.
    #[serde(skip_serializing_if = "is_false")]
    pub enable: bool,
    /// Which LocalQueues get metrics.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub local_queue_selector: Option<LabelSelector>,
}

/// `health`: the health probe endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ControllerHealth {
    /// Address of the health probe endpoint (`""` or `"0"`: off).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub health_probe_bind_address: String,
    /// Readiness endpoint path (empty: `readyz`).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub readiness_endpoint_name: String,
    /// Liveness endpoint path (empty: `healthz`).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub liveness_endpoint_name: String,
}

/// `controller`: controller-runtime options.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ControllerConfigurationSpec {
    /// Concurrent reconciles per `Kind.group`.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub group_kind_concurrency: BTreeMap<String, i64>,
    /// Cache sync timeout in nanoseconds (a Go `time.Duration` is an integer in JSON).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache_sync_timeout: Option<i64>,
}

/// `tls`: TLS settings of Kueue's servers.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TlsOptions {
    /// `VersionTLS12` or `VersionTLS13`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub min_version: String,
    /// Cipher suite names.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cipher_suites: Vec<String>,
    /// IANA TLS supported group IDs.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub curve_preferences: Vec<i32>,
}

/// `waitForPodsReady`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct WaitForPodsReady {
    /// Time for an admitted workload to reach `PodsReady=True` before eviction.
    pub timeout: GoDuration,
    /// Whether admission is blocked while an admitted workload is not ready.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub block_admission: Option<bool>,
    /// How an evicted workload is requeued.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requeuing_strategy: Option<RequeuingStrategy>,
    /// Time allowed to recover readiness after a running workload's pods stop being ready (`0s`: off).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recovery_timeout: Option<GoDuration>,
}

/// `waitForPodsReady.requeuingStrategy`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RequeuingStrategy {
    /// `Eviction` or `Creation`: which timestamp orders a requeued workload.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
    /// Requeues before deactivation (unset: unlimited).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backoff_limit_count: Option<i32>,
    /// Base of the exponential requeue backoff, in seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backoff_base_seconds: Option<i32>,
    /// Cap of the requeue backoff, in seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backoff_max_seconds: Option<i32>,
}

/// `multiKueue`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct MultiKueue {
    /// Interval between garbage collections of remote objects (`0s`: off).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gc_interval: Option<GoDuration>,
    /// Label value marking objects this manager created in workers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
    /// How long a workload stays admitted after its worker is lost.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub worker_lost_timeout: Option<GoDuration>,
    /// The dispatcher choosing worker clusters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dispatcher_name: Option<String>,
    /// GVKs handled by the generic MultiKueue adapter.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub external_frameworks: Vec<MultiKueueExternalFramework>,
    /// ClusterProfile API settings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster_profile: Option<ClusterProfile>,
    /// Settings of the incremental dispatcher.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub incremental_dispatcher_config: Option<IncrementalDispatcherConfig>,
}

/// `multiKueue.incrementalDispatcherConfig`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct IncrementalDispatcherConfig {
    /// Worker clusters added per step (≥ 1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step_size: Option<i32>,
}

/// `multiKueue.externalFrameworks[]`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct MultiKueueExternalFramework {
    /// `kind.version.group`.
    pub name: String,
}

/// `multiKueue.clusterProfile`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ClusterProfile {
    /// Providers giving access to worker clusters.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub access_providers: Vec<ClusterProfileAccessProvider>,
    /// Deprecated spelling of `accessProviders`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub credentials_providers: Vec<ClusterProfileAccessProvider>,
}

/// `multiKueue.clusterProfile.accessProviders[]`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ClusterProfileAccessProvider {
    /// Provider name.
    pub name: String,
    /// The credential plugin to run.
    pub exec_config: ExecConfig,
}

/// A kubeconfig `exec` credential plugin (client-go `ExecConfig`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ExecConfig {
    /// Command to run.
    pub command: String,
    /// Arguments.
    pub args: Vec<String>,
    /// Extra environment.
    pub env: Vec<ExecEnvVar>,
    /// `client.authentication.k8s.io` version the plugin speaks.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub api_version: String,
    /// Text shown when the command is missing.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub install_hint: String,
    /// Whether cluster information is passed to the plugin.
    pub provide_cluster_info: bool,
    /// `Never`, `IfAvailable` or `Always`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub interactive_mode: String,
}

/// One `env` entry of an [`ExecConfig`].
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ExecEnvVar {
    /// Variable name.
    pub name: String,
    /// Variable value.
    pub value: String,
}

/// `internalCertManagement`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct InternalCertManagement {
    /// Whether the manager generates and rotates its own serving certificates.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enable: Option<bool>,
    /// Name of the webhook Service (part of the certificate's DNS name).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook_service_name: Option<String>,
    /// Name of the Secret holding the CA and serving certificate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook_secret_name: Option<String>,
}

/// `clientConnection`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ClientConnection {
    /// Queries per second to the API server (negative: no client-side limit).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qps: Option<f32>,
    /// Burst above `qps`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub burst: Option<i32>,
}

/// `integrations`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Integrations {
    /// Enabled framework names (`batch/job`, `pod`, `jobset.x-k8s.io/jobset`, …).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub frameworks: Vec<String>,
    /// `Kind.version.group` of jobs managed by external controllers.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub external_frameworks: Vec<String>,
    /// Job label keys copied onto the Workload at creation.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub label_keys_to_copy: Vec<String>,
}

/// `resources`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Resources {
    /// `BlockUndeclared` or `IgnoreUndeclared`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quota_check_strategy: Option<String>,
    /// Requests whose resource name starts with one of these are ignored.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub exclude_resource_prefixes: Vec<String>,
    /// Rewrites of pod requests into Workload requests; at most one per input.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub transformations: Vec<ResourceTransformation>,
    /// Dynamic Resource Allocation device class mappings.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub device_class_mappings: Vec<DeviceClassMapping>,
}

/// `resources.transformations[]`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ResourceTransformation {
    /// The input resource name.
    pub input: String,
    /// `Retain` (default) or `Replace`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub strategy: Option<String>,
    /// A resource whose requested amount multiplies the input before computing outputs.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub multiply_by: String,
    /// Output resources and their amount per unit of input.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub outputs: BTreeMap<String, Quantity>,
}

/// `resources.deviceClassMappings[]`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DeviceClassMapping {
    /// Logical resource name used in quotas.
    pub name: String,
    /// DeviceClasses represented by `name`.
    pub device_class_names: Vec<String>,
    /// Counter/capacity accounting sources.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<DeviceClassSourceConfig>,
}

/// `resources.deviceClassMappings[].sources[]`: exactly one of `counter` / `capacity`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DeviceClassSourceConfig {
    /// Counter-based quota for partitionable devices.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub counter: Option<DeviceClassCounterSource>,
    /// Capacity-based quota for shareable devices.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capacity: Option<DeviceClassCapacitySource>,
}

/// A counter source of a device class mapping.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DeviceClassCounterSource {
    /// Counter name in the devices' `consumesCounters`.
    pub name: String,
    /// DRA driver name.
    pub driver: String,
    /// Which devices count.
    pub device_selector: DeviceSelector,
}

/// A capacity source of a device class mapping.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DeviceClassCapacitySource {
    /// Capacity dimension (DRA qualified name).
    pub name: String,
    /// DRA driver name.
    pub driver: String,
    /// Which devices count.
    pub device_selector: DeviceSelector,
}

/// A DRA `DeviceSelector`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DeviceSelector {
    /// A CEL selector.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cel: Option<CelDeviceSelector>,
}

/// A CEL device selector.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CelDeviceSelector {
    /// The CEL expression.
    pub expression: String,
}

/// `fairSharing`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct FairSharing {
    /// Preemption strategies, in order; one of the three lists Kueue allows.
    pub preemption_strategies: Vec<String>,
}

/// `admissionFairSharing`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AdmissionFairSharing {
    /// Half-life of recorded usage (`0s`: reset immediately).
    pub usage_half_life_time: GoDuration,
    /// How often usage is sampled.
    pub usage_sampling_interval: GoDuration,
    /// Weight per resource (default 1).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub resource_weights: BTreeMap<String, f64>,
}

/// `objectRetentionPolicies`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ObjectRetentionPolicies {
    /// Retention of Workloads.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workloads: Option<WorkloadRetentionPolicy>,
}

/// `objectRetentionPolicies.workloads`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct WorkloadRetentionPolicy {
    /// Delete finished Workloads after this long (unset: never).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after_finished: Option<GoDuration>,
    /// Delete workloads deactivated by Kueue after this long (unset: never).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after_deactivated_by_kueue: Option<GoDuration>,
}

/// `visibilityServer`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct VisibilityServerConfiguration {
    /// IP address to listen on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bind_address: Option<String>,
    /// Port to listen on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bind_port: Option<i32>,
}
