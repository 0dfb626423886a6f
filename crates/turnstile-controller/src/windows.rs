//! The TimeWindowPolicy controller: each policy's state is a function of the clock and its spec
//! (`turnstile_windows`), recomputed level-triggered on every policy event and at the next
//! transition any policy announces — no polling of the calendar, no "missed schedule" catch-up: a
//! restart simply computes the state of now. Every replica feeds the states into the cache (the
//! scheduler then holds, drains and lets back through the one Workload lifecycle); the leader also
//! writes each policy's status, an Event on each transition and the transition counter.
//!
//! The clock is injected ([`Clock`]) so that tests run windows seconds long.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};
use kube::{Client, ResourceExt};
use serde_json::json;
use turnstile_api::v1alpha1::{
    Affected, CloseAction, TimeWindowPolicy, TimeWindowPolicyStatus, WindowSpan, WindowState,
};
use turnstile_state::index::WindowPolicy;

use crate::metrics;
use crate::scheduler::Shared;

/// Where the time comes from.
pub trait Clock: Send + Sync + 'static {
    /// Now.
    fn now(&self) -> jiff::Timestamp;
}

/// The system clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> jiff::Timestamp {
        jiff::Timestamp::now()
    }
}

/// Condition types on a TimeWindowPolicy.
pub mod condition_types {
    /// The spec is valid and the policy in effect.
    pub const READY: &str = "Ready";
    /// Another policy targets one of the same queues with a different action.
    pub const CONFLICTING: &str = "Conflicting";
    /// `spec.override` decides the state now.
    pub const OVERRIDE_ACTIVE: &str = "OverrideActive";
}

/// Longest sleep between two evaluations: the next transition is computed from the clock, and a
/// clock stepped by NTP or a suspended VM would otherwise be noticed only then. Also how often
/// the `affected` counts in the status are refreshed.
const REFRESH: Duration = Duration::from_secs(30);

/// One policy assessed at a point in time: its effect for the cache, the status the calendar
/// implies, and when to look again.
#[derive(Clone, Debug, PartialEq)]
pub struct Assessed {
    /// The effect; `None` when the spec is invalid (an invalid policy closes nothing).
    pub policy: Option<WindowPolicy>,
    /// The status, without the parts the cache knows (targets, affected, conflicts).
    pub status: TimeWindowPolicyStatus,
    /// The next instant its state changes.
    pub next: Option<jiff::Timestamp>,
}

fn time(t: jiff::Timestamp) -> Time {
    Time(t)
}

fn condition(type_: &str, ok: bool, reason: &str, message: String) -> Condition {
    Condition {
        type_: type_.to_owned(),
        status: if ok { "True" } else { "False" }.to_owned(),
        reason: reason.to_owned(),
        message,
        // Filled in when the status is written (kept when the condition does not change).
        last_transition_time: Time(jiff::Timestamp::UNIX_EPOCH),
        observed_generation: None,
    }
}

/// The state policy `twp` gives its targets at `now`. Pure.
pub fn assess(twp: &TimeWindowPolicy, now: jiff::Timestamp) -> Assessed {
    let generation = twp.metadata.generation;
    let mut status = TimeWindowPolicyStatus {
        time_zone_database: Some(turnstile_windows::tzdb_version().to_owned()),
        ..TimeWindowPolicyStatus::default()
    };
    let schedule = match turnstile_windows::compile(&twp.spec) {
        Ok(s) => s,
        Err(errors) => {
            let message = errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ");
            let mut ready = condition(condition_types::READY, false, "InvalidSpec", message);
            ready.observed_generation = generation;
            status.conditions.push(ready);
            return Assessed {
                policy: None,
                status,
                next: None,
            };
        }
    };
    let eval = schedule.at(now);
    status.state = Some(eval.state);
    status.current_window = eval.current_window.map(|(start, end)| WindowSpan {
        start: time(start),
        end: time(end),
    });
    status.next_transition_time = eval.next_transition.map(time);
    let mut ready = condition(
        condition_types::READY,
        true,
        "Active",
        format!(
            "calendar in {} (time-zone database {})",
            twp.spec.time_zone,
            turnstile_windows::tzdb_version()
        ),
    );
    ready.observed_generation = generation;
    status.conditions.push(ready);
    let mut over = match &twp.spec.r#override {
        Some(o) if eval.override_active => condition(
            condition_types::OVERRIDE_ACTIVE,
            true,
            "OverrideActive",
            format!("{:?} until {}", o.state, o.until.0),
        ),
        _ => condition(
            condition_types::OVERRIDE_ACTIVE,
            false,
            "NoOverride",
            "the calendar decides".to_owned(),
        ),
    };
    over.observed_generation = generation;
    status.conditions.push(over);
    let drains = twp.spec.on_close.action == CloseAction::Drain
        && eval.state == WindowState::Closed
        && eval.drain_at.is_some_and(|t| t <= now);
    let closing = eval
        .closes_at
        .filter(|_| eval.state == WindowState::Closing);
    let policy = WindowPolicy {
        name: twp.name_any(),
        targets: twp.spec.targets.clone(),
        action: twp.spec.on_close.action,
        state: eval.state,
        admits: eval.admits,
        drains,
        reopens_at: eval.reopens_at.map(|t| t.to_string()),
        closes_at: closing.map(|t| t.to_string()),
        drains_at: closing
            .filter(|_| twp.spec.on_close.action == CloseAction::Drain)
            .map(|t| {
                let grace = twp.spec.on_close.drain_grace_period_seconds.unwrap_or(0);
                t.checked_add(jiff::SignedDuration::from_secs(grace))
                    .unwrap_or(t)
                    .to_string()
            }),
        max_concurrent_suspensions: twp
            .spec
            .on_close
            .max_concurrent_suspensions
            .and_then(|n| u32::try_from(n).ok()),
        resume_order: twp
            .spec
            .resume
            .as_ref()
            .and_then(|r| r.order)
            .unwrap_or_default(),
    };
    Assessed {
        policy: Some(policy),
        status,
        next: eval.next_transition,
    }
}

