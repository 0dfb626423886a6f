//! batch/v1 Jobs end to end on the real plane: the apiserver calls Turnstile's webhook over TLS
//! (Jobs are stored suspended), the manager creates their Workloads, admits them, writes the
//! flavor's nodeSelector and unsuspends; kube-controller-manager's Job controller makes the pods,
//! kube-scheduler places them on kwok nodes, kwok runs them to completion or failure.
//!
//! One manager (webhook + scheduler + Job reconciler) with a Kueue Configuration file;
//! three scenarios run side by side, each in its own namespace (and ClusterQueue):
//! * `refused`: a ResourceQuota of zero Workloads makes the Workload's creation fail: a Warning
//!   Event `FailedToCreateWorkload` on the Job says why, and the Workload appears once it is lifted;
//!   the queue label removed from the suspended Job, its Workload is deleted.
//! * `seq`: Jobs wait suspended (no pods) while the quota is used, run one at a time on the
//!   flavor's nodes only, succeed or fail, free the quota for the next; no pod is created before
//!   its Workload's admission; a quota raise admits a waiting Job at once.
//! * `preempt`: a high-priority Job preempts a running low-priority one, which is suspended with
//!   its template restored, re-admitted later, and completes.
//!
//! The waitForPodsReady timeout, backoff and deactivation are in `podsready.rs` (their own
//! manager, with a short timeout).

// Test code: failures are panics.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::too_many_lines,
    clippy::needless_pass_by_value,
    // Metric counts are small integers, exact in an f64.
    clippy::float_cmp
)]

use std::time::Duration;

use k8s_openapi::api::batch::v1::Job;
use kube::Client;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use serde_json::json;
use turnstile_api::Workload;
use turnstile_e2e::jobs::{
    OPT_IN, cond, get_job, is_true, job, of_job, pods_of, queue_objects, reserved, setup,
};
use turnstile_e2e::{Harness, ManagerProcess, TestNs, UrlWebhooks, free_port, wait_for};

const WAIT: Duration = Duration::from_mins(1);

/// Every pod of `job` was created no earlier than its Workload's reservation, and runs on a node
/// of the on-demand flavor.
async fn pods_after_admission_on_flavor_nodes(ns: &TestNs, job: &str, wl: &Workload) {
    let admitted = cond(wl, "QuotaReserved")
        .map(|c| c.last_transition_time.0)
        .unwrap();
    let pods = pods_of(ns, job).await;
    assert!(!pods.is_empty(), "{job} has pods");
    for p in pods {
        let created = p.metadata.creation_timestamp.as_ref().unwrap().0;
        assert!(
            created >= admitted,
            "pod {:?} of {job} created at {created} before admission at {admitted}",
            p.metadata.name
        );
        let node = p
            .spec
            .as_ref()
            .and_then(|s| s.node_name.clone())
            .unwrap_or_default();
        assert!(
            node.starts_with("kwok-ondemand-"),
            "pod of {job} on {node}, not an on-demand node"
        );
    }
}

