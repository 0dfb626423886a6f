//! Kueue's configuration validation (`pkg/config/validation.go`), returning every error in Kueue's order with
//! Kueue's field paths and messages.

use std::collections::{BTreeMap, HashSet};
use std::net::IpAddr;

use serde::Serialize;

use crate::defaults::{MULTIKUEUE_DISPATCHER_INCREMENTAL, NAMESPACE_NAME_LABEL};
use crate::field::{BadValue, FieldError, FieldPath, dedup, go_float, go_json};
use crate::names;
use crate::selector::LabelSelector;
use crate::types::{
    ClusterProfileAccessProvider, Configuration, DeviceClassMapping, DeviceSelector,
};

/// `must be greater than or equal to 0` (apimachinery's `IsNegativeErrorMsg`).
const IS_NEGATIVE: &str = "must be greater than or equal to 0";

/// Built-in job frameworks Kueue knows, with the group, version and kind of their job type.
pub const KNOWN_FRAMEWORKS: &[(&str, &str, &str, &str)] = &[
    ("batch/job", "batch", "v1", "Job"),
    ("deployment", "apps", "v1", "Deployment"),
    (
        "jobset.x-k8s.io/jobset",
        "jobset.x-k8s.io",
        "v1alpha2",
        "JobSet",
    ),
    ("kubeflow.org/jaxjob", "kubeflow.org", "v1", "JAXJob"),
    ("kubeflow.org/mpijob", "kubeflow.org", "v2beta1", "MPIJob"),
    ("kubeflow.org/paddlejob", "kubeflow.org", "v1", "PaddleJob"),
    (
        "kubeflow.org/pytorchjob",
        "kubeflow.org",
        "v1",
        "PyTorchJob",
    ),
    ("kubeflow.org/tfjob", "kubeflow.org", "v1", "TFJob"),
    (
        "kubeflow.org/xgboostjob",
        "kubeflow.org",
        "v1",
        "XGBoostJob",
    ),
    (
        "leaderworkerset.x-k8s.io/leaderworkerset",
        "leaderworkerset.x-k8s.io",
        "v1",
        "LeaderWorkerSet",
    ),
    ("pod", "", "v1", "Pod"),
    ("ray.io/raycluster", "ray.io", "v1", "RayCluster"),
    ("ray.io/rayjob", "ray.io", "v1", "RayJob"),
    ("ray.io/rayservice", "ray.io", "v1", "RayService"),
    (
        "sparkoperator.k8s.io/sparkapplication",
        "sparkoperator.k8s.io",
        "v1beta2",
        "SparkApplication",
    ),
    ("statefulset", "apps", "v1", "StatefulSet"),
    (
        "trainer.kubeflow.org/trainjob",
        "trainer.kubeflow.org",
        "v1alpha1",
        "TrainJob",
    ),
    (
        "workload.codeflare.dev/appwrapper",
        "workload.codeflare.dev",
        "v1beta2",
        "AppWrapper",
    ),
];

/// The three allowed `fairSharing.preemptionStrategies` lists.
const VALID_STRATEGY_SETS: [&[&str]; 3] = [
    &["LessThanOrEqualToFinalShare"],
    &["LessThanInitialShare"],
    &["LessThanOrEqualToFinalShare", "LessThanInitialShare"],
];

/// Whether a feature gate is on, taking the file's `featureGates` over Kueue's default.
pub(crate) fn gate(cfg: &Configuration, name: &str, default: bool) -> bool {
    cfg.feature_gates.get(name).copied().unwrap_or(default)
}

/// Validates a (defaulted) configuration as Kueue does. Returns every error, duplicates removed, in Kueue's
/// order.
pub fn validate(cfg: &Configuration) -> Vec<FieldError> {
    let mut errs = Vec::new();
    wait_for_pods_ready(cfg, &mut errs);
    integrations(cfg, &mut errs);
    multi_kueue(cfg, &mut errs);
    fair_sharing(cfg, &mut errs);
    admission_fair_sharing(cfg, &mut errs);
    internal_cert_management(cfg, &mut errs);
    resource_transformations(cfg, &mut errs);
    device_class_mappings(cfg, &mut errs);
    managed_jobs_namespace_selector(cfg, &mut errs);
    object_retention_policies(cfg, &mut errs);
    tls(cfg, &mut errs);
    visibility_server(cfg, &mut errs);
    custom_labels(cfg, &mut errs);
    quota_check_strategy(cfg, &mut errs);
    turnstile_extras(cfg, &mut errs);
    dedup(errs)
}

fn duration_value(d: crate::duration::GoDuration) -> BadValue {
    BadValue::Str(d.to_string())
}

