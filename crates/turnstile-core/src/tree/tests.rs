// Table-driven tests.
#![allow(clippy::too_many_lines)]

use std::collections::BTreeMap;

use super::*;

fn fr() -> FlavorResource {
    FlavorResource::new("default", "cpu")
}

fn q(
    nominal: Amount,
    borrow: Option<Amount>,
    lend: Option<Amount>,
) -> BTreeMap<FlavorResource, Quota> {
    [(
        fr(),
        Quota {
            nominal,
            borrowing_limit: borrow,
            lending_limit: lend,
        },
    )]
    .into()
}

fn queue(cohort: Option<&str>, quotas: BTreeMap<FlavorResource, Quota>) -> QueueQuotas {
    QueueQuotas {
        cohort: cohort.map(str::to_owned),
        quotas,
    }
}

fn usage(v: Amount) -> FrAmounts {
    FrAmounts([(fr(), v)].into())
}

#[test]
fn queue_without_cohort_uses_its_nominal_quota() {
    let mut t = QuotaTree::build(
        &[("a".to_owned(), queue(None, q(10, None, None)))].into(),
        &BTreeMap::new(),
    );
    let a = NodeRef::Queue("a");
    assert_eq!(t.available(a, &fr()), 10);
    t.add_usage("a", &usage(3));
    assert_eq!(t.available(a, &fr()), 7);
    assert_eq!(t.potential_available(a, &fr()), 10);
    assert_eq!(t.borrowing_level("a", &fr(), 20), (0, false));
}

#[test]
fn cohort_shares_unused_quota_and_lending_limit_keeps_a_guarantee() {
    struct Case {
        name: &'static str,
        a: BTreeMap<FlavorResource, Quota>,
        b: BTreeMap<FlavorResource, Quota>,
        a_uses: Amount,
        want_a: Amount,
        want_b: Amount,
        want_potential_a: Amount,
    }
    let cases = [
        Case {
            name: "all lent",
            a: q(10, None, None),
            b: q(10, None, None),
            a_uses: 0,
            want_a: 20,
            want_b: 20,
            want_potential_a: 20,
        },
        Case {
            name: "a borrows",
            a: q(10, None, None),
            b: q(10, None, None),
            a_uses: 15,
            want_a: 5,
            want_b: 5,
            want_potential_a: 20,
        },
        Case {
            name: "borrowing limit caps a",
            a: q(10, Some(2), None),
            b: q(10, None, None),
            a_uses: 0,
            want_a: 12,
            want_b: 20,
            want_potential_a: 12,
        },
        Case {
            name: "borrowing limit reached",
            a: q(10, Some(2), None),
            b: q(10, None, None),
            a_uses: 12,
            want_a: 0,
            want_b: 8,
            want_potential_a: 12,
        },
        Case {
            name: "b lends only 4",
            a: q(10, None, None),
            b: q(10, None, Some(4)),
            a_uses: 14,
            want_a: 0,
            want_b: 6,
            want_potential_a: 14,
        },
        Case {
            name: "b's kept quota is its own",
            a: q(10, None, None),
            b: q(10, None, Some(4)),
            a_uses: 0,
            want_a: 14,
            want_b: 20,
            want_potential_a: 14,
        },
    ];
    for c in cases {
        let mut t = QuotaTree::build(
            &[
                ("a".to_owned(), queue(Some("c"), c.a)),
                ("b".to_owned(), queue(Some("c"), c.b)),
            ]
            .into(),
            &BTreeMap::new(),
        );
        t.add_usage("a", &usage(c.a_uses));
        assert_eq!(
            t.available(NodeRef::Queue("a"), &fr()),
            c.want_a,
            "{}: a",
            c.name
        );
        assert_eq!(
            t.available(NodeRef::Queue("b"), &fr()),
            c.want_b,
            "{}: b",
            c.name
        );
        assert_eq!(
            t.potential_available(NodeRef::Queue("a"), &fr()),
            c.want_potential_a,
            "{}: potential a",
            c.name
        );
        t.remove_usage("a", &usage(c.a_uses));
        assert_eq!(
            t.usage(NodeRef::Cohort("c"), &fr()),
            0,
            "{}: released",
            c.name
        );
    }
}

