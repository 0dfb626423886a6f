//! Fair sharing: the dominant resource share (DRS) of a ClusterQueue or Cohort, as Kueue computes
//! it — how much of what its parent could lend it the node is borrowing, on its most-borrowed
//! resource, in per-mille, divided by the node's weight.

use std::collections::BTreeMap;

use crate::resources::{Amount, FrAmounts};
use crate::tree::{NodeRef, QuotaTree};

/// A node's share.
#[derive(Clone, Debug, PartialEq)]
pub struct Share {
    /// Unweighted share in per-mille of the lendable amount (0 when not borrowing), unrounded as
    /// in Kueue (`borrowed × 1000 / lendable` in floating point; only the status value is rounded,
    /// up).
    pub ratio: f64,
    /// The resource the share comes from (alphabetically first among equals).
    pub dominant: Option<String>,
    /// The share divided by the weight; +inf for a borrowing node of weight 0.
    pub weighted: f64,
}

impl Share {
    /// The value written to `status.fairSharing.weightedShare`: `ceil(weighted)`, `i64::MAX` for +inf.
    pub fn status_value(&self) -> i64 {
        if self.weighted.is_infinite() {
            i64::MAX
        } else {
            // Shares are bounded by 1000 × borrowed / lendable, far inside i64.
            #[allow(clippy::cast_possible_truncation)]
            let v = self.weighted.ceil() as i64;
            v
        }
    }
}

fn parent_of(tree: &QuotaTree, node: NodeRef<'_>) -> Option<String> {
    match node {
        NodeRef::Queue(q) => tree
            .cohort_of(q)
            .filter(|_| !tree.in_cycle(q))
            .map(str::to_owned),
        NodeRef::Cohort(c) => tree.parent_of_cohort(c).map(str::to_owned),
    }
}

/// The share of `node` with `extra` usage added (e.g. a workload being considered), for a node
/// of `weight` (1.0 by default; 0 means an infinite share as soon as it borrows).
pub fn share(tree: &QuotaTree, node: NodeRef<'_>, extra: Option<&FrAmounts>, weight: f64) -> Share {
    let zero = Share {
        ratio: 0.0,
        dominant: None,
        weighted: 0.0,
    };
    let Some(parent) = parent_of(tree, node) else {
        return zero;
    };
    let parent_ref = NodeRef::Cohort(&parent);
    let frs = tree.flavor_resources();
    let mut borrowed: BTreeMap<&str, Amount> = BTreeMap::new();
    let mut lendable: BTreeMap<&str, Amount> = BTreeMap::new();
    for fr in frs {
        let usage = tree
            .usage(node, fr)
            .saturating_add(extra.map_or(0, |e| e.get(fr)));
        let over = usage.saturating_sub(tree.subtree_quota(node, fr));
        if over > 0 {
            let b = borrowed.entry(fr.resource.as_str()).or_insert(0);
            *b = b.saturating_add(over);
        }
        let l = lendable.entry(fr.resource.as_str()).or_insert(0);
        *l = l.saturating_add(tree.potential_available(parent_ref, fr).max(0));
    }
    if borrowed.is_empty() {
        return zero;
    }
    let mut best: Option<(f64, &str)> = None;
    for (r, b) in &borrowed {
        let l = lendable.get(r).copied().unwrap_or(0);
        if l <= 0 {
            continue;
        }
        // Amounts are integers far below 2^53 in practice; the division is Kueue's, in f64.
        #[allow(clippy::cast_precision_loss)]
        let ratio = *b as f64 * 1000.0 / l as f64;
        if best.is_none_or(|(v, _)| ratio > v) {
            best = Some((ratio, r));
        }
    }
    let Some((ratio, dominant)) = best else {
        return zero;
    };
    let weighted = if weight <= 0.0 {
        f64::INFINITY
    } else {
        ratio / weight
    };
    Share {
        ratio,
        dominant: Some(dominant.to_owned()),
        weighted,
    }
}

/// Orders two shares as Kueue's `CompareDRS`: borrowers of weight 0 (infinite share) are larger
/// than everything else and compare among themselves by their unweighted ratio.
pub fn compare(a: &Share, b: &Share) -> std::cmp::Ordering {
    match (a.weighted.is_infinite(), b.weighted.is_infinite()) {
        (true, true) => a.ratio.total_cmp(&b.ratio),
        (true, false) => std::cmp::Ordering::Greater,
        (false, true) => std::cmp::Ordering::Less,
        (false, false) => a.weighted.total_cmp(&b.weighted),
    }
}

