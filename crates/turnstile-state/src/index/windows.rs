//! What TimeWindowPolicies do to the queues they target, as the cache sees it: the windows
//! controller reports each policy's state ([`WindowPolicy`]); the cache resolves its targets
//! (names, the label selector, LocalQueues), combines the policies on each queue (closed wins,
//! Drain beats Hold) and re-places only the workloads of the queues whose effect changed. Where a
//! workload stands ([`Index::standing`]), what the lifecycle evicts and lets back
//! ([`Index::upkeep`]) and the order drained work resumes in read the combined effect.

use std::collections::BTreeMap;

use turnstile_core::ObjectKey;

use turnstile_api::v1alpha1::{CloseAction, ResumeOrder, WindowState, WindowTargets};

use super::{Index, Standing, condition, conditions, reasons};

/// One policy's state now, as its controller computed it from the calendar.
#[derive(Clone, Debug, PartialEq)]
pub struct WindowPolicy {
    /// The policy's name.
    pub name: String,
    /// The queues it names or selects.
    pub targets: WindowTargets,
    /// Hold or Drain.
    pub action: CloseAction,
    /// Open, Closing or Closed (for display and metrics; `admits` and `drains` decide).
    pub state: WindowState,
    /// Whether the targets may admit now (false when closed or inside the admission cut-off).
    pub admits: bool,
    /// Whether admitted work is to be evicted now (Drain, closed, grace period over).
    pub drains: bool,
    /// When the targets open again (RFC 3339), if known.
    pub reopens_at: Option<String>,
    /// While Closing: when the targets close (RFC 3339).
    pub closes_at: Option<String>,
    /// While Closing with Drain: when admitted work starts being drained (the close plus the
    /// grace period, RFC 3339).
    pub drains_at: Option<String>,
    /// Drain: evictions under way at once per target, at most.
    pub max_concurrent_suspensions: Option<u32>,
    /// The order drained work resumes in.
    pub resume_order: ResumeOrder,
}

/// The policies' combined effect on one queue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WindowEffect {
    /// The policy the effect is told under: the first draining one by name, else the first
    /// closed one, else the first one.
    pub policy: String,
    /// Whether the queue may admit.
    pub admits: bool,
    /// Whether its admitted work is to be evicted.
    pub drains: bool,
    /// When every closed policy on it has opened again (the latest reopening), if known.
    pub reopens_at: Option<String>,
    /// The tightest limit of the draining policies.
    pub max_concurrent_suspensions: Option<u32>,
    /// The deciding policy's resume order.
    pub resume_order: ResumeOrder,
    /// The soonest drain announced by a Closing policy with Drain: (policy, close, drain start).
    pub notice: Option<(String, String, String)>,
    /// Every policy targeting the queue, by name.
    pub policies: Vec<String>,
}

impl WindowEffect {
    /// Combines the policies on one queue (`policies` sorted by name).
    fn combine(policies: &[&WindowPolicy]) -> Option<Self> {
        let first = policies.first()?;
        let deciding = policies
            .iter()
            .find(|p| p.drains)
            .or_else(|| policies.iter().find(|p| !p.admits))
            .unwrap_or(first);
        let closed: Vec<&&WindowPolicy> = policies.iter().filter(|p| !p.admits).collect();
        // The queue opens when the last closed policy does; unknown if any does not say.
        let reopens_at = if closed.iter().all(|p| p.reopens_at.is_some()) {
            closed.iter().filter_map(|p| p.reopens_at.clone()).max()
        } else {
            None
        };
        Some(Self {
            policy: deciding.name.clone(),
            admits: closed.is_empty(),
            drains: policies.iter().any(|p| p.drains),
            reopens_at,
            max_concurrent_suspensions: policies
                .iter()
                .filter(|p| p.drains)
                .filter_map(|p| p.max_concurrent_suspensions)
                .min(),
            resume_order: deciding.resume_order,
            notice: policies
                .iter()
                .filter(|p| p.state == WindowState::Closing && p.action == CloseAction::Drain)
                .filter_map(|p| {
                    Some((
                        p.closes_at.clone()?,
                        p.name.clone(),
                        p.drains_at.clone().or_else(|| p.closes_at.clone())?,
                    ))
                })
                .min()
                .map(|(closes, name, drains)| (name, closes, drains)),
            policies: policies.iter().map(|p| p.name.clone()).collect(),
        })
    }