fn wait_for_pods_ready(cfg: &Configuration, errs: &mut Vec<FieldError>) {
    if gate(cfg, "DisableWaitForPodsReady", false) {
        return;
    }
    let Some(w) = &cfg.wait_for_pods_ready else {
        return;
    };
    let path = FieldPath::new("waitForPodsReady");
    if w.timeout.is_zero() {
        errs.push(FieldError::required(
            &path.child("timeout"),
            "must be specified",
        ));
    }
    if w.timeout.is_negative() {
        errs.push(FieldError::invalid(
            &path.child("timeout"),
            duration_value(w.timeout),
            IS_NEGATIVE,
        ));
    }
    if let Some(rt) = w.recovery_timeout
        && rt.is_negative()
    {
        errs.push(FieldError::invalid(
            &path.child("recoveryTimeout"),
            duration_value(rt),
            IS_NEGATIVE,
        ));
    }
    if let Some(rs) = &w.requeuing_strategy {
        let rs_path = path.child("requeuingStrategy");
        if let Some(ts) = &rs.timestamp
            && ts != "Creation"
            && ts != "Eviction"
        {
            errs.push(FieldError::not_supported(
                &rs_path.child("timestamp"),
                BadValue::json(ts),
                &["Creation", "Eviction"],
            ));
        }
        for (name, value) in [
            ("backoffLimitCount", rs.backoff_limit_count),
            ("backoffBaseSeconds", rs.backoff_base_seconds),
            ("backoffMaxSeconds", rs.backoff_max_seconds),
        ] {
            if let Some(v) = value
                && v < 0
            {
                errs.push(FieldError::invalid(
                    &rs_path.child(name),
                    BadValue::Int(v.into()),
                    IS_NEGATIVE,
                ));
            }
        }
    }
}

/// Splits `Kind.version.group` (at least two dots) as apimachinery's `ParseKindArg`.
fn parse_kind_arg(arg: &str) -> Option<(String, String, String)> {
    if arg.matches('.').count() < 2 {
        return None;
    }
    let mut parts = arg.splitn(3, '.');
    let kind = parts.next()?.to_owned();
    let version = parts.next()?.to_owned();
    let group = parts.next()?.to_owned();
    Some((group, version, kind))
}

fn integrations(cfg: &Configuration, errs: &mut Vec<FieldError>) {
    let path = FieldPath::new("integrations");
    let Some(integrations) = &cfg.integrations else {
        errs.push(FieldError::required(&path, "cannot be empty"));
        return;
    };
    let fw_path = path.child("frameworks");
    if integrations.frameworks.is_empty() {
        errs.push(FieldError::required(&fw_path, "cannot be empty"));
        return;
    }
    let mut managed: HashSet<(String, String, String)> = HashSet::new();
    let known_names: Vec<&str> = KNOWN_FRAMEWORKS.iter().map(|f| f.0).collect();
    for (i, framework) in integrations.frameworks.iter().enumerate() {
        match KNOWN_FRAMEWORKS.iter().find(|f| f.0 == framework) {
            None => errs.push(FieldError::not_supported(
                &fw_path.index(i),
                BadValue::str(framework),
                &known_names,
            )),
            Some(&(_, group, version, kind)) => {
                let gvk = (group.to_owned(), version.to_owned(), kind.to_owned());
                if !managed.insert(gvk) {
                    errs.push(FieldError::duplicate(
                        &fw_path.index(i),
                        BadValue::str(framework),
                    ));
                }
            }
        }
    }
    let ext_path = path.child("externalFrameworks");
    for (i, framework) in integrations.external_frameworks.iter().enumerate() {
        match parse_kind_arg(framework) {
            None => errs.push(FieldError::invalid(
                &ext_path.index(i),
                BadValue::str(framework),
                "must be format, 'Kind.version.group.com'",
            )),
            Some(gvk) => {
                if !managed.insert(gvk) {
                    errs.push(FieldError::duplicate(
                        &ext_path.index(i),
                        BadValue::str(framework),
                    ));
                }
            }
        }
    }
    if integrations.frameworks.iter().any(|f| f == "pod") {
        let selector_path = FieldPath::new("managedJobsNamespaceSelector");
        match &cfg.managed_jobs_namespace_selector {
            Some(selector) => namespace_selector(cfg, selector, &selector_path, errs),
            None => errs.push(FieldError::required(
                &selector_path,
                "cannot be empty when pod integration is enabled",
            )),
        }
    }
}

