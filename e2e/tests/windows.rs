//! TimeWindowPolicies on the real plane, with windows a few seconds long relative to now (UTC
//! wall-clock windows with seconds; the calendar itself is table-tested in `turnstile-windows`).
//! One manager; three scenarios side by side, each with its own namespace and ClusterQueue:
//! * `hold`: a closed Hold window keeps a running Job running and admits nothing new (the
//!   pending Workload says why and until when); at the opening the waiting Job is admitted.
//! * `drain`: an Indexed Job (completions 10) is drained when its window closes after some of its
//!   indexes succeeded: Job suspended (never deleted), active pods gone, succeeded pods kept,
//!   Workload kept with `Evicted=TimeWindowClosed` (no preemption, no backoff count); at the
//!   reopen it is admitted again, runs only the remaining indexes and completes with 10.
//! * `overlap`: two closed policies on one ClusterQueue (Hold by name, Drain by label): Drain
//!   wins and both report the conflict; the manager restarts in the middle of the closed window
//!   and nothing changes; the queue opens when the later of the two opens.
//!
//! Bad specs are refused by the webhook with field paths.

// Test code: failures are panics.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::too_many_lines,
    clippy::needless_pass_by_value,
    clippy::float_cmp
)]

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use kube::Client;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::{Value, json};
use tokio::sync::Mutex;
use turnstile_api::v1alpha1::{TimeWindowPolicy, WindowState};
use turnstile_e2e::jobs::{
    OPT_IN, cond, get_job, is_true, job, kwok_timing, of_job, pods_of, setup,
};
use turnstile_e2e::{Harness, ManagerProcess, TestNs, UrlWebhooks, free_port, wait_for};

/// The manager and its arguments, for a restart.
type Restartable = Arc<Mutex<Option<(ManagerProcess, Vec<String>)>>>;

/// A UTC window opening at `start` for `seconds` (the weekday is the opening day).
fn window(start: jiff::Timestamp, seconds: i64) -> Value {
    let z = start.to_zoned(jiff::tz::TimeZone::UTC);
    let day = match z.weekday() {
        jiff::civil::Weekday::Monday => "Mon",
        jiff::civil::Weekday::Tuesday => "Tue",
        jiff::civil::Weekday::Wednesday => "Wed",
        jiff::civil::Weekday::Thursday => "Thu",
        jiff::civil::Weekday::Friday => "Fri",
        jiff::civil::Weekday::Saturday => "Sat",
        jiff::civil::Weekday::Sunday => "Sun",
    };
    json!({"days": [day], "start": z.strftime("%H:%M:%S").to_string(), "duration": format!("{seconds}s")})
}

fn now() -> jiff::Timestamp {
    jiff::Timestamp::now()
}

fn secs(n: i64) -> jiff::SignedDuration {
    jiff::SignedDuration::from_secs(n)
}

fn policy(name: &str, targets: Value, action: &str, windows: Vec<Value>) -> Value {
    let on_close = if action == "Drain" {
        json!({"action": "Drain", "drainGracePeriodSeconds": 0, "maxConcurrentSuspensions": 5, "closingNoticeSeconds": 30})
    } else {
        json!({"action": action})
    };
    json!({"apiVersion": "turnstile.dev/v1alpha1", "kind": "TimeWindowPolicy",
        "metadata": {"name": name, "labels": {OPT_IN.0: OPT_IN.1}},
        "spec": {"targets": targets, "timeZone": "UTC", "mode": "AllowDuring",
            "windows": windows, "onClose": on_close}})
}

async fn apply_policy(client: &Client, doc: &Value) {
    let api: Api<TimeWindowPolicy> = Api::all(client.clone());
    let name = doc["metadata"]["name"].as_str().unwrap();
    api.patch(name, &PatchParams::apply("e2e").force(), &Patch::Apply(doc))
        .await
        .unwrap_or_else(|e| panic!("applying policy {name}: {e}"));
}

