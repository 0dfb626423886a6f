//! Kueue's deprecated v1beta1 through the real apiserver and Turnstile's conversion webhook: a
//! Kueue user's v1beta1 manifests applied with kubectl (the apiserver's deprecation warning
//! shown), read as v1beta2 (stored) and back as v1beta1, and a Job queued through a v1beta1
//! LocalQueue admitted, its usage read in v1beta1's shape.
//!
//! A binary of its own: it points the plane's shared CRDs at this test's manager for the time of
//! the test, then sets them back to no conversion.

// Test code: failures are panics.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::too_many_lines
)]

use std::time::Duration;

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::{Value, json};
use turnstile_e2e::jobs::{OPT_IN, job};
use turnstile_e2e::{Harness, ManagerProcess, TestNs, UrlWebhooks, free_port, wait_for};

const CONVERTED: &[&str] = &[
    "clusterqueues.kueue.x-k8s.io",
    "cohorts.kueue.x-k8s.io",
    "localqueues.kueue.x-k8s.io",
    "workloads.kueue.x-k8s.io",
];

/// Runs kubectl, returning (stdout, stderr); panics on failure.
fn kubectl(h: &Harness, args: &[&str], stdin: Option<&str>) -> (String, String) {
    use std::io::Write;
    let mut child = std::process::Command::new(h.bin.join("kubectl"))
        .arg("--kubeconfig")
        .arg(&h.kubeconfig)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(s) = stdin {
        child.stdin.take().unwrap().write_all(s.as_bytes()).unwrap();
    }
    drop(child.stdin.take());
    let out = child.wait_with_output().unwrap();
    let (o, e) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert!(out.status.success(), "kubectl {}: {e}", args.join(" "));
    (o, e)
}

fn get(h: &Harness, resource: &str, ns: Option<&str>) -> Value {
    let mut args = vec!["get", resource, "-o", "json"];
    if let Some(ns) = ns {
        args.extend(["-n", ns]);
    }
    serde_json::from_str(&kubectl(h, &args, None).0).unwrap()
}