fn namespace_selector(
    cfg: &Configuration,
    selector: &LabelSelector,
    path: &FieldPath,
    errs: &mut Vec<FieldError>,
) {
    let selector_errs = selector.validate_at(path);
    let valid = selector_errs.is_empty();
    errs.extend(selector_errs);
    if !valid {
        return;
    }
    let mut prohibited = vec!["kube-system".to_owned()];
    if let Some(ns) = cfg.namespace.as_deref().filter(|ns| !ns.is_empty()) {
        prohibited.push(ns.to_owned());
    }
    for ns in prohibited {
        let labels = BTreeMap::from([(NAMESPACE_NAME_LABEL.to_owned(), ns.clone())]);
        if selector.matches(&labels) {
            errs.push(FieldError::invalid(
                path,
                BadValue::json(selector),
                format!(
                    "should not match the {} namespace",
                    crate::field::go_quote(&ns)
                ),
            ));
        }
    }
}

fn managed_jobs_namespace_selector(cfg: &Configuration, errs: &mut Vec<FieldError>) {
    // A missing selector selects nothing, which is valid.
    if let Some(selector) = &cfg.managed_jobs_namespace_selector {
        namespace_selector(
            cfg,
            selector,
            &FieldPath::new("managedJobsNamespaceSelector"),
            errs,
        );
    }
}

fn multi_kueue(cfg: &Configuration, errs: &mut Vec<FieldError>) {
    let Some(mk) = &cfg.multi_kueue else {
        return;
    };
    let path = FieldPath::new("multiKueue");
    // Kueue passes the raw time.Duration, which prints as its nanosecond count.
    for (name, value) in [
        ("gcInterval", mk.gc_interval),
        ("workerLostTimeout", mk.worker_lost_timeout),
    ] {
        if let Some(d) = value
            && d.is_negative()
        {
            errs.push(FieldError::invalid(
                &path.child(name),
                BadValue::Int(d.as_nanos()),
                IS_NEGATIVE,
            ));
        }
    }
    if let Some(origin) = &mk.origin {
        let msgs = names::label_value(origin);
        if !msgs.is_empty() {
            errs.push(FieldError::invalid(
                &path.child("origin"),
                BadValue::str(origin),
                msgs.join(","),
            ));
        }
    }
    if !mk.external_frameworks.is_empty() {
        let ext_path = path.child("externalFrameworks");
        let mut seen = HashSet::new();
        for (i, f) in mk.external_frameworks.iter().enumerate() {
            let name_path = ext_path.index(i).child("name");
            let Some(gvk) = parse_kind_arg(&f.name) else {
                errs.push(FieldError::invalid(
                    &name_path,
                    BadValue::str(&f.name),
                    "must be in 'kind.version.group' format",
                ));
                continue;
            };
            if !seen.insert(gvk) {
                errs.push(FieldError::duplicate(&name_path, BadValue::str(&f.name)));
            }
        }
    }
    if let Some(cp) = &mk.cluster_profile {
        let cp_path = path.child("clusterProfile");
        let access = cp_path.child("accessProviders");
        let credentials = cp_path.child("credentialsProviders");
        if !cp.access_providers.is_empty() && !cp.credentials_providers.is_empty() {
            errs.push(FieldError::forbidden(
                &credentials,
                "must not be specified when accessProviders is specified",
            ));
        }
        if cp.access_providers.is_empty() {
            access_providers(&cp.credentials_providers, &credentials, errs);
        } else {
            access_providers(&cp.access_providers, &access, errs);
        }
    }
    if let Some(idc) = &mk.incremental_dispatcher_config {
        let idc_path = path.child("incrementalDispatcherConfig");
        if mk.dispatcher_name.as_deref() != Some(MULTIKUEUE_DISPATCHER_INCREMENTAL) {
            errs.push(FieldError::invalid(
                &idc_path,
                BadValue::json(idc),
                "incrementalDispatcherConfig is only valid when dispatcherName is set to the incremental dispatcher",
            ));
        }
        if let Some(step) = idc.step_size
            && step < 1
        {
            errs.push(FieldError::invalid(
                &idc_path.child("stepSize"),
                BadValue::Int(step.into()),
                "must be greater than or equal to 1",
            ));
        }
    }
}