async fn until_policy(
    client: &Client,
    name: &str,
    what: &str,
    f: impl Fn(&TimeWindowPolicy) -> bool,
) -> TimeWindowPolicy {
    let api: Api<TimeWindowPolicy> = Api::all(client.clone());
    wait_for(Duration::from_secs(45), what, || {
        let api = api.clone();
        let f = &f;
        async move {
            let p = api.get(name).await.ok()?;
            f(&p).then_some(p)
        }
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"))
}

fn state(p: &TimeWindowPolicy) -> Option<WindowState> {
    p.status.as_ref().and_then(|s| s.state)
}

fn condition_of(p: &TimeWindowPolicy, t: &str) -> Option<(String, String)> {
    p.status
        .as_ref()?
        .conditions
        .iter()
        .find(|c| c.type_ == t)
        .map(|c| (c.status.clone(), c.message.clone()))
}

async fn hold(ns: TestNs, user: Client, admin: Client, cq: String, flavor: String, name: String) {
    setup(&ns, &cq, &flavor, "2", json!({})).await;
    let jobs: Api<Job> = Api::namespaced(user, &ns.name);
    jobs.create(
        &PostParams::default(),
        &job("run", "1", "40s", &json!({}), &json!({})),
    )
    .await
    .unwrap();
    turnstile_e2e::until_workloads(&ns, "run admitted", |all| {
        of_job(all, "run").is_some_and(|w| is_true(w, "Admitted"))
    })
    .await;
    // Closed now, opening in 15 s for ten minutes.
    let opens = now() + secs(15);
    apply_policy(
        &admin,
        &policy(
            &name,
            json!({"clusterQueues": [cq]}),
            "Hold",
            vec![window(opens, 600)],
        ),
    )
    .await;
    let p = until_policy(&admin, &name, "the Hold policy reports Closed", |p| {
        state(p) == Some(WindowState::Closed)
    })
    .await;
    let status = p.status.clone().unwrap();
    assert!(status.time_zone_database.is_some_and(|v| !v.is_empty()));
    assert_eq!(
        status.target_summary.as_deref(),
        Some(format!("cq/{cq}").as_str())
    );
    assert_eq!(
        condition_of(&p, "Ready").map(|c| c.0),
        Some("True".to_owned())
    );
    jobs.create(
        &PostParams::default(),
        &job("wait", "1", "1s", &json!({}), &json!({})),
    )
    .await
    .unwrap();
    let all = turnstile_e2e::until_workloads(&ns, "wait told why it waits", |all| {
        of_job(all, "wait").is_some_and(|w| {
            cond(w, "QuotaReserved").is_some_and(|c| c.reason == "TimeWindowClosed")
        })
    })
    .await;
    let message = cond(of_job(&all, "wait").unwrap(), "QuotaReserved")
        .unwrap()
        .message
        .clone();
    assert!(
        message.contains(&name) && message.contains("until"),
        "the pending message names the policy and the reopening: {message}"
    );
    // Held, not drained: the running Job keeps running, the waiting one is not admitted, until
    // the window opens.
    while now() < opens - secs(2) {
        let all = turnstile_e2e::list_workloads(&ns).await.unwrap();
        assert!(
            of_job(&all, "run").is_some_and(|w| is_true(w, "Admitted") && !is_true(w, "Evicted")),
            "Hold keeps running work running"
        );
        assert!(
            !of_job(&all, "wait").is_some_and(|w| is_true(w, "QuotaReserved")),
            "nothing is admitted while the window is closed"
        );
        assert_eq!(get_job(&ns, "run").await.spec.unwrap().suspend, Some(false));
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let all = turnstile_e2e::until_workloads(&ns, "wait admitted once the window opens", |all| {
        of_job(all, "wait").is_some_and(|w| is_true(w, "Admitted"))
    })
    .await;
    let admitted_at = cond(of_job(&all, "wait").unwrap(), "QuotaReserved")
        .unwrap()
        .last_transition_time
        .0;
    assert!(
        admitted_at >= opens - secs(1),
        "admitted at {admitted_at}, before the opening at {opens}"
    );
    until_policy(&admin, &name, "the Hold policy reports Open", |p| {
        state(p) == Some(WindowState::Open)
    })
    .await;
}

/// An Indexed Job of `completions` pods, `parallelism` at a time, each 1 cpu for `delay`.
fn indexed(name: &str, completions: i32, parallelism: i32, delay: &str) -> Job {
    serde_json::from_value(json!({"metadata": {"name": name,
        "labels": {"kueue.x-k8s.io/queue-name": "lq", OPT_IN.0: OPT_IN.1}},
        "spec": {"completionMode": "Indexed", "completions": completions, "parallelism": parallelism,
            "backoffLimit": 0, "template": {
            "metadata": {"annotations": kwok_timing(delay)},
            "spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox",
                "resources": {"requests": {"cpu": "1"}}}]}}}}))
    .unwrap()
}

