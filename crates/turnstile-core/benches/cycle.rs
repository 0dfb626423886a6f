//! One scheduling cycle of the pure core on Kueue's baseline shape: 5 cohorts x 6 ClusterQueues,
//! one flavor of cpu, nominal 20 / borrowingLimit 100 each, reclaimWithinCohort Any,
//! withinClusterQueue LowerPriority; 15,000 pending workloads (per queue 350 small 1-cpu, 100
//! medium 5-cpu, 50 large 20-cpu). Cases: an empty cluster (the first cycle admits), a full
//! cluster (nothing fits; lower-priority workloads are preemption candidates), and every pending
//! workload evaluated at once (no evaluation budget).
//!
//! `cargo bench -p turnstile-core --bench cycle`

// Benchmark code: a failure is a panic.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::semicolon_if_nothing_returned,
    missing_docs
)]

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::Duration;

use criterion::Criterion;
use turnstile_core::model::{
    Admitted, ClusterQueue, Flavor, PodSet, Preemption, PreemptionPolicy, ResourceGroup, Workload,
};
use turnstile_core::resources::FlavorResource;
use turnstile_core::tree::{CohortQuotas, QueueQuotas, Quota};
use turnstile_core::{CycleConfig, Decision, Snapshot, schedule_cycle};

fn queues() -> Vec<(ClusterQueue, QueueQuotas)> {
    (0..30)
        .map(|i| {
            let spec = ClusterQueue {
                name: format!("cq-{i:02}"),
                resource_groups: vec![ResourceGroup {
                    covered: vec!["cpu".into()],
                    flavors: vec!["default".into()],
                }],
                preemption: Preemption {
                    within_cluster_queue: PreemptionPolicy::LowerPriority,
                    reclaim_within_cohort: PreemptionPolicy::Any,
                    ..Preemption::default()
                },
                active: true,
                ..ClusterQueue::default()
            };
            let quotas = QueueQuotas {
                cohort: Some(format!("cohort-{}", i / 6)),
                quotas: [(
                    FlavorResource::new("default", "cpu"),
                    Quota {
                        nominal: 20_000,
                        borrowing_limit: Some(100_000),
                        lending_limit: None,
                    },
                )]
                .into(),
            };
            (spec, quotas)
        })
        .collect()
}

fn pending() -> BTreeMap<String, Vec<Workload>> {
    let mut out = BTreeMap::new();
    for q in 0..30 {
        let name = format!("cq-{q:02}");
        let mut list = Vec::new();
        for (class, n, cpu, prio) in [
            ("large", 50, 20_000, 200),
            ("medium", 100, 5_000, 100),
            ("small", 350, 1_000, 50),
        ] {
            for i in 0..n {
                list.push(Workload {
                    key: format!("ns-{q}/{class}-{i}").into(),
                    uid: format!("{q:02}-{class}-{i:04}"),
                    cluster_queue: name.clone(),
                    priority: prio,
                    timestamp: i64::from(i),
                    pod_sets: vec![PodSet {
                        name: "main".into(),
                        count: 1,
                        per_pod: [("cpu".into(), cpu)].into(),
                        ..PodSet::default()
                    }],
                });
            }
        }
        list.sort_by(|a: &Workload, b: &Workload| {
            b.priority
                .cmp(&a.priority)
                .then(a.timestamp.cmp(&b.timestamp))
                .then(a.uid.cmp(&b.uid))
        });
        out.insert(name, list);
    }
    out
}

fn main() {
    let flavors = vec![Flavor {
        name: "default".into(),
        ..Flavor::default()
    }];
    let empty = Snapshot::new(
        queues(),
        &BTreeMap::<String, CohortQuotas>::new(),
        flavors.clone(),
        vec![],
    );
    let pending = pending();
    // A full cluster: admit what the first cycle admits.
    let first = schedule_cycle(&empty, &pending, 0, &CycleConfig::default());
    let all: BTreeMap<turnstile_core::ObjectKey, Workload> = pending
        .values()
        .flatten()
        .map(|w| (w.key.clone(), w.clone()))
        .collect();
    let admitted: Vec<Admitted> = first
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
        .collect();
    let admitted_keys: std::collections::BTreeSet<turnstile_core::ObjectKey> =
        admitted.iter().map(|a| a.workload.key.clone()).collect();
    let mut rest = pending.clone();
    for l in rest.values_mut() {
        l.retain(|w| !admitted_keys.contains(&w.key));
    }
    let full = Snapshot::new(queues(), &BTreeMap::new(), flavors, admitted.clone());
    println!(
        "first cycle on the empty cluster admitted {} workloads (cpu 600 of 600 available)",
        admitted.len()
    );

    let mut c = Criterion::default()
        .configure_from_args()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5))
        .sample_size(30);
    c.bench_function("cycle/empty-cluster/15000-pending/budget-1024", |b| {
        b.iter(|| black_box(schedule_cycle(&empty, &pending, 0, &CycleConfig::default())))
    });
    c.bench_function("cycle/full-cluster/15000-pending/budget-1024", |b| {
        b.iter(|| black_box(schedule_cycle(&full, &rest, 0, &CycleConfig::default())))
    });
    let unbounded = CycleConfig {
        max_evaluations: usize::MAX,
        ..CycleConfig::default()
    };
    c.bench_function("cycle/full-cluster/15000-pending/no-budget", |b| {
        b.iter(|| black_box(schedule_cycle(&full, &rest, 0, &unbounded)))
    });
    let fair = CycleConfig {
        fair_sharing: true,
        ..CycleConfig::default()
    };
    c.bench_function(
        "cycle/fair-sharing/empty-cluster/15000-pending/budget-1024",
        |b| {
            b.iter(|| black_box(schedule_cycle(&empty, &pending, 0, &fair)));
        },
    );
    c.final_summary();
}
