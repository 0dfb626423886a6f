//! The Job reconciler's writes as data: for each decided action, the object it goes to, the body
//! and the guard that keeps it from applying to anything but the object as seen. [`plan`] is pure
//! (unit-tested here); `jobs::apply` sends what it plans.
//!
//! The guards: a Job is patched only at the resourceVersion the decision was taken from; a
//! Workload status goes through the one status protocol (`crate::workload_status`, guarded the
//! same way); a finalizer is removed only from the version seen; a delete names the UID seen (a
//! Job or Workload created since under the same name is not touched). Workload spec patches
//! (queue name, priority, pod sets, `spec.active`) are not guarded: each sets a field from its
//! current source, and a deactivation writes its status and then `spec.active` from the same
//! view (a guard would refuse the second).

use k8s_openapi::api::batch::v1::Job;
use serde_json::{Value, json};
use turnstile_api::Workload;
use turnstile_api::keys::{RESOURCE_IN_USE_FINALIZER, annotations};
use turnstile_jobs::decide::Action;

/// What a write is sent to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// The Job.
    Job,
    /// The Job's status subresource.
    JobStatus,
    /// A Workload of the Job's namespace, by name.
    Workload(String),
}

/// One write, planned.
#[derive(Clone, Debug, PartialEq)]
pub enum Write {
    /// A JSON merge patch.
    Patch {
        /// Where.
        target: Target,
        /// The patch (with `metadata.resourceVersion` when it is guarded).
        body: Value,
    },
    /// A delete in the background, with a UID precondition when the UID is known.
    Delete {
        /// Where.
        target: Target,
        /// The UID seen.
        uid: Option<String>,
    },
    /// A Workload status through the one status protocol.
    Status {
        /// The Workload.
        name: String,
        /// The resourceVersion it was decided from.
        resource_version: Option<String>,
        /// The status built by the lifecycle.
        status: Value,
    },
}

/// A planned write with how to report it: the verb and resource it counts under, what it does
/// (for errors) and the refusals that mean "nothing left to do" (e.g. 404 on a delete).
#[derive(Clone, Debug, PartialEq)]
pub struct Planned {
    /// The write.
    pub write: Write,
    /// `turnstile_api_writes_total`'s `verb` and `resource`.
    pub counted_as: (&'static str, &'static str),
    /// What it does, for an error.
    pub what: &'static str,
    /// HTTP codes that are not failures.
    pub fine: &'static [u16],
}

/// `patch` with `metadata.resourceVersion` set: the write applies only to the object as seen.
pub fn guarded(mut patch: Value, resource_version: Option<&String>) -> Value {
    if let (Some(rv), Value::Object(m)) = (resource_version, &mut patch) {
        let meta = m.entry("metadata").or_insert_with(|| json!({}));
        meta["resourceVersion"] = json!(rv);
    }
    patch
}

fn planned(
    write: Write,
    counted_as: (&'static str, &'static str),
    what: &'static str,
    fine: &'static [u16],
) -> Planned {
    Planned {
        write,
        counted_as,
        what,
        fine,
    }
}