/// The conditions of `desired`, keeping the transition time of each one that did not change
/// from `current` and stamping the others with `now`.
fn stamp(current: &[Condition], desired: &mut [Condition], now: jiff::Timestamp) {
    for c in desired {
        c.last_transition_time = current
            .iter()
            .find(|o| o.type_ == c.type_ && o.status == c.status)
            .map_or(Time(now), |o| o.last_transition_time.clone());
    }
}

/// Whether two statuses differ in anything but condition transition times.
fn differs(a: &TimeWindowPolicyStatus, b: &TimeWindowPolicyStatus) -> bool {
    let strip = |s: &TimeWindowPolicyStatus| {
        let mut s = s.clone();
        for c in &mut s.conditions {
            c.last_transition_time = Time(jiff::Timestamp::UNIX_EPOCH);
        }
        s.conditions.sort_by(|x, y| x.type_.cmp(&y.type_));
        s
    };
    strip(a) != strip(b)
}

/// Runs the controller until the process ends. `ready` is set once the policies have been
/// listed and their states are in the cache (the scheduler must not admit before: a restart in
/// a closed window would otherwise admit into it).
pub async fn run(client: Client, shared: Shared, clock: Arc<dyn Clock>, ready: Arc<AtomicBool>) {
    let api: Api<TimeWindowPolicy> = Api::all(client.clone());
    let stream = watcher::watcher(api.clone(), watcher::Config::default())
        .backoff(crate::watch_backoff::WatchBackoff::default());
    let mut stream = std::pin::pin!(stream);
    let mut policies: BTreeMap<String, TimeWindowPolicy> = BTreeMap::new();
    let mut listing: BTreeMap<String, TimeWindowPolicy> = BTreeMap::new();
    let mut listed = false;
    let mut next: Option<jiff::Timestamp> = None;
    loop {
        let sleep = next.map_or(REFRESH, |t| {
            let ms = (t - clock.now())
                .total(jiff::Unit::Millisecond)
                .unwrap_or(0.0);
            // A transition is acted on once it has passed; 5 ms late rather than early.
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let d = Duration::from_millis(ms.max(0.0) as u64 + 5);
            d.min(REFRESH)
        });
        tokio::select! {
            ev = stream.next() => {
                let Some(ev) = ev else { return };
                match ev {
                    Ok(Event::Init) => listing.clear(),
                    Ok(Event::InitApply(p)) => {
                        listing.insert(p.name_any(), p);
                    }
                    Ok(Event::InitDone) => {
                        policies = std::mem::take(&mut listing);
                        listed = true;
                    }
                    Ok(Event::Apply(p)) => {
                        policies.insert(p.name_any(), p);
                    }
                    Ok(Event::Delete(p)) => {
                        policies.remove(&p.name_any());
                    }
                    Err(e) => {
                        // Without the CRD (a chart upgraded without its new CRD) there are no
                        // policies: the queues run, and the error says why.
                        if !listed && is_not_found(&e) {
                            tracing::warn!(error = %e, "TimeWindowPolicy CRD not installed; no time windows apply");
                            listed = true;
                        } else {
                            tracing::warn!(error = %e, "TimeWindowPolicy watch error (retrying)");
                        }
                    }
                }
            }
            () = tokio::time::sleep(sleep) => {}
        }
        shared.heartbeats.beat("time-windows");
        if !listed {
            continue;
        }
        next = reconcile(&client, &shared, &policies, clock.now()).await;
        ready.store(true, Ordering::SeqCst);
    }
}

