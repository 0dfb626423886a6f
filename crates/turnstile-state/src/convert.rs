//! API objects to scheduling-core values. Every quantity is parsed here; a bad one is a
//! field-pathed error for the caller to report (e.g. as an inactive ClusterQueue), never a panic.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Container, PodSpec, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity as K8sQuantity;
use turnstile_api as api;
use turnstile_core::model::{self, SelectorRequirement, Taint, Toleration};
use turnstile_core::resources::{FlavorResource, Requests, amount_of};
use turnstile_core::tree::{CohortQuotas, QueueQuotas, Quota};
use turnstile_core::{Quantity, QuantityError};

/// A value that could not be converted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {error}")]
pub struct ConvertError {
    /// Field path.
    pub path: String,
    /// What is wrong.
    pub error: QuantityError,
}

fn parse(path: impl Into<String>, q: &str) -> Result<Quantity, ConvertError> {
    Quantity::parse(q).map_err(|error| ConvertError {
        path: path.into(),
        error,
    })
}

fn amount(path: impl Into<String>, resource: &str, q: &str) -> Result<i64, ConvertError> {
    parse(path, q).map(|v| amount_of(resource, v))
}

fn quotas(
    groups: &[api::ResourceGroup],
    base: &str,
) -> Result<BTreeMap<FlavorResource, Quota>, ConvertError> {
    let mut out = BTreeMap::new();
    for (i, g) in groups.iter().enumerate() {
        for (j, f) in g.flavors.iter().enumerate() {
            for (k, r) in f.resources.iter().enumerate() {
                let p = format!("{base}.resourceGroups[{i}].flavors[{j}].resources[{k}]");
                let quota = Quota {
                    nominal: amount(
                        format!("{p}.nominalQuota"),
                        &r.name,
                        r.nominal_quota.as_str(),
                    )?,
                    borrowing_limit: r
                        .borrowing_limit
                        .as_ref()
                        .map(|q| amount(format!("{p}.borrowingLimit"), &r.name, q.as_str()))
                        .transpose()?,
                    lending_limit: r
                        .lending_limit
                        .as_ref()
                        .map(|q| amount(format!("{p}.lendingLimit"), &r.name, q.as_str()))
                        .transpose()?,
                };
                out.insert(FlavorResource::new(f.name.as_str(), &r.name), quota);
            }
        }
    }
    Ok(out)
}

/// A ClusterQueue's scheduling view and quotas. `active` is decided by the caller (stop policy,
/// missing flavors, deletion).
pub fn cluster_queue(
    cq: &api::ClusterQueue,
    active: bool,
) -> Result<(model::ClusterQueue, QueueQuotas), ConvertError> {
    let name = cq.metadata.name.clone().unwrap_or_default();
    let spec = &cq.spec;
    let fung = spec.flavor_fungibility.clone().unwrap_or_default();
    let policy =
        |p: Option<api::FlavorFungibilityPolicy>, default: model::FungibilityPolicy| match p {
            Some(api::FlavorFungibilityPolicy::MayStopSearch) => {
                model::FungibilityPolicy::MayStopSearch
            }
            Some(api::FlavorFungibilityPolicy::TryNextFlavor) => {
                model::FungibilityPolicy::TryNextFlavor
            }
            None => default,
        };
    let pre = spec.preemption.clone().unwrap_or_default();
    let bwc = pre.borrow_within_cohort.clone().unwrap_or_default();
    let model_cq = model::ClusterQueue {
        name: name.clone(),
        strategy: match spec.queueing_strategy.unwrap_or_default() {
            api::QueueingStrategy::StrictFIFO => model::QueueingStrategy::StrictFifo,
            api::QueueingStrategy::BestEffortFIFO => model::QueueingStrategy::BestEffortFifo,
        },
        resource_groups: spec
            .resource_groups
            .iter()
            .map(|g| model::ResourceGroup {
                covered: g.covered_resources.clone(),
                flavors: g.flavors.iter().map(|f| f.name.to_string()).collect(),
            })
            .collect(),
        fungibility: model::Fungibility {
            when_can_borrow: policy(
                fung.when_can_borrow,
                model::FungibilityPolicy::MayStopSearch,
            ),
            when_can_preempt: policy(
                fung.when_can_preempt,
                model::FungibilityPolicy::TryNextFlavor,
            ),
            preference: match fung.preference {
                Some(api::FlavorFungibilityPreference::PreemptionOverBorrowing) => {
                    model::FungibilityPreference::PreemptionOverBorrowing
                }
                _ => model::FungibilityPreference::BorrowingOverPreemption,
            },
        },
        preemption: model::Preemption {
            within_cluster_queue: match pre.within_cluster_queue.unwrap_or_default() {
                api::WithinClusterQueuePolicy::Never => model::PreemptionPolicy::Never,
                api::WithinClusterQueuePolicy::LowerPriority => {
                    model::PreemptionPolicy::LowerPriority
                }
                api::WithinClusterQueuePolicy::LowerOrNewerEqualPriority => {
                    model::PreemptionPolicy::LowerOrNewerEqualPriority
                }
            },
            reclaim_within_cohort: match pre.reclaim_within_cohort.unwrap_or_default() {
                api::ReclaimWithinCohortPolicy::Never => model::PreemptionPolicy::Never,
                api::ReclaimWithinCohortPolicy::LowerPriority => {
                    model::PreemptionPolicy::LowerPriority
                }
                api::ReclaimWithinCohortPolicy::Any => model::PreemptionPolicy::Any,
            },
            borrow_within_cohort: model::BorrowWithinCohort {
                lower_priority: bwc.policy == Some(api::BorrowWithinCohortPolicy::LowerPriority),
                max_priority_threshold: bwc.max_priority_threshold,
            },
        },
        active,
    };
    let q = QueueQuotas {
        cohort: spec
            .cohort_name
            .as_ref()
            .map(ToString::to_string)
            .filter(|c| !c.is_empty()),
        quotas: quotas(&spec.resource_groups, "spec")?,
    };
    Ok((model_cq, q))
}

