//! `helm install` of `charts/turnstile` into the real plane, then the manager binary run on the
//! host **as the chart's ServiceAccount** (a `kubectl create token` token) with the chart's
//! Deployment arguments and ConfigMap, and the chart's webhook Service switched to
//! `ExternalName: localhost` so that the apiserver calls the host process through the chart's own
//! webhook configurations. Any RBAC gap fails the Job lifecycle below. Then `helm upgrade` keeps
//! queues and workloads, and `helm uninstall` leaves the CRDs and the user's objects.

// Test code: failures are panics.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::too_many_lines,
    clippy::float_cmp
)]

use std::time::Duration;

use k8s_openapi::api::batch::v1::Job;
use kube::api::{Api, PostParams};
use serde_json::{Value, json};
use turnstile_e2e::jobs::{cond, is_true, of_job};
use turnstile_e2e::{Harness, ManagerProcess, free_port, wait_for};

fn helm(h: &Harness, args: &[&str]) -> String {
    let out = std::process::Command::new(h.bin.join("helm"))
        .args(args)
        .env("KUBECONFIG", &h.kubeconfig)
        .env(
            "HELM_CACHE_HOME",
            std::env::temp_dir().join("turnstile-e2e-helm/cache"),
        )
        .env(
            "HELM_CONFIG_HOME",
            std::env::temp_dir().join("turnstile-e2e-helm/config"),
        )
        .env(
            "HELM_DATA_HOME",
            std::env::temp_dir().join("turnstile-e2e-helm/data"),
        )
        .output()
        .unwrap_or_else(|e| panic!("helm: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "helm {}: {text}", args.join(" "));
    text
}

/// Uninstalls the release and removes what could block the plane, whatever happens.
struct Uninstall(Harness, String);

impl Drop for Uninstall {
    fn drop(&mut self) {
        let _ = std::process::Command::new(self.0.bin.join("helm"))
            .args(["uninstall", "turnstile", "-n", &self.1, "--wait"])
            .env("KUBECONFIG", &self.0.kubeconfig)
            .output();
        for obj in [
            "mutatingwebhookconfiguration/turnstile-mutating-webhook-configuration",
            "validatingwebhookconfiguration/turnstile-validating-webhook-configuration",
            // An aggregated API left unavailable would stall namespace deletion on the plane.
            "apiservice/v1beta2.visibility.kueue.x-k8s.io",
            "apiservice/v1beta1.visibility.kueue.x-k8s.io",
            &format!("namespace/{}", self.1),
        ] {
            let _ = self
                .0
                .kubectl(&["delete", "--ignore-not-found", "--wait=false", obj]);
        }
    }
}

/// A kubeconfig for the plane that authenticates with `token`.
fn token_kubeconfig(h: &Harness, token: &str, path: &std::path::Path) {
    let admin: serde_yaml::Value =
        serde_yaml::from_str(&std::fs::read_to_string(&h.kubeconfig).unwrap()).unwrap();
    let cluster = admin["clusters"][0].clone();
    let name = cluster["name"].clone();
    let cfg = json!({"apiVersion": "v1", "kind": "Config",
        "clusters": [serde_json::to_value(&cluster).unwrap()],
        "users": [{"name": "turnstile-sa", "user": {"token": token}}],
        "contexts": [{"name": "turnstile-sa", "context": {"cluster": serde_json::to_value(&name).unwrap(), "user": "turnstile-sa"}}],
        "current-context": "turnstile-sa"});
    std::fs::write(path, serde_yaml::to_string(&cfg).unwrap()).unwrap();
}

#[tokio::test]
async fn helm_install_runs_jobs_as_the_charts_service_account() {
    let h = Harness::get().await.expect("control plane");
    let id = std::process::id();
    let ns = format!("e2e-helm-{id}");
    let port = free_port();
    let visibility_port = free_port();
    let chart = turnstile_e2e::e2e_dir().join("../charts/turnstile");
    let chart = chart.to_str().unwrap();
    let _uninstall = Uninstall(h.clone(), ns.clone());
    let started = std::time::Instant::now();
    let port_s = port.to_string();
    helm(
        &h,
        &[
            "install",
            "turnstile",
            chart,
            "-n",
            &ns,
            "--create-namespace",
            "--set",
            "replicaCount=1",
            "--set",
            "webhookService.type=ExternalName",
            "--set",
            "webhookService.externalName=localhost",
            "--set",
            &format!("webhookService.port={port_s}"),
            "--set",
            "visibility.service.type=ExternalName",
            "--set",
            "visibility.service.externalName=localhost",
            "--set",
            &format!("visibility.service.port={visibility_port}"),
            "--set",
            "enableVisibilityAPF=true",
            "--wait",
            "--timeout",
            "120s",
        ],
    );
    eprintln!(
        "helm install --wait took {:.1} s",
        started.elapsed().as_secs_f64()
    );
    // Every object of the chart exists; kwok made the Deployment's pod Ready.
    for (kind, name) in [
        ("deployment", "turnstile-controller-manager"),
        ("serviceaccount", "turnstile-controller-manager"),
        ("configmap", "turnstile-manager-config"),
        ("service", "turnstile-webhook-service"),
        ("service", "turnstile-controller-manager-metrics-service"),
        ("role", "turnstile-manager-role"),
        ("rolebinding", "turnstile-manager-rolebinding"),
    ] {
        h.kubectl(&["get", "-n", &ns, kind, name]).unwrap();
    }
    for (kind, name) in [
        ("clusterrole", "turnstile-manager-role"),
        ("clusterrolebinding", "turnstile-manager-rolebinding"),
        (
            "mutatingwebhookconfiguration",
            "turnstile-mutating-webhook-configuration",
        ),
        (
            "validatingwebhookconfiguration",
            "turnstile-validating-webhook-configuration",
        ),
    ] {
        h.kubectl(&["get", kind, name]).unwrap();
    }
    let ready = h
        .kubectl(&[
            "get",
            "deployment",
            "-n",
            &ns,
            "turnstile-controller-manager",
            "-o",
            "jsonpath={.status.readyReplicas}",
        ])
        .unwrap();
    assert_eq!(ready.trim(), "1");

    // The manager on the host, as the chart's ServiceAccount, with the chart's arguments and file.
    let token = h
        .kubectl(&[
            "create",
            "token",
            "-n",
            &ns,
            "turnstile-controller-manager",
            "--duration=1h",
        ])
        .unwrap();
    let dir = std::env::temp_dir().join(format!("turnstile-e2e-helm-{id}"));
    std::fs::create_dir_all(&dir).unwrap();
    let kubeconfig = dir.join("kubeconfig");
    token_kubeconfig(&h, token.trim(), &kubeconfig);
    let config = h
        .kubectl(&[
            "get",
            "configmap",
            "-n",
            &ns,
            "turnstile-manager-config",
            "-o",
            "jsonpath={.data.controller_manager_config\\.yaml}",
        ])
        .unwrap();
    let config_path = dir.join("controller_manager_config.yaml");
    std::fs::write(&config_path, config).unwrap();
    let deployment: Value = serde_json::from_str(
        &h.kubectl(&[
            "get",
            "deployment",
            "-n",
            &ns,
            "turnstile-controller-manager",
            "-o",
            "json",
        ])
        .unwrap(),
    )
    .unwrap();
    let chart_args: Vec<String> = deployment["spec"]["template"]["spec"]["containers"][0]["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_owned())
        .collect();
    let after = chart_args.iter().position(|a| a == "manager").unwrap() + 1;
    let mut args: Vec<String> = chart_args[after..]
        .iter()
        .map(|a| {
            if a == "/etc/turnstile/controller_manager_config.yaml" {
                config_path.display().to_string()
            } else {
                a.clone()
            }
        })
        .collect();
    args.extend(
        [
            "--namespace",
            &ns,
            "--identity",
            "e2e-helm",
            "--webhook-addr",
            &format!("[::]:{port}"),
            "--visibility-addr",
            &format!("[::]:{visibility_port}"),
        ]
        .iter()
        .map(|s| (*s).to_owned()),
    );
    let manager = ManagerProcess::start_with_kubeconfig(&h, &kubeconfig, &args, vec![]).await;

    // The examples (the demo's queue and Jobs), through the chart's webhook configurations.
    let examples = turnstile_e2e::e2e_dir().join("../examples");
    let queue_docs = turnstile_e2e::read_manifests(&examples.join("demo-queue.yaml")).unwrap();
    let job_docs = turnstile_e2e::read_manifests(&examples.join("demo-jobs.yaml")).unwrap();
    let job_names: Vec<String> = job_docs
        .iter()
        .map(|d| d["metadata"]["name"].as_str().unwrap().to_owned())
        .collect();
    let n_jobs = job_names.len();
    let cq = "demo".to_owned();
    let cluster_objects: Vec<String> = queue_docs
        .iter()
        .filter(|d| d["kind"] != "LocalQueue")
        .map(|d| {
            format!(
                "{}/{}",
                d["kind"].as_str().unwrap().to_lowercase(),
                d["metadata"]["name"].as_str().unwrap()
            )
        })
        .collect();
    h.run("helm-jobs", move |tns| async move {
        for doc in &queue_docs {
            if doc["kind"] == "LocalQueue" {
                tns.apply_doc(doc).await.unwrap();
            } else {
                // Cluster-scoped objects the run does not clean up: they must outlive it.
                turnstile_e2e::apply_cluster_object(&tns.client(), doc).await;
            }
        }
        let jobs = Api::<Job>::namespaced(tns.client(), &tns.name);
        for doc in &job_docs {
            let job: Job = serde_json::from_value(doc.clone()).unwrap();
            let created = jobs.create(&PostParams::default(), &job).await.unwrap();
            assert_eq!(
                created.spec.and_then(|s| s.suspend),
                Some(true),
                "suspended by the chart's webhook"
            );
        }
        let all = wait_for(
            Duration::from_mins(2),
            "every demo Job's Workload finished",
            || {
                let tns = tns.clone();
                let names = job_names.clone();
                async move {
                    let all = turnstile_e2e::list_workloads(&tns).await.ok()?;
                    names
                        .iter()
                        .all(|j| of_job(&all, j).is_some_and(|w| is_true(w, "Finished")))
                        .then_some(all)
                }
            },
        )
        .await
        .unwrap();
        for j in &job_names {
            let w = of_job(&all, j).unwrap();
            assert_eq!(cond(w, "Finished").unwrap().reason, "Succeeded", "{j}");
        }
        // The ClusterQueue got the in-use finalizer from the webhook.
        let fin = tns
            .harness
            .kubectl(&[
                "get",
                "clusterqueue",
                "demo",
                "-o",
                "jsonpath={.metadata.finalizers}",
            ])
            .unwrap();
        assert!(fin.contains("kueue.x-k8s.io/resource-in-use"), "{fin}");
        // Kept for the upgrade/uninstall checks below: the namespace goes, the queue stays.
    })
    .await;
    // Kueue's visibility API through the chart's APIService, served by the manager as the chart's
    // ServiceAccount (the chart's RBAC: the CA injected, the front-proxy CA read, reviews asked).
    let pending = wait_for(
        Duration::from_mins(1),
        "the chart's visibility APIService serving",
        || {
            let h = h.clone();
            async move {
                h.kubectl(&[
                    "get",
                    "--raw",
                    "/apis/visibility.kueue.x-k8s.io/v1beta2/clusterqueues/demo/pendingworkloads",
                ])
                .ok()
            }
        },
    )
    .await
    .unwrap();
    let pending: Value = serde_json::from_str(&pending).unwrap();
    assert_eq!(pending["kind"], "PendingWorkloadsSummary");
    assert_eq!(pending["items"], json!([]), "every demo Job has finished");
    // With `enableVisibilityAPF`, kube-apiserver classifies visibility requests under the
    // chart's FlowSchema and priority level (it names both in its response headers): a user's
    // request (the admin here is exempt from APF), classified before it is authorized.
    let uid = |kind: &str| {
        h.kubectl(&[
            "get",
            kind,
            "turnstile-visibility",
            "-o",
            "jsonpath={.metadata.uid}",
        ])
        .unwrap()
    };
    let (flow_schema, priority_level) = (uid("flowschema"), uid("prioritylevelconfiguration"));
    let verbose = std::process::Command::new(h.bin.join("kubectl"))
        .arg("--kubeconfig")
        .arg(&h.kubeconfig)
        .args([
            "get",
            "--raw",
            "/apis/visibility.kueue.x-k8s.io/v1beta2/clusterqueues/demo/pendingworkloads",
            "--as=e2e-apf-user",
            "-v=8",
        ])
        .output()
        .unwrap();
    let headers = String::from_utf8_lossy(&verbose.stderr).to_lowercase();
    assert!(
        !flow_schema.is_empty()
            && headers.contains(&format!("x-kubernetes-pf-flowschema-uid: {flow_schema}"))
            && headers.contains(&format!(
                "x-kubernetes-pf-prioritylevel-uid: {priority_level}"
            )),
        "{flow_schema} / {priority_level}\n{headers}"
    );
    let text = manager.scrape();
    assert_eq!(
        ManagerProcess::metric(
            &text,
            "kueue_admitted_workloads_total",
            &[("cluster_queue", &cq)]
        ),
        f64::from(u32::try_from(n_jobs).unwrap()),
        "{text}"
    );
    assert_eq!(
        ManagerProcess::metric(
            &text,
            "kueue_finished_workloads_total",
            &[("cluster_queue", &cq)]
        ),
        f64::from(u32::try_from(n_jobs).unwrap())
    );
    let writes: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("turnstile_api_writes_total"))
        .collect();
    eprintln!("{}", writes.join("\n"));
    for refused in ["forbidden", "error"] {
        let n = ManagerProcess::metric(&text, "turnstile_api_writes_total", &[("result", refused)]);
        assert_eq!(n, 0.0, "no write was refused (RBAC): {writes:?}");
    }

    // Upgrade: same release, a changed value; queues stay.
    helm(
        &h,
        &[
            "upgrade",
            "turnstile",
            chart,
            "-n",
            &ns,
            "--reuse-values",
            "--set",
            "leaderElection.leaseDurationSeconds=20",
            "--wait",
            "--timeout",
            "120s",
        ],
    );
    h.kubectl(&["get", "clusterqueue", &cq]).unwrap();
    let lease = h
        .kubectl(&[
            "get",
            "deployment",
            "-n",
            &ns,
            "turnstile-controller-manager",
            "-o",
            "jsonpath={.spec.template.spec.containers[0].args}",
        ])
        .unwrap();
    assert!(lease.contains("\"20\""), "{lease}");

    // Uninstall: the chart's objects go; CRDs and the user's queues stay.
    drop(manager);
    helm(&h, &["uninstall", "turnstile", "-n", &ns, "--wait"]);
    for (kind, name) in [
        ("clusterrole", "turnstile-manager-role"),
        (
            "mutatingwebhookconfiguration",
            "turnstile-mutating-webhook-configuration",
        ),
    ] {
        wait_for(
            Duration::from_secs(30),
            &format!("{kind} {name} gone"),
            || async { h.kubectl(&["get", kind, name]).is_err().then_some(()) },
        )
        .await
        .unwrap();
    }
    h.kubectl(&["get", "crd", "clusterqueues.kueue.x-k8s.io"])
        .unwrap();
    h.kubectl(&["get", "clusterqueue", &cq]).unwrap();
    // As documented: with Turnstile gone, the in-use finalizers are removed by hand.
    for obj in &cluster_objects {
        h.kubectl(&["get", obj]).unwrap();
        h.kubectl(&[
            "patch",
            obj,
            "--type=merge",
            "-p",
            "{\"metadata\":{\"finalizers\":null}}",
        ])
        .unwrap();
        h.kubectl(&["delete", obj, "--ignore-not-found"]).unwrap();
    }
    let _ = std::fs::remove_dir_all(&dir);
}
