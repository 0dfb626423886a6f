//! The Workload of a Job, built as Kueue builds it: deterministic name, owner reference, one pod
//! set `main` from the template, count from parallelism and completions, partial admission from
//! the `job-min-parallelism` annotation, priority resolved by the caller.

use std::collections::BTreeMap;

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::PodTemplateSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use sha1::{Digest, Sha1};
use turnstile_api as api;
use turnstile_api::keys::{self, annotations, labels};

const HASH_LENGTH: usize = 5;
const MAX_NAME: usize = 253;

/// The name of a Job's Workload: `job-<job name>` (cut to fit) and 5 hex digits of a SHA-1 over
/// kind, group, name and UID, so it is the same for the same Job and differs across Jobs.
pub fn workload_name(job_name: &str, job_uid: &str) -> String {
    let mut h = Sha1::new();
    h.update(format!("Job\nbatch\n{job_name}\n{job_uid}").as_bytes());
    let hex = h.finalize().iter().fold(String::new(), |mut acc, b| {
        use std::fmt::Write;
        let _ = write!(acc, "{b:02x}");
        acc
    });
    let mut prefix = format!("job-{}", job_name.to_lowercase());
    prefix.truncate(MAX_NAME - 1 - HASH_LENGTH);
    format!("{prefix}-{}", &hex[..HASH_LENGTH])
}

/// Pods the Job runs at once: `min(parallelism, completions)`, parallelism 1 when unset.
pub fn pod_count(job: &Job) -> i32 {
    let spec = job.spec.as_ref();
    let parallelism = spec.and_then(|s| s.parallelism).unwrap_or(1);
    match spec.and_then(|s| s.completions) {
        Some(c) => parallelism.min(c),
        None => parallelism,
    }
}

/// The partial-admission minimum, from `kueue.x-k8s.io/job-min-parallelism`.
pub fn min_count(job: &Job) -> Option<i32> {
    job.metadata
        .annotations
        .as_ref()?
        .get(annotations::JOB_MIN_PARALLELISM)?
        .parse()
        .ok()
}

/// The LocalQueue the Job names (`kueue.x-k8s.io/queue-name`; empty names none).
pub fn queue_name(job: &Job) -> Option<&str> {
    turnstile_api::keys::managed_by::job_queue_name(job)
}

/// The pod template as the Workload keeps it: without the labels the Job controller adds per
/// Job (`controller-uid`, `batch.kubernetes.io/controller-uid`, `job-name`), and with duplicate
/// environment variables dropped (the last definition wins, as in the pod).
pub fn clean_template(template: &PodTemplateSpec) -> PodTemplateSpec {
    let mut t = template.clone();
    if let Some(l) = t.metadata.as_mut().and_then(|m| m.labels.as_mut()) {
        for k in [
            "controller-uid",
            "batch.kubernetes.io/controller-uid",
            "job-name",
        ] {
            l.remove(k);
        }
    }
    if let Some(spec) = t.spec.as_mut() {
        for c in spec
            .containers
            .iter_mut()
            .chain(spec.init_containers.iter_mut().flatten())
        {
            if let Some(env) = c.env.as_mut() {
                let mut seen = std::collections::BTreeSet::new();
                let mut kept: Vec<_> = env
                    .iter()
                    .rev()
                    .filter(|e| seen.insert(e.name.clone()))
                    .cloned()
                    .collect();
                kept.reverse();
                *env = kept;
            }
        }
    }
    t
}

/// Where a Workload's priority comes from.
#[derive(Clone, Debug, PartialEq)]
pub struct Priority {
    /// The class it names, if any.
    pub class: Option<api::PriorityClassRef>,
    /// The value.
    pub value: i32,
}

/// The Workload for `job` in `queue` (None: unlabelled Job managed by configuration).
pub fn new_workload(job: &Job, priority: &Priority) -> api::Workload {
    let name = job.metadata.name.clone().unwrap_or_default();
    let uid = job.metadata.uid.clone().unwrap_or_default();
    let mut wl_labels = BTreeMap::new();
    if is_label_value(&uid) {
        wl_labels.insert(labels::JOB_UID.to_owned(), uid.clone());
    }
    let template = job
        .spec
        .as_ref()
        .map(|s| clean_template(&s.template))
        .unwrap_or_default();
    let spec = api::WorkloadSpec {
        pod_sets: vec![api::PodSet {
            name: keys::DEFAULT_POD_SET_NAME.into(),
            template,
            count: pod_count(job),
            min_count: min_count(job),
            topology_request: None,
        }],
        queue_name: queue_name(job).map(Into::into),
        priority_class_ref: priority.class.clone(),
        priority: Some(priority.value),
        active: None,
        maximum_execution_time_seconds: job
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get(labels::MAX_EXEC_TIME_SECONDS))
            .and_then(|v| v.parse().ok()),
        preemption_gates: Vec::new(),
    };
    api::Workload {
        metadata: ObjectMeta {
            name: Some(workload_name(&name, &uid)),
            namespace: job.metadata.namespace.clone(),
            labels: Some(wl_labels),
            finalizers: Some(vec![keys::RESOURCE_IN_USE_FINALIZER.to_owned()]),
            owner_references: Some(vec![controller_reference(job)]),
            ..ObjectMeta::default()
        },
        spec,
        status: None,
    }
}