async fn scenario(ns: TestNs, h: Harness, id: u32) {
    let (cq, rf, wpc) = (
        format!("e2e-v1b1-{id}"),
        format!("e2e-v1b1-od-{id}"),
        format!("e2e-v1b1-high-{id}"),
    );
    for (kind, name) in [
        ("ClusterQueue", &cq),
        ("ResourceFlavor", &rf),
        ("WorkloadPriorityClass", &wpc),
    ] {
        let (ar, _) = turnstile_e2e::api_resource("kueue.x-k8s.io/v1beta2", kind).unwrap();
        ns.track(&ar, name);
    }
    let label = format!("{}: {}", OPT_IN.0, OPT_IN.1);
    // The manifests a Kueue user wrote before v1beta2 (field names of v1beta1).
    let manifests = format!(
        r"
apiVersion: kueue.x-k8s.io/v1beta1
kind: ResourceFlavor
metadata:
  name: {rf}
  labels: {{{label}}}
spec:
  nodeLabels:
    instance-type: on-demand
---
apiVersion: kueue.x-k8s.io/v1beta1
kind: WorkloadPriorityClass
metadata:
  name: {wpc}
value: 1000
---
apiVersion: kueue.x-k8s.io/v1beta1
kind: ClusterQueue
metadata:
  name: {cq}
  labels: {{{label}}}
spec:
  cohort: team-{id}
  namespaceSelector: {{}}
  flavorFungibility:
    whenCanBorrow: Borrow
    whenCanPreempt: Preempt
  resourceGroups:
  - coveredResources: [cpu]
    flavors:
    - name: {rf}
      resources:
      - name: cpu
        nominalQuota: 4
---
apiVersion: kueue.x-k8s.io/v1beta1
kind: LocalQueue
metadata:
  name: lq
  namespace: {ns}
spec:
  clusterQueue: {cq}
---
apiVersion: kueue.x-k8s.io/v1beta1
kind: Workload
metadata:
  name: made-by-hand
  namespace: {ns}
spec:
  queueName: lq
  priorityClassSource: kueue.x-k8s.io/workloadpriorityclass
  priorityClassName: {wpc}
  priority: 1000
  active: false
  podSets:
  - name: main
    count: 1
    template:
      spec:
        restartPolicy: Never
        containers:
        - name: c
          image: busybox
          resources:
            requests:
              cpu: 1
",
        ns = ns.name
    );
    let (_, warnings) = kubectl(&h, &["apply", "-f", "-"], Some(&manifests));
    assert!(
        warnings.contains("This version is deprecated. Use v1beta2 instead."),
        "kubectl shows the deprecation warning: {warnings}"
    );
    // Stored (and read) as v1beta2.
    let v2 = get(
        &h,
        &format!("clusterqueues.v1beta2.kueue.x-k8s.io/{cq}"),
        None,
    );
    assert_eq!(v2["spec"]["cohortName"], format!("team-{id}"));
    assert!(v2["spec"].get("cohort").is_none());
    assert_eq!(
        v2["spec"]["flavorFungibility"],
        json!({"whenCanBorrow": "MayStopSearch", "whenCanPreempt": "MayStopSearch"})
    );
    let w2 = get(
        &h,
        "workloads.v1beta2.kueue.x-k8s.io/made-by-hand",
        Some(&ns.name),
    );
    assert_eq!(
        w2["spec"]["priorityClassRef"],
        json!({"group": "kueue.x-k8s.io", "kind": "WorkloadPriorityClass", "name": wpc})
    );
    // And back as v1beta1.
    let v1 = get(
        &h,
        &format!("clusterqueues.v1beta1.kueue.x-k8s.io/{cq}"),
        None,
    );
    assert_eq!(v1["apiVersion"], "kueue.x-k8s.io/v1beta1");
    assert_eq!(v1["spec"]["cohort"], format!("team-{id}"));
    let w1 = get(&h, "workloads.v1beta1.kueue.x-k8s.io", Some(&ns.name));
    assert_eq!(w1["items"][0]["spec"]["priorityClassName"], json!(wpc));
    assert_eq!(
        w1["items"][0]["spec"]["priorityClassSource"],
        "kueue.x-k8s.io/workloadpriorityclass"
    );
    // A v1beta1 edit (server-side, through the conversion) lands in v1beta2.
    kubectl(
        &h,
        &[
            "patch",
            &format!("clusterqueues.v1beta1.kueue.x-k8s.io/{cq}"),
            "--type=merge",
            "-p",
            r#"{"spec":{"cohort":"renamed"}}"#,
        ],
        None,
    );
    let v2 = get(
        &h,
        &format!("clusterqueues.v1beta2.kueue.x-k8s.io/{cq}"),
        None,
    );
    assert_eq!(v2["spec"]["cohortName"], "renamed");
    // A Job through the v1beta1 LocalQueue is admitted; the usage reads in v1beta1's shape.
    Api::<k8s_openapi::api::core::v1::Namespace>::all(ns.client())
        .patch(
            &ns.name,
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {OPT_IN.0: OPT_IN.1}}})),
        )
        .await
        .unwrap();
    Api::<Job>::namespaced(ns.client(), &ns.name)
        .create(
            &PostParams::default(),
            &job("j", "1", "600s", &json!({}), &json!({})),
        )
        .await
        .unwrap();
    let usage = wait_for(
        Duration::from_mins(1),
        "usage in the v1beta1 LocalQueue",
        || {
            let h = h.clone();
            let ns = ns.name.clone();
            async move {
                let lq = get(&h, "localqueues.v1beta1.kueue.x-k8s.io/lq", Some(&ns));
                let u = lq["status"]["flavorUsage"].clone();
                (u.is_array() && lq["status"]["admittedWorkloads"] == 1).then_some(u)
            }
        },
    )
    .await
    .unwrap();
    assert_eq!(usage[0]["name"], json!(rf));
    assert!(
        get(&h, "localqueues.v1beta1.kueue.x-k8s.io/lq", Some(&ns.name))["status"]
            .get("flavorsUsage")
            .is_none()
    );
    println!(
        "v1beta1: 5 v1beta1 manifests applied (deprecation warning shown), stored as v1beta2, read back as v1beta1, a v1beta1 patch converted, a Job admitted through the v1beta1 LocalQueue (usage {usage})"
    );
}

#[tokio::test]
async fn kueue_v1beta1_manifests_work_through_the_conversion_webhook() {
    let h = Harness::get().await.expect("control plane");
    let id = std::process::id();
    let port = free_port();
    let hooks = UrlWebhooks::register(&h, "e2e-v1b1", port, OPT_IN).await;
    let mut args = hooks.manager_args(port);
    args.extend(
        ["--identity", "e2e-v1b1", "--crd-conversion-webhook", "true"]
            .iter()
            .map(|s| (*s).to_owned()),
    );
    let manager = ManagerProcess::start(&h, &args, hooks.cleanup()).await;
    let crds: Api<CustomResourceDefinition> = Api::all(h.client.clone());
    wait_for(
        Duration::from_secs(30),
        "the CRDs' conversion webhook set",
        || {
            let crds = crds.clone();
            async move {
                for name in CONVERTED {
                    let c = crds.get(name).await.ok()?;
                    let conv = c.spec.conversion?;
                    let url = conv.webhook?.client_config?.url?;
                    (conv.strategy == "Webhook"
                        && url == format!("https://127.0.0.1:{port}/convert"))
                    .then_some(())?;
                }
                Some(())
            }
        },
    )
    .await
    .unwrap();
    let h2 = h.clone();
    h.run_labelled("v1b1", json!({OPT_IN.0: OPT_IN.1}), move |ns| {
        scenario(ns, h2, id)
    })
    .await;
    drop(manager);
    // The CRDs back to no conversion: the next tests on the plane have no webhook at that URL.
    for name in CONVERTED {
        crds.patch(
            name,
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"conversion": {"strategy": "None", "webhook": null}}})),
        )
        .await
        .unwrap();
    }
}
