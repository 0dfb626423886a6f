// Table-driven tests over small builders.
#![allow(clippy::too_many_lines, clippy::needless_pass_by_value)]

use std::collections::BTreeMap;

use super::*;
use crate::model::{
    ClusterQueue, Flavor, FungibilityPolicy, PodSet, Preemption, PreemptionPolicy, ResourceGroup,
    Taint, Toleration,
};
use crate::resources::FlavorResource;
use crate::tree::{CohortQuotas, QueueQuotas, Quota};

/// A ClusterQueue under construction.
struct Cq {
    spec: ClusterQueue,
    quotas: QueueQuotas,
}

fn cq(name: &str) -> Cq {
    Cq {
        spec: ClusterQueue {
            name: name.into(),
            active: true,
            ..ClusterQueue::default()
        },
        quotas: QueueQuotas::default(),
    }
}

impl Cq {
    fn cohort(mut self, c: &str) -> Self {
        self.quotas.cohort = Some(c.into());
        self
    }
    /// Adds `flavor` for `cpu` with `nominal` (and limits) to the first resource group.
    fn cpu(mut self, flavor: &str, nominal: i64, borrow: Option<i64>, lend: Option<i64>) -> Self {
        if self.spec.resource_groups.is_empty() {
            self.spec.resource_groups.push(ResourceGroup {
                covered: vec!["cpu".into()],
                flavors: vec![],
            });
        }
        self.spec.resource_groups[0].flavors.push(flavor.into());
        self.quotas.quotas.insert(
            FlavorResource::new(flavor, "cpu"),
            Quota {
                nominal,
                borrowing_limit: borrow,
                lending_limit: lend,
            },
        );
        self
    }
    fn strict(mut self) -> Self {
        self.spec.strategy = QueueingStrategy::StrictFifo;
        self
    }
    fn preemption(mut self, within: PreemptionPolicy, reclaim: PreemptionPolicy) -> Self {
        self.spec.preemption = Preemption {
            within_cluster_queue: within,
            reclaim_within_cohort: reclaim,
            ..Preemption::default()
        };
        self
    }
    fn borrow_lower_priority(mut self) -> Self {
        self.spec.preemption.borrow_within_cohort.lower_priority = true;
        self
    }
    fn try_next_on_borrow(mut self) -> Self {
        self.spec.fungibility.when_can_borrow = FungibilityPolicy::TryNextFlavor;
        self
    }
    fn inactive(mut self) -> Self {
        self.spec.active = false;
        self
    }
}

fn flavor(name: &str) -> Flavor {
    Flavor {
        name: name.into(),
        ..Flavor::default()
    }
}

fn wl(key: &str, queue: &str, priority: i32, ts: i64, cpu_milli: i64) -> Workload {
    Workload {
        key: key.into(),
        uid: format!("uid-{key}"),
        cluster_queue: queue.into(),
        priority,
        timestamp: ts,
        pod_sets: vec![PodSet {
            name: "main".into(),
            count: 1,
            per_pod: [("cpu".into(), cpu_milli)].into(),
            ..PodSet::default()
        }],
    }
}

fn admitted(w: Workload, flavor: &str, reserved_at: i64) -> Admitted {
    let ps = &w.pod_sets[0];
    let assignment = vec![PodSetAssignment {
        name: ps.name.clone(),
        count: ps.count,
        flavors: ps
            .per_pod
            .keys()
            .map(|r| (r.clone(), flavor.to_owned()))
            .collect(),
        usage: crate::model::total(&ps.per_pod, ps.count),
    }];
    Admitted {
        workload: w,
        assignment,
        reserved_at,
        evicted: false,
    }
}

struct World {
    queues: Vec<Cq>,
    cohorts: BTreeMap<String, CohortQuotas>,
    flavors: Vec<Flavor>,
    admitted: Vec<Admitted>,
}

fn world(queues: Vec<Cq>) -> World {
    World {
        queues,
        cohorts: BTreeMap::new(),
        flavors: vec![flavor("default"), flavor("spot"), flavor("on-demand")],
        admitted: vec![],
    }
}

impl World {
    fn snapshot(&self) -> Snapshot {
        Snapshot::new(
            self.queues
                .iter()
                .map(|c| (c.spec.clone(), c.quotas.clone()))
                .collect(),
            &self.cohorts,
            self.flavors.clone(),
            self.admitted.clone(),
        )
    }
    fn run(&self, pending: Vec<Workload>) -> CycleOutcome {
        let mut by_queue: BTreeMap<String, Vec<Workload>> = BTreeMap::new();
        for w in pending {
            by_queue.entry(w.cluster_queue.clone()).or_default().push(w);
        }
        schedule_cycle(&self.snapshot(), &by_queue, 1_000, &CycleConfig::default())
    }
}

