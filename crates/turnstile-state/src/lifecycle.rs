//! The Workload lifecycle: every status transition Turnstile makes on a Workload, as a pure
//! function of the Workload as seen and the time, returning the `status` object to write.
//!
//! The scheduler (reserve, pending, blocked, evict, evict-and-release for a Workload without a
//! Job, requeue) and the Job reconciler (finish, release once the Job has stopped, the
//! AdmissionCheck and PodsReady steps) both build their writes here and send them with one write
//! protocol: a merge patch of the status carrying the `resourceVersion` the decision was made
//! from (so a decision taken on a stale view fails with a conflict and is taken again). Each
//! status carries the whole condition list (conditions kept in place, a status change stamps
//! `lastTransitionTime`, every condition written carries the Workload's generation).

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use serde_json::{Value, json};
use turnstile_api as api;
use turnstile_api::keys::{conditions, reasons};

/// One condition to set: `(type, status, reason, message)`.
pub type ConditionSet<'a> = (&'a str, &'a str, &'a str, &'a str);

/// A Workload's condition of type `t`.
pub fn condition_of<'a>(wl: &'a api::Workload, t: &str) -> Option<&'a Condition> {
    wl.status.as_ref()?.conditions.iter().find(|c| c.type_ == t)
}

/// When a Workload was last queued (Kueue's queued wait time starts here): the `Requeued`
/// condition's time, else its creation; unix milliseconds.
pub fn queued_at_ms(wl: &api::Workload) -> i64 {
    condition_of(wl, conditions::REQUEUED)
        .map(|c| &c.last_transition_time)
        .or(wl.metadata.creation_timestamp.as_ref())
        .map_or(0, |t| t.0.as_millisecond())
}

/// Whether a Workload's condition of type `t` is True.
pub fn is_true(wl: &api::Workload, t: &str) -> bool {
    condition_of(wl, t).is_some_and(|c| c.status == "True")
}

/// Whether a Workload holds quota: `QuotaReserved=True` with an admission recorded.
pub fn holds_quota(wl: &api::Workload) -> bool {
    is_true(wl, conditions::QUOTA_RESERVED)
        && wl.status.as_ref().is_some_and(|s| s.admission.is_some())
}

/// The ClusterQueue a Workload's recorded admission is in (empty when it has none).
pub fn admitted_to(wl: &api::Workload) -> String {
    wl.status
        .as_ref()
        .and_then(|s| s.admission.as_ref())
        .map(|a| a.cluster_queue.to_string())
        .unwrap_or_default()
}

/// Whether a Workload is admitted: it holds quota and `Admitted=True`.
pub fn is_admitted(wl: &api::Workload) -> bool {
    holds_quota(wl) && is_true(wl, conditions::ADMITTED)
}

