//! One scheduling cycle: a pure function of the snapshot, the pending workloads and the time.
//!
//! Unlike Kueue, which pops one head per ClusterQueue per cycle, a cycle here considers up to
//! `max_evaluations` pending workloads across all ClusterQueues (taken round-robin, each queue in
//! its own order) and admits every one that fits. Safety against over-admission does not rely on
//! one admission per cohort: entries are nominated against the cycle's starting snapshot, ordered
//! as Kueue orders them (non-borrowing first, then priority, then queue time), and then each one is
//! decided against the *live* snapshot, which every admission or preemption has already charged.
//!
//! Preemption follows Kueue's cycle, so that a cycle that admits many never evicts more than Kueue's
//! would: only a ClusterQueue's head (every workload before it admitted or set aside) may preempt;
//! its victims are chosen against the snapshot the cycle started from; a preemptor whose victims
//! overlap an earlier one's waits; and it goes ahead only if it fits once all the cycle's victims
//! are gone, with the earlier preemptors' usage reserved. A workload whose eviction is being
//! written is an evicted candidate (taken first). See docs/scheduling.md.

use crate::key::ObjectKey;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::assign::{self, Mode};
use crate::model::{
    Admitted, PodSet, PodSetAssignment, PreemptionPolicy, QueueingStrategy, Workload,
};
use crate::preempt::{self, Target};
use crate::snapshot::Snapshot;

/// Cycle settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CycleConfig {
    /// Most pending workloads evaluated in one cycle (the rest wait for the next cycle).
    pub max_evaluations: usize,
    /// Partial admission (pod-set `minCount`) is enabled.
    pub partial_admission: bool,
    /// Fair sharing is enabled: entries of a cohort tree are taken by a tournament on dominant
    /// resource share instead of by borrowing level and priority.
    pub fair_sharing: bool,
    /// Fair-sharing preemption strategies (used when `fair_sharing` is on).
    pub fair_strategies: preempt::Strategies,
    /// Most workloads this cycle may admit (`None`: no limit). Kueue's
    /// `waitForPodsReady.blockAdmission`: 0 while an admitted workload's pods are not ready,
    /// else 1 (the one admitted is not ready yet). A workload that would fit beyond the limit
    /// stays pending with reason `Waiting`; preemptions are not limited.
    pub admission_budget: Option<usize>,
}

impl Default for CycleConfig {
    fn default() -> Self {
        Self {
            max_evaluations: 1024,
            partial_admission: true,
            fair_sharing: false,
            fair_strategies: preempt::Strategies::default(),
            admission_budget: None,
        }
    }
}

/// The reason of a workload held by [`CycleConfig::admission_budget`] (Kueue's `Waiting`).
pub const WAITING: &str = "Waiting";
/// Its message (Kueue's).
pub const WAITING_FOR_PODS_READY: &str =
    "waiting for all admitted workloads to be in PodsReady condition";

/// Where a workload that was not admitted goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Requeue {
    /// Back among the heads: it is tried again next cycle.
    Immediately,
    /// Set aside until something changes that could let it fit.
    Inadmissible,
}

/// What the cycle decided for one workload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Quota reserved.
    Admit {
        /// Workload key.
        key: ObjectKey,
        /// ClusterQueue.
        cluster_queue: String,
        /// Flavors and counts per pod set.
        assignment: Vec<PodSetAssignment>,
    },
    /// Not admitted this cycle.
    Pending {
        /// Workload key.
        key: ObjectKey,
        /// QuotaReserved=False reason.
        reason: &'static str,
        /// Message for the condition.
        message: String,
        /// Where it goes.
        requeue: Requeue,
    },
    /// Not evaluated: a StrictFIFO head before it did not fit.
    Blocked {
        /// Workload key.
        key: ObjectKey,
    },
}

