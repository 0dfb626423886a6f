//! `turnstile manager`: the long-running process. Today it serves the admission webhook (with its
//! certificates and cluster view) and the health endpoints; the queue and Job controllers join it
//! in later work. The webhook answers as soon as its certificate is ready, independent of any
//! leader election.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use turnstile_controller::health::{self, Readiness};
use turnstile_controller::webhook::{
    ClusterView, JobsConfig, SelfManagedCerts, own_username, run_file_certs, run_self_managed_certs,
};
use turnstile_jobs::decide::PodsReadyConfig;
use turnstile_webhook::certs::{Lifetimes, Names};
use turnstile_webhook::server::{CertStore, NoObserver};

/// How the webhook gets its serving certificate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum CertMode {
    /// Generate a CA and serving certificate, keep them in a Secret, inject the CA into the
    /// webhook configurations, renew before expiry.
    SelfManaged,
    /// Read `tls.crt`/`tls.key` from `--cert-dir` (e.g. a cert-manager Secret volume) and reload
    /// them when they change; cert-manager's CA injector maintains the caBundle.
    Files,
}

/// Options of `turnstile manager`.
// Flags of a command line: each bool is an independent switch.
#[allow(clippy::struct_excessive_bools)]
#[derive(Args, Debug)]
pub struct ManagerArgs {
    /// Namespace Turnstile runs in (holds the certificate Secret; its Jobs are never queued).
    #[arg(long, env = "POD_NAMESPACE", default_value = "turnstile-system")]
    pub namespace: String,
    /// Address of the webhook server (default: the Configuration's `webhook.host`/`webhook.port`,
    /// `0.0.0.0:9443`).
    #[arg(long)]
    pub webhook_addr: Option<SocketAddr>,
    /// Address of the health endpoints /healthz, /readyz (default: the Configuration's
    /// `health.healthProbeBindAddress`, `:8081`).
    #[arg(long)]
    pub health_addr: Option<SocketAddr>,
    /// Where the serving certificate comes from (default: `self-managed`, or `files` when the
    /// Configuration says `internalCertManagement.enable: false`, as Kueue then expects the
    /// certificate to be provided, e.g. by cert-manager).
    #[arg(long, value_enum)]
    pub cert_mode: Option<CertMode>,
    /// Directory with tls.crt and tls.key (cert mode `files`).
    #[arg(long, default_value = "/tmp/k8s-webhook-server/serving-certs")]
    pub cert_dir: PathBuf,
    /// Secret holding the self-managed certificates.
    #[arg(long, default_value = "turnstile-webhook-server-cert")]
    pub cert_secret: String,
    /// Service in front of the webhook; its DNS names go into the certificate.
    #[arg(long, default_value = "turnstile-webhook-service")]
    pub webhook_service: String,
    /// Extra DNS names for the certificate.
    #[arg(long = "cert-dns")]
    pub cert_dns: Vec<String>,
    /// IP addresses for the certificate (e.g. 127.0.0.1 for a webhook registered by URL).
    #[arg(long = "cert-ip")]
    pub cert_ips: Vec<IpAddr>,
    /// Validity of the serving certificate, in seconds.
    #[arg(long, default_value_t = 365 * 86_400)]
    pub cert_validity_seconds: i64,
    /// Renew a certificate when less than this many seconds remain.
    #[arg(long, default_value_t = 30 * 86_400)]
    pub cert_renew_before_seconds: i64,
    /// Keep the `spec.conversion` of the CRDs whose v1beta1 differs (ClusterQueue, Cohort,
    /// LocalQueue, Workload) pointed at this manager's `/convert`, served where the first
    /// mutating configuration's webhooks are, with the CA (self-managed certificates only).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub crd_conversion_webhook: bool,
    /// MutatingWebhookConfigurations to inject the CA into.
    #[arg(
        long = "mutating-webhook-configuration",
        default_value = "turnstile-mutating-webhook-configuration"
    )]
    pub mutating_configurations: Vec<String>,
    /// ValidatingWebhookConfigurations to inject the CA into.
    #[arg(
        long = "validating-webhook-configuration",
        default_value = "turnstile-validating-webhook-configuration"
    )]
    pub validating_configurations: Vec<String>,
    /// Kueue's Configuration file (`config.kueue.x-k8s.io/v1beta2`, kind `Configuration`); without
    /// one, Kueue's defaults apply (e.g. waitForPodsReady on with a 30 minute timeout).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Queue Jobs that carry no queue label too (Kueue's manageJobsWithoutQueueName; also read
    /// from the Configuration file).
    #[arg(long)]
    pub manage_jobs_without_queue_name: bool,
    /// Namespaces whose Jobs are managed, as a JSON label selector (Kueue's managedJobsNamespaceSelector).
    #[arg(long)]
    pub managed_jobs_namespace_selector: Option<String>,
    /// Do not run the scheduler and the Job reconciler (serve only the webhook).
    #[arg(long)]
    pub no_scheduler: bool,
    /// This replica's identity for leader election (default: hostname and process id).
    #[arg(long, env = "POD_NAME")]
    pub identity: Option<String>,
    /// Name of the leader-election Lease (default: the Configuration's `leaderElection.resourceName`,
    /// Kueue's `c1f6bfd2.kueue.x-k8s.io`), in `leaderElection.resourceNamespace` or else --namespace.
    #[arg(long)]
    pub leader_election_lease: Option<String>,
    /// Lease duration in seconds; a new leader may take over this long after the old one stopped renewing
    /// (default: the Configuration's `leaderElection.leaseDuration`, 15 s).
    #[arg(long)]
    pub lease_duration_seconds: Option<u64>,
    /// Address of the Prometheus endpoint `/metrics` (default: the Configuration's `metrics.bindAddress`,
    /// `:8443`; `0` turns it off). HTTPS with the webhook's certificate; a scrape needs a bearer token
    /// whose user may `get` the non-resource URL `/metrics` (TokenReview + SubjectAccessReview), as
    /// with Kueue.
    #[arg(long)]
    pub metrics_addr: Option<String>,
    /// Address of Kueue's visibility API (`visibility.kueue.x-k8s.io`, an aggregated API server;
    /// default: the Configuration's `visibilityServer`, `0.0.0.0:8082`; `0` turns it off, as does
    /// the `VisibilityOnDemand` feature gate). HTTPS with the webhook's certificate.
    #[arg(long)]
    pub visibility_addr: Option<String>,
    /// Service in front of the visibility API; its DNS names go into the certificate (kube-apiserver
    /// checks them when it proxies to the APIService).
    #[arg(long, default_value = "turnstile-visibility-server")]
    pub visibility_service: String,
    /// APIServices of the visibility API to keep the CA in (`caBundle`; self-managed certificates
    /// only). Those that do not exist are skipped.
    #[arg(
        long = "visibility-api-service",
        default_values_t = turnstile_controller::visibility::API_SERVICES.map(str::to_owned)
    )]
    pub visibility_api_services: Vec<String>,
    /// Serve `/metrics` over plain HTTP without authentication (only when asked: tests, a sidecar).
    #[arg(long)]
    pub metrics_insecure: bool,
    /// Fair sharing between the ClusterQueues and Cohorts of a cohort tree (Kueue's `fairSharing`
    /// configuration): admission order by dominant resource share.
    #[arg(long)]
    pub fair_sharing: bool,
    /// Most pending workloads evaluated per scheduling cycle.
    #[arg(long, default_value_t = 1024)]
    pub max_evaluations_per_cycle: usize,
}