fn admitted_keys(o: &CycleOutcome) -> Vec<&str> {
    o.decisions
        .iter()
        .filter(|d| matches!(d, Decision::Admit { .. }))
        .map(|d| d.key().as_str())
        .collect()
}

fn pending_of<'a>(o: &'a CycleOutcome, key: &str) -> (&'a str, &'a str, Requeue) {
    o.decisions
        .iter()
        .find_map(|d| match d {
            Decision::Pending {
                key: k,
                reason,
                message,
                requeue,
            } if k == key => Some((*reason, message.as_str(), *requeue)),
            _ => None,
        })
        .unwrap_or_else(|| panic!("{key} not pending in {o:#?}"))
}

fn flavor_of(o: &CycleOutcome, key: &str) -> String {
    o.decisions
        .iter()
        .find_map(|d| match d {
            Decision::Admit {
                key: k, assignment, ..
            } if k == key => assignment[0].flavors.get("cpu").cloned(),
            _ => None,
        })
        .unwrap_or_else(|| panic!("{key} not admitted"))
}

#[test]
fn higher_priority_first_and_quota_respected() {
    let w = world(vec![cq("a").cpu("default", 4000, None, None)]);
    let o = w.run(vec![
        wl("ns/low", "a", 0, 1, 3000),
        wl("ns/high", "a", 10, 2, 3000),
    ]);
    assert_eq!(admitted_keys(&o), vec!["ns/high"]);
    let (reason, msg, requeue) = pending_of(&o, "ns/low");
    assert_eq!(reason, "WaitingForQuota");
    assert_eq!(
        msg,
        "couldn't assign flavors to pod set main: insufficient unused quota for cpu in flavor default, 2000 more needed"
    );
    // It fitted when the cycle started (high took the room in this cycle): tried again next
    // cycle, where it is set aside (Kueue would look at it only once it is the head).
    assert_eq!(requeue, Requeue::Immediately);
    let mut next = w;
    next.admitted
        .push(admitted(wl("ns/high", "a", 10, 2, 3000), "default", 1));
    assert_eq!(
        pending_of(&next.run(vec![wl("ns/low", "a", 0, 1, 3000)]), "ns/low").2,
        Requeue::Inadmissible
    );
}

#[test]
fn equal_priority_goes_by_queue_time_then_uid() {
    let w = world(vec![cq("a").cpu("default", 1000, None, None)]);
    let o = w.run(vec![
        wl("ns/b", "a", 0, 5, 1000),
        wl("ns/a", "a", 0, 5, 1000),
        wl("ns/old", "a", 0, 1, 1000),
    ]);
    assert_eq!(admitted_keys(&o), vec!["ns/old"]);
    let o = w.run(vec![
        wl("ns/b", "a", 0, 5, 1000),
        wl("ns/a", "a", 0, 5, 1000),
    ]);
    assert_eq!(admitted_keys(&o), vec!["ns/a"], "uid-ns/a < uid-ns/b");
}

#[test]
fn admits_every_workload_that_fits_in_one_cycle() {
    let w = world(vec![
        cq("a").cpu("default", 10_000, None, None),
        cq("b").cpu("default", 4000, None, None),
    ]);
    let mut pending: Vec<Workload> = (0..5)
        .map(|i| wl(&format!("ns/a{i}"), "a", 0, i, 2000))
        .collect();
    pending.extend((0..3).map(|i| wl(&format!("ns/b{i}"), "b", 0, i, 2000)));
    let o = w.run(pending);
    assert_eq!(admitted_keys(&o).len(), 7, "5 in a, 2 in b: {o:#?}");
    assert_eq!(pending_of(&o, "ns/b2").0, "WaitingForQuota");
}

#[test]
fn cohort_capacity_is_shared_but_never_exceeded() {
    let w = world(vec![
        cq("a").cohort("c").cpu("default", 4000, None, None),
        cq("b").cohort("c").cpu("default", 4000, None, None),
    ]);
    let o = w.run(vec![
        wl("ns/1", "a", 0, 1, 3000),
        wl("ns/2", "a", 0, 2, 3000),
        wl("ns/3", "a", 0, 3, 3000),
    ]);
    assert_eq!(
        admitted_keys(&o),
        vec!["ns/1", "ns/2"],
        "6 of 8 used; the third needs 3 more"
    );
    let (_, msg, _) = pending_of(&o, "ns/3");
    assert!(msg.contains("1000 more needed"), "{msg}");
}

#[test]
fn borrowing_limit_and_lending_limit() {
    let w = world(vec![
        cq("a").cohort("c").cpu("default", 2000, Some(1000), None),
        cq("b").cohort("c").cpu("default", 6000, None, Some(1000)),
    ]);
    // a may hold 2 + 1 borrowed; b lends only 1, so a's ceiling is min(2+1, 2+1) = 3.
    let o = w.run(vec![
        wl("ns/a-big", "a", 0, 1, 4000),
        wl("ns/a-ok", "a", 0, 2, 3000),
    ]);
    assert_eq!(admitted_keys(&o), vec!["ns/a-ok"]);
    assert_eq!(pending_of(&o, "ns/a-big").0, "ExceedsMaxQuota");
}