/// The controller reference a Job's Workload carries.
pub fn controller_reference(job: &Job) -> OwnerReference {
    OwnerReference {
        api_version: "batch/v1".into(),
        kind: "Job".into(),
        name: job.metadata.name.clone().unwrap_or_default(),
        uid: job.metadata.uid.clone().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}

/// The prebuilt Workload the Job names (`kueue.x-k8s.io/prebuilt-workload-name`): the Job adopts it
/// instead of getting a Workload of its own.
pub fn prebuilt_name(job: &Job) -> Option<&str> {
    job.metadata
        .labels
        .as_ref()?
        .get(labels::PREBUILT_WORKLOAD_NAME)
        .map(String::as_str)
        .filter(|n| !n.is_empty())
}

/// The merge patch by which a Job adopts its prebuilt Workload (as Kueue: the Job becomes its
/// controller, and the `job-uid` label is set when the UID is a valid label value), guarded by the
/// Workload's resourceVersion since the owner list is replaced whole.
pub fn adopt_patch(job: &Job, wl: &api::Workload) -> serde_json::Value {
    let mut owners = wl.metadata.owner_references.clone().unwrap_or_default();
    owners.push(controller_reference(job));
    let mut meta = serde_json::json!({
        "ownerReferences": owners,
        "resourceVersion": wl.metadata.resource_version,
    });
    if let Some(uid) = job.metadata.uid.as_deref().filter(|u| is_label_value(u)) {
        meta["labels"] = serde_json::json!({ labels::JOB_UID: uid });
    }
    serde_json::json!({ "metadata": meta })
}

fn is_label_value(v: &str) -> bool {
    v.len() <= 63
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && v.chars().next().is_none_or(|c| c.is_ascii_alphanumeric())
        && v.chars().last().is_none_or(|c| c.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn job(v: serde_json::Value) -> Job {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn names_are_deterministic_per_job() {
        let a = workload_name("sample-job", "6f1c3a35-0000-4000-8000-000000000001");
        assert!(a.starts_with("job-sample-job-"), "{a}");
        assert_eq!(a.len(), "job-sample-job-".len() + 5);
        assert_eq!(
            a,
            workload_name("sample-job", "6f1c3a35-0000-4000-8000-000000000001")
        );
        assert_ne!(
            a,
            workload_name("sample-job", "6f1c3a35-0000-4000-8000-000000000002")
        );
        let long = workload_name(&"x".repeat(300), "u");
        assert_eq!(long.len(), 253);
        // Kueue's hash of "Job\nbatch\nsample\nuid-1", computed independently.
        let mut h = Sha1::new();
        h.update(b"Job\nbatch\nsample\nuid-1");
        let hex = format!("{:x}", h.finalize());
        assert_eq!(
            workload_name("sample", "uid-1"),
            format!("job-sample-{}", &hex[..5])
        );
    }

    #[test]
    fn counts_follow_parallelism_and_completions() {
        assert_eq!(pod_count(&job(json!({"spec": {"template": {}}}))), 1);
        assert_eq!(
            pod_count(&job(json!({"spec": {"parallelism": 4, "template": {}}}))),
            4
        );
        assert_eq!(
            pod_count(&job(
                json!({"spec": {"parallelism": 4, "completions": 2, "template": {}}})
            )),
            2
        );
        let j = job(
            json!({"metadata": {"annotations": {"kueue.x-k8s.io/job-min-parallelism": "2"}},
            "spec": {"parallelism": 4, "template": {}}}),
        );
        assert_eq!(min_count(&j), Some(2));
    }

    #[test]
    fn workload_from_job() {
        let j = job(json!({
            "metadata": {"name": "pi", "namespace": "team", "uid": "uid-1",
                "labels": {"kueue.x-k8s.io/queue-name": "lq", "kueue.x-k8s.io/max-exec-time-seconds": "600"}},
            "spec": {"parallelism": 3, "template": {
                "metadata": {"labels": {"job-name": "pi", "controller-uid": "uid-1", "batch.kubernetes.io/job-name": "pi", "app": "x"}},
                "spec": {"containers": [{"name": "c", "image": "i", "env": [
                    {"name": "A", "value": "1"}, {"name": "B", "value": "2"}, {"name": "A", "value": "3"}]}]}}}}));
        let p = Priority {
            class: None,
            value: 7,
        };
        let w = new_workload(&j, &p);
        assert_eq!(w.metadata.namespace.as_deref(), Some("team"));
        assert_eq!(
            w.metadata.labels.as_ref().unwrap()["kueue.x-k8s.io/job-uid"],
            "uid-1"
        );
        assert_eq!(
            w.metadata.finalizers.as_deref(),
            Some(&["kueue.x-k8s.io/resource-in-use".to_owned()][..])
        );
        let owner = &w.metadata.owner_references.as_ref().unwrap()[0];
        assert_eq!(
            (owner.kind.as_str(), owner.uid.as_str(), owner.controller),
            ("Job", "uid-1", Some(true))
        );
        assert_eq!(
            w.spec.queue_name.as_ref().map(api::LocalQueueName::as_str),
            Some("lq")
        );
        assert_eq!(w.spec.priority, Some(7));
        assert_eq!(w.spec.maximum_execution_time_seconds, Some(600));
        let ps = &w.spec.pod_sets[0];
        assert_eq!(
            (ps.name.as_str(), ps.count, ps.min_count),
            ("main", 3, None)
        );
        let l = ps
            .template
            .metadata
            .as_ref()
            .unwrap()
            .labels
            .as_ref()
            .unwrap();
        assert_eq!(
            l.keys().map(String::as_str).collect::<Vec<_>>(),
            vec!["app", "batch.kubernetes.io/job-name"]
        );
        let env = ps.template.spec.as_ref().unwrap().containers[0]
            .env
            .as_ref()
            .unwrap();
        assert_eq!(
            env.iter()
                .map(|e| (e.name.as_str(), e.value.as_deref().unwrap()))
                .collect::<Vec<_>>(),
            vec![("B", "2"), ("A", "3")]
        );
    }
}

/// A `scheduling.k8s.io/v1` PriorityClass as the resolver needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PodPriorityClass {
    /// Name.
    pub name: String,
    /// Value.
    pub value: i32,
    /// `globalDefault`.
    pub global_default: bool,
}

/// The Job's priority, in Kueue's order: the `kueue.x-k8s.io/priority-class` label's
/// WorkloadPriorityClass; else the pod template's `priorityClassName`; else the `globalDefault`
/// PriorityClass with the lowest value; else 0 without a class. A named class that does not exist
/// is an error (the Workload is not created until it does).
pub fn resolve_priority(
    job: &Job,
    workload_class: impl Fn(&str) -> Option<i32>,
    pod_classes: &[PodPriorityClass],
) -> Result<Priority, String> {
    let label = job
        .metadata
        .labels
        .as_ref()
        .and_then(|l| l.get(labels::PRIORITY_CLASS))
        .filter(|v| !v.is_empty());
    if let Some(name) = label {
        let value = workload_class(name)
            .ok_or_else(|| format!("workloadpriorityclasses.kueue.x-k8s.io {name:?} not found"))?;
        return Ok(Priority {
            class: Some(api::PriorityClassRef {
                group: api::PriorityClassGroup::Kueue,
                kind: api::PriorityClassKind::WorkloadPriorityClass,
                name: name.clone(),
            }),
            value,
        });
    }
    let pod_class = job
        .spec
        .as_ref()
        .and_then(|s| s.template.spec.as_ref())
        .and_then(|s| s.priority_class_name.as_ref())
        .filter(|v| !v.is_empty());
    let found = match pod_class {
        Some(name) => Some(
            pod_classes
                .iter()
                .find(|c| &c.name == name)
                .ok_or_else(|| format!("priorityclasses.scheduling.k8s.io {name:?} not found"))?,
        ),
        None => pod_classes
            .iter()
            .filter(|c| c.global_default)
            .min_by(|a, b| a.value.cmp(&b.value).then_with(|| a.name.cmp(&b.name))),
    };
    Ok(found.map_or(
        Priority {
            class: None,
            value: 0,
        },
        |c| Priority {
            class: Some(api::PriorityClassRef {
                group: api::PriorityClassGroup::Scheduling,
                kind: api::PriorityClassKind::PriorityClass,
                name: c.name.clone(),
            }),
            value: c.value,
        },
    ))
}
