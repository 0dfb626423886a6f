//! Pending queues per ClusterQueue: the order Kueue uses (higher priority, then earlier queue
//! time, then UID), an *active* part the cycle draws from and an *inadmissible* part for workloads
//! that did not fit and wait for a relevant change, plus backoff (`not before`).

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::cycle::{CycleOutcome, Decision, Requeue};
use crate::key::ObjectKey;
use crate::model::{Workload, total};
use crate::resources::Amount;

type OrderKey = (Reverse<i32>, i64, String, ObjectKey);

fn order_key(w: &Workload) -> OrderKey {
    (
        Reverse(w.priority),
        w.timestamp,
        w.uid.clone(),
        w.key.clone(),
    )
}

/// Sorts workloads in the queue order (higher priority, earlier queue time, UID, key).
pub fn sort_in_queue_order<W: AsRef<Workload>>(workloads: &mut [W]) {
    workloads.sort_by_cached_key(|w| order_key(w.as_ref()));
}

#[derive(Clone, Debug)]
struct Item {
    /// Shared with the caller's own copy (the cache keeps one model per workload).
    workload: Arc<Workload>,
    not_before: i64,
    inadmissible: bool,
}

#[derive(Clone, Debug, Default)]
struct Queue {
    active: BTreeSet<OrderKey>,
    items: BTreeMap<ObjectKey, Item>,
    /// The keys of the items set aside (so that requeueing and counting them does not walk the
    /// whole queue).
    aside: BTreeSet<ObjectKey>,
    /// What the pending workloads request in all, per resource (kept as they come and go).
    requests: BTreeMap<String, Amount>,
}

impl Queue {
    /// Adds (`sign` 1) or takes away (`sign` -1) a workload's total requests.
    fn count_requests(&mut self, w: &Workload, sign: i64) {
        for ps in &w.pod_sets {
            for (r, v) in total(&ps.per_pod, ps.count) {
                let now = {
                    let e = self.requests.entry(r.clone()).or_insert(0);
                    *e = e.saturating_add(v.saturating_mul(sign));
                    *e
                };
                if now == 0 {
                    self.requests.remove(&r);
                }
            }
        }
    }
}

/// The pending workloads of every ClusterQueue.
#[derive(Clone, Debug, Default)]
pub struct PendingQueues {
    queues: BTreeMap<String, Queue>,
    /// Workload key → ClusterQueue.
    location: BTreeMap<ObjectKey, String>,
}

impl PendingQueues {
    /// Adds a pending workload, or updates it. An update that changes what the scheduler looks at
    /// (priority, queue time, pod sets, ClusterQueue) makes a set-aside workload active again.
    /// `not_before` is the end of its backoff (0 for none).
    pub fn upsert(&mut self, workload: impl Into<Arc<Workload>>, not_before: i64) {
        let workload: Arc<Workload> = workload.into();
        let key = workload.key.clone();
        let mut inadmissible = false;
        if let Some(old_cq) = self.location.get(&key).cloned() {
            if let Some(old) = self.queues.get(&old_cq).and_then(|q| q.items.get(&key)) {
                let same = old.workload == workload && old.not_before == not_before;
                inadmissible = old.inadmissible && same;
            }
            self.remove(&key);
        }
        let q = self
            .queues
            .entry(workload.cluster_queue.clone())
            .or_default();
        if inadmissible {
            q.aside.insert(key.clone());
        } else {
            q.active.insert(order_key(&workload));
        }
        self.location
            .insert(key.clone(), workload.cluster_queue.clone());
        q.count_requests(&workload, 1);
        q.items.insert(
            key,
            Item {
                workload,
                not_before,
                inadmissible,
            },
        );
    }

    /// Removes a workload (admitted elsewhere, finished, deleted, no longer admissible).
    pub fn remove(&mut self, key: &str) -> Option<Arc<Workload>> {
        let cq = self.location.remove(key)?;
        let q = self.queues.get_mut(&cq)?;
        let item = q.items.remove(key)?;
        q.active.remove(&order_key(&item.workload));
        q.aside.remove(key);
        q.count_requests(&item.workload, -1);
        Some(item.workload)
    }

