//! Whole files: Kueue's shipped manager config, a file setting every core field, an empty file (all defaults),
//! every field of the schema, and the not-yet-supported report.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::time::Duration;

use pretty_assertions::assert_eq;
use serde_json::json;
use turnstile_config::{
    FairSharingStrategies, LabelSelector, PreemptionStrategy, RequeuingTimestamp,
    TransformationStrategy, WaitForPodsReadySettings, defaults_for_namespace, not_yet_supported,
    parse_with_fallback_namespace,
};

const SHIPPED: &str = include_str!("fixtures/controller_manager_config.yaml");
const CORE: &str = include_str!("fixtures/core_fields.yaml");
const ALL: &str = include_str!("fixtures/all_fields.yaml");
const HEAD: &str = "apiVersion: config.kueue.x-k8s.io/v1beta2\nkind: Configuration\n";

fn load(text: &str) -> turnstile_config::Loaded {
    parse_with_fallback_namespace(text, "kueue-system").unwrap_or_else(|e| panic!("{e}"))
}

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn ns(name: &str) -> BTreeMap<String, String> {
    labels(&[("kubernetes.io/metadata.name", name)])
}

#[test]
fn kueue_shipped_manager_config_loads() {
    let loaded = load(SHIPPED);
    assert_eq!(loaded.warnings, Vec::<String>::new());
    let c = &loaded.config;
    assert_eq!(c.namespace(), "kueue-system");
    assert_eq!(c.health.health_probe_bind_address, ":8081");
    assert_eq!(c.metrics.bind_address, ":8443");
    assert_eq!(c.webhook.port, Some(9443));
    let le = c.leader_election();
    assert!(le.leader_elect);
    assert_eq!(le.resource_name, "c1f6bfd2.kueue.x-k8s.io");
    assert_eq!(le.lease_duration, Duration::from_secs(15));
    let gkc = &c.controller.as_ref().unwrap().group_kind_concurrency;
    assert_eq!(gkc.get("Job.batch"), Some(&5));
    assert_eq!(gkc.get("Workload.kueue.x-k8s.io"), Some(&10));
    assert_eq!(gkc.len(), 7);
    let cc = c.client_connection();
    assert!((cc.qps - 300.0).abs() < f32::EPSILON);
    assert_eq!(cc.burst, 500);
    assert_eq!(
        c.frameworks(),
        [
            "batch/job",
            "kubeflow.org/mpijob",
            "ray.io/rayjob",
            "ray.io/raycluster",
            "ray.io/rayservice",
            "jobset.x-k8s.io/jobset",
            "workload.codeflare.dev/appwrapper",
            "trainer.kubeflow.org/trainjob",
            "pod",
            "deployment",
            "statefulset",
            "leaderworkerset.x-k8s.io/leaderworkerset",
        ]
    );
    assert!(c.batch_job_enabled());
    // Everything commented out in the file comes from the defaults: waitForPodsReady is on.
    let w = c.wait_for_pods_ready().unwrap();
    assert_eq!(w.timeout, Duration::from_mins(30));
    assert_eq!(c.fair_sharing_strategies(), None);
    let sel = c.managed_jobs_namespace_selector().unwrap();
    assert!(!sel.matches(&ns("kube-system")));
    assert!(!sel.matches(&ns("kueue-system")));
    assert!(sel.matches(&ns("team-a")));

    assert_eq!(
        not_yet_supported(c),
        vec![
            r#"integrations.frameworks contains "kubeflow.org/mpijob""#,
            r#"integrations.frameworks contains "ray.io/rayjob""#,
            r#"integrations.frameworks contains "ray.io/raycluster""#,
            r#"integrations.frameworks contains "ray.io/rayservice""#,
            r#"integrations.frameworks contains "jobset.x-k8s.io/jobset""#,
            r#"integrations.frameworks contains "workload.codeflare.dev/appwrapper""#,
            r#"integrations.frameworks contains "trainer.kubeflow.org/trainjob""#,
            r#"integrations.frameworks contains "pod""#,
            r#"integrations.frameworks contains "deployment""#,
            r#"integrations.frameworks contains "statefulset""#,
            r#"integrations.frameworks contains "leaderworkerset.x-k8s.io/leaderworkerset""#,
            r#"controller.groupKindConcurrency = {"ClusterQueue.kueue.x-k8s.io":5,"Cohort.kueue.x-k8s.io":1,"Job.batch":5,"LocalQueue.kueue.x-k8s.io":5,"Pod":5,"ResourceFlavor.kueue.x-k8s.io":1,"Workload.kueue.x-k8s.io":10}"#,
        ]
    );
}

