//! Validation of ResourceFlavors and Workloads beyond their CRD schema (Kueue's
//! `vresourceflavor.kb.io` and `vworkload.kb.io`), and the mutating defaults of Kueue's own kinds.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{Taint, Toleration};
use turnstile_api::keys::{RESOURCE_IN_USE_FINALIZER, conditions};
use turnstile_api::{ResourceFlavor, ResourceList, Workload};
use turnstile_core::Quantity;

use crate::field::{ErrorList, FieldError, Path};
use crate::names::{TOTAL_ANNOTATION_SIZE_LIMIT, label_value_error, qualified_name_error};

/// Checks a ResourceFlavor on create and update.
pub fn validate_resource_flavor(rf: &ResourceFlavor) -> ErrorList {
    let path = Path::new("spec");
    let mut errs = labels(&rf.spec.node_labels, &path.child("nodeLabels"));
    errs.extend(taints(&rf.spec.node_taints, &path.child("nodeTaints")));
    errs.extend(tolerations(
        &rf.spec.tolerations,
        &path.child("tolerations"),
    ));
    errs
}

/// JSON patch adding Kueue's `resource-in-use` finalizer, for ClusterQueue and ResourceFlavor creation.
pub fn finalizer_patch(existing: Option<&[String]>) -> Vec<json_patch::PatchOperation> {
    use json_patch::{AddOperation, PatchOperation};
    match existing {
        Some(list) if list.iter().any(|f| f == RESOURCE_IN_USE_FINALIZER) => vec![],
        Some(_) => vec![PatchOperation::Add(AddOperation {
            path: "/metadata/finalizers/-".parse().unwrap_or_default(),
            value: RESOURCE_IN_USE_FINALIZER.into(),
        })],
        None => vec![PatchOperation::Add(AddOperation {
            path: "/metadata/finalizers".parse().unwrap_or_default(),
            value: serde_json::json!([RESOURCE_IN_USE_FINALIZER]),
        })],
    }
}

/// Label keys and values (`ValidateLabels`).
pub fn labels(map: &BTreeMap<String, String>, path: &Path) -> ErrorList {
    let mut errs = ErrorList::new();
    for (k, v) in map {
        if let Some(why) = qualified_name_error(k) {
            errs.push(FieldError::invalid(path, k, why));
        }
        if let Some(why) = label_value_error(v) {
            errs.push(FieldError::invalid(&path.key(k), v, why));
        }
    }
    errs
}

/// Annotation keys and their total size (`ValidateAnnotations`).
pub fn annotations(map: &BTreeMap<String, String>, path: &Path) -> ErrorList {
    let mut errs = ErrorList::new();
    let mut total = 0usize;
    for (k, v) in map {
        if let Some(why) = qualified_name_error(&k.to_lowercase()) {
            errs.push(FieldError::invalid(path, k, why));
        }
        total += k.len() + v.len();
    }
    if total > TOTAL_ANNOTATION_SIZE_LIMIT {
        errs.push(
            FieldError::invalid(
                path,
                "",
                format!("must have at most {TOTAL_ANNOTATION_SIZE_LIMIT} bytes"),
            )
            .with_detail(format!(
                "Too long: may not be more than {TOTAL_ANNOTATION_SIZE_LIMIT} bytes"
            )),
        );
    }
    errs
}

fn taints(taints: &[Taint], path: &Path) -> ErrorList {
    let mut errs = ErrorList::new();
    let mut seen = BTreeSet::new();
    for (i, t) in taints.iter().enumerate() {
        let p = path.index(i);
        if let Some(why) = qualified_name_error(&t.key) {
            errs.push(FieldError::invalid(&p.child("key"), &t.key, why));
        }
        let value = t.value.as_deref().unwrap_or_default();
        if let Some(why) = label_value_error(value) {
            errs.push(FieldError::invalid(&p.child("value"), value, why));
        }
        if !seen.insert((t.effect.as_str(), t.key.as_str())) {
            errs.push(
                FieldError::duplicate(&p, format!("{}={}:{}", t.key, value, t.effect))
                    .with_detail("taints must be unique by key and effect pair"),
            );
        }
    }
    errs
}

fn tolerations(tolerations: &[Toleration], path: &Path) -> ErrorList {
    let mut errs = ErrorList::new();
    for (i, t) in tolerations.iter().enumerate() {
        let key = t.key.as_deref().unwrap_or_default();
        if !key.is_empty()
            && let Some(why) = qualified_name_error(key)
        {
            errs.push(FieldError::invalid(&path.index(i).child("key"), key, why));
        }
    }
    errs
}

fn has_quota_reservation(wl: &Workload) -> bool {
    wl.status.as_ref().is_some_and(|s| {
        s.conditions
            .iter()
            .any(|c| c.type_ == conditions::QUOTA_RESERVED && c.status == "True")
    })
}