async fn sequence(ns: TestNs, user: Client, cq: String, flavor: String) {
    setup(&ns, &cq, &flavor, "1", json!({})).await;
    let finalizers = ns
        .harness
        .kubectl(&[
            "get",
            "clusterqueue",
            &cq,
            "-o",
            "jsonpath={.metadata.finalizers}",
        ])
        .unwrap();
    assert!(
        finalizers.contains("kueue.x-k8s.io/resource-in-use"),
        "{finalizers}"
    );
    let jobs: Api<Job> = Api::namespaced(user, &ns.name);
    let pp = PostParams::default();
    let none = json!({});
    for (name, delay, pod_labels) in [
        ("a", "3s", json!({})),
        ("f", "1s", json!({"e2e.turnstile.dev/fail": "true"})),
        ("b", "2s", json!({})),
    ] {
        let created = jobs
            .create(&pp, &job(name, "1", delay, &none, &pod_labels))
            .await
            .unwrap();
        assert_eq!(
            created.spec.as_ref().and_then(|s| s.suspend),
            Some(true),
            "the webhook suspends queued Jobs"
        );
    }
    // One Job at a time holds the quota; the others wait suspended, without pods.
    wait_for(
        Duration::from_secs(90),
        "a, f, b finished one after the other",
        || {
            let ns = ns.clone();
            async move {
                // Pods and Jobs first, Workloads after: a pod or a running Job seen now must
                // belong to a Workload whose admission is visible by the later read.
                let mut started = Vec::new();
                for j in ["a", "f", "b"] {
                    let has_pods = !pods_of(&ns, j).await.is_empty();
                    let running = get_job(&ns, j).await.spec.and_then(|s| s.suspend) != Some(true);
                    if has_pods || running {
                        started.push(j);
                    }
                }
                let all = turnstile_e2e::list_workloads(&ns).await.ok()?;
                for j in started {
                    assert!(
                        of_job(&all, j).is_some_and(|w| is_true(w, "QuotaReserved")),
                        "{j} has pods or runs without an admitted Workload"
                    );
                }
                let holding: Vec<&str> = ["a", "f", "b"]
                    .into_iter()
                    .filter(|j| of_job(&all, j).is_some_and(reserved))
                    .collect();
                assert!(
                    holding.len() <= 1,
                    "more than the quota admitted: {holding:?}"
                );
                ["a", "f", "b"]
                    .iter()
                    .all(|j| of_job(&all, j).is_some_and(|w| is_true(w, "Finished")))
                    .then_some(())
            }
        },
    )
    .await
    .unwrap();
    let all = turnstile_e2e::list_workloads(&ns).await.unwrap();
    for (j, reason) in [("a", "Succeeded"), ("f", "Failed"), ("b", "Succeeded")] {
        let w = of_job(&all, j).unwrap();
        assert_eq!(cond(w, "Finished").unwrap().reason, reason, "{j}");
        pods_after_admission_on_flavor_nodes(&ns, j, w).await;
        // The Job got the flavor's nodeSelector and Kueue's pod labels.
        let job = get_job(&ns, j).await;
        let template = job.spec.as_ref().unwrap().template.clone();
        assert_eq!(
            template
                .spec
                .as_ref()
                .unwrap()
                .node_selector
                .as_ref()
                .and_then(|n| n.get("instance-type"))
                .map(String::as_str),
            Some("on-demand")
        );
        let labels = template
            .metadata
            .as_ref()
            .unwrap()
            .labels
            .clone()
            .unwrap_or_default();
        assert_eq!(
            labels.get("kueue.x-k8s.io/podset").map(String::as_str),
            Some("main")
        );
        assert_eq!(
            labels
                .get("kueue.x-k8s.io/local-queue-name")
                .map(String::as_str),
            Some("lq")
        );
        // Its Workload lets go once finished (finalizer removed), PodsReady went True.
        assert!(
            w.metadata
                .finalizers
                .iter()
                .flatten()
                .all(|f| f != "kueue.x-k8s.io/resource-in-use"),
            "{j}: finalizer still there"
        );
        if j != "f" {
            assert_eq!(
                cond(w, "PodsReady").map(|c| c.reason.as_str()),
                Some("Started"),
                "{j}"
            );
        }
    }
    let created = turnstile_e2e::until_event(&ns, "a", "CreatedWorkload").await;
    assert!(
        created.starts_with(&format!("Created Workload: {}/job-a-", ns.name)),
        "{created}"
    );
    turnstile_e2e::until_event(&ns, "a", "Started").await;

    // A quota raise admits a waiting Job at once.
    jobs.create(&pp, &job("c", "1", "120s", &none, &json!({})))
        .await
        .unwrap();
    turnstile_e2e::until_workloads(&ns, "c admitted", |all| {
        of_job(all, "c").is_some_and(reserved)
    })
    .await;
    jobs.create(&pp, &job("d", "1", "1s", &none, &json!({})))
        .await
        .unwrap();
    let all = turnstile_e2e::until_workloads(&ns, "d pending for quota", |all| {
        of_job(all, "d")
            .and_then(|w| cond(w, "QuotaReserved"))
            .is_some_and(|c| c.reason == "WaitingForQuota")
    })
    .await;
    assert!(!reserved(of_job(&all, "d").unwrap()));
    ns.apply_doc(&queue_objects(&cq, &flavor, &ns.name, "2", &json!({})))
        .await
        .unwrap();
    turnstile_e2e::until_workloads(
        &ns,
        "d finished after the quota raise, c still running",
        |all| {
            of_job(all, "d").is_some_and(|w| is_true(w, "Finished"))
                && of_job(all, "c").is_some_and(reserved)
        },
    )
    .await;

    // Deleting the Workload of a running Job stops the Job (suspended, template restored) and
    // queues it again under a new Workload, which is admitted.
    let all = turnstile_e2e::list_workloads(&ns).await.unwrap();
    let old = of_job(&all, "c").unwrap().clone();
    let wl_api: Api<Workload> = Api::namespaced(ns.client(), &ns.name);
    wl_api
        .delete(
            old.metadata.name.as_deref().unwrap(),
            &DeleteParams::default(),
        )
        .await
        .unwrap();
    let all = turnstile_e2e::until_workloads(&ns, "c under a new Workload, admitted", |all| {
        of_job(all, "c").is_some_and(|w| w.metadata.uid != old.metadata.uid && reserved(w))
    })
    .await;
    assert!(
        all.values().all(|w| w.metadata.uid != old.metadata.uid),
        "the deleted Workload is gone"
    );
    turnstile_e2e::until_event(&ns, "c", "Stopped").await;

    // Deleting a Job deletes its Workload (garbage collection; the finalizer is let go).
    jobs.delete("c", &DeleteParams::background()).await.unwrap();
    turnstile_e2e::until_workloads(&ns, "c's Workload deleted with it", |all| {
        of_job(all, "c").is_none()
    })
    .await;

    // A Job naming a missing LocalQueue waits suspended; its Workload says why, and follows the
    // Job's parallelism while it waits.
    let mut lost = job("lost", "1", "1s", &json!({}), &json!({}));
    lost.metadata
        .labels
        .as_mut()
        .unwrap()
        .insert("kueue.x-k8s.io/queue-name".into(), "nope".into());
    // Pod count is min(parallelism, completions).
    lost.spec.as_mut().unwrap().completions = Some(4);
    jobs.create(&pp, &lost).await.unwrap();
    let all = turnstile_e2e::until_workloads(&ns, "lost's Workload misconfigured", |all| {
        of_job(all, "lost")
            .and_then(|w| cond(w, "QuotaReserved"))
            .is_some_and(|c| c.reason == "Misconfigured")
    })
    .await;
    let w = of_job(&all, "lost").unwrap();
    assert_eq!(
        cond(w, "QuotaReserved").unwrap().message,
        "LocalQueue nope doesn't exist"
    );
    jobs.patch(
        "lost",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"parallelism": 2}})),
    )
    .await
    .unwrap();
    let name = w.metadata.name.clone();
    turnstile_e2e::until_workloads(&ns, "lost's Workload updated in place", |all| {
        of_job(all, "lost")
            .is_some_and(|w| w.metadata.name == name && w.spec.pod_sets[0].count == 2)
    })
    .await;
    assert_eq!(
        get_job(&ns, "lost").await.spec.and_then(|s| s.suspend),
        Some(true)
    );
    assert!(pods_of(&ns, "lost").await.is_empty());
}