struct Ready {
    certs: Arc<CertStore>,
    synced: Arc<std::sync::atomic::AtomicBool>,
    /// The scheduler's caches (with the time windows' states), when it runs.
    scheduler_synced: Option<Arc<std::sync::atomic::AtomicBool>>,
}

impl Readiness for Ready {
    fn ready(&self) -> Result<(), String> {
        if !self.certs.is_ready() {
            return Err("webhook certificate not loaded yet".into());
        }
        if !self.synced.load(std::sync::atomic::Ordering::Relaxed) {
            return Err("caches not synced yet".into());
        }
        if self
            .scheduler_synced
            .as_ref()
            .is_some_and(|s| !s.load(std::sync::atomic::Ordering::Relaxed))
        {
            return Err("scheduler caches not synced yet".into());
        }
        Ok(())
    }
}

/// The Configuration file (or Kueue's defaults) and the managed-namespace selector, checked
/// before anything touches the cluster.
fn load_config(
    args: &ManagerArgs,
) -> Result<(
    turnstile_config::Configuration,
    Option<k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector>,
)> {
    let config = match &args.config {
        Some(path) => {
            let loaded = turnstile_config::load(path)
                .map_err(|e| anyhow::anyhow!("configuration file {}: {e}", path.display()))?;
            for w in &loaded.warnings {
                tracing::warn!(file = %path.display(), "configuration: {w}");
            }
            loaded.config
        }
        None => turnstile_config::defaults_for_namespace(&args.namespace),
    };
    let refused = turnstile_config::refused(&config);
    if !refused.is_empty() {
        let lines: Vec<String> = refused.iter().map(ToString::to_string).collect();
        bail!(
            "the configuration asks for what Turnstile does not do (Kueue would act on it, so it is not ignored):\n  {}",
            lines.join("\n  ")
        );
    }
    let not_yet = turnstile_config::not_yet_supported(&config);
    if !not_yet.is_empty() {
        tracing::warn!(fields = ?not_yet, "configuration fields accepted but not acted on yet");
    }
    let selector = match args.managed_jobs_namespace_selector.as_deref() {
        Some(text) => Some(
            serde_json::from_str(text)
                .context("--managed-jobs-namespace-selector is not a JSON label selector")?,
        ),
        None => config
            .managed_jobs_namespace_selector()
            .map(|s| serde_json::to_value(s).and_then(serde_json::from_value))
            .transpose()
            .context("managedJobsNamespaceSelector")?,
    };
    Ok((config, selector))
}