#[test]
fn non_borrowing_entries_go_before_borrowing_ones() {
    let w = world(vec![
        cq("a").cohort("c").cpu("default", 2000, None, None),
        cq("b").cohort("c").cpu("default", 4000, None, None),
    ]);
    // a's workload borrows (4 > 2) and has higher priority; b's does not borrow: b goes first.
    let o = w.run(vec![
        wl("ns/a", "a", 100, 1, 4000),
        wl("ns/b", "b", -5, 2, 3000),
    ]);
    assert_eq!(admitted_keys(&o), vec!["ns/b"]);
    assert_eq!(pending_of(&o, "ns/a").0, "WaitingForQuota");
}

#[test]
fn strict_fifo_blocks_and_best_effort_does_not() {
    for (strict, want) in [(true, vec![]), (false, vec!["ns/small"])] {
        let mut q = cq("a").cpu("default", 4000, None, None);
        if strict {
            q = q.strict();
        }
        let mut w = world(vec![q]);
        w.admitted
            .push(admitted(wl("ns/running", "a", 0, 0, 2000), "default", 0));
        let o = w.run(vec![
            wl("ns/big", "a", 0, 1, 3000),
            wl("ns/small", "a", 0, 2, 1000),
        ]);
        assert_eq!(admitted_keys(&o), want, "strict={strict}");
        let (_, _, requeue) = pending_of(&o, "ns/big");
        assert_eq!(
            requeue,
            if strict {
                Requeue::Immediately
            } else {
                Requeue::Inadmissible
            }
        );
        if strict {
            assert!(o.decisions.contains(&Decision::Blocked {
                key: "ns/small".into()
            }));
        }
    }
}

#[test]
fn flavors_are_tried_in_order() {
    let w = world(vec![
        cq("a")
            .cpu("on-demand", 2000, None, None)
            .cpu("spot", 10_000, None, None),
    ]);
    let o = w.run(vec![
        wl("ns/w", "a", 0, 1, 4000),
        wl("ns/s", "a", 0, 2, 1000),
    ]);
    assert_eq!(flavor_of(&o, "ns/w"), "spot");
    assert_eq!(flavor_of(&o, "ns/s"), "on-demand");
}

#[test]
fn flavor_fungibility_when_can_borrow() {
    for (try_next, want) in [(false, "on-demand"), (true, "spot")] {
        let mut a = cq("a")
            .cohort("c")
            .cpu("on-demand", 2000, None, None)
            .cpu("spot", 10_000, None, None);
        if try_next {
            a = a.try_next_on_borrow();
        }
        let w = world(vec![
            a,
            cq("b").cohort("c").cpu("on-demand", 8000, None, None),
        ]);
        let o = w.run(vec![wl("ns/w", "a", 0, 1, 4000)]);
        assert_eq!(flavor_of(&o, "ns/w"), want, "try_next={try_next}");
    }
}

#[test]
fn taints_and_node_selectors_decide_eligibility() {
    let mut w = world(vec![cq("a").cpu("spot", 10_000, None, None).cpu(
        "on-demand",
        10_000,
        None,
        None,
    )]);
    w.flavors = vec![
        Flavor {
            name: "spot".into(),
            node_taints: vec![Taint {
                key: "spot".into(),
                value: "true".into(),
                effect: "NoSchedule".into(),
            }],
            ..flavor("spot")
        },
        Flavor {
            name: "on-demand".into(),
            node_labels: [("instance-type".into(), "on-demand".into())].into(),
            ..flavor("on-demand")
        },
    ];
    let plain = wl("ns/plain", "a", 0, 1, 1000);
    let mut tolerant = wl("ns/tolerant", "a", 0, 2, 1000);
    tolerant.pod_sets[0].tolerations.push(Toleration {
        key: "spot".into(),
        exists: true,
        ..Toleration::default()
    });
    let o = w.run(vec![plain.clone(), tolerant]);
    assert_eq!(flavor_of(&o, "ns/plain"), "on-demand");
    assert_eq!(flavor_of(&o, "ns/tolerant"), "spot");
    let mut picky = plain;
    picky.key = "ns/picky".into();
    picky.pod_sets[0]
        .node_selector
        .insert("instance-type".into(), "gpu".into());
    let o = w.run(vec![picky]);
    let (reason, msg, _) = pending_of(&o, "ns/picky");
    assert_eq!(reason, "NoMatchingFlavor");
    assert_eq!(
        msg,
        "couldn't assign flavors to pod set main: flavor on-demand doesn't match node affinity, untolerated taint {spot true NoSchedule} in flavor spot"
    );
}

