//! The webhook's cluster side: certificates (self-managed in a Secret, or files written by
//! cert-manager), `caBundle` injection into the webhook configurations, and the cached view of the
//! cluster the Job rules consult.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures::StreamExt;
use k8s_openapi::ByteString;
use k8s_openapi::api::admissionregistration::v1::{
    MutatingWebhookConfiguration, ValidatingWebhookConfiguration, WebhookClientConfig,
};
use k8s_openapi::api::authentication::v1::SelfSubjectReview;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Namespace, Secret};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kube::api::{Api, PostParams};
use kube::core::DynamicObject;
use kube::core::admission::AdmissionRequest;
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, Resource};
use turnstile_api::{LocalQueue, Workload, WorkloadPriorityClass};
use turnstile_webhook::certs::{self, Change, Lifetimes, Material, Names};
use turnstile_webhook::job::{DEFAULT_NAME, JobContext};
use turnstile_webhook::review::ReviewContext;
use turnstile_webhook::server::CertStore;

use crate::Error;

const CA_BUNDLE_KEY: &str = "ca.crt";
/// Where releases before 2026-12 kept the CA's private key; removed on the first pass.
const LEGACY_CA_KEY_KEY: &str = "ca.key";
const CERT_KEY: &str = "tls.crt";
const KEY_KEY: &str = "tls.key";

/// Where the self-managed certificates live and what they cover.
#[derive(Clone, Debug)]
pub struct SelfManagedCerts {
    /// Namespace of the Secret.
    pub namespace: String,
    /// Name of the Secret.
    pub secret_name: String,
    /// Names the serving certificate must carry.
    pub names: Names,
    /// Lifetimes and renewal margin.
    pub lifetimes: Lifetimes,
    /// MutatingWebhookConfigurations whose `caBundle` this manager maintains.
    pub mutating_configurations: Vec<String>,
    /// ValidatingWebhookConfigurations whose `caBundle` this manager maintains.
    pub validating_configurations: Vec<String>,
    /// Point the CRDs whose v1beta1 differs at this manager's `/convert` (where the first
    /// mutating configuration's webhooks are served), with the `caBundle`.
    pub crd_conversion: bool,
    /// APIServices (the visibility API's) whose `caBundle` this manager maintains.
    pub api_services: Vec<String>,
}

fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

fn secret_material(secret: &Secret) -> Material {
    let get = |k: &str| {
        secret
            .data
            .as_ref()
            .and_then(|d| d.get(k))
            .map(|b| String::from_utf8_lossy(&b.0).into_owned())
            .unwrap_or_default()
    };
    Material {
        ca_bundle: get(CA_BUNDLE_KEY),
        cert: get(CERT_KEY),
        key: get(KEY_KEY),
    }
}

fn secret_data(m: &Material) -> BTreeMap<String, ByteString> {
    [
        (CA_BUNDLE_KEY, &m.ca_bundle),
        (CERT_KEY, &m.cert),
        (KEY_KEY, &m.key),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), ByteString(v.as_bytes().to_vec())))
    .collect()
}