/// `internalCertManagement.webhookServiceName` / `webhookSecretName` set (to something other than
/// Kueue's defaults) must agree with the flags that decide them here (`--webhook-service`,
/// `--cert-secret`; the chart sets both): a file naming another Service or Secret is refused
/// rather than silently ignored.
fn check_cert_names(args: &ManagerArgs, config: &turnstile_config::Configuration) -> Result<()> {
    let icm = config.internal_cert_management();
    for (field, set, kueue_default, flag, used) in [
        (
            "internalCertManagement.webhookServiceName",
            &icm.webhook_service_name,
            "kueue-webhook-service",
            "--webhook-service",
            &args.webhook_service,
        ),
        (
            "internalCertManagement.webhookSecretName",
            &icm.webhook_secret_name,
            "kueue-webhook-server-cert",
            "--cert-secret",
            &args.cert_secret,
        ),
    ] {
        if set != kueue_default && set != used {
            bail!(
                "{field}: Invalid value: {set:?}: Turnstile takes this name from {flag} ({used:?}); set the flag to {set:?} or remove the field"
            );
        }
    }
    Ok(())
}

/// Runs the manager until it is interrupted.
pub async fn run(args: ManagerArgs) -> Result<()> {
    if args.cert_renew_before_seconds >= args.cert_validity_seconds {
        bail!("--cert-renew-before-seconds must be smaller than --cert-validity-seconds");
    }
    let (config, selector) = load_config(&args)?;
    configure_metrics(&config);
    health::exit_on_panic();
    // Kueue's clientConnection: one token bucket for every client of the manager.
    let cc = config.client_connection();
    let limit = turnstile_controller::rate_limit::RateLimitLayer::new(
        turnstile_controller::rate_limit::TokenBucket::new(cc.qps, cc.burst),
    );
    let client = turnstile_controller::fence::limited_client(&limit)
        .await
        .context("connecting to the API server")?;
    let username = own_username(&client)
        .await
        .context("finding our own identity")?;
    tracing::info!(%username, namespace = %args.namespace, "starting the manager");

    check_cert_names(&args, &config)?;
    let cert_mode = resolve_cert_mode(args.cert_mode, config.internal_cert_management().enable);
    tracing::info!(?cert_mode, "webhook certificates");
    let visibility_addr = visibility_address(&args, &config)?;
    let certs = start_certs(&client, &args, cert_mode, visibility_addr.is_some());

    let jobs = JobsConfig {
        manage_jobs_without_queue_name: args.manage_jobs_without_queue_name
            || config.manage_jobs_without_queue_name,
        managed_jobs_namespace_selector: selector,
        excluded_namespaces: vec!["kube-system".into(), args.namespace.clone()],
        workload_priority_class_defaulting: config
            .feature_gate("WorkloadPriorityClassDefaulting")
            .unwrap_or(false),
    };
    let view = ClusterView::start(&client, jobs.clone(), username);
    let synced = Arc::new(std::sync::atomic::AtomicBool::new(false));
    {
        let (view, synced) = (view.clone(), synced.clone());
        tokio::spawn(async move {
            match view.wait_until_ready().await {
                Ok(()) => synced.store(true, std::sync::atomic::Ordering::Relaxed),
                Err(e) => tracing::error!(error = %e, "caches never synced"),
            }
        });
    }
    let shared = if args.no_scheduler {
        None
    } else {
        let settings = job_settings(&config, jobs);
        let leadership = Arc::new(turnstile_controller::lease::Leadership::default());
        let fenced = turnstile_controller::fence::fenced_client(leadership.clone(), &limit)
            .await
            .context("connecting to the API server (the controllers' fenced client)")?;
        Some(start_scheduler(
            (&client, &fenced, leadership),
            &args,
            &config,
            settings,
        ))
    };
    let heartbeats = shared
        .as_ref()
        .map_or_else(Default::default, |s| s.heartbeats.clone());
    let ready = Arc::new(Ready {
        certs: certs.clone(),
        synced,
        scheduler_synced: shared.as_ref().map(|s| s.synced.clone()),
    });
    if let (Some(addr), Some(sh)) = (visibility_addr, shared.as_ref()) {
        tokio::spawn(turnstile_controller::visibility::serve(
            addr,
            sh.index.clone(),
            client.clone(),
            certs.clone(),
        ));
    }
    start_metrics(&args, &config, shared, (&client, certs.clone()))?;
    let (webhook_addr, health_addr) = addresses(&args, &config)?;
    let health = tokio::spawn(health::serve(health_addr, ready, heartbeats));
    let webhook = tokio::spawn(turnstile_webhook::server::serve(
        webhook_addr,
        certs,
        Arc::new(view),
        Arc::new(NoObserver),
    ));
    tracing::info!(webhook = %webhook_addr, health = %health_addr, "serving");

    tokio::select! {
        r = webhook => bail!("webhook server stopped: {r:?}"),
        r = health => bail!("health server stopped: {r:?}"),
        () = shutdown_signal() => {
            tracing::info!("shutting down");
            // Give in-flight admission requests a moment to finish.
            tokio::time::sleep(Duration::from_millis(200)).await;
            Ok(())
        }
    }
}