/// A Workload the apiserver refuses (a ResourceQuota of zero Workloads in the namespace): the Job
/// says why in a Warning Event and gets its Workload once the quota is lifted.
async fn creation_refused(ns: TestNs, user: Client) {
    let quota: k8s_openapi::api::core::v1::ResourceQuota = serde_json::from_value(
        json!({"metadata": {"name": "no-workloads"}, "spec": {"hard": {"count/workloads.kueue.x-k8s.io": "0"}}}),
    )
    .unwrap();
    Api::<k8s_openapi::api::core::v1::ResourceQuota>::namespaced(ns.client(), &ns.name)
        .create(&PostParams::default(), &quota)
        .await
        .unwrap();
    let jobs: Api<Job> = Api::namespaced(user, &ns.name);
    jobs.create(
        &PostParams::default(),
        &job("refused", "1", "1s", &json!({}), &json!({})),
    )
    .await
    .unwrap();
    let note = turnstile_e2e::until_event(&ns, "refused", "FailedToCreateWorkload").await;
    // "exceeded quota", or "status unknown for quota" while kube-controller-manager has not
    // yet counted this resource (a fresh plane): refused either way.
    assert!(
        note.contains("could not be created")
            && (note.contains("exceeded quota") || note.contains("status unknown for quota")),
        "{note}"
    );
    ns.harness
        .kubectl(&["delete", "resourcequota", "no-workloads", "-n", &ns.name])
        .unwrap();
    wait_for(
        Duration::from_mins(1),
        "the Workload created once allowed",
        || {
            let ns = ns.clone();
            async move {
                let all = turnstile_e2e::list_workloads(&ns).await.ok()?;
                of_job(&all, "refused").map(|_| ())
            }
        },
    )
    .await
    .unwrap();
    // The queue label removed from the suspended Job: no longer managed, its Workload goes (it
    // could otherwise still be admitted, and its finalizer would hold it).
    jobs.patch(
        "refused",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"labels": {"kueue.x-k8s.io/queue-name": null}}})),
    )
    .await
    .unwrap();
    turnstile_e2e::until_workloads(&ns, "the unmanaged Job's Workload deleted", |all| {
        of_job(all, "refused").is_none()
    })
    .await;
    assert_eq!(
        get_job(&ns, "refused").await.spec.and_then(|s| s.suspend),
        Some(true),
        "the Job itself is left as it is"
    );
}