#[test]
fn core_file_namespace_selector() {
    let c = load(CORE).config;
    let sel = c.managed_jobs_namespace_selector().unwrap();
    assert_eq!(sel.match_labels, labels(&[("team", "ml")]));
    assert_eq!(sel.match_expressions.len(), 4);
    let ok = labels(&[
        ("kubernetes.io/metadata.name", "research"),
        ("team", "ml"),
        ("tier", "gold"),
        ("queues", ""),
    ]);
    assert!(sel.matches(&ok));
    let mut sandbox = ok.clone();
    sandbox.insert("sandbox".into(), "yes".into());
    assert!(!sel.matches(&sandbox));
    let mut bronze = ok.clone();
    bronze.insert("tier".into(), "bronze".into());
    assert!(!sel.matches(&bronze));
    let mut own_ns = ok.clone();
    own_ns.insert("kubernetes.io/metadata.name".into(), "batch-system".into());
    assert!(!sel.matches(&own_ns));
    let mut no_queues = ok;
    no_queues.remove("queues");
    assert!(!sel.matches(&no_queues));
}

#[test]
fn every_core_field_is_read() {
    let loaded = load(CORE);
    assert_eq!(loaded.warnings, Vec::<String>::new());
    let c = &loaded.config;

    assert_eq!(c.namespace(), "batch-system");
    assert!(c.manage_jobs_without_queue_name);
    assert_eq!(
        c.managed_jobs_namespace_selector()
            .unwrap()
            .match_expressions
            .len(),
        4
    );

    assert_eq!(
        c.wait_for_pods_ready(),
        Some(WaitForPodsReadySettings {
            timeout: Duration::from_mins(5),
            recovery_timeout: Some(Duration::from_secs(90)),
            block_admission: false,
            requeuing_timestamp: RequeuingTimestamp::Creation,
            backoff_base_seconds: 10,
            backoff_max_seconds: 600,
            backoff_limit_count: Some(5),
        })
    );

    let fs = c.fair_sharing_strategies().unwrap();
    assert_eq!(
        fs,
        FairSharingStrategies::LessThanOrEqualToFinalShareThenLessThanInitialShare
    );
    assert_eq!(
        fs.strategies(),
        [
            PreemptionStrategy::LessThanOrEqualToFinalShare,
            PreemptionStrategy::LessThanInitialShare
        ]
    );

    assert_eq!(
        c.exclude_resource_prefixes(),
        ["networking.example.com/", "ephemeral-storage"]
    );
    let t = c.resource_transformations();
    assert_eq!(t.len(), 2);
    assert_eq!(t[0].input, "nvidia.com/mig-4g.5gb");
    assert_eq!(t[0].strategy_kind(), Some(TransformationStrategy::Replace));
    assert_eq!(t[0].multiply_by, "");
    let outputs: Vec<(&str, &str)> = t[0]
        .outputs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        outputs,
        [
            ("example.com/accelerator-gpc", "4"),
            ("example.com/accelerator-memory", "5Gi")
        ]
    );
    assert_eq!(t[1].strategy.as_deref(), Some("Retain"), "defaulted");
    assert_eq!(t[1].strategy_kind(), Some(TransformationStrategy::Retain));
    assert_eq!(t[1].multiply_by, "example.com/replicas");
    assert_eq!(t[1].outputs["example.com/credits"].as_str(), "1.5");

    assert_eq!(c.frameworks(), ["batch/job"]);
    let cc = c.client_connection();
    assert!((cc.qps - 50.5).abs() < f32::EPSILON);
    assert_eq!(cc.burst, 100);

    let wh = c.webhook_server();
    assert_eq!(
        (wh.host.as_str(), wh.port, wh.cert_dir.as_str()),
        ("0.0.0.0", 10443, "/etc/turnstile/certs")
    );
    assert_eq!(c.metrics_bind_address().as_deref(), Some(":9443"));
    let h = c.health();
    assert_eq!(h.bind_address.as_deref(), Some(":9081"));
    assert_eq!(h.readiness_endpoint_name, "ready");
    assert_eq!(h.liveness_endpoint_name, "alive");

    let le = c.leader_election();
    assert!(!le.leader_elect);
    assert_eq!(le.lease_duration, Duration::from_secs(30));
    assert_eq!(le.renew_deadline, Duration::from_secs(20));
    assert_eq!(le.retry_period, Duration::from_secs(5));
    assert_eq!(le.resource_lock, "leases");
    assert_eq!(le.resource_name, "turnstile.example.com");
    assert_eq!(le.resource_namespace.as_deref(), Some("leases"));

    let icm = c.internal_cert_management();
    assert!(icm.enable);
    assert_eq!(icm.webhook_service_name, "batch-webhook");
    assert_eq!(icm.webhook_secret_name, "batch-webhook-cert");

    // Everything in this file is acted on.
    assert_eq!(not_yet_supported(c), Vec::<String>::new());
}