/// The flag when given, else what `internalCertManagement.enable` says.
fn resolve_cert_mode(flag: Option<CertMode>, internal_enabled: bool) -> CertMode {
    flag.unwrap_or(if internal_enabled {
        CertMode::SelfManaged
    } else {
        CertMode::Files
    })
}

/// Starts the webhook's certificate management (self-managed or from files).
fn start_certs(
    client: &kube::Client,
    args: &ManagerArgs,
    mode: CertMode,
    visibility: bool,
) -> Arc<CertStore> {
    let certs = Arc::new(CertStore::default());
    match mode {
        CertMode::SelfManaged => {
            let svc = &args.webhook_service;
            let ns = &args.namespace;
            let vis = &args.visibility_service;
            let mut dns = vec![
                format!("{svc}.{ns}.svc"),
                format!("{svc}.{ns}.svc.cluster.local"),
            ];
            if visibility {
                // kube-apiserver checks the visibility Service's name (`<service>.<namespace>.svc`).
                dns.extend([
                    format!("{vis}.{ns}.svc"),
                    format!("{vis}.{ns}.svc.cluster.local"),
                ]);
            }
            dns.extend(args.cert_dns.iter().cloned());
            let cfg = SelfManagedCerts {
                namespace: ns.clone(),
                secret_name: args.cert_secret.clone(),
                names: Names {
                    dns,
                    ips: args.cert_ips.clone(),
                },
                lifetimes: Lifetimes {
                    serving: args.cert_validity_seconds,
                    renew_before: args.cert_renew_before_seconds,
                },
                mutating_configurations: args.mutating_configurations.clone(),
                validating_configurations: args.validating_configurations.clone(),
                crd_conversion: args.crd_conversion_webhook,
                // A manager that does not serve the visibility API leaves its APIServices alone.
                api_services: if visibility {
                    args.visibility_api_services.clone()
                } else {
                    Vec::new()
                },
            };
            tokio::spawn(run_self_managed_certs(client.clone(), cfg, certs.clone()));
        }
        CertMode::Files => {
            tokio::spawn(run_file_certs(args.cert_dir.clone(), certs.clone()));
        }
    }
    certs
}