#[test]
fn uncovered_resources_do_not_match() {
    let w = world(vec![cq("a").cpu("default", 4000, None, None)]);
    let mut gpu = wl("ns/gpu", "a", 0, 1, 1000);
    gpu.pod_sets[0].per_pod.insert("nvidia.com/gpu".into(), 1);
    let o = w.run(vec![gpu]);
    let (reason, msg, _) = pending_of(&o, "ns/gpu");
    assert_eq!(reason, "NoMatchingFlavor");
    assert!(
        msg.contains("resource nvidia.com/gpu unavailable in ClusterQueue"),
        "{msg}"
    );
}

#[test]
fn preemption_within_the_cluster_queue_follows_policy() {
    for (policy, want_victims) in [
        (PreemptionPolicy::Never, 0),
        (PreemptionPolicy::LowerPriority, 1),
        (PreemptionPolicy::LowerOrNewerEqualPriority, 1),
    ] {
        let mut w = world(vec![
            cq("a")
                .cpu("default", 4000, None, None)
                .preemption(policy, PreemptionPolicy::Never),
        ]);
        w.admitted
            .push(admitted(wl("ns/low", "a", 0, 0, 4000), "default", 10));
        let o = w.run(vec![wl("ns/high", "a", 10, 1, 2000)]);
        assert_eq!(o.evictions.len(), want_victims, "{policy:?}");
        let (reason, msg, _) = pending_of(&o, "ns/high");
        if want_victims > 0 {
            assert_eq!(reason, "WaitingForPreemptedWorkloads");
            assert!(
                msg.ends_with(". Pending the preemption of 1 workload(s)"),
                "{msg}"
            );
            assert_eq!(
                o.evictions[0].target.reason,
                preempt::Reason::InClusterQueue
            );
        } else {
            assert_eq!(reason, "WaitingForQuota");
        }
    }
}

#[test]
fn equal_priority_newer_workloads_only_under_lower_or_newer() {
    for (policy, want) in [
        (PreemptionPolicy::LowerPriority, 0),
        (PreemptionPolicy::LowerOrNewerEqualPriority, 1),
    ] {
        let mut w = world(vec![
            cq("a")
                .cpu("default", 2000, None, None)
                .preemption(policy, PreemptionPolicy::Never),
        ]);
        w.admitted
            .push(admitted(wl("ns/newer", "a", 5, 50, 2000), "default", 60));
        let o = w.run(vec![wl("ns/older", "a", 5, 10, 2000)]);
        assert_eq!(o.evictions.len(), want, "{policy:?}");
    }
}

#[test]
fn minimal_victim_set_prefers_lowest_priority_then_most_recent() {
    let mut w =
        world(vec![cq("a").cpu("default", 6000, None, None).preemption(
            PreemptionPolicy::LowerPriority,
            PreemptionPolicy::Never,
        )]);
    w.admitted
        .push(admitted(wl("ns/p1-old", "a", 1, 0, 2000), "default", 1));
    w.admitted
        .push(admitted(wl("ns/p1-new", "a", 1, 0, 2000), "default", 5));
    w.admitted
        .push(admitted(wl("ns/p3", "a", 3, 0, 2000), "default", 9));
    let o = w.run(vec![wl("ns/hi", "a", 10, 1, 2000)]);
    let victims: Vec<&str> = o.evictions.iter().map(|e| e.target.key.as_str()).collect();
    assert_eq!(victims, vec!["ns/p1-new"]);
    let o = w.run(vec![wl("ns/hi", "a", 10, 1, 4000)]);
    let mut victims: Vec<&str> = o.evictions.iter().map(|e| e.target.key.as_str()).collect();
    victims.sort_unstable();
    assert_eq!(victims, vec!["ns/p1-new", "ns/p1-old"]);
}

#[test]
fn reclaim_within_cohort_evicts_the_borrower() {
    let mut w = world(vec![
        cq("a")
            .cohort("c")
            .cpu("default", 4000, None, None)
            .preemption(PreemptionPolicy::Never, PreemptionPolicy::Any),
        cq("b").cohort("c").cpu("default", 4000, None, None),
    ]);
    w.admitted
        .push(admitted(wl("ns/b1", "b", 100, 0, 4000), "default", 1));
    w.admitted
        .push(admitted(wl("ns/b2", "b", 100, 0, 4000), "default", 2));
    let o = w.run(vec![wl("ns/a", "a", 0, 1, 4000)]);
    assert_eq!(o.evictions.len(), 1, "{o:#?}");
    assert_eq!(
        o.evictions[0].target.key, "ns/b2",
        "the most recently reserved goes first"
    );
    assert_eq!(
        o.evictions[0].target.reason,
        preempt::Reason::InCohortReclamation
    );
    // reclaimWithinCohort LowerPriority does not touch higher-priority borrowers.
    let mut w2 = world(vec![
        cq("a")
            .cohort("c")
            .cpu("default", 4000, None, None)
            .preemption(PreemptionPolicy::Never, PreemptionPolicy::LowerPriority),
        cq("b").cohort("c").cpu("default", 4000, None, None),
    ]);
    w2.admitted = w.admitted.clone();
    assert!(
        w2.run(vec![wl("ns/a", "a", 0, 1, 4000)])
            .evictions
            .is_empty()
    );
}

