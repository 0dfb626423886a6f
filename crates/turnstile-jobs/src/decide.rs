//! What to do next for one Job and its Workload: a pure function of what the controller sees.
//! The controller carries out the actions in order and reconciles again on the next change, so
//! each call moves the Job one step along its lifecycle:
//!
//! ```text
//!  created (suspended) ─► Workload created ─► admitted ─► directives written, unsuspended
//!        ▲                                                      │
//!        │            released (quota freed, requeued) ◄─ template restored ◄─ suspended ◄─ evicted
//!        │                                                      │
//!        └──────────────── Workload Finished ◄─ Job Complete / Failed
//! ```

use k8s_openapi::api::batch::v1::Job;
use serde_json::{Value, json};
use turnstile_api as api;
use turnstile_api::keys::{annotations, conditions, managed_by, reasons};
use turnstile_core::model::Toleration;
use turnstile_state::lifecycle::{self, condition_of as cond, holds_quota, is_true};

use crate::workload::{self, Priority};

/// A Workload owned by the Job, as the controller's cache has it.
#[derive(Clone, Debug)]
pub struct WorkloadView<'a> {
    /// The object (its pod sets may have been dropped by the cache).
    pub wl: &'a api::Workload,
    /// Pod count of pod set `main`.
    pub count: i32,
    /// Its partial-admission minimum.
    pub min_count: Option<i32>,
    /// Its pods' tolerations.
    pub tolerations: Vec<Toleration>,
    /// The AdmissionChecks its ClusterQueue asks of it once quota is reserved (sorted; empty
    /// without a reservation or without checks).
    pub checks: Vec<String>,
    /// One pod's requests as accounted (after the resource rules), when known.
    pub per_pod: Option<turnstile_core::resources::Requests>,
}

/// `waitForPodsReady` settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PodsReadyConfig {
    /// Time allowed from admission until every pod is ready.
    pub timeout_ms: i64,
    /// Time allowed to recover once pods stop being ready (`None`: no limit).
    pub recovery_timeout_ms: Option<i64>,
    /// First backoff, seconds.
    pub backoff_base_seconds: i64,
    /// Longest backoff, seconds.
    pub backoff_max_seconds: i64,
    /// Requeues allowed before deactivation (`None`: unlimited).
    pub backoff_limit_count: Option<i32>,
}

/// What the controller knows when it decides.
#[derive(Clone, Debug)]
pub struct Inputs<'a> {
    /// The Job.
    pub job: &'a Job,
    /// Workloads it owns.
    pub workloads: Vec<WorkloadView<'a>>,
    /// The prebuilt Workload the Job names (`kueue.x-k8s.io/prebuilt-workload-name`) when it exists
    /// and the Job does not control it yet (`None` otherwise, or while it does not exist).
    pub prebuilt: Option<WorkloadView<'a>>,
    /// Its priority, or why it cannot be resolved (a missing class).
    pub priority: Result<Priority, String>,
    /// `waitForPodsReady`, when enabled.
    pub pods_ready: Option<PodsReadyConfig>,
    /// One of the Job's pods' requests as accounted (after the resource rules), when known: a
    /// Workload asking for other amounts does not describe the Job (as Kueue compares requests).
    pub job_per_pod: Option<turnstile_core::resources::Requests>,
    /// Now, milliseconds since the epoch.
    pub now_ms: i64,
    /// `objectRetentionPolicies.workloads.afterDeactivatedByKueue` in milliseconds: a Job whose
    /// Workload Turnstile's rules deactivated (`Evicted` with `DeactivatedDueTo<cause>`) is
    /// deleted this long after the eviction (`None`: kept).
    pub retain_deactivated_ms: Option<i64>,
}