fn access_providers(
    providers: &[ClusterProfileAccessProvider],
    path: &FieldPath,
    errs: &mut Vec<FieldError>,
) {
    // Kueue reports these without the list index.
    let exec = path.child("execConfig");
    for provider in providers {
        if provider.name.is_empty() {
            errs.push(FieldError::required(
                &path.child("name"),
                "must be specified",
            ));
        }
        let ec = &provider.exec_config;
        if ec.command.is_empty() {
            errs.push(FieldError::required(
                &exec.child("command"),
                "must be specified",
            ));
        }
        if ec.api_version.is_empty() {
            errs.push(FieldError::required(
                &exec.child("apiVersion"),
                "must be specified",
            ));
        }
        for env in &ec.env {
            if env.name.is_empty() {
                errs.push(FieldError::required(
                    &exec.child("env").child("name"),
                    "must be specified",
                ));
            }
        }
        match ec.interactive_mode.as_str() {
            "" => errs.push(FieldError::required(
                &exec.child("interactiveMode"),
                "must be specified",
            )),
            "Never" | "IfAvailable" | "Always" => {}
            other => errs.push(FieldError::not_supported(
                &exec.child("interactiveMode"),
                BadValue::str(other),
                &["Never", "IfAvailable", "Always"],
            )),
        }
    }
}

fn fair_sharing(cfg: &Configuration, errs: &mut Vec<FieldError>) {
    let Some(fs) = &cfg.fair_sharing else {
        return;
    };
    let path = FieldPath::of(&["fairSharing", "preemptionStrategies"]);
    if fs.preemption_strategies.is_empty() {
        errs.push(FieldError::required(&path, "must be specified"));
        return;
    }
    let valid = VALID_STRATEGY_SETS.iter().any(|set| {
        set.iter()
            .copied()
            .eq(fs.preemption_strategies.iter().map(String::as_str))
    });
    if !valid {
        let supported: Vec<String> = VALID_STRATEGY_SETS.iter().map(|s| s.join(",")).collect();
        errs.push(FieldError::not_supported(
            &path,
            BadValue::json(&fs.preemption_strategies),
            &supported,
        ));
    }
}

fn admission_fair_sharing(cfg: &Configuration, errs: &mut Vec<FieldError>) {
    let Some(afs) = &cfg.admission_fair_sharing else {
        return;
    };
    let path = FieldPath::new("admissionFairSharing");
    if afs.usage_half_life_time.is_negative() {
        errs.push(FieldError::invalid(
            &path.child("usageHalfLifeTime"),
            duration_value(afs.usage_half_life_time),
            IS_NEGATIVE,
        ));
    }
    if afs.usage_sampling_interval.as_nanos() <= 0 {
        errs.push(FieldError::invalid(
            &path.child("usageSamplingInterval"),
            duration_value(afs.usage_sampling_interval),
            "must be greater than 0",
        ));
    }
    let weights_json = || {
        let entries: Vec<String> = afs
            .resource_weights
            .iter()
            .map(|(k, v)| format!("{}:{}", go_json(k), go_float(*v)))
            .collect();
        format!("{{{}}}", entries.join(","))
    };
    for (name, weight) in &afs.resource_weights {
        if *weight < 0.0 {
            errs.push(FieldError::invalid(
                &path.child("resourceWeights").key(name),
                BadValue::Json(weights_json()),
                IS_NEGATIVE,
            ));
        }
    }
}

fn internal_cert_management(cfg: &Configuration, errs: &mut Vec<FieldError>) {
    let Some(icm) = &cfg.internal_cert_management else {
        return;
    };
    if icm.enable != Some(true) {
        return;
    }
    let path = FieldPath::new("internalCertManagement");
    if let Some(name) = &icm.webhook_service_name {
        let msgs = names::dns1035_label(name);
        if !msgs.is_empty() {
            errs.push(FieldError::invalid(
                &path.child("webhookServiceName"),
                BadValue::json(name),
                msgs.join(","),
            ));
        }
    }
    if let Some(name) = &icm.webhook_secret_name {
        let msgs = names::dns1123_subdomain(name);
        if !msgs.is_empty() {
            errs.push(FieldError::invalid(
                &path.child("webhookSecretName"),
                BadValue::json(name),
                msgs.join(","),
            ));
        }
    }
}

fn resource_transformations(cfg: &Configuration, errs: &mut Vec<FieldError>) {
    let Some(res) = &cfg.resources else {
        return;
    };
    let path = FieldPath::of(&["resources", "transformations"]);
    let mut seen = HashSet::new();
    for (i, t) in res.transformations.iter().enumerate() {
        let strategy = t.strategy.as_deref().unwrap_or("");
        if strategy != "Retain" && strategy != "Replace" {
            let value = t
                .strategy
                .as_ref()
                .map_or_else(|| BadValue::Json("null".to_owned()), BadValue::json);
            errs.push(FieldError::not_supported(
                &path.index(i).child("strategy"),
                value,
                &["Retain", "Replace"],
            ));
        }
        if !seen.insert(t.input.as_str()) {
            errs.push(FieldError::duplicate(
                &path.index(i).child("input"),
                BadValue::json(&t.input),
            ));
        }
    }
}