/// One pass of certificate upkeep: read the Secret, issue or renew, write it back, inject the
/// `caBundle`, then serve the (possibly new) certificate — a newly issued one only once its CA has
/// had [`certs::SWITCH_DELAY_SECONDS`] to reach every apiserver (until then the certificate already
/// served stays, its CA still in the bundle). Returns when the next pass is due.
/// The Secret holds `ca.crt` (the bundle), `tls.crt` and `tls.key`, never a CA private key: a
/// `ca.key` left by an older release makes this pass issue new material (its CA leaves the bundle
/// after [`certs::OLD_CA_GRACE_SECONDS`]).
pub async fn reconcile_certs(
    client: &Client,
    cfg: &SelfManagedCerts,
    store: &CertStore,
) -> Result<i64, Error> {
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &cfg.namespace);
    let existing = secrets
        .get_opt(&cfg.secret_name)
        .await
        .map_err(Error::kube("reading the webhook certificate Secret"))?;
    let current = existing.as_ref().map(secret_material);
    let holds_ca_key = existing
        .as_ref()
        .and_then(|s| s.data.as_ref())
        .is_some_and(|d| d.contains_key(LEGACY_CA_KEY_KEY));
    let now = now_unix();
    let (material, change) = match certs::reconcile(
        current.as_ref(),
        &cfg.names,
        now,
        &cfg.lifetimes,
        holds_ca_key,
    ) {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(error = %e, secret = %cfg.secret_name, "stored webhook certificates are unusable; issuing new ones");
            certs::reconcile(None, &cfg.names, now, &cfg.lifetimes, false)
                .map_err(|e| Error::Certificates(e.to_string()))?
        }
    };
    let (material, based_on) = if change == Change::None && existing.is_some() {
        let rv = existing.and_then(|s| s.metadata.resource_version);
        (material, rv)
    } else {
        let mut secret = existing.clone().unwrap_or_default();
        secret.metadata.name = Some(cfg.secret_name.clone());
        secret.metadata.namespace = Some(cfg.namespace.clone());
        secret.type_ = Some("kubernetes.io/tls".into());
        secret.data = Some(secret_data(&material));
        let written = if existing.is_some() {
            secrets
                .replace(&cfg.secret_name, &PostParams::default(), &secret)
                .await
        } else {
            secrets.create(&PostParams::default(), &secret).await
        };
        match written {
            Ok(w) => {
                tracing::info!(?change, secret = %cfg.secret_name, "webhook certificates written");
                (material, w.metadata.resource_version)
            }
            // Another replica wrote first: use what it wrote.
            Err(kube::Error::Api(e)) if e.code == 409 => {
                let theirs = secrets
                    .get(&cfg.secret_name)
                    .await
                    .map_err(Error::kube("re-reading the webhook certificate Secret"))?;
                (secret_material(&theirs), theirs.metadata.resource_version)
            }
            Err(e) => return Err(Error::kube("writing the webhook certificate Secret")(e)),
        }
    };
    // A replica that read an older Secret must not put back an older bundle: inject only what the
    // Secret still says.
    let latest = secrets
        .get(&cfg.secret_name)
        .await
        .map_err(Error::kube("re-reading the webhook certificate Secret"))?;
    if latest.metadata.resource_version != based_on {
        return Ok(now + 1);
    }
    inject_ca_bundle(client, cfg, material.ca_bundle.as_bytes()).await?;
    let serve_from = certs::serve_from(&material, &cfg.lifetimes).unwrap_or(now);
    if now >= serve_from || !store.is_ready() {
        store
            .set_pem(&material.cert, &material.key)
            .map_err(|e| Error::Certificates(e.to_string()))?;
    }
    if cfg.crd_conversion
        && let Err(e) = inject_conversion(client, cfg, material.ca_bundle.as_bytes()).await
    {
        // The webhooks are served regardless; the conversion is tried again next pass.
        tracing::warn!(error = %e, "setting the CRDs' conversion webhook failed; retrying");
    }
    let renew_at = certs::serving_not_after(&material)
        .map_err(|e| Error::Certificates(e.to_string()))?
        - cfg.lifetimes.renew_before;
    Ok(if serve_from > now {
        renew_at.min(serve_from)
    } else {
        renew_at
    })
}

async fn inject_ca_bundle(
    client: &Client,
    cfg: &SelfManagedCerts,
    bundle: &[u8],
) -> Result<(), Error> {
    let bundle = ByteString(bundle.to_vec());
    let mutating: Api<MutatingWebhookConfiguration> = Api::all(client.clone());
    for name in &cfg.mutating_configurations {
        inject_into(&mutating, name, &bundle, |c| {
            c.webhooks
                .iter_mut()
                .flatten()
                .map(|w| &mut w.client_config)
                .collect()
        })
        .await?;
    }
    let validating: Api<ValidatingWebhookConfiguration> = Api::all(client.clone());
    for name in &cfg.validating_configurations {
        inject_into(&validating, name, &bundle, |c| {
            c.webhooks
                .iter_mut()
                .flatten()
                .map(|w| &mut w.client_config)
                .collect()
        })
        .await?;
    }
    if let Err(e) = inject_api_services(client, &cfg.api_services, &bundle).await {
        // The webhooks are served regardless; tried again next pass.
        tracing::warn!(error = %e, "injecting the CA into the visibility APIServices failed; retrying");
    }
    Ok(())
}