/// `ms` (Unix milliseconds) as the API's seconds-precision RFC 3339 time.
pub fn rfc3339(ms: i64) -> String {
    k8s_openapi::jiff::Timestamp::from_millisecond(ms - ms.rem_euclid(1000))
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

/// The Workload's conditions of the types `keep` accepts, with `set` applied, as JSON for a status
/// write: an existing condition stays in its place (its `lastTransitionTime` kept when the status
/// does not change, else `now`), a new one comes after, in `set` order; every condition written
/// carries the Workload's generation.
pub fn merged_conditions(
    wl: &api::Workload,
    set: &[ConditionSet<'_>],
    now: &str,
    keep: impl Fn(&str) -> bool,
) -> Vec<Value> {
    let existing: &[Condition] = wl.status.as_ref().map_or(&[], |s| s.conditions.as_slice());
    let generation = wl.metadata.generation.unwrap_or(0);
    let write = |(t, status, reason, message): &ConditionSet<'_>, ltt: Value| {
        json!({"type": t, "status": status, "reason": reason, "message": message,
            "lastTransitionTime": ltt, "observedGeneration": generation})
    };
    let mut out = Vec::new();
    for c in existing.iter().filter(|c| keep(&c.type_)) {
        match set.iter().find(|(t, ..)| *t == c.type_) {
            Some(new) => {
                let ltt = if c.status == new.1 {
                    serde_json::to_value(&c.last_transition_time).unwrap_or_default()
                } else {
                    Value::from(now)
                };
                out.push(write(new, ltt));
            }
            None => out.push(serde_json::to_value(c).unwrap_or_default()),
        }
    }
    for new in set {
        if keep(new.0) && !existing.iter().any(|c| c.type_ == new.0) {
            out.push(write(new, Value::from(now)));
        }
    }
    out
}

/// A status with `set` applied to every condition the Workload has, and the fields of `extra`
/// (an object: `admission`, `requeueState`, `admissionChecks`...; `null` clears one). A new
/// eviction in `set` (`Evicted=True` with a reason the Workload does not show yet) is counted in
/// `status.schedulingStats.evictions`, as Kueue counts every eviction it makes.
pub fn status_with(
    wl: &api::Workload,
    set: &[ConditionSet<'_>],
    now_ms: i64,
    extra: Value,
) -> Value {
    let mut status = json!({"conditions": merged_conditions(wl, set, &rfc3339(now_ms), |_| true)});
    let new_eviction = set.iter().find(|(t, s, reason, _)| {
        *t == conditions::EVICTED
            && *s == "True"
            && !condition_of(wl, t).is_some_and(|c| c.status == "True" && c.reason == *reason)
    });
    if let Some((.., reason, _)) = new_eviction {
        let (reason, cause) = eviction_cause(wl, reason);
        status["schedulingStats"] = json!({"evictions": evictions_counted(wl, reason, cause)});
    }
    if let (Value::Object(m), Value::Object(e)) = (&mut status, extra) {
        m.extend(e);
    }
    status
}

/// Kueue's `(reason, underlyingCause)` of an eviction whose `Evicted` condition has `reason`:
/// `DeactivatedDueTo<Cause>` is `Deactivated` with that cause, a PodsReady timeout's cause is the
/// `PodsReady` condition's reason (`WaitForStart`, `WaitForRecovery`), any other has none. The
/// eviction metrics and `status.schedulingStats` use these.
pub fn eviction_cause<'a>(wl: &'a api::Workload, reason: &'a str) -> (&'a str, &'a str) {
    if let Some(cause) = reason.strip_prefix(reasons::DEACTIVATED_DUE_TO_PREFIX) {
        return (reasons::DEACTIVATED, cause);
    }
    if reason == reasons::PODS_READY_TIMEOUT {
        let cause = condition_of(wl, conditions::PODS_READY).map_or("", |c| c.reason.as_str());
        return (reason, cause);
    }
    (reason, "")
}

/// How many evictions with `(reason, cause)` the Workload's `status.schedulingStats` counts.
pub fn eviction_count(wl: &api::Workload, reason: &str, cause: &str) -> i32 {
    wl.status
        .as_ref()
        .and_then(|s| s.scheduling_stats.as_ref())
        .and_then(|s| {
            s.evictions
                .iter()
                .find(|e| e.reason == reason && e.underlying_cause == cause)
        })
        .map_or(0, |e| e.count)
}

/// The Workload's `schedulingStats.evictions` with one more `(reason, cause)` eviction (a new entry
/// after the existing ones when it is the first).
fn evictions_counted(wl: &api::Workload, reason: &str, cause: &str) -> Vec<Value> {
    let existing = wl
        .status
        .as_ref()
        .and_then(|s| s.scheduling_stats.as_ref())
        .map_or(&[][..], |s| s.evictions.as_slice());
    let mut found = false;
    let mut out: Vec<Value> = existing
        .iter()
        .map(|e| {
            let mut count = e.count;
            if e.reason == reason && e.underlying_cause == cause {
                found = true;
                count = count.saturating_add(1);
            }
            json!({"reason": e.reason, "underlyingCause": e.underlying_cause, "count": count})
        })
        .collect();
    if !found {
        out.push(json!({"reason": reason, "underlyingCause": cause, "count": 1}));
    }
    out
}

/// Whether the Workload already shows every condition of `set` (type, status, reason, message).
pub fn shows(wl: &api::Workload, set: &[ConditionSet<'_>]) -> bool {
    set.iter().all(|(t, status, reason, message)| {
        condition_of(wl, t)
            .is_some_and(|c| c.status == *status && c.reason == *reason && c.message == *message)
    })
}

const NO_RESERVATION: ConditionSet<'static> = (
    conditions::ADMITTED,
    "False",
    reasons::NO_RESERVATION,
    "The workload has no reservation",
);

/// Quota reserved in `cluster_queue` with `admission` (the `status.admission` object); admitted
/// at once unless AdmissionChecks apply (`checked`). An earlier eviction or preemption is reset
/// (`False`, "Previously: ...").
pub fn reserve(
    wl: &api::Workload,
    cluster_queue: &str,
    admission: Value,
    checked: bool,
    now_ms: i64,
) -> Value {
    let quota_msg = format!("Quota reserved in ClusterQueue {cluster_queue}");
    let previously: Vec<(&str, String)> = [conditions::EVICTED, conditions::PREEMPTED]
        .into_iter()
        .filter_map(|t| {
            condition_of(wl, t)
                .filter(|c| c.status == "True")
                .map(|c| (t, format!("Previously: {}", c.message)))
        })
        .collect();
    let mut set: Vec<ConditionSet<'_>> = vec![(
        conditions::QUOTA_RESERVED,
        "True",
        reasons::QUOTA_RESERVED,
        &quota_msg,
    )];
    if !checked {
        set.push((
            conditions::ADMITTED,
            "True",
            reasons::ADMITTED,
            "The workload is admitted",
        ));
    }
    for (t, m) in &previously {
        set.push((t, "False", reasons::QUOTA_RESERVED, m));
    }
    let mut extra = serde_json::Map::new();
    extra.insert("admission".into(), admission);
    status_with(wl, &set, now_ms, Value::Object(extra))
}