/// The write an action makes, for the actions decided from the Job and its Workloads as seen
/// (`find` gives a Workload of the Job by name). `None` for the others: no write (an Event, a
/// requeue), a write of a Workload not seen (nothing to guard it with: skipped), or one that reads
/// more first (creating a Workload, starting or restoring a Job).
pub fn plan<'a>(
    action: &Action,
    job: Option<&Job>,
    find: impl Fn(&str) -> Option<&'a Workload>,
) -> Option<Planned> {
    let job_rv = job.and_then(|j| j.metadata.resource_version.as_ref());
    match action {
        Action::PatchWorkload { name, patch } => Some(planned(
            Write::Patch {
                target: Target::Workload(name.clone()),
                body: patch.clone(),
            },
            ("patch", "workloads"),
            "updating a Workload",
            &[],
        )),
        Action::DeleteJob => Some(planned(
            Write::Delete {
                target: Target::Job,
                uid: job?.metadata.uid.clone(),
            },
            ("delete", "jobs"),
            "deleting a Job after its deactivation retention",
            &[404],
        )),
        // 409: the UID differs, the Workload decided about is gone already.
        Action::DeleteWorkload { name } => Some(planned(
            Write::Delete {
                target: Target::Workload(name.clone()),
                uid: find(name).and_then(|w| w.metadata.uid.clone()),
            },
            ("delete", "workloads"),
            "deleting a Workload",
            &[404, 409],
        )),
        Action::SuspendJob => {
            job?;
            Some(planned(
                Write::Patch {
                    target: Target::Job,
                    body: guarded(
                        json!({"metadata": {"annotations": {annotations::STOPPING: "true"}}, "spec": {"suspend": true}}),
                        job_rv,
                    ),
                },
                ("patch", "jobs"),
                "suspending a Job",
                &[],
            ))
        }
        Action::ClearStartTime => {
            job?;
            Some(planned(
                Write::Patch {
                    target: Target::JobStatus,
                    body: guarded(json!({"status": {"startTime": null}}), job_rv),
                },
                ("patch", "jobs/status"),
                "clearing a Job's startTime",
                &[],
            ))
        }
        Action::WorkloadStatus { name, status } => Some(planned(
            Write::Status {
                name: name.clone(),
                resource_version: find(name).and_then(|w| w.metadata.resource_version.clone()),
                status: status.clone(),
            },
            ("patch", "workloads/status"),
            "writing a Workload status",
            &[],
        )),
        Action::RemoveFinalizer { name } => {
            let wl = find(name)?;
            let rest: Vec<&String> = wl
                .metadata
                .finalizers
                .iter()
                .flatten()
                .filter(|f| *f != RESOURCE_IN_USE_FINALIZER)
                .collect();
            Some(planned(
                Write::Patch {
                    target: Target::Workload(name.clone()),
                    body: guarded(
                        json!({"metadata": {"finalizers": rest}}),
                        wl.metadata.resource_version.as_ref(),
                    ),
                },
                ("patch", "workloads"),
                "removing a Workload finalizer",
                &[404],
            ))
        }
        Action::CreateWorkload(_)
        | Action::StartJob { .. }
        | Action::RestoreJob { .. }
        | Action::Event { .. }
        | Action::RequeueAfterMs(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job() -> Job {
        serde_json::from_value(json!({"metadata": {"name": "j", "namespace": "ns", "uid": "job-uid", "resourceVersion": "7"}}))
            .unwrap()
    }

    fn wl() -> Workload {
        serde_json::from_value(json!({"metadata": {"name": "w", "namespace": "ns", "uid": "wl-uid", "resourceVersion": "42",
            "finalizers": ["kueue.x-k8s.io/resource-in-use", "example.com/other"]}, "spec": {"podSets": []}}))
        .unwrap()
    }

    fn plan_of(action: &Action) -> Option<Planned> {
        let w = wl();
        let j = job();
        plan(action, Some(&j), |n| (n == "w").then_some(&w))
    }

    #[test]
    fn job_writes_are_guarded_by_the_version_seen_and_deletes_by_the_uid() {
        let p = plan_of(&Action::SuspendJob).unwrap();
        assert_eq!(
            p.write,
            Write::Patch {
                target: Target::Job,
                body: json!({"metadata": {"resourceVersion": "7", "annotations": {"kueue.x-k8s.io/stopping": "true"}}, "spec": {"suspend": true}}),
            }
        );
        assert_eq!(p.counted_as, ("patch", "jobs"));
        let p = plan_of(&Action::ClearStartTime).unwrap();
        assert_eq!(
            p.write,
            Write::Patch {
                target: Target::JobStatus,
                body: json!({"metadata": {"resourceVersion": "7"}, "status": {"startTime": null}}),
            }
        );
        let p = plan_of(&Action::DeleteJob).unwrap();
        assert_eq!(
            p.write,
            Write::Delete {
                target: Target::Job,
                uid: Some("job-uid".into())
            }
        );
        assert_eq!(p.fine, &[404]);
        // No Job: nothing to write to.
        assert!(plan(&Action::SuspendJob, None, |_| None).is_none());
        assert!(plan(&Action::DeleteJob, None, |_| None).is_none());
    }

    #[test]
    fn workload_writes_carry_the_version_or_uid_seen() {
        let status = json!({"conditions": []});
        let p = plan_of(&Action::WorkloadStatus {
            name: "w".into(),
            status: status.clone(),
        })
        .unwrap();
        assert_eq!(
            p.write,
            Write::Status {
                name: "w".into(),
                resource_version: Some("42".into()),
                status
            }
        );
        assert!(
            p.fine.is_empty(),
            "a stale status is refused and decided again"
        );
        let p = plan_of(&Action::DeleteWorkload { name: "w".into() }).unwrap();
        assert_eq!(
            p.write,
            Write::Delete {
                target: Target::Workload("w".into()),
                uid: Some("wl-uid".into())
            }
        );
        assert_eq!(p.fine, &[404, 409], "gone, or another Workload by now");
        let p = plan_of(&Action::RemoveFinalizer { name: "w".into() }).unwrap();
        assert_eq!(
            p.write,
            Write::Patch {
                target: Target::Workload("w".into()),
                body: json!({"metadata": {"resourceVersion": "42", "finalizers": ["example.com/other"]}}),
            }
        );
        assert!(
            plan_of(&Action::RemoveFinalizer {
                name: "gone".into()
            })
            .is_none(),
            "a Workload not seen is not written"
        );
        // Spec patches are sent as decided (not guarded; see the module doc).
        let patch = json!({"spec": {"active": false}});
        let p = plan_of(&Action::PatchWorkload {
            name: "w".into(),
            patch: patch.clone(),
        })
        .unwrap();
        assert_eq!(
            p.write,
            Write::Patch {
                target: Target::Workload("w".into()),
                body: patch
            }
        );
    }

    #[test]
    fn actions_that_read_more_or_write_nothing_are_not_planned() {
        for a in [
            Action::StartJob {
                workload: "w".into(),
            },
            Action::RestoreJob {
                workload: "w".into(),
            },
            Action::RequeueAfterMs(5),
            Action::Event {
                warning: false,
                reason: "R",
                note: String::new(),
            },
        ] {
            assert!(plan_of(&a).is_none(), "{a:?}");
        }
    }
}
