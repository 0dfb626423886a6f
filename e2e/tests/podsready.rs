//! waitForPodsReady on the real plane with real Jobs: a Job whose pods never become ready (they
//! ask for a node label no node has) is evicted at the PodsReady timeout (5 s here), its Job
//! suspended and its template restored, requeued after its backoff (1 s), admitted again, and
//! on the second timeout deactivated (backoff limit 1) with reason
//! `DeactivatedDueToRequeuingLimitExceeded`. The manager is restarted after the first eviction: the
//! rest of the lifecycle continues from what the objects say.

// Test code: failures are panics.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::too_many_lines,
    clippy::needless_pass_by_value
)]

use k8s_openapi::api::batch::v1::Job;
use kube::Client;
use kube::api::{Api, PostParams};
use serde_json::json;
use turnstile_e2e::jobs::{OPT_IN, cond, get_job, job, of_job, pods_of, setup};
use turnstile_e2e::{Harness, ManagerProcess, TestNs, UrlWebhooks, free_port};

async fn pods_ready_timeout(
    ns: TestNs,
    user: Client,
    (cq, flavor): (String, String),
    (manager, args): (ManagerProcess, Vec<String>),
) {
    setup(&ns, &cq, &flavor, "1", json!({})).await;
    let jobs: Api<Job> = Api::namespaced(user, &ns.name);
    // Its pods ask for a node label no node has: admitted, but never ready.
    let mut stuck = job("stuck", "1", "1s", &json!({}), &json!({}));
    stuck
        .spec
        .as_mut()
        .unwrap()
        .template
        .spec
        .as_mut()
        .unwrap()
        .node_selector = Some([("e2e.turnstile.dev/nowhere".to_owned(), "x".to_owned())].into());
    jobs.create(&PostParams::default(), &stuck).await.unwrap();
    let all = turnstile_e2e::until_workloads(&ns, "evicted at the PodsReady timeout", |all| {
        of_job(all, "stuck").is_some_and(|w| {
            cond(w, "Requeued").is_some_and(|c| c.reason == "PodsReadyTimeout")
                || w.status
                    .as_ref()
                    .and_then(|s| s.requeue_state.as_ref())
                    .is_some()
        })
    })
    .await;
    // The manager restarts here, mid-lifecycle: everything it needs is in the objects.
    drop(manager);
    let _manager = ManagerProcess::start(&ns.harness, &args, vec![]).await;
    let w = of_job(&all, "stuck").unwrap();
    assert!(
        w.status
            .as_ref()
            .and_then(|s| s.requeue_state.as_ref())
            .and_then(|r| r.count)
            >= Some(1),
        "{:?}",
        w.status
    );
    turnstile_e2e::until_event(&ns, "stuck", "Stopped").await;
    // Requeued after the backoff, admitted again, timed out again: the limit (1) deactivates it.
    let all = turnstile_e2e::until_workloads(&ns, "deactivated after the backoff limit", |all| {
        of_job(all, "stuck").is_some_and(|w| {
            !w.spec.is_active()
                && cond(w, "Requeued")
                    .is_some_and(|c| c.reason == "DeactivatedDueToRequeuingLimitExceeded")
                && cond(w, "QuotaReserved").is_some_and(|c| c.status == "False")
        })
    })
    .await;
    let w = of_job(&all, "stuck").unwrap();
    assert_eq!(
        cond(w, "Evicted").map(|c| (c.reason.as_str(), c.message.as_str())),
        Some((
            "DeactivatedDueToRequeuingLimitExceeded",
            "The workload is deactivated due to exceeding the maximum number of re-queuing retries"
        ))
    );
    assert!(
        cond(w, "DeactivationTarget").is_none(),
        "target removed once deactivated"
    );
    // Both evictions counted as Kueue counts them (reason, underlying cause).
    assert_eq!(
        turnstile_e2e::jobs::eviction_stats(w),
        vec![
            ("PodsReadyTimeout".to_owned(), "WaitForStart".to_owned(), 1),
            (
                "Deactivated".to_owned(),
                "RequeuingLimitExceeded".to_owned(),
                1
            )
        ],
        "{:?}",
        w.status
    );
    let j = get_job(&ns, "stuck").await;
    assert_eq!(j.spec.as_ref().and_then(|s| s.suspend), Some(true));
    assert!(
        !j.spec
            .unwrap()
            .template
            .spec
            .unwrap()
            .node_selector
            .unwrap_or_default()
            .contains_key("instance-type"),
        "template restored"
    );
    assert!(
        pods_of(&ns, "stuck")
            .await
            .iter()
            .all(|p| p.metadata.deletion_timestamp.is_some())
    );
}

#[tokio::test]
async fn pods_ready_timeout_requeue_and_deactivation() {
    let h = Harness::get().await.expect("control plane");
    let id = std::process::id();
    let port = free_port();
    let hooks = UrlWebhooks::register(&h, "e2e-ready", port, OPT_IN).await;
    let flavor = format!("e2e-ready-od-{id}");
    let cq = format!("e2e-ready-{id}");
    let mut cleanup = hooks.cleanup();
    cleanup.extend([
        format!("clusterqueue/{cq}"),
        format!("resourceflavor/{flavor}"),
    ]);
    let _cleanup = turnstile_e2e::Cleanup(h.clone(), cleanup);
    let config = std::env::temp_dir().join(format!("turnstile-e2e-ready-{id}.yaml"));
    std::fs::write(
        &config,
        "apiVersion: config.kueue.x-k8s.io/v1beta2\nkind: Configuration\nwaitForPodsReady:\n  timeout: 5s\n  \
         requeuingStrategy:\n    backoffBaseSeconds: 1\n    backoffMaxSeconds: 2\n    backoffLimitCount: 1\n",
    )
    .unwrap();
    let mut args = hooks.manager_args(port);
    args.extend([
        "--identity".to_owned(),
        "e2e-ready".to_owned(),
        "--config".to_owned(),
        config.display().to_string(),
    ]);
    let manager = ManagerProcess::start(&h, &args, vec![]).await;
    let user = h.client_as(&hooks.user).await.unwrap();
    turnstile_e2e::apply_cluster_object(
        &h.client,
        &json!({"apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "ResourceFlavor", "metadata": {"name": flavor},
            "spec": {"nodeLabels": {"instance-type": "on-demand"}}}),
    )
    .await;
    h.run_labelled("jobs-ready", json!({OPT_IN.0: OPT_IN.1}), move |ns| {
        pods_ready_timeout(ns, user, (cq, flavor), (manager, args))
    })
    .await;
    let _ = std::fs::remove_file(&config);
}