fn device_class_mappings(cfg: &Configuration, errs: &mut Vec<FieldError>) {
    let Some(res) = &cfg.resources else {
        return;
    };
    let mappings = &res.device_class_mappings;
    if mappings.is_empty() {
        return;
    }
    let path = FieldPath::of(&["resources", "deviceClassMappings"]);
    if mappings.len() > 16 {
        errs.push(FieldError::too_many(&path, mappings.len(), 16));
    }
    let mut seen_names = HashSet::new();
    // device class -> (resource it maps to, counter names already tracking it)
    let mut classes: BTreeMap<&str, (&str, HashSet<&str>)> = BTreeMap::new();
    for (i, mapping) in mappings.iter().enumerate() {
        let m_path = path.index(i);
        let name_path = m_path.child("name");
        label_key_checks(&mapping.name, &name_path, errs);
        if !seen_names.insert(mapping.name.as_str()) {
            errs.push(FieldError::duplicate(
                &name_path,
                BadValue::json(&mapping.name),
            ));
        }
        let dc_list = m_path.child("deviceClassNames");
        if mapping.device_class_names.is_empty() {
            errs.push(FieldError::required(
                &dc_list,
                "at least one device class name is required",
            ));
        }
        if mapping.device_class_names.len() > 8 {
            errs.push(FieldError::too_many(
                &dc_list,
                mapping.device_class_names.len(),
                8,
            ));
        }
        let counter_name = counter_name(mapping);
        let mut seen_classes = HashSet::new();
        for (j, class) in mapping.device_class_names.iter().enumerate() {
            let dc_path = dc_list.index(j);
            label_key_checks(class, &dc_path, errs);
            if !seen_classes.insert(class.as_str()) {
                errs.push(FieldError::duplicate(&dc_path, BadValue::json(class)));
            }
            if let Some((resource, counters)) = classes.get_mut(class.as_str()) {
                if *resource != mapping.name {
                    if counter_name.is_empty() || counters.is_empty() {
                        errs.push(FieldError::invalid(
                            &dc_path,
                            BadValue::json(class),
                            format!("device class already mapped to resource {resource}"),
                        ));
                    } else if counters.contains(counter_name) {
                        errs.push(FieldError::invalid(
                            &dc_path,
                            BadValue::json(class),
                            format!(
                                "device class already has a counter source for counter {}",
                                crate::field::go_quote(counter_name)
                            ),
                        ));
                    } else {
                        counters.insert(counter_name);
                    }
                }
            } else {
                let mut counters = HashSet::new();
                if !counter_name.is_empty() {
                    counters.insert(counter_name);
                }
                classes.insert(class.as_str(), (mapping.name.as_str(), counters));
            }
        }
        device_class_sources(cfg, mapping, &m_path, errs);
    }
}

fn counter_name(mapping: &DeviceClassMapping) -> &str {
    mapping
        .sources
        .first()
        .and_then(|s| s.counter.as_ref())
        .map_or("", |c| c.name.as_str())
}

fn label_key_checks(name: &str, path: &FieldPath, errs: &mut Vec<FieldError>) {
    let msgs = names::label_key(name);
    if !msgs.is_empty() {
        errs.push(FieldError::invalid(
            path,
            BadValue::json(name),
            msgs.join("; "),
        ));
    }
    if name.len() > 253 {
        errs.push(FieldError::invalid(
            path,
            BadValue::json(name),
            "must not exceed 253 characters",
        ));
    }
}