impl Decision {
    /// The workload the decision is about.
    pub fn key(&self) -> &ObjectKey {
        match self {
            Self::Admit { key, .. } | Self::Pending { key, .. } | Self::Blocked { key } => key,
        }
    }
}

/// A preemption the cycle issued.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Eviction {
    /// The victim.
    pub target: Target,
    /// The workload it makes room for.
    pub preemptor: ObjectKey,
    /// The preemptor's UID.
    pub preemptor_uid: String,
    /// The preemptor's ClusterQueue.
    pub preemptor_queue: String,
}

/// Everything a cycle decided.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CycleOutcome {
    /// Per evaluated workload, in processing order.
    pub decisions: Vec<Decision>,
    /// Evictions to carry out.
    pub evictions: Vec<Eviction>,
    /// Per ClusterQueue, workloads that found victims but were skipped: their victims overlap
    /// an earlier preemptor's, or they no longer fit once the cycle's other victims are gone
    /// (Kueue's `kueue_admission_cycle_preemption_skips`).
    pub preemption_skips: BTreeMap<String, usize>,
}

struct Entry<'a> {
    wl: &'a Workload,
    borrowing: u32,
    usage: crate::resources::FrAmounts,
    /// What the cycle's starting snapshot said (Kueue's nomination): a workload that fitted or
    /// could preempt then, and no longer does only because of this cycle's own admissions and
    /// reservations, is tried again next cycle rather than set aside.
    start_mode: Mode,
}

/// Workloads with the same shape get the same decision from the same snapshot (Kueue's
/// equivalence hashing): queue, priority, pod sets, and the queue time when a policy compares it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Shape<'a> {
    queue: &'a str,
    priority: i32,
    timestamp: Option<i64>,
    pod_sets: &'a [PodSet],
}

fn shape<'a>(snap: &Snapshot, w: &'a Workload) -> Shape<'a> {
    let by_time = snap.queues.get(&w.cluster_queue).is_some_and(|q| {
        q.preemption.within_cluster_queue == PreemptionPolicy::LowerOrNewerEqualPriority
            || q.preemption.reclaim_within_cohort == PreemptionPolicy::LowerOrNewerEqualPriority
    });
    Shape {
        queue: &w.cluster_queue,
        priority: w.priority,
        timestamp: by_time.then_some(w.timestamp),
        pod_sets: &w.pod_sets,
    }
}

