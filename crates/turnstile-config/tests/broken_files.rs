//! Files that must be rejected, each with the exact, field-pathed message; and files that load with warnings.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use pretty_assertions::assert_eq;
use turnstile_config::{ConfigError, FieldErrorType, parse_with_fallback_namespace};

const HEAD: &str = "apiVersion: config.kueue.x-k8s.io/v1beta2\nkind: Configuration\n";

fn error(text: &str) -> ConfigError {
    match parse_with_fallback_namespace(text, "kueue-system") {
        Ok(loaded) => panic!("accepted: {:#?}", loaded.config),
        Err(e) => e,
    }
}

/// The field errors of a file that fails validation, one string each.
fn invalid(body: &str) -> Vec<String> {
    match error(&format!("{HEAD}{body}")) {
        ConfigError::Invalid(errs) => errs.iter().map(ToString::to_string).collect(),
        other => panic!("not a validation error: {other:?}"),
    }
}

/// The message of a file that fails to decode.
fn decode(body: &str) -> String {
    match error(&format!("{HEAD}{body}")) {
        e @ ConfigError::Decode { .. } => e.to_string(),
        other => panic!("not a decode error: {other:?}"),
    }
}

#[test]
fn wrong_kind() {
    let e = error("apiVersion: config.kueue.x-k8s.io/v1beta2\nkind: KueueConfiguration\n");
    assert_eq!(
        e.to_string(),
        r#"kind: Unsupported value: "KueueConfiguration": supported values: "Configuration""#
    );
    assert_eq!(e.field_errors()[0].error_type, FieldErrorType::NotSupported);
    assert_eq!(e.field_errors()[0].field, "kind");
}

#[test]
fn wrong_or_missing_api_version() {
    assert_eq!(
        error("apiVersion: config.kueue.x-k8s.io/v1alpha1\nkind: Configuration\n").to_string(),
        r#"apiVersion: Unsupported value: "config.kueue.x-k8s.io/v1alpha1": supported values: "config.kueue.x-k8s.io/v1beta2""#
    );
    assert_eq!(
        error("apiVersion: kueue.x-k8s.io/v1beta2\nkind: Configuration\n").to_string(),
        r#"apiVersion: Unsupported value: "kueue.x-k8s.io/v1beta2": supported values: "config.kueue.x-k8s.io/v1beta2""#
    );
    assert_eq!(
        error("kind: Configuration\n").to_string(),
        r#"apiVersion: Required value: must be "config.kueue.x-k8s.io/v1beta2""#
    );
    assert_eq!(
        error("").to_string(),
        "invalid configuration (2 errors):\n  apiVersion: Required value: must be \"config.kueue.x-k8s.io/v1beta2\"\n  kind: Required value: must be \"Configuration\""
    );
    assert_eq!(
        error("apiVersion: 2\nkind: Configuration\n").to_string(),
        "apiVersion: Invalid value: 2: must be a string"
    );
}

#[test]
fn negative_timeout() {
    assert_eq!(
        invalid("waitForPodsReady:\n  timeout: -1s\n"),
        [
            r#"waitForPodsReady.timeout: Invalid value: "-1s": must be greater than or equal to 0"#,
            // recoveryTimeout defaults to the timeout, so it is negative too (as in Kueue).
            r#"waitForPodsReady.recoveryTimeout: Invalid value: "-1s": must be greater than or equal to 0"#,
        ]
    );
    // The value is printed the way Go prints a duration.
    assert_eq!(
        invalid("waitForPodsReady:\n  timeout: 1m\n  recoveryTimeout: -90s\n"),
        [
            r#"waitForPodsReady.recoveryTimeout: Invalid value: "-1m30s": must be greater than or equal to 0"#
        ]
    );
}

