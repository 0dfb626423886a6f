//! Kueue's `Configuration` file (`config.kueue.x-k8s.io/v1beta2`), read as is.
//!
//! The manager reads the very file an admin already gives Kueue (`--config controller_manager_config.yaml`), with
//! Kueue's defaults and Kueue's validation, so moving from Kueue keeps the file. Turnstile's own knobs live in a
//! separate file and type, [`TurnstileSettings`], so Kueue's schema is never extended.
//!
//! # Loading
//!
//! [`parse`] / [`load`] read YAML (or JSON), check `apiVersion: config.kueue.x-k8s.io/v1beta2` (a
//! `v1beta1` file is converted first, with Kueue's v1beta1 defaults: see [`v1beta1`]) and
//! `kind: Configuration`, decode every field of the v1beta2 schema ([`Configuration`]), apply Kueue's defaults and
//! run Kueue's validation, returning either a [`Loaded`] (the defaulted configuration plus warnings) or a
//! [`ConfigError`]:
//! * YAML syntax errors give the parser's message with line and column;
//! * type errors and unparsable durations/quantities name the field
//!   (`waitForPodsReady.timeout: Invalid value: "5x": time: unknown unit "x" in duration "5x"`);
//! * validation returns **every** error, worded and field-pathed as Kueue words them
//!   (`fairSharing.preemptionStrategies: Unsupported value: ["LessThanInitialShare","LessThanOrEqualToFinalShare"]: supported values: …`).
//!
//! Kueue rejects unknown fields; Turnstile instead ignores them and reports each as a warning in
//! [`Loaded::warnings`] (with a hint for the v1beta1-only fields `waitForPodsReady.enable`, `fairSharing.enable`,
//! `queueVisibility`, `integrations.podOptions`), so a file written for a newer Kueue still loads.
//!
//! Durations are Go duration strings parsed exactly like Go's `time.ParseDuration` ([`GoDuration`]); resource
//! quantities are checked with apimachinery's grammar ([`Quantity`]).
//!
//! # Defaults (Kueue's `defaults.go`)
//!
//! | field | default |
//! |---|---|
//! | `namespace` | the pod's service-account namespace, else `kueue-system` |
//! | `webhook.port` / `webhook.certDir` | `9443` / `/tmp/k8s-webhook-server/serving-certs` |
//! | `metrics.bindAddress` | `:8443`; `metrics.localQueueMetrics` `{enable: true}` |
//! | `health.healthProbeBindAddress` | `:8081` |
//! | `leaderElection` | `leaderElect: true`, `resourceName: c1f6bfd2.kueue.x-k8s.io`, `resourceLock: leases`, lease `15s`, renew `10s`, retry `2s` |
//! | `internalCertManagement` | `enable: true`, `webhookServiceName: kueue-webhook-service`, `webhookSecretName: kueue-webhook-server-cert` |
//! | `clientConnection` | `qps: 300`, `burst: 500` |
//! | `waitForPodsReady` | **always present (on)**: `timeout: 30m` (also replaces `0s`), `blockAdmission: false`, `recoveryTimeout` = timeout, `requeuingStrategy {timestamp: Eviction, backoffBaseSeconds: 60, backoffMaxSeconds: 3600}`, no backoff limit |
//! | `integrations.frameworks` | `[batch/job]` when empty |
//! | `managedJobsNamespaceSelector` | `kubernetes.io/metadata.name NotIn [kube-system, <namespace>]` |
//! | `multiKueue` | `gcInterval: 1m`, `origin: multikueue`, `workerLostTimeout: 15m`, `dispatcherName: kueue.x-k8s.io/multikueue-dispatcher-all-at-once` (incremental dispatcher: `stepSize: 3`) |
//! | `admissionFairSharing.usageSamplingInterval` | `5m` (when `admissionFairSharing` is present) |
//! | `visibilityServer.bindPort` | `8082` |
//! | `resources.transformations[].strategy` | `Retain` |
//! | `fairSharing`, `admissionFairSharing`, `objectRetentionPolicies` | absent (off) |
//!
//! The constants are in the [`defaults`](mod@defaults) module; [`defaults()`] returns the whole defaulted configuration.
//!
//! # What Turnstile acts on
//!
//! Everything is decoded and validated; each field is in [`ACTED_ON`] or [`NOT_YET_SUPPORTED`] (a test fails
//! on a field in neither). [`refused`] lists what a valid file asks for that Turnstile does not do and that
//! would change how batch Jobs are handled (entries marked [`NotYetCheck::Refuse`], and feature gates judged
//! by [`gates::GATES`]): the manager refuses to start on them. [`not_yet_supported`] lists the rest that a
//! file sets but that has no effect here, for one startup warning. The typed views the manager uses are
//! methods on [`Configuration`] (see [`accessors`]): [`Configuration::wait_for_pods_ready`],
//! [`Configuration::fair_sharing_strategies`], [`Configuration::managed_jobs_namespace_selector`]
//! ([`LabelSelector::matches`]), [`Configuration::leader_election`], …
//!
//! # Turnstile's own settings
//!
//! [`TurnstileSettings`] (`apiVersion: turnstile.dev/v1alpha1`, `kind: TurnstileSettings`) is a separate,
//! optional, strictly decoded file: `maxEvaluationsPerCycle` (default 1024, ≥ 1) and `leaseName` (optional).
//! Nothing Turnstile-specific is ever read from Kueue's Configuration.

pub mod accessors;
mod decode;
pub mod defaults;
mod duration;
mod error;
mod field;
pub mod gates;
mod names;
mod quantity;
mod selector;
mod support;
mod turnstile;
mod types;
pub mod v1beta1;
mod validate;

use std::path::Path;

