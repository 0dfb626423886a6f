//! Cohort: a node of the cohort tree, with an optional parent and quota of its own.

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::clusterqueue::ResourceGroup;
use super::common::{CohortReference, FairSharing, FairSharingStatus};

/// A group of ClusterQueues (and child Cohorts) that share unused quota. Its own quota is an
/// extra pool shared by its subtree. Cluster-scoped.
#[derive(CustomResource, JsonSchema, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[kube(
    group = "kueue.x-k8s.io",
    version = "v1beta2",
    kind = "Cohort",
    root = "CohortCrd",
    plural = "cohorts",
    shortname = "co",
    status = "CohortStatus",
    derive = "PartialEq",
    derive = "Default",
    doc = "Cohort groups ClusterQueues and Cohorts that borrow from and lend to each other."
)]
#[serde(rename_all = "camelCase")]
pub struct CohortSpec {
    /// The parent Cohort. Unset: this Cohort is a root. A name with no Cohort object is an
    /// implicit parent without quota. A cycle deactivates every ClusterQueue of the tree.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_name: Option<CohortReference>,

    /// Extra quota shared by the subtree. borrowingLimit caps what the subtree takes from the
    /// parent, lendingLimit what it gives to it; both need a parent. At most 16.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("maxItems" = 16, "x-kubernetes-list-type" = "atomic"))]
    pub resource_groups: Vec<ResourceGroup>,

    /// Fair-sharing weight, used when fair sharing is enabled in the configuration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fair_sharing: Option<FairSharing>,
}

/// Observed state of a Cohort.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CohortStatus {
    /// Fair-sharing state, when fair sharing is enabled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fair_sharing: Option<FairSharingStatus>,
}
