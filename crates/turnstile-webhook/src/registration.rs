//! The webhook configurations Turnstile registers, defined once: the chart, the docs and the tests
//! all take them from here (`turnstile webhook-configurations` prints them).
//!
//! Safety choices: every webhook is `failurePolicy: Fail` (an invalid object must never slip in);
//! the Job webhooks see every Job outside kube-system and Turnstile's own namespace (or in the
//! namespaces `managedJobsNamespaceSelector` selects), labelled or not, as Kueue's do: a Job without
//! a queue label is given the namespace's LocalQueue `default` when one exists (Kueue's LocalQueue
//! defaulting, always on), and removing the label is refused while that LocalQueue exists. A
//! Turnstile outage therefore blocks Job creation in those namespaces, as a Kueue outage does (see
//! docs/operations.md). Every webhook is side-effect free, answers within `timeoutSeconds: 10`, and
//! mutating ones are never reinvoked.

use std::collections::BTreeMap;

use k8s_openapi::api::admissionregistration::v1::{
    MutatingWebhook, MutatingWebhookConfiguration, RuleWithOperations, ServiceReference,
    ValidatingWebhook, ValidatingWebhookConfiguration, WebhookClientConfig,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{
    LabelSelector, LabelSelectorRequirement, ObjectMeta,
};

use crate::review::paths;

/// Where the apiserver reaches the webhook.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// A Service (in-cluster): name, namespace, port.
    Service {
        /// Service name.
        name: String,
        /// Service namespace.
        namespace: String,
        /// Service port.
        port: i32,
    },
    /// A URL prefix such as `https://127.0.0.1:9443` (development and tests).
    Url(String),
}

/// What shapes the configurations.
#[derive(Clone, Debug, PartialEq)]
pub struct Options {
    /// Where the webhook is.
    pub target: Target,
    /// Name of the MutatingWebhookConfiguration.
    pub mutating_name: String,
    /// Name of the ValidatingWebhookConfiguration.
    pub validating_name: String,
    /// Turnstile's own namespace (never intercepted for Jobs).
    pub namespace: String,
    /// Namespaces whose Jobs are managed; replaces the default exclusion of kube-system and
    /// Turnstile's namespace (Kueue's managedJobsNamespaceSelector).
    pub managed_jobs_namespace_selector: Option<LabelSelector>,
    /// Labels added to every webhook's selectors (namespace for namespaced kinds, object for
    /// cluster-scoped ones); used by tests to scope the webhook to their own objects.
    pub extra_selector_labels: BTreeMap<String, String>,
    /// CA bundle to put in the client configs (empty: injected later).
    pub ca_bundle: Vec<u8>,
}

const TIMEOUT_SECONDS: i32 = 10;

fn client_config(opts: &Options, path: &str) -> WebhookClientConfig {
    let ca_bundle =
        (!opts.ca_bundle.is_empty()).then(|| k8s_openapi::ByteString(opts.ca_bundle.clone()));
    match &opts.target {
        Target::Service {
            name,
            namespace,
            port,
        } => WebhookClientConfig {
            service: Some(ServiceReference {
                name: name.clone(),
                namespace: namespace.clone(),
                path: Some(path.to_owned()),
                port: Some(*port),
            }),
            ca_bundle,
            url: None,
        },
        Target::Url(base) => WebhookClientConfig {
            url: Some(format!("{}{path}", base.trim_end_matches('/'))),
            ca_bundle,
            service: None,
        },
    }
}

fn rule(group: &str, version: &str, resources: &[&str], ops: &[&str]) -> Vec<RuleWithOperations> {
    vec![RuleWithOperations {
        api_groups: Some(vec![group.to_owned()]),
        api_versions: Some(vec![version.to_owned()]),
        resources: Some(resources.iter().map(|r| (*r).to_owned()).collect()),
        operations: Some(ops.iter().map(|o| (*o).to_owned()).collect()),
        scope: None,
    }]
}

fn with_extra(mut sel: LabelSelector, extra: &BTreeMap<String, String>) -> LabelSelector {
    if !extra.is_empty() {
        sel.match_labels
            .get_or_insert_with(BTreeMap::new)
            .extend(extra.clone());
    }
    sel
}

