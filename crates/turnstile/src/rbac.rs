//! The Kubernetes API access the manager needs, listed once. `turnstile chart` renders the chart's
//! ClusterRole and Role from [`RULES`] (`charts/turnstile/templates/rbac.yaml`), and the drift check
//! in CI keeps the chart equal to this table: a new API call in the code means a new line here, and
//! nothing broader than what the code does is granted.

use k8s_openapi::api::rbac::v1::PolicyRule;

/// Where a rule is granted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Everywhere (ClusterRole + ClusterRoleBinding).
    Cluster,
    /// Only in the manager's own namespace (Role + RoleBinding).
    Namespace,
}

/// One RBAC rule: verbs on resources of an API group (`""` is the core group).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rule {
    /// Where it is granted.
    pub scope: Scope,
    /// API group.
    pub group: &'static str,
    /// Resources (and subresources, `workloads/status`).
    pub resources: &'static [&'static str],
    /// Verbs.
    pub verbs: &'static [&'static str],
    /// Only these objects (`{fullname}` stands for the release's full name); empty: any. RBAC
    /// cannot restrict `create` or `list`/`watch` by name, so those verbs go in rules without names.
    pub names: &'static [&'static str],
}

const KUEUE: &str = "kueue.x-k8s.io";
const READ: &[&str] = &["get", "list", "watch"];
const STATUS: &[&str] = &["get", "patch", "update"];

/// Every API call the manager makes, by scope.
pub const RULES: &[Rule] = &[
    // The scheduler's and the webhook's view of the queueing objects.
    Rule {
        scope: Scope::Cluster,
        group: KUEUE,
        resources: &[
            "admissionchecks",
            "cohorts",
            "localqueues",
            "workloadpriorityclasses",
        ],
        verbs: READ,
        names: &[],
    },
    // Read like the others; patched when deleted, to drop the in-use finalizer once unused.
    Rule {
        scope: Scope::Cluster,
        group: KUEUE,
        resources: &["clusterqueues", "resourceflavors"],
        verbs: &["get", "list", "watch", "patch"],
        names: &[],
    },
    // Workloads: created and deleted for Jobs by the Job reconciler, patched by the scheduler.
    Rule {
        scope: Scope::Cluster,
        group: KUEUE,
        resources: &["workloads"],
        verbs: &["get", "list", "watch", "create", "patch", "delete"],
        names: &[],
    },
    // Status written by the scheduler and the Job reconciler.
    Rule {
        scope: Scope::Cluster,
        group: KUEUE,
        resources: &[
            "workloads/status",
            "clusterqueues/status",
            "localqueues/status",
            "cohorts/status",
        ],
        verbs: STATUS,
        names: &[],
    },
    // TimeWindowPolicies: watched by every replica, their status written by the leader.
    Rule {
        scope: Scope::Cluster,
        group: "turnstile.dev",
        resources: &["timewindowpolicies"],
        verbs: READ,
        names: &[],
    },
    Rule {
        scope: Scope::Cluster,
        group: "turnstile.dev",
        resources: &["timewindowpolicies/status"],
        verbs: &["patch"],
        names: &[],
    },
    // Jobs: suspended, started with node selectors, restored.
    Rule {
        scope: Scope::Cluster,
        group: "batch",
        resources: &["jobs"],
        verbs: &["get", "list", "watch", "patch"],
        names: &[],
    },
    // Clearing a stopped Job's startTime.
    Rule {
        scope: Scope::Cluster,
        group: "batch",
        resources: &["jobs/status"],
        verbs: &["patch"],
        names: &[],
    },
    // Job priorities from PriorityClasses.
    Rule {
        scope: Scope::Cluster,
        group: "scheduling.k8s.io",
        resources: &["priorityclasses"],
        verbs: &["list", "watch"],
        names: &[],
    },
    // Namespace labels, for namespace selectors.
    Rule {
        scope: Scope::Cluster,
        group: "",
        resources: &["namespaces"],
        verbs: &["list", "watch"],
        names: &[],
    },
    // Events on Workloads, Jobs and queues (both APIs).
    Rule {
        scope: Scope::Cluster,
        group: "events.k8s.io",
        resources: &["events"],
        verbs: &["create", "patch"],
        names: &[],
    },
    Rule {
        scope: Scope::Cluster,
        group: "",
        resources: &["events"],
        verbs: &["create", "patch"],
        names: &[],
    },
    // Injecting the self-managed CA into the webhook configurations.
    Rule {
        scope: Scope::Cluster,
        group: "admissionregistration.k8s.io",
        resources: &["mutatingwebhookconfigurations"],
        verbs: &["get", "update"],
        names: &["{fullname}-mutating-webhook-configuration"],
    },
    Rule {
        scope: Scope::Cluster,
        group: "admissionregistration.k8s.io",
        resources: &["validatingwebhookconfigurations"],
        verbs: &["get", "update"],
        names: &["{fullname}-validating-webhook-configuration"],
    },
    // The conversion webhook of the CRDs whose v1beta1 differs (caBundle and clientConfig kept
    // current by the certificate upkeep), by name only.
    Rule {
        scope: Scope::Cluster,
        group: "apiextensions.k8s.io",
        resources: &["customresourcedefinitions"],
        verbs: &["get", "update"],
        names: &[
            "clusterqueues.kueue.x-k8s.io",
            "cohorts.kueue.x-k8s.io",
            "localqueues.kueue.x-k8s.io",
            "workloads.kueue.x-k8s.io",
        ],
    },
    // The visibility API's APIServices: the self-managed CA kept in their caBundle, by name only.
    Rule {
        scope: Scope::Cluster,
        group: "apiregistration.k8s.io",
        resources: &["apiservices"],
        verbs: &["get", "update"],
        names: &[
            "v1beta2.visibility.kueue.x-k8s.io",
            "v1beta1.visibility.kueue.x-k8s.io",
        ],
    },
    // Authenticating and authorizing metrics scrapes and visibility API requests (bearer tokens;
    // requests proxied by kube-apiserver carry the user in headers), as Kueue's servers do. The
    // front-proxy CA is read through a RoleBinding to kube-system's
    // `extension-apiserver-authentication-reader` Role (templates/visibility.yaml).
    Rule {
        scope: Scope::Cluster,
        group: "authentication.k8s.io",
        resources: &["tokenreviews"],
        verbs: &["create"],
        names: &[],
    },
    Rule {
        scope: Scope::Cluster,
        group: "authorization.k8s.io",
        resources: &["subjectaccessreviews"],
        verbs: &["create"],
        names: &[],
    },
    // Learning its own username (the webhook recognises its own requests).
    Rule {
        scope: Scope::Cluster,
        group: "authentication.k8s.io",
        resources: &["selfsubjectreviews"],
        verbs: &["create"],
        names: &[],
    },
    // Leader election.
    Rule {
        scope: Scope::Namespace,
        group: "coordination.k8s.io",
        resources: &["leases"],
        verbs: &["get", "create", "update"],
        names: &[],
    },
    // The self-managed webhook certificate Secret: created once, then read and updated by name
    // only (no other Secret of the namespace is readable).
    Rule {
        scope: Scope::Namespace,
        group: "",
        resources: &["secrets"],
        verbs: &["create"],
        names: &[],
    },
    Rule {
        scope: Scope::Namespace,
        group: "",
        resources: &["secrets"],
        verbs: &["get", "update"],
        names: &["{fullname}-webhook-server-cert"],
    },
];

