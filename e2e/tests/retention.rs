//! Kueue's `objectRetentionPolicies.workloads` on the real plane: a finished Job's Workload is
//! deleted `afterFinished` after it finished (the completed Job and its pods stay), and a Job whose
//! Workload Turnstile's rules deactivated (`maximumExecutionTimeSeconds` exceeded) is deleted
//! `afterDeactivatedByKueue` after the eviction, with Kueue's events.
//! A binary of its own: it runs one manager with its own Configuration.

// Test code: failures are panics.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::too_many_lines
)]

use std::time::{Duration, Instant};

use k8s_openapi::api::batch::v1::Job;
use kube::Client;
use kube::api::{Api, PostParams};
use serde_json::json;
use turnstile_e2e::jobs::{OPT_IN, cond, is_true, job, of_job, setup};
use turnstile_e2e::{Harness, ManagerProcess, TestNs, UrlWebhooks, free_port, wait_for};

async fn retained(ns: TestNs, user: Client, (cq, flavor): (String, String)) {
    setup(&ns, &cq, &flavor, "4", json!({})).await;
    let jobs: Api<Job> = Api::namespaced(user, &ns.name);
    jobs.create(
        &PostParams::default(),
        &job("quick", "1", "1s", &json!({}), &json!({})),
    )
    .await
    .unwrap();
    // Runs for 60 s but may run 2: deactivated by the rules, then deleted 3 s later.
    jobs.create(
        &PostParams::default(),
        &job(
            "overtime",
            "1",
            "60s",
            &json!({"kueue.x-k8s.io/max-exec-time-seconds": "2"}),
            &json!({}),
        ),
    )
    .await
    .unwrap();

    let all = turnstile_e2e::until_workloads(&ns, "quick finished", |all| {
        of_job(all, "quick").is_some_and(|w| is_true(w, "Finished"))
    })
    .await;
    let quick = of_job(&all, "quick").unwrap().clone();
    let quick_name = quick.metadata.name.clone().unwrap();
    let finished_at = Instant::now();
    let all = turnstile_e2e::until_workloads(&ns, "overtime deactivated by the rules", |all| {
        of_job(all, "overtime").is_some_and(|w| {
            cond(w, "Evicted").is_some_and(|c| {
                c.status == "True" && c.reason == "DeactivatedDueToMaximumExecutionTimeExceeded"
            })
        })
    })
    .await;
    assert_eq!(
        of_job(&all, "overtime").unwrap().spec.active,
        Some(false),
        "deactivated"
    );

    // afterFinished: 5s — the Workload goes, the completed Job stays.
    wait_for(
        Duration::from_secs(30),
        "the finished Workload deleted",
        || {
            let ns = ns.clone();
            let name = quick_name.clone();
            async move {
                let all = turnstile_e2e::list_workloads(&ns).await.ok()?;
                (!all.contains_key(&name)).then_some(())
            }
        },
    )
    .await
    .unwrap();
    let kept_for = finished_at.elapsed();
    let quick_job = jobs.get("quick").await.unwrap();
    assert!(turnstile_e2e::jobs::complete(&quick_job), "the Job stays");
    assert!(
        turnstile_e2e::until_event(&ns, &quick_name, "Deleted")
            .await
            .contains("Deleted finished workload due to elapsed retention")
    );
    // Not re-created for the finished Job.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let all = turnstile_e2e::list_workloads(&ns).await.unwrap();
    assert!(
        of_job(&all, "quick").is_none(),
        "no new Workload for a finished Job"
    );

    // afterDeactivatedByKueue: 3s — the Job (and with it its Workload) is deleted.
    wait_for(
        Duration::from_secs(40),
        "the deactivated Job deleted",
        || {
            let jobs = jobs.clone();
            async move {
                match jobs.get_opt("overtime").await {
                    Ok(None) => Some(()),
                    Ok(Some(j)) if j.metadata.deletion_timestamp.is_some() => Some(()),
                    _ => None,
                }
            }
        },
    )
    .await
    .unwrap();
    assert!(
        turnstile_e2e::until_event(&ns, "overtime", "Deleted")
            .await
            .contains("Deleted job: deactivation retention period expired")
    );
    println!(
        "retention: finished Workload deleted {:.1} s after it was seen finished (afterFinished 5s); deactivated Job deleted",
        kept_for.as_secs_f64()
    );
}

#[tokio::test]
async fn finished_workloads_and_deactivated_jobs_go_after_their_retention() {
    let h = Harness::get().await.expect("control plane");
    let id = std::process::id();
    let port = free_port();
    let hooks = UrlWebhooks::register(&h, "e2e-retain", port, OPT_IN).await;
    let flavor = format!("e2e-retain-od-{id}");
    let cq = format!("e2e-retain-{id}");
    let mut cleanup = hooks.cleanup();
    cleanup.extend([
        format!("clusterqueue/{cq}"),
        format!("resourceflavor/{flavor}"),
    ]);
    let _cleanup = turnstile_e2e::Cleanup(h.clone(), cleanup);
    let config = std::env::temp_dir().join(format!("turnstile-e2e-retain-{id}.yaml"));
    std::fs::write(
        &config,
        "apiVersion: config.kueue.x-k8s.io/v1beta2\nkind: Configuration\nobjectRetentionPolicies:\n  workloads:\n    afterFinished: 5s\n    afterDeactivatedByKueue: 3s\n",
    )
    .unwrap();
    let mut args = hooks.manager_args(port);
    args.extend([
        "--identity".to_owned(),
        "e2e-retain".to_owned(),
        "--config".to_owned(),
        config.display().to_string(),
    ]);
    let _manager = ManagerProcess::start(&h, &args, vec![]).await;
    let user = h.client_as(&hooks.user).await.unwrap();
    turnstile_e2e::jobs::flavor_and_priority_classes(&h.client, &flavor, &[]).await;
    h.run_labelled("retain", json!({OPT_IN.0: OPT_IN.1}), move |ns| {
        retained(ns, user, (cq, flavor))
    })
    .await;
    let _ = std::fs::remove_file(&config);
}