/// One step for the controller.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// Create this Workload.
    CreateWorkload(Box<api::Workload>),
    /// Merge-patch a Workload's spec.
    PatchWorkload {
        /// Workload name.
        name: String,
        /// JSON merge patch.
        patch: Value,
    },
    /// Delete a Workload (its finalizer holds it until the Job is stopped).
    DeleteWorkload {
        /// Workload name.
        name: String,
    },
    /// Write the admitted flavors' directives and unsuspend ([`crate::directives::start_patch`]).
    StartJob {
        /// The admitted Workload.
        workload: String,
    },
    /// Suspend the Job and mark the stop in progress (`kueue.x-k8s.io/stopping`).
    SuspendJob,
    /// Clear `status.startTime` so that the template may be changed back.
    ClearStartTime,
    /// Put the Workload's template directives back ([`crate::directives::restore_patch`]).
    RestoreJob {
        /// The Workload holding the original template.
        workload: String,
    },
    /// Merge-patch a Workload's status (with its resourceVersion as precondition).
    WorkloadStatus {
        /// Workload name.
        name: String,
        /// The `status` object to merge.
        status: Value,
    },
    /// Remove Turnstile's finalizer from a Workload.
    RemoveFinalizer {
        /// Workload name.
        name: String,
    },
    /// Record an event on the Job.
    Event {
        /// Warning rather than Normal.
        warning: bool,
        /// Reason.
        reason: &'static str,
        /// Message.
        note: String,
    },
    /// Decide again after this long, even without a change (a deadline is coming).
    RequeueAfterMs(i64),
    /// Delete the Job (its pods and Workload go with it, in the background).
    DeleteJob,
}

fn wl_name(wl: &api::Workload) -> String {
    wl.metadata.name.clone().unwrap_or_default()
}

fn wl_key(wl: &api::Workload) -> turnstile_core::ObjectKey {
    turnstile_state::index::key_of(&wl.metadata)
}

fn has_finalizer(wl: &api::Workload) -> bool {
    wl.metadata
        .finalizers
        .iter()
        .flatten()
        .any(|f| f == api::keys::RESOURCE_IN_USE_FINALIZER)
}

fn millis(t: &k8s_openapi::apimachinery::pkg::apis::meta::v1::Time) -> i64 {
    t.0.as_millisecond()
}

/// The `PodsReady` condition of an admitted Workload whose pods have not all started yet.
const WAITING_FOR_START: lifecycle::ConditionSet<'static> = (
    conditions::PODS_READY,
    "False",
    reasons::WAIT_FOR_START,
    "Not all pods are ready or succeeded",
);

/// The Job's terminal condition: `(succeeded, message)`.
pub fn finished(job: &Job) -> Option<(bool, String)> {
    job.status
        .as_ref()?
        .conditions
        .iter()
        .flatten()
        .find_map(|c| {
            (c.status == "True" && (c.type_ == "Complete" || c.type_ == "Failed"))
                .then(|| (c.type_ == "Complete", c.message.clone().unwrap_or_default()))
        })
}

fn annotation<'a>(job: &'a Job, k: &str) -> Option<&'a str> {
    job.metadata
        .annotations
        .as_ref()?
        .get(k)
        .map(String::as_str)
}

/// Kueue's message for checks in one state: `AdmissionCheck in Rejected state: "a" (why)`.
fn checks_message(checks: &[&api::AdmissionCheckState], state: &str) -> String {
    let mut parts: Vec<(&str, String)> = checks
        .iter()
        .map(|c| {
            let name = c.name.as_str();
            let part = if c.message.is_empty() {
                format!("{name:?}")
            } else {
                format!("{name:?} ({})", c.message)
            };
            (name, part)
        })
        .collect();
    parts.sort();
    let noun = if parts.len() > 1 {
        "AdmissionChecks"
    } else {
        "AdmissionCheck"
    };
    let parts: Vec<String> = parts.into_iter().map(|(_, p)| p).collect();
    format!("{noun} in {state} state: {}", parts.join("; "))
}

