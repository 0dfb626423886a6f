//! End-to-end test harness for Turnstile on a real control plane (see `e2e/README.md`).
//!
//! Responsibility: connect to the plane started by `e2e/cluster.sh up` (its kubeconfig is found
//! through `$KUBECONFIG` as written by `cluster.sh env`, or under `$TURNSTILE_E2E_DIR`), install the
//! generated CRDs once, give each test its own namespace, remove what the test made, and print the
//! state of the namespace when a test fails. It must not fake any part of Kubernetes.
//!
//! ```text
//!   test ──> Harness::get() ──> kube Client (plane kubeconfig) ──> CRDs applied + Established
//!     └──> harness.run("name", |ns| async { ... })
//!            create Namespace e2e-<name>-<n> ─> body (panics = failure)
//!            failure: dump events + objects ─> delete namespace + tracked cluster objects
//! ```

// A test harness reports failure the way tests do: by panicking.
#![allow(clippy::panic)]

use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, ApiResource, DeleteParams, DynamicObject, Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use serde_json::Value;
use tokio::sync::OnceCell;

pub mod faults;
pub mod jobs;

/// Errors of the harness.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No control plane could be found.
    #[error(
        "no control plane: {0} (start one with `bash e2e/cluster.sh up` and `source <(bash e2e/cluster.sh env)`)"
    )]
    NoPlane(String),
    /// A Kubernetes API call failed.
    #[error("{action}: {source}")]
    Kube {
        /// What was being done.
        action: String,
        /// The client error.
        source: kube::Error,
    },
    /// Something did not happen in time.
    #[error("timed out after {0:?} waiting for {1}")]
    Timeout(Duration, String),
    /// A manifest could not be read.
    #[error("manifest {0}: {1}")]
    Manifest(String, String),
    /// A command failed.
    #[error("command {0}: {1}")]
    Command(String, String),
}

/// Result type of the harness.
pub type Result<T, E = Error> = std::result::Result<T, E>;

fn kube_err(action: impl Into<String>) -> impl FnOnce(kube::Error) -> Error {
    let action = action.into();
    move |source| Error::Kube { action, source }
}

/// Connection to the plane. Each test makes its own (a client lives on the runtime of the test
/// that made it); the CRDs are installed once per test binary.
#[derive(Clone)]
pub struct Harness {
    /// Client with the plane's admin credentials.
    pub client: Client,
    /// Path of the plane's kubeconfig.
    pub kubeconfig: PathBuf,
    /// Directory of the plane's binaries (kubectl, ...).
    pub bin: PathBuf,
}

static CRDS_INSTALLED: OnceCell<()> = OnceCell::const_new();
static COUNTER: AtomicU32 = AtomicU32::new(0);

fn plane_dir() -> PathBuf {
    std::env::var_os("TURNSTILE_E2E_DIR")
        .map_or_else(|| std::env::temp_dir().join("turnstile-e2e"), PathBuf::from)
}

fn find_kubeconfig() -> Result<PathBuf> {
    let from_dir = plane_dir().join("kubeconfig");
    if from_dir.is_file() {
        return Ok(from_dir);
    }
    match std::env::var_os("KUBECONFIG") {
        Some(p) if PathBuf::from(&p).is_file() => Ok(PathBuf::from(p)),
        _ => Err(Error::NoPlane(format!(
            "{} does not exist",
            from_dir.display()
        ))),
    }
}

fn find_bin() -> Result<PathBuf> {
    if let Some(bin) = std::env::var_os("TURNSTILE_E2E_BIN") {
        return Ok(PathBuf::from(bin));
    }
    let env_file = plane_dir().join("env");
    let text = std::fs::read_to_string(&env_file)
        .map_err(|e| Error::NoPlane(format!("{}: {e}", env_file.display())))?;
    text.lines()
        .find_map(|l| l.strip_prefix("export TURNSTILE_E2E_BIN="))
        .map(|v| PathBuf::from(v.trim_matches('"').trim_matches('\'')))
        .ok_or_else(|| Error::NoPlane(format!("{} has no TURNSTILE_E2E_BIN", env_file.display())))
}

