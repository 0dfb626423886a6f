//! Flavor assignment: for each pod set and resource group, the flavor to charge, tried in the
//! group's order with Kueue's eligibility rules (taints, node selector and required affinity
//! against the flavor's node labels), quota checks and flavor fungibility.

use std::collections::{BTreeMap, BTreeSet};

use crate::model::{
    ClusterQueue, Flavor, FungibilityPolicy, FungibilityPreference, PodSet, PodSetAssignment,
    Workload, total,
};
use crate::preempt;
use crate::resources::{Amount, FlavorResource, FrAmounts};
use crate::snapshot::Snapshot;
use crate::tree::NodeRef;

/// How a flavor (or a whole assignment) can be granted, best first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Mode {
    /// Does not fit even with preemption.
    NoFit,
    /// Would need preemption but no candidate frees enough.
    NoCandidates,
    /// Needs preemption in the ClusterQueue itself.
    Preempt,
    /// Needs preemption of other ClusterQueues' workloads only.
    Reclaim,
    /// Fits now.
    Fit,
}

/// Why a workload does not fit, most severe last.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum NoFitReason {
    /// Quota is in use by others.
    WaitingForQuota,
    /// More than the queue could ever hold.
    ExceedsMaxQuota,
    /// No flavor is eligible or a resource is not covered.
    NoMatchingFlavor,
}

impl NoFitReason {
    /// The Workload condition reason.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::WaitingForQuota => "WaitingForQuota",
            Self::ExceedsMaxQuota => "ExceedsMaxQuota",
            Self::NoMatchingFlavor => "NoMatchingFlavor",
        }
    }
}

/// The outcome of assigning flavors to a workload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Assignment {
    /// Worst mode over pod sets (Preempt and Reclaim both mean "needs preemption").
    pub mode: Mode,
    /// Highest borrowing level over pod sets and resources.
    pub borrowing: u32,
    /// Per pod set.
    pub pod_sets: Vec<PodSetAssignment>,
    /// Usage per flavor-resource.
    pub usage: FrAmounts,
    /// Flavor-resources that need preemption.
    pub needs_preemption: BTreeSet<FlavorResource>,
    /// When NoFit: the most severe reason.
    pub no_fit_reason: Option<NoFitReason>,
    /// Messages per pod set that did not get a flavor: `couldn't assign flavors to pod set ...`.
    pub messages: Vec<String>,
}

fn affinity_matches(ps: &PodSet, flavor: &Flavor) -> bool {
    let labels = &flavor.node_labels;
    // nodeSelector, reduced to the flavor's label keys.
    let selector_ok = ps
        .node_selector
        .iter()
        .all(|(k, v)| labels.get(k).is_none_or(|l| l == v));
    if !selector_ok {
        return false;
    }
    if ps.required_affinity.is_empty() {
        return true;
    }
    // Each term reduced to the keys the flavor has; an emptied term makes the affinity irrelevant.
    let reduced: Vec<Vec<_>> = ps
        .required_affinity
        .iter()
        .map(|t| t.iter().filter(|r| labels.contains_key(&r.key)).collect())
        .collect();
    if reduced.iter().any(Vec::is_empty) {
        return true;
    }
    reduced.iter().any(|term| {
        term.iter().all(|r| {
            let v = labels.get(&r.key);
            match r.operator.as_str() {
                "In" => v.is_some_and(|v| r.values.contains(v)),
                "NotIn" => v.is_none_or(|v| !r.values.contains(v)),
                "Exists" => v.is_some(),
                "DoesNotExist" => v.is_none(),
                "Gt" | "Lt" => {
                    let (Some(v), Some(bound)) = (
                        v.and_then(|v| v.parse::<i64>().ok()),
                        r.values.first().and_then(|b| b.parse::<i64>().ok()),
                    ) else {
                        return false;
                    };
                    if r.operator == "Gt" {
                        v > bound
                    } else {
                        v < bound
                    }
                }
                _ => false,
            }
        })
    })
}

/// Why `flavor` cannot serve `ps`, or None when it can.
fn ineligible(ps: &PodSet, flavor: Option<&Flavor>, name: &str) -> Option<String> {
    let Some(flavor) = flavor else {
        return Some(format!("flavor {name} not found"));
    };
    for taint in flavor
        .node_taints
        .iter()
        .filter(|t| t.effect == "NoSchedule" || t.effect == "NoExecute")
    {
        let tolerated = ps
            .tolerations
            .iter()
            .chain(&flavor.tolerations)
            .any(|t| t.tolerates(taint));
        if !tolerated {
            return Some(format!(
                "untolerated taint {{{} {} {}}} in flavor {name}",
                taint.key, taint.value, taint.effect
            ));
        }
    }
    (!affinity_matches(ps, flavor)).then(|| format!("flavor {name} doesn't match node affinity"))
}