/// The step AdmissionChecks call for on a Workload holding quota, if any: write the checks its
/// ClusterQueue asks for (new ones `Pending`), deactivate it when one is `Rejected`, evict it
/// when one is `Retry`, admit it when all are `Ready` (also when none are left: a ClusterQueue
/// whose checks were removed after the reservation must not leave the Workload unadmitted).
fn admission_checks(view: &WorkloadView<'_>, now: i64) -> Option<Vec<Action>> {
    let wl = view.wl;
    let states = wl
        .status
        .as_ref()
        .map(|s| s.admission_checks.as_slice())
        .unwrap_or_default();
    let mut have: Vec<&str> = states.iter().map(|c| c.name.as_str()).collect();
    have.sort_unstable();
    if have != view.checks.iter().map(String::as_str).collect::<Vec<_>>() {
        return Some(vec![Action::WorkloadStatus {
            name: wl_name(wl),
            status: lifecycle::list_checks(wl, &view.checks, now),
        }]);
    }
    let in_state = |st: api::CheckState| -> Vec<&api::AdmissionCheckState> {
        states.iter().filter(|c| c.state == st).collect()
    };
    let rejected = in_state(api::CheckState::Rejected);
    if !rejected.is_empty() {
        if !wl.spec.is_active() {
            return None;
        }
        let message = checks_message(&rejected, "Rejected");
        let [target, inactive] = deactivate(view, reasons::ADMISSION_CHECK, &message, now);
        return Some(vec![
            target,
            inactive,
            Action::Event {
                warning: true,
                reason: "AdmissionCheckRejected",
                note: format!("Deactivated due to {message}"),
            },
        ]);
    }
    let retry = in_state(api::CheckState::Retry);
    if !retry.is_empty() {
        let message = format!("Evicted due to {}", checks_message(&retry, "Retry"));
        return Some(vec![Action::WorkloadStatus {
            name: wl_name(wl),
            status: lifecycle::evict(wl, reasons::ADMISSION_CHECK, &message, None, now),
        }]);
    }
    let ready = states.iter().all(|c| c.state == api::CheckState::Ready);
    if ready && !is_true(wl, conditions::ADMITTED) {
        return Some(vec![
            Action::WorkloadStatus {
                name: wl_name(wl),
                status: lifecycle::admit_checked(wl, now),
            },
            Action::Event {
                warning: false,
                reason: "Admitted",
                note: "Admitted: every AdmissionCheck is Ready".into(),
            },
        ]);
    }
    None
}

/// Whether another object than `job` controls the Workload.
fn controlled_by_other(wl: &api::Workload, job: &Job) -> bool {
    wl.metadata
        .owner_references
        .iter()
        .flatten()
        .any(|r| r.controller == Some(true) && Some(&r.uid) != job.metadata.uid.as_ref())
}

/// The pod count the Job runs with under the Workload's quota reservation: the admitted count of
/// pod set `main` when the Workload may be partially admitted (the start lowered the Job's
/// parallelism to it), else the Workload's own count.
fn expected_running_count(view: &WorkloadView<'_>) -> i32 {
    if view.min_count.is_none() {
        return view.count;
    }
    view.wl
        .status
        .as_ref()
        .and_then(|s| s.admission.as_ref())
        .and_then(|a| {
            a.pod_set_assignments
                .iter()
                .find(|p| p.name.as_str() == api::keys::DEFAULT_POD_SET_NAME)
        })
        .and_then(|p| p.count)
        .unwrap_or(view.count)
}

/// Whether the Workload describes the Job as it is now (pod count, partial-admission minimum and,
/// before admission, tolerations). With quota reserved the Job is compared with what it runs
/// under the reservation (a partially admitted Job runs fewer pods than the Workload asked for);
/// a Job still suspended may also match the Workload as asked, as in Kueue.
pub fn matches(
    job: &Job,
    job_per_pod: Option<&turnstile_core::resources::Requests>,
    view: &WorkloadView<'_>,
) -> bool {
    // Different amounts per pod: a Workload made for another template (or by hand) would charge
    // other quota than the pods the Job starts use.
    if let (Some(want), Some(has)) = (job_per_pod, view.per_pod.as_ref())
        && want != has
    {
        return false;
    }
    let tolerations: Vec<Toleration> = job
        .spec
        .as_ref()
        .and_then(|s| s.template.spec.as_ref())
        .and_then(|s| s.tolerations.as_ref())
        .map(|ts| {
            ts.iter()
                .map(turnstile_state::convert::toleration)
                .collect()
        })
        .unwrap_or_default();
    let job_count = workload::pod_count(job);
    let suspended = job.spec.as_ref().and_then(|s| s.suspend) == Some(true);
    let count_ok = if holds_quota(view.wl) {
        expected_running_count(view) == job_count || (suspended && view.count == job_count)
    } else {
        view.count == job_count
    };
    count_ok
        && view.min_count == workload::min_count(job)
        && (holds_quota(view.wl) || view.tolerations == tolerations)
}