fn device_class_sources(
    cfg: &Configuration,
    mapping: &DeviceClassMapping,
    m_path: &FieldPath,
    errs: &mut Vec<FieldError>,
) {
    if mapping.sources.is_empty() {
        return;
    }
    let sources_path = m_path.child("sources");
    let mut counters = 0;
    let mut has_capacity = false;
    for (k, source) in mapping.sources.iter().enumerate() {
        let s_path = sources_path.index(k);
        match (&source.counter, &source.capacity) {
            (None, None) => {
                errs.push(FieldError::required(
                    &s_path,
                    "exactly one source type must be set per entry",
                ));
            }
            (Some(_), Some(_)) => errs.push(FieldError::invalid(
                &s_path,
                BadValue::str("counter+capacity"),
                "exactly one source type must be set per entry",
            )),
            (Some(counter), None) => {
                counters += 1;
                let c_path = s_path.child("counter");
                if !gate(cfg, "KueueDRAIntegrationPartitionableDevices", true) {
                    errs.push(FieldError::invalid(
                        &c_path,
                        BadValue::Bool(true),
                        "counter sources require KueueDRAIntegrationPartitionableDevices to be enabled",
                    ));
                    continue;
                }
                if counter.name.is_empty() {
                    errs.push(FieldError::required(&c_path.child("name"), ""));
                } else {
                    let msgs = names::dns1123_label(&counter.name);
                    if !msgs.is_empty() {
                        errs.push(FieldError::invalid(
                            &c_path.child("name"),
                            BadValue::str(&counter.name),
                            msgs.join(","),
                        ));
                    }
                }
                device_source(&counter.driver, &counter.device_selector, &c_path, errs);
            }
            (None, Some(capacity)) => {
                has_capacity = true;
                let c_path = s_path.child("capacity");
                if !gate(cfg, "KueueDRAIntegrationConsumableCapacity", false) {
                    errs.push(FieldError::invalid(
                        &c_path,
                        BadValue::Bool(true),
                        "capacity sources require KueueDRAIntegrationConsumableCapacity to be enabled",
                    ));
                    continue;
                }
                qualified_name(&capacity.name, &c_path.child("name"), errs);
                device_source(&capacity.driver, &capacity.device_selector, &c_path, errs);
            }
        }
    }
    if counters > 0 && has_capacity {
        errs.push(FieldError::invalid(
            &sources_path,
            BadValue::Int(i64::try_from(mapping.sources.len()).unwrap_or(i64::MAX)),
            "cannot mix counter and capacity sources in the same mapping",
        ));
    }
}

fn device_source(
    driver: &str,
    selector: &DeviceSelector,
    path: &FieldPath,
    errs: &mut Vec<FieldError>,
) {
    let driver_path = path.child("driver");
    if driver.is_empty() {
        errs.push(FieldError::required(&driver_path, ""));
    } else if driver.len() > 63 {
        errs.push(FieldError::invalid(
            &driver_path,
            BadValue::str(driver),
            "must not exceed 63 characters",
        ));
    } else {
        let msgs = names::dns1123_subdomain(driver);
        if !msgs.is_empty() {
            errs.push(FieldError::invalid(
                &driver_path,
                BadValue::str(driver),
                msgs.join(","),
            ));
        }
    }
    // The CEL expression is required; compiling it is left to the component that uses it.
    if selector
        .cel
        .as_ref()
        .is_none_or(|c| c.expression.is_empty())
    {
        errs.push(FieldError::required(
            &path
                .child("deviceSelector")
                .child("cel")
                .child("expression"),
            "",
        ));
    }
}

/// A DRA qualified name: `<C identifier>` or `<DNS subdomain>/<C identifier>`.
fn qualified_name(name: &str, path: &FieldPath, errs: &mut Vec<FieldError>) {
    let parts: Vec<&str> = name.split('/').collect();
    let c_identifier = |id: &str, errs: &mut Vec<FieldError>| {
        if id.len() > 32 {
            errs.push(FieldError::too_long(path, 32));
        }
        for msg in names::c_identifier(id) {
            errs.push(FieldError::invalid(path, BadValue::str(id), msg));
        }
    };
    match parts.as_slice() {
        [id] => c_identifier(id, errs),
        [domain, id] => {
            if domain.is_empty() {
                errs.push(FieldError::invalid(
                    path,
                    BadValue::str(""),
                    "the domain must not be empty",
                ));
            } else {
                if domain.len() > 63 {
                    errs.push(FieldError::too_long(path, 63));
                }
                for msg in names::dns1123_subdomain(&domain.to_lowercase()) {
                    errs.push(FieldError::invalid(path, BadValue::str(domain), msg));
                }
            }
            if id.is_empty() {
                errs.push(FieldError::invalid(
                    path,
                    BadValue::str(""),
                    "the name must not be empty",
                ));
            } else {
                c_identifier(id, errs);
            }
        }
        // Kueue does not check names with more than one `/` (an upstream TODO); neither does Turnstile.
        _ => {}
    }
}

fn object_retention_policies(cfg: &Configuration, errs: &mut Vec<FieldError>) {
    let Some(workloads) = cfg
        .object_retention_policies
        .as_ref()
        .and_then(|p| p.workloads.as_ref())
    else {
        return;
    };
    let path = FieldPath::of(&["objectRetentionPolicies", "workloads"]);
    for (name, value) in [
        ("afterFinished", workloads.after_finished),
        (
            "afterDeactivatedByKueue",
            workloads.after_deactivated_by_kueue,
        ),
    ] {
        if let Some(d) = value
            && d.is_negative()
        {
            errs.push(FieldError::invalid(
                &path.child(name),
                duration_value(d),
                IS_NEGATIVE,
            ));
        }
    }
}