/// Runs one cycle. `pending` holds each ClusterQueue's admissible pending workloads in queue order.
pub fn schedule_cycle(
    snapshot: &Snapshot,
    pending: &BTreeMap<String, Vec<Workload>>,
    now: i64,
    config: &CycleConfig,
) -> CycleOutcome {
    let mut snap = snapshot.clone();
    snap.fair_sharing = config.fair_sharing.then_some(config.fair_strategies);
    let queues: Vec<(&String, &Vec<Workload>)> =
        pending.iter().filter(|(q, _)| snap.is_active(q)).collect();
    let chosen = select(&queues, config.max_evaluations);
    let entries = nominate(&mut snap, chosen, config);
    // StrictFIFO: an entry may only be decided if every earlier workload of its queue was.
    let mut position: BTreeMap<&str, BTreeMap<&str, usize>> = BTreeMap::new();
    for (q, list) in &queues {
        position.insert(
            q.as_str(),
            list.iter()
                .enumerate()
                .map(|(i, w)| (w.key.as_str(), i))
                .collect(),
        );
    }
    let mut out = CycleOutcome::default();
    let mut blocked: BTreeMap<String, usize> = BTreeMap::new();
    let mut victims: BTreeSet<ObjectKey> = BTreeSet::new();
    // Failures by shape, valid while nothing was admitted or preempted since (`generation`).
    let mut failed: HashMap<Shape, (u64, &'static str, String, Requeue)> = HashMap::new();
    let mut generation: u64 = 0;
    let mut admitted_count = 0usize;
    let mut heads = Heads::default();
    let mut work = Work::new(entries, config.fair_sharing);
    let mut preemption = Preemption {
        start: snapshot,
        scratch: None,
        skips: BTreeMap::new(),
    };
    while let Some(e) = work.next(&snap) {
        let q = e.wl.cluster_queue.clone();
        let strict = snap
            .queues
            .get(&q)
            .is_some_and(|c| c.strategy == QueueingStrategy::StrictFifo);
        let pos = position
            .get(q.as_str())
            .and_then(|m| m.get(e.wl.key.as_str()))
            .copied()
            .unwrap_or(0);
        if strict && blocked.get(&q).is_some_and(|b| *b < pos) {
            out.decisions.push(Decision::Blocked {
                key: e.wl.key.clone(),
            });
            continue;
        }
        let key = shape(&snap, e.wl);
        let decision = match failed.get(&key) {
            Some((g, reason, message, requeue)) if *g == generation => Decision::Pending {
                key: e.wl.key.clone(),
                reason,
                message: message.clone(),
                requeue: *requeue,
            },
            _ => {
                let may_admit = config.admission_budget.is_none_or(|b| admitted_count < b);
                let is_head = heads.is_head(&q, pos);
                let d = decide(
                    &mut snap,
                    (e.wl, e.start_mode, may_admit, is_head),
                    (now, config),
                    &mut preemption,
                    &mut victims,
                    &mut out.evictions,
                );
                match &d {
                    Decision::Pending {
                        reason,
                        message,
                        requeue,
                        ..
                    } if *reason != "WaitingForPreemptedWorkloads" => {
                        failed.insert(key, (generation, reason, message.clone(), *requeue));
                    }
                    _ => generation += 1,
                }
                d
            }
        };
        let admitted = matches!(decision, Decision::Admit { .. });
        admitted_count += usize::from(admitted);
        heads.record(&q, pos, &decision);
        if strict && !admitted {
            let b = blocked.entry(q).or_insert(pos);
            *b = (*b).min(pos);
        }
        out.decisions.push(decision);
    }
    out.preemption_skips = preemption.skips;
    out
}

/// Which workload is each ClusterQueue's head as the cycle goes: a workload may preempt only when
/// every workload before it in its queue was admitted or set aside (Kueue's cycle pops one head
/// per ClusterQueue and moves an inadmissible head out of the queue); the others may only take
/// what is free.
#[derive(Default)]
struct Heads(BTreeMap<String, BTreeSet<usize>>);

impl Heads {
    fn is_head(&self, queue: &str, pos: usize) -> bool {
        self.0.get(queue).map_or(0, |set| set.range(..pos).count()) == pos
    }

    fn record(&mut self, queue: &str, pos: usize, decision: &Decision) {
        let passed = matches!(
            decision,
            Decision::Admit { .. }
                | Decision::Pending {
                    requeue: Requeue::Inadmissible,
                    ..
                }
        );
        if passed {
            self.0.entry(queue.to_owned()).or_default().insert(pos);
        }
    }
}

/// Nominates the chosen workloads against the cycle's starting snapshot (which does not change
/// meanwhile, so equal shapes share one evaluation) and orders them as Kueue does, unless fair
/// sharing picks the order as the cycle goes.
fn nominate<'a>(
    snap: &mut Snapshot,
    chosen: Vec<&'a Workload>,
    config: &CycleConfig,
) -> Vec<Entry<'a>> {
    let mut nominated: HashMap<Shape, (u32, crate::resources::FrAmounts, Mode)> = HashMap::new();
    let mut entries: Vec<Entry> = chosen
        .into_iter()
        .map(|w| {
            let key = shape(snap, w);
            let (borrowing, usage, start_mode) = if let Some(b) = nominated.get(&key) {
                b.clone()
            } else {
                let a = assign::assign(snap, w, &full_counts(w));
                nominated.insert(key, (a.borrowing, a.usage.clone(), a.mode));
                (a.borrowing, a.usage, a.mode)
            };
            Entry {
                wl: w,
                borrowing,
                usage,
                start_mode,
            }
        })
        .collect();
    if !config.fair_sharing {
        entries.sort_by(|a, b| {
            a.borrowing
                .cmp(&b.borrowing)
                .then(b.wl.priority.cmp(&a.wl.priority))
                .then(a.wl.timestamp.cmp(&b.wl.timestamp))
                .then(a.wl.uid.cmp(&b.wl.uid))
                .then(a.wl.key.cmp(&b.wl.key))
        });
    }
    entries
}

