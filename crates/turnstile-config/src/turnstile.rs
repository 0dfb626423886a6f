//! Turnstile's own settings (`apiVersion: turnstile.dev/v1alpha1`, `kind: TurnstileSettings`): knobs Kueue does
//! not have, kept in a separate optional file so Kueue's Configuration stays exactly Kueue's.
//!
//! ```yaml
//! apiVersion: turnstile.dev/v1alpha1
//! kind: TurnstileSettings
//! maxEvaluationsPerCycle: 1024   # default 1024, at least 1
//! leaseName: turnstile-leader    # optional
//! ```
//!
//! Unlike Kueue's file, this one is decoded strictly: an unknown field is an error.

use std::path::Path;

use serde::Deserialize;

use crate::decode::from_value;
use crate::error::{ConfigError, header_errors, read_file, read_yaml};
use crate::field::{BadValue, FieldError, FieldPath};
use crate::names;
use crate::types::Configuration;

/// `apiVersion` of the TurnstileSettings file.
pub const TURNSTILE_SETTINGS_API_VERSION: &str = "turnstile.dev/v1alpha1";
/// `kind` of the TurnstileSettings file.
pub const TURNSTILE_SETTINGS_KIND: &str = "TurnstileSettings";
/// Default `maxEvaluationsPerCycle`.
pub const DEFAULT_MAX_EVALUATIONS_PER_CYCLE: u32 = 1024;

/// Turnstile's own settings, defaulted and validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TurnstileSettings {
    /// Upper bound on workloads the scheduler evaluates in one cycle (≥ 1).
    pub max_evaluations_per_cycle: u32,
    /// Name of the Lease Turnstile's leader election uses; `None`: `leaderElection.resourceName` of the Kueue
    /// Configuration.
    pub lease_name: Option<String>,
}

impl Default for TurnstileSettings {
    fn default() -> Self {
        Self {
            max_evaluations_per_cycle: DEFAULT_MAX_EVALUATIONS_PER_CYCLE,
            lease_name: None,
        }
    }
}

/// The file as written (wide integer type so an out-of-range value is a validation error, not a type error).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct RawSettings {
    #[allow(dead_code)]
    api_version: String,
    #[allow(dead_code)]
    kind: String,
    max_evaluations_per_cycle: Option<i64>,
    lease_name: Option<String>,
}

impl TurnstileSettings {
    /// Parses, defaults and validates a TurnstileSettings document.
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        let value = read_yaml(text)?;
        let header = header_errors(
            &value,
            TURNSTILE_SETTINGS_API_VERSION,
            TURNSTILE_SETTINGS_KIND,
            &[],
        );
        if !header.is_empty() {
            return Err(ConfigError::Invalid(header));
        }
        let (raw, unknown): (RawSettings, Vec<String>) = from_value(&value)?;
        if let Some(path) = unknown.into_iter().next() {
            return Err(ConfigError::Decode {
                path,
                message: "unknown field (TurnstileSettings is decoded strictly)".to_owned(),
            });
        }
        let mut errs = Vec::new();
        let max = raw
            .max_evaluations_per_cycle
            .unwrap_or(i64::from(DEFAULT_MAX_EVALUATIONS_PER_CYCLE));
        let max_path = FieldPath::new("maxEvaluationsPerCycle");
        if max < 1 {
            errs.push(FieldError::invalid(
                &max_path,
                BadValue::Int(max),
                "must be greater than or equal to 1",
            ));
        } else if u32::try_from(max).is_err() {
            errs.push(FieldError::invalid(
                &max_path,
                BadValue::Int(max),
                format!("must be less than or equal to {}", u32::MAX),
            ));
        }
        if let Some(name) = &raw.lease_name {
            let msgs = names::dns1123_subdomain(name);
            if !msgs.is_empty() {
                errs.push(FieldError::invalid(
                    &FieldPath::new("leaseName"),
                    BadValue::str(name),
                    msgs.join(","),
                ));
            }
        }
        if !errs.is_empty() {
            return Err(ConfigError::Invalid(errs));
        }
        Ok(Self {
            max_evaluations_per_cycle: u32::try_from(max)
                .unwrap_or(DEFAULT_MAX_EVALUATIONS_PER_CYCLE),
            lease_name: raw.lease_name,
        })
    }

    /// Reads and parses a TurnstileSettings file.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, ConfigError> {
        Self::parse(&read_file(path.as_ref())?)
    }

    /// The Lease name to use: `leaseName` if set, else the Kueue Configuration's `leaderElection.resourceName`.
    pub fn lease_name_for(&self, cfg: &Configuration) -> String {
        self.lease_name
            .clone()
            .unwrap_or_else(|| cfg.leader_election().resource_name)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    const HEAD: &str = "apiVersion: turnstile.dev/v1alpha1\nkind: TurnstileSettings\n";

    #[test]
    fn defaults() {
        let s = TurnstileSettings::parse(HEAD).unwrap();
        assert_eq!(s, TurnstileSettings::default());
        assert_eq!(s.max_evaluations_per_cycle, 1024);
        let cfg = crate::defaults_for_namespace("kueue-system");
        assert_eq!(s.lease_name_for(&cfg), "c1f6bfd2.kueue.x-k8s.io");
    }

    #[test]
    fn explicit_values() {
        let s = TurnstileSettings::parse(&format!(
            "{HEAD}maxEvaluationsPerCycle: 7\nleaseName: turnstile-leader\n"
        ))
        .unwrap();
        assert_eq!(s.max_evaluations_per_cycle, 7);
        assert_eq!(s.lease_name.as_deref(), Some("turnstile-leader"));
        let cfg = crate::defaults_for_namespace("kueue-system");
        assert_eq!(s.lease_name_for(&cfg), "turnstile-leader");
    }

    #[test]
    fn rejects_bad_values() {
        let err = TurnstileSettings::parse(&format!(
            "{HEAD}maxEvaluationsPerCycle: 0\nleaseName: Bad_Name\n"
        ))
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid configuration (2 errors):\n  maxEvaluationsPerCycle: Invalid value: 0: must be greater than or equal to 1\n  leaseName: Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
        );
        let err = TurnstileSettings::parse(&format!("{HEAD}maxEvaluationsPerCycle: 4294967296\n"))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "maxEvaluationsPerCycle: Invalid value: 4294967296: must be less than or equal to 4294967295"
        );
    }

    #[test]
    fn rejects_unknown_fields_and_wrong_header() {
        let err =
            TurnstileSettings::parse(&format!("{HEAD}maxEvaluationPerCycle: 5\n")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "maxEvaluationPerCycle: unknown field (TurnstileSettings is decoded strictly)"
        );
        let err = TurnstileSettings::parse(
            "apiVersion: config.kueue.x-k8s.io/v1beta2\nkind: Configuration\n",
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid configuration (2 errors):\n  apiVersion: Unsupported value: \"config.kueue.x-k8s.io/v1beta2\": supported values: \"turnstile.dev/v1alpha1\"\n  kind: Unsupported value: \"Configuration\": supported values: \"TurnstileSettings\""
        );
        let err =
            TurnstileSettings::parse(&format!("{HEAD}maxEvaluationsPerCycle: many\n")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "maxEvaluationsPerCycle: invalid type: string \"many\", expected i64"
        );
    }
}
