//! Kueue's `waitForPodsReady.blockAdmission: true` on the real plane: while an admitted Job's pods
//! are not ready (kwok makes them ready after 8 s), a second Job that fits is held pending with
//! Kueue's reason `Waiting` and message, and admitted only once the first Job's pods are ready.
//! A binary of its own: it runs one manager with its own Configuration.

// Test code: failures are panics.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::too_many_lines
)]

use std::time::Duration;

use k8s_openapi::api::batch::v1::Job;
use kube::Client;
use kube::api::{Api, PostParams};
use serde_json::json;
use turnstile_e2e::jobs::{OPT_IN, cond, is_true, job, of_job, setup};
use turnstile_e2e::{Harness, ManagerProcess, TestNs, UrlWebhooks, free_port};

async fn held_until_ready(ns: TestNs, user: Client, (cq, flavor): (String, String)) {
    setup(&ns, &cq, &flavor, "4", json!({})).await;
    let jobs: Api<Job> = Api::namespaced(user, &ns.name);
    let mut slow = job("slow", "1", "60s", &json!({}), &json!({}));
    if let Some(a) = slow
        .spec
        .as_mut()
        .and_then(|s| s.template.metadata.as_mut())
        .and_then(|m| m.annotations.as_mut())
    {
        a.insert("pod-ready.stage.kwok.x-k8s.io/delay".into(), "8s".into());
        a.insert(
            "pod-ready.stage.kwok.x-k8s.io/jitter-delay".into(),
            "8s".into(),
        );
    }
    jobs.create(&PostParams::default(), &slow).await.unwrap();
    turnstile_e2e::until_workloads(&ns, "the slow Job admitted", |all| {
        of_job(all, "slow").is_some_and(|w| is_true(w, "Admitted"))
    })
    .await;
    jobs.create(
        &PostParams::default(),
        &job("next", "1", "1s", &json!({}), &json!({})),
    )
    .await
    .unwrap();
    // Held: fits, but the slow Job's pods are not ready.
    let all = turnstile_e2e::until_workloads(&ns, "the next Job held with Waiting", |all| {
        of_job(all, "next").is_some_and(|w| {
            cond(w, "QuotaReserved").is_some_and(|c| c.status == "False" && c.reason == "Waiting")
        })
    })
    .await;
    let next = of_job(&all, "next").unwrap();
    assert_eq!(
        cond(next, "QuotaReserved").unwrap().message,
        "waiting for all admitted workloads to be in PodsReady condition"
    );
    assert!(
        !of_job(&all, "slow").is_some_and(|w| is_true(w, "PodsReady")),
        "held only while the slow Job's pods are not ready"
    );
    // Let go once they are.
    let all = turnstile_e2e::until_workloads(&ns, "the next Job admitted", |all| {
        of_job(all, "next").is_some_and(|w| is_true(w, "Admitted"))
    })
    .await;
    let slow_ready = cond(of_job(&all, "slow").unwrap(), "PodsReady").unwrap();
    let next_admitted = cond(of_job(&all, "next").unwrap(), "QuotaReserved").unwrap();
    assert_eq!(slow_ready.status, "True");
    assert!(
        next_admitted.last_transition_time.0 >= slow_ready.last_transition_time.0,
        "admitted at {:?}, before the slow Job was ready at {:?}",
        next_admitted.last_transition_time,
        slow_ready.last_transition_time
    );
    let waited = next_admitted.last_transition_time.0.as_second()
        - next
            .metadata
            .creation_timestamp
            .as_ref()
            .unwrap()
            .0
            .as_second();
    println!(
        "blockAdmission: the next Job was held {waited} s, admitted after the slow Job's pods were ready"
    );
    tokio::time::sleep(Duration::from_millis(10)).await;
}

#[tokio::test]
async fn block_admission_holds_jobs_until_admitted_pods_are_ready() {
    let h = Harness::get().await.expect("control plane");
    let id = std::process::id();
    let port = free_port();
    let hooks = UrlWebhooks::register(&h, "e2e-block", port, OPT_IN).await;
    let flavor = format!("e2e-block-od-{id}");
    let cq = format!("e2e-block-{id}");
    let mut cleanup = hooks.cleanup();
    cleanup.extend([
        format!("clusterqueue/{cq}"),
        format!("resourceflavor/{flavor}"),
    ]);
    let _cleanup = turnstile_e2e::Cleanup(h.clone(), cleanup);
    let config = std::env::temp_dir().join(format!("turnstile-e2e-block-{id}.yaml"));
    std::fs::write(
        &config,
        "apiVersion: config.kueue.x-k8s.io/v1beta2\nkind: Configuration\nwaitForPodsReady:\n  timeout: 2m\n  blockAdmission: true\n",
    )
    .unwrap();
    let mut args = hooks.manager_args(port);
    args.extend([
        "--identity".to_owned(),
        "e2e-block".to_owned(),
        "--config".to_owned(),
        config.display().to_string(),
    ]);
    let _manager = ManagerProcess::start(&h, &args, vec![]).await;
    let user = h.client_as(&hooks.user).await.unwrap();
    turnstile_e2e::jobs::flavor_and_priority_classes(&h.client, &flavor, &[]).await;
    h.run_labelled("block", json!({OPT_IN.0: OPT_IN.1}), move |ns| {
        held_until_ready(ns, user, (cq, flavor))
    })
    .await;
    let _ = std::fs::remove_file(&config);
}