/// Up to `budget` workloads, round-robin over the queues, each queue in its own order.
fn select<'a>(queues: &[(&String, &'a Vec<Workload>)], budget: usize) -> Vec<&'a Workload> {
    let mut chosen: Vec<&Workload> = Vec::new();
    let mut round = 0;
    while chosen.len() < budget {
        let mut any = false;
        for (_, list) in queues {
            if let Some(w) = list.get(round) {
                chosen.push(w);
                any = true;
                if chosen.len() == budget {
                    break;
                }
            }
        }
        if !any {
            break;
        }
        round += 1;
    }
    chosen
}

/// Order of two workloads inside one ClusterQueue and as the last tie-breaks: higher priority,
/// earlier queue time, UID, key.
fn queue_order(a: &Workload, b: &Workload) -> std::cmp::Ordering {
    b.priority
        .cmp(&a.priority)
        .then(a.timestamp.cmp(&b.timestamp))
        .then(a.uid.cmp(&b.uid))
        .then(a.key.cmp(&b.key))
}

/// The entries still to decide: in one order (classical), or per ClusterQueue in queue order
/// for the fair-sharing tournament.
enum Work<'a> {
    Ordered(std::collections::VecDeque<Entry<'a>>),
    PerQueue(BTreeMap<String, std::collections::VecDeque<Entry<'a>>>),
}

impl<'a> Work<'a> {
    fn new(entries: Vec<Entry<'a>>, fair: bool) -> Self {
        if !fair {
            return Work::Ordered(entries.into());
        }
        let mut per: BTreeMap<String, Vec<Entry<'a>>> = BTreeMap::new();
        for e in entries {
            per.entry(e.wl.cluster_queue.clone()).or_default().push(e);
        }
        Work::PerQueue(
            per.into_iter()
                .map(|(q, mut v)| {
                    v.sort_by(|a, b| queue_order(a.wl, b.wl));
                    (q, v.into())
                })
                .collect(),
        )
    }

    fn next(&mut self, snap: &Snapshot) -> Option<Entry<'a>> {
        match self {
            Work::Ordered(d) => d.pop_front(),
            Work::PerQueue(per) => {
                let heads: BTreeMap<&str, &Entry<'a>> = per
                    .iter()
                    .filter_map(|(q, d)| d.front().map(|e| (q.as_str(), e)))
                    .collect();
                let queue = tournament(snap, &heads)?.to_owned();
                per.get_mut(&queue)?.pop_front()
            }
        }
    }
}

/// The ClusterQueue whose head goes next under fair sharing (Kueue's tournament): in each cohort
/// tree, from the root down, the child (ClusterQueue head or sub-cohort winner) that would not
/// borrow with the workload added wins, then the lower weighted dominant resource share, then
/// queue order. Queues without a cohort compete by queue order with the tree winners.
fn tournament<'h>(snap: &Snapshot, heads: &BTreeMap<&'h str, &Entry<'_>>) -> Option<&'h str> {
    let mut finalists: Vec<&'h str> = Vec::new();
    let mut roots: BTreeSet<&str> = BTreeSet::new();
    for q in heads.keys() {
        match snap.tree.root_of(q) {
            Some(root) => {
                roots.insert(root);
            }
            None => finalists.push(q),
        }
    }
    for root in roots {
        if let Some((q, _)) = cohort_winner(snap, root, heads) {
            finalists.push(q);
        }
    }
    finalists
        .into_iter()
        .min_by(|a, b| queue_order(heads[a].wl, heads[b].wl))
}