#[test]
fn two_level_tree_with_cohort_quota_and_limits() {
    // root (own 5) -> x (borrowingLimit 1) -> a1 (4); root -> y -> b1 (6, lends 2)
    let queues = [
        ("a1".to_owned(), queue(Some("x"), q(4, None, None))),
        ("b1".to_owned(), queue(Some("y"), q(6, None, Some(2)))),
    ]
    .into();
    let cohorts = [
        (
            "root".to_owned(),
            CohortQuotas {
                parent: None,
                quotas: q(5, None, None),
            },
        ),
        (
            "x".to_owned(),
            CohortQuotas {
                parent: Some("root".into()),
                quotas: q(0, Some(1), None),
            },
        ),
        (
            "y".to_owned(),
            CohortQuotas {
                parent: Some("root".into()),
                quotas: BTreeMap::new(),
            },
        ),
    ]
    .into();
    let mut t = QuotaTree::build(&queues, &cohorts);
    assert_eq!(t.subtree_quota(NodeRef::Cohort("x"), &fr()), 4);
    assert_eq!(
        t.subtree_quota(NodeRef::Cohort("y"), &fr()),
        2,
        "b1 lends only 2"
    );
    assert_eq!(t.subtree_quota(NodeRef::Cohort("root"), &fr()), 11);
    assert_eq!(
        t.available(NodeRef::Queue("a1"), &fr()),
        5,
        "x may borrow only 1 above its 4"
    );
    assert_eq!(
        t.available(NodeRef::Queue("b1"), &fr()),
        4 + 11,
        "b1 keeps 4 and can reach the root's 11"
    );
    assert_eq!(t.height("root"), 2);
    assert_eq!(t.height("x"), 1);
    t.add_usage("a1", &usage(5));
    assert_eq!(t.available(NodeRef::Queue("a1"), &fr()), 0);
    assert_eq!(t.available(NodeRef::Queue("b1"), &fr()), 4 + 6);
    // 7 > nominal 6; b1 keeps 4, so 3 must come from above: y holds only the 2 b1 lent, the root
    // (usage 5 of 11) can give it: level = height of the root.
    assert_eq!(t.borrowing_level("b1", &fr(), 7), (2, false));
    assert_eq!(t.borrowing_level("b1", &fr(), 6), (0, false));
}

#[test]
fn borrowing_level_walks_up_until_the_request_fits() {
    let queues = [
        ("a".to_owned(), queue(Some("x"), q(4, None, None))),
        ("b".to_owned(), queue(Some("y"), q(6, None, None))),
    ]
    .into();
    let cohorts = [
        (
            "x".to_owned(),
            CohortQuotas {
                parent: Some("root".into()),
                quotas: BTreeMap::new(),
            },
        ),
        (
            "y".to_owned(),
            CohortQuotas {
                parent: Some("root".into()),
                quotas: BTreeMap::new(),
            },
        ),
    ]
    .into();
    let t = QuotaTree::build(&queues, &cohorts);
    assert_eq!(
        t.borrowing_level("a", &fr(), 3),
        (0, false),
        "within nominal"
    );
    assert_eq!(
        t.borrowing_level("a", &fr(), 8),
        (2, false),
        "needs the root (height 2)"
    );
}

#[test]
fn cohort_cycles_are_detected_and_cut_off() {
    let queues = [
        ("a".to_owned(), queue(Some("p"), q(4, None, None))),
        ("ok".to_owned(), queue(Some("z"), q(1, None, None))),
    ]
    .into();
    let cohorts = [
        (
            "p".to_owned(),
            CohortQuotas {
                parent: Some("q".into()),
                quotas: BTreeMap::new(),
            },
        ),
        (
            "q".to_owned(),
            CohortQuotas {
                parent: Some("p".into()),
                quotas: BTreeMap::new(),
            },
        ),
    ]
    .into();
    let t = QuotaTree::build(&queues, &cohorts);
    assert!(t.in_cycle("a"));
    assert!(!t.in_cycle("ok"));
    assert_eq!(t.root_of("a"), None);
    assert_eq!(t.root_of("ok"), Some("z"));
}