struct FlavorTry {
    flavor: String,
    mode: Mode,
    borrowing: u32,
    reasons: Vec<String>,
    no_fit: Option<NoFitReason>,
    preempt_frs: BTreeSet<FlavorResource>,
}

fn better(a: &FlavorTry, b: &FlavorTry, pref: FungibilityPreference) -> bool {
    // Is `a` strictly better than `b`?
    let viable = |m: Mode| m >= Mode::Preempt;
    if viable(a.mode) != viable(b.mode) {
        return viable(a.mode);
    }
    match pref {
        FungibilityPreference::BorrowingOverPreemption => {
            (a.mode, std::cmp::Reverse(a.borrowing)) > (b.mode, std::cmp::Reverse(b.borrowing))
        }
        FungibilityPreference::PreemptionOverBorrowing => {
            (std::cmp::Reverse(a.borrowing), a.mode) > (std::cmp::Reverse(b.borrowing), b.mode)
        }
    }
}

/// Assigns flavors to `wl` with `counts` pods per pod set, against `snap` (which it may use for
/// preemption simulations and leaves unchanged).
pub fn assign(snap: &mut Snapshot, wl: &Workload, counts: &[i32]) -> Assignment {
    let Some(cq) = snap.queues.get(&wl.cluster_queue).cloned() else {
        return no_match(wl, &format!("ClusterQueue {} not found", wl.cluster_queue));
    };
    let mut out = Assignment {
        mode: Mode::Fit,
        borrowing: 0,
        pod_sets: Vec::new(),
        usage: FrAmounts::default(),
        needs_preemption: BTreeSet::new(),
        no_fit_reason: None,
        messages: Vec::new(),
    };
    for (i, ps) in wl.pod_sets.iter().enumerate() {
        let count = counts.get(i).copied().unwrap_or(ps.count);
        let requests = total(&ps.per_pod, count);
        let mut psa = PodSetAssignment {
            name: ps.name.clone(),
            count,
            flavors: BTreeMap::new(),
            usage: requests.clone(),
        };
        let mut reasons: Vec<String> = Vec::new();
        let mut ps_mode = Mode::Fit;
        let mut ps_no_fit: Option<NoFitReason> = None;
        // Resources not covered by any group.
        for (r, v) in &requests {
            if *v != 0 && !cq.resource_groups.iter().any(|g| g.covered.contains(r)) {
                reasons.push(format!("resource {r} unavailable in ClusterQueue"));
                ps_mode = Mode::NoFit;
                ps_no_fit = Some(NoFitReason::NoMatchingFlavor);
            }
        }
        for group in &cq.resource_groups {
            let wanted: BTreeMap<&String, Amount> = requests
                .iter()
                .filter(|(r, _)| group.covered.contains(r))
                .map(|(r, v)| (r, *v))
                .collect();
            if wanted.is_empty() {
                continue;
            }
            let chosen = choose_flavor(snap, &cq, wl, ps, group, &wanted, &out.usage);
            reasons.extend(chosen.reasons.iter().cloned());
            if chosen.mode < Mode::Preempt {
                ps_mode = Mode::NoFit;
                ps_no_fit =
                    ps_no_fit.max(Some(chosen.no_fit.unwrap_or(NoFitReason::WaitingForQuota)));
                continue;
            }
            ps_mode = ps_mode.min(chosen.mode);
            out.borrowing = out.borrowing.max(chosen.borrowing);
            out.needs_preemption.extend(chosen.preempt_frs);
            for (r, v) in wanted {
                psa.flavors.insert(r.clone(), chosen.flavor.clone());
                out.usage.add(&FlavorResource::new(&chosen.flavor, r), v);
            }
        }
        if ps_mode < Mode::Fit {
            reasons.sort();
            reasons.dedup();
            out.messages.push(format!(
                "couldn't assign flavors to pod set {}: {}",
                ps.name,
                reasons.join(", ")
            ));
            if ps_mode == Mode::NoFit {
                out.no_fit_reason = out.no_fit_reason.max(ps_no_fit);
            }
        }
        out.mode = out.mode.min(ps_mode);
        out.pod_sets.push(psa);
    }
    if out.mode == Mode::NoFit && out.no_fit_reason.is_none() {
        out.no_fit_reason = Some(NoFitReason::WaitingForQuota);
    }
    out
}

fn no_match(wl: &Workload, why: &str) -> Assignment {
    Assignment {
        mode: Mode::NoFit,
        borrowing: 0,
        pod_sets: Vec::new(),
        usage: FrAmounts::default(),
        needs_preemption: BTreeSet::new(),
        no_fit_reason: Some(NoFitReason::NoMatchingFlavor),
        messages: wl
            .pod_sets
            .iter()
            .map(|p| format!("couldn't assign flavors to pod set {}: {why}", p.name))
            .collect(),
    }
}