impl Harness {
    /// SIGKILLs the plane's kube-apiserver, keeps it down for `down`, starts it again on the same
    /// port and waits until it is ready (`e2e/cluster.sh restart-apiserver`). Every other test
    /// on the plane sees the outage: call it only from a test binary of its own.
    ///
    /// # Panics
    /// When the script fails.
    pub fn restart_apiserver(&self, down: Duration) {
        let state = self
            .kubeconfig
            .parent()
            .unwrap_or_else(|| panic!("{} has no directory", self.kubeconfig.display()));
        let out = std::process::Command::new("bash")
            .arg(e2e_dir().join("cluster.sh"))
            .arg("restart-apiserver")
            .arg(down.as_secs().to_string())
            .env("TURNSTILE_E2E_DIR", state)
            .output()
            .unwrap_or_else(|e| panic!("running cluster.sh: {e}"));
        assert!(
            out.status.success(),
            "cluster.sh restart-apiserver failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Connects to the plane; the first call in a test binary also installs the CRDs.
    pub async fn get() -> Result<Harness> {
        let kubeconfig = find_kubeconfig()?;
        let bin = find_bin()?;
        let kc = Kubeconfig::read_from(&kubeconfig).map_err(|e| Error::NoPlane(e.to_string()))?;
        let config = Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
            .await
            .map_err(|e| Error::NoPlane(e.to_string()))?;
        let client = Client::try_from(config).map_err(kube_err("building client"))?;
        let harness = Harness {
            client,
            kubeconfig,
            bin,
        };
        CRDS_INSTALLED
            .get_or_try_init(|| harness.install_crds())
            .await?;
        Ok(harness)
    }

    /// Server-side applies every generated CRD and waits until each is Established.
    pub async fn install_crds(&self) -> Result<()> {
        let api: Api<CustomResourceDefinition> = Api::all(self.client.clone());
        let crds = turnstile_api::crds::all()
            .map_err(|e| Error::Manifest("generated CRDs".into(), e.to_string()))?;
        let pp = PatchParams::apply("turnstile-e2e").force();
        for crd in &crds {
            let name = crd.metadata.name.clone().unwrap_or_default();
            api.patch(&name, &pp, &Patch::Apply(crd))
                .await
                .map_err(kube_err(format!("applying CRD {name}")))?;
        }
        for crd in &crds {
            let name = crd.metadata.name.clone().unwrap_or_default();
            wait_for(
                Duration::from_mins(1),
                &format!("CRD {name} Established"),
                || {
                    let api = api.clone();
                    let name = name.clone();
                    async move {
                        let crd = api.get(&name).await.ok()?;
                        let established = crd
                            .status?
                            .conditions?
                            .iter()
                            .any(|c| c.type_ == "Established" && c.status == "True");
                        established.then_some(())
                    }
                },
            )
            .await?;
        }
        Ok(())
    }

    /// A client that acts as another user (impersonation); the plane's admin must have been
    /// granted nothing more: bind the user to a role first.
    pub async fn client_as(&self, user: &str) -> Result<Client> {
        let kc =
            Kubeconfig::read_from(&self.kubeconfig).map_err(|e| Error::NoPlane(e.to_string()))?;
        let mut config = Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
            .await
            .map_err(|e| Error::NoPlane(e.to_string()))?;
        config.auth_info.impersonate = Some(user.to_owned());
        config.auth_info.impersonate_groups = Some(vec!["system:authenticated".to_owned()]);
        Client::try_from(config).map_err(kube_err("building an impersonating client"))
    }

    /// Runs `kubectl` (the plane's own build) with the plane's kubeconfig; returns stdout.
    pub fn kubectl(&self, args: &[&str]) -> Result<String> {
        let out = std::process::Command::new(self.bin.join("kubectl"))
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .args(args)
            .output()
            .map_err(|e| Error::Command(format!("kubectl {}", args.join(" ")), e.to_string()))?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(Error::Command(
                format!("kubectl {}", args.join(" ")),
                String::from_utf8_lossy(&out.stderr).into_owned(),
            ))
        }
    }

    /// Runs `body` in a fresh namespace. On panic, prints the namespace's events and objects;
    /// in every case deletes the namespace and the cluster-scoped objects the test tracked.
    ///
    /// # Panics
    /// When the namespace cannot be created, and again (re-raised) when `body` panicked.
    pub async fn run<F, Fut>(&self, name: &str, body: F)
    where
        F: FnOnce(TestNs) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.run_labelled(name, serde_json::json!({}), body).await;
    }