/// A scheduling amount back as a quantity string (cpu amounts are milli-units).
pub fn quantity_string(resource: &str, amount: i64) -> String {
    if resource == "cpu" && amount % 1000 != 0 {
        format!("{amount}m")
    } else if resource == "cpu" {
        (amount / 1000).to_string()
    } else {
        amount.to_string()
    }
}

/// A Cohort's quotas.
pub fn cohort(c: &api::Cohort) -> Result<CohortQuotas, ConvertError> {
    Ok(CohortQuotas {
        parent: c
            .spec
            .parent_name
            .as_ref()
            .map(ToString::to_string)
            .filter(|p| !p.is_empty()),
        quotas: quotas(&c.spec.resource_groups, "spec")?,
    })
}

/// A ResourceFlavor.
pub fn flavor(rf: &api::ResourceFlavor) -> model::Flavor {
    model::Flavor {
        name: rf.metadata.name.clone().unwrap_or_default(),
        node_labels: rf.spec.node_labels.clone(),
        node_taints: rf
            .spec
            .node_taints
            .iter()
            .map(|t| Taint {
                key: t.key.clone(),
                value: t.value.clone().unwrap_or_default(),
                effect: t.effect.clone(),
            })
            .collect(),
        tolerations: rf.spec.tolerations.iter().map(toleration).collect(),
    }
}

/// A pod toleration as the scheduler sees it.
pub fn toleration(t: &k8s_openapi::api::core::v1::Toleration) -> Toleration {
    Toleration {
        key: t.key.clone().unwrap_or_default(),
        exists: t.operator.as_deref() == Some("Exists"),
        value: t.value.clone().unwrap_or_default(),
        effect: t.effect.clone().unwrap_or_default(),
    }
}

fn add_into(acc: &mut BTreeMap<String, Quantity>, r: &str, q: Quantity) {
    let e = acc.entry(r.to_owned()).or_insert(Quantity::ZERO);
    *e = e.saturating_add(q);
}

/// Requests of one container: its requests, with limits standing in for missing requests.
fn container_requests(
    c: &Container,
    path: &str,
) -> Result<BTreeMap<String, Quantity>, ConvertError> {
    let mut out = BTreeMap::new();
    let res = c.resources.as_ref();
    for (r, q) in res.and_then(|x| x.limits.as_ref()).into_iter().flatten() {
        out.insert(
            r.clone(),
            parse(format!("{path}.resources.limits[{r}]"), &q.0)?,
        );
    }
    for (r, q) in res.and_then(|x| x.requests.as_ref()).into_iter().flatten() {
        out.insert(
            r.clone(),
            parse(format!("{path}.resources.requests[{r}]"), &q.0)?,
        );
    }
    Ok(out)
}

fn list(
    map: Option<&BTreeMap<String, K8sQuantity>>,
    path: &str,
) -> Result<BTreeMap<String, Quantity>, ConvertError> {
    map.into_iter()
        .flatten()
        .map(|(r, q)| Ok((r.clone(), parse(format!("{path}[{r}]"), &q.0)?)))
        .collect()
}

