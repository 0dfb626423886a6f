//! Validation of ClusterQueues and Cohorts beyond what their CRD schema and CEL rules check
//! (Kueue's `vclusterqueue.kb.io` and `vcohort.kb.io`).

use std::collections::BTreeSet;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use turnstile_api::{
    ClusterQueue, ClusterQueueSpec, Cohort, FairSharing, Quantity as ApiQuantity, ResourceGroup,
};
use turnstile_core::Quantity;

use crate::field::{ErrorList, FieldError, Path};
use crate::names::{label_value_error, qualified_name_error};

const MAX_FLAVORS: usize = 256;
const MAX_COVERED_RESOURCES: usize = 256;
const MAX_FLAVOR_RESOURCES_PER_GROUP: usize = 512;
const NEGATIVE: &str = "must be greater than or equal to 0";
const LENDING_ABOVE_NOMINAL: &str = "must be less than or equal to the nominalQuota";

/// Checks a ClusterQueue on create.
pub fn validate_cluster_queue(cq: &ClusterQueue) -> ErrorList {
    let spec = &cq.spec;
    let path = Path::new("spec");
    let mut errs = resource_groups(
        &spec.resource_groups,
        spec.cohort_name.as_ref().is_some_and(|c| !c.is_empty()),
        true,
        false,
        &path.child("resourceGroups"),
    );
    if let Some(sel) = &spec.namespace_selector {
        errs.extend(label_selector(sel, &path.child("namespaceSelector")));
    }
    errs.extend(fair_sharing(
        spec.fair_sharing.as_ref(),
        &path.child("fairSharing"),
    ));
    errs.extend(totals(&spec.resource_groups, &path.child("resourceGroups")));
    errs.extend(admission_check_flavors(spec));
    errs
}

/// Checks a ClusterQueue on update: everything of create, and `concurrentAdmissionPolicy` is immutable.
pub fn validate_cluster_queue_update(old: &ClusterQueue, new: &ClusterQueue) -> ErrorList {
    let mut errs = validate_cluster_queue(new);
    if old.spec.concurrent_admission_policy != new.spec.concurrent_admission_policy {
        errs.push(FieldError::invalid(
            &Path::new("spec").child("concurrentAdmissionPolicy"),
            "",
            "field is immutable",
        ));
    }
    errs
}

/// Checks a Cohort on create and update. Unlike a ClusterQueue, its lendingLimit may exceed its
/// nominal quota; limits need a parent.
pub fn validate_cohort(cohort: &Cohort) -> ErrorList {
    let spec = &cohort.spec;
    let path = Path::new("spec");
    let has_parent = spec.parent_name.as_ref().is_some_and(|p| !p.is_empty());
    let mut errs = resource_groups(
        &spec.resource_groups,
        has_parent,
        false,
        true,
        &path.child("resourceGroups"),
    );
    errs.extend(fair_sharing(
        spec.fair_sharing.as_ref(),
        &path.child("fairSharing"),
    ));
    errs.extend(totals(&spec.resource_groups, &path.child("resourceGroups")));
    errs
}

fn resource_groups(
    groups: &[ResourceGroup],
    has_parent: bool,
    lending_within_nominal: bool,
    is_cohort: bool,
    path: &Path,
) -> ErrorList {
    let mut errs = ErrorList::new();
    let mut seen_resources = BTreeSet::new();
    let mut seen_flavors = BTreeSet::new();
    for (i, group) in groups.iter().enumerate() {
        let gpath = path.index(i);
        for (j, name) in group.covered_resources.iter().enumerate() {
            let p = gpath.child("coveredResources").index(j);
            if let Some(why) = qualified_name_error(name) {
                errs.push(FieldError::invalid(&p, name, why));
            }
            if !seen_resources.insert(name.as_str()) {
                errs.push(FieldError::duplicate(&p, name));
            }
        }
        for (j, flavor) in group.flavors.iter().enumerate() {
            let fpath = gpath.child("flavors").index(j);
            for (k, quota) in flavor.resources.iter().enumerate() {
                let rpath = fpath.child("resources").index(k);
                if group.covered_resources.get(k) != Some(&quota.name) {
                    errs.push(FieldError::invalid(
                        &rpath.child("name"),
                        &quota.name,
                        "must match the name in coveredResources",
                    ));
                }
                let nominal = quantity(
                    &quota.nominal_quota,
                    &rpath.child("nominalQuota"),
                    &mut errs,
                );
                if nominal.is_some_and(Quantity::is_negative) {
                    errs.push(FieldError::invalid(
                        &rpath.child("nominalQuota"),
                        &quota.nominal_quota,
                        NEGATIVE,
                    ));
                }
                for (field, limit) in [
                    ("borrowingLimit", &quota.borrowing_limit),
                    ("lendingLimit", &quota.lending_limit),
                ] {
                    let Some(limit) = limit else { continue };
                    let lpath = rpath.child(field);
                    let Some(value) = quantity(limit, &lpath, &mut errs) else {
                        continue;
                    };
                    if value.is_negative() {
                        errs.push(FieldError::invalid(&lpath, limit, NEGATIVE));
                    }
                    if !has_parent {
                        let what = if is_cohort { "parent" } else { "cohort" };
                        errs.push(FieldError::invalid(
                            &lpath,
                            limit,
                            format!("must be nil when {what} is empty"),
                        ));
                    }
                    if field == "lendingLimit"
                        && lending_within_nominal
                        && nominal.is_some_and(|n| value > n)
                    {
                        errs.push(FieldError::invalid(&lpath, limit, LENDING_ABOVE_NOMINAL));
                    }
                }
            }
            if !seen_flavors.insert(flavor.name.as_str()) {
                errs.push(FieldError::duplicate(&fpath.child("name"), &flavor.name));
            }
        }
    }
    errs
}