    /// The first `limit` active workloads of each ClusterQueue whose backoff has ended at `now`,
    /// in order.
    pub fn heads(&self, now: i64, limit: usize) -> BTreeMap<String, Vec<Workload>> {
        let mut out = BTreeMap::new();
        for (name, q) in &self.queues {
            let list: Vec<Workload> = q
                .active
                .iter()
                .filter_map(|k| q.items.get(&k.3))
                .filter(|i| i.not_before <= now)
                .take(limit)
                .map(|i| (*i.workload).clone())
                .collect();
            if !list.is_empty() {
                out.insert(name.clone(), list);
            }
        }
        out
    }

    /// The workloads a cycle with an evaluation `budget` will consider: round-robin over the
    /// ClusterQueues (each in its own order, backoff ended at `now`), `budget` in all. Cheaper than
    /// [`PendingQueues::heads`] with a large backlog; a cycle given these picks the same workloads.
    pub fn heads_budget(&self, now: i64, budget: usize) -> BTreeMap<String, Vec<Workload>> {
        let mut iters: Vec<(&String, Box<dyn Iterator<Item = &Item> + '_>)> = self
            .queues
            .iter()
            .map(|(name, q)| {
                let it: Box<dyn Iterator<Item = &Item> + '_> = Box::new(
                    q.active
                        .iter()
                        .filter_map(|k| q.items.get(&k.3))
                        .filter(move |i| i.not_before <= now),
                );
                (name, it)
            })
            .collect();
        let mut out: BTreeMap<String, Vec<Workload>> = BTreeMap::new();
        let mut taken = 0;
        while taken < budget {
            let mut any = false;
            for (name, it) in &mut iters {
                if taken == budget {
                    break;
                }
                if let Some(item) = it.next() {
                    out.entry((*name).clone())
                        .or_default()
                        .push((*item.workload).clone());
                    taken += 1;
                    any = true;
                }
            }
            if !any {
                break;
            }
        }
        out
    }

    /// Applies a cycle's decisions: admitted workloads leave; the ones set aside become inadmissible.
    pub fn apply(&mut self, outcome: &CycleOutcome) {
        for d in &outcome.decisions {
            match d {
                Decision::Admit { key, .. } => {
                    self.remove(key);
                }
                Decision::Pending {
                    key,
                    requeue: Requeue::Inadmissible,
                    ..
                } => self.set_aside(key),
                Decision::Pending { .. } | Decision::Blocked { .. } => {}
            }
        }
    }

    fn set_aside(&mut self, key: &str) {
        let Some(cq) = self.location.get(key) else {
            return;
        };
        let Some(q) = self.queues.get_mut(cq) else {
            return;
        };
        if let Some(item) = q.items.get_mut(key) {
            item.inadmissible = true;
            q.active.remove(&order_key(&item.workload));
            q.aside.insert(item.workload.key.clone());
        }
    }