fn succeeded(pods: &[Pod]) -> BTreeSet<(String, String)> {
    pods.iter()
        .filter(|p| p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Succeeded"))
        .map(|p| {
            let index = p
                .metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get("batch.kubernetes.io/job-completion-index"))
                .cloned()
                .unwrap_or_default();
            (index, p.metadata.uid.clone().unwrap_or_default())
        })
        .collect()
}

async fn drain(ns: TestNs, user: Client, admin: Client, cq: String, flavor: String, name: String) {
    setup(&ns, &cq, &flavor, "2", json!({})).await;
    // Open now (opened a minute ago, for an hour).
    let opened = now() - secs(60);
    apply_policy(
        &admin,
        &policy(
            &name,
            json!({"clusterQueues": [cq]}),
            "Drain",
            vec![window(opened, 3600)],
        ),
    )
    .await;
    until_policy(&admin, &name, "the Drain policy reports Open", |p| {
        state(p) == Some(WindowState::Open)
    })
    .await;
    let jobs: Api<Job> = Api::namespaced(user, &ns.name);
    jobs.create(&PostParams::default(), &indexed("long", 10, 2, "3s"))
        .await
        .unwrap();
    wait_for(Duration::from_secs(90), "4 indexes succeeded", || {
        let ns = ns.clone();
        async move {
            let j = get_job(&ns, "long").await;
            (j.status?.succeeded? >= 4).then_some(())
        }
    })
    .await
    .unwrap();
    // The window closes in 4 s (inside the 30 s notice at once); the next opens 14 s later.
    let closes = now() + secs(4);
    let reopens = closes + secs(14);
    let first = closes.as_second() - opened.as_second();
    apply_policy(
        &admin,
        &policy(
            &name,
            json!({"clusterQueues": [cq]}),
            "Drain",
            vec![window(opened, first), window(reopens, 3600)],
        ),
    )
    .await;
    let all = turnstile_e2e::until_workloads(&ns, "drained at the close", |all| {
        of_job(all, "long").is_some_and(|w| {
            cond(w, "Evicted").is_some_and(|c| c.status == "True" && c.reason == "TimeWindowClosed")
                && cond(w, "QuotaReserved").is_some_and(|c| c.status == "False")
        })
    })
    .await;
    let w = of_job(&all, "long").unwrap();
    assert!(
        now() < reopens,
        "the drain took until the reopening; the test proves nothing"
    );
    // It was told before: the condition on the Workload, the annotation on the Job.
    let notice = cond(w, "TimeWindowClosing").expect("closing notice");
    assert_eq!(notice.status, "True");
    assert!(notice.message.contains("checkpoint"), "{}", notice.message);
    let annotated = get_job(&ns, "long")
        .await
        .metadata
        .annotations
        .unwrap_or_default();
    let at = annotated
        .get("turnstile.dev/time-window-closes-at")
        .expect("the Job carries the close time");
    assert_eq!(
        at.parse::<jiff::Timestamp>().unwrap().as_second(),
        closes.as_second(),
        "the announced close"
    );
    assert!(
        !is_true(w, "Preempted"),
        "a window eviction is not a preemption"
    );
    assert_eq!(
        cond(w, "Requeued").map(|c| (c.status.as_str(), c.reason.as_str())),
        Some(("False", "TimeWindowClosed")),
        "parked until the window opens"
    );
    assert!(
        w.status
            .as_ref()
            .and_then(|s| s.requeue_state.as_ref())
            .and_then(|r| r.count)
            .is_none(),
        "not counted toward the backoff limit: {:?}",
        w.status.as_ref().and_then(|s| s.requeue_state.as_ref())
    );
    // The Job is suspended, not deleted; its active pods are gone, its succeeded pods kept.
    let job_uid = get_job(&ns, "long").await.metadata.uid;
    let before = wait_for(Duration::from_secs(30), "active pods gone", || {
        let ns = ns.clone();
        async move {
            let j = get_job(&ns, "long").await;
            let pods = pods_of(&ns, "long").await;
            let active = pods.iter().any(|p| {
                p.metadata.deletion_timestamp.is_none()
                    && matches!(
                        p.status.as_ref().and_then(|s| s.phase.as_deref()),
                        Some("Pending" | "Running")
                    )
            });
            (j.spec?.suspend == Some(true) && !active).then(|| succeeded(&pods))
        }
    })
    .await
    .unwrap();
    assert!(
        (4..10).contains(&before.len()),
        "{} indexes done at the close",
        before.len()
    );
    let job = get_job(&ns, "long").await;
    assert_eq!(job.metadata.uid, job_uid, "the same Job object");
    assert_eq!(
        job.status.as_ref().and_then(|s| s.succeeded),
        i32::try_from(before.len()).ok(),
        "the Job keeps its succeeded count"
    );
    // Nothing comes back before the reopening.
    while now() < reopens - secs(2) {
        let all = turnstile_e2e::list_workloads(&ns).await.unwrap();
        assert!(
            !of_job(&all, "long").is_some_and(|w| is_true(w, "QuotaReserved")),
            "re-admitted while the window is closed"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // At the reopening it is admitted again through the scheduler and runs the rest only.
    wait_for(
        Duration::from_secs(90),
        "the Job completes after the reopening",
        || {
            let ns = ns.clone();
            async move {
                let j = get_job(&ns, "long").await;
                let done = j
                    .status?
                    .conditions?
                    .iter()
                    .any(|c| c.type_ == "Complete" && c.status == "True");
                done.then_some(())
            }
        },
    )
    .await
    .unwrap();
    let job = get_job(&ns, "long").await;
    assert_eq!(job.status.as_ref().and_then(|s| s.succeeded), Some(10));
    let after = succeeded(&pods_of(&ns, "long").await);
    assert!(
        before.is_subset(&after),
        "the pods that succeeded before the close are kept"
    );
    let indexes: BTreeSet<&String> = after.iter().map(|(i, _)| i).collect();
    assert_eq!(
        (after.len(), indexes.len()),
        (10, 10),
        "each index ran to success exactly once: {after:?}"
    );
    // The Job completed; its Workload is marked Finished by the reconciler right after.
    let all = turnstile_e2e::until_workloads(&ns, "the Workload finished", |all| {
        of_job(all, "long").is_some_and(|w| is_true(w, "Finished"))
    })
    .await;
    assert_eq!(
        all.len(),
        1,
        "the same Workload throughout, none re-created"
    );
}

async fn overlap(
    ns: TestNs,
    user: Client,
    admin: Client,
    (cq, flavor): (String, String),
    (hold_name, drain_name): (String, String),
    restart: Restartable,
) {
    setup(&ns, &cq, &flavor, "2", json!({})).await;
    // The drain policy selects the queue by a label.
    Api::<turnstile_api::ClusterQueue>::all(admin.clone())
        .patch(
            &cq,
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"e2e.turnstile.dev/window": cq}}})),
        )
        .await
        .unwrap();
    let jobs: Api<Job> = Api::namespaced(user, &ns.name);
    jobs.create(
        &PostParams::default(),
        &job("run", "1", "120s", &json!({}), &json!({})),
    )
    .await
    .unwrap();
    turnstile_e2e::until_workloads(&ns, "run admitted", |all| {
        of_job(all, "run").is_some_and(|w| is_true(w, "Admitted"))
    })
    .await;
    // Hold closes it until +25 s, Drain until +18 s: Drain applies, the queue opens at +25 s.
    let start = now();
    apply_policy(
        &admin,
        &policy(
            &hold_name,
            json!({"clusterQueues": [cq]}),
            "Hold",
            vec![window(start + secs(25), 600)],
        ),
    )
    .await;
    apply_policy(
        &admin,
        &policy(
            &drain_name,
            json!({"clusterQueueSelector": {"matchLabels": {"e2e.turnstile.dev/window": cq}}}),
            "Drain",
            vec![window(start + secs(18), 600)],
        ),
    )
    .await;
    let all = turnstile_e2e::until_workloads(&ns, "run drained (Drain beats Hold)", |all| {
        of_job(all, "run").is_some_and(|w| {
            cond(w, "Requeued")
                .is_some_and(|c| c.status == "False" && c.reason == "TimeWindowClosed")
        })
    })
    .await;
    let msg = cond(of_job(&all, "run").unwrap(), "Evicted")
        .unwrap()
        .message
        .clone();
    assert!(
        msg.contains(&drain_name),
        "told under the draining policy: {msg}"
    );
    for n in [&hold_name, &drain_name] {
        let p = until_policy(&admin, n, "the conflict reported", |p| {
            condition_of(p, "Conflicting").is_some_and(|c| c.0 == "True")
        })
        .await;
        let (_, message) = condition_of(&p, "Conflicting").unwrap();
        assert!(message.contains(&format!("cq/{cq}")), "{message}");
    }
    // A restart in the middle of the closed window changes nothing.
    let seen = get_job(&ns, "run").await;
    {
        let mut slot = restart.lock().await;
        let (manager, args) = slot.take().unwrap();
        drop(manager);
        *slot = Some((
            ManagerProcess::start(&ns.harness, &args, vec![]).await,
            args,
        ));
    }
    while now() < start + secs(23) {
        let all = turnstile_e2e::list_workloads(&ns).await.unwrap();
        let w = of_job(&all, "run").unwrap();
        assert!(
            !is_true(w, "QuotaReserved"),
            "re-admitted while closed (after the restart)"
        );
        assert_eq!(get_job(&ns, "run").await.spec.unwrap().suspend, Some(true));
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert_eq!(
        get_job(&ns, "run").await.metadata.uid,
        seen.metadata.uid,
        "the Job is kept"
    );
    turnstile_e2e::until_workloads(&ns, "run back once both windows are open", |all| {
        of_job(all, "run").is_some_and(|w| is_true(w, "Admitted"))
    })
    .await;
    let all = turnstile_e2e::list_workloads(&ns).await.unwrap();
    let at = cond(of_job(&all, "run").unwrap(), "QuotaReserved")
        .unwrap()
        .last_transition_time
        .0;
    assert!(
        at >= start + secs(24),
        "admitted at {at}, before the Hold window opened"
    );
}