    /// [`Harness::run`] with extra labels on the test's namespace (e.g. to opt into a webhook).
    ///
    /// # Panics
    /// As [`Harness::run`].
    pub async fn run_labelled<F, Fut>(&self, name: &str, labels: Value, body: F)
    where
        F: FnOnce(TestNs) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let ns_name = format!("e2e-{name}-{:x}{n}", nanos % 0xfffff);
        let ns_api: Api<Namespace> = Api::all(self.client.clone());
        let mut ns_labels = labels;
        ns_labels["e2e.turnstile.dev/test"] = name.into();
        let ns: Namespace = serde_json::from_value(serde_json::json!({
            "metadata": {"name": ns_name, "labels": ns_labels}
        }))
        .unwrap_or_default();
        if let Err(e) = ns_api.create(&PostParams::default(), &ns).await {
            panic!("creating namespace {ns_name}: {e}");
        }
        let tracked = std::sync::Arc::new(Mutex::new(Vec::new()));
        let test_ns = TestNs {
            harness: self.clone(),
            name: ns_name.clone(),
            tracked: tracked.clone(),
        };
        let outcome = tokio::spawn(body(test_ns)).await;
        if outcome.is_err() {
            eprintln!("==== e2e test {name} failed; state of namespace {ns_name} ====");
            for args in [
                vec!["get", "events", "-n", &ns_name, "--sort-by=.lastTimestamp"],
                vec![
                    "get",
                    "all,workloads,localqueues",
                    "-n",
                    &ns_name,
                    "-o",
                    "wide",
                ],
                vec![
                    "get",
                    "clusterqueues,resourceflavors,cohorts,workloadpriorityclasses,nodes",
                ],
            ] {
                match self.kubectl(&args) {
                    Ok(out) => eprintln!("$ kubectl {}\n{out}", args.join(" ")),
                    Err(e) => eprintln!("{e}"),
                }
            }
        }
        let list: Vec<(ApiResource, String)> =
            tracked.lock().map(|t| t.clone()).unwrap_or_default();
        for (ar, obj) in list {
            let api: Api<DynamicObject> = Api::all_with(self.client.clone(), &ar);
            let _ = api.delete(&obj, &DeleteParams::background()).await;
        }
        // Workloads keep Turnstile's finalizer while their Job is unfinished; the manager may be
        // gone by the time the namespace is deleted, so let them go now.
        let wl_api: Api<turnstile_api::Workload> = Api::namespaced(self.client.clone(), &ns_name);
        if let Ok(list) = wl_api.list(&kube::api::ListParams::default()).await {
            for w in list.items {
                let name = w.metadata.name.unwrap_or_default();
                let _ = wl_api
                    .patch(
                        &name,
                        &PatchParams::default(),
                        &Patch::Merge(serde_json::json!({"metadata": {"finalizers": null}})),
                    )
                    .await;
            }
        }
        let _ = ns_api.delete(&ns_name, &DeleteParams::background()).await;
        if let Err(e) = outcome {
            if e.is_panic() {
                std::panic::resume_unwind(e.into_panic());
            }
            panic!("test task of {name} failed: {e}");
        }
    }
}

/// A test's namespace, and the cluster-scoped objects to remove after the test.
#[derive(Clone)]
pub struct TestNs {
    /// The harness.
    pub harness: Harness,
    /// Namespace name.
    pub name: String,
    tracked: std::sync::Arc<Mutex<Vec<(ApiResource, String)>>>,
}

impl TestNs {
    /// A client for the plane.
    pub fn client(&self) -> Client {
        self.harness.client.clone()
    }

    /// Remembers a cluster-scoped object to delete after the test.
    pub fn track(&self, ar: &ApiResource, name: &str) {
        if let Ok(mut t) = self.tracked.lock() {
            t.push((ar.clone(), name.to_owned()));
        }
    }