async fn preemption(
    ns: TestNs,
    user: Client,
    cq: String,
    flavor: String,
    (low, high): (String, String),
) {
    setup(
        &ns,
        &cq,
        &flavor,
        "1",
        json!({"withinClusterQueue": "LowerPriority"}),
    )
    .await;
    let jobs: Api<Job> = Api::namespaced(user, &ns.name);
    let pp = PostParams::default();
    jobs.create(
        &pp,
        &job(
            "low",
            "1",
            "10s",
            &json!({"kueue.x-k8s.io/priority-class": low}),
            &json!({}),
        ),
    )
    .await
    .unwrap();
    wait_for(WAIT, "low running", || {
        let ns = ns.clone();
        async move {
            let j = get_job(&ns, "low").await;
            (j.status?.ready? >= 1).then_some(())
        }
    })
    .await
    .unwrap();
    let all = turnstile_e2e::list_workloads(&ns).await.unwrap();
    assert_eq!(of_job(&all, "low").unwrap().spec.priority, Some(10));
    jobs.create(
        &pp,
        &job(
            "high",
            "1",
            "4s",
            &json!({"kueue.x-k8s.io/priority-class": high}),
            &json!({}),
        ),
    )
    .await
    .unwrap();
    // Low is suspended and its template restored (no flavor nodeSelector, no Kueue pod labels).
    wait_for(WAIT, "low suspended and restored", || {
        let ns = ns.clone();
        async move {
            let j = get_job(&ns, "low").await;
            let spec = j.spec.as_ref()?;
            let t = &spec.template;
            let ns_sel = t.spec.as_ref()?.node_selector.clone().unwrap_or_default();
            let labels = t.metadata.as_ref()?.labels.clone().unwrap_or_default();
            let annotations = j.metadata.annotations.clone().unwrap_or_default();
            (spec.suspend == Some(true)
                && !ns_sel.contains_key("instance-type")
                && !labels.contains_key("kueue.x-k8s.io/podset")
                && !annotations.contains_key("kueue.x-k8s.io/stopping"))
            .then_some(())
        }
    })
    .await
    .unwrap();
    let all = turnstile_e2e::until_workloads(&ns, "low released and requeued", |all| {
        of_job(all, "low").is_some_and(|w| {
            cond(w, "Requeued").is_some_and(|c| c.status == "True" && c.reason == "Preempted")
                || (is_true(w, "QuotaReserved")
                    && cond(w, "Evicted").is_some_and(|c| c.status == "False"))
        })
    })
    .await;
    let w = of_job(&all, "low").unwrap();
    let evicted = cond(w, "Evicted").unwrap();
    assert!(
        evicted.reason == "Preempted" || evicted.message.starts_with("Previously: Preempted"),
        "{evicted:?}"
    );
    // Counted in the Workload's scheduling stats, as Kueue counts evictions.
    assert_eq!(
        turnstile_e2e::jobs::eviction_stats(w),
        vec![("Preempted".to_owned(), String::new(), 1)],
        "{:?}",
        w.status
    );
    turnstile_e2e::until_event(&ns, "low", "Stopped").await;
    // High runs and completes; low is admitted again and completes too.
    let all = turnstile_e2e::until_workloads(&ns, "both finished", |all| {
        ["low", "high"].iter().all(|j| {
            of_job(all, j)
                .is_some_and(|w| cond(w, "Finished").is_some_and(|c| c.reason == "Succeeded"))
        })
    })
    .await;
    let high_done = cond(of_job(&all, "high").unwrap(), "Finished")
        .unwrap()
        .last_transition_time
        .0;
    let low_w = of_job(&all, "low").unwrap();
    assert!(
        cond(low_w, "QuotaReserved").unwrap().last_transition_time.0 >= high_done,
        "low re-admitted after high finished"
    );
    pods_after_admission_on_flavor_nodes(&ns, "high", of_job(&all, "high").unwrap()).await;
}