fn is_not_found(e: &watcher::Error) -> bool {
    match e {
        watcher::Error::InitialListFailed(kube::Error::Api(s))
        | watcher::Error::WatchFailed(kube::Error::Api(s)) => s.code == 404,
        _ => false,
    }
}

/// Puts every policy's state into the cache and, on the leader, writes the statuses that
/// changed. Returns the next transition of any policy.
async fn reconcile(
    client: &Client,
    shared: &Shared,
    policies: &BTreeMap<String, TimeWindowPolicy>,
    now: jiff::Timestamp,
) -> Option<jiff::Timestamp> {
    let assessed: Vec<(&TimeWindowPolicy, Assessed)> =
        policies.values().map(|p| (p, assess(p, now))).collect();
    let next = assessed.iter().filter_map(|(_, a)| a.next).min();
    let leader = shared.leader.holds();
    let mut writes = Vec::new();
    {
        let Ok(mut ix) = shared.index.lock() else {
            return next;
        };
        let changed = ix.set_window_policies(
            assessed
                .iter()
                .filter_map(|(_, a)| a.policy.clone())
                .collect(),
        );
        if !changed.is_empty() {
            tracing::info!(queues = ?changed.iter().map(ToString::to_string).collect::<Vec<_>>(), "time windows changed");
        }
        if leader {
            for (twp, a) in &assessed {
                let name = twp.name_any();
                let mut status = a.status.clone();
                if a.policy.is_some() {
                    let targets = ix.window_targets(&name);
                    status.target_summary = Some(summary(&targets));
                    let (admitted, held) = ix.window_affected(&name);
                    status.affected = Some(Affected {
                        admitted,
                        held_by_window: held,
                    });
                    status
                        .conditions
                        .push(conflicts(&ix, twp, &targets, twp.metadata.generation));
                }
                let current = twp.status.clone().unwrap_or_default();
                stamp(&current.conditions, &mut status.conditions, now);
                if differs(&current, &status) {
                    writes.push(((*twp).clone(), current, status));
                }
            }
        }
    }
    shared.wake.notify_one();
    for (twp, current, status) in writes {
        let name = twp.name_any();
        if current.state != status.state
            && let Some(state) = status.state
        {
            transition(shared, &twp, current.state, state, &status);
        }
        let api: Api<TimeWindowPolicy> = Api::all(client.clone());
        let r = api
            .patch_status(
                &name,
                &PatchParams::default(),
                &Patch::Merge(json!({ "status": status })),
            )
            .await
            .map(|_| ());
        if let Err(e) = metrics::write("patch", "timewindowpolicies", r) {
            tracing::warn!(policy = %name, error = %e, "TimeWindowPolicy status not written");
        }
    }
    next
}

/// An Event and the transition counter for a state change.
fn transition(
    shared: &Shared,
    twp: &TimeWindowPolicy,
    from: Option<WindowState>,
    to: WindowState,
    status: &TimeWindowPolicyStatus,
) {
    let next = status
        .next_transition_time
        .as_ref()
        .map_or_else(|| "none scheduled".to_owned(), |t| t.0.to_string());
    let (reason, what) = match to {
        WindowState::Open => ("WindowOpened", "open: the targeted queues admit"),
        WindowState::Closing => (
            "WindowClosing",
            "closing: a close is near (notice / admission cut-off)",
        ),
        WindowState::Closed => match twp.spec.on_close.action {
            CloseAction::Hold => (
                "WindowClosed",
                "closed: the targeted queues admit nothing new",
            ),
            CloseAction::Drain => (
                "WindowClosed",
                "closed: the targeted queues admit nothing new and their admitted workloads are drained after the grace period",
            ),
        },
    };
    let from = from.map_or_else(|| "unknown".to_owned(), |s| format!("{s:?}"));
    shared.events.emit(
        twp,
        false,
        reason,
        format!(
            "{} ({from} -> {to:?}); targets: {}; next change: {next}",
            what,
            status.target_summary.clone().unwrap_or_default()
        ),
    );
    metrics::global().inc(
        metrics::WINDOW_TRANSITIONS,
        &[
            ("policy", twp.name_any().as_str()),
            ("state", format!("{to:?}").as_str()),
        ],
    );
}

/// The targets for display: `cq/a,lq/ns/b` (at most ten, then a count).
fn summary(targets: &[turnstile_state::index::WindowTarget]) -> String {
    let mut parts: Vec<String> = targets.iter().take(10).map(ToString::to_string).collect();
    if targets.len() > 10 {
        parts.push(format!("+{} more", targets.len() - 10));
    }
    parts.join(",")
}