    /// The condition message for a workload this effect holds or evicts.
    pub fn message(&self, queue: &str) -> String {
        let until = self.reopens_at.as_ref().map_or_else(
            || " (no reopening scheduled)".to_owned(),
            |t| format!(" until {t}"),
        );
        format!(
            "{queue} is closed by TimeWindowPolicy {}{until}",
            self.policy
        )
    }
}

/// A queue a policy applies to.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum WindowTarget {
    /// A ClusterQueue by name.
    ClusterQueue(String),
    /// A LocalQueue by `namespace/name`.
    LocalQueue(ObjectKey),
}

impl std::fmt::Display for WindowTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::ClusterQueue(n) => write!(f, "cq/{n}"),
            Self::LocalQueue(k) => write!(f, "lq/{k}"),
        }
    }
}

impl Index {
    /// Replaces the policies' states. Returns the queues whose effect changed; their workloads
    /// have been placed again.
    pub fn set_window_policies(&mut self, policies: Vec<WindowPolicy>) -> Vec<WindowTarget> {
        self.window_policies = policies.into_iter().map(|p| (p.name.clone(), p)).collect();
        self.reresolve_windows()
    }

    /// The queues policy `name` applies to now, in order.
    pub fn window_targets(&self, name: &str) -> Vec<WindowTarget> {
        self.window_policies
            .get(name)
            .map(|p| self.resolve(&p.targets))
            .unwrap_or_default()
    }

    /// The combined effect on ClusterQueue `name`, if any policy targets it.
    pub fn window_of_cluster_queue(&self, name: &str) -> Option<&WindowEffect> {
        self.window_effects
            .get(&WindowTarget::ClusterQueue(name.to_owned()))
    }

    /// The combined effect on LocalQueue `key`, if any policy targets it.
    pub fn window_of_local_queue(&self, key: &ObjectKey) -> Option<&WindowEffect> {
        self.window_effects
            .get(&WindowTarget::LocalQueue(key.clone()))
    }

    /// The effect that closes a workload's queues to admission: its ClusterQueue's, else its
    /// LocalQueue's, with the queue it is told under.
    pub(super) fn window_closing(
        &self,
        cq: &str,
        lq_key: &ObjectKey,
    ) -> Option<(String, &WindowEffect)> {
        if let Some(e) = self.window_of_cluster_queue(cq).filter(|e| !e.admits) {
            return Some((format!("ClusterQueue {cq}"), e));
        }
        self.window_of_local_queue(lq_key)
            .filter(|e| !e.admits)
            .map(|e| (format!("LocalQueue {lq_key}"), e))
    }

    /// The drain announced for an admitted workload's queues: the `TimeWindowClosing` message
    /// and the close.
    pub(super) fn window_notice(&self, cq: &str, lq_key: &ObjectKey) -> Option<(String, String)> {
        let (queue, effect) = match self.window_of_cluster_queue(cq) {
            Some(e) if e.notice.is_some() => (format!("ClusterQueue {cq}"), e),
            _ => (
                format!("LocalQueue {lq_key}"),
                self.window_of_local_queue(lq_key)?,
            ),
        };
        let (policy, closes, drains) = effect.notice.as_ref()?;
        Some((
            format!(
                "{queue} closes at {closes} (TimeWindowPolicy {policy}, Drain): admitted work is suspended from {drains}; checkpoint before then"
            ),
            closes.clone(),
        ))
    }

    /// The effect draining a workload's queues, with the target it is paced under.
    pub(super) fn window_draining(
        &self,
        cq: &str,
        lq_key: &ObjectKey,
    ) -> Option<(WindowTarget, String, &WindowEffect)> {
        if let Some(e) = self.window_of_cluster_queue(cq).filter(|e| e.drains) {
            return Some((
                WindowTarget::ClusterQueue(cq.to_owned()),
                format!("ClusterQueue {cq}"),
                e,
            ));
        }
        self.window_of_local_queue(lq_key)
            .filter(|e| e.drains)
            .map(|e| {
                (
                    WindowTarget::LocalQueue(lq_key.clone()),
                    format!("LocalQueue {lq_key}"),
                    e,
                )
            })
    }

