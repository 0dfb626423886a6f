//! The admission webhook, called by the real apiserver over TLS.
//!
//! One `turnstile manager` process serves the webhook on 127.0.0.1 with self-managed certificates
//! that it renews every few seconds (serving certificate) and every half minute (CA), and injects
//! the CA into webhook configurations registered by URL. The configurations only select namespaces
//! and objects labelled `e2e.turnstile.dev/webhook: "on"`, so other tests on the plane are not
//! affected, and they are deleted (and the manager stopped) when the test ends, even on failure.

// Test code: failures are panics.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::too_many_lines,
    clippy::too_many_arguments
)]

use std::time::{Duration, Instant};

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Secret;
use kube::Client;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use serde_json::json;
use turnstile_e2e::{Harness, ManagerProcess, TestNs, UrlWebhooks, free_port};

const USER: &str = "e2e-turnstile-user";
const OPT_IN: (&str, &str) = ("e2e.turnstile.dev/webhook", "on");

async fn start_manager(h: &Harness) -> (ManagerProcess, String) {
    let port = free_port();
    // The configurations Turnstile ships, registered by URL and scoped to opted-in objects.
    let hooks = UrlWebhooks::register(h, "e2e-turnstile", port, OPT_IN).await;
    assert_eq!(hooks.user, USER);
    let (mutating, namespace) = (hooks.mutating.clone(), hooks.namespace.clone());
    let mut args = hooks.manager_args(port);
    args.extend(
        [
            "--no-scheduler",
            // Renew every ~6 s (each renewal is a new one-use CA and serving certificate), so
            // every request below runs while certificates rotate.
            "--cert-validity-seconds",
            "12",
            "--cert-renew-before-seconds",
            "6",
        ]
        .iter()
        .map(|s| (*s).to_owned()),
    );
    let cleanup = hooks.cleanup();
    let manager = ManagerProcess::start(h, &args, cleanup).await;
    let out = h
        .kubectl(&[
            "get",
            "mutatingwebhookconfiguration",
            &mutating,
            "-o",
            "jsonpath={.webhooks[*].clientConfig.caBundle}",
        ])
        .unwrap();
    assert!(!out.trim().is_empty(), "caBundle not injected");
    (manager, namespace)
}

fn queued_job(name: &str, queue: Option<&str>, suspend: Option<bool>) -> Job {
    let mut v = json!({"metadata": {"name": name}, "spec": {"template": {"spec": {"restartPolicy": "Never",
        "containers": [{"name": "c", "image": "busybox"}]}}}});
    if let Some(q) = queue {
        v["metadata"]["labels"] = json!({"kueue.x-k8s.io/queue-name": q});
    }
    if let Some(s) = suspend {
        v["spec"]["suspend"] = s.into();
    }
    serde_json::from_value(v).unwrap()
}

fn denial(e: &kube::Error) -> String {
    match e {
        kube::Error::Api(s) => s.message.clone(),
        other => other.to_string(),
    }
}

async fn jobs_are_suspended_and_validated(ns: TestNs, user: Client) {
    let jobs: Api<Job> = Api::namespaced(user.clone(), &ns.name);
    let pp = PostParams::default();
    // A queued Job is stored suspended, even when it asks to run.
    let created = jobs
        .create(&pp, &queued_job("queued", Some("lq"), Some(false)))
        .await
        .unwrap();
    assert_eq!(created.spec.as_ref().and_then(|s| s.suspend), Some(true));
    let stored = Api::<Job>::namespaced(ns.client(), &ns.name)
        .get("queued")
        .await
        .unwrap();
    assert_eq!(
        stored.spec.and_then(|s| s.suspend),
        Some(true),
        "the apiserver stored the mutated Job"
    );
    // An unqueued Job is untouched.
    let plain = jobs
        .create(&pp, &queued_job("plain", None, None))
        .await
        .unwrap();
    assert_ne!(plain.spec.as_ref().and_then(|s| s.suspend), Some(true));
    // An empty queue name names no queue (as in Kueue): accepted, and left to run.
    let empty = jobs
        .create(&pp, &queued_job("empty-queue", Some(""), None))
        .await
        .unwrap();
    assert_ne!(empty.spec.as_ref().and_then(|s| s.suspend), Some(true));
    // Unsuspending a queued, unadmitted Job is refused.
    let err = jobs
        .patch(
            "queued",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"suspend": false}})),
        )
        .await
        .unwrap_err();
    assert!(denial(&err).contains(r#"admission webhook "vjob.kb.io" denied the request: spec.suspend: Forbidden: the Job is queued in LocalQueue "lq" and not admitted yet"#), "{}", denial(&err));
    // The queue label of a running Job cannot change.
    let err = jobs
        .patch(
            "plain",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"kueue.x-k8s.io/queue-name": "lq"}}})),
        )
        .await
        .unwrap_err();
    assert!(
        denial(&err).contains(
            "metadata.labels[kueue.x-k8s.io/queue-name]: Invalid value: \"lq\": field is immutable"
        ),
        "{}",
        denial(&err)
    );
    // A malformed queue name is refused at creation.
    let err = jobs
        .create(&pp, &queued_job("badq", Some("Not_A_Queue"), None))
        .await
        .unwrap_err();
    assert!(
        denial(&err)
            .contains("metadata.labels[kueue.x-k8s.io/queue-name]: Invalid value: \"Not_A_Queue\""),
        "{}",
        denial(&err)
    );
    // The same through kubectl.
    let manifest = serde_json::to_string(&json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "kubectl-bad", "namespace": ns.name,
        "labels": {"kueue.x-k8s.io/queue-name": "lq", "kueue.x-k8s.io/max-exec-time-seconds": "0"}},
        "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}]}}}}))
    .unwrap();
    let file = std::env::temp_dir().join(format!("{}-job.json", ns.name));
    std::fs::write(&file, manifest).unwrap();
    let err = ns
        .harness
        .kubectl(&["create", "--as", USER, "-f", file.to_str().unwrap()])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("max-exec-time-seconds]: Invalid value: \"0\": should be greater than 0"),
        "{err}"
    );
}