/// Backoff before the `n`th requeue (1-based): `base · 2^(n-1)` seconds, at most `max`.
pub fn backoff_seconds(n: i32, base: i64, max: i64) -> i64 {
    let shift = u32::try_from(n.saturating_sub(1).clamp(0, 62)).unwrap_or(62);
    base.saturating_mul(1_i64.checked_shl(shift).unwrap_or(i64::MAX))
        .min(max)
}

/// The next steps for `inputs.job`.
// One function reads as the lifecycle in order; splitting it would scatter the early returns.
#[allow(clippy::too_many_lines)]
pub fn decide(inputs: &Inputs<'_>) -> Vec<Action> {
    let job = inputs.job;
    if !managed_by::job_is_ours(job) {
        return Vec::new();
    }
    let suspended = job.spec.as_ref().and_then(|s| s.suspend) == Some(true);
    let stopping = annotation(job, annotations::STOPPING) == Some("true");
    let status = job.status.as_ref();
    let active = status.and_then(|s| s.active).unwrap_or(0);
    let started = status.and_then(|s| s.start_time.as_ref()).is_some();
    let done = finished(job);
    let now = inputs.now_ms;

    // The Workload to follow: the first that matches and is not being deleted. Others go.
    let live = |v: &&WorkloadView<'_>| v.wl.metadata.deletion_timestamp.is_none();
    let chosen = inputs
        .workloads
        .iter()
        .filter(live)
        .find(|v| matches(job, inputs.job_per_pod.as_ref(), v));
    let mut out = Vec::new();
    let prebuilt = workload::prebuilt_name(job);
    for v in inputs.workloads.iter().filter(live) {
        if chosen.is_some_and(|c| wl_key(c.wl) == wl_key(v.wl)) {
            continue;
        }
        // A prebuilt Workload that does not describe its Job is finished, never replaced.
        if prebuilt.is_some_and(|p| v.wl.metadata.name.as_deref() == Some(p)) {
            if !is_true(v.wl, conditions::FINISHED) {
                out.push(finish(
                    v,
                    reasons::OUT_OF_SYNC,
                    "The prebuilt workload is out of sync with its user job",
                    now,
                ));
            }
            continue;
        }
        // A stale Workload of a suspended Job without a reservation is brought up to date in
        // place; any other is deleted (its finalizer holds it until the Job has stopped).
        if chosen.is_none()
            && suspended
            && !holds_quota(v.wl)
            && done.is_none()
            && inputs.workloads.len() == 1
        {
            out.push(Action::PatchWorkload {
                name: wl_name(v.wl),
                patch: json!({"spec": {"podSets": [{"name": "main", "count": workload::pod_count(job),
                    "minCount": workload::min_count(job),
                    "template": job.spec.as_ref().map(|s| workload::clean_template(&s.template))}]}}),
            });
            out.push(Action::Event {
                warning: false,
                reason: "UpdatedWorkload",
                note: format!(
                    "Updated not matching Workload for suspended job: {}",
                    wl_key(v.wl)
                ),
            });
            return out;
        }
        out.push(Action::DeleteWorkload {
            name: wl_name(v.wl),
        });
        out.push(Action::Event {
            warning: false,
            reason: "DeletedWorkload",
            note: format!("Deleted not matching Workload: {}", wl_key(v.wl)),
        });
    }
    // Workloads being deleted: stop the Job, restore its template, then let the Workload go.
    for v in inputs.workloads.iter().filter(|v| !live(v)) {
        if !has_finalizer(v.wl) {
            continue;
        }
        if done.is_none() && chosen.is_none() {
            if !suspended {
                out.push(Action::SuspendJob);
                out.push(Action::Event {
                    warning: false,
                    reason: "Stopped",
                    note: "Workload is being deleted".into(),
                });
                return out;
            }
            if started {
                out.push(Action::ClearStartTime);
                return out;
            }
            if stopping {
                out.push(Action::RestoreJob {
                    workload: wl_name(v.wl),
                });
                return out;
            }
            if active > 0 {
                return out;
            }
        }
        out.push(Action::RemoveFinalizer {
            name: wl_name(v.wl),
        });
    }
    if !out.is_empty() {
        return out;
    }
    let Some(view) = chosen else {
        // A Job being deleted (or whose namespace is) gets no Workload: nothing of it will run,
        // and the apiserver refuses new objects in a terminating namespace.
        if done.is_some() || job.metadata.deletion_timestamp.is_some() {
            return out;
        }
        if !suspended {
            // Running without a Workload (created before Turnstile, or its Workload vanished).
            out.push(Action::SuspendJob);
            out.push(Action::Event {
                warning: false,
                reason: "Stopped",
                note: "Missing Workload; unable to restore pod templates".into(),
            });
            return out;
        }
        if active > 0 || stopping {
            return out;
        }
        if let Some(p) = prebuilt {
            // Adopt the prebuilt Workload (then judged like any other); while it does not exist,
            // or another object controls it, the Job waits suspended.
            match &inputs.prebuilt {
                Some(v) if controlled_by_other(v.wl, job) => out.push(Action::Event {
                    warning: true,
                    reason: "PrebuiltWorkloadNotAdopted",
                    note: format!("Prebuilt Workload {p} is controlled by another object"),
                }),
                Some(v) => {
                    out.push(Action::PatchWorkload {
                        name: wl_name(v.wl),
                        patch: workload::adopt_patch(job, v.wl),
                    });
                    out.push(Action::Event {
                        warning: false,
                        reason: "AdoptedWorkload",
                        note: format!("Adopted prebuilt Workload: {}", wl_key(v.wl)),
                    });
                }
                None => {}
            }
            return out;
        }
        match &inputs.priority {
            Ok(p) => {
                let wl = workload::new_workload(job, p);
                out.push(Action::Event {
                    warning: false,
                    reason: "CreatedWorkload",
                    note: format!(
                        "Created Workload: {}/{}",
                        wl.metadata.namespace.as_deref().unwrap_or_default(),
                        wl.metadata.name.as_deref().unwrap_or_default()
                    ),
                });
                out.insert(0, Action::CreateWorkload(Box::new(wl)));
            }
            Err(why) => out.push(Action::Event {
                warning: true,
                reason: "ErrWorkloadCompose",
                note: why.clone(),
            }),
        }
        return out;
    };
    let wl = view.wl;
    let name = wl_name(wl);

    // Completion.
    if let Some((ok, message)) = done {
        if is_true(wl, conditions::FINISHED) {
            if has_finalizer(wl) {
                out.push(Action::RemoveFinalizer { name });
            }
        } else {
            let reason = if ok {
                reasons::SUCCEEDED
            } else {
                reasons::FAILED
            };
            out.push(finish(view, reason, &message, now));
            out.push(Action::Event {
                warning: false,
                reason: "FinishedWorkload",
                note: format!("Workload '{}' is declared finished", wl_key(wl)),
            });
        }
        return out;
    }
    if is_true(wl, conditions::FINISHED) {
        if !suspended {
            out.push(Action::SuspendJob);
        }
        return out;
    }

    // Queue and priority follow the Job's labels while the Workload waits.
    if !holds_quota(wl) {
        let queue = workload::queue_name(job);
        let mut patch = serde_json::Map::new();
        if queue != wl.spec.queue_name.as_ref().map(api::LocalQueueName::as_str) {
            patch.insert("queueName".into(), json!(queue));
        }
        if let Ok(p) = &inputs.priority
            && p.class
                .as_ref()
                .is_some_and(|c| c.kind == api::PriorityClassKind::WorkloadPriorityClass)
            && (p.class != wl.spec.priority_class_ref || Some(p.value) != wl.spec.priority)
        {
            patch.insert("priorityClassRef".into(), json!(p.class));
            patch.insert("priority".into(), json!(p.value));
        }
        if !patch.is_empty() {
            out.push(Action::PatchWorkload {
                name,
                patch: json!({"spec": patch}),
            });
            return out;
        }
    }

    // Two-step admission: with quota reserved, the AdmissionChecks decide.
    if holds_quota(wl)
        && !is_true(wl, conditions::EVICTED)
        && let Some(actions) = admission_checks(view, now)
    {
        out.extend(actions);
        return out;
    }

    let admitted = lifecycle::is_admitted(wl);
    let evicted = is_true(wl, conditions::EVICTED);
    if !suspended && !stopping {
        if admitted && !evicted {
            return running(inputs, view, out);
        }
        out.push(Action::SuspendJob);
        let note = cond(wl, conditions::EVICTED)
            .filter(|c| c.status == "True")
            .map_or_else(
                || "Not admitted by cluster queue".to_owned(),
                |c| c.message.clone(),
            );
        out.push(Action::Event {
            warning: false,
            reason: "Stopped",
            note,
        });
        return out;
    }
    if !suspended {
        // A stop in progress whose suspend has not landed yet.
        out.push(Action::SuspendJob);
        return out;
    }
    if started {
        out.push(Action::ClearStartTime);
        return out;
    }
    if stopping {
        out.push(Action::RestoreJob { workload: name });
        return out;
    }
    if evicted && holds_quota(wl) {
        if active > 0 {
            return out;
        }
        out.push(release(view, now));
        return out;
    }
    if evicted {
        // Stopped and released: a Job Turnstile's rules deactivated goes after its retention.
        out.extend(deactivation_retention(
            inputs.retain_deactivated_ms,
            wl,
            now,
        ));
        return out;
    }
    if admitted && !evicted {
        out.push(Action::StartJob {
            workload: name.clone(),
        });
        if inputs.pods_ready.is_some()
            && cond(wl, conditions::PODS_READY).is_none()
            && let Some(status) = lifecycle::running(wl, Some(WAITING_FOR_START), None, now)
        {
            out.push(Action::WorkloadStatus {
                name: name.clone(),
                status,
            });
        }
        let cq = lifecycle::admitted_to(wl);
        out.push(Action::Event {
            warning: false,
            reason: "Started",
            note: format!("Admitted by clusterQueue {cq}"),
        });
    }
    out
}

