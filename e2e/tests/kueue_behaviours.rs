//! batch/v1 Job behaviours that Kueue's own e2e suite checks, each with real Jobs on the plane (one
//! manager; one namespace and ClusterQueue per scenario, run side by side):
//! * `partial`: a Job with `kueue.x-k8s.io/job-min-parallelism` that fits only partly is admitted
//!   with fewer pods, started with that parallelism, and completes (the start patch lowers
//!   parallelism and unsuspends in one write, which the Job webhook must allow);
//! * `priority`: the priority-class label may change while the Job waits (the Workload's priority
//!   follows), may not be emptied (403 Forbidden), neither while waiting nor while running;
//! * `prebuilt`: a Job naming a prebuilt Workload adopts it (no Workload of its own), runs under it
//!   and finishes it;
//! * `orphan`: a running Job deleted with `propagationPolicy: Orphan` leaves its Workload finished
//!   (`OwnerNotFound`) without finalizer;
//! * `defaulting`: a Job without a queue label in a namespace with a LocalQueue `default` is queued
//!   there, and gets no priority class although a WorkloadPriorityClass `default` exists (Kueue's
//!   defaulting gate is off by default); a Job managed by MultiKueue is left alone;
//! * `reclaim`: pods that succeeded and will not be replaced give their quota back while the Job
//!   still runs (`status.reclaimablePods`), so a waiting Job is admitted before the first completes;
//! * `checks`: a ClusterQueue naming a missing AdmissionCheck is inactive (`AdmissionCheckNotFound`);
//!   once the check exists and is active, a Job's Workload reserves quota but the Job stays
//!   suspended until the check is `Ready` (its `podSetUpdates` land in the Job); `Rejected` then
//!   deactivates the Workload and suspends the Job;
//! * `stuck`: a Job whose Workload cannot be created (a ResourceQuota allows no Workloads) says why
//!   on the Job (Warning `ReconcileFailed` with the API's message).

// Test code: failures are panics.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::too_many_lines,
    clippy::needless_pass_by_value
)]

use std::time::Duration;

use k8s_openapi::api::batch::v1::Job;
use kube::Client;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams, PropagationPolicy};
use serde_json::json;
use turnstile_api::Workload;
use turnstile_e2e::jobs::{OPT_IN, cond, get_job, is_true, job, of_job, pods_of, setup};
use turnstile_e2e::{Harness, ManagerProcess, TestNs, UrlWebhooks, free_port, wait_for};

const WAIT: Duration = Duration::from_mins(1);

fn with_spec(mut j: Job, f: impl FnOnce(&mut k8s_openapi::api::batch::v1::JobSpec)) -> Job {
    f(j.spec.as_mut().unwrap());
    j
}

/// The Workload of Job `name` once `pred` holds for it.
async fn workload_of(
    ns: &TestNs,
    name: &str,
    what: &str,
    pred: impl Fn(&Workload) -> bool,
) -> Workload {
    wait_for(WAIT, what, || {
        let ns = ns.clone();
        let pred = &pred;
        async move {
            let all = turnstile_e2e::list_workloads(&ns).await.ok()?;
            of_job(&all, name).filter(|w| pred(w)).cloned()
        }
    })
    .await
    .unwrap()
}

async fn job_until(ns: &TestNs, name: &str, what: &str, pred: impl Fn(&Job) -> bool) -> Job {
    wait_for(WAIT, what, || {
        let ns = ns.clone();
        let pred = &pred;
        async move {
            let j = get_job(&ns, name).await;
            pred(&j).then_some(j)
        }
    })
    .await
    .unwrap()
}

fn forbidden<T: std::fmt::Debug>(r: Result<T, kube::Error>) -> String {
    match r {
        Err(kube::Error::Api(s)) if s.code == 403 => s.message,
        other => panic!("want 403 Forbidden, got {other:?}"),
    }
}

