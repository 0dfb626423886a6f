//! The batch/v1 Job rules: suspend queued Jobs at creation, default their queue, and refuse
//! changes that would let a queued Job escape its queue (Kueue's `mjob.kb.io` / `vjob.kb.io`).

use std::collections::BTreeMap;

use json_patch::{AddOperation, PatchOperation, ReplaceOperation};
use k8s_openapi::api::batch::v1::Job;
use turnstile_api::keys::{annotations, labels, managed_by};

use crate::field::{ErrorList, FieldError, Path};
use crate::names::is_dns1123_subdomain;

/// Name of the LocalQueue (and WorkloadPriorityClass) used by default.
pub const DEFAULT_NAME: &str = "default";

/// What the Job rules need to know beyond the Job itself.
// Independent facts about the cluster and the request; an enum would not fit.
#[allow(clippy::struct_excessive_bools)]
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct JobContext {
    /// The namespace is excluded from queueing (kube-system, Turnstile's own namespace, or not
    /// matched by the managed-jobs namespace selector).
    pub namespace_excluded: bool,
    /// Jobs without a queue label are queued too (`manageJobsWithoutQueueName`).
    pub manage_jobs_without_queue_name: bool,
    /// The namespace has a LocalQueue named `default`.
    pub default_local_queue_exists: bool,
    /// A WorkloadPriorityClass named `default` exists and Kueue's `WorkloadPriorityClassDefaulting`
    /// gate (off by default) is on: Jobs without a priority-class label get `default`.
    pub default_priority_class_exists: bool,
    /// The request comes from Turnstile's own identity.
    pub requester_is_manager: bool,
    /// The Job's Workload is admitted.
    pub workload_admitted: bool,
}

fn label<'a>(job: &'a Job, key: &str) -> Option<&'a str> {
    job.metadata.labels.as_ref()?.get(key).map(String::as_str)
}

fn annotation<'a>(job: &'a Job, key: &str) -> Option<&'a str> {
    job.metadata
        .annotations
        .as_ref()?
        .get(key)
        .map(String::as_str)
}

fn suspended(job: &Job) -> bool {
    job.spec.as_ref().and_then(|s| s.suspend).unwrap_or(false)
}

/// Whether another controller manages the Job ([`managed_by::job_is_ours`] is the rule).
pub fn managed_elsewhere(job: &Job) -> bool {
    !managed_by::job_is_ours(job)
}

/// Whether Turnstile queues this Job (given its labels after defaulting).
pub fn is_queued(job: &Job, ctx: &JobContext) -> bool {
    !ctx.namespace_excluded
        && !managed_elsewhere(job)
        && managed_by::job_is_queued(job, ctx.manage_jobs_without_queue_name)
}

fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

fn op_add(path: &str, value: serde_json::Value) -> PatchOperation {
    PatchOperation::Add(AddOperation {
        path: path.parse().unwrap_or_default(),
        value,
    })
}

/// The JSON patch for a Job being created: default the queue and priority-class labels, and
/// suspend the Job when Turnstile queues it. Empty when nothing changes.
pub fn default_job(job: &Job, ctx: &JobContext) -> Vec<PatchOperation> {
    let mut ops = Vec::new();
    if ctx.namespace_excluded || managed_elsewhere(job) {
        return ops;
    }
    let mut new_labels: BTreeMap<&str, &str> = BTreeMap::new();
    if managed_by::job_queue_name(job).is_none() && ctx.default_local_queue_exists {
        new_labels.insert(labels::QUEUE_NAME, DEFAULT_NAME);
    }
    if label(job, labels::PRIORITY_CLASS).is_none() && ctx.default_priority_class_exists {
        new_labels.insert(labels::PRIORITY_CLASS, DEFAULT_NAME);
    }
    if !new_labels.is_empty() {
        if job.metadata.labels.is_none() {
            ops.push(op_add("/metadata/labels", serde_json::json!({})));
        }
        for (k, v) in &new_labels {
            ops.push(op_add(
                &format!("/metadata/labels/{}", escape(k)),
                (*v).into(),
            ));
        }
    }
    let queued = new_labels.contains_key(labels::QUEUE_NAME)
        || managed_by::job_is_queued(job, ctx.manage_jobs_without_queue_name);
    if queued && !suspended(job) {
        if job.spec.is_none() {
            ops.push(op_add("/spec", serde_json::json!({"suspend": true})));
        } else if job.spec.as_ref().and_then(|s| s.suspend).is_some() {
            ops.push(PatchOperation::Replace(ReplaceOperation {
                path: "/spec/suspend".parse().unwrap_or_default(),
                value: true.into(),
            }));
        } else {
            ops.push(op_add("/spec/suspend", true.into()));
        }
    }
    ops
}