/// Sets `caBundle` on each named APIService that exists (and turns off its
/// `insecureSkipTLSVerify`, which Kueue's own manifests set and which cannot go with a bundle).
async fn inject_api_services(
    client: &Client,
    names: &[String],
    bundle: &ByteString,
) -> Result<(), Error> {
    use k8s_openapi::kube_aggregator::pkg::apis::apiregistration::v1::APIService;
    let api: Api<APIService> = Api::all(client.clone());
    for name in names {
        let Some(mut svc) = api
            .get_opt(name)
            .await
            .map_err(Error::kube("reading an APIService"))?
        else {
            continue;
        };
        let Some(spec) = svc.spec.as_mut() else {
            continue;
        };
        if spec.ca_bundle.as_ref() == Some(bundle) && spec.insecure_skip_tls_verify != Some(true) {
            continue;
        }
        spec.ca_bundle = Some(bundle.clone());
        spec.insecure_skip_tls_verify = None;
        api.replace(name, &PostParams::default(), &svc)
            .await
            .map_err(Error::kube("injecting caBundle into an APIService"))?;
        tracing::info!(apiservice = %name, "caBundle injected");
    }
    Ok(())
}

/// Sets each converted CRD's `spec.conversion` to the webhook at `/convert`, served where the
/// admission webhooks are (the first mutating configuration's client config: a Service in the
/// chart, a URL out of cluster), with `bundle`. Writes only what differs; a CRD that is not
/// installed is skipped.
async fn inject_conversion(
    client: &Client,
    cfg: &SelfManagedCerts,
    bundle: &[u8],
) -> Result<(), Error> {
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1 as ext;
    let Some(first) = cfg.mutating_configurations.first() else {
        return Ok(());
    };
    let mutating: Api<MutatingWebhookConfiguration> = Api::all(client.clone());
    let Some(admission) = mutating
        .get_opt(first)
        .await
        .map_err(Error::kube("reading a webhook configuration"))?
        .and_then(|c| c.webhooks.into_iter().flatten().next())
        .map(|w| w.client_config)
    else {
        return Ok(());
    };
    let client_config = ext::WebhookClientConfig {
        ca_bundle: Some(ByteString(bundle.to_vec())),
        service: admission.service.map(|s| ext::ServiceReference {
            name: s.name,
            namespace: s.namespace,
            path: Some(turnstile_webhook::review::paths::CONVERT.to_owned()),
            port: s.port,
        }),
        url: admission.url.as_deref().map(conversion_url),
    };
    let desired = ext::CustomResourceConversion {
        strategy: "Webhook".into(),
        webhook: Some(ext::WebhookConversion {
            client_config: Some(client_config),
            conversion_review_versions: vec!["v1".into()],
        }),
    };
    let crds: Api<ext::CustomResourceDefinition> = Api::all(client.clone());
    for (name, _) in turnstile_api::v1beta1::schema::SERVED
        .iter()
        .filter(|(_, converted)| *converted)
    {
        let Some(mut crd) = crds
            .get_opt(name)
            .await
            .map_err(Error::kube("reading a CustomResourceDefinition"))?
        else {
            continue;
        };
        if crd.spec.conversion.as_ref() == Some(&desired) {
            continue;
        }
        crd.spec.conversion = Some(desired.clone());
        crds.replace(name, &PostParams::default(), &crd)
            .await
            .map_err(Error::kube("setting a CRD's conversion webhook"))?;
        tracing::info!(crd = %name, "conversion webhook set");
    }
    Ok(())
}