fn resource_list(
    list: Option<&BTreeMap<String, k8s_openapi::apimachinery::pkg::api::resource::Quantity>>,
    path: &Path,
) -> ErrorList {
    let mut errs = ErrorList::new();
    for (name, q) in list.into_iter().flatten() {
        let p = path.key(name);
        if name == "pods" {
            errs.push(FieldError::invalid(
                &p,
                "pods",
                "the key is reserved for internal kueue use",
            ));
        }
        match Quantity::parse(&q.0) {
            Ok(v) if v.is_negative() => errs.push(FieldError::invalid(
                &p,
                &q.0,
                "must be greater than or equal to 0",
            )),
            Ok(_) => {}
            Err(e) => errs.push(FieldError::invalid(&p, &q.0, e.to_string())),
        }
    }
    errs
}

/// Checks a Workload on create (`old` = None) and update.
pub fn validate_workload(wl: &Workload, old: Option<&Workload>) -> ErrorList {
    let mut errs = validate_pod_sets(wl);
    errs.extend(validate_status(wl, old));
    if let Some(old) = old {
        errs.extend(validate_workload_update(wl, old));
    }
    errs
}

fn validate_pod_sets(wl: &Workload) -> ErrorList {
    let mut errs = ErrorList::new();
    let spec_path = Path::new("spec");
    let pod_sets_path = spec_path.child("podSets");
    let mut min_counts = 0;
    for (i, ps) in wl.spec.pod_sets.iter().enumerate() {
        let p = pod_sets_path.index(i).child("template");
        if let Some(meta) = &ps.template.metadata {
            errs.extend(labels(
                meta.labels.as_ref().unwrap_or(&BTreeMap::new()),
                &p.child("metadata").child("labels"),
            ));
            errs.extend(annotations(
                meta.annotations.as_ref().unwrap_or(&BTreeMap::new()),
                &p.child("metadata").child("annotations"),
            ));
        }
        if let Some(pod) = &ps.template.spec {
            for (kind, containers) in [
                (
                    "initContainers",
                    pod.init_containers.as_deref().unwrap_or_default(),
                ),
                ("containers", &pod.containers[..]),
            ] {
                for (ci, c) in containers.iter().enumerate() {
                    let cp = p.child("spec").child(kind).index(ci).child("resources");
                    let res = c.resources.as_ref();
                    errs.extend(resource_list(
                        res.and_then(|r| r.requests.as_ref()),
                        &cp.child("requests"),
                    ));
                    errs.extend(resource_list(
                        res.and_then(|r| r.limits.as_ref()),
                        &cp.child("limits"),
                    ));
                }
            }
            if let Some(r) = &pod.resources {
                let rp = p.child("spec").child("resources");
                errs.extend(resource_list(r.requests.as_ref(), &rp.child("requests")));
                errs.extend(resource_list(r.limits.as_ref(), &rp.child("limits")));
            }
        }
        if ps.min_count.is_some() {
            min_counts += 1;
        }
    }
    if min_counts > 1 {
        errs.push(FieldError::invalid(
            &pod_sets_path,
            min_counts,
            "at most one podSet can use minCount",
        ));
    }
    errs
}

fn validate_status(wl: &Workload, old: Option<&Workload>) -> ErrorList {
    let mut errs = ErrorList::new();
    let status_path = Path::new("status");
    let pod_set_names: Vec<String> = wl
        .spec
        .pod_sets
        .iter()
        .map(|p| p.name.to_string())
        .collect();
    if let Some(status) = &wl.status {
        if has_quota_reservation(wl) {
            match &status.admission {
                None => {
                    let old_reserved_without = old.is_some_and(|o| {
                        has_quota_reservation(o)
                            && o.status.as_ref().is_some_and(|s| s.admission.is_none())
                    });
                    if !old_reserved_without {
                        errs.push(FieldError::required(
                            &status_path.child("admission"),
                            "must be set while the QuotaReserved condition is true",
                        ));
                    }
                }
                Some(admission) => {
                    let ap = status_path.child("admission").child("podSetAssignments");
                    for (i, psa) in admission.pod_set_assignments.iter().enumerate() {
                        if !pod_set_names.contains(&psa.name.to_string()) {
                            errs.push(FieldError::invalid(
                                &ap.index(i).child("name"),
                                &psa.name,
                                "Not found",
                            ));
                        }
                        let count = psa.count.unwrap_or(0);
                        if count > 0 {
                            errs.extend(divisible(
                                &psa.resource_usage,
                                i64::from(count),
                                &ap.index(i).child("resourceUsage"),
                            ));
                        }
                    }
                }
            }
        }
        let rp = status_path.child("reclaimablePods");
        for rps in &status.reclaimable_pods {
            let p = rp.key(rps.name.as_str());
            match wl.spec.pod_sets.iter().find(|ps| ps.name == rps.name) {
                None => errs.push(FieldError::not_supported(
                    &p.child("name"),
                    &rps.name,
                    pod_set_names.clone(),
                )),
                Some(ps) if rps.count > ps.count => {
                    errs.push(FieldError::invalid(
                        &p.child("count"),
                        rps.count,
                        format!("should be less or equal to {}", ps.count),
                    ));
                }
                Some(_) => {}
            }
        }
        for (i, check) in status.admission_checks.iter().enumerate() {
            for (j, psu) in check.pod_set_updates.iter().enumerate() {
                let p = status_path
                    .child("admissionChecks")
                    .index(i)
                    .child("podSetUpdates")
                    .index(j);
                if !pod_set_names.contains(&psu.name.to_string()) {
                    errs.push(FieldError::not_supported(
                        &p.child("name"),
                        &psu.name,
                        pod_set_names.clone(),
                    ));
                }
                errs.extend(tolerations(&psu.tolerations, &p.child("tolerations")));
                errs.extend(annotations(&psu.annotations, &p.child("annotations")));
                errs.extend(labels(&psu.node_selector, &p.child("nodeSelector")));
                errs.extend(labels(&psu.labels, &p.child("labels")));
            }
        }
    }
    errs
}

