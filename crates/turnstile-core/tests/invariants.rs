//! Property tests of the scheduling core: random cohort trees, quotas, admitted and pending
//! workloads.
//! - No cycle over-commits: after applying a cycle's admissions, every ClusterQueue's available
//!   quota is still ≥ 0 on every flavor-resource (which bounds usage by nominal quota, lending and
//!   borrowing limits all the way up its cohort tree).
//! - Admitting and then finishing the admitted workloads restores the usage of every node.
//! - The cycle is deterministic.

// Test code: failures are panics.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;

use proptest::prelude::*;
use turnstile_core::ObjectKey;
use turnstile_core::model::{
    Admitted, ClusterQueue, Flavor, PodSet, Preemption, PreemptionPolicy, QueueingStrategy,
    ResourceGroup, Workload,
};
use turnstile_core::resources::FlavorResource;
use turnstile_core::tree::{CohortQuotas, NodeRef, QueueQuotas, Quota};
use turnstile_core::{CycleConfig, Decision, Snapshot, schedule_cycle};

const FLAVORS: [&str; 2] = ["f0", "f1"];

#[derive(Clone, Debug)]
struct QueueGen {
    cohort: Option<usize>,
    quotas: Vec<(i64, Option<i64>, Option<i64>)>, // per flavor: nominal, borrowing, lending
    strict: bool,
    preempt: bool,
}

fn queue_gen() -> impl Strategy<Value = QueueGen> {
    (
        prop::option::of(0usize..3),
        prop::collection::vec(
            (
                0i64..10,
                prop::option::of(0i64..6),
                prop::option::of(0i64..10),
            ),
            2,
        ),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(cohort, quotas, strict, preempt)| QueueGen {
            cohort,
            quotas,
            strict,
            preempt,
        })
}

#[derive(Clone, Debug)]
struct World {
    queues: Vec<QueueGen>,
    cohort_parents: Vec<Option<usize>>,
    pending: Vec<(usize, i32, i64, i32, Option<i32>)>, // queue, priority, cpu per pod, count, min_count
    fair: bool,
}

fn world_gen() -> impl Strategy<Value = World> {
    (
        prop::collection::vec(queue_gen(), 1..5),
        prop::collection::vec(prop::option::of(0usize..3), 3),
        prop::collection::vec(
            (
                0usize..5,
                -3i32..3,
                1i64..6,
                1i32..4,
                prop::option::of(1i32..3),
            ),
            0..25,
        ),
        any::<bool>(),
    )
        .prop_map(|(queues, cohort_parents, pending, fair)| World {
            queues,
            cohort_parents,
            pending,
            fair,
        })
}

fn snapshot(w: &World, admitted: Vec<Admitted>) -> Snapshot {
    let queues = w
        .queues
        .iter()
        .enumerate()
        .map(|(i, q)| {
            let spec = ClusterQueue {
                name: format!("q{i}"),
                strategy: if q.strict {
                    QueueingStrategy::StrictFifo
                } else {
                    QueueingStrategy::BestEffortFifo
                },
                resource_groups: vec![ResourceGroup {
                    covered: vec!["cpu".into()],
                    flavors: FLAVORS.iter().map(|f| (*f).to_owned()).collect(),
                }],
                preemption: if q.preempt {
                    Preemption {
                        within_cluster_queue: PreemptionPolicy::LowerPriority,
                        reclaim_within_cohort: PreemptionPolicy::Any,
                        ..Preemption::default()
                    }
                } else {
                    Preemption::default()
                },
                active: true,
                ..ClusterQueue::default()
            };
            let quotas = QueueQuotas {
                cohort: q.cohort.map(|c| format!("c{c}")),
                quotas: FLAVORS
                    .iter()
                    .zip(&q.quotas)
                    .map(|(f, (n, b, l))| {
                        let borrowing_limit = if q.cohort.is_some() { *b } else { None };
                        let lending_limit = if q.cohort.is_some() {
                            l.map(|l| l.min(*n))
                        } else {
                            None
                        };
                        (
                            FlavorResource::new(f, "cpu"),
                            Quota {
                                nominal: *n,
                                borrowing_limit,
                                lending_limit,
                            },
                        )
                    })
                    .collect(),
            };
            (spec, quotas)
        })
        .collect();
    // Parents only point to higher-numbered cohorts: no cycles.
    let cohorts: BTreeMap<String, CohortQuotas> = (0..3)
        .map(|i| {
            (
                format!("c{i}"),
                CohortQuotas {
                    parent: w.cohort_parents[i]
                        .filter(|p| *p > i)
                        .map(|p| format!("c{p}")),
                    quotas: BTreeMap::new(),
                },
            )
        })
        .collect();
    Snapshot::new(
        queues,
        &cohorts,
        FLAVORS
            .iter()
            .map(|f| Flavor {
                name: (*f).to_owned(),
                ..Flavor::default()
            })
            .collect(),
        admitted,
    )
}

