//! Kueue's visibility API through the real kube-apiserver's aggregation layer: the chart's
//! APIServices, Service (ExternalName to the manager on this host), RBAC and viewer roles, rendered
//! by `helm template` and applied; the manager injects its CA into the APIServices, authenticates
//! the front proxy's client certificate and asks SubjectAccessReviews. Checked: discovery
//! (`kubectl api-resources`), `kubectl get --raw` of ClusterQueue and LocalQueue pending workloads
//! with positions, `limit`/`offset`, v1beta1, NotFound, who may read what (impersonated users and
//! Kueue's lq-viewer role), kueuectl's POSITION column, and that the positions are the order in
//! which the scheduler then admits.
//! A binary of its own: the APIServices are cluster-wide and have fixed names.

// Test code: failures are panics.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::too_many_lines
)]

use std::time::Duration;

use serde_json::{Value, json};
use turnstile_e2e::{Harness, ManagerProcess, free_port, wait_for};

const GROUP_PATH: &str = "/apis/visibility.kueue.x-k8s.io";

fn cq(name: &str, flavor: &str, selector: &str, nominal: &str) -> Value {
    json!({"apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "ClusterQueue", "metadata": {"name": name},
        "spec": {"namespaceSelector": {"matchLabels": {"e2e.turnstile.dev/vis": selector}},
            "resourceGroups": [{"coveredResources": ["cpu"], "flavors": [{"name": flavor, "resources": [{"name": "cpu", "nominalQuota": nominal}]}]}]}})
}

fn workload(name: &str, queue: &str, priority: i32) -> Value {
    json!({"apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "Workload", "metadata": {"name": name},
        "spec": {"queueName": queue, "priority": priority, "podSets": [{"name": "main", "count": 1, "template": {"spec": {
            "restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox", "resources": {"requests": {"cpu": "1"}}}]}}}]}})
}

/// `(name, positionInClusterQueue, positionInLocalQueue)` of a summary.
fn items(summary: &Value) -> Vec<(String, i64, i64)> {
    summary["items"]
        .as_array()
        .unwrap_or_else(|| panic!("not a summary: {summary}"))
        .iter()
        .map(|i| {
            (
                i["metadata"]["name"].as_str().unwrap().to_owned(),
                i["positionInClusterQueue"].as_i64().unwrap(),
                i["positionInLocalQueue"].as_i64().unwrap(),
            )
        })
        .collect()
}

fn raw(h: &Harness, path: &str, user: Option<&str>) -> Result<Value, String> {
    let mut args = vec!["get", "--raw", path];
    if let Some(u) = user {
        args.extend(["--as", u, "--as-group", "system:authenticated"]);
    }
    h.kubectl(&args)
        .map(|out| serde_json::from_str(&out).unwrap_or_else(|e| panic!("{path}: {e}: {out}")))
        .map_err(|e| e.to_string())
}

/// kueuectl (Kueue's `cmd/kueuectl`, built from its Go module by e2e/tools/kueue-e2e.sh; CI
/// builds it before the e2e tests and passes it in `TURNSTILE_E2E_KUEUECTL`).
fn kueuectl() -> std::path::PathBuf {
    if let Some(p) = std::env::var_os("TURNSTILE_E2E_KUEUECTL") {
        return p.into();
    }
    let script = turnstile_e2e::e2e_dir().join("tools/kueue-e2e.sh");
    let out = std::process::Command::new("bash")
        .arg(script)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dir = String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .unwrap()
        .to_owned();
    std::path::PathBuf::from(dir).join("tree/bin/kubectl-kueue")
}

/// Deletes the APIServices first (an unavailable aggregated API would stall namespace deletion
/// on the shared plane), then the rest of the rendered objects.
struct Uninstall(Harness, Vec<String>);