async fn refuses_bad_specs(admin: Client, name: &str) {
    let api: Api<TimeWindowPolicy> = Api::all(admin);
    let bad = |spec: Value| {
        let mut doc = policy(name, json!({"clusterQueues": ["x"]}), "Hold", vec![]);
        doc["spec"] = spec;
        serde_json::from_value::<TimeWindowPolicy>(doc).unwrap()
    };
    let base = json!({"targets": {"clusterQueues": ["x"]}, "timeZone": "Europe/Berlin",
        "mode": "AllowDuring", "onClose": {"action": "Hold"},
        "windows": [{"days": ["Mon"], "start": "20:00", "end": "06:00"}]});
    let mut zone = base.clone();
    zone["timeZone"] = "Europe/Atlantis".into();
    let mut both = base.clone();
    both["windows"][0]["duration"] = "2h".into();
    let mut long = base.clone();
    long["windows"][0] = json!({"days": ["Mon"], "start": "20:00", "duration": "200h"});
    for (spec, path) in [
        (zone, "spec.timeZone"),
        (both, "spec.windows[0]"),
        (long, "spec.windows[0].duration"),
    ] {
        let err = api
            .create(&PostParams::default(), &bad(spec))
            .await
            .expect_err("a bad policy is refused");
        assert!(err.to_string().contains(path), "{path}: {err}");
    }
}