/// Kueue's `objectRetentionPolicies.workloads.afterDeactivatedByKueue`: a Workload that is inactive
/// and evicted with `DeactivatedDueTo<cause>` (deactivated by the rules, not by a user) has its Job
/// deleted `retain_ms` after the eviction; until then, a wake-up at that time.
fn deactivation_retention(retain_ms: Option<i64>, wl: &api::Workload, now: i64) -> Vec<Action> {
    let Some(retain) = retain_ms else {
        return Vec::new();
    };
    let Some(evicted) = cond(wl, conditions::EVICTED)
        .filter(|c| c.status == "True" && c.reason.starts_with(reasons::DEACTIVATED_DUE_TO_PREFIX))
    else {
        return Vec::new();
    };
    if wl.spec.is_active() {
        return Vec::new();
    }
    let due = evicted
        .last_transition_time
        .0
        .as_millisecond()
        .saturating_add(retain);
    if now < due {
        return vec![Action::RequeueAfterMs(due - now)];
    }
    vec![
        Action::DeleteJob,
        Action::Event {
            warning: false,
            reason: "Deleted",
            note: "Deleted job: deactivation retention period expired".into(),
        },
    ]
}

/// `Finished=True` with this reason and message (`FailedToStart` when the start patch cannot be
/// built, `OwnerNotFound` for an orphan).
pub fn finish(view: &WorkloadView<'_>, reason: &str, message: &str, now_ms: i64) -> Action {
    Action::WorkloadStatus {
        name: wl_name(view.wl),
        status: lifecycle::finish(view.wl, reason, message, now_ms),
    }
}