/// The Job reconciler's settings (none when the Configuration turns the `batch/job` integration off).
fn job_settings(
    config: &turnstile_config::Configuration,
    jobs: JobsConfig,
) -> Option<turnstile_controller::jobs::JobSettings> {
    config
        .batch_job_enabled()
        .then(|| turnstile_controller::jobs::JobSettings {
            jobs,
            pods_ready: config.wait_for_pods_ready().map(pods_ready),
            retain_deactivated: config.workload_retention().after_deactivated_by_kueue,
        })
}

/// The scheduling core's settings from the flags and Kueue's Configuration.
fn cycle_config(
    args: &ManagerArgs,
    config: &turnstile_config::Configuration,
) -> turnstile_core::CycleConfig {
    let strategies = config.fair_sharing_strategies();
    let fair_strategies = strategies
        .and_then(|s| {
            use turnstile_core::preempt::Strategy;
            let list: Vec<Strategy> = s
                .strategies()
                .iter()
                .map(|p| match p.as_str() {
                    "LessThanInitialShare" => Strategy::LessThanInitialShare,
                    _ => Strategy::LessThanOrEqualToFinalShare,
                })
                .collect();
            turnstile_core::preempt::Strategies::from_list(&list)
        })
        .unwrap_or_default();
    turnstile_core::CycleConfig {
        max_evaluations: args.max_evaluations_per_cycle,
        partial_admission: true,
        fair_sharing: args.fair_sharing || strategies.is_some(),
        fair_strategies,
        admission_budget: None,
    }
}

/// Starts leader election and, behind it, the scheduler (its watches run on every replica so that
/// a new leader starts with a warm cache).
/// `clients`: the plain client (Lease, Events), the fenced one the controllers read and write
/// with, and the leadership that fences it.
fn start_scheduler(
    (client, fenced, leadership): (
        &kube::Client,
        &kube::Client,
        Arc<turnstile_controller::lease::Leadership>,
    ),
    args: &ManagerArgs,
    config: &turnstile_config::Configuration,
    jobs: Option<turnstile_controller::jobs::JobSettings>,
) -> turnstile_controller::scheduler::Shared {
    let identity = args.identity.clone().unwrap_or_else(|| {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map_or_else(|_| "turnstile".into(), |h| h.trim().to_owned());
        format!("{host}-{}", std::process::id())
    });
    let shared = turnstile_controller::scheduler::Shared {
        events: turnstile_controller::events::Events::start(client.clone(), Some(identity.clone())),
        index: Arc::new(std::sync::Mutex::new(
            turnstile_state::index::Index::with_resource_rules(resource_rules(config))
                .with_requeuing_by_creation(config.wait_for_pods_ready().is_some_and(|w| {
                    w.requeuing_timestamp == turnstile_config::RequeuingTimestamp::Creation
                }))
                .with_finished_retention(config.workload_retention().after_finished),
        )),
        leader: leadership,
        block_admission: config
            .wait_for_pods_ready()
            .is_some_and(|w| w.block_admission),
        ..Default::default()
    };
    let election = config.leader_election();
    let (duration, renew_deadline, retry) = match args.lease_duration_seconds {
        Some(secs) => {
            let d = Duration::from_secs(secs.max(3));
            (d, d * 2 / 3, d / 6)
        }
        None => (
            election.lease_duration.max(Duration::from_secs(3)),
            election.renew_deadline,
            election.retry_period,
        ),
    };
    if election.leader_elect {
        let lease = turnstile_controller::lease::LeaseConfig {
            namespace: election
                .resource_namespace
                .clone()
                .unwrap_or_else(|| args.namespace.clone()),
            name: args
                .leader_election_lease
                .clone()
                .unwrap_or_else(|| election.resource_name.clone()),
            identity,
            duration,
            renew_deadline,
            retry,
        };
        turnstile_controller::health::supervise(
            "lease",
            turnstile_controller::lease::run(
                client.clone(),
                lease,
                shared.leader.clone(),
                shared.heartbeats.clone(),
            ),
        );
    } else {
        // leaderElection.leaderElect: false — a single replica that always writes.
        tracing::warn!("leader election is off: run exactly one replica");
        shared.leader.forever();
    }
    let client = fenced.clone();
    let config = cycle_config(args, config);
    let returned = shared.clone();
    turnstile_controller::health::supervise("scheduler", async move {
        turnstile_controller::scheduler::start_watches(
            &client,
            &shared,
            Arc::new(turnstile_controller::windows::SystemClock),
        )
        .await;
        tracing::info!("scheduler caches synced; scheduling");
        if let Some(jobs) = jobs {
            turnstile_controller::health::supervise(
                "jobs",
                turnstile_controller::jobs::run(client.clone(), shared.clone(), jobs),
            );
        } else {
            tracing::warn!("integrations.frameworks lacks batch/job: Jobs are not managed");
        }
        turnstile_controller::scheduler::run(client, shared, config).await;
    });
    returned
}