/// Not admitted by a cycle (`QuotaReserved=False` with the cycle's reason and message), or
/// blocked (`Misconfigured`, `Suspended`...); `None` when the Workload shows it already.
pub fn pending(wl: &api::Workload, reason: &str, message: &str, now_ms: i64) -> Option<Value> {
    let set = [
        (conditions::QUOTA_RESERVED, "False", reason, message),
        NO_RESERVATION,
    ];
    (!shows(wl, &set)).then(|| status_with(wl, &set, now_ms, json!({})))
}

/// `Evicted=True` with this reason and message, and `Preempted=True` with `preempted`'s reason
/// when it is a preemption. The quota stays held until [`release`].
pub fn evict(
    wl: &api::Workload,
    reason: &str,
    message: &str,
    preempted: Option<&str>,
    now_ms: i64,
) -> Value {
    let mut set = vec![(conditions::EVICTED, "True", reason, message)];
    if let Some(p) = preempted {
        set.push((conditions::PREEMPTED, "True", p, message));
    }
    status_with(wl, &set, now_ms, json!({}))
}

/// A check state that is not decided yet.
pub fn pending_check(name: &str, now_ms: i64) -> Value {
    json!({"name": name, "state": "Pending", "message": "", "lastTransitionTime": rfc3339(now_ms)})
}

/// The AdmissionChecks `checks` (sorted names) listed on a reserved Workload: a state it shows
/// already is kept, a new one starts `Pending`.
pub fn list_checks(wl: &api::Workload, checks: &[String], now_ms: i64) -> Value {
    let states = wl
        .status
        .as_ref()
        .map(|s| s.admission_checks.as_slice())
        .unwrap_or_default();
    let list: Vec<Value> = checks
        .iter()
        .map(
            |name| match states.iter().find(|c| c.name.as_str() == name) {
                Some(c) => serde_json::to_value(c).unwrap_or_else(|_| pending_check(name, now_ms)),
                None => pending_check(name, now_ms),
            },
        )
        .collect();
    status_with(wl, &[], now_ms, json!({ "admissionChecks": list }))
}

/// The second step of a two-step admission: `Admitted=True` once every AdmissionCheck is Ready.
pub fn admit_checked(wl: &api::Workload, now_ms: i64) -> Value {
    status_with(
        wl,
        &[(
            conditions::ADMITTED,
            "True",
            reasons::ADMITTED,
            "The workload is admitted",
        )],
        now_ms,
        json!({}),
    )
}

