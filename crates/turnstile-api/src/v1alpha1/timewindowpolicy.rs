//! TimeWindowPolicy: when the queues it targets may admit work, in a named time zone.

// kube-derive's `printcolumn(...)` attributes repeat the same keys by design.
#![allow(clippy::duplicated_attributes)]

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, LabelSelector, Time};
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// API group of Turnstile's own kinds.
pub const GROUP: &str = "turnstile.dev";

/// Windows of a time zone in which the targeted queues run (AllowDuring) or do not (DenyDuring);
/// when closed they Hold (admit nothing new) or Drain (also evict admitted work, keeping every
/// Job). Cluster-scoped.
#[derive(CustomResource, KubeSchema, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[kube(
    group = "turnstile.dev",
    version = "v1alpha1",
    kind = "TimeWindowPolicy",
    root = "TimeWindowPolicy",
    plural = "timewindowpolicies",
    shortname = "twp",
    status = "TimeWindowPolicyStatus",
    derive = "PartialEq",
    derive = "Default",
    doc = "TimeWindowPolicy opens and closes ClusterQueues and LocalQueues by the calendar of a time zone.",
    printcolumn(
        name = "State",
        type_ = "string",
        json_path = ".status.state",
        description = "Open, Closing (in the notice or cut-off before a close) or Closed"
    ),
    printcolumn(
        name = "Next-Change",
        type_ = "string",
        json_path = ".status.nextTransitionTime",
        description = "When the state changes next"
    ),
    printcolumn(
        name = "Targets",
        type_ = "string",
        json_path = ".status.targetSummary",
        description = "The queues this policy applies to"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct TimeWindowPolicySpec {
    /// The queues the policy applies to: the union of every list and the selector. At least one
    /// must be given.
    pub targets: WindowTargets,

    /// IANA time-zone name the windows are written in (`Europe/Berlin`, `UTC`). Required: the
    /// controller's own zone is never assumed.
    #[schemars(length(min = 1, max = 64))]
    pub time_zone: String,

    /// AllowDuring: the queues run only inside a window. DenyDuring: they run only outside every
    /// window.
    pub mode: WindowMode,

    /// The windows, unioned. Each opens on the listed local days.
    #[schemars(length(min = 1, max = 64))]
    #[schemars(extend("x-kubernetes-list-type" = "atomic"))]
    pub windows: Vec<Window>,

    /// Absolute time ranges in which no window is in effect (holidays): with AllowDuring the
    /// queues are closed during them, with DenyDuring open.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 128))]
    #[schemars(extend("x-kubernetes-list-type" = "atomic"))]
    pub exclusions: Vec<Exclusion>,

    /// What a close does to the targeted queues.
    pub on_close: OnClose,

    /// Admission rules near a close.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admission: Option<WindowAdmission>,

    /// How paused work comes back when the queues open again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resume: Option<Resume>,

    /// Forces the state until a time, whatever the windows say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub r#override: Option<WindowOverride>,
}

/// The queues a policy applies to.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("size(self.clusterQueues) > 0 || size(self.localQueues) > 0 || has(self.clusterQueueSelector)")
    .message("at least one of clusterQueues, localQueues or clusterQueueSelector is required"))]
pub struct WindowTargets {
    /// ClusterQueues by name.
    #[serde(default)]
    #[schemars(length(max = 256))]
    #[schemars(extend("x-kubernetes-list-type" = "set"))]
    pub cluster_queues: Vec<String>,

    /// ClusterQueues by label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_queue_selector: Option<LabelSelector>,

    /// LocalQueues by namespace and name.
    #[serde(default)]
    #[schemars(length(max = 256))]
    #[schemars(extend("x-kubernetes-list-type" = "atomic"))]
    pub local_queues: Vec<LocalQueueTarget>,
}

/// A LocalQueue by namespace and name.
#[derive(
    Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "camelCase")]
pub struct LocalQueueTarget {
    /// Namespace of the LocalQueue.
    #[schemars(length(min = 1, max = 63))]
    pub namespace: String,
    /// Name of the LocalQueue.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
}

/// Whether windows say when the queues run or when they do not.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum WindowMode {
    /// Closed outside every window.
    #[default]
    AllowDuring,
    /// Closed inside any window.
    DenyDuring,
}

/// A local day of the week.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[allow(missing_docs)]
pub enum Weekday {
    Mon,
    Tue,
    Wed,
    Thu,
    Fri,
    Sat,
    Sun,
}

/// One window: it opens at `start` local time on each of `days` and lasts until the wall-clock
/// `end` (the next day when `end` is not after `start`) or for the elapsed `duration`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("has(self.end) != has(self.duration)")
    .message("exactly one of end and duration is required"))]