/// Requests of one pod, as Kubernetes computes them: the sum of the containers and sidecars, or the
/// largest init container (plus the sidecars started before it) when larger; pod-level resources
/// when set; plus the pod overhead.
pub fn pod_requests(
    spec: &PodSpec,
    path: &str,
) -> Result<BTreeMap<String, Quantity>, ConvertError> {
    let mut sum: BTreeMap<String, Quantity> = BTreeMap::new();
    for (i, c) in spec.containers.iter().enumerate() {
        for (r, q) in container_requests(c, &format!("{path}.containers[{i}]"))? {
            add_into(&mut sum, &r, q);
        }
    }
    let mut sidecars: BTreeMap<String, Quantity> = BTreeMap::new();
    let mut init_peak: BTreeMap<String, Quantity> = BTreeMap::new();
    for (i, c) in spec.init_containers.iter().flatten().enumerate() {
        let req = container_requests(c, &format!("{path}.initContainers[{i}]"))?;
        if c.restart_policy.as_deref() == Some("Always") {
            for (r, q) in req {
                add_into(&mut sidecars, &r, q);
            }
            for (r, q) in &sidecars {
                let e = init_peak.entry(r.clone()).or_insert(Quantity::ZERO);
                *e = (*e).max(*q);
            }
        } else {
            for (r, q) in req {
                let with_sidecars =
                    q.saturating_add(sidecars.get(&r).copied().unwrap_or(Quantity::ZERO));
                let e = init_peak.entry(r).or_insert(Quantity::ZERO);
                *e = (*e).max(with_sidecars);
            }
        }
    }
    for (r, q) in &sidecars {
        add_into(&mut sum, r, *q);
    }
    for (r, q) in init_peak {
        let e = sum.entry(r).or_insert(Quantity::ZERO);
        *e = (*e).max(q);
    }
    if let Some(pod_level) = spec.resources.as_ref() {
        let limits = list(
            pod_level.limits.as_ref(),
            &format!("{path}.resources.limits"),
        )?;
        let requests = list(
            pod_level.requests.as_ref(),
            &format!("{path}.resources.requests"),
        )?;
        for (r, q) in limits.into_iter().chain(requests) {
            sum.insert(r, q);
        }
    }
    for (r, q) in list(spec.overhead.as_ref(), &format!("{path}.overhead"))? {
        add_into(&mut sum, &r, q);
    }
    Ok(sum)
}

/// One `resources.transformations` entry of Kueue's Configuration.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Transformation {
    /// `Retain` (keep the input next to the outputs) rather than `Replace`.
    pub retain: bool,
    /// A resource whose requested amount multiplies the input before the outputs are computed.
    pub multiply_by: Option<String>,
    /// Output resource → amount per unit of input (negative: an allowance).
    pub outputs: BTreeMap<String, Quantity>,
}

/// Kueue's `resources` configuration, as it applies to a pod's requests: resources whose name
/// starts with an excluded prefix are dropped, then transformations turn inputs into outputs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ResourceRules {
    /// `resources.excludeResourcePrefixes`.
    pub exclude_prefixes: Vec<String>,
    /// `resources.transformations`, by input resource.
    pub transformations: BTreeMap<String, Transformation>,
}

impl ResourceRules {
    /// The requests the scheduler accounts for a pod that asks for `input`.
    pub fn apply(&self, input: BTreeMap<String, Quantity>) -> BTreeMap<String, Quantity> {
        let kept: BTreeMap<String, Quantity> = input
            .into_iter()
            .filter(|(r, _)| {
                !self
                    .exclude_prefixes
                    .iter()
                    .any(|p| r.starts_with(p.as_str()))
            })
            .collect();
        if !kept.keys().any(|r| self.transformations.contains_key(r)) {
            return kept;
        }
        let mut retained = BTreeMap::new();
        let mut generated: BTreeMap<String, Quantity> = BTreeMap::new();
        for (name, q) in &kept {
            let Some(t) = self.transformations.get(name) else {
                retained.insert(name.clone(), *q);
                continue;
            };
            let base = t
                .multiply_by
                .as_ref()
                .and_then(|m| kept.get(m))
                .map_or(*q, |m| q.saturating_mul_quantity(*m));
            for (out, factor) in &t.outputs {
                let e = generated.entry(out.clone()).or_default();
                *e = e.saturating_add(base.saturating_mul_quantity(*factor));
            }
            if t.retain {
                retained.insert(name.clone(), *q);
            }
        }
        for (name, q) in generated {
            let q = if q.is_negative() {
                Quantity::default()
            } else {
                q
            };
            let e = retained.entry(name).or_default();
            *e = e.saturating_add(q);
        }
        retained
    }
}