/// Parses an API quantity, recording a field error when it does not parse.
fn quantity(q: &ApiQuantity, path: &Path, errs: &mut ErrorList) -> Option<Quantity> {
    match Quantity::parse(q.as_str()) {
        Ok(v) => Some(v),
        Err(e) => {
            errs.push(FieldError::invalid(path, q, e.to_string()));
            None
        }
    }
}

fn totals(groups: &[ResourceGroup], path: &Path) -> ErrorList {
    let mut errs = ErrorList::new();
    let flavors: usize = groups.iter().map(|g| g.flavors.len()).sum();
    if flavors > MAX_FLAVORS {
        errs.push(FieldError::invalid(
            path,
            flavors,
            format!(
                "total number of flavors across all resourceGroups must be ≤ 256, got {flavors}"
            ),
        ));
    }
    let covered: usize = groups.iter().map(|g| g.covered_resources.len()).sum();
    if covered > MAX_COVERED_RESOURCES {
        errs.push(FieldError::invalid(
            path,
            covered,
            format!("total number of covered resources across all resourceGroups must be ≤ 256, got {covered}"),
        ));
    }
    for (i, g) in groups.iter().enumerate() {
        let pairs: usize = g.flavors.iter().map(|f| f.resources.len()).sum();
        if pairs > MAX_FLAVOR_RESOURCES_PER_GROUP {
            errs.push(FieldError::invalid(
                &path.index(i),
                pairs,
                format!("number of flavor-resource combinations in a resourceGroup must be ≤ 512, got {pairs}"),
            ));
        }
    }
    errs
}

fn fair_sharing(fs: Option<&FairSharing>, path: &Path) -> ErrorList {
    let mut errs = ErrorList::new();
    let Some(weight) = fs.and_then(|f| f.weight.as_ref()) else {
        return errs;
    };
    let wpath = path.child("weight");
    if let Some(w) = quantity(weight, &wpath, &mut errs) {
        if w.is_negative() {
            errs.push(FieldError::invalid(&wpath, weight, NEGATIVE));
        } else if !w.is_zero() && w.nanos() <= 1 {
            // Kueue requires a non-zero weight above 1e-9; 1n is the smallest positive quantity.
            errs.push(FieldError::invalid(
                &wpath,
                weight,
                "When not 0, weight must be > 10e-9",
            ));
        }
    }
    errs
}

fn admission_check_flavors(spec: &ClusterQueueSpec) -> ErrorList {
    let mut errs = ErrorList::new();
    let Some(strategy) = &spec.admission_checks_strategy else {
        return errs;
    };
    let flavors: BTreeSet<&str> = spec
        .resource_groups
        .iter()
        .flat_map(|g| g.flavors.iter().map(|f| f.name.as_str()))
        .collect();
    let supported: Vec<String> = flavors.iter().map(|f| (*f).to_owned()).collect();
    let base = Path::new("spec")
        .child("admissionChecksStrategy")
        .child("admissionChecks");
    for (i, check) in strategy.admission_checks.iter().enumerate() {
        for (j, flavor) in check.on_flavors.iter().enumerate() {
            if !flavors.contains(flavor.as_str()) {
                errs.push(FieldError::not_supported(
                    &base.index(i).child("onFlavors").index(j),
                    flavor,
                    supported.clone(),
                ));
            }
        }
    }
    errs
}

/// Checks a label selector as the apiserver's `ValidateLabelSelector` does.
pub fn label_selector(sel: &LabelSelector, path: &Path) -> ErrorList {
    let mut errs = ErrorList::new();
    for (k, v) in sel.match_labels.iter().flatten() {
        let p = path.child("matchLabels");
        if let Some(why) = qualified_name_error(k) {
            errs.push(FieldError::invalid(&p, k, why));
        }
        if let Some(why) = label_value_error(v) {
            errs.push(FieldError::invalid(&p, v, why));
        }
    }
    for (i, req) in sel.match_expressions.iter().flatten().enumerate() {
        let p = path.child("matchExpressions").index(i);
        let values = req.values.as_deref().unwrap_or_default();
        match req.operator.as_str() {
            "In" | "NotIn" => {
                if values.is_empty() {
                    errs.push(FieldError::required(
                        &p.child("values"),
                        "must be specified when `operator` is 'In' or 'NotIn'",
                    ));
                }
            }
            "Exists" | "DoesNotExist" => {
                if !values.is_empty() {
                    errs.push(FieldError::forbidden(
                        &p.child("values"),
                        "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
                    ));
                }
            }
            other => errs.push(FieldError::invalid(
                &p.child("operator"),
                other,
                "not a valid selector operator",
            )),
        }
        if let Some(why) = qualified_name_error(&req.key) {
            errs.push(FieldError::invalid(&p.child("key"), &req.key, why));
        }
        for (j, v) in values.iter().enumerate() {
            if let Some(why) = label_value_error(v) {
                errs.push(FieldError::invalid(&p.child("values").index(j), v, why));
            }
        }
    }
    errs
}