fn label_path(key: &str) -> Path {
    Path::new("metadata").child("labels").key(key)
}

fn annotation_path(key: &str) -> Path {
    Path::new("metadata").child("annotations").key(key)
}

/// Checks a Job on create (`old` = None) and update.
pub fn validate_job(job: &Job, old: Option<&Job>, ctx: &JobContext) -> ErrorList {
    let mut errs = ErrorList::new();
    if ctx.namespace_excluded || managed_elsewhere(job) {
        return errs;
    }
    if let Some(q) = managed_by::job_queue_name(job)
        && !is_dns1123_subdomain(q)
    {
        errs.push(FieldError::invalid(
            &label_path(labels::QUEUE_NAME),
            q,
            "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character",
        ));
    }
    if let Some(v) = label(job, labels::MAX_EXEC_TIME_SECONDS)
        && v.parse::<i32>().map_or(true, |n| n <= 0)
    {
        errs.push(FieldError::invalid(
            &label_path(labels::MAX_EXEC_TIME_SECONDS),
            v,
            "should be greater than 0",
        ));
    }
    let spec = job.spec.clone().unwrap_or_default();
    let parallelism = spec.parallelism.unwrap_or(1);
    // Checked on create and when the annotation changes (as Kueue): the start may lower
    // parallelism to the admitted count without the annotation being judged again.
    if let Some(v) = annotation(job, annotations::JOB_MIN_PARALLELISM)
        && old.is_none_or(|o| annotation(o, annotations::JOB_MIN_PARALLELISM) != Some(v))
    {
        match v.parse::<i32>() {
            Ok(n) if n > 0 && n < parallelism => {}
            Ok(_) => errs.push(FieldError::invalid(
                &annotation_path(annotations::JOB_MIN_PARALLELISM),
                v,
                format!("should be between 0 and {}", parallelism - 1),
            )),
            Err(_) => errs.push(FieldError::invalid(
                &annotation_path(annotations::JOB_MIN_PARALLELISM),
                v,
                "should be an integer",
            )),
        }
    }
    if let Some(v) = annotation(job, annotations::JOB_COMPLETIONS_EQUAL_PARALLELISM) {
        let p = annotation_path(annotations::JOB_COMPLETIONS_EQUAL_PARALLELISM);
        match v.parse::<bool>() {
            Err(_) => errs.push(FieldError::invalid(&p, v, "should be a boolean")),
            Ok(true) => {
                if spec.completion_mode.as_deref() != Some("Indexed") {
                    errs.push(FieldError::invalid(
                        &p,
                        v,
                        "should not be enabled for NonIndexed jobs",
                    ));
                }
                if spec.completions != Some(parallelism) {
                    errs.push(FieldError::invalid(&p, v, "should not be enabled for jobs where completions is not equal to parallelism"));
                }
            }
            Ok(false) => {}
        }
    }
    if let Some(old) = old {
        errs.extend(validate_update(job, old, ctx));
    }
    errs
}

fn parallelism(job: &Job) -> i32 {
    job.spec.as_ref().and_then(|s| s.parallelism).unwrap_or(1)
}

fn completions_synced(job: &Job) -> bool {
    annotation(job, annotations::JOB_COMPLETIONS_EQUAL_PARALLELISM)
        .and_then(|v| v.parse::<bool>().ok())
        .unwrap_or(false)
}