/// The conversion URL on the server of an admission webhook URL.
fn conversion_url(admission: &str) -> String {
    let after_scheme = admission.find("://").map_or(0, |i| i + 3);
    let host_end = admission[after_scheme..]
        .find('/')
        .map_or(admission.len(), |i| after_scheme + i);
    format!(
        "{}{}",
        &admission[..host_end],
        turnstile_webhook::review::paths::CONVERT
    )
}

/// Sets `caBundle` on every webhook of one configuration, writing only when something changed.
async fn inject_into<K>(
    api: &Api<K>,
    name: &str,
    bundle: &ByteString,
    configs: impl Fn(&mut K) -> Vec<&mut WebhookClientConfig>,
) -> Result<(), Error>
where
    K: Resource + Clone + std::fmt::Debug + serde::de::DeserializeOwned + serde::Serialize,
{
    let Some(mut conf) = api
        .get_opt(name)
        .await
        .map_err(Error::kube("reading a webhook configuration"))?
    else {
        return Ok(());
    };
    let mut changed = false;
    for cc in configs(&mut conf) {
        if cc.ca_bundle.as_ref() != Some(bundle) {
            cc.ca_bundle = Some(bundle.clone());
            changed = true;
        }
    }
    if changed {
        api.replace(name, &PostParams::default(), &conf)
            .await
            .map_err(Error::kube("injecting caBundle"))?;
        tracing::info!(configuration = %name, "caBundle injected");
    }
    Ok(())
}

/// Keeps the self-managed certificates valid and injected, forever. Errors are logged and retried.
pub async fn run_self_managed_certs(client: Client, cfg: SelfManagedCerts, store: Arc<CertStore>) {
    loop {
        let wait = match reconcile_certs(&client, &cfg, &store).await {
            Ok(next) => {
                let secs = (next - now_unix()).clamp(1, 600);
                Duration::from_secs(u64::try_from(secs).unwrap_or(1))
            }
            Err(e) => {
                tracing::warn!(error = %e, "webhook certificate upkeep failed; retrying");
                Duration::from_secs(2)
            }
        };
        // Also re-check every few seconds for caBundle drift (e.g. a configuration re-applied).
        tokio::time::sleep(wait.min(Duration::from_secs(10))).await;
    }
}