#[tokio::test]
async fn time_windows_end_to_end() {
    let h = Harness::get().await.expect("control plane");
    let id = std::process::id();
    let port = free_port();
    let hooks = UrlWebhooks::register(&h, "e2e-windows", port, OPT_IN).await;
    let flavor = format!("e2e-win-od-{id}");
    let cqs = [
        format!("e2e-win-hold-{id}"),
        format!("e2e-win-drain-{id}"),
        format!("e2e-win-overlap-{id}"),
    ];
    let policies = [
        format!("e2e-win-hold-{id}"),
        format!("e2e-win-drain-{id}"),
        format!("e2e-win-overlap-hold-{id}"),
        format!("e2e-win-overlap-drain-{id}"),
        format!("e2e-win-bad-{id}"),
    ];
    let mut cleanup = hooks.cleanup();
    cleanup.extend(policies.iter().map(|p| format!("timewindowpolicy/{p}")));
    cleanup.extend(cqs.iter().map(|c| format!("clusterqueue/{c}")));
    cleanup.push(format!("resourceflavor/{flavor}"));
    let _cleanup = turnstile_e2e::Cleanup(h.clone(), cleanup);
    let mut args = hooks.manager_args(port);
    args.extend(["--identity".to_owned(), "e2e-windows".to_owned()]);
    let manager = ManagerProcess::start(&h, &args, vec![]).await;
    let restart = Arc::new(Mutex::new(Some((manager, args))));
    let user = h.client_as(&hooks.user).await.unwrap();
    turnstile_e2e::jobs::flavor_and_priority_classes(&h.client, &flavor, &[]).await;
    refuses_bad_specs(user.clone(), &policies[4]).await;
    let labels = json!({OPT_IN.0: OPT_IN.1});
    let [hold_cq, drain_cq, overlap_cq] = cqs.clone();
    let [hold_p, drain_p, ov_hold, ov_drain, _] = policies.clone();
    let (u1, u2, u3) = (user.clone(), user.clone(), user.clone());
    let (a1, a2, a3) = (user.clone(), user.clone(), user);
    let (f1, f2, f3) = (flavor.clone(), flavor.clone(), flavor);
    tokio::join!(
        h.run_labelled("win-hold", labels.clone(), move |ns| hold(
            ns, u1, a1, hold_cq, f1, hold_p
        )),
        h.run_labelled("win-drain", labels.clone(), move |ns| drain(
            ns, u2, a2, drain_cq, f2, drain_p
        )),
    );
    // Alone: it restarts the manager (its webhook is down meanwhile).
    h.run_labelled("win-overlap", labels, move |ns| {
        overlap(ns, u3, a3, (overlap_cq, f3), (ov_hold, ov_drain), restart)
    })
    .await;
}