/// A Workload whose Job is gone (or is another Job of the same name): first finished with
/// `OwnerNotFound`, then (next call) its finalizer removed so that garbage collection can
/// delete it.
pub fn orphan(view: &WorkloadView<'_>, now_ms: i64) -> Vec<Action> {
    if !is_true(view.wl, conditions::FINISHED) {
        vec![finish(
            view,
            reasons::OWNER_NOT_FOUND,
            "The workload's owner no longer exists",
            now_ms,
        )]
    } else if has_finalizer(view.wl) {
        vec![Action::RemoveFinalizer {
            name: wl_name(view.wl),
        }]
    } else {
        Vec::new()
    }
}

/// A Job Turnstile no longer manages (its queue label removed while suspended, its namespace no
/// longer selected, Jobs no longer among the frameworks): a Workload of a suspended Job without
/// active pods describes nothing that runs, so it goes — deleted, then its finalizer removed — and
/// can neither be admitted nor hold quota nor block its own deletion. The Job stays suspended;
/// managed again, it gets a new Workload. A running Job's Workload stays: its pods use the quota
/// it holds, and freeing that quota while they run would over-commit.
pub fn unmanaged(job: &Job, workloads: &[WorkloadView<'_>]) -> Vec<Action> {
    let suspended = job.spec.as_ref().and_then(|s| s.suspend) == Some(true);
    let active = job.status.as_ref().and_then(|s| s.active).unwrap_or(0);
    if !suspended || active > 0 {
        return Vec::new();
    }
    let mut out = Vec::new();
    for v in workloads {
        if v.wl.metadata.deletion_timestamp.is_none() {
            out.push(Action::DeleteWorkload {
                name: wl_name(v.wl),
            });
            out.push(Action::Event {
                warning: false,
                reason: "DeletedWorkload",
                note: format!(
                    "The Job is no longer managed (no queue name, or its namespace is not selected): deleted its Workload {}",
                    wl_key(v.wl)
                ),
            });
        } else if has_finalizer(v.wl) {
            out.push(Action::RemoveFinalizer {
                name: wl_name(v.wl),
            });
        }
    }
    out
}

/// Deactivation for a cause: the `DeactivationTarget` condition, then `spec.active=false` (the
/// eviction `DeactivatedDueTo<cause>` follows from the scheduler's lifecycle rules).
fn deactivate(view: &WorkloadView<'_>, cause: &str, message: &str, now: i64) -> [Action; 2] {
    [
        Action::WorkloadStatus {
            name: wl_name(view.wl),
            status: lifecycle::deactivation_target(view.wl, cause, message, now),
        },
        Action::PatchWorkload {
            name: wl_name(view.wl),
            patch: json!({"spec": {"active": false}}),
        },
    ]
}

/// The status that gives an evicted Workload's quota back once its Job has stopped.
fn release(view: &WorkloadView<'_>, now: i64) -> Action {
    Action::WorkloadStatus {
        name: wl_name(view.wl),
        status: lifecycle::release(view.wl, now),
    }
}

/// A Job running under an admitted Workload: readiness, its deadline, reclaimable pods.
#[allow(clippy::too_many_lines)]
fn running(inputs: &Inputs<'_>, view: &WorkloadView<'_>, mut out: Vec<Action>) -> Vec<Action> {
    let job = inputs.job;
    let wl = view.wl;
    let now = inputs.now_ms;
    if !wl.spec.is_active() {
        // Deactivation decided; the eviction that stops the Job comes next.
        return out;
    }
    // maximumExecutionTimeSeconds counts admitted time only: the time of earlier admissions
    // (kept across evictions, e.g. a time window's pauses) plus this one's.
    if let Some(max) = wl.spec.maximum_execution_time_seconds
        && let Some(since) = cond(wl, conditions::ADMITTED)
            .filter(|c| c.status == "True")
            .map(|c| millis(&c.last_transition_time))
    {
        let past = wl
            .status
            .as_ref()
            .and_then(|s| s.accumulated_past_execution_time_seconds)
            .unwrap_or(0);
        let deadline = since
            .saturating_add(i64::from(max).saturating_mul(1000))
            .saturating_sub(i64::from(past).saturating_mul(1000));
        if now >= deadline {
            out.extend(deactivate(
                view,
                reasons::MAXIMUM_EXECUTION_TIME_EXCEEDED,
                "exceeding the maximum execution time",
                now,
            ));
            return out;
        }
        out.push(Action::RequeueAfterMs(deadline - now));
    }
    let st = job.status.as_ref();
    let succeeded = st.and_then(|s| s.succeeded).unwrap_or(0);
    let ready = st.and_then(|s| s.ready).unwrap_or(0);
    let uncounted = st
        .and_then(|s| s.uncounted_terminated_pods.as_ref())
        .and_then(|u| u.succeeded.as_ref())
        .map_or(0, Vec::len);
    let all_ready = i64::from(succeeded) + i64::from(ready) + i64::try_from(uncounted).unwrap_or(0)
        >= i64::from(workload::pod_count(job));
    // The PodsReady change to write, if any.
    let mut pods_ready: Option<lifecycle::ConditionSet<'_>> = None;

    if let Some(cfg) = inputs.pods_ready {
        let pr = cond(wl, conditions::PODS_READY);
        if all_ready {
            if pr.is_none_or(|c| c.status != "True") {
                let reason = if pr.is_some_and(|c| c.reason == reasons::WAIT_FOR_RECOVERY) {
                    reasons::RECOVERED
                } else {
                    reasons::STARTED
                };
                pods_ready = Some((
                    conditions::PODS_READY,
                    "True",
                    reason,
                    "All pods reached readiness and the workload is running",
                ));
            }
        } else {
            let recovering =
                pr.is_some_and(|c| c.status == "True" || c.reason == reasons::WAIT_FOR_RECOVERY);
            if pr.is_some_and(|c| c.status == "True") {
                pods_ready = Some((
                    conditions::PODS_READY,
                    "False",
                    reasons::WAIT_FOR_RECOVERY,
                    "At least one pod has failed, waiting for recovery",
                ));
            } else if pr.is_none() {
                pods_ready = Some(WAITING_FOR_START);
            }
            let since = if recovering {
                if pr.is_some_and(|c| c.status == "True") {
                    Some(now)
                } else {
                    pr.map(|c| millis(&c.last_transition_time))
                }
            } else {
                cond(wl, conditions::ADMITTED).map(|c| millis(&c.last_transition_time))
            };
            let limit = if recovering {
                cfg.recovery_timeout_ms
            } else {
                Some(cfg.timeout_ms)
            };
            if let (Some(since), Some(limit)) = (since, limit) {
                let deadline = since.saturating_add(limit);
                if now >= deadline {
                    let count = wl
                        .status
                        .as_ref()
                        .and_then(|s| s.requeue_state.as_ref())
                        .and_then(|r| r.count)
                        .unwrap_or(0);
                    if cfg
                        .backoff_limit_count
                        .is_some_and(|l| count.saturating_add(1) > l)
                    {
                        out.extend(deactivate(
                            view,
                            reasons::REQUEUING_LIMIT_EXCEEDED,
                            "exceeding the maximum number of re-queuing retries",
                            now,
                        ));
                        return out;
                    }
                    let n = count.saturating_add(1);
                    let wait =
                        backoff_seconds(n, cfg.backoff_base_seconds, cfg.backoff_max_seconds);
                    let message = format!("Exceeded the PodsReady timeout {}", wl_key(wl));
                    out.push(Action::WorkloadStatus {
                        name: wl_name(wl),
                        status: lifecycle::evict_pods_ready_timeout(
                            wl,
                            pods_ready,
                            &message,
                            (n, now.saturating_add(wait.saturating_mul(1000))),
                            now,
                        ),
                    });
                    out.push(Action::Event {
                        warning: false,
                        reason: "EvictedDueToPodsReadyTimeout",
                        note: message,
                    });
                    return out;
                }
                out.push(Action::RequeueAfterMs(deadline - now));
            }
        }
    }

    // Pods that completed and will not run again give their quota back.
    let parallelism = job.spec.as_ref().and_then(|s| s.parallelism).unwrap_or(1);
    let completions = job
        .spec
        .as_ref()
        .and_then(|s| s.completions)
        .unwrap_or(parallelism);
    let remaining = (completions - succeeded).max(0);
    let reclaimable = if parallelism > 1 && succeeded > 0 && remaining < parallelism {
        vec![json!({"name": "main", "count": parallelism - remaining})]
    } else {
        Vec::new()
    };
    let current: Vec<Value> = wl
        .status
        .as_ref()
        .map(|s| {
            s.reclaimable_pods
                .iter()
                .map(|r| json!({"name": r.name, "count": r.count}))
                .collect()
        })
        .unwrap_or_default();
    let reclaimable = (current != reclaimable).then_some(Value::Array(reclaimable));
    if let Some(status) = lifecycle::running(wl, pods_ready, reclaimable, now) {
        out.insert(
            0,
            Action::WorkloadStatus {
                name: wl_name(wl),
                status,
            },
        );
    }
    out
}