async fn partial(ns: TestNs, user: Client, cq: String, flavor: String) {
    // 2 cpu of quota; the Job asks for 3 pods of 1 cpu, at least 1.
    setup(&ns, &cq, &flavor, "2", json!({})).await;
    let jobs: Api<Job> = Api::namespaced(user, &ns.name);
    let mut j = with_spec(job("p", "1", "2s", &json!({}), &json!({})), |s| {
        s.parallelism = Some(3);
        s.completions = Some(4);
    });
    j.metadata.annotations = Some(
        [(
            "kueue.x-k8s.io/job-min-parallelism".to_owned(),
            "1".to_owned(),
        )]
        .into(),
    );
    jobs.create(&PostParams::default(), &j).await.unwrap();
    let w = workload_of(&ns, "p", "p admitted with 2 of 3 pods", |w| {
        is_true(w, "Admitted")
    })
    .await;
    let psa = &w
        .status
        .as_ref()
        .unwrap()
        .admission
        .as_ref()
        .unwrap()
        .pod_set_assignments[0];
    assert_eq!(psa.count, Some(2));
    let started = job_until(&ns, "p", "p started", |j| {
        j.spec.as_ref().unwrap().suspend == Some(false)
    })
    .await;
    assert_eq!(
        started.spec.as_ref().unwrap().parallelism,
        Some(2),
        "parallelism lowered to the admitted count"
    );
    assert_eq!(started.spec.as_ref().unwrap().completions, Some(4));
    job_until(&ns, "p", "p completed", turnstile_e2e::jobs::complete).await;
    let w = workload_of(&ns, "p", "p's Workload finished", |w| {
        is_true(w, "Finished")
    })
    .await;
    assert_eq!(cond(&w, "Finished").unwrap().reason, "Succeeded");
    let all = turnstile_e2e::list_workloads(&ns).await.unwrap();
    assert_eq!(all.len(), 1, "one Workload all along: {:?}", all.keys());
    // A running Job with partial admission cannot be resized by a user.
}

async fn priority(
    ns: TestNs,
    user: Client,
    cq: String,
    flavor: String,
    (low, high): (String, String),
) {
    setup(&ns, &cq, &flavor, "1", json!({})).await;
    let jobs: Api<Job> = Api::namespaced(user, &ns.name);
    let pp = PostParams::default();
    let runner = job(
        "run",
        "1",
        "20s",
        &json!({"kueue.x-k8s.io/priority-class": low}),
        &json!({}),
    );
    jobs.create(&pp, &runner).await.unwrap();
    job_until(&ns, "run", "run started", |j| {
        j.spec.as_ref().unwrap().suspend == Some(false)
    })
    .await;
    let waiter = job(
        "wait",
        "1",
        "1s",
        &json!({"kueue.x-k8s.io/priority-class": low}),
        &json!({}),
    );
    jobs.create(&pp, &waiter).await.unwrap();
    workload_of(&ns, "wait", "wait's Workload with the low priority", |w| {
        w.spec.priority == Some(10)
    })
    .await;
    // Raised while waiting: the Workload follows.
    let raise = json!({"metadata": {"labels": {"kueue.x-k8s.io/priority-class": high}}});
    jobs.patch("wait", &PatchParams::default(), &Patch::Merge(&raise))
        .await
        .unwrap();
    let w = workload_of(&ns, "wait", "wait's Workload raised", |w| {
        w.spec.priority == Some(1000)
    })
    .await;
    assert_eq!(
        w.spec.priority_class_ref.as_ref().map(|r| r.name.as_str()),
        Some(high.as_str())
    );
    assert!(
        !is_true(&w, "QuotaReserved"),
        "still waiting (no preemption configured)"
    );
    // Never removed: not while waiting, not while running.
    let empty = json!({"metadata": {"labels": {"kueue.x-k8s.io/priority-class": ""}}});
    for name in ["wait", "run"] {
        let msg = forbidden(
            jobs.patch(name, &PatchParams::default(), &Patch::Merge(&empty))
                .await,
        );
        assert!(
            msg.contains("WorkloadPriorityClass cannot be removed from a workload"),
            "{msg}"
        );
    }
    job_until(
        &ns,
        "wait",
        "wait runs after run",
        turnstile_e2e::jobs::complete,
    )
    .await;
}

