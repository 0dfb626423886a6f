//! The control plane itself works: the real Job controller runs a plain Job's pods on kwok nodes
//! to completion, and a Job whose pods fail ends Failed.

// Test code: failures are panics.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::too_many_lines,
    clippy::too_many_arguments
)]

use std::time::Duration;

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams, PostParams};
use turnstile_e2e::{Harness, wait_for};

fn job(name: &str, completions: i32, fail: bool) -> Job {
    let labels = if fail {
        serde_json::json!({"e2e.turnstile.dev/fail": "true"})
    } else {
        serde_json::json!({})
    };
    serde_json::from_value(serde_json::json!({
        "metadata": {"name": name},
        "spec": {
            "completions": completions, "parallelism": completions, "backoffLimit": 0,
            "template": {
                "metadata": {"labels": labels, "annotations": {"pod-complete.stage.kwok.x-k8s.io/delay": "1s"}},
                "spec": {"restartPolicy": "Never", "containers": [{"name": "main", "image": "busybox",
                    "resources": {"requests": {"cpu": "100m"}}}]}
            }
        }
    }))
    .expect("valid Job")
}

async fn finished_condition(api: &Api<Job>, name: &str) -> String {
    wait_for(
        Duration::from_secs(90),
        &format!("Job {name} to finish"),
        || async {
            let job = api.get(name).await.ok()?;
            job.status?
                .conditions?
                .into_iter()
                .find(|c| (c.type_ == "Complete" || c.type_ == "Failed") && c.status == "True")
                .map(|c| c.type_)
        },
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test]
async fn plain_job_completes_on_kwok_nodes() {
    let h = Harness::get().await.expect("control plane");
    h.run("job-ok", |ns| async move {
        let api: Api<Job> = Api::namespaced(ns.client(), &ns.name);
        api.create(&PostParams::default(), &job("ok", 3, false))
            .await
            .expect("Job created");
        assert_eq!(finished_condition(&api, "ok").await, "Complete");
        let pods: Api<Pod> = Api::namespaced(ns.client(), &ns.name);
        let list = pods
            .list(&ListParams::default().labels("job-name=ok"))
            .await
            .expect("pods");
        assert!(
            list.items.len() >= 3,
            "expected 3 pods, got {}",
            list.items.len()
        );
        for pod in list.items {
            let node = pod.spec.and_then(|s| s.node_name).unwrap_or_default();
            assert!(
                node.starts_with("kwok-"),
                "pod ran on {node:?}, not a kwok node"
            );
        }
    })
    .await;
}

#[tokio::test]
async fn job_with_failing_pods_ends_failed() {
    let h = Harness::get().await.expect("control plane");
    h.run("job-fail", |ns| async move {
        let api: Api<Job> = Api::namespaced(ns.client(), &ns.name);
        api.create(&PostParams::default(), &job("bad", 1, true))
            .await
            .expect("Job created");
        assert_eq!(finished_condition(&api, "bad").await, "Failed");
    })
    .await;
}