fn tls(cfg: &Configuration, errs: &mut Vec<FieldError>) {
    let Some(tls) = &cfg.tls else {
        return;
    };
    let path = FieldPath::new("tls");
    let problem = match tls.min_version.as_str() {
        "" | "VersionTLS12" | "VersionTLS13" => None,
        "VersionTLS10" | "VersionTLS11" => {
            Some("invalid minVersion. Please use VersionTLS12 or VersionTLS13".to_owned())
        }
        other => Some(format!(
            "invalid minVersion: unknown tls version {}. Please use VersionTLS12 or VersionTLS13",
            crate::field::go_quote(other)
        )),
    };
    if let Some(detail) = problem {
        errs.push(FieldError::invalid(&path, BadValue::json(tls), detail));
        return;
    }
    if tls.min_version == "VersionTLS13" && !tls.cipher_suites.is_empty() {
        errs.push(FieldError::invalid(
            &path.child("cipherSuites"),
            BadValue::json(&tls.cipher_suites),
            "may not be specified when `minVersion` is 'VersionTLS13'",
        ));
    }
}

fn visibility_server(cfg: &Configuration, errs: &mut Vec<FieldError>) {
    let Some(vs) = &cfg.visibility_server else {
        return;
    };
    if let Some(addr) = &vs.bind_address
        && addr.parse::<IpAddr>().is_err()
    {
        errs.push(FieldError::invalid(
            &FieldPath::of(&["visibilityServer", "bindAddress"]),
            BadValue::str(addr),
            "must be a valid IP address",
        ));
    }
    if let Some(port) = vs.bind_port
        && !(1..=65535).contains(&port)
    {
        errs.push(FieldError::invalid(
            &FieldPath::of(&["visibilityServer", "bindPort"]),
            BadValue::Int(port.into()),
            "must be a valid port number (1-65535)",
        ));
    }
}

fn custom_label_name_ok(name: &str) -> bool {
    let b = name.as_bytes();
    b.first().is_some_and(u8::is_ascii_alphabetic)
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_')
}

fn custom_labels(cfg: &Configuration, errs: &mut Vec<FieldError>) {
    let labels = &cfg.metrics.custom_labels;
    if labels.is_empty() {
        return;
    }
    let path = FieldPath::of(&["metrics", "customLabels"]);
    if labels.len() > 20 {
        errs.push(FieldError::too_many(&path, labels.len(), 20));
    }
    let mut seen = HashSet::new();
    let mut per_kind: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, entry) in labels.iter().enumerate() {
        let e_path = path.index(i);
        if !custom_label_name_ok(&entry.name) {
            errs.push(FieldError::invalid(
                &e_path.child("name"),
                BadValue::str(&entry.name),
                "must match ^[a-zA-Z][a-zA-Z0-9_]*$",
            ));
        }
        if !seen.insert(entry.name.as_str()) {
            errs.push(FieldError::duplicate(
                &e_path.child("name"),
                BadValue::str(&entry.name),
            ));
        }
        if !entry.source_label_key.is_empty() && !entry.source_annotation_key.is_empty() {
            errs.push(FieldError::invalid(
                &e_path,
                BadValue::json(entry),
                "sourceLabelKey and sourceAnnotationKey are mutually exclusive",
            ));
        }
        let (key_field, key) = if !entry.source_label_key.is_empty() {
            ("sourceLabelKey", &entry.source_label_key)
        } else if !entry.source_annotation_key.is_empty() {
            ("sourceAnnotationKey", &entry.source_annotation_key)
        } else {
            ("name", &entry.name)
        };
        let msgs = names::label_key(key);
        if !msgs.is_empty() {
            errs.push(FieldError::invalid(
                &e_path.child(key_field),
                BadValue::str(key),
                msgs.join("; "),
            ));
        }
        let kind = entry.source_kind.as_deref().unwrap_or("ClusterQueue");
        *per_kind.entry(kind).or_default() += 1;
        let tv_path = e_path.child("trackedValues");
        let tracked = &entry.tracked_values;
        if kind == "Workload" {
            if tracked.is_empty() {
                errs.push(FieldError::invalid(
                    &tv_path,
                    tracked_json(tracked),
                    "must not be empty when sourceKind is 'Workload'",
                ));
            }
            if tracked.len() > 12 {
                errs.push(FieldError::invalid(
                    &tv_path,
                    tracked_json(tracked),
                    "must not be greater than 12 when sourceKind is 'Workload'",
                ));
            }
        } else if tracked.len() > 16 {
            errs.push(FieldError::too_many(&tv_path, tracked.len(), 16));
        }
        if tracked.iter().collect::<HashSet<_>>().len() < tracked.len() {
            errs.push(FieldError::invalid(
                &tv_path,
                tracked_json(tracked),
                "must not contain duplicates",
            ));
        }
    }
    for (kind, count) in per_kind {
        let limit = match kind {
            "Workload" => Some(2),
            "LocalQueue" | "ClusterQueue" | "Cohort" => Some(6),
            _ => None,
        };
        match limit {
            None => errs.push(FieldError::invalid(
                &path,
                BadValue::json(labels),
                format!("unknown source kind: {kind}"),
            )),
            Some(limit) if count > limit => errs.push(FieldError::invalid(
                &path,
                BadValue::json(labels),
                format!("too many custom labels for source kind {kind}: found {count}, expected <= {limit}"),
            )),
            Some(_) => {}
        }
    }
}