async fn prebuilt(ns: TestNs, user: Client, cq: String, flavor: String) {
    setup(&ns, &cq, &flavor, "1", json!({})).await;
    let j = job(
        "pb",
        "1",
        "2s",
        &json!({"kueue.x-k8s.io/prebuilt-workload-name": "pre"}),
        &json!({}),
    );
    let jobs: Api<Job> = Api::namespaced(user.clone(), &ns.name);
    let created = jobs.create(&PostParams::default(), &j).await.unwrap();
    assert_eq!(created.spec.as_ref().unwrap().suspend, Some(true));
    // The Workload appears after the Job: the Job waits for it, suspended, without a Workload of its own.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        turnstile_e2e::list_workloads(&ns).await.unwrap().is_empty(),
        "no Workload made for a prebuilt Job"
    );
    let template = created.spec.as_ref().unwrap().template.clone();
    let pre = json!({"apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "Workload",
        "metadata": {"name": "pre", "finalizers": ["kueue.x-k8s.io/resource-in-use"]},
        "spec": {"queueName": "lq", "podSets": [{"name": "main", "count": 1, "template": {"spec": template.spec}}]}});
    ns.apply_doc(&pre).await.unwrap();
    let w = workload_of(&ns, "pb", "pre adopted and admitted", |w| {
        is_true(w, "Admitted")
    })
    .await;
    assert_eq!(w.metadata.name.as_deref(), Some("pre"));
    assert_eq!(
        w.metadata
            .labels
            .as_ref()
            .and_then(|l| l.get("kueue.x-k8s.io/job-uid")),
        created.metadata.uid.as_ref()
    );
    job_until(&ns, "pb", "pb completed", turnstile_e2e::jobs::complete).await;
    let w = workload_of(&ns, "pb", "pre finished", |w| is_true(w, "Finished")).await;
    assert_eq!(cond(&w, "Finished").unwrap().reason, "Succeeded");
    assert_eq!(turnstile_e2e::list_workloads(&ns).await.unwrap().len(), 1);
}

async fn orphan(ns: TestNs, user: Client, cq: String, flavor: String) {
    setup(&ns, &cq, &flavor, "1", json!({})).await;
    let jobs: Api<Job> = Api::namespaced(user, &ns.name);
    jobs.create(
        &PostParams::default(),
        &job("o", "1", "60s", &json!({}), &json!({})),
    )
    .await
    .unwrap();
    let w = workload_of(&ns, "o", "o admitted", |w| is_true(w, "Admitted")).await;
    let wl_name = w.metadata.name.clone().unwrap();
    job_until(&ns, "o", "o running", |j| {
        j.spec.as_ref().unwrap().suspend == Some(false)
    })
    .await;
    let dp = DeleteParams {
        propagation_policy: Some(PropagationPolicy::Orphan),
        ..DeleteParams::default()
    };
    jobs.delete("o", &dp).await.unwrap();
    let api: Api<Workload> = Api::namespaced(ns.client(), &ns.name);
    let w = wait_for(
        WAIT,
        "the orphaned Workload finished, finalizer gone",
        || {
            let api = api.clone();
            let name = wl_name.clone();
            async move {
                let w = api.get(&name).await.ok()?;
                (is_true(&w, "Finished")
                    && w.metadata.finalizers.as_ref().is_none_or(Vec::is_empty))
                .then_some(w)
            }
        },
    )
    .await
    .unwrap();
    assert_eq!(cond(&w, "Finished").unwrap().reason, "OwnerNotFound");
    // The orphaned pods are the user's now; the quota is free again.
    let _ = pods_of(&ns, "o").await;
}

