//! ResourceFlavor: a kind of node (labels, taints) that quota is defined for.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Taint, Toleration};
use kube::{CustomResource, KubeSchema};
use serde::{Deserialize, Serialize};

use super::common::TopologyReference;

/// A flavor of resources: the nodes it stands for, their taints, and the tolerations its
/// admitted pods get. Cluster-scoped.
#[derive(CustomResource, KubeSchema, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[kube(
    group = "kueue.x-k8s.io",
    version = "v1beta2",
    kind = "ResourceFlavor",
    root = "ResourceFlavorCrd",
    plural = "resourceflavors",
    shortname = "flavor",
    shortname = "flavors",
    shortname = "rf",
    derive = "PartialEq",
    derive = "Default",
    doc = "ResourceFlavor describes a kind of node that ClusterQueues give quota for."
)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    validation = Rule::new("has(self.topologyName) ? size(self.nodeLabels) > 0 : true")
        .message("at least one nodeLabel is required when topology is set"),
    validation = Rule::new("has(oldSelf.topologyName) ? (has(self.nodeLabels) ? has(oldSelf.nodeLabels) && self.nodeLabels == oldSelf.nodeLabels : !has(oldSelf.nodeLabels)) : true")
        .message("nodeLabels are immutable when topologyName is set"),
    validation = Rule::new("has(oldSelf.topologyName) ? (has(self.tolerations) ? has(oldSelf.tolerations) && self.tolerations == oldSelf.tolerations : !has(oldSelf.tolerations)) : true")
        .message("tolerations are immutable when topologyName is set"),
    validation = Rule::new("has(oldSelf.topologyName) ? has(self.topologyName) && self.topologyName == oldSelf.topologyName : true")
        .message("topologyName is immutable when topologyName is set"),
)]
pub struct ResourceFlavorSpec {
    /// Labels of the nodes this flavor stands for. A pod set can only be assigned this flavor
    /// when its nodeSelector and node affinity agree with them; once admitted, they are added to
    /// the pods' nodeSelector. At most 8.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(extend("maxProperties" = 8, "x-kubernetes-map-type" = "atomic"))]
    pub node_labels: BTreeMap<String, String>,

    /// Taints of the nodes this flavor stands for. A pod set must tolerate the NoSchedule and
    /// NoExecute ones (counting this flavor's own tolerations) to be assigned it. At most 8.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("maxItems" = 8, "x-kubernetes-list-type" = "atomic"))]
    #[x_kube(validation = Rule::new("self.all(t, t.effect == 'NoSchedule' || t.effect == 'PreferNoSchedule' || t.effect == 'NoExecute')")
        .message("supported taint effect values: 'NoSchedule', 'PreferNoSchedule', 'NoExecute'"))]
    pub node_taints: Vec<Taint>,

    /// Tolerations added to the pods admitted on this flavor. At most 8.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("maxItems" = 8, "x-kubernetes-list-type" = "atomic"))]
    #[x_kube(
        validation = Rule::new("self.all(t, has(t.key) || (has(t.operator) && t.operator == 'Exists'))")
            .message("operator must be Exists when 'key' is empty, which means 'match all values and all keys'"),
        validation = Rule::new("self.all(t, !has(t.tolerationSeconds) || (has(t.effect) && t.effect == 'NoExecute'))")
            .message("effect must be 'NoExecute' when 'tolerationSeconds' is set"),
        validation = Rule::new("self.all(t, !has(t.operator) || t.operator == 'Equal' || t.operator == 'Exists')")
            .message("supported toleration values: 'Equal'(default), 'Exists'"),
        validation = Rule::new("self.all(t, !has(t.operator) || t.operator != 'Exists' || !has(t.value))")
            .message("a value must be empty when 'operator' is 'Exists'"),
        validation = Rule::new("self.all(t, !has(t.effect) || t.effect == 'NoSchedule' || t.effect == 'PreferNoSchedule' || t.effect == 'NoExecute')")
            .message("supported taint effect values: 'NoSchedule', 'PreferNoSchedule', 'NoExecute'"),
    )]
    pub tolerations: Vec<Toleration>,

    /// Topology of this flavor, for topology-aware scheduling (accepted, not acted on yet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topology_name: Option<TopologyReference>,
}