#[cfg(test)]
// Exact values: the shares under test are exact in binary floating point.
#[allow(clippy::float_cmp)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::resources::FlavorResource;
    use crate::tree::{QueueQuotas, Quota};

    /// Queues (name, cohort, nominal cpu, nominal memory) of flavor `f`.
    fn tree_of(queues: &[(&str, Option<&str>, Amount, Amount)]) -> QuotaTree {
        let queues = queues
            .iter()
            .map(|(name, cohort, cpu, mem)| {
                let quotas: BTreeMap<FlavorResource, Quota> = [("cpu", *cpu), ("memory", *mem)]
                    .into_iter()
                    .map(|(r, nominal)| {
                        (
                            FlavorResource::new("f", r),
                            Quota {
                                nominal,
                                ..Quota::default()
                            },
                        )
                    })
                    .collect();
                (
                    (*name).to_owned(),
                    QueueQuotas {
                        cohort: cohort.map(Into::into),
                        quotas,
                    },
                )
            })
            .collect();
        QuotaTree::build(&queues, &BTreeMap::new())
    }

    fn tree() -> QuotaTree {
        tree_of(&[
            ("a", Some("c"), 10, 100),
            ("b", Some("c"), 10, 100),
            ("alone", None, 10, 100),
        ])
    }

    fn usage(cpu: Amount, mem: Amount) -> FrAmounts {
        FrAmounts(
            [
                (FlavorResource::new("f", "cpu"), cpu),
                (FlavorResource::new("f", "memory"), mem),
            ]
            .into(),
        )
    }

    #[test]
    fn dominant_resource_share() {
        let mut t = tree();
        assert_eq!(
            share(&t, NodeRef::Queue("a"), None, 1.0).ratio,
            0.0,
            "within nominal"
        );
        t.add_usage("a", &usage(15, 150));
        // Borrowing 5 cpu of 20 lendable (250 ‰) and 50 memory of 200 (250 ‰): tie → cpu.
        let s = share(&t, NodeRef::Queue("a"), None, 1.0);
        assert_eq!((s.ratio, s.dominant.as_deref()), (250.0, Some("cpu")));
        let s = share(&t, NodeRef::Queue("a"), Some(&usage(0, 50)), 2.0);
        assert_eq!(
            (s.ratio, s.dominant.as_deref(), s.weighted),
            (500.0, Some("memory"), 250.0)
        );
        assert_eq!(s.status_value(), 250);
        assert_eq!(
            share(&t, NodeRef::Queue("alone"), Some(&usage(50, 0)), 1.0).ratio,
            0.0,
            "no parent: never borrowing"
        );
        assert_eq!(
            share(&t, NodeRef::Cohort("c"), None, 1.0).ratio,
            0.0,
            "a root cohort has no share"
        );
    }

    #[test]
    fn weighted_share_is_kueues_unrounded_ratio_rounded_up() {
        // Lendable cpu 15 (a: 10, b: 5); a borrowing 1 is 66.67 ‰: Kueue writes 67 (an integer
        // ratio would give 66), and with weight 2, 33.33 → 34.
        let mut t = tree_of(&[("a", Some("c"), 10, 0), ("b", Some("c"), 5, 0)]);
        t.add_usage(
            "a",
            &FrAmounts([(FlavorResource::new("f", "cpu"), 11)].into()),
        );
        let s = share(&t, NodeRef::Queue("a"), None, 1.0);
        assert!((s.ratio - 1000.0 / 15.0).abs() < 1e-9, "{}", s.ratio);
        assert_eq!(s.status_value(), 67);
        assert_eq!(share(&t, NodeRef::Queue("a"), None, 2.0).status_value(), 34);
    }

    #[test]
    fn zero_weight_borrowers_rank_last() {
        let mut t = tree();
        t.add_usage("a", &usage(12, 0));
        t.add_usage("b", &usage(14, 0));
        let a0 = share(&t, NodeRef::Queue("a"), None, 0.0);
        let b1 = share(&t, NodeRef::Queue("b"), None, 1.0);
        assert!(a0.weighted.is_infinite());
        assert_eq!(a0.status_value(), i64::MAX);
        assert_eq!(compare(&a0, &b1), std::cmp::Ordering::Greater);
        let b0 = share(&t, NodeRef::Queue("b"), None, 0.0);
        assert_eq!(
            compare(&a0, &b0),
            std::cmp::Ordering::Less,
            "among infinite shares, the unweighted ratio decides"
        );
        let not_borrowing = share(&t, NodeRef::Queue("a"), Some(&usage(-2, 0)), 0.0);
        assert_eq!(
            (not_borrowing.ratio, not_borrowing.status_value()),
            (0.0, 0),
            "weight 0 without borrowing is 0"
        );
    }
}