async fn defaulting(ns: TestNs, user: Client, cq: String, flavor: String) {
    setup(&ns, &cq, &flavor, "1", json!({})).await;
    ns.apply_doc(
        &json!({"apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "LocalQueue",
        "metadata": {"name": "default"}, "spec": {"clusterQueue": cq}}),
    )
    .await
    .unwrap();
    let jobs: Api<Job> = Api::namespaced(user, &ns.name);
    let mut unlabelled = job("d", "1", "1s", &json!({}), &json!({}));
    unlabelled
        .metadata
        .labels
        .as_mut()
        .unwrap()
        .remove("kueue.x-k8s.io/queue-name");
    let created = jobs
        .create(&PostParams::default(), &unlabelled)
        .await
        .unwrap();
    assert_eq!(
        created
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get("kueue.x-k8s.io/queue-name"))
            .map(String::as_str),
        Some("default"),
        "queued in the namespace's LocalQueue default"
    );
    assert_eq!(created.spec.as_ref().unwrap().suspend, Some(true));
    // A WorkloadPriorityClass named `default` exists, but Kueue's WorkloadPriorityClassDefaulting
    // gate is off by default: no priority-class label is added.
    assert_eq!(
        created
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get("kueue.x-k8s.io/priority-class")),
        None
    );
    let w = workload_of(&ns, "d", "d admitted through LocalQueue default", |w| {
        is_true(w, "Admitted")
    })
    .await;
    assert_eq!(
        w.spec
            .queue_name
            .as_ref()
            .map(ToString::to_string)
            .as_deref(),
        Some("default")
    );
    job_until(&ns, "d", "d completed", turnstile_e2e::jobs::complete).await;

    // MultiKueue-managed: not Turnstile's (no MultiKueue here).
    let mk = with_spec(job("mk", "1", "1s", &json!({}), &json!({})), |s| {
        s.managed_by = Some("kueue.x-k8s.io/multikueue".into());
    });
    let created = jobs.create(&PostParams::default(), &mk).await.unwrap();
    assert_ne!(
        created.spec.as_ref().unwrap().suspend,
        Some(true),
        "not suspended by the webhook"
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    let all = turnstile_e2e::list_workloads(&ns).await.unwrap();
    assert!(
        of_job(&all, "mk").is_none(),
        "no Workload for a MultiKueue Job"
    );
}

async fn reclaim(ns: TestNs, user: Client, cq: String, flavor: String) {
    // 2 cpu; `a` runs 2 pods at a time for 3 completions (1 cpu each, 6 s per pod): after the first
    // two succeed only one pod is still needed, so 1 cpu is reclaimable while the third runs.
    setup(&ns, &cq, &flavor, "2", json!({})).await;
    let jobs: Api<Job> = Api::namespaced(user, &ns.name);
    let a = with_spec(job("a", "1", "6s", &json!({}), &json!({})), |s| {
        s.parallelism = Some(2);
        s.completions = Some(3);
    });
    jobs.create(&PostParams::default(), &a).await.unwrap();
    job_until(&ns, "a", "a started", |j| {
        j.spec.as_ref().unwrap().suspend == Some(false)
    })
    .await;
    jobs.create(
        &PostParams::default(),
        &job("b", "1", "1s", &json!({}), &json!({})),
    )
    .await
    .unwrap();
    let wa = workload_of(&ns, "a", "a reports a reclaimable pod", |w| {
        w.status
            .as_ref()
            .is_some_and(|s| s.reclaimable_pods.iter().any(|r| r.count == 1))
    })
    .await;
    assert!(is_true(&wa, "QuotaReserved"));
    let wb = workload_of(&ns, "b", "b admitted on the reclaimed cpu", |w| {
        is_true(w, "QuotaReserved")
    })
    .await;
    let b_reserved = cond(&wb, "QuotaReserved").unwrap().last_transition_time.0;
    let a_done = job_until(&ns, "a", "a completed", turnstile_e2e::jobs::complete).await;
    let a_completed = a_done
        .status
        .unwrap()
        .conditions
        .unwrap()
        .into_iter()
        .find(|c| c.type_ == "Complete")
        .unwrap()
        .last_transition_time
        .unwrap()
        .0;
    assert!(
        b_reserved < a_completed,
        "b reserved at {b_reserved}, a completed at {a_completed}"
    );
}