#[test]
fn borrow_within_cohort_preempts_lower_priority_while_borrowing() {
    let mut w = world(vec![
        cq("a")
            .cohort("c")
            .cpu("default", 2000, None, None)
            .preemption(PreemptionPolicy::Never, PreemptionPolicy::LowerPriority)
            .borrow_lower_priority(),
        cq("b").cohort("c").cpu("default", 2000, None, None),
    ]);
    // b uses 4 (borrowing 2 from a); a wants 4 (would borrow 2): b's lower-priority workload goes.
    w.admitted
        .push(admitted(wl("ns/b-low", "b", 0, 0, 4000), "default", 1));
    let o = w.run(vec![wl("ns/a-high", "a", 10, 1, 4000)]);
    assert_eq!(o.evictions.len(), 1, "{o:#?}");
    assert_eq!(
        o.evictions[0].target.reason,
        preempt::Reason::InCohortReclaimWhileBorrowing
    );
}

#[test]
fn a_victim_is_claimed_by_one_preemptor_only() {
    let mut w =
        world(vec![cq("a").cpu("default", 4000, None, None).preemption(
            PreemptionPolicy::LowerPriority,
            PreemptionPolicy::Never,
        )]);
    w.admitted
        .push(admitted(wl("ns/low", "a", 0, 0, 4000), "default", 1));
    let o = w.run(vec![
        wl("ns/h1", "a", 10, 1, 4000),
        wl("ns/h2", "a", 9, 2, 4000),
    ]);
    assert_eq!(o.evictions.len(), 1);
    assert_eq!(o.evictions[0].preemptor, "ns/h1");
    assert_eq!(pending_of(&o, "ns/h2").0, "WaitingForQuota");
}

#[test]
fn partial_admission_takes_the_largest_count_that_fits() {
    let w = world(vec![cq("a").cpu("default", 4000, None, None)]);
    let mut p = wl("ns/p", "a", 0, 1, 1000);
    p.pod_sets[0].count = 6;
    p.pod_sets[0].min_count = Some(2);
    let o = w.run(vec![p.clone()]);
    let Some(Decision::Admit { assignment, .. }) = o.decisions.first() else {
        panic!("{o:#?}")
    };
    assert_eq!(assignment[0].count, 4);
    assert_eq!(assignment[0].usage.get("cpu"), Some(&4000));
    let mut too_big = p;
    too_big.pod_sets[0].min_count = Some(5);
    assert_eq!(admitted_keys(&w.run(vec![too_big])).len(), 0);
}

#[test]
fn inactive_queues_admit_nothing_and_cohort_cycles_stop_admission() {
    let w = world(vec![cq("a").cpu("default", 4000, None, None).inactive()]);
    assert!(
        w.run(vec![wl("ns/w", "a", 0, 1, 1000)])
            .decisions
            .is_empty()
    );
    let mut w = world(vec![cq("a").cohort("p").cpu("default", 4000, None, None)]);
    w.cohorts.insert(
        "p".into(),
        CohortQuotas {
            parent: Some("q".into()),
            quotas: BTreeMap::new(),
        },
    );
    w.cohorts.insert(
        "q".into(),
        CohortQuotas {
            parent: Some("p".into()),
            quotas: BTreeMap::new(),
        },
    );
    assert!(
        w.run(vec![wl("ns/w", "a", 0, 1, 1000)])
            .decisions
            .is_empty()
    );
}

#[test]
fn evaluation_budget_limits_work_per_cycle() {
    let w = world(vec![cq("a").cpu("default", 100_000, None, None)]);
    let pending: BTreeMap<String, Vec<Workload>> = [(
        "a".to_owned(),
        (0..10)
            .map(|i| wl(&format!("ns/{i}"), "a", 0, i, 1000))
            .collect(),
    )]
    .into();
    let o = schedule_cycle(
        &w.snapshot(),
        &pending,
        0,
        &CycleConfig {
            max_evaluations: 3,
            ..CycleConfig::default()
        },
    );
    assert_eq!(admitted_keys(&o), vec!["ns/0", "ns/1", "ns/2"]);
}

fn fair_world() -> World {
    let mut w = world(vec![
        cq("a").cohort("c").cpu("default", 0, None, None),
        cq("b").cohort("c").cpu("default", 0, None, None),
    ]);
    w.cohorts.insert(
        "c".into(),
        CohortQuotas {
            parent: None,
            quotas: [(
                FlavorResource::new("default", "cpu"),
                Quota {
                    nominal: 10_000,
                    ..Quota::default()
                },
            )]
            .into(),
        },
    );
    w
}