/// A Go `[]string` as JSON: `null` when empty (nil), else the list.
fn tracked_json<T: Serialize>(values: &[T]) -> BadValue {
    if values.is_empty() {
        BadValue::Json("null".to_owned())
    } else {
        BadValue::json(values)
    }
}

fn quota_check_strategy(cfg: &Configuration, errs: &mut Vec<FieldError>) {
    if !gate(cfg, "QuotaCheckStrategy", true) {
        return;
    }
    let Some(res) = &cfg.resources else {
        return;
    };
    let Some(strategy) = &res.quota_check_strategy else {
        return;
    };
    let path = FieldPath::of(&["resources", "quotaCheckStrategy"]);
    if !res.exclude_resource_prefixes.is_empty() && strategy == "IgnoreUndeclared" {
        errs.push(FieldError::invalid(
            &path,
            BadValue::json(strategy),
            "excludeResourcePrefixes is not allowed when quotaCheckStrategy is IgnoreUndeclared",
        ));
    }
    if strategy != "IgnoreUndeclared" && strategy != "BlockUndeclared" {
        errs.push(FieldError::not_supported(
            &path,
            BadValue::json(strategy),
            &["IgnoreUndeclared", "BlockUndeclared"],
        ));
    }
}

/// Checks Kueue leaves to the server libraries (which would fail at startup) but Turnstile makes at load time.
/// A port of 0 or below is not an error: the webhook server then uses 9443, as controller-runtime does.
/// Leader election that cannot keep one leader (checked before anything starts, as client-go's
/// `NewLeaderElector` refuses it): durations positive, `leaseDuration > renewDeadline >
/// retryPeriod * 1.2`. Without it a standby could take over while the leader still renews.
fn leader_election(cfg: &Configuration, errs: &mut Vec<FieldError>) {
    let Some(le) = &cfg.leader_election else {
        return;
    };
    if le.leader_elect == Some(false) {
        return;
    }
    let path = |f: &str| FieldPath::of(&["leaderElection", f]);
    let mut positive = true;
    for (field, d) in [
        ("leaseDuration", le.lease_duration),
        ("renewDeadline", le.renew_deadline),
        ("retryPeriod", le.retry_period),
    ] {
        if d.is_negative() || d.is_zero() {
            positive = false;
            errs.push(FieldError::invalid(
                &path(field),
                duration_value(d),
                "must be greater than 0",
            ));
        }
    }
    if !positive {
        return;
    }
    if le.lease_duration.as_nanos() <= le.renew_deadline.as_nanos() {
        errs.push(FieldError::invalid(
            &path("renewDeadline"),
            duration_value(le.renew_deadline),
            format!("must be less than leaseDuration ({})", le.lease_duration),
        ));
    }
    // client-go's JitterFactor: a renewal may wait up to 1.2 retry periods.
    if i128::from(le.renew_deadline.as_nanos()) * 10 <= i128::from(le.retry_period.as_nanos()) * 12
    {
        errs.push(FieldError::invalid(
            &path("retryPeriod"),
            duration_value(le.retry_period),
            format!(
                "1.2 times it must be less than renewDeadline ({})",
                le.renew_deadline
            ),
        ));
    }
}

fn turnstile_extras(cfg: &Configuration, errs: &mut Vec<FieldError>) {
    leader_election(cfg, errs);
    if let Some(port) = cfg.webhook.port
        && port > 65535
    {
        errs.push(FieldError::invalid(
            &FieldPath::of(&["webhook", "port"]),
            BadValue::Int(port),
            "must be between 1 and 65535, inclusive",
        ));
    }
}