/// The Job's WorkloadPriorityClass name; an empty label counts as none.
fn priority_class(job: &Job) -> Option<&str> {
    label(job, labels::PRIORITY_CLASS).filter(|v| !v.is_empty())
}

/// Kueue's rule for `kueue.x-k8s.io/priority-class` on update: it may change at any time (the
/// Workload's priority follows), may not be added to a running Job, and may never be removed.
fn validate_priority_class_update(job: &Job, old: &Job) -> ErrorList {
    let mut errs = ErrorList::new();
    let (o, n) = (priority_class(old), priority_class(job));
    let value = label(job, labels::PRIORITY_CLASS).unwrap_or_default();
    if o.is_none() && n.is_some() && !suspended(job) {
        errs.push(FieldError::invalid(
            &label_path(labels::PRIORITY_CLASS),
            value,
            "WorkloadPriorityClass cannot be added to a non-suspended workload",
        ));
    } else if o.is_some() && n.is_none() {
        errs.push(FieldError::invalid(
            &label_path(labels::PRIORITY_CLASS),
            value,
            "WorkloadPriorityClass cannot be removed from a workload",
        ));
    }
    errs
}

fn validate_update(job: &Job, old: &Job, ctx: &JobContext) -> ErrorList {
    let mut errs = ErrorList::new();
    let (old_q, new_q) = (
        label(old, labels::QUEUE_NAME),
        label(job, labels::QUEUE_NAME),
    );
    if old_q != new_q {
        if !suspended(job) {
            errs.push(FieldError::invalid(
                &label_path(labels::QUEUE_NAME),
                new_q.unwrap_or_default(),
                "field is immutable",
            ));
        } else if new_q.is_none() && ctx.default_local_queue_exists {
            errs.push(FieldError::invalid(
                &label_path(labels::QUEUE_NAME),
                "",
                "queue-name label cannot be removed when a LocalQueue named default exists in the namespace",
            ));
        }
    }
    for (key, what) in [
        (labels::MAX_EXEC_TIME_SECONDS, "label"),
        (labels::PREBUILT_WORKLOAD_NAME, "label"),
    ] {
        if label(old, key) != label(job, key) && !(suspended(old) && suspended(job)) {
            errs.push(
                FieldError::invalid(
                    &label_path(key),
                    label(job, key).unwrap_or_default(),
                    "field is immutable",
                )
                .with_detail(format!(
                    "field is immutable: the {what} can change only while the Job is suspended"
                )),
            );
        }
    }
    // Partial admission: the rule looks at the old object, so that the manager's own start (lower
    // parallelism and unsuspend in one write) is allowed while a running Job cannot be resized.
    if annotation(old, annotations::JOB_MIN_PARALLELISM).is_some()
        && !suspended(old)
        && parallelism(old) != parallelism(job)
    {
        errs.push(FieldError::forbidden(
            &Path::new("spec").child("parallelism"),
            "cannot change when partial admission is enabled and the job is not suspended",
        ));
    }
    if suspended(old) == suspended(job)
        && !suspended(job)
        && completions_synced(old) != completions_synced(job)
    {
        errs.push(FieldError::forbidden(
            &annotation_path(annotations::JOB_COMPLETIONS_EQUAL_PARALLELISM),
            "field is immutable while the job is not suspended",
        ));
    }
    errs.extend(validate_priority_class_update(job, old));
    let unsuspending = suspended(old) && !suspended(job);
    if unsuspending && is_queued(job, ctx) && !ctx.requester_is_manager && !ctx.workload_admitted {
        let queue = new_q.unwrap_or(DEFAULT_NAME);
        errs.push(FieldError::forbidden(
            &Path::new("spec").child("suspend"),
            format!(
                "the Job is queued in LocalQueue {queue:?} and not admitted yet; it is unsuspended when its Workload is admitted (set by the queue manager, not by clients)"
            ),
        ));
    }
    errs
}

#[cfg(test)]
mod tests;