fn run_fair(w: &World, weights: &[(&str, f64)], fair: bool) -> CycleOutcome {
    let mut snap = w.snapshot();
    for (k, v) in weights {
        snap.weights.insert((*k).to_owned(), *v);
    }
    let mut pending: BTreeMap<String, Vec<Workload>> = BTreeMap::new();
    pending.insert(
        "a".into(),
        (0..10)
            .map(|i| wl(&format!("ns/a{i}"), "a", 0, i, 1000))
            .collect(),
    );
    pending.insert(
        "b".into(),
        (0..10)
            .map(|i| wl(&format!("ns/b{i}"), "b", 0, 100 + i, 1000))
            .collect(),
    );
    schedule_cycle(
        &snap,
        &pending,
        0,
        &CycleConfig {
            fair_sharing: fair,
            ..CycleConfig::default()
        },
    )
}

fn count(o: &CycleOutcome, prefix: &str) -> usize {
    admitted_keys(o)
        .iter()
        .filter(|k| k.starts_with(prefix))
        .count()
}

#[test]
fn fair_sharing_splits_a_shared_pool_by_weight() {
    let w = fair_world();
    let classical = run_fair(&w, &[], false);
    assert_eq!(
        (count(&classical, "ns/a"), count(&classical, "ns/b")),
        (10, 0),
        "without fair sharing the older queue takes it all"
    );
    let fair = run_fair(&w, &[], true);
    assert_eq!(
        (count(&fair, "ns/a"), count(&fair, "ns/b")),
        (5, 5),
        "equal weights split evenly"
    );
    let weighted = run_fair(&w, &[("q/a", 2.0)], true);
    let (a, b) = (count(&weighted, "ns/a"), count(&weighted, "ns/b"));
    assert_eq!(a + b, 10);
    assert!(
        a > b && a >= 6,
        "weight 2 gets about twice as much: a={a} b={b}"
    );
    let zero = run_fair(&w, &[("q/b", 0.0)], true);
    assert_eq!(
        count(&zero, "ns/b"),
        0,
        "a zero-weight queue only gets what nobody else wants"
    );
}

#[test]
fn fair_sharing_prefers_workloads_within_nominal() {
    let mut w = world(vec![
        cq("a").cohort("c").cpu("default", 3000, None, None),
        cq("b").cohort("c").cpu("default", 0, None, None),
    ]);
    w.cohorts.insert(
        "c".into(),
        CohortQuotas {
            parent: None,
            quotas: [(
                FlavorResource::new("default", "cpu"),
                Quota {
                    nominal: 3000,
                    ..Quota::default()
                },
            )]
            .into(),
        },
    );
    let mut snap = w.snapshot();
    snap.weights.insert("q/b".into(), 1000.0);
    let mut pending: BTreeMap<String, Vec<Workload>> = BTreeMap::new();
    pending.insert(
        "a".into(),
        (0..3)
            .map(|i| wl(&format!("ns/a{i}"), "a", 0, 50 + i, 1000))
            .collect(),
    );
    pending.insert(
        "b".into(),
        (0..6)
            .map(|i| wl(&format!("ns/b{i}"), "b", 0, i, 1000))
            .collect(),
    );
    let o = schedule_cycle(
        &snap,
        &pending,
        0,
        &CycleConfig {
            fair_sharing: true,
            ..CycleConfig::default()
        },
    );
    // a's three fit in its own nominal quota and go first despite b's tiny share; b gets the rest.
    let order: Vec<&str> = admitted_keys(&o);
    assert_eq!(&order[..3], &["ns/a0", "ns/a1", "ns/a2"]);
    assert_eq!(order.len(), 6);
}

