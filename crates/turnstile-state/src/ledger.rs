//! The usage ledger: what each workload holding quota charges, and the running totals per
//! ClusterQueue and per LocalQueue that statuses, metrics, snapshots and finalizer checks read.
//!
//! A workload's charge is computed once when it changes and applied as "take back the old, add
//! the new" (Kueue's cache does the same), so reading a queue's usage costs nothing and keeping
//! it costs work proportional to the workload that changed, never a scan of every workload.

use std::collections::BTreeMap;

use turnstile_core::ObjectKey;

/// A `(flavor, resource)` pair.
pub type FlavorResource = (String, String);

/// What one workload holding quota charges.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Charge {
    /// The ClusterQueue it holds quota in.
    pub cluster_queue: String,
    /// Its LocalQueue (`namespace/name`).
    pub local_queue: ObjectKey,
    /// Admitted (not only reserving: no AdmissionCheck pending).
    pub admitted: bool,
    /// Amount per flavor and resource (canonical units).
    pub usage: Vec<(FlavorResource, i64)>,
    /// The assignment behind it (assumed, or the recorded admission converted once per change),
    /// as the scheduling snapshot charges it; `None` when the recorded admission does not convert
    /// (the snapshot leaves such a holder out).
    pub assignment: Option<Vec<turnstile_core::model::PodSetAssignment>>,
}

/// Reserved and admitted usage and counts of a queue.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    /// Usage of every workload holding quota (reserving, admitted or not): amount and how many
    /// workloads contribute to the entry (an entry leaves when its last contributor does, so the
    /// totals equal a fresh sum over the holders).
    reserving: BTreeMap<FlavorResource, (i64, u32)>,
    /// Usage of the admitted ones only.
    admitted: BTreeMap<FlavorResource, (i64, u32)>,
    /// Workloads holding quota.
    pub reserving_count: i32,
    /// Workloads admitted.
    pub admitted_count: i32,
}

impl Totals {
    /// Usage of the workloads holding quota, per flavor and resource.
    pub fn reserving(&self) -> impl Iterator<Item = (&FlavorResource, i64)> {
        self.reserving.iter().map(|(k, (v, _))| (k, *v))
    }

    /// Usage of the admitted workloads, per flavor and resource.
    pub fn admitted(&self) -> impl Iterator<Item = (&FlavorResource, i64)> {
        self.admitted.iter().map(|(k, (v, _))| (k, *v))
    }

    /// Reserved amount of one flavor and resource.
    pub fn reserving_of(&self, flavor: &str, resource: &str) -> i64 {
        amount(&self.reserving, flavor, resource)
    }

    /// Admitted amount of one flavor and resource.
    pub fn admitted_of(&self, flavor: &str, resource: &str) -> i64 {
        amount(&self.admitted, flavor, resource)
    }

    fn is_empty(&self) -> bool {
        self.reserving_count == 0 && self.admitted_count == 0 && self.reserving.is_empty()
    }

    fn add(&mut self, c: &Charge, sign: i64) {
        let n = i32::from(sign > 0) - i32::from(sign < 0);
        self.reserving_count += n;
        if c.admitted {
            self.admitted_count += n;
        }
        for (fr, v) in &c.usage {
            bump(&mut self.reserving, fr, *v, sign);
            if c.admitted {
                bump(&mut self.admitted, fr, *v, sign);
            }
        }
    }
}

fn amount(m: &BTreeMap<FlavorResource, (i64, u32)>, flavor: &str, resource: &str) -> i64 {
    // The map is small (flavors x resources of one queue): a linear look avoids building a key.
    m.iter()
        .find(|((f, r), _)| f == flavor && r == resource)
        .map_or(0, |(_, (v, _))| *v)
}

/// Adds (`sign` 1) or takes back (`sign` -1) one contribution of `v` to an entry.
fn bump(m: &mut BTreeMap<FlavorResource, (i64, u32)>, fr: &FlavorResource, v: i64, sign: i64) {
    if sign > 0 {
        let e = m.entry(fr.clone()).or_insert((0, 0));
        e.0 += v;
        e.1 += 1;
    } else if let Some(e) = m.get_mut(fr) {
        e.0 -= v;
        e.1 = e.1.saturating_sub(1);
        if e.1 == 0 {
            m.remove(fr);
        }
    }
}

/// Charges by workload key and the totals they add up to.
#[derive(Clone, Debug, Default)]
pub struct Ledger {
    charges: BTreeMap<ObjectKey, Charge>,
    cluster_queues: BTreeMap<String, Totals>,
    /// By `(LocalQueue key, ClusterQueue)`: a LocalQueue shows what its workloads hold in the
    /// ClusterQueue it points at now.
    local_queues: BTreeMap<(ObjectKey, String), Totals>,
}

impl Ledger {
    /// Sets the charge of workload `key` (`None`: it holds nothing). Returns the queues whose
    /// totals changed: `(ClusterQueues, LocalQueue keys)`, empty when the charge is the same.
    pub fn set(
        &mut self,
        key: &ObjectKey,
        charge: Option<Charge>,
    ) -> (Vec<String>, Vec<ObjectKey>) {
        if self.charges.get(key) == charge.as_ref() {
            return (Vec::new(), Vec::new());
        }
        let mut touched = (Vec::new(), Vec::new());
        if let Some(old) = self.charges.remove(key) {
            self.apply(&old, -1);
            touched.0.push(old.cluster_queue.clone());
            touched.1.push(old.local_queue.clone());
        }
        if let Some(new) = charge {
            self.apply(&new, 1);
            touched.0.push(new.cluster_queue.clone());
            touched.1.push(new.local_queue.clone());
            self.charges.insert(key.clone(), new);
        }
        touched
    }