    fn resolve(&self, targets: &WindowTargets) -> Vec<WindowTarget> {
        let mut out: Vec<WindowTarget> = targets
            .cluster_queues
            .iter()
            .map(|n| WindowTarget::ClusterQueue(n.clone()))
            .collect();
        if let Some(selector) = &targets.cluster_queue_selector {
            for (name, cq) in &self.cluster_queues {
                let labels = cq.metadata.labels.clone().unwrap_or_default();
                if turnstile_api::selector::matches(selector, &labels) {
                    out.push(WindowTarget::ClusterQueue(name.clone()));
                }
            }
        }
        out.extend(
            targets
                .local_queues
                .iter()
                .map(|l| WindowTarget::LocalQueue(ObjectKey::new(&l.namespace, &l.name))),
        );
        out.sort();
        out.dedup();
        out
    }

    /// Computes every queue's effect again and re-places the workloads of those that changed.
    pub(super) fn reresolve_windows(&mut self) -> Vec<WindowTarget> {
        let mut by_target: BTreeMap<WindowTarget, Vec<&WindowPolicy>> = BTreeMap::new();
        for p in self.window_policies.values() {
            for t in self.resolve(&p.targets) {
                by_target.entry(t).or_default().push(p);
            }
        }
        let effects: BTreeMap<WindowTarget, WindowEffect> = by_target
            .into_iter()
            .filter_map(|(t, ps)| WindowEffect::combine(&ps).map(|e| (t, e)))
            .collect();
        let mut changed: Vec<WindowTarget> = effects
            .iter()
            .filter(|(t, e)| self.window_effects.get(*t) != Some(*e))
            .map(|(t, _)| t.clone())
            .collect();
        changed.extend(
            self.window_effects
                .keys()
                .filter(|t| !effects.contains_key(*t))
                .cloned(),
        );
        changed.sort();
        changed.dedup();
        self.window_effects = effects;
        for t in &changed {
            match t {
                WindowTarget::ClusterQueue(n) => self.replace_cluster_queue_members(n),
                WindowTarget::LocalQueue(k) => self.replace_local_queue_members(k),
            }
        }
        changed
    }

    /// Every policy's reported state, by name.
    pub fn window_policies(&self) -> impl Iterator<Item = &WindowPolicy> {
        self.window_policies.values()
    }

    /// Workloads of policy `name`'s targets now: admitted ones, and those the windows keep out
    /// (pending with `TimeWindowClosed`, or drained and waiting for the reopen). Looks at the
    /// targets' own workloads only.
    pub fn window_affected(&self, name: &str) -> (i32, i32) {
        let mut local_queues: Vec<ObjectKey> = Vec::new();
        let mut admitted = 0;
        for t in self.window_targets(name) {
            match t {
                WindowTarget::ClusterQueue(cq) => {
                    admitted += self
                        .ledger
                        .cluster_queue(&cq)
                        .map_or(0, |t| t.admitted_count);
                    local_queues.extend(
                        self.local_queues
                            .iter()
                            .filter(|(_, lq)| {
                                lq.spec
                                    .cluster_queue
                                    .as_ref()
                                    .map(turnstile_api::ClusterQueueReference::as_str)
                                    == Some(cq.as_str())
                            })
                            .map(|(k, _)| k.clone()),
                    );
                }
                WindowTarget::LocalQueue(key) => {
                    if let Some(cq) = self
                        .local_queues
                        .get(&key)
                        .and_then(|lq| lq.spec.cluster_queue.as_ref())
                    {
                        admitted += self
                            .ledger
                            .local_queue(&key, cq.as_str())
                            .map_or(0, |t| t.admitted_count);
                    }
                    local_queues.push(key);
                }
            }
        }
        local_queues.sort();
        local_queues.dedup();
        let mut held = 0;
        for key in local_queues
            .iter()
            .filter_map(|q| self.members.get(q))
            .flatten()
        {
            let by_window = match self.standing(key) {
                Some(Standing::Blocked { reason, .. }) => reason == reasons::TIME_WINDOW_CLOSED,
                Some(Standing::Parked) => self.workloads.get(key).is_some_and(|wl| {
                    condition(wl, conditions::REQUEUED)
                        .is_some_and(|c| c.reason == reasons::TIME_WINDOW_CLOSED)
                }),
                _ => false,
            };
            if by_window {
                held += 1;
            }
        }
        (admitted, held)
    }

    /// Whether ClusterQueue label changes can move a policy's targets.
    pub(super) fn windows_select_by_label(&self) -> bool {
        self.window_policies
            .values()
            .any(|p| p.targets.cluster_queue_selector.is_some())
    }
}