/// Serves certificates from files (`tls.crt`, `tls.key`) that cert-manager or a volume keeps
/// current; reloads them when they change.
pub async fn run_file_certs(dir: PathBuf, store: Arc<CertStore>) {
    let mut last = (String::new(), String::new());
    loop {
        let cert = tokio::fs::read_to_string(dir.join(CERT_KEY)).await;
        let key = tokio::fs::read_to_string(dir.join(KEY_KEY)).await;
        match (cert, key) {
            (Ok(c), Ok(k)) if (c.as_str(), k.as_str()) != (last.0.as_str(), last.1.as_str()) => {
                match store.set_pem(&c, &k) {
                    Ok(()) => {
                        tracing::info!(dir = %dir.display(), "webhook certificate loaded");
                        last = (c, k);
                    }
                    Err(e) => tracing::warn!(error = %e, "webhook certificate files are unusable"),
                }
            }
            (Ok(_), Ok(_)) => {}
            (c, k) => {
                tracing::warn!(cert = ?c.err(), key = ?k.err(), dir = %dir.display(), "webhook certificate files missing");
            }
        }
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
}

/// Who this manager is, as the apiserver sees it (for "only Turnstile may unsuspend").
pub async fn own_username(client: &Client) -> Result<String, Error> {
    let api: Api<SelfSubjectReview> = Api::all(client.clone());
    let review = api
        .create(&PostParams::default(), &SelfSubjectReview::default())
        .await
        .map_err(Error::kube("asking who we are"))?;
    review
        .status
        .and_then(|s| s.user_info)
        .and_then(|u| u.username)
        .ok_or_else(|| Error::Certificates("the apiserver did not say who we are".into()))
}

/// Which Jobs are managed, as configured.
#[derive(Clone, Debug, Default)]
pub struct JobsConfig {
    /// Queue Jobs without a queue label too.
    pub manage_jobs_without_queue_name: bool,
    /// Namespaces whose Jobs are managed (unset: all but the excluded ones).
    pub managed_jobs_namespace_selector: Option<LabelSelector>,
    /// Namespaces never managed (kube-system and Turnstile's own).
    pub excluded_namespaces: Vec<String>,
    /// Kueue's `WorkloadPriorityClassDefaulting` feature gate (off by default): a Job without a
    /// priority-class label gets `default` when a WorkloadPriorityClass of that name exists.
    pub workload_priority_class_defaulting: bool,
}

impl JobsConfig {
    /// Whether Jobs in namespace `ns` (with these labels) are managed at all.
    pub fn manages_namespace(&self, ns: &str, labels: &BTreeMap<String, String>) -> bool {
        if self.excluded_namespaces.iter().any(|x| x == ns) {
            return false;
        }
        self.managed_jobs_namespace_selector
            .as_ref()
            .is_none_or(|selector| turnstile_api::selector::matches(selector, labels))
    }

    /// Whether the Job is managed: its namespace is, and it names a queue (or unlabelled Jobs
    /// are managed too).
    pub fn manages_job(&self, job: &Job, namespace_labels: &BTreeMap<String, String>) -> bool {
        let ns = job.metadata.namespace.as_deref().unwrap_or_default();
        self.manages_namespace(ns, namespace_labels)
            && turnstile_api::keys::managed_by::job_is_queued(
                job,
                self.manage_jobs_without_queue_name,
            )
    }
}

/// Which Jobs have an admitted Workload: the UID of the batch/v1 Job controlling a Workload, kept
/// only while the Workload is admitted ([`turnstile_state::lifecycle::is_admitted`]: quota held and
/// `Admitted=True`). A `job-uid` label or a non-controller owner reference proves nothing: anyone
/// may write them on a Workload of their own. This is all the webhook needs to know of Workloads,
/// so it does not keep a second copy of every Workload (the scheduler's cache has them).
#[derive(Clone, Debug, Default)]
pub struct AdmittedJobs {
    /// Admitted workload key → the UID of the Job controlling it.
    by_workload: BTreeMap<turnstile_core::ObjectKey, String>,
    /// Job UID → how many admitted workloads it controls.
    by_job: BTreeMap<String, usize>,
}

impl AdmittedJobs {
    /// Records a Workload as it is now.
    pub fn apply(&mut self, w: &Workload) {
        let key = turnstile_state::index::key_of(&w.metadata);
        self.delete(&key);
        if !turnstile_state::lifecycle::is_admitted(w) {
            return;
        }
        let Some(uid) = turnstile_state::index::job_owner(w).map(|o| o.uid.clone()) else {
            return;
        };
        *self.by_job.entry(uid.clone()).or_default() += 1;
        self.by_workload.insert(key, uid);
    }

    /// Forgets a Workload.
    pub fn delete(&mut self, key: &str) {
        if let Some(u) = self.by_workload.remove(key)
            && let Some(n) = self.by_job.get_mut(&u)
        {
            *n -= 1;
            if *n == 0 {
                self.by_job.remove(&u);
            }
        }
    }

    /// Whether an admitted Workload names the Job with this UID.
    pub fn contains(&self, job_uid: &str) -> bool {
        self.by_job.contains_key(job_uid)
    }
}

type SharedAdmittedJobs = Arc<std::sync::RwLock<AdmittedJobs>>;

/// A Workload as the webhook's watch decodes it: metadata and status. The spec (pod templates: the
/// bulk of every Workload event, and the same events the scheduler's watch decodes in full) is
/// skipped while decoding; [`AdmittedJobs`] reads only the owner and the admission state.
#[derive(Clone, Debug, serde::Deserialize)]
struct WorkloadHead {
    metadata: kube::core::ObjectMeta,
    #[serde(default)]
    status: Option<turnstile_api::v1beta2::WorkloadStatus>,
}

impl Resource for WorkloadHead {
    type DynamicType = ();
    type Scope = kube::core::NamespaceResourceScope;

    fn kind((): &()) -> std::borrow::Cow<'_, str> {
        Workload::kind(&())
    }
    fn group((): &()) -> std::borrow::Cow<'_, str> {
        Workload::group(&())
    }
    fn version((): &()) -> std::borrow::Cow<'_, str> {
        Workload::version(&())
    }
    fn plural((): &()) -> std::borrow::Cow<'_, str> {
        Workload::plural(&())
    }
    fn meta(&self) -> &kube::core::ObjectMeta {
        &self.metadata
    }
    fn meta_mut(&mut self) -> &mut kube::core::ObjectMeta {
        &mut self.metadata
    }
}