#[test]
fn header_only_file_is_all_of_kueues_defaults() {
    let loaded = load(HEAD);
    assert_eq!(loaded.warnings, Vec::<String>::new());
    assert_eq!(loaded.config, defaults_for_namespace("kueue-system"));
    // The defaulted object as Kueue's own defaulting produces it (defaults.go / defaults_test.go).
    assert_eq!(
        serde_json::to_value(&loaded.config).unwrap(),
        json!({
            "apiVersion": "config.kueue.x-k8s.io/v1beta2",
            "kind": "Configuration",
            "namespace": "kueue-system",
            "webhook": {"port": 9443, "certDir": "/tmp/k8s-webhook-server/serving-certs"},
            "leaderElection": {
                "leaderElect": true,
                "leaseDuration": "15s",
                "renewDeadline": "10s",
                "retryPeriod": "2s",
                "resourceLock": "leases",
                "resourceName": "c1f6bfd2.kueue.x-k8s.io",
                "resourceNamespace": ""
            },
            "metrics": {"bindAddress": ":8443", "localQueueMetrics": {"enable": true}},
            "health": {"healthProbeBindAddress": ":8081"},
            "manageJobsWithoutQueueName": false,
            "managedJobsNamespaceSelector": {
                "matchExpressions": [{
                    "key": "kubernetes.io/metadata.name",
                    "operator": "NotIn",
                    "values": ["kube-system", "kueue-system"]
                }]
            },
            "internalCertManagement": {
                "enable": true,
                "webhookServiceName": "kueue-webhook-service",
                "webhookSecretName": "kueue-webhook-server-cert"
            },
            "waitForPodsReady": {
                "timeout": "30m0s",
                "blockAdmission": false,
                "requeuingStrategy": {"timestamp": "Eviction", "backoffBaseSeconds": 60, "backoffMaxSeconds": 3600},
                "recoveryTimeout": "30m0s"
            },
            "clientConnection": {"qps": 300.0, "burst": 500},
            "integrations": {"frameworks": ["batch/job"]},
            "multiKueue": {
                "gcInterval": "1m0s",
                "origin": "multikueue",
                "workerLostTimeout": "15m0s",
                "dispatcherName": "kueue.x-k8s.io/multikueue-dispatcher-all-at-once"
            },
            "visibilityServer": {"bindPort": 8082}
        })
    );
    let c = &loaded.config;
    assert_eq!(
        c.wait_for_pods_ready(),
        Some(WaitForPodsReadySettings {
            timeout: Duration::from_mins(30),
            recovery_timeout: Some(Duration::from_mins(30)),
            block_admission: false,
            requeuing_timestamp: RequeuingTimestamp::Eviction,
            backoff_base_seconds: 60,
            backoff_max_seconds: 3600,
            backoff_limit_count: None,
        })
    );
    assert_eq!(c.fair_sharing_strategies(), None);
    assert!(!c.manage_jobs_without_queue_name);
    assert_eq!(c.webhook_server().port, 9443);
    assert_eq!(c.health().readiness_endpoint_name, "readyz");
    assert_eq!(c.health().liveness_endpoint_name, "healthz");
    assert_eq!(not_yet_supported(c), Vec::<String>::new());
}