/// The rules of one scope, as RBAC PolicyRules, in table order, for a release named `fullname`.
pub fn policy_rules(scope: Scope, fullname: &str) -> Vec<PolicyRule> {
    RULES
        .iter()
        .filter(|r| r.scope == scope)
        .map(|r| PolicyRule {
            api_groups: Some(vec![r.group.to_owned()]),
            resources: Some(r.resources.iter().map(|s| (*s).to_owned()).collect()),
            verbs: r.verbs.iter().map(|s| (*s).to_owned()).collect(),
            non_resource_urls: None,
            resource_names: (!r.names.is_empty()).then(|| {
                r.names
                    .iter()
                    .map(|n| n.replace("{fullname}", fullname))
                    .collect()
            }),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_wildcards_and_no_resource_twice_in_a_scope() {
        let mut seen = std::collections::BTreeSet::new();
        for r in RULES {
            assert!(!r.group.contains('*'));
            assert!(!r.verbs.is_empty() && !r.resources.is_empty());
            for v in r.verbs {
                assert_ne!(*v, "*");
            }
            for res in r.resources {
                assert!(!res.contains('*'), "{res}");
                assert!(
                    seen.insert((r.group, *res, r.names.is_empty())),
                    "{}/{res} is listed twice",
                    r.group
                );
                if !r.names.is_empty() {
                    assert!(
                        !r.verbs
                            .iter()
                            .any(|v| ["create", "list", "watch"].contains(v)),
                        "{res}: RBAC cannot restrict these verbs by name"
                    );
                }
            }
        }
    }

    #[test]
    fn secrets_and_leases_only_in_the_namespace() {
        for r in policy_rules(Scope::Cluster, "t") {
            let resources = r.resources.unwrap_or_default();
            assert!(!resources.iter().any(|x| x == "secrets" || x == "leases"));
        }
        let ns = policy_rules(Scope::Namespace, "t");
        assert_eq!(ns.len(), 3);
        let secret_reads: Vec<_> = ns
            .iter()
            .filter(|r| r.resources.as_deref() == Some(&["secrets".to_owned()][..]))
            .filter(|r| r.verbs.iter().any(|v| v == "get"))
            .collect();
        assert_eq!(
            secret_reads[0].resource_names.as_deref(),
            Some(&["t-webhook-server-cert".to_owned()][..]),
            "only its own Secret is readable"
        );
    }

    #[test]
    fn webhook_configurations_only_by_name() {
        for r in policy_rules(Scope::Cluster, "t") {
            let resources = r.resources.clone().unwrap_or_default();
            if resources
                .iter()
                .any(|x| x.ends_with("webhookconfigurations"))
            {
                let names = r.resource_names.clone().unwrap_or_default();
                assert_eq!(names.len(), 1, "{resources:?}");
                assert!(names[0].starts_with("t-") && names[0].ends_with("-webhook-configuration"));
                assert_eq!(r.verbs, ["get", "update"]);
            }
        }
    }
}