impl From<WorkloadHead> for Workload {
    fn from(h: WorkloadHead) -> Self {
        Workload {
            metadata: h.metadata,
            spec: turnstile_api::v1beta2::WorkloadSpec::default(),
            status: h.status,
        }
    }
}

fn spawn_admitted_jobs(
    api: Api<WorkloadHead>,
) -> (SharedAdmittedJobs, tokio::sync::watch::Receiver<bool>) {
    let view = Arc::new(std::sync::RwLock::new(AdmittedJobs::default()));
    let (r, ready) = tokio::sync::watch::channel(false);
    let v = view.clone();
    tokio::spawn(async move {
        let stream = watcher(api, watcher::Config::default())
            .backoff(crate::watch_backoff::WatchBackoff::default());
        let mut stream = std::pin::pin!(stream);
        // A re-list rebuilds the view from scratch, then swaps it in.
        let mut relist: Option<AdmittedJobs> = None;
        while let Some(item) = stream.next().await {
            let event = match item {
                Ok(e) => e,
                Err(e) => {
                    tracing::debug!(error = %e, "watch error (retried)");
                    continue;
                }
            };
            match event {
                watcher::Event::Init => relist = Some(AdmittedJobs::default()),
                watcher::Event::InitApply(w) => {
                    if let Some(b) = relist.as_mut() {
                        b.apply(&w.into());
                    }
                }
                watcher::Event::InitDone => {
                    if let (Some(b), Ok(mut g)) = (relist.take(), v.write()) {
                        *g = b;
                    }
                    r.send_replace(true);
                }
                watcher::Event::Apply(w) => {
                    if let Ok(mut g) = v.write() {
                        g.apply(&w.into());
                    }
                }
                watcher::Event::Delete(w) => {
                    if let Ok(mut g) = v.write() {
                        g.delete(&turnstile_state::index::key_of(&w.metadata));
                    }
                }
            }
        }
    });
    (view, ready)
}

/// The cached view of the cluster that the webhook rules consult.
#[derive(Clone)]
pub struct ClusterView {
    local_queues: Store<LocalQueue>,
    priority_classes: Store<WorkloadPriorityClass>,
    admitted_jobs: SharedAdmittedJobs,
    admitted_jobs_ready: tokio::sync::watch::Receiver<bool>,
    namespaces: Store<Namespace>,
    config: JobsConfig,
    manager_username: String,
}

/// A reflector store fed by a watch of `api` (errors retried with backoff).
pub(crate) fn spawn_reflector<K>(api: Api<K>) -> Store<K>
where
    K: Resource<DynamicType = ()>
        + Clone
        + std::fmt::Debug
        + serde::de::DeserializeOwned
        + Send
        + Sync
        + 'static,
{
    let (reader, writer) = reflector::store();
    let stream = watcher(api, watcher::Config::default())
        .backoff(crate::watch_backoff::WatchBackoff::default())
        .reflect(writer)
        .applied_objects();
    tokio::spawn(async move {
        let mut stream = std::pin::pin!(stream);
        while let Some(item) = stream.next().await {
            if let Err(e) = item {
                tracing::debug!(error = %e, "watch error (retried)");
            }
        }
    });
    reader
}

