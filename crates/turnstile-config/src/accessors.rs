//! Typed views of a (defaulted, validated) [`Configuration`] for the manager: plain structs with
//! [`std::time::Duration`]s and enums instead of Go-shaped optional strings.
//!
//! Every accessor falls back to Kueue's default when the field is unset, so it also works on a configuration
//! that was built by hand; values that validation would reject are mapped to the nearest sane value (and
//! documented per accessor) rather than panicking.

use std::time::Duration;

use crate::defaults::{
    DEFAULT_CLIENT_CONNECTION_BURST, DEFAULT_CLIENT_CONNECTION_QPS,
    DEFAULT_HEALTH_PROBE_BIND_ADDRESS, DEFAULT_LEADER_ELECTION_ID,
    DEFAULT_LEADER_ELECTION_RESOURCE_LOCK, DEFAULT_LEASE_DURATION, DEFAULT_METRICS_BIND_ADDRESS,
    DEFAULT_NAMESPACE, DEFAULT_RENEW_DEADLINE, DEFAULT_REQUEUING_BACKOFF_BASE_SECONDS,
    DEFAULT_REQUEUING_BACKOFF_MAX_SECONDS, DEFAULT_RETRY_PERIOD,
    DEFAULT_WAIT_FOR_PODS_READY_TIMEOUT, DEFAULT_WEBHOOK_CERT_DIR, DEFAULT_WEBHOOK_PORT,
    DEFAULT_WEBHOOK_SECRET_NAME, DEFAULT_WEBHOOK_SERVICE_NAME,
};
use crate::duration::GoDuration;
use crate::selector::LabelSelector;
use crate::types::{Configuration, ResourceTransformation};
use crate::validate::gate;

/// A fair-sharing preemption strategy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PreemptionStrategy {
    /// Preempt only if the preemptor CQ's share with the incoming workload is ≤ the target CQ's share without the
    /// preempted workload.
    LessThanOrEqualToFinalShare,
    /// Preempt only if the preemptor CQ's share with the incoming workload is < the target CQ's current share.
    LessThanInitialShare,
}

impl PreemptionStrategy {
    /// The name as written in the configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::LessThanOrEqualToFinalShare => "LessThanOrEqualToFinalShare",
            Self::LessThanInitialShare => "LessThanInitialShare",
        }
    }
}

/// The three `fairSharing.preemptionStrategies` lists Kueue accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FairSharingStrategies {
    /// `[LessThanOrEqualToFinalShare]`.
    LessThanOrEqualToFinalShare,
    /// `[LessThanInitialShare]`.
    LessThanInitialShare,
    /// `[LessThanOrEqualToFinalShare, LessThanInitialShare]`: the second is tried when the first finds nothing.
    LessThanOrEqualToFinalShareThenLessThanInitialShare,
}

impl FairSharingStrategies {
    /// Recognises one of the three allowed lists (order matters).
    pub fn from_list<S: AsRef<str>>(list: &[S]) -> Option<Self> {
        let names: Vec<&str> = list.iter().map(AsRef::as_ref).collect();
        match names.as_slice() {
            ["LessThanOrEqualToFinalShare"] => Some(Self::LessThanOrEqualToFinalShare),
            ["LessThanInitialShare"] => Some(Self::LessThanInitialShare),
            ["LessThanOrEqualToFinalShare", "LessThanInitialShare"] => {
                Some(Self::LessThanOrEqualToFinalShareThenLessThanInitialShare)
            }
            _ => None,
        }
    }

    /// The strategies in the order they are tried.
    pub fn strategies(self) -> &'static [PreemptionStrategy] {
        match self {
            Self::LessThanOrEqualToFinalShare => &[PreemptionStrategy::LessThanOrEqualToFinalShare],
            Self::LessThanInitialShare => &[PreemptionStrategy::LessThanInitialShare],
            Self::LessThanOrEqualToFinalShareThenLessThanInitialShare => &[
                PreemptionStrategy::LessThanOrEqualToFinalShare,
                PreemptionStrategy::LessThanInitialShare,
            ],
        }
    }
}

/// Which timestamp orders a workload requeued after a pods-ready timeout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RequeuingTimestamp {
    /// The eviction time (default): the workload goes behind those queued meanwhile.
    Eviction,
    /// The creation time: the workload keeps its place.
    Creation,
}