    /// A dynamic API for `kind` (a Kueue kind or a core/batch one), in this namespace when
    /// namespaced.
    pub fn dynamic_api(
        &self,
        api_version: &str,
        kind: &str,
    ) -> Result<(Api<DynamicObject>, ApiResource, bool)> {
        let (ar, namespaced) = api_resource(api_version, kind)?;
        let api = if namespaced {
            Api::namespaced_with(self.client(), &self.name, &ar)
        } else {
            Api::all_with(self.client(), &ar)
        };
        Ok((api, ar, namespaced))
    }

    /// Creates or updates the object described by `doc`: the main resource first, then, if the
    /// document has a `status`, the status subresource. Returns the stored object.
    pub async fn apply_doc(&self, doc: &Value) -> Result<Value> {
        let api_version = doc["apiVersion"].as_str().unwrap_or_default();
        let kind = doc["kind"].as_str().unwrap_or_default();
        let name = doc["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let (api, ar, namespaced) = self.dynamic_api(api_version, kind)?;
        let mut body = doc.clone();
        if let Some(obj) = body.as_object_mut() {
            obj.remove("status");
        }
        let has_main = body.as_object().is_some_and(|o| {
            o.keys()
                .any(|k| !["apiVersion", "kind", "metadata"].contains(&k.as_str()))
        });
        // A replace based on the version read is refused (409) when the object changed in
        // between, e.g. its status written by the manager: read again and retry.
        let mut attempts = 0;
        let mut stored = loop {
            attempts += 1;
            let existing = api
                .get_opt(&name)
                .await
                .map_err(kube_err(format!("reading {kind} {name}")))?;
            match existing {
                None => {
                    if !namespaced {
                        self.track(&ar, &name);
                    }
                    let obj: DynamicObject = from_json(&body, &name)?;
                    break api
                        .create(&PostParams::default(), &obj)
                        .await
                        .map_err(kube_err(format!("creating {kind} {name}")))?;
                }
                Some(current) if has_main => {
                    let mut obj: DynamicObject = from_json(&body, &name)?;
                    obj.metadata.resource_version = current.metadata.resource_version.clone();
                    match api.replace(&name, &PostParams::default(), &obj).await {
                        Err(kube::Error::Api(e)) if e.code == 409 && attempts < 5 => {}
                        r => break r.map_err(kube_err(format!("updating {kind} {name}")))?,
                    }
                }
                Some(current) => break current,
            }
        };
        if let Some(status) = doc.get("status") {
            stored.data["status"] = status.clone();
            stored = api
                .replace_status(&name, &PostParams::default(), &stored)
                .await
                .map_err(kube_err(format!("updating status of {kind} {name}")))?;
        }
        serde_json::to_value(&stored).map_err(|e| Error::Manifest(name, e.to_string()))
    }
}

fn from_json<T: serde::de::DeserializeOwned>(v: &Value, name: &str) -> Result<T> {
    serde_json::from_value(v.clone()).map_err(|e| Error::Manifest(name.to_owned(), e.to_string()))
}

/// The API resource and scope of the kinds tests use.
pub fn api_resource(api_version: &str, kind: &str) -> Result<(ApiResource, bool)> {
    let (plural, namespaced) = match kind {
        "ResourceFlavor" => ("resourceflavors", false),
        "ClusterQueue" => ("clusterqueues", false),
        "Cohort" => ("cohorts", false),
        "WorkloadPriorityClass" => ("workloadpriorityclasses", false),
        "LocalQueue" => ("localqueues", true),
        "Workload" => ("workloads", true),
        "Job" => ("jobs", true),
        "Pod" => ("pods", true),
        "TimeWindowPolicy" => ("timewindowpolicies", false),
        other => {
            return Err(Error::Manifest(
                other.to_owned(),
                "kind not known to the harness".into(),
            ));
        }
    };
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    let gvk = kube::api::GroupVersionKind::gvk(group, version, kind);
    Ok((ApiResource::from_gvk_with_plural(&gvk, plural), namespaced))
}

/// Reads a YAML file of one or more documents.
pub fn read_manifests(path: &std::path::Path) -> Result<Vec<Value>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::Manifest(path.display().to_string(), e.to_string()))?;
    let mut docs = Vec::new();
    for doc in serde_yaml::Deserializer::from_str(&text) {
        let v: Value = serde::Deserialize::deserialize(doc)
            .map_err(|e| Error::Manifest(path.display().to_string(), e.to_string()))?;
        if !v.is_null() {
            docs.push(v);
        }
    }
    Ok(docs)
}