#[test]
fn fair_sharing_preempts_the_largest_share() {
    let mut w = world(vec![
        cq("a")
            .cohort("c")
            .cpu("default", 3000, None, None)
            .preemption(PreemptionPolicy::LowerPriority, PreemptionPolicy::Any),
        cq("b").cohort("c").cpu("default", 3000, None, None),
        cq("c").cohort("c").cpu("default", 3000, None, None),
    ]);
    for i in 0..3 {
        w.admitted.push(admitted(
            wl(&format!("ns/a{i}"), "a", 0, 0, 1000),
            "default",
            1,
        ));
    }
    for i in 0..6 {
        w.admitted.push(admitted(
            wl(&format!("ns/b{i}"), "b", 0, 0, 1000),
            "default",
            i,
        ));
    }
    let run = |weight_a: f64, fair: bool| {
        let mut snap = w.snapshot();
        snap.weights.insert("q/a".into(), weight_a);
        let pending: BTreeMap<String, Vec<Workload>> =
            [("a".into(), vec![wl("ns/new", "a", 0, 10, 2000)])].into();
        schedule_cycle(
            &snap,
            &pending,
            100,
            &CycleConfig {
                fair_sharing: fair,
                ..CycleConfig::default()
            },
        )
    };
    // Equal weights: taking 2 CPUs from b would only move the imbalance to a.
    let o = run(1.0, true);
    assert!(o.evictions.is_empty(), "{o:#?}");
    assert_eq!(pending_of(&o, "ns/new").0, "WaitingForQuota");
    // With twice b's weight, a may hold twice b's share: b's two newest go.
    let o = run(2.0, true);
    let mut victims: Vec<(&str, &str)> = o
        .evictions
        .iter()
        .map(|e| (e.target.key.as_str(), e.target.reason.as_str()))
        .collect();
    victims.sort_unstable();
    assert_eq!(
        victims,
        vec![
            ("ns/b4", "InCohortFairSharing"),
            ("ns/b5", "InCohortFairSharing")
        ]
    );
    assert_eq!(pending_of(&o, "ns/new").0, "WaitingForPreemptedWorkloads");
}

/// Kueue's `waitForPodsReady.blockAdmission`: with a budget of 0 nothing that fits is admitted
/// (reason `Waiting`), with 1 only the first; preemptions are not held.
#[test]
fn the_admission_budget_holds_workloads_that_fit() {
    let w = world(vec![cq("a").cpu("default", 4000, None, None)]);
    let mut by_queue: BTreeMap<String, Vec<Workload>> = BTreeMap::new();
    by_queue.insert(
        "a".into(),
        vec![wl("ns/x", "a", 0, 1, 1000), wl("ns/y", "a", 0, 2, 1000)],
    );
    for (budget, want) in [(Some(0), 0), (Some(1), 1), (None, 2)] {
        let o = schedule_cycle(
            &w.snapshot(),
            &by_queue,
            1_000,
            &CycleConfig {
                admission_budget: budget,
                ..CycleConfig::default()
            },
        );
        assert_eq!(admitted_keys(&o).len(), want, "budget {budget:?}");
        for d in &o.decisions {
            if let Decision::Pending { key, .. } = d {
                assert_eq!(
                    pending_of(&o, key),
                    (WAITING, WAITING_FOR_PODS_READY, Requeue::Immediately)
                );
            }
        }
    }
    // A preemption is still issued while admissions are held.
    let mut w =
        world(vec![cq("a").cpu("default", 1000, None, None).preemption(
            PreemptionPolicy::LowerPriority,
            PreemptionPolicy::Never,
        )]);
    w.admitted
        .push(admitted(wl("ns/low", "a", 0, 1, 1000), "default", 1));
    let mut by_queue: BTreeMap<String, Vec<Workload>> = BTreeMap::new();
    by_queue.insert("a".into(), vec![wl("ns/high", "a", 10, 2, 1000)]);
    let o = schedule_cycle(
        &w.snapshot(),
        &by_queue,
        1_000,
        &CycleConfig {
            admission_budget: Some(0),
            ..CycleConfig::default()
        },
    );
    assert_eq!(o.evictions.len(), 1);
}

/// Three ClusterQueues of 10 cpu in cohort `c`, each `withinClusterQueue: LowerPriority`,
/// `reclaimWithinCohort: Any` (Kueue's scheduler benchmark's policies).
fn reclaim_world() -> World {
    let q = |n: &str| {
        cq(n)
            .cohort("c")
            .cpu("default", 10_000, None, None)
            .preemption(PreemptionPolicy::LowerPriority, PreemptionPolicy::Any)
    };
    world(vec![q("a"), q("b"), q("d")])
}

fn victims_of(o: &CycleOutcome) -> Vec<(&str, &str)> {
    o.evictions
        .iter()
        .map(|e| (e.target.key.as_str(), e.preemptor.as_str()))
        .collect()
}

#[test]
fn a_later_preemptor_does_not_evict_more_for_room_an_earlier_eviction_frees() {
    let mut w = reclaim_world();
    w.admitted
        .push(admitted(wl("ns/a-x", "a", 200, 0, 9000), "default", 1));
    w.admitted
        .push(admitted(wl("ns/d-x", "d", 200, 0, 9000), "default", 1));
    // b borrows 2 of the cohort's 30.
    w.admitted
        .push(admitted(wl("ns/b-s1", "b", 50, 0, 1000), "default", 3));
    w.admitted
        .push(admitted(wl("ns/b-m1", "b", 100, 0, 5000), "default", 2));
    w.admitted
        .push(admitted(wl("ns/b-m2", "b", 100, 0, 6000), "default", 1));
    let o = w.run(vec![
        wl("ns/a-p", "a", 50, 1, 1000),
        wl("ns/d-p", "d", 50, 2, 1000),
    ]);
    // Both reclaim 1 cpu; the minimal set for each, from the cycle's start, is b-s1: the second
    // waits for it instead of evicting a 5-cpu workload as well.
    assert_eq!(victims_of(&o), vec![("ns/b-s1", "ns/a-p")], "{o:#?}");
    assert_eq!(
        o.preemption_skips,
        [("d".to_owned(), 1)].into(),
        "counted for Kueue's gauge"
    );
    let (reason, message, requeue) = pending_of(&o, "ns/d-p");
    assert_eq!(
        (reason, message, requeue),
        (
            "WaitingForQuota",
            "Workload has overlapping preemption targets with another workload",
            Requeue::Immediately
        )
    );
}