fn cohort_winner<'h>(
    snap: &Snapshot,
    cohort: &str,
    heads: &BTreeMap<&'h str, &Entry<'_>>,
) -> Option<(&'h str, crate::fair::Share)> {
    use crate::fair;
    use crate::tree::NodeRef;
    let (queues, cohorts) = snap.tree.children(cohort);
    let mut candidates: Vec<(&'h str, fair::Share)> = Vec::new();
    for q in &queues {
        if let Some((&name, e)) = heads.get_key_value(q.as_str()) {
            let node = NodeRef::Queue(q);
            candidates.push((
                name,
                fair::share(&snap.tree, node, Some(&e.usage), snap.weight(node)),
            ));
        }
    }
    for c in &cohorts {
        if let Some((name, _)) = cohort_winner(snap, c, heads) {
            let node = NodeRef::Cohort(c);
            candidates.push((
                name,
                fair::share(
                    &snap.tree,
                    node,
                    Some(&heads[name].usage),
                    snap.weight(node),
                ),
            ));
        }
    }
    candidates.into_iter().min_by(|(i, a), (j, b)| {
        (a.ratio > 0.0)
            .cmp(&(b.ratio > 0.0))
            .then(fair::compare(a, b))
            .then(queue_order(heads[i].wl, heads[j].wl))
    })
}

fn full_counts(w: &Workload) -> Vec<i32> {
    w.pod_sets.iter().map(|p| p.count).collect()
}

/// Counts for step `i` of the partial-admission search (`d` = total reducible pods).
fn reduced_counts(w: &Workload, i: i64, d: i64) -> Vec<i32> {
    w.pod_sets
        .iter()
        .map(|p| match p.min_count {
            Some(min) if min < p.count && d > 0 => {
                let span = i64::from(p.count - min);
                let cut = span.saturating_mul(i) / d;
                p.count - i32::try_from(cut).unwrap_or(0)
            }
            _ => p.count,
        })
        .collect()
}

/// The assignment to act on: full counts if they fit (or can preempt), else the largest partial
/// admission that does, else the failing full assignment.
fn best_assignment(
    snap: &mut Snapshot,
    wl: &Workload,
    config: &CycleConfig,
    victims: &BTreeSet<ObjectKey>,
) -> (assign::Assignment, Vec<Target>) {
    let probe = |snap: &mut Snapshot, counts: &[i32]| {
        let a = assign::assign(snap, wl, counts);
        let t = if matches!(a.mode, Mode::Preempt | Mode::Reclaim) {
            preempt::targets(snap, wl, &a.usage, &a.needs_preemption)
        } else {
            Vec::new()
        };
        let ok =
            a.mode == Mode::Fit || (!t.is_empty() && t.iter().all(|x| !victims.contains(&x.key)));
        (a, t, ok)
    };
    let (full, targets, ok) = probe(snap, &full_counts(wl));
    if ok || !config.partial_admission {
        return (full, targets);
    }
    let d: i64 = wl
        .pod_sets
        .iter()
        .filter_map(|p| {
            p.min_count
                .filter(|m| *m < p.count)
                .map(|m| i64::from(p.count - m))
        })
        .sum();
    if d == 0 {
        return (full, targets);
    }
    // Smallest reduction that works, by binary search (feasibility grows with the reduction).
    let (mut lo, mut hi) = (1_i64, d);
    let mut found: Option<(assign::Assignment, Vec<Target>)> = None;
    while lo <= hi {
        let mid = lo + (hi - lo) / 2;
        let (a, t, ok) = probe(snap, &reduced_counts(wl, mid, d));
        if ok {
            found = Some((a, t));
            hi = mid - 1;
        } else {
            lo = mid + 1;
        }
    }
    found.unwrap_or((full, targets))
}

/// Runs `f` on the snapshot without `gone` (workloads whose eviction this cycle decided), then
/// puts them back.
fn without<T>(snap: &mut Snapshot, gone: &[&Target], f: impl FnOnce(&mut Snapshot) -> T) -> T {
    let removed: Vec<Admitted> = gone
        .iter()
        .filter_map(|t| snap.remove(&t.cluster_queue, &t.key))
        .collect();
    let out = f(snap);
    for a in removed {
        snap.add(a);
    }
    out
}

/// The cycle's view of preemption, as Kueue's: victims are chosen against the snapshot the cycle
/// started from (`start`), by a ClusterQueue's head only; a preemptor whose victims overlap an
/// earlier preemptor's waits, and one is let go only if it fits once every victim of the cycle is
/// gone (the earlier preemptors' usage reserved). Nothing is evicted for capacity an earlier
/// eviction of the same cycle already frees.
struct Preemption<'s> {
    start: &'s Snapshot,
    scratch: Option<Snapshot>,
    skips: BTreeMap<String, usize>,
}