/// `DeactivationTarget=True` with its cause (`reasons::*`, e.g. `RequeuingLimitExceeded`): the
/// Workload is about to be deactivated (`spec.active=false`); [`release`] drops the condition once
/// the deactivation has happened.
pub fn deactivation_target(wl: &api::Workload, cause: &str, message: &str, now_ms: i64) -> Value {
    status_with(
        wl,
        &[(conditions::DEACTIVATION_TARGET, "True", cause, message)],
        now_ms,
        json!({}),
    )
}

/// What changes on a running Workload: its `PodsReady` condition (waitForPodsReady) and the pods
/// that completed and give their quota back (`reclaimablePods`, when it changed). `None` when
/// neither changes.
pub fn running(
    wl: &api::Workload,
    pods_ready: Option<ConditionSet<'_>>,
    reclaimable_pods: Option<Value>,
    now_ms: i64,
) -> Option<Value> {
    if pods_ready.is_none() && reclaimable_pods.is_none() {
        return None;
    }
    let set: Vec<ConditionSet<'_>> = pods_ready.into_iter().collect();
    let extra = reclaimable_pods.map_or_else(|| json!({}), |r| json!({ "reclaimablePods": r }));
    Some(status_with(wl, &set, now_ms, extra))
}

/// Evicted for not reaching PodsReady in time (`PodsReadyTimeout`), requeued with backoff: the
/// `requeueState` counts the attempt (`count`) and holds it back until `requeue_at_ms`; the
/// `PodsReady` change seen with it is written in the same status.
pub fn evict_pods_ready_timeout(
    wl: &api::Workload,
    pods_ready: Option<ConditionSet<'_>>,
    message: &str,
    (count, requeue_at_ms): (i32, i64),
    now_ms: i64,
) -> Value {
    let mut set: Vec<ConditionSet<'_>> = pods_ready.into_iter().collect();
    set.push((
        conditions::EVICTED,
        "True",
        reasons::PODS_READY_TIMEOUT,
        message,
    ));
    status_with(
        wl,
        &set,
        now_ms,
        json!({"requeueState": {"count": count, "requeueAt": rfc3339(requeue_at_ms)}}),
    )
}

/// The Workload's AdmissionCheck states set back to `Pending` (as Kueue does on eviction).
pub fn reset_checks(wl: &api::Workload, now_ms: i64) -> Vec<Value> {
    wl.status
        .iter()
        .flat_map(|s| s.admission_checks.iter())
        .map(|c| {
            if c.state == api::CheckState::Pending {
                serde_json::to_value(c).unwrap_or_else(|_| pending_check(c.name.as_str(), now_ms))
            } else {
                pending_check(c.name.as_str(), now_ms)
            }
        })
        .collect()
}

/// Gives an evicted Workload's quota back (its Job, if any, has stopped): admission cleared,
/// `QuotaReserved`/`Admitted` False, `Requeued` True after a preemption (it may come back at
/// once) or False with the eviction reason (a stopped queue, a deactivation: it waits to be let
/// back). After a deactivation the backoff state and the `DeactivationTarget` go; AdmissionChecks
/// are set back to Pending for the next reservation.
pub fn release(wl: &api::Workload, now_ms: i64) -> Value {
    let ev = condition_of(wl, conditions::EVICTED);
    let reason = ev.map_or(reasons::PREEMPTED, |c| c.reason.as_str());
    let message = ev.map_or("", |c| c.message.as_str());
    let requeued = if reason == reasons::PREEMPTED {
        "True"
    } else {
        "False"
    };
    let deactivated = reason.starts_with(reasons::DEACTIVATED);
    let (q_reason, q_message) = if deactivated {
        (reasons::DEACTIVATED, "The workload is deactivated")
    } else {
        (reasons::PENDING_EVALUATION, message)
    };
    let mut extra = if deactivated {
        // Backoff counting starts again after a reactivation.
        json!({"admission": null, "requeueState": null})
    } else {
        json!({"admission": null})
    };
    let checks = reset_checks(wl, now_ms);
    if !checks.is_empty() {
        extra["admissionChecks"] = Value::Array(checks);
    }
    // The admitted time ends here; it counts toward maximumExecutionTimeSeconds across
    // admissions (a drained Job's pause does not).
    if let Some(admitted) = condition_of(wl, conditions::ADMITTED).filter(|c| c.status == "True") {
        let past = wl
            .status
            .as_ref()
            .and_then(|s| s.accumulated_past_execution_time_seconds)
            .unwrap_or(0);
        let ran = (now_ms - admitted.last_transition_time.0.as_millisecond()).max(0) / 1000;
        extra["accumulatedPastExecutionTimeSeconds"] =
            json!(i64::from(past).saturating_add(ran).min(i64::from(i32::MAX)));
    }
    let mut status = status_with(
        wl,
        &[
            (conditions::QUOTA_RESERVED, "False", q_reason, q_message),
            NO_RESERVATION,
            (conditions::REQUEUED, requeued, reason, message),
        ],
        now_ms,
        extra,
    );
    // The deactivation has happened: its target condition goes.
    if deactivated && let Some(Value::Array(conds)) = status.get_mut("conditions") {
        conds.retain(|c| c["type"] != conditions::DEACTIVATION_TARGET);
    }
    status
}

