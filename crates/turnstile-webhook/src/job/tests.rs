// Table-driven tests: long tables and by-value fixtures read best as they are.
#![allow(
    clippy::too_many_lines,
    clippy::type_complexity,
    clippy::needless_pass_by_value,
    clippy::semicolon_if_nothing_returned
)]

use serde_json::{Value, json};

use super::*;

fn job(v: Value) -> Job {
    serde_json::from_value(v).unwrap()
}

fn queued(q: &str, suspend: Option<bool>) -> Value {
    let mut spec = json!({"template": {"spec": {"containers": [{"name": "c", "image": "i"}]}}});
    if let Some(s) = suspend {
        spec["suspend"] = s.into();
    }
    json!({"metadata": {"name": "j", "labels": {"kueue.x-k8s.io/queue-name": q}}, "spec": spec})
}

/// Applies the patch the rule returns and gives the resulting object.
fn mutated(input: &Value, ctx: &JobContext) -> Value {
    let ops = default_job(&job(input.clone()), ctx);
    let mut out = input.clone();
    json_patch::patch(&mut out, &ops).unwrap();
    out
}

#[test]
fn defaulting_table() {
    struct Case {
        name: &'static str,
        input: Value,
        ctx: JobContext,
        want_suspend: Option<bool>,
        want_queue: Option<&'static str>,
        want_priority_class: Option<&'static str>,
    }
    let plain = json!({"metadata": {"name": "j"}, "spec": {"template": {}}});
    let cases = vec![
        Case {
            name: "queued job is suspended",
            input: queued("lq", None),
            ctx: JobContext::default(),
            want_suspend: Some(true),
            want_queue: Some("lq"),
            want_priority_class: None,
        },
        Case {
            name: "explicit suspend false is overridden",
            input: queued("lq", Some(false)),
            ctx: JobContext::default(),
            want_suspend: Some(true),
            want_queue: Some("lq"),
            want_priority_class: None,
        },
        Case {
            name: "already suspended stays",
            input: queued("lq", Some(true)),
            ctx: JobContext::default(),
            want_suspend: Some(true),
            want_queue: Some("lq"),
            want_priority_class: None,
        },
        Case {
            name: "an empty queue name names no queue (as Kueue): not suspended",
            input: queued("", None),
            ctx: JobContext::default(),
            want_suspend: None,
            want_queue: Some(""),
            want_priority_class: None,
        },
        Case {
            name: "an empty queue name is defaulted when a default LocalQueue exists",
            input: queued("", None),
            ctx: JobContext {
                default_local_queue_exists: true,
                ..JobContext::default()
            },
            want_suspend: Some(true),
            want_queue: Some("default"),
            want_priority_class: None,
        },
        Case {
            name: "unqueued job untouched",
            input: plain.clone(),
            ctx: JobContext::default(),
            want_suspend: None,
            want_queue: None,
            want_priority_class: None,
        },
        Case {
            name: "default LocalQueue is applied",
            input: plain.clone(),
            ctx: JobContext {
                default_local_queue_exists: true,
                ..JobContext::default()
            },
            want_suspend: Some(true),
            want_queue: Some("default"),
            want_priority_class: None,
        },
        Case {
            name: "default priority class is applied",
            input: queued("lq", None),
            ctx: JobContext {
                default_priority_class_exists: true,
                ..JobContext::default()
            },
            want_suspend: Some(true),
            want_queue: Some("lq"),
            want_priority_class: Some("default"),
        },
        Case {
            name: "manageJobsWithoutQueueName suspends unlabelled jobs",
            input: plain.clone(),
            ctx: JobContext {
                manage_jobs_without_queue_name: true,
                ..JobContext::default()
            },
            want_suspend: Some(true),
            want_queue: None,
            want_priority_class: None,
        },
        Case {
            name: "excluded namespace untouched",
            input: queued("lq", None),
            ctx: JobContext {
                namespace_excluded: true,
                default_local_queue_exists: true,
                ..JobContext::default()
            },
            want_suspend: None,
            want_queue: Some("lq"),
            want_priority_class: None,
        },
        Case {
            name: "job of another controller untouched",
            input: {
                let mut j = queued("lq", None);
                j["spec"]["managedBy"] = "example.com/other".into();
                j
            },
            ctx: JobContext::default(),
            want_suspend: None,
            want_queue: Some("lq"),
            want_priority_class: None,
        },
        Case {
            name: "MultiKueue-managed job untouched (Turnstile has no MultiKueue)",
            input: {
                let mut j = queued("lq", None);
                j["spec"]["managedBy"] = "kueue.x-k8s.io/multikueue".into();
                j
            },
            ctx: JobContext::default(),
            want_suspend: None,
            want_queue: Some("lq"),
            want_priority_class: None,
        },
        Case {
            name: "managedBy the job controller is ours",
            input: {
                let mut j = queued("lq", None);
                j["spec"]["managedBy"] = "kubernetes.io/job-controller".into();
                j
            },
            ctx: JobContext::default(),
            want_suspend: Some(true),
            want_queue: Some("lq"),
            want_priority_class: None,
        },
    ];
    for c in cases {
        let out = mutated(&c.input, &c.ctx);
        assert_eq!(
            out["spec"]["suspend"].as_bool(),
            c.want_suspend,
            "{}: {out}",
            c.name
        );
        assert_eq!(
            out["metadata"]["labels"]["kueue.x-k8s.io/queue-name"].as_str(),
            c.want_queue,
            "{}",
            c.name
        );
        assert_eq!(
            out["metadata"]["labels"]["kueue.x-k8s.io/priority-class"].as_str(),
            c.want_priority_class,
            "{}",
            c.name
        );
    }
}