pub use accessors::{
    ClientConnectionSettings, FairSharingStrategies, HealthSettings, InternalCertSettings,
    LeaderElectionSettings, PreemptionStrategy, RequeuingTimestamp, TransformationStrategy,
    WaitForPodsReadySettings, WebhookServerSettings, WorkloadRetention,
};
pub use defaults::{apply_defaults, operator_namespace};
pub use duration::{DurationParseError, GoDuration};
pub use error::ConfigError;
pub use field::{FieldError, FieldErrorType};
pub use quantity::{Quantity, QuantityError};
pub use selector::{LabelSelector, LabelSelectorRequirement, SelectorOperator};
pub use support::{
    ACTED_ON, NOT_YET_SUPPORTED, NotYetCheck, SUPPORTED_FRAMEWORKS, not_yet_supported,
};
pub use turnstile::{
    DEFAULT_MAX_EVALUATIONS_PER_CYCLE, TURNSTILE_SETTINGS_API_VERSION, TURNSTILE_SETTINGS_KIND,
    TurnstileSettings,
};
pub use types::*;
pub use validate::{KNOWN_FRAMEWORKS, validate};

use error::{header_errors, read_file, read_yaml};

/// A loaded Kueue Configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Loaded {
    /// The configuration with Kueue's defaults applied; valid.
    pub config: Configuration,
    /// Things worth logging that did not stop loading (unknown fields).
    pub warnings: Vec<String>,
}

/// Fields of the v1beta1 Configuration that v1beta2 dropped, with what to do instead.
const V1BETA1_FIELDS: &[(&str, &str)] = &[
    (
        "waitForPodsReady.enable",
        "v1beta1 only: in v1beta2 waitForPodsReady is on whenever present, and present by default",
    ),
    (
        "fairSharing.enable",
        "v1beta1 only: in v1beta2 fair sharing is on whenever fairSharing is present",
    ),
    ("queueVisibility", "v1beta1 only: removed in v1beta2"),
    (
        "integrations.podOptions",
        "v1beta1 only: in v1beta2 use managedJobsNamespaceSelector",
    ),
];

const RETIRED_API_VERSIONS: &[(&str, &str)] = &[];

fn unknown_field_warning(path: &str) -> String {
    match V1BETA1_FIELDS.iter().find(|(p, _)| *p == path) {
        Some((_, hint)) => {
            format!("{path}: unknown field, ignored (Kueue rejects unknown fields); {hint}")
        }
        None => format!("{path}: unknown field, ignored (Kueue rejects unknown fields)"),
    }
}

/// Parses a Kueue Configuration document, applies Kueue's defaults (an unset `namespace` becomes
/// [`operator_namespace`]) and validates it.
pub fn parse(text: &str) -> Result<Loaded, ConfigError> {
    parse_with_fallback_namespace(text, &operator_namespace())
}

/// [`parse`], with `fallback_namespace` used when the file sets no `namespace` (instead of reading the pod's
/// service-account namespace).
pub fn parse_with_fallback_namespace(
    text: &str,
    fallback_namespace: &str,
) -> Result<Loaded, ConfigError> {
    let mut doc = read_yaml(text)?;
    let from_v1beta1 = (doc.get("apiVersion").and_then(serde_json::Value::as_str)
        == Some(v1beta1::API_VERSION))
    .then(|| v1beta1::to_v1beta2(&mut doc));
    let header = header_errors(&doc, API_VERSION, KIND, RETIRED_API_VERSIONS);
    if !header.is_empty() {
        return Err(ConfigError::Invalid(header));
    }
    let (mut config, mut unknown): (Configuration, Vec<String>) = decode::from_value(&doc)?;
    unknown.sort();
    apply_defaults(&mut config, fallback_namespace);
    let mut warnings = Vec::new();
    if let Some(v1) = from_v1beta1 {
        if v1.wait_for_pods_ready_off {
            config.wait_for_pods_ready = None;
        }
        warnings.extend(v1.warnings);
    }
    let errs = validate(&config);
    if !errs.is_empty() {
        return Err(ConfigError::Invalid(errs));
    }
    warnings.extend(unknown.iter().map(|p| unknown_field_warning(p)));
    Ok(Loaded { config, warnings })
}

/// What a valid Configuration asks for that Turnstile does not do, each field named and said why:
/// a field that changes how Kueue handles batch Jobs set to a value Turnstile does not implement
/// (see [`NOT_YET_SUPPORTED`]), or a feature gate it cannot honour (see [`gates::GATES`]). The
/// manager refuses to start on any of them (a warning would let the file mean something else).
pub fn refused(config: &Configuration) -> Vec<FieldError> {
    let mut errs = support::refused(config);
    // Kueue ignores admissionFairSharing with its gate off.
    if config.feature_gate("AdmissionFairSharing") == Some(false) {
        errs.retain(|e| !e.field.starts_with("admissionFairSharing"));
    }
    errs.extend(gates::refused(config));
    errs
}

/// Reads and parses a Kueue Configuration file (see [`parse`]).
pub fn load(path: impl AsRef<Path>) -> Result<Loaded, ConfigError> {
    parse(&read_file(path.as_ref())?)
}

/// The configuration Kueue runs with when given no file: all defaults, namespace from [`operator_namespace`].
pub fn defaults() -> Configuration {
    defaults_for_namespace(&operator_namespace())
}

/// All defaults, for an unset `namespace` falling back to `namespace`.
pub fn defaults_for_namespace(namespace: &str) -> Configuration {
    let mut config = Configuration {
        api_version: API_VERSION.to_owned(),
        kind: KIND.to_owned(),
        ..Configuration::default()
    };
    apply_defaults(&mut config, namespace);
    config
}