/// [`evict`] and [`release`] in one write, for a Workload with no Job to stop.
pub fn evict_and_release(
    wl: &api::Workload,
    reason: &str,
    message: &str,
    preempted: Option<&str>,
    now_ms: i64,
) -> Value {
    let eviction = evict(wl, reason, message, preempted, now_ms);
    let counted = eviction.get("schedulingStats").cloned();
    let mut released = release(&with_status(wl, eviction), now_ms);
    if let Some(counted) = counted {
        released["schedulingStats"] = counted;
    }
    released
}

/// The eviction write for a Workload: [`evict`] when the Job reconciler stops it first (it has a
/// Job, or was made for one: [`crate::index::job_key_of`]) and releases its quota once the Job has
/// stopped; [`evict_and_release`] for any other (no owner, or an owner no reconciler here acts on),
/// whose quota would otherwise never be given back.
pub fn eviction(
    wl: &api::Workload,
    reason: &str,
    message: &str,
    preempted: Option<&str>,
    now_ms: i64,
) -> Value {
    if crate::index::job_key_of(wl).is_some() {
        evict(wl, reason, message, preempted, now_ms)
    } else {
        evict_and_release(wl, reason, message, preempted, now_ms)
    }
}

/// Lets a parked Workload back into its queue (`Requeued=True`).
pub fn requeue(wl: &api::Workload, reason: &str, message: &str, now_ms: i64) -> Value {
    status_with(
        wl,
        &[(conditions::REQUEUED, "True", reason, message)],
        now_ms,
        json!({}),
    )
}

/// `Finished=True` with this reason and message.
pub fn finish(wl: &api::Workload, reason: &str, message: &str, now_ms: i64) -> Value {
    status_with(
        wl,
        &[(conditions::FINISHED, "True", reason, message)],
        now_ms,
        json!({}),
    )
}