#[test]
fn every_error_is_returned() {
    assert_eq!(
        invalid(
            "waitForPodsReady:
  timeout: -5m
  recoveryTimeout: 1m
  requeuingStrategy:
    timestamp: Admission
    backoffLimitCount: -1
    backoffBaseSeconds: -2
    backoffMaxSeconds: -3
fairSharing: {}
resources:
  transformations:
  - input: cpu
    strategy: Keep
  - input: cpu
internalCertManagement:
  webhookServiceName: 1-webhook
multiKueue:
  gcInterval: -1s
objectRetentionPolicies:
  workloads:
    afterFinished: -1h
"
        ),
        [
            r#"waitForPodsReady.timeout: Invalid value: "-5m0s": must be greater than or equal to 0"#,
            r#"waitForPodsReady.requeuingStrategy.timestamp: Unsupported value: "Admission": supported values: "Creation", "Eviction""#,
            "waitForPodsReady.requeuingStrategy.backoffLimitCount: Invalid value: -1: must be greater than or equal to 0",
            "waitForPodsReady.requeuingStrategy.backoffBaseSeconds: Invalid value: -2: must be greater than or equal to 0",
            "waitForPodsReady.requeuingStrategy.backoffMaxSeconds: Invalid value: -3: must be greater than or equal to 0",
            // Kueue prints the raw time.Duration here: nanoseconds.
            "multiKueue.gcInterval: Invalid value: -1000000000: must be greater than or equal to 0",
            "fairSharing.preemptionStrategies: Required value: must be specified",
            r#"internalCertManagement.webhookServiceName: Invalid value: "1-webhook": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"#,
            r#"resources.transformations[0].strategy: Unsupported value: "Keep": supported values: "Retain", "Replace""#,
            r#"resources.transformations[1].input: Duplicate value: "cpu""#,
            r#"objectRetentionPolicies.workloads.afterFinished: Invalid value: "-1h0m0s": must be greater than or equal to 0"#,
        ]
    );
}

#[test]
fn bad_strategies_list() {
    assert_eq!(
        invalid(
            "fairSharing:\n  preemptionStrategies: [LessThanInitialShare, LessThanOrEqualToFinalShare]\n"
        ),
        [
            r#"fairSharing.preemptionStrategies: Unsupported value: ["LessThanInitialShare","LessThanOrEqualToFinalShare"]: supported values: "LessThanOrEqualToFinalShare", "LessThanInitialShare", "LessThanOrEqualToFinalShare,LessThanInitialShare""#
        ]
    );
    assert_eq!(
        invalid("fairSharing:\n  preemptionStrategies: [LessThanOrEqualToFinalShare, LessThanOrEqualToFinalShare]\n").len(),
        1
    );
    assert_eq!(
        invalid("fairSharing:\n  preemptionStrategies: []\n"),
        ["fairSharing.preemptionStrategies: Required value: must be specified"]
    );
}

#[test]
fn bad_selector_operator() {
    assert_eq!(
        invalid(
            "managedJobsNamespaceSelector:\n  matchExpressions:\n  - key: kubernetes.io/metadata.name\n    operator: Equals\n    values: [team-a]\n"
        ),
        [
            r#"managedJobsNamespaceSelector.matchExpressions[0].operator: Invalid value: "Equals": not a valid selector operator"#
        ]
    );
    assert_eq!(
        invalid(
            "managedJobsNamespaceSelector:\n  matchExpressions:\n  - key: tier\n    operator: In\n"
        ),
        [
            "managedJobsNamespaceSelector.matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or 'NotIn'"
        ]
    );
    assert_eq!(
        invalid(
            "managedJobsNamespaceSelector:\n  matchExpressions:\n  - key: tier/x/y\n    operator: Exists\n    values: [a]\n"
        ),
        [
            "managedJobsNamespaceSelector.matchExpressions[0].values: Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
            r#"managedJobsNamespaceSelector.matchExpressions[0].key: Invalid value: "tier/x/y": a valid label key must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"#,
        ]
    );
}