pub struct Window {
    /// The local days on which the window opens (a Friday 22:00–06:00 window covers Saturday 01:00).
    #[schemars(length(min = 1, max = 7))]
    #[schemars(extend("x-kubernetes-list-type" = "set"))]
    pub days: Vec<Weekday>,

    /// Local opening time, `HH:MM` or `HH:MM:SS`. A time skipped by a daylight-saving change
    /// opens the window at the same elapsed offset after the change.
    #[schemars(regex(pattern = r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$"))]
    pub start: String,

    /// Local closing time, `HH:MM` or `HH:MM:SS`, on the opening day or, when not after
    /// `start`, the next day.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$"))]
    pub end: Option<String>,

    /// Elapsed length instead of `end` (`90m`, `48h`, `1h30m`, `20s`); more than 0, at most 7 days.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^([0-9]+h)?([0-9]+m)?([0-9]+s)?$"))]
    pub duration: Option<String>,
}

/// A range of absolute time, `from` included and `to` excluded.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, KubeSchema)]
#[x_kube(validation = Rule::new("self.to > self.from").message("to must be after from"))]
pub struct Exclusion {
    /// Start of the range.
    pub from: Time,
    /// End of the range.
    pub to: Time,
}

/// What a close does.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("self.action == 'Drain' || !has(self.drainGracePeriodSeconds)")
    .message("drainGracePeriodSeconds applies to Drain only"))]
pub struct OnClose {
    /// Hold: admit nothing new, admitted work runs on. Drain: also evict admitted work after the
    /// grace period (its Jobs are suspended, never deleted) and re-admit it after the reopen.
    pub action: CloseAction,

    /// Seconds before a close during which the state is Closing and the admitted workloads get a
    /// `TimeWindowClosing` condition and Event (time to checkpoint).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 86400))]
    pub closing_notice_seconds: Option<i64>,

    /// Drain: seconds after the close before admitted work is evicted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 86400))]
    pub drain_grace_period_seconds: Option<i64>,

    /// Drain: at most this many evictions under way at once per target (evicted, quota not yet
    /// released). Unset: no limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub max_concurrent_suspensions: Option<i32>,
}

/// Hold or Drain.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
pub enum CloseAction {
    /// Admit nothing new; admitted work runs to completion.
    #[default]
    Hold,
    /// Also evict admitted work.
    Drain,
}

/// Admission near a close.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WindowAdmission {
    /// Admit nothing new in the last this-many seconds before a close.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 604_800))]
    pub cutoff_before_close_seconds: Option<i64>,
}

/// How paused work comes back.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Resume {
    /// Order among workloads of equal priority that a close evicted: by their creation
    /// (default: work keeps its place) or by the eviction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<ResumeOrder>,
}

/// Order of drained work at a reopen.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum ResumeOrder {
    /// By the workload's creation time.
    #[default]
    OriginalCreation,
    /// By the time of the eviction.
    EvictionTime,
}

/// A forced state until a time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WindowOverride {
    /// ForceOpen or ForceClosed.
    pub state: OverrideState,
    /// When the override ends; required so that none is forgotten.
    pub until: Time,
}

/// The forced state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum OverrideState {
    /// Open whatever the windows say.
    ForceOpen,
    /// Closed whatever the windows say.
    ForceClosed,
}

/// The state a policy gives its targets.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
pub enum WindowState {
    /// The queues run.
    #[default]
    Open,
    /// Open, but in the notice or admission cut-off before a close.
    Closing,
    /// The queues are held or drained.
    Closed,
}

/// Observed state of a TimeWindowPolicy.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TimeWindowPolicyStatus {
    /// Open, Closing or Closed now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<WindowState>,

    /// The window in effect or the next one, in absolute time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_window: Option<WindowSpan>,

    /// When the state changes next.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_transition_time: Option<Time>,

    /// The queues the policy applies to now, for display (`cq/<name>`, `lq/<namespace>/<name>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_summary: Option<String>,

    /// Workloads of the targets the window affects now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub affected: Option<Affected>,

    /// Version of the IANA time-zone database the calendar was computed with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone_database: Option<String>,

    /// Ready, InvalidSpec, Conflicting, OverrideActive.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
}

/// An absolute window.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct WindowSpan {
    /// Opening.
    pub start: Time,
    /// Closing.
    pub end: Time,
}

/// Workloads of the targets the window affects.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Affected {
    /// Admitted workloads of the targets.
    pub admitted: i32,
    /// Pending workloads the window keeps from admission.
    pub held_by_window: i32,
}