#[test]
fn only_a_cluster_queues_head_may_preempt() {
    let mut w = world(vec![
        cq("a")
            .cohort("c")
            .cpu("default", 10_000, None, None)
            .preemption(PreemptionPolicy::LowerPriority, PreemptionPolicy::Any),
        cq("b")
            .cohort("c")
            .cpu("default", 10_000, None, None)
            .preemption(PreemptionPolicy::LowerPriority, PreemptionPolicy::Any),
    ]);
    w.admitted
        .push(admitted(wl("ns/a-x", "a", 200, 0, 8000), "default", 1));
    w.admitted
        .push(admitted(wl("ns/b-s1", "b", 50, 0, 1000), "default", 3));
    w.admitted
        .push(admitted(wl("ns/b-m1", "b", 100, 0, 5000), "default", 2));
    w.admitted
        .push(admitted(wl("ns/b-m2", "b", 100, 0, 6000), "default", 1));
    // a has 2 cpu of nominal unused but the cohort is full: its head reclaims b-s1; the second
    // workload of a does not preempt in the same cycle (it is not the head), it waits.
    let o = w.run(vec![
        wl("ns/a-p1", "a", 50, 1, 1000),
        wl("ns/a-p2", "a", 50, 2, 1000),
    ]);
    assert_eq!(victims_of(&o), vec![("ns/b-s1", "ns/a-p1")], "{o:#?}");
    assert_eq!(pending_of(&o, "ns/a-p2").2, Requeue::Immediately);
}

#[test]
fn no_workload_admitted_in_a_cycle_is_preempted_in_the_same_cycle() {
    let mut w = world(vec![
        cq("a")
            .cohort("c")
            .cpu("default", 10_000, None, None)
            .preemption(PreemptionPolicy::LowerPriority, PreemptionPolicy::Any),
        cq("b")
            .cohort("c")
            .cpu("default", 10_000, None, None)
            .preemption(PreemptionPolicy::LowerPriority, PreemptionPolicy::Any),
    ]);
    w.admitted
        .push(admitted(wl("ns/a-x", "a", 50, 0, 6000), "default", 1));
    w.admitted
        .push(admitted(wl("ns/b-y", "b", 200, 0, 9000), "default", 1));
    // a-l (high, would borrow) and a-s (low, fits within nominal): a-s goes first in the cycle
    // (not borrowing) and is admitted; a-l must not then evict it.
    let o = w.run(vec![
        wl("ns/a-l", "a", 200, 1, 5000),
        wl("ns/a-s", "a", 50, 2, 1000),
    ]);
    let evicted: Vec<&str> = o.evictions.iter().map(|e| e.target.key.as_str()).collect();
    assert!(
        !evicted.contains(&"ns/a-s"),
        "admitted and evicted in one cycle: {o:#?}"
    );
}

#[test]
fn a_head_without_victims_is_set_aside_and_one_that_fitted_at_the_start_is_not() {
    let mut w =
        world(vec![cq("a").cpu("default", 4000, None, None).preemption(
            PreemptionPolicy::LowerPriority,
            PreemptionPolicy::Never,
        )]);
    w.admitted
        .push(admitted(wl("ns/x", "a", 5, 0, 4000), "default", 1));
    // Nothing it may preempt: set aside until something changes (Kueue's inadmissible list).
    let o = w.run(vec![wl("ns/low", "a", 1, 1, 4000)]);
    assert!(o.evictions.is_empty());
    assert_eq!(pending_of(&o, "ns/low").2, Requeue::Inadmissible, "{o:#?}");
    // b fitted when the cycle started; a, admitted first in the cycle, took the room: b is tried
    // again next cycle, not parked until the next quota change.
    let w = world(vec![cq("q").cpu("default", 4000, None, None)]);
    let o = w.run(vec![
        wl("ns/a", "q", 10, 1, 4000),
        wl("ns/b", "q", 5, 2, 4000),
    ]);
    assert_eq!(admitted_keys(&o), ["ns/a"]);
    assert_eq!(pending_of(&o, "ns/b").2, Requeue::Immediately, "{o:#?}");
}