async fn checks(ns: TestNs, user: Client, cq: String, flavor: String, check: String) {
    setup(&ns, &cq, &flavor, "1", json!({})).await;
    let cqs: Api<turnstile_api::ClusterQueue> = Api::all(ns.client());
    let strategy =
        json!({"spec": {"admissionChecksStrategy": {"admissionChecks": [{"name": check}]}}});
    cqs.patch(&cq, &PatchParams::default(), &Patch::Merge(&strategy))
        .await
        .unwrap();
    let active_reason = |c: turnstile_api::ClusterQueue| {
        c.status
            .and_then(|s| s.conditions.into_iter().find(|c| c.type_ == "Active"))
            .map(|c| (c.status, c.reason))
    };
    wait_for(
        WAIT,
        "the ClusterQueue inactive: AdmissionCheckNotFound",
        || {
            let cqs = cqs.clone();
            let cq = cq.clone();
            async move {
                let c = cqs.get(&cq).await.ok()?;
                (active_reason(c)? == ("False".to_owned(), "AdmissionCheckNotFound".to_owned()))
                    .then_some(())
            }
        },
    )
    .await
    .unwrap();
    let acs: Api<turnstile_api::AdmissionCheck> = Api::all(ns.client());
    let ac: turnstile_api::AdmissionCheck = serde_json::from_value(
        json!({"metadata": {"name": check}, "spec": {"controllerName": "e2e.turnstile.dev/check"}}),
    )
    .unwrap();
    acs.create(&PostParams::default(), &ac).await.unwrap();
    let active = json!({"status": {"conditions": [{"type": "Active", "status": "True", "reason": "Active",
        "message": "ready", "lastTransitionTime": "2026-12-05T00:00:00Z"}]}});
    acs.patch_status(&check, &PatchParams::default(), &Patch::Merge(&active))
        .await
        .unwrap();
    wait_for(WAIT, "the ClusterQueue active again", || {
        let cqs = cqs.clone();
        let cq = cq.clone();
        async move {
            let c = cqs.get(&cq).await.ok()?;
            (active_reason(c)?.0 == "True").then_some(())
        }
    })
    .await
    .unwrap();

    let jobs: Api<Job> = Api::namespaced(user, &ns.name);
    jobs.create(
        &PostParams::default(),
        &job("c", "1", "60s", &json!({}), &json!({})),
    )
    .await
    .unwrap();
    let w = workload_of(&ns, "c", "c reserved with its check Pending", |w| {
        is_true(w, "QuotaReserved")
            && w.status.as_ref().is_some_and(|s| {
                s.admission_checks.iter().any(|c| {
                    c.name.as_str() == check && c.state == turnstile_api::CheckState::Pending
                })
            })
    })
    .await;
    assert!(
        !is_true(&w, "Admitted"),
        "not admitted before the check is Ready"
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        get_job(&ns, "c").await.spec.unwrap().suspend,
        Some(true),
        "held while the check is Pending"
    );
    // The check's controller says Ready, with a pod set update.
    let wls: Api<Workload> = Api::namespaced(ns.client(), &ns.name);
    let name = w.metadata.name.clone().unwrap();
    let set_state = |state: &str| {
        json!({"status": {"admissionChecks": [{"name": check, "state": state, "message": "from e2e",
            "lastTransitionTime": "2026-12-05T00:00:00Z",
            "podSetUpdates": [{"name": "main", "labels": {"e2e.turnstile.dev/checked": "yes"}}]}]}})
    };
    wls.patch_status(
        &name,
        &PatchParams::default(),
        &Patch::Merge(&set_state("Ready")),
    )
    .await
    .unwrap();
    let started = job_until(&ns, "c", "c started once the check is Ready", |j| {
        j.spec.as_ref().unwrap().suspend == Some(false)
    })
    .await;
    let labels = started
        .spec
        .unwrap()
        .template
        .metadata
        .unwrap()
        .labels
        .unwrap();
    assert_eq!(
        labels.get("e2e.turnstile.dev/checked").map(String::as_str),
        Some("yes"),
        "podSetUpdates applied"
    );
    assert!(is_true(&wls.get(&name).await.unwrap(), "Admitted"));
    // Rejected: the Workload is deactivated and the Job suspended.
    wls.patch_status(
        &name,
        &PatchParams::default(),
        &Patch::Merge(&set_state("Rejected")),
    )
    .await
    .unwrap();
    job_until(&ns, "c", "c suspended after the rejection", |j| {
        j.spec.as_ref().unwrap().suspend == Some(true)
    })
    .await;
    let w = wait_for(WAIT, "c's Workload deactivated and released", || {
        let wls = wls.clone();
        let name = name.clone();
        async move {
            let w = wls.get(&name).await.ok()?;
            (!w.spec.is_active() && !is_true(&w, "QuotaReserved")).then_some(w)
        }
    })
    .await
    .unwrap();
    assert_eq!(
        cond(&w, "Evicted").unwrap().reason,
        "DeactivatedDueToAdmissionCheck"
    );
}