impl Preemption<'_> {
    fn targets(
        &mut self,
        wl: &Workload,
        config: &CycleConfig,
    ) -> (assign::Assignment, Vec<Target>) {
        let scratch = self.scratch.get_or_insert_with(|| {
            let mut s = self.start.clone();
            s.fair_sharing = config.fair_sharing.then_some(config.fair_strategies);
            s
        });
        best_assignment(scratch, wl, config, &BTreeSet::new())
    }

    /// Whether a workload that needs preemption on the live snapshot may preempt now, and with
    /// which assignment and victims (chosen from the cycle's start); the Pending decision if not.
    fn admit(
        &mut self,
        snap: &mut Snapshot,
        (wl, a, is_head, strict): (&Workload, &assign::Assignment, bool, bool),
        config: &CycleConfig,
        victims: &BTreeSet<ObjectKey>,
        evictions: &[Eviction],
    ) -> Result<(assign::Assignment, Vec<Target>), Decision> {
        let pending = |reason: &'static str, message: String| Decision::Pending {
            key: wl.key.clone(),
            reason,
            message,
            requeue: Requeue::Immediately,
        };
        if !is_head {
            // Not its queue's turn to preempt: it waits in the queue (Kueue does not look at it
            // until the workloads before it are admitted).
            return Err(pending(
                a.no_fit_reason
                    .map_or("WaitingForQuota", assign::NoFitReason::as_str),
                a.messages.join("; "),
            ));
        }
        let (a0, t0) = self.targets(wl, config);
        if matches!(a0.mode, Mode::Preempt | Mode::Reclaim) && !t0.is_empty() {
            if t0.iter().any(|t| victims.contains(&t.key)) {
                *self.skips.entry(wl.cluster_queue.clone()).or_default() += 1;
                return Err(pending(
                    "WaitingForQuota",
                    "Workload has overlapping preemption targets with another workload".into(),
                ));
            }
            let gone: Vec<&Target> = evictions
                .iter()
                .map(|e| &e.target)
                .chain(t0.iter())
                .collect();
            let fits = without(snap, &gone, |s| s.fits(&wl.cluster_queue, &a0.usage));
            if !fits {
                *self.skips.entry(wl.cluster_queue.clone()).or_default() += 1;
                return Err(pending(
                    "WaitingForQuota",
                    "Workload no longer fits after processing another workload".into(),
                ));
            }
            Ok((a0, t0))
        } else if a0.mode == Mode::Fit {
            // It fitted when the cycle started: what changed since is this cycle's own
            // admissions and reservations; tried again next cycle.
            Err(pending(
                "WaitingForQuota",
                "Workload no longer fits after processing another workload".into(),
            ))
        } else {
            // No victims even at the start: set aside until something changes (Kueue's
            // inadmissible list), as any workload that cannot fit.
            Err(Decision::Pending {
                key: wl.key.clone(),
                reason: a0
                    .no_fit_reason
                    .map_or("WaitingForQuota", assign::NoFitReason::as_str),
                message: a0.messages.join("; "),
                requeue: if strict {
                    Requeue::Immediately
                } else {
                    Requeue::Inadmissible
                },
            })
        }
    }
}