#[test]
fn selector_must_exclude_system_and_own_namespace() {
    assert_eq!(
        invalid(
            "managedJobsNamespaceSelector:\n  matchExpressions:\n  - key: kubernetes.io/metadata.name\n    operator: NotIn\n    values: [default]\n"
        ),
        [
            r#"managedJobsNamespaceSelector: Invalid value: {"matchExpressions":[{"key":"kubernetes.io/metadata.name","operator":"NotIn","values":["default"]}]}: should not match the "kube-system" namespace"#,
            r#"managedJobsNamespaceSelector: Invalid value: {"matchExpressions":[{"key":"kubernetes.io/metadata.name","operator":"NotIn","values":["default"]}]}: should not match the "kueue-system" namespace"#,
        ]
    );
    // An empty selector matches everything.
    assert_eq!(invalid("managedJobsNamespaceSelector: {}\n").len(), 2);
    // With the pod integration Kueue checks the selector twice; the repeated messages are reported once.
    assert_eq!(
        invalid(
            "integrations:\n  frameworks: [batch/job, pod]\nmanagedJobsNamespaceSelector: {}\n"
        )
        .len(),
        2
    );
}

#[test]
fn unknown_and_duplicate_frameworks() {
    assert_eq!(
        invalid(
            "integrations:\n  frameworks: [batch/job, kubeflow.org/mxjob, batch/job]\n  externalFrameworks: [Job.v1.batch, Foo]\n"
        ),
        [
            r#"integrations.frameworks[1]: Unsupported value: "kubeflow.org/mxjob": supported values: "batch/job", "deployment", "jobset.x-k8s.io/jobset", "kubeflow.org/jaxjob", "kubeflow.org/mpijob", "kubeflow.org/paddlejob", "kubeflow.org/pytorchjob", "kubeflow.org/tfjob", "kubeflow.org/xgboostjob", "leaderworkerset.x-k8s.io/leaderworkerset", "pod", "ray.io/raycluster", "ray.io/rayjob", "ray.io/rayservice", "sparkoperator.k8s.io/sparkapplication", "statefulset", "trainer.kubeflow.org/trainjob", "workload.codeflare.dev/appwrapper""#,
            r#"integrations.frameworks[2]: Duplicate value: "batch/job""#,
            r#"integrations.externalFrameworks[0]: Duplicate value: "Job.v1.batch""#,
            r#"integrations.externalFrameworks[1]: Invalid value: "Foo": must be format, 'Kind.version.group.com'"#,
        ]
    );
}

#[test]
fn admission_fair_sharing_values() {
    assert_eq!(
        invalid(
            "admissionFairSharing:\n  usageHalfLifeTime: -1h\n  usageSamplingInterval: -1s\n  resourceWeights:\n    cpu: -1\n    memory: 0.5\n"
        ),
        [
            r#"admissionFairSharing.usageHalfLifeTime: Invalid value: "-1h0m0s": must be greater than or equal to 0"#,
            r#"admissionFairSharing.usageSamplingInterval: Invalid value: "-1s": must be greater than 0"#,
            r#"admissionFairSharing.resourceWeights[cpu]: Invalid value: {"cpu":-1,"memory":0.5}: must be greater than or equal to 0"#,
        ]
    );
}