fn choose_flavor(
    snap: &mut Snapshot,
    cq: &ClusterQueue,
    wl: &Workload,
    ps: &PodSet,
    group: &crate::model::ResourceGroup,
    wanted: &BTreeMap<&String, Amount>,
    previous: &FrAmounts,
) -> FlavorTry {
    let mut best: Option<FlavorTry> = None;
    let mut all_reasons = Vec::new();
    for name in &group.flavors {
        if let Some(why) = ineligible(ps, snap.flavors.get(name), name) {
            all_reasons.push(why);
            continue;
        }
        let t = try_flavor(snap, cq, wl, name, wanted, previous);
        all_reasons.extend(t.reasons.iter().cloned());
        let stop = match t.mode {
            Mode::NoFit | Mode::NoCandidates => false,
            Mode::Preempt | Mode::Reclaim => {
                cq.fungibility.when_can_preempt == FungibilityPolicy::MayStopSearch
            }
            Mode::Fit => {
                t.borrowing == 0
                    || cq.fungibility.when_can_borrow == FungibilityPolicy::MayStopSearch
            }
        };
        let replace = best
            .as_ref()
            .is_none_or(|b| better(&t, b, cq.fungibility.preference));
        if replace {
            best = Some(t);
        }
        if stop {
            break;
        }
    }
    match best {
        Some(mut b) => {
            b.reasons = all_reasons;
            b
        }
        None => FlavorTry {
            flavor: String::new(),
            mode: Mode::NoFit,
            borrowing: 0,
            reasons: all_reasons,
            no_fit: Some(NoFitReason::NoMatchingFlavor),
            preempt_frs: BTreeSet::new(),
        },
    }
}

fn try_flavor(
    snap: &mut Snapshot,
    cq: &ClusterQueue,
    wl: &Workload,
    flavor: &str,
    wanted: &BTreeMap<&String, Amount>,
    previous: &FrAmounts,
) -> FlavorTry {
    let mut t = FlavorTry {
        flavor: flavor.to_owned(),
        mode: Mode::Fit,
        borrowing: 0,
        reasons: Vec::new(),
        no_fit: None,
        preempt_frs: BTreeSet::new(),
    };
    let has_cohort = snap.tree.cohort_of(&cq.name).is_some();
    for (r, req) in wanted {
        let fr = FlavorResource::new(flavor, r);
        let prev = previous.get(&fr);
        let val = prev.saturating_add(*req);
        let q = NodeRef::Queue(&cq.name);
        let potential = snap.tree.potential_available(q, &fr);
        if val > potential {
            t.mode = Mode::NoFit;
            t.no_fit = t.no_fit.max(Some(NoFitReason::ExceedsMaxQuota));
            t.reasons.push(format!(
                "insufficient quota for {r} in flavor {flavor}, previously considered podsets requests ({prev}) + current podset request ({req}) > maximum capacity ({potential})"
            ));
            continue;
        }
        let available = snap.available(&cq.name, &fr);
        if val <= available {
            let (level, _) = snap.tree.borrowing_level(&cq.name, &fr, val);
            t.borrowing = t.borrowing.max(level);
            continue;
        }
        t.reasons.push(format!(
            "insufficient unused quota for {r} in flavor {flavor}, {} more needed",
            val - available
        ));
        let nominal = snap.tree.quota(q, &fr).nominal;
        let (_, reclaim_higher) = snap.tree.borrowing_level(&cq.name, &fr, val);
        let may_preempt_while_borrowing = has_cohort
            && (cq.preemption.borrow_within_cohort.lower_priority
                || (snap.fair_sharing.is_some()
                    && cq.preemption.reclaim_within_cohort
                        != crate::model::PreemptionPolicy::Never));
        if nominal >= val || reclaim_higher || may_preempt_while_borrowing {
            let single = FrAmounts([(fr.clone(), val)].into());
            let needs: BTreeSet<FlavorResource> = [fr.clone()].into();
            let targets = preempt::targets(snap, wl, &single, &needs);
            if targets.is_empty() {
                t.mode = t.mode.min(Mode::NoCandidates);
                t.no_fit = t.no_fit.max(Some(NoFitReason::WaitingForQuota));
            } else {
                let own = targets.iter().any(|x| x.cluster_queue == cq.name);
                t.mode = t.mode.min(if own { Mode::Preempt } else { Mode::Reclaim });
                t.preempt_frs.insert(fr.clone());
                let (level, _) = snap.tree.borrowing_level(&cq.name, &fr, val);
                t.borrowing = t
                    .borrowing
                    .max(level.min(if nominal >= val { 0 } else { level }));
            }
        } else {
            t.mode = Mode::NoFit;
            t.no_fit = t.no_fit.max(Some(NoFitReason::WaitingForQuota));
        }
    }
    t
}