async fn excluded_namespace_is_untouched(h: &Harness, manager_ns: &str) {
    let jobs: Api<Job> = Api::namespaced(h.client.clone(), manager_ns);
    let j = jobs
        .create(
            &PostParams::default(),
            &queued_job("own-ns", Some("lq"), Some(false)),
        )
        .await
        .unwrap();
    assert_eq!(
        j.spec.as_ref().and_then(|s| s.suspend),
        Some(false),
        "Jobs in Turnstile's own namespace are never queued"
    );
    jobs.delete("own-ns", &DeleteParams::background())
        .await
        .unwrap();
}

async fn kueue_objects_are_validated(ns: TestNs, user: Client) {
    let opt_in = json!({OPT_IN.0: OPT_IN.1});
    let cq_name = format!("{}-cq", ns.name);
    let cq = json!({"apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "ClusterQueue", "metadata": {"name": cq_name, "labels": opt_in},
        "spec": {"cohortName": "team", "resourceGroups": [{"coveredResources": ["cpu"], "flavors": [
            {"name": "default", "resources": [{"name": "cpu", "nominalQuota": "1", "lendingLimit": "2"}]}]}]}});
    let (api, _, _) = ns
        .dynamic_api("kueue.x-k8s.io/v1beta2", "ClusterQueue")
        .unwrap();
    let user_api: Api<kube::api::DynamicObject> = Api::all_with(
        user.clone(),
        &turnstile_e2e::api_resource("kueue.x-k8s.io/v1beta2", "ClusterQueue")
            .unwrap()
            .0,
    );
    let err = user_api
        .create(
            &PostParams::default(),
            &serde_json::from_value(cq.clone()).unwrap(),
        )
        .await
        .unwrap_err();
    assert!(
        denial(&err).contains(r#"denied the request: spec.resourceGroups[0].flavors[0].resources[0].lendingLimit: Invalid value: "2": must be less than or equal to the nominalQuota"#),
        "{}",
        denial(&err)
    );
    // A valid one is accepted and gets Kueue's finalizer.
    let mut ok = cq.clone();
    ok["spec"]["resourceGroups"][0]["flavors"][0]["resources"][0]["lendingLimit"] = "1".into();
    let stored = ns.apply_doc(&ok).await.unwrap();
    assert_eq!(
        stored["metadata"]["finalizers"],
        json!(["kueue.x-k8s.io/resource-in-use"])
    );
    api.patch(
        &cq_name,
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"finalizers": null}})),
    )
    .await
    .unwrap();

    let cohort = json!({"apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "Cohort", "metadata": {"name": format!("{}-co", ns.name), "labels": opt_in},
        "spec": {"resourceGroups": [{"coveredResources": ["cpu"], "flavors": [{"name": "default", "resources": [{"name": "cpu", "nominalQuota": "1", "borrowingLimit": "1"}]}]}]}});
    let err = ns.apply_doc(&cohort).await.unwrap_err().to_string();
    assert!(err.contains(r#"spec.resourceGroups[0].flavors[0].resources[0].borrowingLimit: Invalid value: "1": must be nil when parent is empty"#), "{err}");

    let rf = json!({"apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "ResourceFlavor", "metadata": {"name": format!("{}-rf", ns.name), "labels": opt_in},
        "spec": {"nodeTaints": [{"key": "spot", "value": "a", "effect": "NoSchedule"}, {"key": "spot", "value": "b", "effect": "NoSchedule"}]}});
    let err = ns.apply_doc(&rf).await.unwrap_err().to_string();
    assert!(
        err.contains("spec.nodeTaints[1]: Duplicate value")
            && err.contains("taints must be unique by key and effect pair"),
        "{err}"
    );

    let wl = json!({"apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "Workload", "metadata": {"name": "wl"},
        "spec": {"podSets": [{"name": "main", "count": 1, "template": {"spec": {"containers": [{"name": "c", "image": "i",
            "resources": {"requests": {"pods": "1"}}}]}}}]}});
    let err = ns.apply_doc(&wl).await.unwrap_err().to_string();
    assert!(err.contains("spec.podSets[0].template.spec.containers[0].resources.requests[pods]: Invalid value: \"pods\": the key is reserved for internal kueue use"), "{err}");
}

async fn rotation_loses_no_request(ns: TestNs, h: &Harness, manager_ns: &str) {
    let secrets: Api<Secret> = Api::namespaced(h.client.clone(), manager_ns);
    let cert_of = |s: Secret| {
        s.data
            .and_then(|d| d.get("tls.crt").cloned())
            .map(|b| b.0)
            .unwrap_or_default()
    };
    let ca_of = |s: Secret| {
        s.data
            .and_then(|d| d.get("ca.crt").cloned())
            .map(|b| b.0)
            .unwrap_or_default()
    };
    let first = secrets.get("turnstile-webhook-server-cert").await.unwrap();
    let (first_cert, first_ca) = (cert_of(first.clone()), ca_of(first));
    let jobs: Api<Job> = Api::namespaced(ns.client(), &ns.name);
    let start = Instant::now();
    let mut created = 0;
    let mut certs_seen = std::collections::BTreeSet::new();
    let mut cas_seen = std::collections::BTreeSet::new();
    while start.elapsed() < Duration::from_secs(40) {
        let job = jobs
            .create(
                &PostParams::default(),
                &queued_job(&format!("r{created}"), Some("lq"), None),
            )
            .await
            .unwrap_or_else(|e| panic!("Job {created} lost during rotation: {e}"));
        assert_eq!(job.spec.and_then(|s| s.suspend), Some(true));
        created += 1;
        let s = secrets.get("turnstile-webhook-server-cert").await.unwrap();
        let keys: Vec<String> = s.data.iter().flat_map(|d| d.keys().cloned()).collect();
        assert_eq!(
            keys,
            ["ca.crt", "tls.crt", "tls.key"],
            "no CA private key is stored"
        );
        certs_seen.insert(cert_of(s.clone()));
        cas_seen.insert(ca_of(s));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    certs_seen.insert(first_cert);
    cas_seen.insert(first_ca);
    eprintln!(
        "rotation: {created} Jobs created, {} serving certificates and {} CA bundles seen",
        certs_seen.len(),
        cas_seen.len()
    );
    assert!(
        certs_seen.len() >= 4,
        "the serving certificate should have rotated several times, saw {}",
        certs_seen.len()
    );
    assert!(
        cas_seen.len() >= 4,
        "every renewal brings a new CA, saw {}",
        cas_seen.len()
    );
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Creates `n` Jobs one after another and returns the sorted create latencies.
async fn create_latencies(ns: &TestNs, n: usize, queued: bool) -> Vec<Duration> {
    let jobs: Api<Job> = Api::namespaced(ns.client(), &ns.name);
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let job = queued_job(&format!("lat{i}"), queued.then_some("lq"), Some(true));
        let t = Instant::now();
        jobs.create(&PostParams::default(), &job).await.unwrap();
        out.push(t.elapsed());
    }
    out.sort();
    out
}

/// Job create latency through the apiserver with and without the webhook (figures, not asserts).
async fn latency_figures(with: TestNs, without: TestNs) {
    const N: usize = 200;
    let base = create_latencies(&without, N, false).await;
    let hooked = create_latencies(&with, N, true).await;
    eprintln!(
        "Job create latency over {N} creates: without webhook p50 {:?} p99 {:?}; through mjob+vjob p50 {:?} p99 {:?}",
        percentile(&base, 0.5),
        percentile(&base, 0.99),
        percentile(&hooked, 0.5),
        percentile(&hooked, 0.99)
    );
}

#[tokio::test]
async fn webhook_called_by_the_apiserver_over_tls() {
    let h = Harness::get().await.expect("control plane");
    let (manager, manager_ns) = start_manager(&h).await;
    let user = h.client_as(USER).await.unwrap();
    let labels = json!({OPT_IN.0: OPT_IN.1});
    {
        let user = user.clone();
        h.run_labelled("wh-jobs", labels.clone(), |ns| {
            jobs_are_suspended_and_validated(ns, user)
        })
        .await;
    }
    excluded_namespace_is_untouched(&h, &manager_ns).await;
    {
        let user = user.clone();
        h.run_labelled("wh-kueue", labels.clone(), |ns| {
            kueue_objects_are_validated(ns, user)
        })
        .await;
    }
    {
        let h2 = h.clone();
        h.run_labelled("wh-latency", labels.clone(), move |with| async move {
            h2.run("no-webhook", move |without| latency_figures(with, without))
                .await;
        })
        .await;
    }
    let (h2, mns) = (h.clone(), manager_ns.clone());
    h.run_labelled("wh-rotate", labels, move |ns| async move {
        rotation_loses_no_request(ns, &h2, &mns).await;
    })
    .await;
    drop(manager);
}