/// `waitForPodsReady`, resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WaitForPodsReadySettings {
    /// Time from admission to `PodsReady=True` before eviction.
    pub timeout: Duration,
    /// Time to regain readiness once lost; `None` when `recoveryTimeout` is `0s` (check disabled).
    pub recovery_timeout: Option<Duration>,
    /// Whether admission blocks while an admitted workload is not ready (not yet acted on by Turnstile).
    pub block_admission: bool,
    /// Ordering timestamp of a requeued workload.
    pub requeuing_timestamp: RequeuingTimestamp,
    /// Base of the exponential requeue backoff, in seconds.
    pub backoff_base_seconds: u32,
    /// Cap of the requeue backoff, in seconds.
    pub backoff_max_seconds: u32,
    /// Requeues before the workload is deactivated; `None`: unlimited.
    pub backoff_limit_count: Option<u32>,
}

/// How a resource transformation treats its input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransformationStrategy {
    /// Keep the input resource next to the outputs.
    Retain,
    /// Drop the input resource; only the outputs are accounted.
    Replace,
}

impl ResourceTransformation {
    /// The typed strategy (`Retain` when unset); `None` for a value validation rejects.
    pub fn strategy_kind(&self) -> Option<TransformationStrategy> {
        match self.strategy.as_deref() {
            None | Some("" | "Retain") => Some(TransformationStrategy::Retain),
            Some("Replace") => Some(TransformationStrategy::Replace),
            Some(_) => None,
        }
    }
}

/// `clientConnection`, resolved.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClientConnectionSettings {
    /// Queries per second (negative: no client-side rate limit).
    pub qps: f32,
    /// Burst.
    pub burst: i32,
}

/// `leaderElection`, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaderElectionSettings {
    /// Whether to elect a leader.
    pub leader_elect: bool,
    /// Lease validity.
    pub lease_duration: Duration,
    /// Renewal deadline of the leader.
    pub renew_deadline: Duration,
    /// Wait between attempts.
    pub retry_period: Duration,
    /// Lock object type (`leases`).
    pub resource_lock: String,
    /// Lock object name.
    pub resource_name: String,
    /// Lock object namespace; `None`: the manager's namespace.
    pub resource_namespace: Option<String>,
}

/// `internalCertManagement`, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InternalCertSettings {
    /// Whether the manager manages its own serving certificates.
    pub enable: bool,
    /// Name of the webhook Service.
    pub webhook_service_name: String,
    /// Name of the Secret with the certificates.
    pub webhook_secret_name: String,
}

/// `webhook`, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookServerSettings {
    /// Bind host (empty: all interfaces).
    pub host: String,
    /// Port (a configured value ≤ 0 means 9443, as controller-runtime does).
    pub port: u16,
    /// Directory with `tls.crt` / `tls.key`.
    pub cert_dir: String,
}

/// `health`, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthSettings {
    /// Probe address; `None` when `"0"` (disabled).
    pub bind_address: Option<String>,
    /// Readiness path (`readyz` unless set).
    pub readiness_endpoint_name: String,
    /// Liveness path (`healthz` unless set).
    pub liveness_endpoint_name: String,
}

fn std_or_zero(d: GoDuration) -> Duration {
    d.to_std().unwrap_or_default()
}

fn non_negative(v: i32) -> u32 {
    u32::try_from(v).unwrap_or(0)
}

/// An address setting where `"0"` means "disabled".
fn address(value: &str) -> Option<String> {
    (!value.is_empty() && value != "0").then(|| value.to_owned())
}

impl Configuration {
    /// The namespace the manager runs in.
    pub fn namespace(&self) -> &str {
        self.namespace.as_deref().unwrap_or(DEFAULT_NAMESPACE)
    }

    /// The value a feature gate is given in the file, if any.
    pub fn feature_gate(&self, name: &str) -> Option<bool> {
        self.feature_gates.get(name).copied()
    }