async fn stuck(ns: TestNs, user: Client, cq: String, flavor: String) {
    setup(&ns, &cq, &flavor, "1", json!({})).await;
    let rq: k8s_openapi::api::core::v1::ResourceQuota = serde_json::from_value(json!({
        "metadata": {"name": "no-workloads"},
        "spec": {"hard": {"count/workloads.kueue.x-k8s.io": "0"}}}))
    .unwrap();
    Api::<k8s_openapi::api::core::v1::ResourceQuota>::namespaced(ns.client(), &ns.name)
        .create(&PostParams::default(), &rq)
        .await
        .unwrap();
    // The quota is in force once its status is set (the admission refuses the Workload as
    // "exceeded quota", or "status unknown" until the quota controller has counted this kind:
    // either message names the quota).
    wait_for(WAIT, "the ResourceQuota to be in force", || {
        let ns = ns.clone();
        async move {
            let rq =
                Api::<k8s_openapi::api::core::v1::ResourceQuota>::namespaced(ns.client(), &ns.name)
                    .get("no-workloads")
                    .await
                    .ok()?;
            rq.status?
                .hard?
                .contains_key("count/workloads.kueue.x-k8s.io")
                .then_some(())
        }
    })
    .await
    .unwrap();
    let jobs: Api<Job> = Api::namespaced(user, &ns.name);
    jobs.create(
        &PostParams::default(),
        &job("s", "1", "1s", &json!({}), &json!({})),
    )
    .await
    .unwrap();
    let events: Api<k8s_openapi::api::events::v1::Event> = Api::namespaced(ns.client(), &ns.name);
    let note = wait_for(WAIT, "a ReconcileFailed Warning on the Job", || {
        let events = events.clone();
        async move {
            let list = events.list(&kube::api::ListParams::default()).await.ok()?;
            list.items.into_iter().find_map(|e| {
                (e.reason.as_deref() == Some("ReconcileFailed")
                    && e.type_.as_deref() == Some("Warning")
                    && e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some("s"))
                .then(|| e.note.unwrap_or_default())
            })
        }
    })
    .await
    .unwrap();
    assert!(
        note.contains("creating a Workload") && note.contains("no-workloads"),
        "{note}"
    );
    assert_eq!(get_job(&ns, "s").await.spec.unwrap().suspend, Some(true));
}