/// `Conflicting`: other policies on the same queues with a different action or mode.
fn conflicts(
    ix: &turnstile_state::index::Index,
    twp: &TimeWindowPolicy,
    targets: &[turnstile_state::index::WindowTarget],
    generation: Option<i64>,
) -> Condition {
    let name = twp.name_any();
    let mut found: Vec<String> = Vec::new();
    for t in targets {
        let effect = match t {
            turnstile_state::index::WindowTarget::ClusterQueue(n) => ix.window_of_cluster_queue(n),
            turnstile_state::index::WindowTarget::LocalQueue(k) => ix.window_of_local_queue(k),
        };
        let Some(effect) = effect else { continue };
        let others: Vec<&String> = effect.policies.iter().filter(|p| **p != name).collect();
        if !others.is_empty() {
            found.push(format!(
                "{t} is also targeted by {} (now decided by {}: closed wins, Drain beats Hold)",
                others
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(","),
                effect.policy
            ));
        }
    }
    let mut c = if found.is_empty() {
        condition(
            condition_types::CONFLICTING,
            false,
            "NoConflict",
            "no other policy targets these queues".to_owned(),
        )
    } else {
        condition(
            condition_types::CONFLICTING,
            true,
            "SharedTargets",
            found.join("; "),
        )
    };
    c.observed_generation = generation;
    c
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn policy(spec: &serde_json::Value) -> TimeWindowPolicy {
        serde_json::from_value(json!({
            "apiVersion": "turnstile.dev/v1alpha1",
            "kind": "TimeWindowPolicy",
            "metadata": {"name": "night", "generation": 3},
            "spec": spec,
        }))
        .expect("policy")
    }

    fn ts(s: &str) -> jiff::Timestamp {
        s.parse().expect("timestamp")
    }

    fn night(action: &str) -> TimeWindowPolicy {
        policy(&json!({
            "targets": {"clusterQueues": ["cheap"]},
            "timeZone": "Europe/Berlin",
            "mode": "AllowDuring",
            "windows": [{"days": ["Mon","Tue","Wed","Thu","Fri","Sat","Sun"], "start": "20:00", "end": "06:00"}],
            "onClose": {"action": action, "drainGracePeriodSeconds": if action == "Drain" { json!(300) } else { json!(null) }},
        }))
    }

    #[test]
    fn a_night_window_is_open_at_night_and_closed_by_day_with_the_next_change() {
        let p = night("Hold");
        let a = assess(&p, ts("2026-12-07T22:00:00Z")); // 23:00 in Berlin
        let pol = a.policy.expect("valid");
        assert!(pol.admits && !pol.drains);
        assert_eq!(a.status.state, Some(WindowState::Open));
        assert_eq!(a.next, Some(ts("2026-12-08T05:00:00Z")));
        let a = assess(&p, ts("2026-12-08T09:00:00Z")); // 10:00 in Berlin
        let pol = a.policy.expect("valid");
        assert!(!pol.admits && !pol.drains);
        assert_eq!(a.status.state, Some(WindowState::Closed));
        assert_eq!(pol.reopens_at.as_deref(), Some("2026-12-08T19:00:00Z"));
        assert!(a.status.time_zone_database.is_some());
    }

    #[test]
    fn drain_starts_after_the_grace_period_and_is_a_transition() {
        let p = night("Drain");
        let a = assess(&p, ts("2026-12-08T05:02:00Z"));
        assert!(
            !a.policy.as_ref().expect("valid").drains,
            "inside the grace period"
        );
        assert_eq!(a.next, Some(ts("2026-12-08T05:05:00Z")));
        let a = assess(&p, ts("2026-12-08T05:05:00Z"));
        assert!(a.policy.expect("valid").drains);
    }

    #[test]
    fn an_invalid_spec_closes_nothing_and_says_why_with_the_field() {
        let mut p = night("Hold");
        p.spec.time_zone = "Mars/Olympus_Mons".into();
        let a = assess(&p, ts("2026-12-08T09:00:00Z"));
        assert!(a.policy.is_none());
        let ready = &a.status.conditions[0];
        assert_eq!(
            (ready.type_.as_str(), ready.status.as_str()),
            ("Ready", "False")
        );
        assert!(ready.message.contains("spec.timeZone"), "{}", ready.message);
    }

    #[test]
    fn condition_times_are_kept_while_a_condition_holds() {
        let old = vec![Condition {
            type_: "Ready".into(),
            status: "True".into(),
            reason: "Active".into(),
            message: "m".into(),
            last_transition_time: Time(ts("2026-01-01T00:00:00Z")),
            observed_generation: None,
        }];
        let mut new = vec![
            condition("Ready", true, "Active", "m2".into()),
            condition("Conflicting", true, "SharedTargets", "x".into()),
        ];
        stamp(&old, &mut new, ts("2026-12-08T00:00:00Z"));
        assert_eq!(new[0].last_transition_time.0, ts("2026-01-01T00:00:00Z"));
        assert_eq!(new[1].last_transition_time.0, ts("2026-12-08T00:00:00Z"));
    }
}