impl ClusterView {
    /// Starts the watches the view reads from.
    pub fn start(client: &Client, config: JobsConfig, manager_username: String) -> Self {
        let (admitted_jobs, admitted_jobs_ready) =
            spawn_admitted_jobs(Api::<WorkloadHead>::all(client.clone()));
        Self {
            local_queues: spawn_reflector(Api::<LocalQueue>::all(client.clone())),
            priority_classes: spawn_reflector(Api::<WorkloadPriorityClass>::all(client.clone())),
            admitted_jobs,
            admitted_jobs_ready,
            namespaces: spawn_reflector(Api::<Namespace>::all(client.clone())),
            config,
            manager_username,
        }
    }

    /// Waits until every watch has listed once.
    pub async fn wait_until_ready(&self) -> Result<(), Error> {
        let e = |_| Error::Certificates("a watch ended before it was ready".into());
        self.local_queues.wait_until_ready().await.map_err(e)?;
        self.priority_classes.wait_until_ready().await.map_err(e)?;
        self.admitted_jobs_ready
            .clone()
            .wait_for(|ready| *ready)
            .await
            .map_err(|_| Error::Certificates("the Workload watch ended".into()))?;
        self.namespaces.wait_until_ready().await.map_err(e)
    }

    fn namespace_excluded(&self, ns: &str) -> bool {
        let labels = self
            .namespaces
            .get(&ObjectRef::new(ns))
            .and_then(|n| n.metadata.labels.clone())
            .unwrap_or_default();
        !self.config.manages_namespace(ns, &labels)
    }

    fn workload_admitted(&self, job: &Job) -> bool {
        let Some(uid) = job.metadata.uid.as_deref() else {
            return false;
        };
        self.admitted_jobs.read().is_ok_and(|a| a.contains(uid))
    }
}