impl Drop for Uninstall {
    fn drop(&mut self) {
        for obj in &self.1 {
            // `kind/name` or `kind/name -n namespace`.
            let mut args = vec!["delete", "--ignore-not-found", "--wait=false"];
            args.extend(obj.split_whitespace());
            let _ = self.0.kubectl(&args);
        }
    }
}

#[tokio::test]
async fn pending_workloads_are_listed_through_the_aggregation_layer() {
    let h = Harness::get().await.expect("control plane");
    let id = std::process::id();
    let sys = format!("e2e-vis-system-{id}");
    let sel = format!("v{id}");
    let (cq_name, flavor) = (format!("e2e-vis-{id}"), format!("e2e-vis-{id}"));
    h.kubectl(&["create", "namespace", &sys]).unwrap();
    let port = free_port();

    // The chart's visibility objects, as `helm install` would create them for a manager on this host.
    let chart = turnstile_e2e::e2e_dir().join("../charts/turnstile");
    let out = std::process::Command::new(h.bin.join("helm"))
        .args(["template", "turnstile"])
        .arg(&chart)
        .args(["-n", &sys, "--show-only", "templates/visibility.yaml"])
        .args(["--set", "visibility.service.type=ExternalName"])
        .args(["--set", "visibility.service.externalName=localhost"])
        .args(["--set", &format!("visibility.service.port={port}")])
        .env(
            "HELM_CACHE_HOME",
            std::env::temp_dir().join("turnstile-e2e-vis-helm"),
        )
        .env(
            "HELM_CONFIG_HOME",
            std::env::temp_dir().join("turnstile-e2e-vis-helm"),
        )
        .env(
            "HELM_DATA_HOME",
            std::env::temp_dir().join("turnstile-e2e-vis-helm"),
        )
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rendered = std::env::temp_dir().join(format!("turnstile-e2e-vis-{id}.yaml"));
    std::fs::write(&rendered, &out.stdout).unwrap();
    let _uninstall = Uninstall(
        h.clone(),
        vec![
            "apiservice/v1beta2.visibility.kueue.x-k8s.io".into(),
            "apiservice/v1beta1.visibility.kueue.x-k8s.io".into(),
            "rolebinding/turnstile-visibility-server-auth-reader -n kube-system".into(),
            "clusterrole/turnstile-pending-workloads-cq-viewer-role".into(),
            "clusterrole/turnstile-pending-workloads-lq-viewer-role".into(),
            format!("clusterqueue/{cq_name}"),
            format!("resourceflavor/{flavor}"),
            format!("namespace/{sys}"),
        ],
    );
    h.kubectl(&["apply", "-f", rendered.to_str().unwrap()])
        .unwrap();
    let _ = std::fs::remove_file(&rendered);

    let args = turnstile_e2e::scheduler_args(
        &sys,
        "e2e-vis",
        &["--visibility-addr", &format!("[::]:{port}")],
    );
    let _manager = ManagerProcess::start(&h, &args, vec![]).await;

    // The CA injected, kube-apiserver's availability check through the front proxy passed.
    for version in ["v1beta2", "v1beta1"] {
        let name = format!("{version}.visibility.kueue.x-k8s.io");
        wait_for(
            Duration::from_mins(1),
            &format!("APIService {name} Available"),
            || {
                let h = h.clone();
                let name = name.clone();
                async move {
                    let out = h
                        .kubectl(&["get", "apiservice", &name, "-o", "json"])
                        .ok()?;
                    let v: Value = serde_json::from_str(&out).ok()?;
                    let available = v["status"]["conditions"]
                        .as_array()?
                        .iter()
                        .any(|c| c["type"] == "Available" && c["status"] == "True");
                    (available
                        && v["spec"]["caBundle"].is_string()
                        && v["spec"]["insecureSkipTLSVerify"] != true)
                        .then_some(())
                }
            },
        )
        .await
        .unwrap();
    }
    // Discovery: both versions listed (kube-apiserver refreshes an aggregated API's documents on
    // its own schedule), and each version's resource list read through the aggregation layer.
    wait_for(
        Duration::from_secs(30),
        "the visibility versions discovered",
        || {
            let h = h.clone();
            async move {
                let out = h.kubectl(&["api-versions"]).ok()?;
                (out.contains("visibility.kueue.x-k8s.io/v1beta2")
                    && out.contains("visibility.kueue.x-k8s.io/v1beta1"))
                .then_some(())
            }
        },
    )
    .await
    .unwrap();
    let list = raw(&h, &format!("{GROUP_PATH}/v1beta2"), None).unwrap();
    let names: Vec<&str> = list["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "clusterqueues",
            "clusterqueues/pendingworkloads",
            "localqueues",
            "localqueues/pendingworkloads"
        ]
    );

    let kueuectl = kueuectl();
    let h2 = h.clone();
    h.run_labelled("vis", json!({"e2e.turnstile.dev/vis": sel.clone()}), move |ns| async move {
        let h = h2;
        ns.apply_doc(&json!({"apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "ResourceFlavor", "metadata": {"name": flavor}})).await.unwrap();
        ns.apply_doc(&cq(&cq_name, &flavor, &sel, "0")).await.unwrap();
        for lq in ["lq", "other"] {
            ns.apply_doc(&json!({"apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "LocalQueue", "metadata": {"name": lq}, "spec": {"clusterQueue": cq_name}})).await.unwrap();
        }
        // Mixed priorities and LocalQueues; created one after another (creation time breaks ties
        // within a priority, to the second: 1.1 s apart).
        let specs = [("w-low-1", "lq", 0), ("w-mid-1", "other", 5), ("w-low-2", "other", 0), ("w-high", "lq", 9), ("w-mid-2", "lq", 5)];
        for (name, queue, prio) in specs {
            ns.apply_doc(&workload(name, queue, prio)).await.unwrap();
            tokio::time::sleep(Duration::from_millis(1100)).await;
        }
        let cq_path = format!("{GROUP_PATH}/v1beta2/clusterqueues/{cq_name}/pendingworkloads");
        let expected: Vec<(String, i64, i64)> = [("w-high", 0, 0), ("w-mid-1", 1, 0), ("w-mid-2", 2, 1), ("w-low-1", 3, 2), ("w-low-2", 4, 1)]
            .iter()
            .map(|(n, c, l)| ((*n).to_owned(), *c, *l))
            .collect();
        let summary = wait_for(Duration::from_secs(45), "all five listed", || {
            let h = h.clone();
            let path = cq_path.clone();
            async move { raw(&h, &path, None).ok().filter(|s| items(s).len() == 5) }
        })
        .await
        .unwrap();
        assert_eq!(summary["kind"], "PendingWorkloadsSummary");
        assert_eq!(summary["apiVersion"], "visibility.kueue.x-k8s.io/v1beta2");
        assert_eq!(items(&summary), expected);
        let first = &summary["items"][0];
        assert_eq!((first["priority"].as_i64(), first["localQueueName"].as_str()), (Some(9), Some("lq")));
        assert_eq!(first["metadata"]["namespace"].as_str(), Some(ns.name.as_str()));
        assert!(first["metadata"]["creationTimestamp"].is_string());

        let page = raw(&h, &format!("{cq_path}?limit=2&offset=1"), None).unwrap();
        assert_eq!(items(&page), expected[1..3].to_vec());
        let lq = raw(&h, &format!("{GROUP_PATH}/v1beta2/namespaces/{}/localqueues/lq/pendingworkloads", ns.name), None).unwrap();
        assert_eq!(items(&lq), vec![expected[0].clone(), expected[2].clone(), expected[3].clone()]);
        let old = raw(&h, &format!("{GROUP_PATH}/v1beta1/clusterqueues/{cq_name}/pendingworkloads"), None).unwrap();
        assert_eq!(old["apiVersion"], "visibility.kueue.x-k8s.io/v1beta1");
        assert_eq!(items(&old), expected);
        let missing = raw(&h, &format!("{GROUP_PATH}/v1beta2/clusterqueues/e2e-vis-none/pendingworkloads"), None).unwrap_err();
        assert!(missing.contains("NotFound") || missing.contains("not found"), "{missing}");

        // Who may read: nobody without a role; Kueue's lq-viewer role in the namespace gives its
        // LocalQueues only.
        let lq_path = format!("{GROUP_PATH}/v1beta2/namespaces/{}/localqueues/lq/pendingworkloads", ns.name);
        let denied = raw(&h, &cq_path, Some("e2e-vis-alice")).unwrap_err();
        assert!(denied.contains("Forbidden") || denied.contains("forbidden"), "{denied}");
        assert!(raw(&h, &lq_path, Some("e2e-vis-alice")).is_err());
        h.kubectl(&["create", "rolebinding", "alice-lq", "-n", &ns.name, "--clusterrole=turnstile-pending-workloads-lq-viewer-role", "--user=e2e-vis-alice"]).unwrap();
        let allowed = wait_for(Duration::from_secs(30), "alice allowed the LocalQueue", || {
            let h = h.clone();
            let path = lq_path.clone();
            async move { raw(&h, &path, Some("e2e-vis-alice")).ok() }
        })
        .await
        .unwrap();
        assert_eq!(items(&allowed).len(), 3);
        assert!(raw(&h, &cq_path, Some("e2e-vis-alice")).is_err(), "still not the ClusterQueue");

        // kueuectl's POSITION column: each pending workload's position in its LocalQueue.
        let out = std::process::Command::new(&kueuectl)
            .args(["list", "workload", "-n", &ns.name, "--kubeconfig"])
            .arg(&h.kubeconfig)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
        let header: Vec<&str> = text.lines().next().unwrap().split("  ").map(str::trim).filter(|s| !s.is_empty()).collect();
        let col = header.iter().position(|c| *c == "POSITION IN QUEUE").unwrap_or_else(|| panic!("{text}"));
        for (name, _, in_lq) in &expected {
            let row: Vec<&str> = text.lines().find(|l| l.starts_with(name.as_str())).unwrap_or_else(|| panic!("{name}: {text}")).split_whitespace().collect();
            // NAME, (JOB TYPE, JOB NAME: empty without a Job), LOCALQUEUE, CLUSTERQUEUE, STATUS,
            // POSITION IN QUEUE, (EXEC TIME: empty while pending), AGE.
            assert_eq!(row.len(), 6, "{row:?} (header {header:?})");
            assert_eq!((row[3], row[4]), ("PENDING", in_lq.to_string().as_str()), "{name} at column {col} of {header:?}");
        }
        println!("kueuectl list workload:\n{text}");

        // The positions are the admission order: one cpu more at a time admits the next.
        let order: Vec<String> = expected.iter().map(|(n, ..)| n.clone()).collect();
        let mut admitted: Vec<String> = Vec::new();
        for n in 1..=order.len() {
            ns.apply_doc(&cq(&cq_name, &flavor, &sel, &n.to_string())).await.unwrap();
            let all = turnstile_e2e::until_workloads(&ns, &format!("{n} admitted"), |all| {
                all.values().filter(|w| turnstile_e2e::reserving(w)).count() == n
            })
            .await;
            let newly: Vec<String> = all.iter().filter(|(k, w)| turnstile_e2e::reserving(w) && !admitted.contains(k)).map(|(k, _)| k.clone()).collect();
            assert_eq!(newly.len(), 1, "{newly:?}");
            admitted.extend(newly);
            let left = raw(&h, &cq_path, None).unwrap();
            assert_eq!(items(&left).iter().map(|(n, ..)| n.clone()).collect::<Vec<_>>(), order[n..].to_vec());
        }
        assert_eq!(admitted, order);
    })
    .await;
}