/// The webhook and health addresses: the flags, else the Configuration.
fn addresses(
    args: &ManagerArgs,
    config: &turnstile_config::Configuration,
) -> Result<(SocketAddr, SocketAddr)> {
    let webhook_addr = if let Some(a) = args.webhook_addr {
        a
    } else {
        let w = config.webhook_server();
        let host = if w.host.is_empty() {
            "0.0.0.0"
        } else {
            w.host.as_str()
        };
        bind_address(&format!("{host}:{}", w.port)).context("webhook address")?
    };
    let health_addr = match args.health_addr {
        Some(a) => a,
        None => bind_address(config.health().bind_address.as_deref().unwrap_or(":8081"))
            .context("health address")?,
    };
    Ok((webhook_addr, health_addr))
}

/// Starts the metrics endpoint unless it is turned off.
fn start_metrics(
    args: &ManagerArgs,
    config: &turnstile_config::Configuration,
    shared: Option<turnstile_controller::scheduler::Shared>,
    (client, certs): (&kube::Client, Arc<CertStore>),
) -> Result<()> {
    let metrics_addr = match &args.metrics_addr {
        Some(a) if a == "0" => None,
        Some(a) => Some(a.clone()),
        None => config.metrics_bind_address(),
    };
    if let Some(addr) = metrics_addr {
        let addr = bind_address(&addr).with_context(|| format!("metrics address {addr:?}"))?;
        if args.metrics_insecure {
            tracing::warn!(metrics = %addr, "serving metrics over plain HTTP without authentication (--metrics-insecure)");
            tokio::spawn(serve_metrics(addr, shared));
        } else {
            tracing::info!(metrics = %addr, "serving metrics over HTTPS (bearer token, TokenReview + SubjectAccessReview)");
            tokio::spawn(serve_metrics_secure(addr, shared, client.clone(), certs));
        }
    }
    Ok(())
}

/// Where the visibility API is served: `--visibility-addr` (`0`: nowhere), else the
/// Configuration's `visibilityServer` unless its `VisibilityOnDemand` gate is off; never without
/// the scheduler (its cache is what is listed).
fn visibility_address(
    args: &ManagerArgs,
    config: &turnstile_config::Configuration,
) -> Result<Option<SocketAddr>> {
    if args.no_scheduler {
        return Ok(None);
    }
    let addr = match &args.visibility_addr {
        Some(a) if a == "0" => None,
        Some(a) => Some(a.clone()),
        None => config.visibility_bind_address(),
    };
    addr.map(|a| bind_address(&a).with_context(|| format!("visibility address {a:?}")))
        .transpose()
}