#[test]
fn leader_election_that_cannot_keep_one_leader() {
    assert_eq!(
        invalid("leaderElection:\n  leaseDuration: 10s\n  renewDeadline: 10s\n  retryPeriod: 9s\n"),
        [
            r#"leaderElection.renewDeadline: Invalid value: "10s": must be less than leaseDuration (10s)"#,
            r#"leaderElection.retryPeriod: Invalid value: "9s": 1.2 times it must be less than renewDeadline (10s)"#,
        ]
    );
    assert_eq!(
        invalid("leaderElection:\n  leaseDuration: -15s\n"),
        [r#"leaderElection.leaseDuration: Invalid value: "-15s": must be greater than 0"#]
    );
    // Off: nothing to keep.
    assert!(
        turnstile_config::parse("apiVersion: config.kueue.x-k8s.io/v1beta2\nkind: Configuration\nleaderElection:\n  leaderElect: false\n  leaseDuration: 1s\n  renewDeadline: 5s\n")
            .is_ok()
    );
}

#[test]
fn webhook_port_out_of_range() {
    assert_eq!(
        invalid("webhook:\n  port: 70000\n"),
        ["webhook.port: Invalid value: 70000: must be between 1 and 65535, inclusive"]
    );
}

#[test]
fn bad_duration() {
    assert_eq!(
        decode("waitForPodsReady:\n  timeout: 5x\n"),
        r#"waitForPodsReady.timeout: Invalid value: "5x": time: unknown unit "x" in duration "5x""#
    );
    assert_eq!(
        decode("waitForPodsReady:\n  timeout: 1d\n"),
        r#"waitForPodsReady.timeout: Invalid value: "1d": time: unknown unit "d" in duration "1d""#
    );
    assert_eq!(
        decode("leaderElection:\n  leaseDuration: \"15\"\n"),
        r#"leaderElection.leaseDuration: Invalid value: "15": time: missing unit in duration "15""#
    );
    assert_eq!(
        decode("waitForPodsReady:\n  timeout: 300\n"),
        r#"waitForPodsReady.timeout: invalid type: integer `300`, expected a duration string such as "30s", "5m" or "1h30m""#
    );
    let e = error(&format!("{HEAD}multiKueue:\n  workerLostTimeout: 1h 30m\n"));
    match &e {
        ConfigError::Decode { path, .. } => assert_eq!(path, "multiKueue.workerLostTimeout"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn bad_quantity() {
    assert_eq!(
        decode(
            "resources:\n  transformations:\n  - input: nvidia.com/mig\n    outputs:\n      example.com/memory: 5Gx\n"
        ),
        r#"resources.transformations[0].outputs[example.com/memory]: Invalid value: "5Gx": quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"#
    );
    assert_eq!(
        decode(
            "resources:\n  transformations:\n  - input: nvidia.com/mig\n    outputs:\n      example.com/memory: 5K\n"
        ),
        r#"resources.transformations[0].outputs[example.com/memory]: Invalid value: "5K": unable to parse quantity's suffix"#
    );
}

#[test]
fn wrong_type_for_a_field() {
    assert_eq!(
        decode("manageJobsWithoutQueueName: \"maybe\"\n"),
        r#"manageJobsWithoutQueueName: invalid type: string "maybe", expected a boolean"#
    );
    assert_eq!(
        decode("integrations:\n  frameworks: batch/job\n"),
        r#"integrations.frameworks: invalid type: string "batch/job", expected a list"#
    );
    assert_eq!(
        decode("clientConnection:\n  burst: 1.5\n"),
        "clientConnection.burst: invalid type: floating point `1.5`, expected i32"
    );
    assert_eq!(
        decode("clientConnection:\n  burst: 3000000000\n"),
        "clientConnection.burst: invalid value: integer `3000000000`, expected i32"
    );
    assert_eq!(
        decode("waitForPodsReady: true\n"),
        "waitForPodsReady: invalid type: boolean `true`, expected a mapping"
    );
    assert_eq!(
        decode("featureGates:\n  TopologyAwareScheduling: enabled\n"),
        r#"featureGates[TopologyAwareScheduling]: invalid type: string "enabled", expected a boolean"#
    );
    assert_eq!(
        decode("resources:\n  transformations:\n  - input: [cpu]\n"),
        "resources.transformations[0].input: invalid type: sequence, expected a string"
    );
}

#[test]
fn not_a_mapping() {
    assert_eq!(
        error("- apiVersion: config.kueue.x-k8s.io/v1beta2\n").to_string(),
        "the document must be a YAML mapping with apiVersion and kind, got a list"
    );
    assert_eq!(
        error("hello").to_string(),
        r#"the document must be a YAML mapping with apiVersion and kind, got string "hello""#
    );
}

#[test]
fn yaml_syntax_errors() {
    let e = error(&format!(
        "{HEAD}waitForPodsReady:\n  timeout: 5m\n blockAdmission: true\n"
    ));
    assert_eq!(
        e.to_string(),
        "YAML syntax error: did not find expected key at line 5 column 2, while parsing a block mapping"
    );
    let ConfigError::Syntax { line, column, .. } = &e else {
        panic!("{e:?}");
    };
    assert_eq!((*line, *column), (Some(5), Some(2)));

    assert_eq!(
        error(&format!(
            "{HEAD}fairSharing:\n  preemptionStrategies: [LessThanInitialShare\n"
        ))
        .to_string(),
        "YAML syntax error: did not find expected ',' or ']' at line 5 column 1, while parsing a flow sequence at line 4 column 25"
    );
    // Kueue's strict decoder rejects repeated keys too.
    assert_eq!(
        error(&format!("{HEAD}namespace: a\nnamespace: b\n")).to_string(),
        r#"YAML syntax error: duplicate entry with key "namespace""#
    );
}

#[test]
fn unknown_fields_are_warnings() {
    let loaded = parse_with_fallback_namespace(
        &format!("{HEAD}waitForPodsReady:\n  enable: true\n  timeout: 5m\nqueueVisibility:\n  updateIntervalSeconds: 5\nwebhook:\n  tlsMinVersion: 1.3\nfutureKnob: 1\n"),
        "kueue-system",
    )
    .unwrap();
    assert_eq!(
        loaded.warnings,
        [
            "futureKnob: unknown field, ignored (Kueue rejects unknown fields)",
            "queueVisibility: unknown field, ignored (Kueue rejects unknown fields); v1beta1 only: removed in v1beta2",
            "waitForPodsReady.enable: unknown field, ignored (Kueue rejects unknown fields); v1beta1 only: in v1beta2 waitForPodsReady is on whenever present, and present by default",
            "webhook.tlsMinVersion: unknown field, ignored (Kueue rejects unknown fields)",
        ]
    );
    assert_eq!(
        loaded.config.wait_for_pods_ready().unwrap().timeout,
        std::time::Duration::from_mins(5)
    );
}

/// A v1beta1 file means what it meant to Kueue: its own defaults, then Kueue's conversion.
#[test]
fn v1beta1_files_are_converted_with_their_own_defaults() {
    let v1 = "apiVersion: config.kueue.x-k8s.io/v1beta1\nkind: Configuration\n";
    let bare = parse_with_fallback_namespace(v1, "kueue-system").unwrap();
    assert!(
        bare.config.wait_for_pods_ready().is_none(),
        "off by default in v1beta1"
    );
    assert!(bare.config.fair_sharing.is_none());
    assert_eq!(
        bare.config.api_version, "config.kueue.x-k8s.io/v1beta2",
        "read as the v1beta2 it converts to"
    );
    let on = parse_with_fallback_namespace(
        &format!("{v1}waitForPodsReady:\n  enable: true\nfairSharing:\n  enable: true\nqueueVisibility:\n  updateIntervalSeconds: 5\nintegrations:\n  frameworks: [batch/job]\n  podOptions:\n    namespaceSelector: {{}}\n"),
        "kueue-system",
    )
    .unwrap();
    let w = on.config.wait_for_pods_ready().unwrap();
    assert_eq!(
        w.timeout,
        std::time::Duration::from_mins(5),
        "v1beta1's default"
    );
    assert!(w.block_admission, "v1beta1 defaults blockAdmission to true");
    assert_eq!(
        serde_json::to_value(&on.config.fair_sharing).unwrap()["preemptionStrategies"],
        serde_json::json!(["LessThanOrEqualToFinalShare", "LessThanInitialShare"])
    );
    assert_eq!(
        on.warnings,
        [
            "queueVisibility: v1beta1 only, dropped (as Kueue does); pending workloads are served by the visibility API",
            "integrations.podOptions: v1beta1 only, dropped (as Kueue does); use managedJobsNamespaceSelector",
        ]
    );
    let off = parse_with_fallback_namespace(
        &format!("{v1}waitForPodsReady:\n  enable: false\n  timeout: 10m\nfairSharing:\n  enable: false\n"),
        "kueue-system",
    )
    .unwrap();
    assert!(off.config.wait_for_pods_ready().is_none());
    assert!(off.config.fair_sharing.is_none());
    let set = parse_with_fallback_namespace(
        &format!("{v1}waitForPodsReady:\n  enable: true\n  timeout: 7m\n  blockAdmission: false\n"),
        "kueue-system",
    )
    .unwrap();
    let w = set.config.wait_for_pods_ready().unwrap();
    assert_eq!(
        (w.timeout, w.block_admission),
        (std::time::Duration::from_mins(7), false)
    );
    // A v1beta1 file is still validated (after conversion), field by field.
    assert!(
        error(&format!(
            "{v1}waitForPodsReady:\n  enable: true\n  timeout: 5x\n"
        ))
        .to_string()
        .contains("waitForPodsReady.timeout")
    );
}

#[test]
fn missing_file() {
    let e = turnstile_config::load("/nonexistent/turnstile/config.yaml").unwrap_err();
    assert!(
        e.to_string()
            .starts_with("reading /nonexistent/turnstile/config.yaml: "),
        "{e}"
    );
    assert!(matches!(e, ConfigError::Io { .. }));
}

#[test]
fn load_reads_a_file() {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/core_fields.yaml");
    let loaded = turnstile_config::load(&path).unwrap();
    assert_eq!(loaded.config.namespace(), "batch-system");
}

#[test]
fn less_common_sections_are_validated_too() {
    assert_eq!(
        invalid(
            "visibilityServer:
  bindAddress: localhost
  bindPort: 0
tls:
  minVersion: VersionTLS13
  cipherSuites: [TLS_AES_128_GCM_SHA256]
multiKueue:
  incrementalDispatcherConfig:
    stepSize: 0
  clusterProfile:
    accessProviders:
    - name: \"\"
      execConfig:
        command: \"\"
        interactiveMode: Sometimes
resources:
  excludeResourcePrefixes: [example.com/]
  quotaCheckStrategy: IgnoreUndeclared
  deviceClassMappings:
  - name: example.com/gpu
    deviceClassNames: [gpu.example.com]
    sources:
    - capacity:
        name: memory
        driver: gpu.example.com
metrics:
  customLabels:
  - name: team
  - name: team
    sourceLabelKey: a
    sourceAnnotationKey: b
"
        ),
        [
            "multiKueue.clusterProfile.accessProviders.name: Required value: must be specified",
            "multiKueue.clusterProfile.accessProviders.execConfig.command: Required value: must be specified",
            "multiKueue.clusterProfile.accessProviders.execConfig.apiVersion: Required value: must be specified",
            r#"multiKueue.clusterProfile.accessProviders.execConfig.interactiveMode: Unsupported value: "Sometimes": supported values: "Never", "IfAvailable", "Always""#,
            r#"multiKueue.incrementalDispatcherConfig: Invalid value: {"stepSize":0}: incrementalDispatcherConfig is only valid when dispatcherName is set to the incremental dispatcher"#,
            "multiKueue.incrementalDispatcherConfig.stepSize: Invalid value: 0: must be greater than or equal to 1",
            "resources.deviceClassMappings[0].sources[0].capacity: Invalid value: true: capacity sources require KueueDRAIntegrationConsumableCapacity to be enabled",
            r#"tls.cipherSuites: Invalid value: ["TLS_AES_128_GCM_SHA256"]: may not be specified when `minVersion` is 'VersionTLS13'"#,
            r#"visibilityServer.bindAddress: Invalid value: "localhost": must be a valid IP address"#,
            "visibilityServer.bindPort: Invalid value: 0: must be a valid port number (1-65535)",
            r#"metrics.customLabels[1].name: Duplicate value: "team""#,
            r#"metrics.customLabels[1]: Invalid value: {"name":"team","sourceLabelKey":"a","sourceAnnotationKey":"b"}: sourceLabelKey and sourceAnnotationKey are mutually exclusive"#,
            r#"resources.quotaCheckStrategy: Invalid value: "IgnoreUndeclared": excludeResourcePrefixes is not allowed when quotaCheckStrategy is IgnoreUndeclared"#,
        ]
    );
    // Feature gates in the file change what is checked, as in Kueue.
    assert_eq!(
        invalid(
            "featureGates:\n  KueueDRAIntegrationConsumableCapacity: true\nresources:\n  deviceClassMappings:\n  - name: example.com/gpu\n    deviceClassNames: [gpu.example.com]\n    sources:\n    - capacity:\n        name: a/b_c\n        driver: Bad_Driver\n"
        ),
        [
            r#"resources.deviceClassMappings[0].sources[0].capacity.driver: Invalid value: "Bad_Driver": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"#,
            "resources.deviceClassMappings[0].sources[0].capacity.deviceSelector.cel.expression: Required value",
        ]
    );
}