#[test]
fn namespace_feeds_the_default_selector() {
    let c = load(&format!("{HEAD}namespace: tenant-a\n")).config;
    let sel = c.managed_jobs_namespace_selector().unwrap();
    assert!(!sel.matches(&ns("tenant-a")));
    assert!(!sel.matches(&ns("kube-system")));
    assert!(sel.matches(&ns("kueue-system")));
    // With no `namespace` in the file, the fallback is used.
    let c = parse_with_fallback_namespace(HEAD, "from-pod")
        .unwrap()
        .config;
    assert_eq!(c.namespace(), "from-pod");
    assert!(
        !c.managed_jobs_namespace_selector()
            .unwrap()
            .matches(&ns("from-pod"))
    );
}

#[test]
fn zero_values_follow_kueues_defaulting_rules() {
    let c = load(&format!(
        "{HEAD}waitForPodsReady:\n  timeout: 0s\n  recoveryTimeout: 0s\nclientConnection:\n  qps: 0\nleaderElection:\n  leaseDuration: 0s\nmultiKueue:\n  gcInterval: 0s\n  origin: \"\"\nintegrations:\n  frameworks: []\n"
    ))
    .config;
    let w = c.wait_for_pods_ready().unwrap();
    // A zero timeout is replaced by the default; an explicit zero recovery timeout disables the check.
    assert_eq!(w.timeout, Duration::from_mins(30));
    assert_eq!(w.recovery_timeout, None);
    // Explicit pointers keep their zero value.
    assert!(c.client_connection().qps.abs() < f32::EPSILON);
    assert_eq!(
        c.multi_kueue
            .as_ref()
            .unwrap()
            .gc_interval
            .unwrap()
            .as_nanos(),
        0
    );
    // Plain values and the origin are re-defaulted.
    assert_eq!(
        c.multi_kueue.as_ref().unwrap().origin.as_deref(),
        Some("multikueue")
    );
    assert_eq!(c.leader_election().lease_duration, Duration::from_secs(15));
    assert_eq!(c.frameworks(), ["batch/job"]);
}

#[test]
fn nulls_mean_unset() {
    let c = load(&format!(
        "{HEAD}waitForPodsReady:\n  timeout: 2m\n  requeuingStrategy:\n    backoffLimitCount: null\nfairSharing: null\nobjectRetentionPolicies:\n  workloads:\n    afterFinished: null\n"
    ))
    .config;
    assert_eq!(c.wait_for_pods_ready().unwrap().backoff_limit_count, None);
    assert_eq!(c.fair_sharing, None);
    assert_eq!(
        c.object_retention_policies
            .unwrap()
            .workloads
            .unwrap()
            .after_finished,
        None
    );
}

#[test]
fn disable_wait_for_pods_ready_gate_turns_it_off() {
    let c = load(&format!(
        "{HEAD}featureGates:\n  DisableWaitForPodsReady: true\nwaitForPodsReady:\n  timeout: -1s\n"
    ))
    .config;
    // Off: neither validated (Kueue skips it too) nor returned.
    assert_eq!(c.wait_for_pods_ready(), None);
    assert_eq!(not_yet_supported(&c), Vec::<String>::new());
}

#[test]
fn yaml_1_1_booleans_are_booleans() {
    let c = load(&format!(
        "{HEAD}manageJobsWithoutQueueName: yes\nleaderElection:\n  leaderElect: off\n"
    ))
    .config;
    assert!(c.manage_jobs_without_queue_name);
    assert!(!c.leader_election().leader_elect);
}

