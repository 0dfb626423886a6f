// Fair-sharing preemption table: each case is a cohort, what is admitted, one incoming workload,
// and the exact victims (with reasons) Kueue picks for it.
#![allow(clippy::too_many_lines)]

use std::collections::BTreeMap;

use super::*;
use crate::model::{
    BorrowWithinCohort, ClusterQueue, Flavor, PodSet, PodSetAssignment, Preemption, ResourceGroup,
};
use crate::tree::{CohortQuotas, QueueQuotas, Quota};

use Reason::{InClusterQueue as Own, InCohortFairSharing as Fair, InCohortReclamation as Reclaim};

#[derive(Clone)]
struct Q {
    name: &'static str,
    cohort: Option<&'static str>,
    /// Nominal milli-CPU per flavor.
    nominal: Vec<(&'static str, i64)>,
    preemption: Preemption,
    weight: Option<f64>,
}

fn q(name: &'static str, cohort: &'static str, nominal: i64) -> Q {
    Q {
        name,
        cohort: Some(cohort),
        nominal: vec![("default", nominal)],
        preemption: Preemption {
            within_cluster_queue: PreemptionPolicy::LowerPriority,
            reclaim_within_cohort: PreemptionPolicy::Any,
            borrow_within_cohort: BorrowWithinCohort::default(),
        },
        weight: None,
    }
}

impl Q {
    fn weight(mut self, w: f64) -> Self {
        self.weight = Some(w);
        self
    }
    fn policies(mut self, within: PreemptionPolicy, reclaim: PreemptionPolicy) -> Self {
        self.preemption.within_cluster_queue = within;
        self.preemption.reclaim_within_cohort = reclaim;
        self
    }
    fn flavors(mut self, nominal: Vec<(&'static str, i64)>) -> Self {
        self.nominal = nominal;
        self
    }
}

/// The base cohort "all": a, b, c with 3 CPU each (borrowWithinCohort LowerPriority, threshold
/// -3) and "preemptible" with none and no preemption policy.
fn base() -> Vec<Q> {
    let bwc = BorrowWithinCohort {
        lower_priority: true,
        max_priority_threshold: Some(-3),
    };
    let mut out: Vec<Q> = ["a", "b", "c"]
        .into_iter()
        .map(|n| {
            let mut x = q(n, "all", 3000);
            x.preemption.borrow_within_cohort = bwc;
            x
        })
        .collect();
    out.push(q("preemptible", "all", 0).policies(PreemptionPolicy::Never, PreemptionPolicy::Never));
    out
}

struct C {
    name: &'static str,
    parent: Option<&'static str>,
    nominal: i64,
    weight: Option<f64>,
}

fn cohort(name: &'static str, parent: Option<&'static str>, nominal: i64) -> C {
    C {
        name,
        parent,
        nominal,
        weight: None,
    }
}

/// `(name, queue, priority, milli-CPU)`; flavor "default".
type W = (&'static str, &'static str, i32, i64);

fn workload(name: &str, queue: &str, priority: i32, milli: i64) -> Workload {
    Workload {
        key: format!("ns/{name}").into(),
        uid: format!("uid-{name}"),
        cluster_queue: queue.into(),
        priority,
        timestamp: 0,
        pod_sets: vec![PodSet {
            name: "main".into(),
            count: 1,
            per_pod: [("cpu".into(), milli)].into(),
            ..PodSet::default()
        }],
    }
}

fn admitted_on(w: Workload, flavor: &str) -> Admitted {
    let ps = &w.pod_sets[0];
    let assignment = vec![PodSetAssignment {
        name: ps.name.clone(),
        count: 1,
        flavors: [("cpu".to_owned(), flavor.to_owned())].into(),
        usage: ps.per_pod.clone(),
    }];
    Admitted {
        workload: w,
        assignment,
        reserved_at: 0,
        evicted: false,
    }
}

fn snapshot(queues: &[Q], cohorts: &[C], admitted: &[Admitted], s: Strategies) -> Snapshot {
    let mut flavors: BTreeSet<&str> = BTreeSet::new();
    let qs = queues
        .iter()
        .map(|x| {
            flavors.extend(x.nominal.iter().map(|(f, _)| *f));
            (
                ClusterQueue {
                    name: x.name.into(),
                    active: true,
                    preemption: x.preemption,
                    resource_groups: vec![ResourceGroup {
                        covered: vec!["cpu".into()],
                        flavors: x.nominal.iter().map(|(f, _)| (*f).to_owned()).collect(),
                    }],
                    ..ClusterQueue::default()
                },
                QueueQuotas {
                    cohort: x.cohort.map(str::to_owned),
                    quotas: x
                        .nominal
                        .iter()
                        .map(|(f, n)| {
                            (
                                FlavorResource::new(f, "cpu"),
                                Quota {
                                    nominal: *n,
                                    ..Quota::default()
                                },
                            )
                        })
                        .collect(),
                },
            )
        })
        .collect();
    let cs: BTreeMap<String, CohortQuotas> = cohorts
        .iter()
        .map(|c| {
            (
                c.name.to_owned(),
                CohortQuotas {
                    parent: c.parent.map(str::to_owned),
                    quotas: [(
                        FlavorResource::new("default", "cpu"),
                        Quota {
                            nominal: c.nominal,
                            ..Quota::default()
                        },
                    )]
                    .into(),
                },
            )
        })
        .collect();
    let mut snap = Snapshot::new(
        qs,
        &cs,
        flavors
            .iter()
            .map(|f| Flavor {
                name: (*f).into(),
                ..Flavor::default()
            })
            .collect(),
        admitted.to_vec(),
    );
    for x in queues {
        if let Some(w) = x.weight {
            snap.weights.insert(format!("q/{}", x.name), w);
        }
    }
    for c in cohorts {
        if let Some(w) = c.weight {
            snap.weights.insert(format!("c/{}", c.name), w);
        }
    }
    snap.fair_sharing = Some(s);
    snap
}

struct Case {
    name: &'static str,
    queues: Vec<Q>,
    cohorts: Vec<C>,
    admitted: Vec<W>,
    /// `(queue, milli-CPU, priority)`.
    incoming: (&'static str, i64, i32),
    strategies: Strategies,
    want: Vec<(&'static str, Reason)>,
}

fn case(name: &'static str, admitted: Vec<W>, incoming: (&'static str, i64)) -> Case {
    Case {
        name,
        queues: base(),
        cohorts: vec![],
        admitted,
        incoming: (incoming.0, incoming.1, 0),
        strategies: Strategies::default(),
        want: vec![],
    }
}

impl Case {
    fn want(mut self, w: Vec<(&'static str, Reason)>) -> Self {
        self.want = w;
        self
    }
    fn queues(mut self, q: Vec<Q>) -> Self {
        self.queues = q;
        self
    }
    fn cohorts(mut self, c: Vec<C>) -> Self {
        self.cohorts = c;
        self
    }
    fn strategies(mut self, s: Strategies) -> Self {
        self.strategies = s;
        self
    }
    fn priority(mut self, p: i32) -> Self {
        self.incoming.2 = p;
        self
    }
}

/// `n` one-CPU workloads `<prefix>1..n` in `queue`.
fn units(prefix: &'static str, queue: &'static str, n: usize) -> Vec<W> {
    (1..=n)
        .map(|i| (leak(&format!("{prefix}{i}")), queue, 0, 1000))
        .collect()
}

fn leak(s: &str) -> &'static str {
    Box::leak(s.to_owned().into_boxed_str())
}

fn run(c: &Case, flavor: &str) -> Vec<(String, Reason)> {
    let admitted: Vec<Admitted> = c
        .admitted
        .iter()
        .map(|(n, q, p, m)| {
            let flv = if n.contains("cheap") { "cheap" } else { flavor };
            admitted_on(workload(n, q, *p, *m), flv)
        })
        .collect();
    let mut snap = snapshot(&c.queues, &c.cohorts, &admitted, c.strategies);
    let before = usages(&snap);
    let incoming = workload("incoming", c.incoming.0, c.incoming.2, c.incoming.1);
    let fr = FlavorResource::new(flavor, "cpu");
    let usage = FrAmounts([(fr.clone(), c.incoming.1)].into());
    let got = super::targets(&mut snap, &incoming, &usage, &[fr].into(), c.strategies);
    assert_eq!(usages(&snap), before, "{}: snapshot restored", c.name);
    let mut got: Vec<(String, Reason)> = got
        .into_iter()
        .map(|t| (t.key.trim_start_matches("ns/").to_owned(), t.reason))
        .collect();
    got.sort();
    got
}

/// Every node's usage of every flavor-resource.
fn usages(snap: &Snapshot) -> Vec<(String, FlavorResource, i64)> {
    let mut out = Vec::new();
    let queues: Vec<String> = snap.tree.queue_names().map(str::to_owned).collect();
    let mut cohorts = BTreeSet::new();
    for q in &queues {
        cohorts.extend(snap.tree.ancestors(q));
        for fr in snap.tree.flavor_resources() {
            out.push((
                q.clone(),
                fr.clone(),
                snap.tree.usage(NodeRef::Queue(q), fr),
            ));
        }
    }
    for c in &cohorts {
        for fr in snap.tree.flavor_resources() {
            out.push((
                c.clone(),
                fr.clone(),
                snap.tree.usage(NodeRef::Cohort(c), fr),
            ));
        }
    }
    out
}

#[allow(clippy::needless_pass_by_value)]
fn check(cases: Vec<Case>) {
    let mut failures = Vec::new();
    for c in &cases {
        let got = run(c, "default");
        let mut want: Vec<(String, Reason)> =
            c.want.iter().map(|(k, r)| ((*k).to_owned(), *r)).collect();
        want.sort();
        if got != want {
            failures.push(format!("{}: got {got:?}, want {want:?}", c.name));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn cat(parts: Vec<Vec<W>>) -> Vec<W> {
    parts.into_iter().flatten().collect()
}

#[test]
fn flat_cohort_cases() {
    use PreemptionPolicy::{Any, LowerPriority};
    check(vec![
        case(
            "reclaim nominal from the queue using the most",
            cat(vec![
                units("a", "a", 3),
                units("b", "b", 5),
                units("c", "c", 1),
            ]),
            ("c", 1000),
        )
        .want(vec![("b1", Reclaim)]),
        case(
            "reclaim from the queue using less when the largest user's newest is not enough",
            vec![
                ("a1", "a", 0, 3000),
                ("a2", "a", 0, 1000),
                ("b1", "b", 0, 2000),
                ("b2", "b", 0, 3000),
            ],
            ("c", 3000),
        )
        .want(vec![("a1", Reclaim)]),
        case(
            "reclaim borrowed quota from the queue using the most",
            cat(vec![
                units("a", "a", 3),
                units("b", "b", 5),
                units("c", "c", 1),
            ]),
            ("a", 1000),
        )
        .want(vec![("b1", Fair)]),
        case(
            "one victim from each borrowing queue",
            vec![
                ("a1", "a", 0, 500),
                ("a2", "a", 0, 500),
                ("a3", "a", 0, 3000),
                ("b1", "b", 0, 500),
                ("b2", "b", 0, 500),
                ("b3", "b", 0, 3000),
            ],
            ("c", 2000),
        )
        .want(vec![("a1", Reclaim), ("b1", Reclaim)]),
        case(
            "nothing when everyone is within nominal",
            cat(vec![
                units("a", "a", 3),
                units("b", "b", 3),
                units("c", "c", 3),
            ]),
            ("c", 1000),
        ),
        case(
            "nothing when preemption would only move the imbalance",
            cat(vec![units("a", "a", 3), units("b", "b", 5)]),
            ("a", 2000),
        ),
        case(
            "lower-priority workloads of the same queue",
            vec![
                ("a1_low", "a", -1, 1000),
                ("a2_low", "a", -1, 1000),
                ("a3", "a", 0, 1000),
                ("a4", "a", 0, 1000),
                ("b1", "b", 0, 1000),
                ("b2", "b", 0, 1000),
                ("b3", "b", 0, 1000),
                ("b4", "b", 0, 1000),
                ("b5", "b", 0, 1000),
            ],
            ("a", 2000),
        )
        .want(vec![("a1_low", Own), ("a2_low", Own)]),
        case(
            "a combination of the own queue and the largest user",
            cat(vec![
                vec![
                    ("a_low", "a", -1, 1000),
                    ("a2", "a", 0, 1000),
                    ("a3", "a", 0, 1000),
                ],
                units("b", "b", 6),
            ]),
            ("a", 2000),
        )
        .want(vec![("a_low", Own), ("b1", Fair)]),
        case(
            "a huge workload when the target ends with a lower share",
            vec![("b1", "b", 0, 9000)],
            ("a", 2000),
        )
        .want(vec![("b1", Reclaim)]),
        case(
            "not a huge workload for a huge incoming one",
            vec![("a1", "a", 0, 2000), ("b1", "b", 0, 7000)],
            ("a", 5000),
        ),
        case(
            "not two smaller workloads for a huge incoming one",
            vec![
                ("b1", "b", 0, 2000),
                ("b2", "b", 0, 2000),
                ("b3", "b", 0, 3000),
            ],
            ("a", 6000),
        ),
        case(
            "own queue and others even when over nominal",
            vec![
                ("a1_low", "a", -1, 2000),
                ("a2_low", "a", -1, 1000),
                ("b1", "b", 0, 3000),
                ("b2", "b", 0, 3000),
            ],
            ("a", 4000),
        )
        .want(vec![("a1_low", Own), ("b1", Fair)]),
        case(
            "prefer the victim that does not leave the target with the largest share",
            vec![
                ("b1", "b", 0, 2000),
                ("b2", "b", 0, 1000),
                ("b3", "b", 0, 2000),
                ("c1", "c", 0, 1000),
            ],
            ("a", 3500),
        )
        .want(vec![("b2", Fair)]),
        case(
            "victims in two queues when that ends with a smaller largest share",
            vec![
                ("b1", "b", 0, 2000),
                ("b2", "b", 0, 2500),
                ("c1", "c", 0, 2000),
                ("c2", "c", 0, 2500),
            ],
            ("a", 3500),
        )
        .want(vec![("b1", Fair), ("c1", Fair)]),
        case(
            "the case above does not flap back",
            vec![
                ("a1", "a", 0, 3500),
                ("b2", "b", 0, 2500),
                ("c2", "c", 0, 2500),
            ],
            ("b", 2000),
        ),
        case(
            "not when one victim would take the target below nominal",
            vec![
                ("b1", "b", 0, 3000),
                ("b2", "b", 0, 3000),
                ("c1", "c", 0, 3000),
            ],
            ("a", 4000),
        ),
        case(
            "borrowWithinCohort's threshold does not make low priority fair game",
            cat(vec![
                units("a", "a", 3),
                units("b", "b", 3),
                vec![
                    ("preemptible1", "preemptible", -3, 1000),
                    ("preemptible2", "preemptible", -3, 1000),
                    ("preemptible3", "preemptible", -3, 1000),
                ],
            ]),
            ("a", 2000),
        ),
        case(
            "LessThanInitialShare: lower priority first, even if big",
            vec![
                ("a1", "a", 0, 3000),
                ("b_low", "b", 0, 5000),
                ("b_high", "b", 1, 1000),
            ],
            ("a", 1000),
        )
        .strategies(Strategies::InitialShare)
        .want(vec![("b_low", Fair)]),
        case(
            "LessThanOrEqualToFinalShare: the victim that does not move the imbalance",
            vec![
                ("a1", "a", 0, 3000),
                ("b_low", "b", 0, 5000),
                ("b_high", "b", 1, 1000),
            ],
            ("a", 1000),
        )
        .strategies(Strategies::FinalShare)
        .want(vec![("b_high", Fair)]),
        case(
            "a queue with a higher weight preempts more",
            cat(vec![units("a", "a", 3), units("b", "b", 6)]),
            ("a", 2000),
        )
        .queues(vec![
            q("a", "all", 3000).weight(2.0),
            q("b", "all", 3000),
            q("c", "all", 3000),
        ])
        .want(vec![("b1", Fair), ("b2", Fair)]),
        case(
            "anything borrowed by a queue of weight 0",
            cat(vec![units("a", "a", 3), units("b", "b", 6)]),
            ("a", 3000),
        )
        .queues(vec![
            q("a", "all", 3000),
            q("b", "all", 3000).weight(0.0),
            q("c", "all", 3000),
        ])
        .want(vec![("b1", Fair), ("b2", Fair), ("b3", Fair)]),
        case(
            "not the nominal quota of a queue of weight 0",
            cat(vec![units("a", "a", 3), units("b", "b", 3)]),
            ("a", 1000),
        )
        .queues(vec![q("a", "all", 3000), q("b", "all", 3000).weight(0.0)]),
        case(
            "within the queue when it has no cohort",
            vec![("a1", "a", 0, 1000)],
            ("a", 1000),
        )
        .queues(vec![Q {
            cohort: None,
            ..q("a", "all", 1000).policies(LowerPriority, PreemptionPolicy::Never)
        }])
        .priority(1000)
        .want(vec![("a1", Own)]),
        case(
            "a zero-weight borrower cannot preempt a borrower of non-zero weight",
            vec![
                ("a1", "a", 0, 1000),
                ("b1", "b", 0, 1000),
                ("b2", "b", 0, 1000),
            ],
            ("a", 1000),
        )
        .queues(vec![
            q("a", "all", 1000)
                .weight(0.0)
                .policies(PreemptionPolicy::Never, Any),
            q("b", "all", 1000),
        ]),
        case(
            "a zero-weight borrower can preempt another zero-weight borrower",
            units("b", "b", 3),
            ("a", 2000),
        )
        .queues(vec![
            q("a", "all", 1000)
                .weight(0.0)
                .policies(PreemptionPolicy::Never, Any),
            q("b", "all", 0).weight(0.0),
        ])
        .cohorts(vec![cohort("all", None, 3000)])
        .want(vec![("b1", Fair)]),
        case(
            "the same with non-zero weights",
            units("b", "b", 3),
            ("a", 2000),
        )
        .queues(vec![
            q("a", "all", 1000).policies(PreemptionPolicy::Never, Any),
            q("b", "all", 0),
        ])
        .cohorts(vec![cohort("all", None, 3000)])
        .want(vec![("b1", Fair)]),
        case(
            "a queue of weight 0 reclaims its nominal quota",
            vec![("b1", "b", 0, 1000)],
            ("a", 1000),
        )
        .queues(vec![
            q("a", "ROOT", 1000)
                .weight(0.0)
                .policies(PreemptionPolicy::Never, Any),
            q("b", "ROOT", 0),
        ])
        .want(vec![("b1", Reclaim)]),
    ]);
}

#[test]
fn cohort_tree_cases() {
    use PreemptionPolicy::{Any, LowerPriority, Never};
    let five = |p: &'static str, q: &'static str| -> Vec<W> {
        (1..=5)
            .map(|i| (leak(&format!("{p}{i}")), q, i, 1000))
            .collect()
    };
    check(vec![
        // ROOT(5) ── LEFT(5, weight 2) ── a(1, weight 2, preemptor), b(1)
        //         ├─ c(1)
        //         └─ RIGHT(5) ── d(1), e(1, weight 0.99)
        case(
            "victims across a two-level tree, judged between sibling subtrees",
            cat(vec![
                five("b", "b"),
                five("c", "c"),
                five("d", "d"),
                five("e", "e"),
            ]),
            ("a", 5000),
        )
        .queues(vec![
            q("a", "LEFT", 1000).weight(2.0).policies(Never, Any),
            q("b", "LEFT", 1000).policies(Never, Never),
            q("c", "ROOT", 1000).policies(Never, Never),
            q("d", "RIGHT", 1000).policies(Never, Never),
            q("e", "RIGHT", 1000).weight(0.99).policies(Never, Never),
        ])
        .cohorts(vec![
            cohort("ROOT", None, 5000),
            C {
                weight: Some(2.0),
                ..cohort("LEFT", Some("ROOT"), 5000)
            },
            cohort("RIGHT", Some("ROOT"), 5000),
        ])
        .want(vec![
            ("b1", Fair),
            ("b2", Fair),
            ("c1", Fair),
            ("c2", Fair),
            ("e1", Fair),
        ]),
        // ROOT ── a(5, weight 10); RIGHT(1, weight 0.1) ── b(0, weight 0.1) borrowing 1.
        case(
            "a borrowing queue inside a cohort that is not borrowing is protected",
            vec![
                ("a1", "a", -1, 1000),
                ("a2", "a", -1, 1000),
                ("a3", "a", -1, 1000),
                ("b1", "b", -1, 1000),
            ],
            ("a", 5000),
        )
        .queues(vec![
            q("a", "ROOT", 5000)
                .weight(10.0)
                .policies(LowerPriority, Any),
            q("b", "RIGHT", 0).weight(0.1).policies(Never, Never),
        ])
        .cohorts(vec![
            cohort("ROOT", None, 0),
            C {
                weight: Some(0.1),
                ..cohort("RIGHT", Some("ROOT"), 1000)
            },
        ])
        .want(vec![("a1", Own), ("a2", Own), ("a3", Own)]),
        case(
            "own queue when the only borrower is too important",
            vec![
                ("a1", "a", -1, 1000),
                ("a2", "a", -1, 1000),
                ("a3", "a", -1, 1000),
                ("b1", "b", 100, 4000),
            ],
            ("a", 4000),
        )
        .queues(vec![
            q("a", "ROOT", 5000)
                .weight(10.0)
                .policies(LowerPriority, LowerPriority),
            q("b", "RIGHT", 0).weight(0.1).policies(Never, Never),
        ])
        .cohorts(vec![
            cohort("ROOT", None, 0),
            C {
                weight: Some(0.1),
                ..cohort("RIGHT", Some("ROOT"), 3000)
            },
        ])
        .want(vec![("a1", Own), ("a2", Own), ("a3", Own)]),
        case(
            "a cohort of weight 0 cannot lose its nominal quota",
            vec![("right-1", "right-cq", 0, 1000)],
            ("left-cq", 1000),
        )
        .queues(vec![
            q("left-cq", "root", 0).policies(Never, Any),
            q("right-cq", "right-cohort", 0)
                .weight(0.0)
                .policies(Never, Any),
        ])
        .cohorts(vec![C {
            weight: Some(0.0),
            ..cohort("right-cohort", Some("root"), 1000)
        }]),
        case(
            "a cohort of weight 0 reclaims its nominal quota",
            vec![("b1", "b", 0, 1000)],
            ("a", 1000),
        )
        .queues(vec![
            q("a", "A", 0).weight(0.0).policies(Never, Any),
            q("b", "ROOT", 0),
        ])
        .cohorts(vec![C {
            weight: Some(0.0),
            ..cohort("A", Some("ROOT"), 1000)
        }])
        .want(vec![("b1", Fair)]),
        // Four levels deep: a's organization A outweighs b's organization B.
        case(
            "deep trees compare the children of the common ancestor",
            vec![("b1", "b", 0, 1000)],
            ("a", 1000),
        )
        .queues(vec![
            q("a", "AAA", 0).policies(Never, Any),
            q("b", "BBB", 0).policies(Never, Never),
        ])
        .cohorts(vec![
            cohort("ROOT", None, 0),
            C {
                weight: Some(1.01),
                ..cohort("A", Some("ROOT"), 0)
            },
            cohort("AA", Some("A"), 0),
            cohort("AAA", Some("AA"), 0),
            C {
                weight: Some(0.99),
                ..cohort("B", Some("ROOT"), 0)
            },
            cohort("BB", Some("B"), 0),
            cohort("BBB", Some("BB"), 0),
            cohort("C", Some("ROOT"), 0),
            cohort("CC", Some("C"), 0),
            cohort("CCC", Some("CC"), 0),
            cohort("CCCC", Some("CCC"), 1000),
        ])
        .want(vec![("b1", Fair)]),
    ]);
}

#[test]
fn within_nominal_preemptor_reclaims_regardless_of_shares() {
    // a: 3 premium (2 used) and 0 cheap (5 borrowed); b borrows 1 premium. a's incoming premium
    // workload stays within a's nominal, so it reclaims although a's overall share is larger.
    let c = case(
        "nominal first",
        vec![
            ("a_prem1", "a", 0, 1000),
            ("a_prem2", "a", 0, 1000),
            ("a_cheap1", "a", 0, 1000),
            ("a_cheap2", "a", 0, 1000),
            ("a_cheap3", "a", 0, 1000),
            ("a_cheap4", "a", 0, 1000),
            ("a_cheap5", "a", 0, 1000),
            ("b_prem1", "b", 0, 1000),
        ],
        ("a", 1000),
    )
    .queues(vec![
        q("a", "all", 0)
            .flavors(vec![("premium", 3000), ("cheap", 0)])
            .policies(PreemptionPolicy::Never, PreemptionPolicy::Any),
        q("b", "all", 0).flavors(vec![("premium", 0), ("cheap", 6000)]),
    ]);
    assert_eq!(run(&c, "premium"), vec![("b_prem1".to_owned(), Reclaim)]);
}

#[test]
fn strategy_lists_follow_kueue_validation() {
    use Strategy::{LessThanInitialShare as I, LessThanOrEqualToFinalShare as F};
    assert_eq!(Strategies::from_list(&[F]), Some(Strategies::FinalShare));
    assert_eq!(Strategies::from_list(&[I]), Some(Strategies::InitialShare));
    assert_eq!(
        Strategies::from_list(&[F, I]),
        Some(Strategies::FinalThenInitialShare)
    );
    assert_eq!(Strategies::from_list(&[I, F]), None);
    assert_eq!(Strategies::from_list(&[]), None);
    assert_eq!(Strategies::from_list(&[F, F]), None);
}