    /// `waitForPodsReady` when on: present, and not switched off by the `DisableWaitForPodsReady` feature gate.
    /// Negative values (rejected by validation) read as zero.
    pub fn wait_for_pods_ready(&self) -> Option<WaitForPodsReadySettings> {
        if gate(self, "DisableWaitForPodsReady", false) {
            return None;
        }
        let w = self.wait_for_pods_ready.as_ref()?;
        let timeout = if w.timeout.is_zero() {
            DEFAULT_WAIT_FOR_PODS_READY_TIMEOUT
        } else {
            w.timeout
        };
        let recovery = w.recovery_timeout.unwrap_or(timeout);
        let rs = w.requeuing_strategy.clone().unwrap_or_default();
        Some(WaitForPodsReadySettings {
            timeout: std_or_zero(timeout),
            recovery_timeout: (recovery.as_nanos() > 0).then(|| std_or_zero(recovery)),
            block_admission: w.block_admission.unwrap_or(false),
            requeuing_timestamp: if rs.timestamp.as_deref() == Some("Creation") {
                RequeuingTimestamp::Creation
            } else {
                RequeuingTimestamp::Eviction
            },
            backoff_base_seconds: non_negative(
                rs.backoff_base_seconds
                    .unwrap_or(DEFAULT_REQUEUING_BACKOFF_BASE_SECONDS),
            ),
            backoff_max_seconds: non_negative(
                rs.backoff_max_seconds
                    .unwrap_or(DEFAULT_REQUEUING_BACKOFF_MAX_SECONDS),
            ),
            backoff_limit_count: rs.backoff_limit_count.map(non_negative),
        })
    }

    /// The fair-sharing strategies when fair sharing is on (`fairSharing` present); `None` when off (or, on an
    /// unvalidated configuration, when the list is not one of the three allowed).
    pub fn fair_sharing_strategies(&self) -> Option<FairSharingStrategies> {
        FairSharingStrategies::from_list(&self.fair_sharing.as_ref()?.preemption_strategies)
    }

    /// Which namespaces' jobs are eligible for management. `None` (only on an undefaulted configuration) selects
    /// nothing.
    pub fn managed_jobs_namespace_selector(&self) -> Option<&LabelSelector> {
        self.managed_jobs_namespace_selector.as_ref()
    }

    /// `resources.excludeResourcePrefixes`.
    pub fn exclude_resource_prefixes(&self) -> &[String] {
        self.resources
            .as_ref()
            .map_or(&[], |r| r.exclude_resource_prefixes.as_slice())
    }

    /// `resources.transformations`.
    pub fn resource_transformations(&self) -> &[ResourceTransformation] {
        self.resources
            .as_ref()
            .map_or(&[], |r| r.transformations.as_slice())
    }

    /// `integrations.frameworks`.
    pub fn frameworks(&self) -> &[String] {
        self.integrations
            .as_ref()
            .map_or(&[], |i| i.frameworks.as_slice())
    }

    /// Whether `batch/job` is among the enabled frameworks.
    pub fn batch_job_enabled(&self) -> bool {
        self.frameworks().iter().any(|f| f == "batch/job")
    }

    /// `clientConnection`.
    pub fn client_connection(&self) -> ClientConnectionSettings {
        let cc = self.client_connection.clone().unwrap_or_default();
        ClientConnectionSettings {
            qps: cc.qps.unwrap_or(DEFAULT_CLIENT_CONNECTION_QPS),
            burst: cc.burst.unwrap_or(DEFAULT_CLIENT_CONNECTION_BURST),
        }
    }

    /// `leaderElection`.
    pub fn leader_election(&self) -> LeaderElectionSettings {
        let le = self.leader_election.clone().unwrap_or_default();
        let or =
            |d: GoDuration, default: GoDuration| std_or_zero(if d.is_zero() { default } else { d });
        let or_str = |s: String, default: &str| if s.is_empty() { default.to_owned() } else { s };
        LeaderElectionSettings {
            leader_elect: le.leader_elect.unwrap_or(true),
            lease_duration: or(le.lease_duration, DEFAULT_LEASE_DURATION),
            renew_deadline: or(le.renew_deadline, DEFAULT_RENEW_DEADLINE),
            retry_period: or(le.retry_period, DEFAULT_RETRY_PERIOD),
            resource_lock: or_str(le.resource_lock, DEFAULT_LEADER_ELECTION_RESOURCE_LOCK),
            resource_name: or_str(le.resource_name, DEFAULT_LEADER_ELECTION_ID),
            resource_namespace: (!le.resource_namespace.is_empty())
                .then_some(le.resource_namespace),
        }
    }

