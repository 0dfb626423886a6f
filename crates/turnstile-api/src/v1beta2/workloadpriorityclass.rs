//! WorkloadPriorityClass: a named priority for workloads, independent of pod priority.

// kube-derive's `printcolumn(...)` attributes repeat the same keys by design.
#![allow(clippy::duplicated_attributes)]

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A priority value that Jobs select with the `kueue.x-k8s.io/priority-class` label.
/// Its fields sit at the top level of the object (no spec).
#[derive(CustomResource, JsonSchema, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[kube(
    group = "kueue.x-k8s.io",
    version = "v1beta2",
    kind = "WorkloadPriorityClass",
    root = "WorkloadPriorityClassCrd",
    plural = "workloadpriorityclasses",
    shortname = "wpc",
    no_spec,
    derive = "PartialEq",
    doc = "WorkloadPriorityClass is a priority value for workloads, independent of pod priority.",
    printcolumn(
        name = "Value",
        type_ = "integer",
        json_path = ".value",
        description = "Priority given to workloads of this class"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct WorkloadPriorityClassSpec {
    /// The priority workloads of this class get.
    pub value: i32,

    /// When to use this class. At most 2048 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 2048))]
    pub description: Option<String>,
}