#[test]
fn json_is_accepted_too() {
    let c = load(r#"{"apiVersion": "config.kueue.x-k8s.io/v1beta2", "kind": "Configuration", "fairSharing": {"preemptionStrategies": ["LessThanInitialShare"]}}"#).config;
    assert_eq!(
        c.fair_sharing_strategies(),
        Some(FairSharingStrategies::LessThanInitialShare)
    );
}

#[test]
fn every_field_of_the_schema_loads_and_round_trips() {
    let loaded = load(ALL);
    assert_eq!(loaded.warnings, Vec::<String>::new());
    let c = &loaded.config;
    assert!(c.wait_for_pods_ready().unwrap().block_admission);
    let afs = c.admission_fair_sharing.as_ref().unwrap();
    assert_eq!(
        afs.usage_half_life_time.to_std(),
        Some(Duration::from_hours(168))
    );
    assert!((afs.resource_weights["memory"] - 0.5).abs() < f64::EPSILON);
    let mk = c.multi_kueue.as_ref().unwrap();
    assert_eq!(
        mk.incremental_dispatcher_config.as_ref().unwrap().step_size,
        Some(2)
    );
    let provider = &mk.cluster_profile.as_ref().unwrap().access_providers[0];
    assert_eq!(provider.exec_config.env[0].value, "east");
    assert!(provider.exec_config.provide_cluster_info);
    assert_eq!(
        c.controller.as_ref().unwrap().cache_sync_timeout,
        Some(120_000_000_000)
    );
    assert_eq!(c.tls.as_ref().unwrap().curve_preferences, [29]);
    let lqm = c.metrics.local_queue_metrics.as_ref().unwrap();
    assert!(
        lqm.local_queue_selector
            .as_ref()
            .unwrap()
            .matches(&labels(&[("metrics", "on")]))
    );
    assert_eq!(
        c.resources.as_ref().unwrap().device_class_mappings[0].sources[0]
            .counter
            .as_ref()
            .unwrap()
            .driver,
        "gpu.example.com"
    );

    // Writing the loaded configuration back and reading it again changes nothing (defaults are idempotent).
    for text in [SHIPPED, CORE, ALL, HEAD] {
        let first = load(text).config;
        let yaml = serde_yaml::to_string(&first).unwrap();
        assert_eq!(load(&yaml).config, first, "{yaml}");
    }
}

#[test]
fn not_yet_supported_lists_everything_set_but_ignored() {
    let c = load(ALL).config;
    assert_eq!(
        not_yet_supported(&c),
        vec![
            "featureGates.TopologyAwareScheduling = true (no effect: Turnstile has no such feature)",
            r#"integrations.frameworks contains "pod""#,
            r#"integrations.frameworks contains "jobset.x-k8s.io/jobset""#,
            r#"integrations.externalFrameworks = ["Foo.v1.example.com"]"#,
            r#"integrations.labelKeysToCopy = ["team","project"]"#,
            r#"resources.deviceClassMappings = [{"deviceClassNames":["gpu.example.com"],"name":"example.com/gpu","sources":[{"counter":{"deviceSelector":{"cel":{"expression":"device.attributes[\"gpu.example.com\"].model == \"big\""}},"driver":"gpu.example.com","name":"memory"}}]}]"#,
            r#"multiKueue.gcInterval = "2m0s""#,
            r#"multiKueue.origin = "east""#,
            r#"multiKueue.workerLostTimeout = "10m0s""#,
            r#"multiKueue.dispatcherName = "kueue.x-k8s.io/multikueue-dispatcher-incremental""#,
            r#"multiKueue.externalFrameworks = [{"name":"Bar.v1.example.com"}]"#,
            r#"multiKueue.clusterProfile = {"accessProviders":[{"execConfig":{"apiVersion":"client.authentication.k8s.io/v1","args":["--cluster"],"command":"/bin/gke-auth","env":[{"name":"REGION","value":"east"}],"installHint":"install gke-auth","interactiveMode":"Never","provideClusterInfo":true},"name":"gke"}]}"#,
            r#"multiKueue.incrementalDispatcherConfig = {"stepSize":2}"#,
            r#"metrics.customLabels = [{"name":"team","sourceKind":"LocalQueue","sourceLabelKey":"example.com/team","trackedValues":["a","b"]}]"#,
            r#"pprofBindAddress = ":8083""#,
            r#"controller.groupKindConcurrency = {"Job.batch":5}"#,
            "controller.cacheSyncTimeout = 120000000000",
            r#"tls = {"curvePreferences":[29],"minVersion":"VersionTLS13"}"#,
        ]
    );
    // The DisableWaitForPodsReady gate and visibilityServer are acted on, so they are not listed
    // even though they are set.
    assert!(
        !not_yet_supported(&c)
            .iter()
            .any(|l| l.contains("DisableWaitForPodsReady"))
    );
}

#[test]
fn selector_type_matches_like_kubernetes() {
    let sel: LabelSelector = serde_yaml::from_str(
        "matchExpressions:\n- {key: env, operator: NotIn, values: [prod]}\n- {key: team, operator: Exists}\n",
    )
    .unwrap();
    assert!(sel.matches(&labels(&[("team", "a")])));
    assert!(sel.matches(&labels(&[("team", "a"), ("env", "dev")])));
    assert!(!sel.matches(&labels(&[("team", "a"), ("env", "prod")])));
    assert!(!sel.matches(&labels(&[("env", "dev")])));
}

/// What Kueue would act on and Turnstile does not is refused, field by field, and gates are
/// judged by Kueue's list: unknown, locked, or set off a default Turnstile keeps.
#[test]
fn refused_fields_and_gates_name_themselves() {
    let refused = |text: &str| -> Vec<String> {
        turnstile_config::refused(&load(text).config)
            .iter()
            .map(ToString::to_string)
            .collect()
    };
    assert_eq!(
        refused(SHIPPED),
        Vec::<String>::new(),
        "Kueue's shipped file"
    );
    assert_eq!(refused(ALL).len(), 1, "{:?}", refused(ALL));
    assert!(refused(ALL)[0].starts_with("admissionFairSharing: Invalid value:"));
    assert_eq!(
        refused(&format!(
            "{HEAD}resources:\n  quotaCheckStrategy: BlockUndeclared\n"
        )),
        Vec::<String>::new(),
        "Kueue's default written out"
    );
    assert_eq!(
        refused(&format!(
            "{HEAD}resources:\n  quotaCheckStrategy: IgnoreUndeclared\n"
        )),
        [
            "resources.quotaCheckStrategy: Invalid value: \"IgnoreUndeclared\": only BlockUndeclared (Kueue's default) is supported: a workload asking for a resource its ClusterQueue does not cover stays pending"
        ]
    );
    assert_eq!(
        refused(&format!(
            "{HEAD}featureGates:\n  PartialAdmission: false\n  HierarchicalCohorts: false\n  NoSuchGate: true\n  TopologyAwareScheduling: false\n  LocalQueueMetrics: false\n  FlavorFungibility: true\n"
        )),
        [
            "featureGates[HierarchicalCohorts]: Forbidden: cannot set feature gate HierarchicalCohorts to false, feature is locked to true",
            "featureGates[NoSuchGate]: Invalid value: true: unrecognized feature gate \"NoSuchGate\" (Kueue v0.19 refuses it too)",
            "featureGates[PartialAdmission]: Forbidden: Turnstile does not support PartialAdmission=false: it behaves as Kueue's default (PartialAdmission=true); remove the gate",
        ]
    );
    assert_eq!(
        refused(&format!(
            "{HEAD}objectRetentionPolicies:\n  workloads:\n    afterFinished: null\n"
        )),
        Vec::<String>::new(),
        "no retention set: nothing to refuse"
    );
}

#[test]
fn workload_retention_is_read_as_kueue_reads_it() {
    let r = load(ALL).config.workload_retention();
    assert_eq!(r.after_finished, Some(std::time::Duration::from_hours(1)));
    let r = load(&format!(
        "{HEAD}objectRetentionPolicies:\n  workloads:\n    afterFinished: 90s\n    afterDeactivatedByKueue: 0s\n"
    ))
    .config
    .workload_retention();
    assert_eq!(r.after_finished, Some(std::time::Duration::from_secs(90)));
    assert_eq!(
        r.after_deactivated_by_kueue,
        Some(std::time::Duration::ZERO),
        "0: at once"
    );
    assert_eq!(
        load(SHIPPED).config.workload_retention(),
        turnstile_config::WorkloadRetention::default(),
        "unset: kept forever"
    );
}

#[test]
fn the_visibility_server_address_follows_the_file_and_its_gate() {
    let head = "apiVersion: config.kueue.x-k8s.io/v1beta2\nkind: Configuration\n";
    let addr = |extra: &str| {
        load(&format!("{head}{extra}"))
            .config
            .visibility_bind_address()
    };
    assert_eq!(addr("").as_deref(), Some("0.0.0.0:8082"), "Kueue's default");
    assert_eq!(
        addr("visibilityServer:\n  bindAddress: 127.0.0.1\n  bindPort: 9082\n").as_deref(),
        Some("127.0.0.1:9082")
    );
    assert_eq!(
        addr("visibilityServer:\n  bindAddress: \"::1\"\n").as_deref(),
        Some("[::1]:8082")
    );
    assert_eq!(addr("featureGates:\n  VisibilityOnDemand: false\n"), None);
}