#[test]
fn already_suspended_job_needs_no_patch() {
    assert!(default_job(&job(queued("lq", Some(true))), &JobContext::default()).is_empty());
}

fn errors(new: Value, old: Option<Value>, ctx: &JobContext) -> Vec<String> {
    let old = old.map(job);
    validate_job(&job(new), old.as_ref(), ctx)
        .iter()
        .map(ToString::to_string)
        .collect()
}

#[test]
fn validation_table() {
    let ctx = JobContext::default();
    let with = |mut v: Value, f: &dyn Fn(&mut Value)| {
        f(&mut v);
        v
    };
    // (name, new, old, ctx, expected substring or None for valid)
    let cases: Vec<(&str, Value, Option<Value>, JobContext, Option<&str>)> = vec![
        (
            "valid queued job",
            queued("lq", Some(true)),
            None,
            ctx.clone(),
            None,
        ),
        (
            "an empty queue name is no queue, not an invalid one",
            queued("", None),
            None,
            ctx.clone(),
            None,
        ),
        (
            "queue name must be a subdomain",
            queued("Bad_Queue", Some(true)),
            None,
            ctx.clone(),
            Some("metadata.labels[kueue.x-k8s.io/queue-name]: Invalid value: \"Bad_Queue\""),
        ),
        (
            "max exec time must be positive",
            with(queued("lq", Some(true)), &|j| {
                j["metadata"]["labels"]["kueue.x-k8s.io/max-exec-time-seconds"] = "0".into()
            }),
            None,
            ctx.clone(),
            Some("max-exec-time-seconds]: Invalid value: \"0\": should be greater than 0"),
        ),
        (
            "min parallelism within bounds",
            with(queued("lq", Some(true)), &|j| {
                j["metadata"]["annotations"] = json!({"kueue.x-k8s.io/job-min-parallelism": "5"});
                j["spec"]["parallelism"] = 3.into();
            }),
            None,
            ctx.clone(),
            Some("should be between 0 and 2"),
        ),
        (
            "completions-equal-parallelism only for Indexed",
            with(
                queued("lq", Some(true)),
                &|j| {
                    j["metadata"]["annotations"] =
                        json!({"kueue.x-k8s.io/job-completions-equal-parallelism": "true"})
                },
            ),
            None,
            ctx.clone(),
            Some("should not be enabled for NonIndexed jobs"),
        ),
        (
            "queue label can change while suspended",
            queued("other", Some(true)),
            Some(queued("lq", Some(true))),
            ctx.clone(),
            None,
        ),
        (
            "queue label immutable while running",
            queued("other", Some(false)),
            Some(queued("lq", Some(false))),
            ctx.clone(),
            Some(
                "metadata.labels[kueue.x-k8s.io/queue-name]: Invalid value: \"other\": field is immutable",
            ),
        ),
        (
            "unsuspend by a client before admission is refused",
            queued("lq", Some(false)),
            Some(queued("lq", Some(true))),
            ctx.clone(),
            Some(
                "spec.suspend: Forbidden: the Job is queued in LocalQueue \"lq\" and not admitted yet",
            ),
        ),
        (
            "unsuspend by the manager is allowed",
            queued("lq", Some(false)),
            Some(queued("lq", Some(true))),
            JobContext {
                requester_is_manager: true,
                ..ctx.clone()
            },
            None,
        ),
        (
            "unsuspend of an admitted job is allowed",
            queued("lq", Some(false)),
            Some(queued("lq", Some(true))),
            JobContext {
                workload_admitted: true,
                ..ctx.clone()
            },
            None,
        ),
        (
            "unqueued job may be unsuspended by anyone",
            json!({"metadata": {"name": "j"}, "spec": {"suspend": false}}),
            Some(json!({"metadata": {"name": "j"}, "spec": {"suspend": true}})),
            ctx.clone(),
            None,
        ),
        (
            "suspending is always allowed",
            queued("lq", Some(true)),
            Some(queued("lq", Some(false))),
            ctx.clone(),
            None,
        ),
        (
            "partial admission: the manager lowers parallelism and unsuspends in one write",
            with(queued("lq", Some(false)), &|j| {
                j["metadata"]["annotations"] = json!({"kueue.x-k8s.io/job-min-parallelism": "1"});
                j["spec"]["parallelism"] = 2.into();
            }),
            Some(with(queued("lq", Some(true)), &|j| {
                j["metadata"]["annotations"] = json!({"kueue.x-k8s.io/job-min-parallelism": "1"});
                j["spec"]["parallelism"] = 3.into();
            })),
            JobContext {
                requester_is_manager: true,
                ..ctx.clone()
            },
            None,
        ),
        (
            "partial admission: a running job cannot be resized",
            with(queued("lq", Some(false)), &|j| {
                j["metadata"]["annotations"] = json!({"kueue.x-k8s.io/job-min-parallelism": "1"});
                j["spec"]["parallelism"] = 3.into();
            }),
            Some(with(queued("lq", Some(false)), &|j| {
                j["metadata"]["annotations"] = json!({"kueue.x-k8s.io/job-min-parallelism": "1"});
                j["spec"]["parallelism"] = 2.into();
            })),
            ctx.clone(),
            Some(
                "spec.parallelism: Forbidden: cannot change when partial admission is enabled and the job is not suspended",
            ),
        ),
        (
            "partial admission: parallelism defaults to 1 on both sides",
            with(queued("lq", Some(false)), &|j| {
                j["metadata"]["annotations"] = json!({"kueue.x-k8s.io/job-min-parallelism": "1"});
                j["spec"]["parallelism"] = 1.into();
            }),
            Some(with(queued("lq", Some(false)), &|j| {
                j["metadata"]["annotations"] = json!({"kueue.x-k8s.io/job-min-parallelism": "1"});
            })),
            ctx.clone(),
            None,
        ),
        (
            "completions-equal-parallelism immutable while running",
            with(queued("lq", Some(false)), &|j| {
                j["metadata"]["annotations"] =
                    json!({"kueue.x-k8s.io/job-completions-equal-parallelism": "false"});
            }),
            Some(with(queued("lq", Some(false)), &|j| {
                j["metadata"]["annotations"] =
                    json!({"kueue.x-k8s.io/job-completions-equal-parallelism": "true"});
            })),
            ctx.clone(),
            Some(
                "metadata.annotations[kueue.x-k8s.io/job-completions-equal-parallelism]: Forbidden: field is immutable while the job is not suspended",
            ),
        ),
        (
            "priority class may change while queued",
            with(queued("lq", Some(true)), &|j| {
                j["metadata"]["labels"]["kueue.x-k8s.io/priority-class"] = "high".into()
            }),
            Some(with(queued("lq", Some(true)), &|j| {
                j["metadata"]["labels"]["kueue.x-k8s.io/priority-class"] = "low".into()
            })),
            ctx.clone(),
            None,
        ),
        (
            "priority class may change while running",
            with(queued("lq", Some(false)), &|j| {
                j["metadata"]["labels"]["kueue.x-k8s.io/priority-class"] = "high".into()
            }),
            Some(with(queued("lq", Some(false)), &|j| {
                j["metadata"]["labels"]["kueue.x-k8s.io/priority-class"] = "low".into()
            })),
            ctx.clone(),
            None,
        ),
        (
            "priority class cannot be removed (empty value)",
            with(queued("lq", Some(true)), &|j| {
                j["metadata"]["labels"]["kueue.x-k8s.io/priority-class"] = "".into()
            }),
            Some(with(queued("lq", Some(true)), &|j| {
                j["metadata"]["labels"]["kueue.x-k8s.io/priority-class"] = "low".into()
            })),
            ctx.clone(),
            Some(
                "metadata.labels[kueue.x-k8s.io/priority-class]: Invalid value: \"\": WorkloadPriorityClass cannot be removed from a workload",
            ),
        ),
        (
            "priority class cannot be removed (label deleted)",
            queued("lq", Some(true)),
            Some(with(queued("lq", Some(true)), &|j| {
                j["metadata"]["labels"]["kueue.x-k8s.io/priority-class"] = "low".into()
            })),
            ctx.clone(),
            Some("WorkloadPriorityClass cannot be removed from a workload"),
        ),
        (
            "priority class cannot be added to a running job",
            with(queued("lq", Some(false)), &|j| {
                j["metadata"]["labels"]["kueue.x-k8s.io/priority-class"] = "high".into()
            }),
            Some(queued("lq", Some(false))),
            ctx.clone(),
            Some("WorkloadPriorityClass cannot be added to a non-suspended workload"),
        ),
        (
            "excluded namespace is not validated",
            queued("Bad_Queue", Some(false)),
            Some(queued("lq", Some(true))),
            JobContext {
                namespace_excluded: true,
                ..ctx.clone()
            },
            None,
        ),
    ];
    for (name, new, old, ctx, want) in cases {
        let got = errors(new, old, &ctx);
        match want {
            None => assert!(got.is_empty(), "{name}: unexpected {got:?}"),
            Some(w) => assert!(
                got.iter().any(|e| e.contains(w)),
                "{name}: want {w:?} in {got:?}"
            ),
        }
    }
}