/// The directory of this crate (`e2e/`).
pub fn e2e_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Polls `check` every 250 ms until it returns `Some`, or fails after `timeout`.
pub async fn wait_for<T, F, Fut>(timeout: Duration, what: &str, mut check: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(v) = check().await {
            return Ok(v);
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(Error::Timeout(timeout, what.to_owned()));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// A `turnstile manager` process started by a test, stopped on drop; objects listed in `cleanup`
/// (`kind/name` for kubectl) are deleted then too, and the manager's log tail is printed if the
/// test is failing.
pub struct ManagerProcess {
    child: std::process::Child,
    kubectl: PathBuf,
    kubeconfig: PathBuf,
    log: PathBuf,
    /// kubectl object references to delete when the manager stops.
    pub cleanup: Vec<String>,
    /// Address of the health endpoints.
    pub health: std::net::SocketAddr,
    /// Address of the metrics endpoint.
    pub metrics: std::net::SocketAddr,
}

/// A free loopback port.
pub fn free_port() -> u16 {
    // The kernel may hand the same ephemeral port to two binds in a row once the first listener
    // is closed (seen in CI: a manager's health and metrics ports collided). Never give a port
    // out twice in one test process.
    static GIVEN: std::sync::Mutex<std::collections::BTreeSet<u16>> =
        std::sync::Mutex::new(std::collections::BTreeSet::new());
    for _ in 0..100 {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_or(0, |a| a.port());
        if port != 0 && GIVEN.lock().is_ok_and(|mut g| g.insert(port)) {
            return port;
        }
    }
    0
}

impl ManagerProcess {
    /// Starts `target/debug/turnstile manager <args>` against the plane, with health on a free
    /// port, and waits until `/readyz` answers.
    ///
    /// # Panics
    /// When the binary is missing or does not become ready within a minute.
    pub async fn start(h: &Harness, args: &[String], cleanup: Vec<String>) -> ManagerProcess {
        Self::start_with_kubeconfig(h, &h.kubeconfig, args, cleanup).await
    }

    /// [`ManagerProcess::start`] with another kubeconfig (e.g. a ServiceAccount token's).
    ///
    /// # Panics
    /// As [`ManagerProcess::start`].
    pub async fn start_with_kubeconfig(
        h: &Harness,
        kubeconfig: &std::path::Path,
        args: &[String],
        cleanup: Vec<String>,
    ) -> ManagerProcess {
        // Tests scrape `/metrics` over plain HTTP; `start_with_secure_metrics` keeps the default.
        let mut args = args.to_vec();
        args.push("--metrics-insecure".to_owned());
        Self::launch(h, kubeconfig, &args, cleanup).await
    }

    /// [`ManagerProcess::start`] with `/metrics` as the manager serves it by default: HTTPS, for a
    /// bearer token whose user may get `/metrics`.
    ///
    /// # Panics
    /// As [`ManagerProcess::start`].
    pub async fn start_with_secure_metrics(h: &Harness, args: &[String]) -> ManagerProcess {
        Self::launch(h, &h.kubeconfig, args, vec![]).await
    }

    async fn launch(
        h: &Harness,
        kubeconfig: &std::path::Path,
        args: &[String],
        cleanup: Vec<String>,
    ) -> ManagerProcess {
        // TURNSTILE_E2E_MANAGER_BIN picks another build (e.g. target/release/turnstile for figures).
        let bin = std::env::var_os("TURNSTILE_E2E_MANAGER_BIN").map_or_else(
            || e2e_dir().join("../target/debug/turnstile"),
            PathBuf::from,
        );
        assert!(
            bin.is_file(),
            "{} missing: build it with `cargo build -p turnstile`",
            bin.display()
        );
        let health = std::net::SocketAddr::from(([127, 0, 0, 1], free_port()));
        let metrics = std::net::SocketAddr::from(([127, 0, 0, 1], free_port()));
        let log = std::env::temp_dir().join(format!(
            "turnstile-manager-e2e-{}-{}.log",
            std::process::id(),
            health.port()
        ));
        let file = std::fs::File::create(&log).unwrap_or_else(|e| panic!("{}: {e}", log.display()));
        let child = std::process::Command::new(bin)
            .args([
                "--log-format",
                "plain",
                "manager",
                "--health-addr",
                &health.to_string(),
                "--metrics-addr",
                &metrics.to_string(),
            ])
            // The CRDs are shared by every test on the plane: only a test that says so points
            // their conversion webhook at its manager.
            .args(
                (!args.iter().any(|a| a == "--crd-conversion-webhook"))
                    .then_some(["--crd-conversion-webhook", "false"])
                    .into_iter()
                    .flatten(),
            )
            // Likewise the visibility API's APIServices: only a test that asks serves it.
            .args(
                (!args.iter().any(|a| a == "--visibility-addr"))
                    .then_some(["--visibility-addr", "0"])
                    .into_iter()
                    .flatten(),
            )
            .args(args)
            .env("KUBECONFIG", kubeconfig)
            .env("RUST_LOG", "info")
            .stdout(std::process::Stdio::null())
            .stderr(file)
            .spawn()
            .unwrap_or_else(|e| panic!("starting the manager: {e}"));
        let m = ManagerProcess {
            child,
            kubectl: h.bin.join("kubectl"),
            kubeconfig: h.kubeconfig.clone(),
            log,
            cleanup,
            health,
            metrics,
        };
        let url = format!("http://{health}/readyz");
        wait_for(Duration::from_mins(1), "manager /readyz", || {
            let url = url.clone();
            async move {
                let out = std::process::Command::new("curl")
                    .args(["-sf", &url])
                    .output()
                    .ok()?;
                out.status.success().then_some(())
            }
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        m
    }
}

impl ManagerProcess {
    /// The manager's `/metrics` text.
    ///
    /// # Panics
    /// When it cannot be fetched.
    pub fn scrape(&self) -> String {
        let out = std::process::Command::new("curl")
            .args(["-sf", &format!("http://{}/metrics", self.metrics)])
            .output()
            .unwrap_or_else(|e| panic!("curl: {e}"));
        assert!(out.status.success(), "scraping {} failed", self.metrics);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The value of one series in `/metrics` text: the line that starts with `name{` and contains
    /// every `label="value"` pair given (0 when there is none).
    pub fn metric(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
        text.lines()
            .filter(|l| l.starts_with(&format!("{name}{{")))
            .filter(|l| {
                labels
                    .iter()
                    .all(|(k, v)| l.contains(&format!("{k}=\"{v}\"")))
            })
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    }

    /// The manager's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for ManagerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        for obj in &self.cleanup {
            let _ = std::process::Command::new(&self.kubectl)
                .arg("--kubeconfig")
                .arg(&self.kubeconfig)
                .args(["delete", "--ignore-not-found", "--wait=false", obj])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status();
        }
        if std::thread::panicking()
            && let Ok(log) = std::fs::read_to_string(&self.log)
        {
            let tail: Vec<&str> = log.lines().rev().take(60).collect();
            eprintln!(
                "==== manager log (last lines) ====\n{}",
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            );
        }
    }
}

/// Deletes objects (`kind/name` for kubectl) when dropped, whether the test passed or not.
pub struct Cleanup(pub Harness, pub Vec<String>);

impl Drop for Cleanup {
    fn drop(&mut self) {
        for obj in &self.1 {
            let _ = self
                .0
                .kubectl(&["delete", "--ignore-not-found", "--wait=false", obj]);
        }
    }
}

/// Arguments for a `turnstile manager` that schedules, in `namespace` (its Lease and certificate
/// Secret), named `identity`, with its webhook on a free port and no webhook configuration.
pub fn scheduler_args(namespace: &str, identity: &str, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = vec![
        "--namespace".into(),
        namespace.into(),
        "--identity".into(),
        identity.into(),
        "--webhook-addr".into(),
        format!("127.0.0.1:{}", free_port()),
        "--mutating-webhook-configuration".into(),
        "none".into(),
        "--validating-webhook-configuration".into(),
        "none".into(),
    ];
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    args
}

/// The condition of type `t` of a Workload, if any.
pub fn workload_condition<'a>(
    w: &'a turnstile_api::Workload,
    t: &str,
) -> Option<&'a k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition> {
    w.status.as_ref()?.conditions.iter().find(|c| c.type_ == t)
}

/// The Workloads of a test namespace, by name.
pub async fn list_workloads(
    ns: &TestNs,
) -> Result<std::collections::BTreeMap<String, turnstile_api::Workload>> {
    let api: Api<turnstile_api::Workload> = Api::namespaced(ns.client(), &ns.name);
    let list = api
        .list(&kube::api::ListParams::default())
        .await
        .map_err(kube_err("listing Workloads"))?;
    Ok(list
        .items
        .into_iter()
        .map(|w| (w.metadata.name.clone().unwrap_or_default(), w))
        .collect())
}

/// Waits (45 s at most) until the namespace's Workloads satisfy `f`; returns them.
///
/// # Panics
/// When they do not in time.
pub async fn until_workloads(
    ns: &TestNs,
    what: &str,
    f: impl Fn(&std::collections::BTreeMap<String, turnstile_api::Workload>) -> bool,
) -> std::collections::BTreeMap<String, turnstile_api::Workload> {
    wait_for(Duration::from_secs(45), what, || {
        let f = &f;
        async move {
            let all = list_workloads(ns).await.ok()?;
            f(&all).then_some(all)
        }
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"))
}

/// Waits until an event with `reason` about the object `name` exists in the test namespace;
/// returns its note.
///
/// # Panics
/// When none appears in time.
pub async fn until_event(ns: &TestNs, name: &str, reason: &str) -> String {
    let api: kube::Api<k8s_openapi::api::events::v1::Event> =
        kube::Api::namespaced(ns.client(), &ns.name);
    wait_for(
        Duration::from_secs(30),
        &format!("event {reason} on {name}"),
        || {
            let api = api.clone();
            async move {
                let list = api.list(&kube::api::ListParams::default()).await.ok()?;
                list.items.into_iter().find_map(|e| {
                    (e.reason.as_deref() == Some(reason)
                        && e.regarding.as_ref()?.name.as_deref() == Some(name))
                    .then(|| e.note.unwrap_or_default())
                })
            }
        },
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"))
}

/// Applies an object (server-side apply, field manager `e2e`) through the dynamic API; kinds the
/// discovery table of [`api_resource`] lacks (webhook configurations, cluster role bindings) are
/// named here.
///
/// # Panics
/// When the object is malformed or the apply fails.
pub async fn apply_cluster_object(client: &Client, v: &Value) {
    let api_version = v["apiVersion"].as_str().unwrap_or_default();
    let kind = v["kind"].as_str().unwrap_or_default();
    let (ar, _) = api_resource(api_version, kind).unwrap_or_else(|_| {
        let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
        let gvk = kube::api::GroupVersionKind::gvk(group, version, kind);
        let plural = match kind {
            "MutatingWebhookConfiguration" => "mutatingwebhookconfigurations",
            "ValidatingWebhookConfiguration" => "validatingwebhookconfigurations",
            "ClusterRoleBinding" => "clusterrolebindings",
            other => panic!("no resource known for kind {other}"),
        };
        (ApiResource::from_gvk_with_plural(&gvk, plural), false)
    });
    let api: Api<DynamicObject> = Api::all_with(client.clone(), &ar);
    let name = v["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    if let Err(e) = api
        .patch(&name, &PatchParams::apply("e2e").force(), &Patch::Apply(v))
        .await
    {
        panic!("applying {kind} {name}: {e}");
    }
}

/// A webhook served by a test's manager on `127.0.0.1:port` and registered by URL.
pub struct UrlWebhooks {
    /// Name of the MutatingWebhookConfiguration.
    pub mutating: String,
    /// Name of the ValidatingWebhookConfiguration.
    pub validating: String,
    /// Namespace of the manager (its certificate Secret, Lease).
    pub namespace: String,
    /// A user that is not the manager (the webhook lets the manager's own requests through),
    /// bound to cluster-admin: tests act as this user.
    pub user: String,
}

impl UrlWebhooks {
    /// Creates the manager's namespace (labelled with `opt_in`), binds `user` to cluster-admin,
    /// and registers the configurations Turnstile ships, by URL, for objects and namespaces
    /// labelled `opt_in` only. Everything is listed in [`UrlWebhooks::cleanup`].
    ///
    /// # Panics
    /// When an API call fails.
    pub async fn register(
        h: &Harness,
        prefix: &str,
        port: u16,
        opt_in: (&str, &str),
    ) -> UrlWebhooks {
        use turnstile_webhook::registration::{self, Options, Target};
        let id = std::process::id();
        let hooks = UrlWebhooks {
            mutating: format!("{prefix}-mutating-{id}"),
            validating: format!("{prefix}-validating-{id}"),
            namespace: format!("{prefix}-system-{id}"),
            user: format!("{prefix}-user"),
        };
        let ns_api: Api<Namespace> = Api::all(h.client.clone());
        let ns: Namespace = serde_json::from_value(serde_json::json!(
            {"metadata": {"name": hooks.namespace, "labels": {opt_in.0: opt_in.1}}}))
        .unwrap_or_default();
        if let Err(e) = ns_api.create(&PostParams::default(), &ns).await {
            panic!("creating namespace {}: {e}", hooks.namespace);
        }
        apply_cluster_object(&h.client, &serde_json::json!({"apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding", "metadata": {"name": hooks.user},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": hooks.user}]}))
        .await;
        let opts = Options {
            target: Target::Url(format!("https://127.0.0.1:{port}")),
            mutating_name: hooks.mutating.clone(),
            validating_name: hooks.validating.clone(),
            namespace: hooks.namespace.clone(),
            managed_jobs_namespace_selector: None,
            extra_selector_labels: [(opt_in.0.to_owned(), opt_in.1.to_owned())].into(),
            ca_bundle: vec![],
        };
        let mut m = serde_json::to_value(registration::mutating(&opts)).unwrap_or_default();
        m["apiVersion"] = "admissionregistration.k8s.io/v1".into();
        m["kind"] = "MutatingWebhookConfiguration".into();
        apply_cluster_object(&h.client, &m).await;
        let mut v = serde_json::to_value(registration::validating(&opts)).unwrap_or_default();
        v["apiVersion"] = "admissionregistration.k8s.io/v1".into();
        v["kind"] = "ValidatingWebhookConfiguration".into();
        apply_cluster_object(&h.client, &v).await;
        hooks
    }

    /// Manager arguments that serve these webhooks on `port` with self-managed certificates for
    /// 127.0.0.1, injecting the CA into the two configurations.
    pub fn manager_args(&self, port: u16) -> Vec<String> {
        [
            "--namespace",
            &self.namespace,
            "--webhook-addr",
            &format!("127.0.0.1:{port}"),
            "--cert-ip",
            "127.0.0.1",
            "--mutating-webhook-configuration",
            &self.mutating,
            "--validating-webhook-configuration",
            &self.validating,
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect()
    }

    /// kubectl references of everything [`UrlWebhooks::register`] made.
    pub fn cleanup(&self) -> Vec<String> {
        vec![
            format!("mutatingwebhookconfiguration/{}", self.mutating),
            format!("validatingwebhookconfiguration/{}", self.validating),
            format!("namespace/{}", self.namespace),
            format!("clusterrolebinding/{}", self.user),
        ]
    }
}

/// Whether a Workload holds quota now (`QuotaReserved=True`, not finished).
pub fn reserving(w: &turnstile_api::Workload) -> bool {
    workload_condition(w, "QuotaReserved").is_some_and(|c| c.status == "True")
        && workload_condition(w, "Finished").is_none_or(|c| c.status != "True")
}

/// Cpu (in millicores) held by the reserving Workloads among `all`, from their admissions.
///
/// # Panics
/// On an admission whose cpu usage does not parse.
pub fn held_cpu_millis(all: &std::collections::BTreeMap<String, turnstile_api::Workload>) -> i64 {
    all.values()
        .filter(|w| reserving(w))
        .flat_map(|w| {
            w.status
                .as_ref()
                .and_then(|s| s.admission.clone())
                .map(|a| a.pod_set_assignments)
                .unwrap_or_default()
        })
        .map(|psa| {
            psa.resource_usage.get("cpu").map_or(0, |q| {
                let m = turnstile_core::Quantity::parse(q.as_str())
                    .unwrap_or_else(|e| panic!("{e}"))
                    .millis_ceil();
                i64::try_from(m).unwrap_or(i64::MAX)
            })
        })
        .sum()
}