    /// Makes every set-aside workload of these ClusterQueues active again (something changed that
    /// may let them fit: quota freed, a quota or flavor edit, a new namespace label...).
    pub fn requeue_inadmissible<'a>(&mut self, queues: impl IntoIterator<Item = &'a str>) {
        for name in queues {
            if let Some(q) = self.queues.get_mut(name) {
                for key in std::mem::take(&mut q.aside) {
                    if let Some(item) = q.items.get_mut(&key) {
                        item.inadmissible = false;
                        q.active.insert(order_key(&item.workload));
                    }
                }
            }
        }
    }

    /// Pending workloads of a ClusterQueue (active and set aside).
    pub fn pending_count(&self, queue: &str) -> usize {
        self.queues.get(queue).map_or(0, |q| q.items.len())
    }

    /// Pending workloads of a ClusterQueue that are set aside (inadmissible until something
    /// changes).
    pub fn inadmissible_count(&self, queue: &str) -> usize {
        self.queues.get(queue).map_or(0, |q| q.aside.len())
    }

    /// Every pending workload key with whether it is set aside, queue by queue.
    pub fn all_items(&self) -> impl Iterator<Item = (&str, bool)> {
        self.queues
            .values()
            .flat_map(|q| q.items.iter().map(|(k, i)| (k.as_str(), i.inadmissible)))
    }

    /// Every pending workload of a ClusterQueue, active and set aside together, in no particular
    /// order (cheap: shared models; a caller holding a lock sorts after releasing it, with
    /// [`sort_in_queue_order`] — the order Kueue's visibility API lists).
    pub fn members(&self, queue: &str) -> Vec<Arc<Workload>> {
        self.queues
            .get(queue)
            .map(|q| q.items.values().map(|i| Arc::clone(&i.workload)).collect())
            .unwrap_or_default()
    }

    /// What the pending workloads of a ClusterQueue (active and set aside) request in all, per
    /// resource in scheduling units; resources no pending workload requests are absent.
    pub fn pending_requests(&self, queue: &str) -> Option<&BTreeMap<String, Amount>> {
        self.queues.get(queue).map(|q| &q.requests)
    }

    /// Whether a workload is pending, and whether it is set aside.
    pub fn state(&self, key: &str) -> Option<bool> {
        let cq = self.location.get(key)?;
        self.queues.get(cq)?.items.get(key).map(|i| i.inadmissible)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::PodSet;

    fn wl(key: &str, q: &str, priority: i32, ts: i64) -> Workload {
        Workload {
            key: key.into(),
            uid: format!("u-{key}"),
            cluster_queue: q.into(),
            priority,
            timestamp: ts,
            pod_sets: vec![PodSet {
                name: "main".into(),
                count: 1,
                ..PodSet::default()
            }],
        }
    }

    fn keys(h: &BTreeMap<String, Vec<Workload>>, q: &str) -> Vec<String> {
        h.get(q)
            .map(|l| l.iter().map(|w| w.key.to_string()).collect())
            .unwrap_or_default()
    }

    #[test]
    fn pending_requests_follow_the_members() {
        let mut p = PendingQueues::default();
        let with = |key: &str, count: i32, cpu: i64| {
            let mut w = wl(key, "q", 0, 1);
            w.pod_sets[0].count = count;
            w.pod_sets[0].per_pod = BTreeMap::from([("cpu".to_owned(), cpu)]);
            w
        };
        p.upsert(with("a", 2, 500), 0);
        p.upsert(with("b", 1, 250), 0);
        assert_eq!(p.pending_requests("q").unwrap()["cpu"], 1250);
        p.upsert(with("a", 4, 500), 0);
        assert_eq!(
            p.pending_requests("q").unwrap()["cpu"],
            2250,
            "an update replaces"
        );
        p.remove("a");
        p.remove("b");
        assert!(p.pending_requests("q").unwrap().is_empty());
        p.upsert(with("c", 1, 100), 0);
        let mut moved = with("c", 1, 100);
        moved.cluster_queue = "r".into();
        p.upsert(moved, 0);
        assert!(p.pending_requests("q").unwrap().is_empty());
        assert_eq!(p.pending_requests("r").unwrap()["cpu"], 100);
    }

    #[test]
    fn order_is_priority_then_time_then_uid() {
        let mut p = PendingQueues::default();
        p.upsert(wl("c", "q", 0, 5), 0);
        p.upsert(wl("b", "q", 0, 5), 0);
        p.upsert(wl("a", "q", 1, 9), 0);
        p.upsert(wl("d", "q", 0, 1), 0);
        assert_eq!(keys(&p.heads(0, usize::MAX), "q"), vec!["a", "d", "b", "c"]);
    }

    #[test]
    fn set_aside_until_requeued_and_updates_bring_back() {
        let mut p = PendingQueues::default();
        p.upsert(wl("a", "q", 0, 1), 0);
        p.upsert(wl("b", "q", 0, 2), 0);
        let outcome = CycleOutcome {
            decisions: vec![
                Decision::Pending {
                    key: "a".into(),
                    reason: "WaitingForQuota",
                    message: String::new(),
                    requeue: Requeue::Inadmissible,
                },
                Decision::Admit {
                    key: "b".into(),
                    cluster_queue: "q".into(),
                    assignment: vec![],
                },
            ],
            evictions: vec![],
            ..CycleOutcome::default()
        };
        p.apply(&outcome);
        assert!(p.heads(0, usize::MAX).is_empty());
        assert_eq!(p.state("a"), Some(true));
        assert_eq!(p.state("b"), None, "admitted workloads leave the queue");
        assert_eq!(p.pending_count("q"), 1);
        // An unchanged update keeps it aside; a priority change brings it back.
        p.upsert(wl("a", "q", 0, 1), 0);
        assert_eq!(p.state("a"), Some(true));
        p.upsert(wl("a", "q", 5, 1), 0);
        assert_eq!(keys(&p.heads(0, usize::MAX), "q"), vec!["a"]);
        p.apply(&CycleOutcome {
            decisions: vec![Decision::Pending {
                key: "a".into(),
                reason: "WaitingForQuota",
                message: String::new(),
                requeue: Requeue::Inadmissible,
            }],
            evictions: vec![],
            ..CycleOutcome::default()
        });
        p.requeue_inadmissible(["other"]);
        assert!(p.heads(0, usize::MAX).is_empty());
        p.requeue_inadmissible(["q"]);
        assert_eq!(keys(&p.heads(0, usize::MAX), "q"), vec!["a"]);
    }

    #[test]
    fn ordered_lists_active_and_set_aside_workloads_in_queue_order() {
        let mut p = PendingQueues::default();
        p.upsert(wl("late", "q", 0, 9), 0);
        p.upsert(wl("early", "q", 0, 1), 500);
        p.upsert(wl("high", "q", 7, 20), 0);
        p.upsert(wl("other", "r", 9, 0), 0);
        p.apply(&CycleOutcome {
            decisions: vec![Decision::Pending {
                key: "high".into(),
                reason: "WaitingForQuota",
                message: String::new(),
                requeue: Requeue::Inadmissible,
            }],
            evictions: vec![],
            ..CycleOutcome::default()
        });
        let ordered = |q: &str| {
            let mut all = p.members(q);
            sort_in_queue_order(&mut all);
            all
        };
        let order: Vec<String> = ordered("q").iter().map(|w| w.key.to_string()).collect();
        assert_eq!(
            order,
            vec!["high", "early", "late"],
            "set aside and backed off included"
        );
        assert!(ordered("missing").is_empty());
    }

    #[test]
    fn budgeted_heads_take_round_robin() {
        let mut p = PendingQueues::default();
        for i in 0..5 {
            p.upsert(wl(&format!("a{i}"), "qa", 0, i), 0);
        }
        p.upsert(wl("b0", "qb", 0, 0), 0);
        let h = p.heads_budget(0, 4);
        assert_eq!(keys(&h, "qa"), vec!["a0", "a1", "a2"]);
        assert_eq!(keys(&h, "qb"), vec!["b0"]);
        assert_eq!(
            p.heads_budget(0, 100).values().map(Vec::len).sum::<usize>(),
            6
        );
    }

    #[test]
    fn backoff_hides_until_its_end_and_queues_can_change() {
        let mut p = PendingQueues::default();
        p.upsert(wl("a", "q1", 0, 1), 100);
        assert!(p.heads(99, usize::MAX).is_empty());
        assert_eq!(keys(&p.heads(100, usize::MAX), "q1"), vec!["a"]);
        p.upsert(wl("a", "q2", 0, 1), 0);
        assert!(keys(&p.heads(100, usize::MAX), "q1").is_empty());
        assert_eq!(keys(&p.heads(100, usize::MAX), "q2"), vec!["a"]);
        assert_eq!(
            p.remove("a").map(|w| w.cluster_queue.clone()),
            Some("q2".into())
        );
        assert_eq!(p.remove("a"), None);
    }
}