/// `host:port`, `:port` (all interfaces) or a bare port as a socket address.
fn bind_address(text: &str) -> Result<SocketAddr> {
    let full = if text.starts_with(':') {
        format!("0.0.0.0{text}")
    } else if text.parse::<u16>().is_ok() {
        format!("0.0.0.0:{text}")
    } else {
        text.to_owned()
    };
    full.parse()
        .with_context(|| format!("{text:?} is not host:port"))
}

/// Serves `/metrics`: counters and histograms of this process, gauges from the scheduler's cache.
/// The `/metrics` exposition text now.
fn render_metrics(shared: Option<&turnstile_controller::scheduler::Shared>) -> String {
    use turnstile_controller::metrics;
    let Some(sh) = shared else {
        return metrics::global().render(&[], "standalone", &|_, _| None);
    };
    let Ok(ix) = sh.index.lock() else {
        return metrics::global().render(&[], "standalone", &|_, _| None);
    };
    let gauges = metrics::cache_gauges(&ix);
    let role = if sh.leader.holds() {
        "leader"
    } else {
        "follower"
    };
    let lq_labels = |ns: &str, name: &str| {
        ix.local_queue(&turnstile_core::ObjectKey::new(ns, name))
            .map(|lq| lq.metadata.labels.clone().unwrap_or_default())
    };
    metrics::global().render(&gauges, role, &lq_labels)
}

/// What `/metrics` exposes, from the Configuration as Kueue reads it: the ClusterQueue resource
/// gauges with `metrics.enableClusterQueueResources`, LocalQueue series with
/// `metrics.localQueueMetrics` (on by default) and its selector, weighted shares with fair sharing,
/// and Kueue's metric feature gates (`LocalQueueMetrics`, `MetricsForCohorts`,
/// `MetricForWorkloadCreationLatency`).
fn configure_metrics(config: &turnstile_config::Configuration) {
    use turnstile_controller::metrics;
    let lq = config
        .metrics
        .local_queue_metrics
        .clone()
        .unwrap_or_default();
    let selector = lq.local_queue_selector.map(|sel| {
        let f: metrics::LocalQueueFilter = std::sync::Arc::new(move |labels| sel.matches(labels));
        f
    });
    let gate = |name: &str| {
        config
            .feature_gate(name)
            .unwrap_or_else(|| turnstile_config::gates::default_of(name))
    };
    metrics::configure(metrics::Settings {
        cluster_queue_resources: config.metrics.enable_cluster_queue_resources,
        local_queues: lq.enable && gate("LocalQueueMetrics"),
        local_queue_selector: selector,
        fair_sharing: config.fair_sharing.is_some(),
        hierarchy_info: gate("MetricsForCohorts"),
        creation_latency: gate("MetricForWorkloadCreationLatency"),
    });
}

const METRICS_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// `/metrics` over HTTPS, for tokens whose user may get it.
async fn serve_metrics_secure(
    addr: SocketAddr,
    shared: Option<turnstile_controller::scheduler::Shared>,
    client: kube::Client,
    certs: Arc<CertStore>,
) {
    use turnstile_controller::metrics_auth::{ApiReviewer, Gate, Verdict};
    let gate = Arc::new(Gate::new(ApiReviewer::new(client)));
    let handler: turnstile_webhook::server::GetHandler = Arc::new(move |req| {
        let gate = gate.clone();
        let shared = shared.clone();
        Box::pin(async move {
            const TEXT: &str = "text/plain; charset=utf-8";
            if req.path != "/metrics" {
                return (404, TEXT, "not found".to_owned());
            }
            match gate
                .check(req.authorization(), std::time::Instant::now())
                .await
            {
                Verdict::Allowed => (200, METRICS_TYPE, render_metrics(shared.as_ref())),
                Verdict::Unauthenticated(why) => (401, TEXT, why),
                Verdict::Forbidden(why) => (403, TEXT, why),
            }
        })
    });
    if let Err(e) = turnstile_webhook::server::serve_get_tls(addr, certs, None, handler).await {
        tracing::error!(error = %e, "metrics server stopped");
    }
}