fn pending(w: &World) -> BTreeMap<String, Vec<Workload>> {
    let mut out: BTreeMap<String, Vec<Workload>> = BTreeMap::new();
    for (i, (q, prio, cpu, count, min)) in w.pending.iter().enumerate() {
        let q = q % w.queues.len();
        out.entry(format!("q{q}")).or_default().push(Workload {
            key: format!("ns/w{i}").into(),
            uid: format!("{i:04}"),
            cluster_queue: format!("q{q}"),
            priority: *prio,
            timestamp: i64::try_from(i).unwrap(),
            pod_sets: vec![PodSet {
                name: "main".into(),
                count: *count,
                min_count: min.filter(|m| m < count),
                per_pod: [("cpu".into(), *cpu)].into(),
                ..PodSet::default()
            }],
        });
    }
    out
}

fn admissions(w: &World, outcome: &turnstile_core::CycleOutcome) -> Vec<Admitted> {
    let all: BTreeMap<ObjectKey, Workload> = pending(w)
        .into_values()
        .flatten()
        .map(|x| (x.key.clone(), x))
        .collect();
    outcome
        .decisions
        .iter()
        .filter_map(|d| match d {
            Decision::Admit {
                key, assignment, ..
            } => Some(Admitted {
                workload: all[key].clone(),
                assignment: assignment.clone(),
                reserved_at: 0,
                evicted: false,
            }),
            _ => None,
        })
        .collect()
}

fn config(w: &World) -> CycleConfig {
    CycleConfig {
        fair_sharing: w.fair,
        ..CycleConfig::default()
    }
}

fn frs() -> Vec<FlavorResource> {
    FLAVORS
        .iter()
        .map(|f| FlavorResource::new(f, "cpu"))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, .. ProptestConfig::default() })]

    #[test]
    fn a_cycle_never_overcommits(w in world_gen()) {
        let snap = snapshot(&w, vec![]);
        let outcome = schedule_cycle(&snap, &pending(&w), 0, &config(&w));
        let after = snapshot(&w, admissions(&w, &outcome));
        for (i, _) in w.queues.iter().enumerate() {
            for fr in frs() {
                let q = format!("q{i}");
                prop_assert!(after.tree.available(NodeRef::Queue(&q), &fr) >= 0, "{q} {fr:?} over-committed: {outcome:#?}");
            }
        }
    }

    #[test]
    fn admit_then_finish_restores_usage(w in world_gen()) {
        let snap = snapshot(&w, vec![]);
        let outcome = schedule_cycle(&snap, &pending(&w), 0, &config(&w));
        let admitted = admissions(&w, &outcome);
        let mut after = snapshot(&w, admitted.clone());
        for a in &admitted {
            after.remove(&a.workload.cluster_queue, &a.workload.key).unwrap();
        }
        for i in 0..w.queues.len() {
            for fr in frs() {
                let q = format!("q{i}");
                prop_assert_eq!(after.tree.usage(NodeRef::Queue(&q), &fr), 0);
                prop_assert_eq!(after.tree.available(NodeRef::Queue(&q), &fr), snap.tree.available(NodeRef::Queue(&q), &fr));
            }
        }
        for c in 0..3 {
            for fr in frs() {
                prop_assert_eq!(after.tree.usage(NodeRef::Cohort(&format!("c{c}")), &fr), 0);
            }
        }
    }

    #[test]
    fn cycles_are_deterministic(w in world_gen()) {
        let snap = snapshot(&w, vec![]);
        let a = schedule_cycle(&snap, &pending(&w), 7, &config(&w));
        let b = schedule_cycle(&snapshot(&w, vec![]), &pending(&w), 7, &config(&w));
        prop_assert_eq!(a, b);
    }

    #[test]
    fn second_cycle_with_everything_admitted_stays_within_limits(w in world_gen()) {
        // Two consecutive cycles: the second starts from the first's admissions.
        let snap = snapshot(&w, vec![]);
        let first = schedule_cycle(&snap, &pending(&w), 0, &config(&w));
        let admitted = admissions(&w, &first);
        let keys: std::collections::BTreeSet<ObjectKey> = admitted.iter().map(|a| a.workload.key.clone()).collect();
        let mut rest = pending(&w);
        for list in rest.values_mut() { list.retain(|x| !keys.contains(&x.key)); }
        let snap2 = snapshot(&w, admitted.clone());
        let second = schedule_cycle(&snap2, &rest, 1, &config(&w));
        let mut all = admitted;
        let full: BTreeMap<ObjectKey, Workload> = rest.into_values().flatten().map(|x| (x.key.clone(), x)).collect();
        for d in &second.decisions {
            if let Decision::Admit { key, assignment, .. } = d {
                all.push(Admitted { workload: full[key].clone(), assignment: assignment.clone(), reserved_at: 1, evicted: false });
            }
        }
        // Preemption may evict some; without evictions, usage must stay within limits.
        if second.evictions.is_empty() {
            let after = snapshot(&w, all);
            for (i, _) in w.queues.iter().enumerate() {
                for fr in frs() {
                    let q = format!("q{i}");
                    prop_assert!(after.tree.available(NodeRef::Queue(&q), &fr) >= 0);
                }
            }
        }
    }
}