#[tokio::test]
async fn jobs_end_to_end() {
    let h = Harness::get().await.expect("control plane");
    let id = std::process::id();
    let port = free_port();
    let hooks = UrlWebhooks::register(&h, "e2e-jobs", port, OPT_IN).await;
    let flavor = format!("e2e-jobs-od-{id}");
    let (low, high) = (format!("e2e-jobs-low-{id}"), format!("e2e-jobs-high-{id}"));
    let cqs = [format!("e2e-jobs-seq-{id}"), format!("e2e-jobs-pre-{id}")];
    let mut cleanup = hooks.cleanup();
    cleanup.extend(cqs.iter().map(|c| format!("clusterqueue/{c}")));
    cleanup.extend([
        format!("resourceflavor/{flavor}"),
        format!("workloadpriorityclass/{low}"),
        format!("workloadpriorityclass/{high}"),
    ]);
    let _cleanup = turnstile_e2e::Cleanup(h.clone(), cleanup);
    let config = std::env::temp_dir().join(format!("turnstile-e2e-jobs-{id}.yaml"));
    std::fs::write(
        &config,
        "apiVersion: config.kueue.x-k8s.io/v1beta2\nkind: Configuration\nwaitForPodsReady:\n  timeout: 2m\n",
    )
    .unwrap();
    let mut args = hooks.manager_args(port);
    args.extend([
        "--identity".to_owned(),
        "e2e-jobs".to_owned(),
        "--config".to_owned(),
        config.display().to_string(),
    ]);
    let manager = ManagerProcess::start(&h, &args, vec![]).await;
    let user = h.client_as(&hooks.user).await.unwrap();
    turnstile_e2e::jobs::flavor_and_priority_classes(
        &h.client,
        &flavor,
        &[(&low, 10), (&high, 1000)],
    )
    .await;
    let labels = json!({OPT_IN.0: OPT_IN.1});
    let [seq_cq, pre_cq] = cqs.clone();
    let (u1, u2, u3) = (user.clone(), user.clone(), user);
    let flavor_name = flavor.clone();
    let (f1, f2) = (flavor.clone(), flavor);
    tokio::join!(
        h.run_labelled("jobs-refused", labels.clone(), move |ns| creation_refused(
            ns, u3
        )),
        h.run_labelled("jobs-seq", labels.clone(), move |ns| sequence(
            ns, u1, seq_cq, f1
        )),
        h.run_labelled("jobs-preempt", labels, move |ns| preemption(
            ns,
            u2,
            pre_cq,
            f2,
            (low, high)
        )),
    );
    let _ = std::fs::remove_file(&config);

    // The metrics tell what happened: six admissions in `seq` (a, f, b, c, d, and c again under a
    // new Workload), three in `preempt` (low, high, low again), one preemption.
    let text = manager.scrape();
    let m = |name: &str, labels: &[(&str, &str)]| ManagerProcess::metric(&text, name, labels);
    let (seq, pre) = (cqs[0].as_str(), cqs[1].as_str());
    assert_eq!(
        m("kueue_admitted_workloads_total", &[("cluster_queue", seq)]),
        6.0,
        "{text}"
    );
    assert_eq!(
        m(
            "kueue_quota_reserved_workloads_total",
            &[("cluster_queue", seq)]
        ),
        6.0
    );
    assert_eq!(
        m("kueue_admitted_workloads_total", &[("cluster_queue", pre)]),
        3.0
    );
    assert_eq!(
        m(
            "kueue_admission_wait_time_seconds_count",
            &[("cluster_queue", pre)]
        ),
        3.0
    );
    assert_eq!(
        m(
            "kueue_preempted_workloads_total",
            &[
                ("preempting_cluster_queue", pre),
                ("reason", "InClusterQueue")
            ]
        ),
        1.0
    );
    assert_eq!(
        m(
            "kueue_evicted_workloads_total",
            &[("cluster_queue", pre), ("reason", "Preempted")]
        ),
        1.0
    );
    assert_eq!(
        m(
            "kueue_evicted_workloads_once_total",
            &[("cluster_queue", pre), ("reason", "Preempted")]
        ),
        1.0
    );
    // a, f, b, d finished by their Jobs, c's second Workload finished as an orphan; low and high.
    assert_eq!(
        m("kueue_finished_workloads_total", &[("cluster_queue", seq)]),
        5.0,
        "{text}"
    );
    assert_eq!(
        m("kueue_finished_workloads_total", &[("cluster_queue", pre)]),
        2.0
    );
    assert!(
        m(
            "turnstile_api_writes_total",
            &[("verb", "patch"), ("resource", "jobs")]
        ) >= 9.0
    );
    assert!(m("turnstile_scheduling_cycle_duration_seconds_count", &[]) >= 1.0);
    assert!(text.contains("replica_role=\"leader\""));
    // Kueue's LocalQueue series (on by default): every LocalQueue here is `lq`, so each counts
    // what its ClusterQueue counts, summed over the three tests.
    let lq = [("name", "lq")];
    for (lq_series, cq_series) in [
        (
            "kueue_local_queue_admitted_workloads_total",
            "kueue_admitted_workloads_total",
        ),
        (
            "kueue_local_queue_quota_reserved_workloads_total",
            "kueue_quota_reserved_workloads_total",
        ),
        (
            "kueue_local_queue_admission_wait_time_seconds_count",
            "kueue_admission_wait_time_seconds_count",
        ),
        (
            "kueue_local_queue_finished_workloads_total",
            "kueue_finished_workloads_total",
        ),
        (
            "kueue_local_queue_evicted_workloads_total",
            "kueue_evicted_workloads_total",
        ),
    ] {
        assert_eq!(m(lq_series, &lq), m(cq_series, &[]), "{lq_series}\n{text}");
    }
    assert!(m("kueue_local_queue_admitted_workloads_total", &lq) >= 9.0);
    // Admitted without AdmissionChecks: the checks took no time, as Kueue records it.
    assert_eq!(
        m(
            "kueue_admission_checks_wait_time_seconds_count",
            &[("cluster_queue", pre)]
        ),
        3.0
    );
    assert_eq!(
        m(
            "kueue_admission_checks_wait_time_seconds_sum",
            &[("cluster_queue", pre)]
        ),
        0.0
    );
    // The preempted Workload's quota came back after its Job stopped.
    assert_eq!(
        m(
            "kueue_workload_eviction_latency_seconds_count",
            &[("cluster_queue", pre), ("reason", "Preempted")]
        ),
        1.0,
        "{text}"
    );
    // waitForPodsReady is on: the Jobs that ran reported ready.
    assert!(
        m(
            "kueue_ready_wait_time_seconds_count",
            &[("cluster_queue", seq)]
        ) >= 1.0
    );
    assert!(
        m(
            "kueue_admitted_until_ready_wait_time_seconds_count",
            &[("cluster_queue", seq)]
        ) >= 1.0
    );
    assert!(
        m(
            "kueue_workload_creation_latency_seconds_count",
            &[("job_kind", "Job")]
        ) >= 9.0
    );
    assert_eq!(m("kueue_build_info", &[("compiler", "rustc")]), 1.0);
    // The resource gauges are off unless metrics.enableClusterQueueResources, as in Kueue.
    assert!(
        !text.contains("kueue_cluster_queue_nominal_quota{"),
        "{text}"
    );

    // The test runs deleted their ClusterQueues (they carried the in-use finalizer, see
    // `sequence`): once nothing holds quota they go, and then the flavor can go too.
    for cq in &cqs {
        wait_for(WAIT, &format!("{cq} deleted"), || async {
            h.kubectl(&["get", "clusterqueue", cq])
                .is_err()
                .then_some(())
        })
        .await
        .unwrap();
    }
    h.kubectl(&["delete", "resourceflavor", &flavor_name, "--timeout=60s"])
        .unwrap();
}