/// The Workload as it would be with `status` merged in (conditions and the fields written).
fn with_status(wl: &api::Workload, status: Value) -> api::Workload {
    let mut out = wl.clone();
    let mut current =
        serde_json::to_value(wl.status.clone().unwrap_or_default()).unwrap_or_default();
    if let (Value::Object(c), Value::Object(s)) = (&mut current, status) {
        c.extend(s);
    }
    out.status = serde_json::from_value(current)
        .ok()
        .or_else(|| wl.status.clone());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wl(status: Value) -> api::Workload {
        let mut v = json!({"metadata": {"name": "w", "namespace": "ns", "generation": 3},
            "spec": {"queueName": "lq", "podSets": []}});
        v["status"] = status;
        serde_json::from_value(v).unwrap()
    }

    fn admitted() -> api::Workload {
        wl(json!({"conditions": [
            {"type": "QuotaReserved", "status": "True", "reason": "QuotaReserved", "message": "Quota reserved in ClusterQueue cq", "lastTransitionTime": "2026-12-01T00:00:00Z"},
            {"type": "Admitted", "status": "True", "reason": "Admitted", "message": "The workload is admitted", "lastTransitionTime": "2026-12-01T00:00:00Z"}],
            "admission": {"clusterQueue": "cq", "podSetAssignments": [{"name": "main", "flavors": {"cpu": "f"}, "resourceUsage": {"cpu": "1"}, "count": 1}]},
            "admissionChecks": [{"name": "ac", "state": "Ready", "message": "ok", "lastTransitionTime": "2026-12-01T00:00:00Z"}]}))
    }

    fn cond<'a>(status: &'a Value, t: &str) -> &'a Value {
        status["conditions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["type"] == t)
            .unwrap_or(&Value::Null)
    }

    const NOW: i64 = 1_764_979_200_500; // 2025-12-06T00:00:00.5Z

    #[test]
    fn reserve_admits_unless_checked_and_resets_an_eviction() {
        let mut w = admitted();
        w.status.as_mut().unwrap().conditions.push(serde_json::from_value(json!(
            {"type": "Evicted", "status": "True", "reason": "Preempted", "message": "by x", "lastTransitionTime": "2026-12-01T00:00:00Z"})).unwrap());
        let s = reserve(&w, "cq", json!({"clusterQueue": "cq"}), false, NOW);
        assert_eq!(cond(&s, "Admitted")["status"], "True");
        assert_eq!(cond(&s, "Evicted")["status"], "False");
        assert_eq!(cond(&s, "Evicted")["message"], "Previously: by x");
        assert_eq!(cond(&s, "Evicted")["observedGeneration"], 3);
        let s = reserve(&wl(json!({})), "cq", json!({}), true, NOW);
        assert_eq!(
            cond(&s, "Admitted"),
            &Value::Null,
            "checks decide the admission"
        );
        assert_eq!(
            cond(&s, "QuotaReserved")["lastTransitionTime"],
            "2025-12-06T00:00:00Z"
        );
    }

    #[test]
    fn only_a_workload_the_job_reconciler_stops_keeps_its_quota_when_evicted() {
        let owned = |kind: &str, api_version: &str| {
            let mut w = admitted();
            w.metadata.owner_references = Some(vec![serde_json::from_value(json!({
                "apiVersion": api_version, "kind": kind, "name": "o", "uid": "u", "controller": true}))
            .unwrap()]);
            w
        };
        let kept = |w: &api::Workload| {
            let s = eviction(w, "Preempted", "m", Some("InClusterQueue"), NOW);
            assert_eq!(cond(&s, "Evicted")["status"], "True");
            cond(&s, "QuotaReserved")["status"] == "True"
        };
        assert!(kept(&owned("Job", "batch/v1")), "its Job is stopped first");
        let mut orphan = admitted();
        orphan.metadata.labels =
            Some([("kueue.x-k8s.io/job-uid".to_owned(), "u".to_owned())].into());
        assert!(kept(&orphan), "the Job reconciler finishes it as an orphan");
        assert!(!kept(&admitted()), "no owner: released in the same write");
        assert!(
            !kept(&owned("Deployment", "apps/v1")),
            "no reconciler here stops a Deployment: released, never stranded"
        );
        assert!(!kept(&owned("Job", "example.com/v1")));
    }

    #[test]
    fn the_job_side_transitions_are_built_here() {
        let w = admitted();
        // Checks listed: a known state kept, a new one Pending.
        let listed = list_checks(&w, &["ac".to_owned(), "new".to_owned()], NOW);
        let checks = listed["admissionChecks"].as_array().unwrap();
        assert_eq!(
            (checks[0]["name"].as_str(), checks[0]["state"].as_str()),
            (Some("ac"), Some("Ready"))
        );
        assert_eq!(
            (checks[1]["name"].as_str(), checks[1]["state"].as_str()),
            (Some("new"), Some("Pending"))
        );
        assert_eq!(
            cond(&admit_checked(&wl(json!({})), NOW), "Admitted")["reason"],
            "Admitted"
        );
        let target = deactivation_target(&w, "RequeuingLimitExceeded", "m", NOW);
        assert_eq!(
            cond(&target, "DeactivationTarget")["reason"],
            "RequeuingLimitExceeded"
        );
        assert_eq!(
            cond(&target, "QuotaReserved")["status"],
            "True",
            "the quota stays held"
        );
        assert!(
            running(&w, None, None, NOW).is_none(),
            "nothing changed: no write"
        );
        let r = running(&w, None, Some(json!([{"name": "main", "count": 2}])), NOW).unwrap();
        assert_eq!(r["reclaimablePods"], json!([{"name": "main", "count": 2}]));
        let started = (
            "PodsReady",
            "True",
            "Started",
            "All pods reached readiness and the workload is running",
        );
        let r = running(&w, Some(started), None, NOW).unwrap();
        assert_eq!(cond(&r, "PodsReady")["reason"], "Started");
        assert!(r.get("reclaimablePods").is_none());
        let waiting = (
            "PodsReady",
            "False",
            "WaitForStart",
            "Not all pods are ready or succeeded",
        );
        let timed_out = evict_pods_ready_timeout(
            &w,
            Some(waiting),
            "Exceeded the PodsReady timeout ns/w",
            (2, NOW + 20_000),
            NOW,
        );
        assert_eq!(cond(&timed_out, "Evicted")["reason"], "PodsReadyTimeout");
        assert_eq!(cond(&timed_out, "PodsReady")["reason"], "WaitForStart");
        assert_eq!(
            timed_out["requeueState"],
            json!({"count": 2, "requeueAt": "2025-12-06T00:00:20Z"})
        );
    }

    #[test]
    fn every_new_eviction_is_counted_in_scheduling_stats() {
        let first = evict(
            &admitted(),
            "Preempted",
            "by y",
            Some("InClusterQueue"),
            NOW,
        );
        assert_eq!(
            first["schedulingStats"],
            json!({"evictions": [{"reason": "Preempted", "underlyingCause": "", "count": 1}]})
        );
        let evicted = with_status(&admitted(), first);
        assert_eq!(eviction_count(&evicted, "Preempted", ""), 1);
        // The same eviction written again (a retried write) is not a new one.
        let again = evict(&evicted, "Preempted", "by y", Some("InClusterQueue"), NOW);
        assert!(again.get("schedulingStats").is_none());
        // Readmitted, then evicted again for the same reason; then deactivated.
        let readmitted = with_status(&evicted, reserve(&evicted, "cq", json!({}), false, NOW));
        let second = with_status(
            &readmitted,
            evict(&readmitted, "Preempted", "by z", None, NOW),
        );
        assert_eq!(eviction_count(&second, "Preempted", ""), 2);
        let readmitted = with_status(&second, reserve(&second, "cq", json!({}), false, NOW));
        let s = evict_and_release(
            &readmitted,
            "DeactivatedDueToRequeuingLimitExceeded",
            "m",
            None,
            NOW,
        );
        assert_eq!(
            s["schedulingStats"]["evictions"],
            json!([{"reason": "Preempted", "underlyingCause": "", "count": 2},
                {"reason": "Deactivated", "underlyingCause": "RequeuingLimitExceeded", "count": 1}]),
            "kept through the release written with it"
        );
        // A PodsReady timeout's cause is why the pods are not ready.
        let mut w = admitted();
        w.status.as_mut().unwrap().conditions.push(serde_json::from_value(json!(
            {"type": "PodsReady", "status": "False", "reason": "WaitForRecovery", "message": "", "lastTransitionTime": "2026-12-01T00:00:00Z"})).unwrap());
        assert_eq!(
            eviction_cause(&w, "PodsReadyTimeout"),
            ("PodsReadyTimeout", "WaitForRecovery")
        );
        let s = status_with(
            &w,
            &[("Evicted", "True", "PodsReadyTimeout", "late")],
            NOW,
            json!({}),
        );
        assert_eq!(
            s["schedulingStats"]["evictions"][0]["underlyingCause"],
            "WaitForRecovery"
        );
    }

    #[test]
    fn pending_is_written_only_when_it_changes() {
        let s = pending(&wl(json!({})), "Pending", "no room", NOW).unwrap();
        let w = wl(s);
        assert!(pending(&w, "Pending", "no room", NOW).is_none());
        assert!(pending(&w, "Pending", "still no room", NOW).is_some());
    }

    #[test]
    fn release_after_preemption_requeues_at_once_and_resets_checks() {
        let w = with_status(
            &admitted(),
            evict(
                &admitted(),
                "Preempted",
                "by y",
                Some("InClusterQueue"),
                NOW,
            ),
        );
        assert!(holds_quota(&w), "an eviction alone keeps the quota");
        let s = release(&w, NOW);
        assert_eq!(s["admission"], Value::Null);
        assert_eq!(cond(&s, "Requeued")["status"], "True");
        assert_eq!(cond(&s, "QuotaReserved")["reason"], "PendingEvaluation");
        assert_eq!(cond(&s, "Preempted")["status"], "True", "kept");
        assert_eq!(s["admissionChecks"][0]["state"], "Pending");
        let released = with_status(&w, s);
        assert!(!holds_quota(&released) && !is_admitted(&released));
    }

    #[test]
    fn release_adds_the_admitted_time_to_the_past_execution_time() {
        let mut w = admitted();
        w.status
            .as_mut()
            .unwrap()
            .accumulated_past_execution_time_seconds = Some(30);
        // Admitted at 2026-12-01T00:00:00Z, released 600.9 s later.
        let at = k8s_openapi::jiff::Timestamp::from_millisecond(1_796_083_200_000 + 600_900)
            .unwrap()
            .as_millisecond();
        let s = release(&w, at);
        assert_eq!(s["accumulatedPastExecutionTimeSeconds"], 630);
        let parked = with_status(&w, s);
        assert!(
            release(&parked, at + 60_000)
                .get("accumulatedPastExecutionTimeSeconds")
                .is_none(),
            "no admitted time: nothing added"
        );
    }

    #[test]
    fn release_after_a_stop_or_deactivation_parks() {
        let w = with_status(
            &admitted(),
            evict(
                &admitted(),
                "ClusterQueueStopped",
                "The ClusterQueue is stopped",
                None,
                NOW,
            ),
        );
        let s = release(&w, NOW);
        assert_eq!(cond(&s, "Requeued")["status"], "False");
        assert_eq!(cond(&s, "Requeued")["reason"], "ClusterQueueStopped");
        assert!(s.get("requeueState").is_none());

        let mut d = admitted();
        d.status.as_mut().unwrap().conditions.push(serde_json::from_value(json!(
            {"type": "DeactivationTarget", "status": "True", "reason": "RequeuingLimitExceeded", "message": "m", "lastTransitionTime": "2026-12-01T00:00:00Z"})).unwrap());
        let s = evict_and_release(&d, "DeactivatedDueToRequeuingLimitExceeded", "m", None, NOW);
        assert_eq!(cond(&s, "QuotaReserved")["reason"], "Deactivated");
        assert_eq!(
            cond(&s, "Evicted")["reason"],
            "DeactivatedDueToRequeuingLimitExceeded"
        );
        assert_eq!(cond(&s, "DeactivationTarget"), &Value::Null);
        assert_eq!(s["requeueState"], Value::Null);
        assert!(s.as_object().unwrap().contains_key("requeueState"));
    }

    #[test]
    fn times_are_kept_when_a_status_does_not_change() {
        let s = finish(&admitted(), "Succeeded", "done", NOW);
        assert_eq!(
            cond(&s, "Admitted")["lastTransitionTime"],
            "2026-12-01T00:00:00Z"
        );
        assert_eq!(
            cond(&s, "Finished")["lastTransitionTime"],
            "2025-12-06T00:00:00Z"
        );
        let s = requeue(
            &wl(
                json!({"conditions": [{"type": "Requeued", "status": "False", "reason": "Deactivated", "message": "", "lastTransitionTime": "2026-12-01T00:00:00Z"}]}),
            ),
            "Reactivated",
            "back",
            NOW,
        );
        assert_eq!(cond(&s, "Requeued")["status"], "True");
        assert_eq!(
            cond(&s, "Requeued")["lastTransitionTime"],
            "2025-12-06T00:00:00Z"
        );
    }
}