#[tokio::test]
async fn kueue_job_behaviours() {
    let h = Harness::get().await.expect("control plane");
    let id = std::process::id();
    let port = free_port();
    let hooks = UrlWebhooks::register(&h, "e2e-kb", port, OPT_IN).await;
    let flavor = format!("e2e-kb-od-{id}");
    let (low, high) = (format!("e2e-kb-low-{id}"), format!("e2e-kb-high-{id}"));
    let names = [
        "partial",
        "priority",
        "prebuilt",
        "orphan",
        "defaulting",
        "stuck",
        "reclaim",
        "checks",
    ];
    let cqs: Vec<String> = names.iter().map(|n| format!("e2e-kb-{n}-{id}")).collect();
    let mut cleanup = hooks.cleanup();
    cleanup.extend(cqs.iter().map(|c| format!("clusterqueue/{c}")));
    let check = format!("e2e-kb-check-{id}");
    cleanup.extend([
        format!("admissioncheck/{check}"),
        format!("resourceflavor/{flavor}"),
        format!("workloadpriorityclass/{low}"),
        format!("workloadpriorityclass/{high}"),
        "workloadpriorityclass/default".to_owned(),
    ]);
    let _cleanup = turnstile_e2e::Cleanup(h.clone(), cleanup);
    let mut args = hooks.manager_args(port);
    args.extend(["--identity".to_owned(), "e2e-kb".to_owned()]);
    let _manager = ManagerProcess::start(&h, &args, vec![]).await;
    let user = h.client_as(&hooks.user).await.unwrap();
    turnstile_e2e::jobs::flavor_and_priority_classes(
        &h.client,
        &flavor,
        &[(&low, 10), (&high, 1000), ("default", 5)],
    )
    .await;
    // Give the manager's caches a moment to see the classes (the defaulting check relies on it).
    tokio::time::sleep(Duration::from_secs(1)).await;
    let labels = json!({OPT_IN.0: OPT_IN.1});
    let f = || flavor.clone();
    tokio::join!(
        h.run_labelled("kb-partial", labels.clone(), {
            let (u, cq, fl) = (user.clone(), cqs[0].clone(), f());
            move |ns| partial(ns, u, cq, fl)
        }),
        h.run_labelled("kb-priority", labels.clone(), {
            let (u, cq, fl, pcs) = (
                user.clone(),
                cqs[1].clone(),
                f(),
                (low.clone(), high.clone()),
            );
            move |ns| priority(ns, u, cq, fl, pcs)
        }),
        h.run_labelled("kb-prebuilt", labels.clone(), {
            let (u, cq, fl) = (user.clone(), cqs[2].clone(), f());
            move |ns| prebuilt(ns, u, cq, fl)
        }),
        h.run_labelled("kb-orphan", labels.clone(), {
            let (u, cq, fl) = (user.clone(), cqs[3].clone(), f());
            move |ns| orphan(ns, u, cq, fl)
        }),
        h.run_labelled("kb-defaulting", labels.clone(), {
            let (u, cq, fl) = (user.clone(), cqs[4].clone(), f());
            move |ns| defaulting(ns, u, cq, fl)
        }),
        h.run_labelled("kb-stuck", labels.clone(), {
            let (u, cq, fl) = (user.clone(), cqs[5].clone(), f());
            move |ns| stuck(ns, u, cq, fl)
        }),
        h.run_labelled("kb-reclaim", labels.clone(), {
            let (u, cq, fl) = (user.clone(), cqs[6].clone(), f());
            move |ns| reclaim(ns, u, cq, fl)
        }),
        h.run_labelled("kb-checks", labels, {
            let (u, cq, fl, ac) = (user.clone(), cqs[7].clone(), f(), check.clone());
            move |ns| checks(ns, u, cq, fl, ac)
        }),
    );
}