impl ReviewContext for ClusterView {
    fn job_context(&self, request: &AdmissionRequest<DynamicObject>, job: &Job) -> JobContext {
        let ns = request
            .namespace
            .as_deref()
            .or(job.metadata.namespace.as_deref())
            .unwrap_or_default();
        JobContext {
            namespace_excluded: self.namespace_excluded(ns),
            manage_jobs_without_queue_name: self.config.manage_jobs_without_queue_name,
            default_local_queue_exists: self
                .local_queues
                .get(&ObjectRef::new(DEFAULT_NAME).within(ns))
                .is_some(),
            default_priority_class_exists: self.config.workload_priority_class_defaulting
                && self
                    .priority_classes
                    .get(&ObjectRef::new(DEFAULT_NAME))
                    .is_some(),
            requester_is_manager: request.user_info.username.as_deref()
                == Some(self.manager_username.as_str()),
            workload_admitted: self.workload_admitted(job),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{AdmittedJobs, JobsConfig, WorkloadHead, conversion_url};

    #[test]
    fn conversion_is_served_where_the_admission_webhooks_are() {
        assert_eq!(
            conversion_url("https://127.0.0.1:9443/mutate-batch-v1-job"),
            "https://127.0.0.1:9443/convert"
        );
        assert_eq!(
            conversion_url("https://h.example"),
            "https://h.example/convert"
        );
    }
    use turnstile_api::Workload;

    #[test]
    fn managed_jobs_follow_the_label_the_option_and_the_namespace_selector() {
        let job = |ns: &str, queue: Option<&str>| -> k8s_openapi::api::batch::v1::Job {
            let mut v = serde_json::json!({"metadata": {"name": "j", "namespace": ns}});
            if let Some(q) = queue {
                v["metadata"]["labels"] = serde_json::json!({"kueue.x-k8s.io/queue-name": q});
            }
            serde_json::from_value(v).unwrap()
        };
        let team: std::collections::BTreeMap<String, String> =
            [("team".to_owned(), "a".to_owned())].into();
        let none = std::collections::BTreeMap::new();
        let mut c = JobsConfig {
            excluded_namespaces: vec!["kube-system".into(), "turnstile-system".into()],
            ..JobsConfig::default()
        };
        assert!(c.manages_job(&job("ns", Some("lq")), &none));
        assert!(!c.manages_job(&job("ns", None), &none), "no queue label");
        assert!(
            !c.manages_job(&job("ns", Some("")), &none),
            "empty queue label"
        );
        assert!(!c.manages_job(&job("kube-system", Some("lq")), &none));
        assert!(!c.manages_job(&job("turnstile-system", Some("lq")), &none));
        c.manage_jobs_without_queue_name = true;
        assert!(c.manages_job(&job("ns", None), &none));
        c.managed_jobs_namespace_selector = Some(
            serde_json::from_value(serde_json::json!({"matchLabels": {"team": "a"}})).unwrap(),
        );
        assert!(c.manages_job(&job("ns", None), &team));
        assert!(
            !c.manages_job(&job("ns", Some("lq")), &none),
            "selector applies to labelled Jobs too"
        );
    }

    fn wl(name: &str, owner: &str, label: Option<&str>, admitted: bool) -> Workload {
        let mut v = serde_json::json!({"metadata": {"name": name, "namespace": "ns",
            "ownerReferences": [{"apiVersion": "batch/v1", "kind": "Job", "name": "j", "uid": owner, "controller": true}]},
            "spec": {"podSets": []}});
        if let Some(l) = label {
            v["metadata"]["labels"] = serde_json::json!({"kueue.x-k8s.io/job-uid": l});
        }
        if admitted {
            v["status"] = serde_json::json!({"conditions": [
                {"type": "QuotaReserved", "status": "True", "reason": "QuotaReserved", "message": "", "lastTransitionTime": "2026-11-25T00:00:00Z"},
                {"type": "Admitted", "status": "True", "reason": "Admitted", "message": "", "lastTransitionTime": "2026-11-25T00:00:00Z"}],
                "admission": {"clusterQueue": "cq", "podSetAssignments": []}});
        }
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn admitted_jobs_follow_workload_admission() {
        let mut a = AdmittedJobs::default();
        a.apply(&wl("w", "job-1", Some("job-2"), false));
        assert!(!a.contains("job-1"));
        a.apply(&wl("w", "job-1", Some("job-2"), true));
        assert!(a.contains("job-1"), "the controlling Job");
        assert!(!a.contains("job-2"), "a label proves nothing");
        a.apply(&wl("other", "job-1", None, true));
        a.apply(&wl("w", "job-1", Some("job-2"), false));
        assert!(
            a.contains("job-1"),
            "still controlled by another admitted workload"
        );
        a.delete("ns/other");
        assert!(!a.contains("job-1"));
        // Not the controller, or not a Job: no proof either; Admitted without quota neither.
        let mut not_controller = wl("x", "job-3", None, true);
        not_controller.metadata.owner_references.as_mut().unwrap()[0].controller = None;
        a.apply(&not_controller);
        let mut no_quota = wl("y", "job-4", None, true);
        no_quota.status.as_mut().unwrap().admission = None;
        a.apply(&no_quota);
        assert!(!a.contains("job-3") && !a.contains("job-4"));
    }

    #[test]
    fn the_watch_decodes_what_the_view_reads_and_skips_the_spec() {
        let full = serde_json::to_value(wl("w", "job-1", None, true)).unwrap();
        let mut event = full.clone();
        event["spec"] = serde_json::json!({"queueName": "lq", "podSets": [{"name": "main", "count": 3,
            "template": {"spec": {"containers": [{"name": "c", "image": "i",
                "resources": {"requests": {"cpu": "2"}}}]}}}]});
        let head: WorkloadHead = serde_json::from_value(event).unwrap();
        let seen: Workload = head.into();
        assert_eq!(seen.spec, turnstile_api::v1beta2::WorkloadSpec::default());
        assert_eq!(seen.metadata, wl("w", "job-1", None, true).metadata);
        assert_eq!(seen.status, wl("w", "job-1", None, true).status);
        let mut a = AdmittedJobs::default();
        a.apply(&seen);
        assert!(a.contains("job-1"));
        // A Workload without a status (just created) decodes too.
        let mut created = full;
        created.as_object_mut().unwrap().remove("status");
        let head: WorkloadHead = serde_json::from_value(created).unwrap();
        assert!(head.status.is_none());
    }
}