async fn serve_metrics(addr: SocketAddr, shared: Option<turnstile_controller::scheduler::Shared>) {
    let route = move |path: &str| {
        if path != "/metrics" {
            return (
                health::StatusCode::NOT_FOUND,
                "text/plain; charset=utf-8",
                "not found".to_owned(),
            );
        }
        (
            health::StatusCode::OK,
            METRICS_TYPE,
            render_metrics(shared.as_ref()),
        )
    };
    if let Err(e) = health::serve_routes(addr, "metrics", Arc::new(route)).await {
        tracing::error!(error = %e, "metrics server stopped");
    }
}

/// `resources.excludeResourcePrefixes` and `resources.transformations` as the cache applies them
/// (quantities were validated when the file was loaded; one that does not parse counts as zero).
fn resource_rules(
    config: &turnstile_config::Configuration,
) -> turnstile_state::convert::ResourceRules {
    use turnstile_config::accessors::TransformationStrategy;
    use turnstile_state::convert::{ResourceRules, Transformation};
    let q = |s: &str| turnstile_core::Quantity::parse(s).unwrap_or_default();
    ResourceRules {
        exclude_prefixes: config.exclude_resource_prefixes().to_vec(),
        transformations: config
            .resource_transformations()
            .iter()
            .map(|t| {
                (
                    t.input.clone(),
                    Transformation {
                        retain: t.strategy_kind() != Some(TransformationStrategy::Replace),
                        multiply_by: (!t.multiply_by.is_empty()).then(|| t.multiply_by.clone()),
                        outputs: t
                            .outputs
                            .iter()
                            .map(|(k, v)| (k.clone(), q(v.as_str())))
                            .collect(),
                    },
                )
            })
            .collect(),
    }
}

/// `waitForPodsReady` as the Job reconciler uses it.
fn pods_ready(w: turnstile_config::accessors::WaitForPodsReadySettings) -> PodsReadyConfig {
    let ms = |d: Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
    PodsReadyConfig {
        timeout_ms: ms(w.timeout),
        recovery_timeout_ms: w.recovery_timeout.map(ms),
        backoff_base_seconds: i64::from(w.backoff_base_seconds),
        backoff_max_seconds: i64::from(w.backoff_max_seconds),
        backoff_limit_count: w
            .backoff_limit_count
            .map(|c| i32::try_from(c).unwrap_or(i32::MAX)),
    }
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        if let Ok(mut term) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            tokio::select! {
                _ = ctrl_c => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = ctrl_c.await;
}

#[cfg(test)]
mod tests {
    use super::{CertMode, ManagerArgs, check_cert_names, resolve_cert_mode};
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: ManagerArgs,
    }

    #[test]
    fn certificate_names_in_the_file_must_match_the_flags() {
        let args = Cli::parse_from(["m", "--webhook-service", "svc", "--cert-secret", "sec"]).args;
        let file = |body: &str| {
            turnstile_config::parse_with_fallback_namespace(
                &format!("apiVersion: config.kueue.x-k8s.io/v1beta2\nkind: Configuration\n{body}"),
                "ns",
            )
            .unwrap_or_else(|e| panic!("{e}"))
            .config
        };
        assert!(
            check_cert_names(&args, &file("")).is_ok(),
            "Kueue's defaults: the flags decide"
        );
        assert!(
            check_cert_names(
                &args,
                &file(
                    "internalCertManagement:\n  webhookServiceName: svc\n  webhookSecretName: sec\n"
                )
            )
            .is_ok()
        );
        let err = check_cert_names(
            &args,
            &file("internalCertManagement:\n  webhookServiceName: other\n"),
        )
        .map_err(|e| e.to_string())
        .unwrap_err();
        assert!(
            err.starts_with("internalCertManagement.webhookServiceName: Invalid value: \"other\""),
            "{err}"
        );
    }

    #[test]
    fn internal_cert_management_off_means_provided_certificates_unless_the_flag_says() {
        assert_eq!(resolve_cert_mode(None, true), CertMode::SelfManaged);
        assert_eq!(resolve_cert_mode(None, false), CertMode::Files);
        assert_eq!(
            resolve_cert_mode(Some(CertMode::SelfManaged), false),
            CertMode::SelfManaged
        );
    }
}