    fn apply(&mut self, c: &Charge, sign: i64) {
        let cq = self
            .cluster_queues
            .entry(c.cluster_queue.clone())
            .or_default();
        cq.add(c, sign);
        if cq.is_empty() {
            self.cluster_queues.remove(&c.cluster_queue);
        }
        let lq_key = (c.local_queue.clone(), c.cluster_queue.clone());
        let lq = self.local_queues.entry(lq_key.clone()).or_default();
        lq.add(c, sign);
        if lq.is_empty() {
            self.local_queues.remove(&lq_key);
        }
    }

    /// The charge of a workload, if it holds quota.
    pub fn charge(&self, key: &str) -> Option<&Charge> {
        self.charges.get(key)
    }

    /// Every workload holding quota, by key.
    pub fn holders(&self) -> impl Iterator<Item = (&ObjectKey, &Charge)> {
        self.charges.iter()
    }

    /// Totals of a ClusterQueue (`None`: nothing held in it).
    pub fn cluster_queue(&self, name: &str) -> Option<&Totals> {
        self.cluster_queues.get(name)
    }

    /// Totals of LocalQueue `key` in ClusterQueue `cluster_queue`.
    pub fn local_queue(&self, key: &str, cluster_queue: &str) -> Option<&Totals> {
        self.local_queues
            .get(&(ObjectKey::from(key), cluster_queue.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn charge(cq: &str, lq: &str, admitted: bool, usage: &[(&str, &str, i64)]) -> Charge {
        Charge {
            cluster_queue: cq.into(),
            local_queue: lq.into(),
            admitted,
            usage: usage
                .iter()
                .map(|(f, r, v)| (((*f).to_owned(), (*r).to_owned()), *v))
                .collect(),
            assignment: None,
        }
    }

    /// The totals a fresh sum over the holders gives.
    fn summed(
        l: &Ledger,
    ) -> (
        BTreeMap<String, Totals>,
        BTreeMap<(ObjectKey, String), Totals>,
    ) {
        let mut fresh = Ledger::default();
        for (k, c) in l.holders() {
            fresh.set(k, Some(c.clone()));
        }
        (fresh.cluster_queues, fresh.local_queues)
    }

    #[test]
    fn totals_follow_set_and_clear() {
        let mut l = Ledger::default();
        l.set(
            &"ns/a".into(),
            Some(charge("cq", "ns/lq", true, &[("f", "cpu", 1000)])),
        );
        l.set(
            &"ns/b".into(),
            Some(charge("cq", "ns/lq", false, &[("f", "cpu", 3000)])),
        );
        let t = l.cluster_queue("cq").unwrap();
        assert_eq!(t.reserving_of("f", "cpu"), 4000);
        assert_eq!(t.admitted_of("f", "cpu"), 1000);
        assert_eq!((t.reserving_count, t.admitted_count), (2, 1));
        assert_eq!(
            l.local_queue("ns/lq", "cq")
                .unwrap()
                .reserving_of("f", "cpu"),
            4000
        );
        // b becomes admitted; a leaves.
        l.set(
            &"ns/b".into(),
            Some(charge("cq", "ns/lq", true, &[("f", "cpu", 3000)])),
        );
        let touched = l.set(&"ns/a".into(), None);
        assert_eq!(touched, (vec!["cq".to_owned()], vec!["ns/lq".into()]));
        let t = l.cluster_queue("cq").unwrap();
        assert_eq!(
            (t.reserving_of("f", "cpu"), t.admitted_of("f", "cpu")),
            (3000, 3000)
        );
        l.set(&"ns/b".into(), None);
        assert!(l.cluster_queue("cq").is_none());
        assert!(l.local_queue("ns/lq", "cq").is_none());
    }

    #[test]
    fn an_unchanged_charge_touches_nothing() {
        let mut l = Ledger::default();
        let c = charge("cq", "ns/lq", true, &[("f", "cpu", 1)]);
        l.set(&"k".into(), Some(c.clone()));
        assert_eq!(l.set(&"k".into(), Some(c)), (Vec::new(), Vec::new()));
    }

    #[test]
    fn a_zero_entry_stays_while_someone_charges_it() {
        let mut l = Ledger::default();
        l.set(
            &"a".into(),
            Some(charge("cq", "ns/lq", true, &[("f", "gpu", 0)])),
        );
        assert_eq!(
            l.cluster_queue("cq")
                .unwrap()
                .reserving()
                .collect::<Vec<_>>(),
            vec![(&("f".to_owned(), "gpu".to_owned()), 0)]
        );
        l.set(&"a".into(), None);
        assert!(l.cluster_queue("cq").is_none());
    }

    #[test]
    fn incremental_totals_equal_a_fresh_sum_after_any_sequence() {
        // A deterministic pseudo-random walk over set/clear/move between queues.
        let mut l = Ledger::default();
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..5000 {
            let k = format!("ns/w{}", next() % 40);
            let r = next();
            let c = (r % 5 != 0).then(|| {
                charge(
                    ["cq1", "cq2", "cq3"][usize::try_from(r % 3).unwrap()],
                    ["ns/a", "ns/b"][usize::try_from((r >> 8) % 2).unwrap()],
                    (r >> 16) % 2 == 0,
                    &[
                        ("f1", "cpu", i64::try_from((r >> 20) % 7000).unwrap()),
                        ("f2", "memory", i64::try_from((r >> 32) % 3).unwrap()),
                    ][..usize::try_from(1 + (r >> 40) % 2).unwrap()],
                )
            });
            l.set(&k.as_str().into(), c);
            let (cqs, lqs) = summed(&l);
            assert_eq!(l.cluster_queues, cqs);
            assert_eq!(l.local_queues, lqs);
        }
    }
}