fn decide(
    snap: &mut Snapshot,
    (wl, start_mode, may_admit, is_head): (&Workload, Mode, bool, bool),
    (now, config): (i64, &CycleConfig),
    preemption: &mut Preemption<'_>,
    victims: &mut BTreeSet<ObjectKey>,
    evictions: &mut Vec<Eviction>,
) -> Decision {
    let strict = snap
        .queues
        .get(&wl.cluster_queue)
        .is_some_and(|c| c.strategy == QueueingStrategy::StrictFifo);
    let (mut a, mut targets) = best_assignment(snap, wl, config, victims);
    if matches!(a.mode, Mode::Preempt | Mode::Reclaim) {
        match preemption.admit(snap, (wl, &a, is_head, strict), config, victims, evictions) {
            Ok((a0, t0)) => {
                a = a0;
                targets = t0;
            }
            Err(pending) => return pending,
        }
    }
    let message = a.messages.join("; ");
    match a.mode {
        Mode::Fit if !may_admit => {
            // Held, as Kueue holds it after reserving its usage: later entries cannot take the
            // capacity it waits for.
            snap.tree.add_usage(&wl.cluster_queue, &a.usage);
            Decision::Pending {
                key: wl.key.clone(),
                reason: WAITING,
                message: WAITING_FOR_PODS_READY.into(),
                requeue: Requeue::Immediately,
            }
        }
        Mode::Fit => {
            snap.add(Admitted {
                workload: wl.clone(),
                assignment: a.pod_sets.clone(),
                reserved_at: now,
                evicted: false,
            });
            Decision::Admit {
                key: wl.key.clone(),
                cluster_queue: wl.cluster_queue.clone(),
                assignment: a.pod_sets,
            }
        }
        Mode::Preempt | Mode::Reclaim if !targets.is_empty() => {
            if targets.iter().any(|t| victims.contains(&t.key)) {
                return Decision::Pending {
                    key: wl.key.clone(),
                    reason: "WaitingForQuota",
                    message: "Workload has overlapping preemption targets with another workload"
                        .into(),
                    requeue: Requeue::Immediately,
                };
            }
            for t in &targets {
                victims.insert(t.key.clone());
                evictions.push(Eviction {
                    target: t.clone(),
                    preemptor: wl.key.clone(),
                    preemptor_uid: wl.uid.clone(),
                    preemptor_queue: wl.cluster_queue.clone(),
                });
            }
            // Reserve the preemptor's usage so later entries cannot take the capacity it waits for.
            snap.tree.add_usage(&wl.cluster_queue, &a.usage);
            Decision::Pending {
                key: wl.key.clone(),
                reason: "WaitingForPreemptedWorkloads",
                message: format!(
                    "{message}. Pending the preemption of {} workload(s)",
                    targets.len()
                ),
                requeue: Requeue::Immediately,
            }
        }
        _ => Decision::Pending {
            key: wl.key.clone(),
            reason: a
                .no_fit_reason
                .map_or("WaitingForQuota", assign::NoFitReason::as_str),
            message,
            // Set aside only if it did not fit at the cycle's start either: what this cycle
            // admitted or reserved is no reason to park it until the next quota change.
            requeue: if strict || matches!(start_mode, Mode::Fit | Mode::Preempt | Mode::Reclaim) {
                Requeue::Immediately
            } else {
                Requeue::Inadmissible
            },
        },
    }
}

#[cfg(test)]
mod tests;