fn job_namespace_selector(opts: &Options) -> LabelSelector {
    let base = opts
        .managed_jobs_namespace_selector
        .clone()
        .unwrap_or_else(|| LabelSelector {
            match_expressions: Some(vec![LabelSelectorRequirement {
                key: "kubernetes.io/metadata.name".into(),
                operator: "NotIn".into(),
                values: Some(vec!["kube-system".into(), opts.namespace.clone()]),
            }]),
            match_labels: None,
        });
    with_extra(base, &opts.extra_selector_labels)
}

/// A webhook entry, shared by both kinds of configuration.
struct Entry {
    name: &'static str,
    path: &'static str,
    group: &'static str,
    version: &'static str,
    resources: &'static [&'static str],
    ops: &'static [&'static str],
    scope: Scope,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Scope {
    Job,
    Namespaced,
    Cluster,
}

const KUEUE: &str = "kueue.x-k8s.io";
const V: &str = "v1beta2";

const MUTATING: &[Entry] = &[
    Entry {
        name: "mjob.kb.io",
        path: paths::MUTATE_JOB,
        group: "batch",
        version: "v1",
        resources: &["jobs"],
        ops: &["CREATE"],
        scope: Scope::Job,
    },
    Entry {
        name: "mclusterqueue.kb.io",
        path: paths::MUTATE_CLUSTER_QUEUE,
        group: KUEUE,
        version: V,
        resources: &["clusterqueues"],
        ops: &["CREATE"],
        scope: Scope::Cluster,
    },
    Entry {
        name: "mresourceflavor.kb.io",
        path: paths::MUTATE_RESOURCE_FLAVOR,
        group: KUEUE,
        version: V,
        resources: &["resourceflavors"],
        ops: &["CREATE"],
        scope: Scope::Cluster,
    },
    Entry {
        name: "mworkload.kb.io",
        path: paths::MUTATE_WORKLOAD,
        group: KUEUE,
        version: V,
        resources: &["workloads"],
        ops: &["CREATE"],
        scope: Scope::Namespaced,
    },
];

const VALIDATING: &[Entry] = &[
    Entry {
        name: "vjob.kb.io",
        path: paths::VALIDATE_JOB,
        group: "batch",
        version: "v1",
        resources: &["jobs"],
        ops: &["CREATE", "UPDATE"],
        scope: Scope::Job,
    },
    Entry {
        name: "vclusterqueue.kb.io",
        path: paths::VALIDATE_CLUSTER_QUEUE,
        group: KUEUE,
        version: V,
        resources: &["clusterqueues"],
        ops: &["CREATE", "UPDATE"],
        scope: Scope::Cluster,
    },
    Entry {
        name: "vcohort.kb.io",
        path: paths::VALIDATE_COHORT,
        group: KUEUE,
        version: V,
        resources: &["cohorts"],
        ops: &["CREATE", "UPDATE"],
        scope: Scope::Cluster,
    },
    Entry {
        name: "vresourceflavor.kb.io",
        path: paths::VALIDATE_RESOURCE_FLAVOR,
        group: KUEUE,
        version: V,
        resources: &["resourceflavors"],
        ops: &["CREATE", "UPDATE"],
        scope: Scope::Cluster,
    },
    Entry {
        name: "vworkload.kb.io",
        path: paths::VALIDATE_WORKLOAD,
        group: KUEUE,
        version: V,
        resources: &["workloads", "workloads/status"],
        ops: &["CREATE", "UPDATE"],
        scope: Scope::Namespaced,
    },
    Entry {
        name: "vtimewindowpolicy.turnstile.dev",
        path: paths::VALIDATE_TIME_WINDOW_POLICY,
        group: "turnstile.dev",
        version: "v1alpha1",
        resources: &["timewindowpolicies"],
        ops: &["CREATE", "UPDATE"],
        scope: Scope::Cluster,
    },
];

/// Selectors of an entry: (namespaceSelector, objectSelector).
fn selectors(e: &Entry, opts: &Options) -> (Option<LabelSelector>, Option<LabelSelector>) {
    let extra = (!opts.extra_selector_labels.is_empty())
        .then(|| with_extra(LabelSelector::default(), &opts.extra_selector_labels));
    match e.scope {
        Scope::Job => (Some(job_namespace_selector(opts)), None),
        Scope::Namespaced => (extra, None),
        Scope::Cluster => (None, extra),
    }
}

