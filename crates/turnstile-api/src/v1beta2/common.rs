//! Types shared by several kinds: name references, quantities, stop policy, fair sharing.

use std::collections::BTreeMap;
use std::fmt;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Serialize};

/// The DNS-1123 subdomain pattern Kueue uses for object name references.
pub const DNS1123_SUBDOMAIN_PATTERN: &str =
    r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";
/// The DNS-1123 label pattern Kueue uses for pod-set names.
pub const DNS1123_LABEL_PATTERN: &str = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$";
/// The apiserver's pattern for a serialized `resource.Quantity`.
pub const QUANTITY_PATTERN: &str = r"^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$";

/// Declares a string newtype used as a reference to another object by name, with the
/// schema constraints (length bounds and pattern) Kueue puts on it.
macro_rules! name_reference {
    ($(#[$meta:meta])* $name:ident, min = $min:expr, max = $max:expr, pattern = $pattern:expr) => {
        $(#[$meta])*
        #[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl $name {
            /// The referenced name.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// Whether the reference is the empty string.
            pub fn is_empty(&self) -> bool {
                self.0.is_empty()
            }
        }

        impl std::ops::Deref for $name {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                Self(s.to_owned())
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                Self(s)
            }
        }

        impl JsonSchema for $name {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                stringify!($name).into()
            }

            fn inline_schema() -> bool {
                true
            }

            fn json_schema(_: &mut SchemaGenerator) -> Schema {
                let mut schema = json_schema!({ "type": "string", "maxLength": $max });
                let min: u32 = $min;
                if min > 0 {
                    schema.insert("minLength".into(), min.into());
                }
                let pattern: Option<&str> = $pattern;
                if let Some(p) = pattern {
                    schema.insert("pattern".into(), p.into());
                }
                schema
            }
        }
    };
}

name_reference!(
    /// Name of a ClusterQueue.
    ClusterQueueReference, min = 0, max = 253, pattern = Some(DNS1123_SUBDOMAIN_PATTERN)
);
name_reference!(
    /// Name of a Cohort.
    CohortReference, min = 0, max = 253, pattern = Some(DNS1123_SUBDOMAIN_PATTERN)
);
name_reference!(
    /// Name of a ResourceFlavor.
    ResourceFlavorReference, min = 0, max = 253, pattern = Some(DNS1123_SUBDOMAIN_PATTERN)
);
name_reference!(
    /// Name of a LocalQueue in the Workload's namespace.
    LocalQueueName, min = 0, max = 253, pattern = Some(DNS1123_SUBDOMAIN_PATTERN)
);
name_reference!(
    /// Name of a Topology.
    TopologyReference, min = 0, max = 253, pattern = Some(DNS1123_SUBDOMAIN_PATTERN)
);
name_reference!(
    /// Name of a pod set inside a Workload (a DNS-1123 label).
    PodSetReference, min = 0, max = 63, pattern = Some(DNS1123_LABEL_PATTERN)
);
name_reference!(
    /// Name of an AdmissionCheck.
    AdmissionCheckReference, min = 1, max = 316, pattern = None
);

impl PodSetReference {
    /// The default pod-set name, `main`.
    pub fn main() -> Self {
        Self(crate::keys::DEFAULT_POD_SET_NAME.to_owned())
    }
}

/// A Kubernetes resource quantity as it appears on the wire (`"500m"`, `"4Gi"`, `3`).
///
/// The apiserver stores an integer written in a manifest as a JSON number, so this type
/// reads numbers as well as strings, and always writes a string. Arithmetic lives in
/// `turnstile-core`; this type only carries the text.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Quantity(pub String);

impl Quantity {
    /// The quantity's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for Quantity {
    fn from(s: &str) -> Self {
        Self(s.to_owned())
    }
}

impl Serialize for Quantity {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Quantity {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Quantity;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a quantity (string or integer)")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Quantity, E> {
                Ok(Quantity(v.to_owned()))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Quantity, E> {
                Ok(Quantity(v.to_string()))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Quantity, E> {
                Ok(Quantity(v.to_string()))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Quantity, E> {
                Ok(Quantity(v.to_string()))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

impl JsonSchema for Quantity {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Quantity".into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        quantity_schema()
    }
}

/// The schema Kueue's CRDs give every quantity: an integer or a string matching the quantity grammar.
pub fn quantity_schema() -> Schema {
    json_schema!({
        "anyOf": [{ "type": "integer" }, { "type": "string" }],
        "pattern": QUANTITY_PATTERN,
        "x-kubernetes-int-or-string": true,
    })
}

/// Schema transform for fields that read a missing value as the type's default but must not
/// advertise a default in the CRD (Kueue's do not).
pub fn no_default(schema: &mut Schema) {
    schema.remove("default");
}

/// Resource name to quantity, as in `corev1.ResourceList`.
pub type ResourceList = BTreeMap<String, Quantity>;

/// What a queue does with new and running workloads.
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
pub enum StopPolicy {
    /// The queue works normally.
    #[default]
    None,
    /// No new admissions; admitted workloads keep running.
    Hold,
    /// No new admissions, and admitted workloads are evicted.
    HoldAndDrain,
}

/// Fair-sharing properties of a ClusterQueue, Cohort or LocalQueue.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FairSharing {
    /// Relative advantage when competing for unused quota in the cohort. Shares are divided by
    /// the weight; 0 means an infinite share (always last). A non-zero weight must exceed 1e-9.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = 1))]
    pub weight: Option<Quantity>,
}

/// Observed fair-sharing state of a ClusterQueue or Cohort.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FairSharingStatus {
    /// The highest ratio, over the resources, of usage above nominal quota to the lendable
    /// resources in the cohort, divided by the weight. 0 when under nominal quota.
    pub weighted_share: i64,
}

/// Admission fair-sharing scope of a ClusterQueue.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AdmissionScope {
    /// Which admission fair-sharing mode applies.
    pub admission_mode: AdmissionMode,
}

/// Admission fair-sharing modes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum AdmissionMode {
    /// Order workloads of the ClusterQueue by their LocalQueue's recent usage.
    UsageBasedAdmissionFairSharing,
    /// No admission fair sharing.
    #[default]
    NoAdmissionFairSharing,
}