fn divisible(usage: &ResourceList, count: i64, path: &Path) -> ErrorList {
    let mut errs = ErrorList::new();
    for (name, q) in usage {
        // Kueue divides the value in milli-units for cpu-like resources and in units otherwise;
        // dividing the exact value is the same test whenever those are exact.
        match Quantity::parse(q.as_str()) {
            Ok(v) if !v.divisible_by(count) => errs.push(FieldError::invalid(
                &path.key(name),
                q,
                format!("is not a multiple of {count}"),
            )),
            Ok(_) => {}
            Err(e) => errs.push(FieldError::invalid(&path.key(name), q, e.to_string())),
        }
    }
    errs
}

fn validate_workload_update(new: &Workload, old: &Workload) -> ErrorList {
    let mut errs = ErrorList::new();
    if has_quota_reservation(old) && new.spec.pod_sets != old.spec.pod_sets {
        errs.push(FieldError::invalid(
            &Path::new("spec").child("podSets"),
            "",
            "field is immutable",
        ));
    }
    let (new_status, old_status) = (
        new.status.clone().unwrap_or_default(),
        old.status.clone().unwrap_or_default(),
    );
    if has_quota_reservation(new) && has_quota_reservation(old) {
        let rp = Path::new("status").child("reclaimablePods");
        for o in &old_status.reclaimable_pods {
            match new_status
                .reclaimable_pods
                .iter()
                .find(|n| n.name == o.name)
            {
                None => errs.push(FieldError::required(
                    &rp.key(o.name.as_str()),
                    "cannot be removed",
                )),
                Some(n) if n.count < o.count => {
                    errs.push(FieldError::invalid(
                        &rp.key(n.name.as_str()).child("count"),
                        n.count,
                        format!("cannot be less than {}", o.count),
                    ));
                }
                Some(_) => {}
            }
        }
    }
    if let (Some(n), Some(o)) = (&new_status.admission, &old_status.admission) {
        let strip = |a: &turnstile_api::Admission| {
            let mut a = a.clone();
            for psa in &mut a.pod_set_assignments {
                psa.topology_assignment = None;
                psa.delayed_topology_request = None;
            }
            a
        };
        if strip(n) != strip(o) {
            errs.push(FieldError::invalid(
                &Path::new("status").child("admission"),
                "",
                "field is immutable",
            ));
        }
    }
    for (i, o) in old_status.admission_checks.iter().enumerate() {
        if let Some(n) = new_status
            .admission_checks
            .iter()
            .find(|n| n.name == o.name)
        {
            let ready = turnstile_api::CheckState::Ready;
            if o.state == ready && n.state == ready && o.pod_set_updates != n.pod_set_updates {
                errs.push(FieldError::invalid(
                    &Path::new("status")
                        .child("admissionChecks")
                        .index(i)
                        .child("podSetUpdates"),
                    "",
                    "field is immutable",
                ));
            }
        }
    }
    if let Some(cluster) = &new_status.cluster_name
        && old_status.cluster_name.is_none()
        && !old_status.nominated_cluster_names.contains(cluster)
    {
        errs.push(FieldError::invalid(
            &Path::new("status").child("clusterName"),
            cluster,
            "when setting clusterName it must be one of the nominatedClusterNames",
        ));
    }
    errs
}