    /// `internalCertManagement`.
    pub fn internal_cert_management(&self) -> InternalCertSettings {
        let icm = self.internal_cert_management.clone().unwrap_or_default();
        InternalCertSettings {
            enable: icm.enable.unwrap_or(true),
            webhook_service_name: icm
                .webhook_service_name
                .unwrap_or_else(|| DEFAULT_WEBHOOK_SERVICE_NAME.to_owned()),
            webhook_secret_name: icm
                .webhook_secret_name
                .unwrap_or_else(|| DEFAULT_WEBHOOK_SECRET_NAME.to_owned()),
        }
    }

    /// `webhook`.
    pub fn webhook_server(&self) -> WebhookServerSettings {
        let port = self.webhook.port.unwrap_or(DEFAULT_WEBHOOK_PORT);
        let fallback = u16::try_from(DEFAULT_WEBHOOK_PORT).unwrap_or(u16::MAX);
        WebhookServerSettings {
            host: self.webhook.host.clone(),
            port: if port <= 0 {
                fallback
            } else {
                u16::try_from(port).unwrap_or(fallback)
            },
            cert_dir: if self.webhook.cert_dir.is_empty() {
                DEFAULT_WEBHOOK_CERT_DIR.to_owned()
            } else {
                self.webhook.cert_dir.clone()
            },
        }
    }

    /// `metrics.bindAddress`; `None` when `"0"` (disabled).
    pub fn metrics_bind_address(&self) -> Option<String> {
        if self.metrics.bind_address.is_empty() {
            return Some(DEFAULT_METRICS_BIND_ADDRESS.to_owned());
        }
        address(&self.metrics.bind_address)
    }

    /// `objectRetentionPolicies.workloads`: how long finished Workloads, and Jobs whose Workload
    /// was deactivated by Kueue's rules, are kept (`None`: forever).
    pub fn workload_retention(&self) -> WorkloadRetention {
        let w = self
            .object_retention_policies
            .as_ref()
            .and_then(|o| o.workloads.clone())
            .unwrap_or_default();
        WorkloadRetention {
            after_finished: w.after_finished.and_then(GoDuration::to_std),
            after_deactivated_by_kueue: w.after_deactivated_by_kueue.and_then(GoDuration::to_std),
        }
    }

    /// Where the visibility API is served (`visibilityServer.bindAddress`:`bindPort`, Kueue's
    /// `0.0.0.0:8082`), or `None` when the `VisibilityOnDemand` gate is off.
    pub fn visibility_bind_address(&self) -> Option<String> {
        if !self
            .feature_gate("VisibilityOnDemand")
            .unwrap_or_else(|| crate::gates::default_of("VisibilityOnDemand"))
        {
            return None;
        }
        let v = self.visibility_server.clone().unwrap_or_default();
        let host = v
            .bind_address
            .filter(|a| !a.is_empty())
            .unwrap_or_else(|| "0.0.0.0".to_owned());
        let port = v
            .bind_port
            .unwrap_or(crate::defaults::DEFAULT_VISIBILITY_BIND_PORT);
        Some(if host.contains(':') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        })
    }

    /// `health`.
    pub fn health(&self) -> HealthSettings {
        let h = &self.health;
        HealthSettings {
            bind_address: if h.health_probe_bind_address.is_empty() {
                Some(DEFAULT_HEALTH_PROBE_BIND_ADDRESS.to_owned())
            } else {
                address(&h.health_probe_bind_address)
            },
            readiness_endpoint_name: if h.readiness_endpoint_name.is_empty() {
                "readyz".to_owned()
            } else {
                h.readiness_endpoint_name.clone()
            },
            liveness_endpoint_name: if h.liveness_endpoint_name.is_empty() {
                "healthz".to_owned()
            } else {
                h.liveness_endpoint_name.clone()
            },
        }
    }
}

/// [`Configuration::workload_retention`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WorkloadRetention {
    /// A finished Workload is deleted this long after it finished.
    pub after_finished: Option<Duration>,
    /// A Job whose Workload Kueue's rules deactivated is deleted this long after the eviction.
    pub after_deactivated_by_kueue: Option<Duration>,
}