fn pod_set(
    ps: &api::PodSet,
    path: &str,
    rules: &ResourceRules,
) -> Result<model::PodSet, ConvertError> {
    let template: &PodTemplateSpec = &ps.template;
    let spec = template.spec.clone().unwrap_or_default();
    let per_pod: Requests = rules
        .apply(pod_requests(&spec, &format!("{path}.template.spec"))?)
        .into_iter()
        .map(|(r, q)| {
            let a = amount_of(&r, q);
            (r, a)
        })
        .collect();
    let required_affinity = spec
        .affinity
        .as_ref()
        .and_then(|a| a.node_affinity.as_ref())
        .and_then(|n| {
            n.required_during_scheduling_ignored_during_execution
                .as_ref()
        })
        .map(|sel| {
            sel.node_selector_terms
                .iter()
                .map(|t| {
                    t.match_expressions
                        .iter()
                        .flatten()
                        .map(|e| SelectorRequirement {
                            key: e.key.clone(),
                            operator: e.operator.clone(),
                            values: e.values.clone().unwrap_or_default(),
                        })
                        .collect()
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(model::PodSet {
        name: ps.name.to_string(),
        count: ps.count,
        min_count: ps.min_count,
        per_pod,
        node_selector: spec.node_selector.clone().unwrap_or_default(),
        required_affinity,
        tolerations: spec.tolerations.iter().flatten().map(toleration).collect(),
    })
}

/// A Workload's scheduling view, for the ClusterQueue its LocalQueue points to. The queue-order
/// timestamp is the creation time in milliseconds (the caller applies eviction-based ordering).
pub fn workload(
    wl: &api::Workload,
    cluster_queue: &str,
    timestamp_ms: i64,
    rules: &ResourceRules,
) -> Result<model::Workload, ConvertError> {
    let pod_sets = wl
        .spec
        .pod_sets
        .iter()
        .enumerate()
        .map(|(i, ps)| pod_set(ps, &format!("spec.podSets[{i}]"), rules))
        .collect::<Result<_, _>>()?;
    Ok(model::Workload {
        key: crate::index::key_of(&wl.metadata),
        uid: wl.metadata.uid.clone().unwrap_or_default(),
        cluster_queue: cluster_queue.to_owned(),
        priority: wl.spec.effective_priority(),
        timestamp: timestamp_ms,
        pod_sets,
    })
}

/// The admission recorded in a Workload's status, as core assignments, with the usage of pods
/// reported reclaimable (`status.reclaimablePods`) given back as Kueue does: when a pod set's count
/// less its reclaimable pods is below the admitted count, its usage is scaled to that many pods
/// (per-pod usage = admitted usage / admitted count, in integer units, times the pods still needed).
/// `spec_count` gives a pod set's `spec.podSets[].count` when the Workload's pod sets are not at
/// hand (the cache drops them; its model keeps the counts).
pub fn admission(
    wl: &api::Workload,
    spec_count: impl Fn(&str) -> Option<i32>,
) -> Result<Option<(String, Vec<model::PodSetAssignment>)>, ConvertError> {
    let Some(status) = wl.status.as_ref() else {
        return Ok(None);
    };
    let Some(adm) = status.admission.as_ref() else {
        return Ok(None);
    };
    let mut out = Vec::new();
    for (i, psa) in adm.pod_set_assignments.iter().enumerate() {
        let mut usage = Requests::new();
        for (r, q) in &psa.resource_usage {
            usage.insert(
                r.clone(),
                amount(
                    format!("status.admission.podSetAssignments[{i}].resourceUsage[{r}]"),
                    r,
                    q.as_str(),
                )?,
            );
        }
        let total = wl
            .spec
            .pod_sets
            .iter()
            .find(|p| p.name == psa.name)
            .map(|p| p.count)
            .or_else(|| spec_count(psa.name.as_str()));
        let mut count = psa.count.or(total).unwrap_or(0);
        if let Some(total) = total {
            let reclaimable = status
                .reclaimable_pods
                .iter()
                .find(|r| r.name == psa.name)
                .map_or(0, |r| r.count.clamp(0, total.max(0)));
            let needed = total - reclaimable;
            if needed < count && count > 0 {
                for v in usage.values_mut() {
                    *v = *v / i64::from(count) * i64::from(needed);
                }
                count = needed;
            }
        }
        out.push(model::PodSetAssignment {
            name: psa.name.to_string(),
            count,
            flavors: psa
                .flavors
                .iter()
                .map(|(r, f)| (r.clone(), f.to_string()))
                .collect(),
            usage,
        });
    }
    Ok(Some((adm.cluster_queue.to_string(), out)))
}

#[cfg(test)]
mod tests;
