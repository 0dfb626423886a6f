//! The top-level object types.
//!
//! kube-derive generates a `<Kind>Crd` type per kind, used only to produce the CRD. The types
//! below are the ones the rest of Turnstile uses: unlike the derived ones, they read objects whose
//! `spec` is absent (Kueue makes `spec` optional, and e.g. `ResourceFlavor`s often have none).

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Resource;
use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize};

use super::{
    AdmissionCheckCrd, AdmissionCheckSpec, AdmissionCheckStatus, ClusterQueueCrd, ClusterQueueSpec,
    ClusterQueueStatus, CohortCrd, CohortSpec, CohortStatus, LocalQueueCrd, LocalQueueSpec,
    LocalQueueStatus, ResourceFlavorCrd, ResourceFlavorSpec, WorkloadCrd, WorkloadPriorityClassCrd,
    WorkloadPriorityClassSpec, WorkloadSpec, WorkloadStatus,
};

macro_rules! delegate_resource {
    ($name:ident, $crd:ident) => {
        impl Resource for $name {
            type DynamicType = ();
            type Scope = <$crd as Resource>::Scope;

            fn kind(dt: &()) -> std::borrow::Cow<'_, str> {
                <$crd as Resource>::kind(dt)
            }
            fn group(dt: &()) -> std::borrow::Cow<'_, str> {
                <$crd as Resource>::group(dt)
            }
            fn version(dt: &()) -> std::borrow::Cow<'_, str> {
                <$crd as Resource>::version(dt)
            }
            fn plural(dt: &()) -> std::borrow::Cow<'_, str> {
                <$crd as Resource>::plural(dt)
            }
            fn meta(&self) -> &ObjectMeta {
                &self.metadata
            }
            fn meta_mut(&mut self) -> &mut ObjectMeta {
                &mut self.metadata
            }
        }

        impl $name {
            /// An object with this name and spec.
            pub fn new(name: &str, spec: <Self as HasSpecType>::Spec) -> Self {
                let mut object = Self::default();
                object.metadata.name = Some(name.to_owned());
                object.spec = spec;
                object
            }
        }

        impl HasSpecType for $name {
            type Spec = <$crd as kube::core::object::HasSpec>::Spec;
        }
    };
}

/// Names the spec type of a top-level kind.
pub trait HasSpecType {
    /// The spec type.
    type Spec;
}

macro_rules! root_with_status {
    ($(#[$meta:meta])* $name:ident, $crd:ident, $spec:ty, $status:ty) => {
        $(#[$meta])*
        #[derive(Clone, Debug, Default, PartialEq, Deserialize)]
        #[serde(default)]
        pub struct $name {
            /// Standard object metadata.
            pub metadata: ObjectMeta,
            /// Desired state.
            pub spec: $spec,
            /// Observed state.
            pub status: Option<$status>,
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                let mut map = serializer.serialize_map(None)?;
                map.serialize_entry("apiVersion", &<Self as Resource>::api_version(&()))?;
                map.serialize_entry("kind", &<Self as Resource>::kind(&()))?;
                map.serialize_entry("metadata", &self.metadata)?;
                map.serialize_entry("spec", &self.spec)?;
                if let Some(status) = &self.status {
                    map.serialize_entry("status", status)?;
                }
                map.end()
            }
        }

        delegate_resource!($name, $crd);
    };
}

macro_rules! root_without_status {
    ($(#[$meta:meta])* $name:ident, $crd:ident, $spec:ty) => {
        $(#[$meta])*
        #[derive(Clone, Debug, Default, PartialEq, Deserialize)]
        #[serde(default)]
        pub struct $name {
            /// Standard object metadata.
            pub metadata: ObjectMeta,
            /// Desired state.
            pub spec: $spec,
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                let mut map = serializer.serialize_map(None)?;
                map.serialize_entry("apiVersion", &<Self as Resource>::api_version(&()))?;
                map.serialize_entry("kind", &<Self as Resource>::kind(&()))?;
                map.serialize_entry("metadata", &self.metadata)?;
                map.serialize_entry("spec", &self.spec)?;
                map.end()
            }
        }

        delegate_resource!($name, $crd);
    };
}

/// A priority value for workloads. Cluster-scoped; its fields sit at the top level of the object.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct WorkloadPriorityClass {
    /// Standard object metadata.
    pub metadata: ObjectMeta,
    /// The class's fields (`value`, `description`), flattened into the object.
    #[serde(flatten)]
    pub spec: WorkloadPriorityClassSpec,
}

impl Serialize for WorkloadPriorityClass {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("apiVersion", &<Self as Resource>::api_version(&()))?;
        map.serialize_entry("kind", &<Self as Resource>::kind(&()))?;
        map.serialize_entry("metadata", &self.metadata)?;
        map.serialize_entry("value", &self.spec.value)?;
        if let Some(description) = &self.spec.description {
            map.serialize_entry("description", description)?;
        }
        map.end()
    }
}

delegate_resource!(WorkloadPriorityClass, WorkloadPriorityClassCrd);

root_without_status!(
    /// A kind of node that ClusterQueues give quota for. Cluster-scoped.
    ResourceFlavor, ResourceFlavorCrd, ResourceFlavorSpec
);
root_with_status!(
    /// A second step of admission, decided by another controller. Cluster-scoped.
    AdmissionCheck, AdmissionCheckCrd, AdmissionCheckSpec, AdmissionCheckStatus
);
root_with_status!(
    /// Quota that the workloads of its LocalQueues are admitted against. Cluster-scoped.
    ClusterQueue, ClusterQueueCrd, ClusterQueueSpec, ClusterQueueStatus
);
root_with_status!(
    /// A node of the cohort tree. Cluster-scoped.
    Cohort, CohortCrd, CohortSpec, CohortStatus
);
root_with_status!(
    /// The namespaced queue Jobs are submitted to.
    LocalQueue, LocalQueueCrd, LocalQueueSpec, LocalQueueStatus
);
root_with_status!(
    /// A unit of work admitted as a whole.
    Workload, WorkloadCrd, WorkloadSpec, WorkloadStatus
);