/// The MutatingWebhookConfiguration.
pub fn mutating(opts: &Options) -> MutatingWebhookConfiguration {
    let webhooks = MUTATING
        .iter()
        .map(|e| {
            let (namespace_selector, object_selector) = selectors(e, opts);
            MutatingWebhook {
                name: e.name.into(),
                client_config: client_config(opts, e.path),
                rules: Some(rule(e.group, e.version, e.resources, e.ops)),
                failure_policy: Some("Fail".into()),
                side_effects: "None".into(),
                admission_review_versions: vec!["v1".into()],
                timeout_seconds: Some(TIMEOUT_SECONDS),
                match_policy: Some("Equivalent".into()),
                reinvocation_policy: Some("Never".into()),
                namespace_selector,
                object_selector,
                match_conditions: None,
            }
        })
        .collect();
    MutatingWebhookConfiguration {
        metadata: ObjectMeta {
            name: Some(opts.mutating_name.clone()),
            ..ObjectMeta::default()
        },
        webhooks: Some(webhooks),
    }
}

/// The ValidatingWebhookConfiguration.
pub fn validating(opts: &Options) -> ValidatingWebhookConfiguration {
    let webhooks = VALIDATING
        .iter()
        .map(|e| {
            let (namespace_selector, object_selector) = selectors(e, opts);
            ValidatingWebhook {
                name: e.name.into(),
                client_config: client_config(opts, e.path),
                rules: Some(rule(e.group, e.version, e.resources, e.ops)),
                failure_policy: Some("Fail".into()),
                side_effects: "None".into(),
                admission_review_versions: vec!["v1".into()],
                timeout_seconds: Some(TIMEOUT_SECONDS),
                match_policy: Some("Equivalent".into()),
                namespace_selector,
                object_selector,
                match_conditions: None,
            }
        })
        .collect();
    ValidatingWebhookConfiguration {
        metadata: ObjectMeta {
            name: Some(opts.validating_name.clone()),
            ..ObjectMeta::default()
        },
        webhooks: Some(webhooks),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts() -> Options {
        Options {
            target: Target::Service {
                name: "svc".into(),
                namespace: "turnstile-system".into(),
                port: 443,
            },
            mutating_name: "m".into(),
            validating_name: "v".into(),
            namespace: "turnstile-system".into(),
            managed_jobs_namespace_selector: None,
            extra_selector_labels: BTreeMap::new(),
            ca_bundle: vec![],
        }
    }

    #[test]
    fn every_path_is_registered_once() {
        let m = mutating(&opts());
        let v = validating(&opts());
        let mut registered: Vec<String> = m
            .webhooks
            .iter()
            .flatten()
            .map(|w| {
                w.client_config
                    .service
                    .as_ref()
                    .and_then(|s| s.path.clone())
                    .unwrap_or_default()
            })
            .chain(v.webhooks.iter().flatten().map(|w| {
                w.client_config
                    .service
                    .as_ref()
                    .and_then(|s| s.path.clone())
                    .unwrap_or_default()
            }))
            .collect();
        registered.sort();
        let mut all: Vec<String> = paths::ALL.iter().map(|p| (*p).to_owned()).collect();
        all.sort();
        assert_eq!(registered, all);
    }

    #[test]
    fn job_webhooks_never_see_kube_system_and_see_unlabelled_jobs() {
        let m = mutating(&opts());
        let job = m
            .webhooks
            .iter()
            .flatten()
            .find(|w| w.name == "mjob.kb.io")
            .unwrap();
        assert_eq!(job.failure_policy.as_deref(), Some("Fail"));
        assert_eq!(job.timeout_seconds, Some(10));
        let ns = serde_json::to_value(&job.namespace_selector).unwrap();
        assert_eq!(
            ns["matchExpressions"][0]["values"],
            serde_json::json!(["kube-system", "turnstile-system"])
        );
        // LocalQueue defaulting needs the Jobs that carry no queue label.
        for w in mutating(&opts())
            .webhooks
            .iter()
            .flatten()
            .filter(|w| w.name.contains("job"))
        {
            assert!(w.object_selector.is_none(), "{}", w.name);
        }
        for w in validating(&opts())
            .webhooks
            .iter()
            .flatten()
            .filter(|w| w.name.contains("job"))
        {
            assert!(w.object_selector.is_none(), "{}", w.name);
        }
        for w in validating(&opts()).webhooks.iter().flatten() {
            assert_eq!(w.side_effects, "None");
            assert_eq!(w.failure_policy.as_deref(), Some("Fail"));
        }
    }
}
