//! Prometheus metrics (text exposition format 0.0.4) under Kueue's names where Kueue has one.
//!
//! Counters and histograms move when the controllers write (an admission, an eviction, a
//! finish...); gauges are computed from the cache at scrape time, so they are never stale. Every
//! series carries `replica_role` (`leader` or `follower`) as Kueue's do.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;

/// Seconds-scale histogram buckets of Kueue's wait and execution times: 1, then 2.5·2^k.
const WAIT_BUCKETS: [f64; 14] = [
    1.0, 2.5, 5.0, 10.0, 20.0, 40.0, 80.0, 160.0, 320.0, 640.0, 1280.0, 2560.0, 5120.0, 10240.0,
];
/// Buckets of a scheduling cycle's or an admission attempt's duration.
const DURATION_BUCKETS: [f64; 12] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0,
];

/// What a metric is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Only goes up.
    Counter,
    /// A value now.
    Gauge,
    /// A distribution.
    Histogram,
}

/// One metric's definition.
#[derive(Clone, Copy, Debug)]
pub struct Def {
    /// Full name.
    pub name: &'static str,
    /// Kind.
    pub kind: Kind,
    /// HELP text.
    pub help: &'static str,
}

macro_rules! defs {
    ($($id:ident = $name:literal, $kind:ident, $help:literal;)*) => {
        $(
            #[doc = $help]
            pub const $id: Def = Def { name: $name, kind: Kind::$kind, help: $help };
        )*
        /// Every metric, in exposition order.
        pub const ALL: &[Def] = &[$($id),*];
    };
}

defs! {
    ADMISSION_ATTEMPTS = "kueue_admission_attempts_total", Counter,
        "The total number of attempts to admit workloads. result: success (at least one workload admitted) or inadmissible.";
    ADMISSION_ATTEMPT_DURATION = "kueue_admission_attempt_duration_seconds", Histogram,
        "The latency of an admission attempt, by result.";
    PENDING = "kueue_pending_workloads", Gauge,
        "The number of pending workloads per cluster_queue and status (active or inadmissible).";
    QUOTA_RESERVED = "kueue_quota_reserved_workloads_total", Counter,
        "The total number of quota reserved workloads per cluster_queue.";
    QUOTA_RESERVED_WAIT = "kueue_quota_reserved_wait_time_seconds", Histogram,
        "The time from creation or requeue until quota reservation, per cluster_queue.";
    ADMITTED = "kueue_admitted_workloads_total", Counter,
        "The total number of admitted workloads per cluster_queue.";
    ADMISSION_WAIT = "kueue_admission_wait_time_seconds", Histogram,
        "The time from creation or requeue until admission, per cluster_queue.";
    LQ_ADMITTED = "kueue_local_queue_admitted_workloads_total", Counter,
        "The total number of admitted workloads per local queue.";
    FINISHED = "kueue_finished_workloads_total", Counter,
        "The total number of finished workloads per cluster_queue.";
    EVICTED = "kueue_evicted_workloads_total", Counter,
        "The number of evicted workloads per cluster_queue, reason and underlying_cause.";
    PREEMPTED = "kueue_preempted_workloads_total", Counter,
        "The number of preempted workloads per preempting_cluster_queue and reason.";
    RESERVING_ACTIVE = "kueue_reserving_active_workloads", Gauge,
        "The number of workloads holding quota, per cluster_queue.";
    ADMITTED_ACTIVE = "kueue_admitted_active_workloads", Gauge,
        "The number of admitted, not finished workloads, per cluster_queue.";
    CQ_STATUS = "kueue_cluster_queue_status", Gauge,
        "The status of a cluster_queue: 1 for its current status (pending, active or terminating), 0 otherwise.";
    CQ_RESERVATION = "kueue_cluster_queue_resource_reservation", Gauge,
        "Quantity of a resource reserved by workloads, per cohort, cluster_queue, flavor and resource.";
    CQ_USAGE = "kueue_cluster_queue_resource_usage", Gauge,
        "Quantity of a resource used by admitted workloads, per cohort, cluster_queue, flavor and resource.";
    CQ_NOMINAL = "kueue_cluster_queue_nominal_quota", Gauge,
        "Nominal quota of a resource, per cohort, cluster_queue, flavor and resource.";
    WINDOW_STATE = "turnstile_time_window_state", Gauge,
        "The state of a TimeWindowPolicy: 1 for its current state (Open, Closing or Closed), 0 otherwise.";
    WINDOW_TRANSITIONS = "turnstile_time_window_transitions_total", Counter,
        "State changes of TimeWindowPolicies, per policy and the state entered.";
    CYCLE_DURATION = "turnstile_scheduling_cycle_duration_seconds", Histogram,
        "Wall time of one scheduling cycle (snapshot, core decision, applying the outcome), without the API writes.";
    API_WRITES = "turnstile_api_writes_total", Counter,
        "API writes by verb (create, patch, apply, delete), resource and result (ok, conflict, forbidden, not_found, invalid, error).";
}

fn buckets(def: Def) -> &'static [f64] {
    if def.name.ends_with("_wait_time_seconds") {
        &WAIT_BUCKETS
    } else {
        &DURATION_BUCKETS
    }
}

type Labels = Vec<(&'static str, String)>;

#[derive(Clone, Debug, Default)]
struct Hist {
    counts: Vec<u64>,
    sum: f64,
    count: u64,
}

/// A gauge value computed at scrape time.
#[derive(Clone, Debug)]
pub struct Sample {
    /// The metric.
    pub def: Def,
    /// Its labels.
    pub labels: Labels,
    /// The value.
    pub value: f64,
}

/// The process's counters and histograms.
#[derive(Debug, Default)]
pub struct Metrics {
    counters: Mutex<BTreeMap<(&'static str, Labels), f64>>,
    histograms: Mutex<BTreeMap<(&'static str, Labels), Hist>>,
}

static GLOBAL: std::sync::LazyLock<Metrics> = std::sync::LazyLock::new(Metrics::default);

/// The process's metrics (one registry per process, as Prometheus clients have).
pub fn global() -> &'static Metrics {
    &GLOBAL
}

/// Counts one API write (`verb`: create, patch, apply, delete) and passes its result through.
/// `result` is `ok`, `conflict` (409: a stale view or an object that already exists, retried),
/// `forbidden` (403: missing RBAC), `not_found`, `invalid` (422) or `error`.
pub fn write<T>(
    verb: &'static str,
    resource: &'static str,
    r: Result<T, kube::Error>,
) -> Result<T, kube::Error> {
    let result = match &r {
        Ok(_) => "ok",
        Err(kube::Error::Api(e)) => match e.code {
            409 => "conflict",
            403 => "forbidden",
            404 => "not_found",
            422 => "invalid",
            _ => "error",
        },
        Err(_) => "error",
    };
    global().inc(
        API_WRITES,
        &[("verb", verb), ("resource", resource), ("result", result)],
    );
    r
}

/// The `priority_class` label of a Workload (its class name, or empty).
pub fn priority_class(wl: &turnstile_api::Workload) -> String {
    wl.spec
        .priority_class_ref
        .as_ref()
        .map(|r| r.name.clone())
        .unwrap_or_default()
}

/// Kueue's `(reason, underlying_cause)` labels of an eviction reason: a deactivation by the
/// controller (`DeactivatedDueTo<cause>`) counts as `Deactivated` with its cause.
pub fn eviction_labels(reason: &str) -> (&str, &str) {
    match reason.strip_prefix(turnstile_api::keys::reasons::DEACTIVATED_DUE_TO_PREFIX) {
        Some(cause) => (turnstile_api::keys::reasons::DEACTIVATED, cause),
        None => (reason, ""),
    }
}

fn owned(labels: &[(&'static str, &str)]) -> Labels {
    labels.iter().map(|(k, v)| (*k, (*v).to_owned())).collect()
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('\n', "\\n")
        .replace('"', "\\\"")
}

fn render_labels(labels: &[(&'static str, String)], extra: Option<(&str, String)>) -> String {
    let mut parts: Vec<String> = labels
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
        .collect();
    if let Some((k, v)) = extra {
        parts.push(format!("{k}=\"{v}\""));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!("{{{}}}", parts.join(","))
    }
}

fn number(v: f64) -> String {
    if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.to_owned()
    } else {
        format!("{v}")
    }
}

impl Metrics {
    /// Adds `by` to a counter.
    pub fn add(&self, def: Def, labels: &[(&'static str, &str)], by: f64) {
        if let Ok(mut c) = self.counters.lock() {
            *c.entry((def.name, owned(labels))).or_insert(0.0) += by;
        }
    }

    /// Adds one to a counter.
    pub fn inc(&self, def: Def, labels: &[(&'static str, &str)]) {
        self.add(def, labels, 1.0);
    }

    /// Records one observation of a histogram.
    pub fn observe(&self, def: Def, labels: &[(&'static str, &str)], value: f64) {
        let bounds = buckets(def);
        if let Ok(mut h) = self.histograms.lock() {
            let e = h.entry((def.name, owned(labels))).or_insert_with(|| Hist {
                counts: vec![0; bounds.len()],
                ..Hist::default()
            });
            for (i, b) in bounds.iter().enumerate() {
                if value <= *b {
                    e.counts[i] += 1;
                }
            }
            e.sum += value;
            e.count += 1;
        }
    }

    /// The current value of a counter (tests and checks).
    pub fn counter(&self, def: Def, labels: &[(&'static str, &str)]) -> f64 {
        self.counters
            .lock()
            .ok()
            .and_then(|c| c.get(&(def.name, owned(labels))).copied())
            .unwrap_or(0.0)
    }

    /// The exposition text: every counter and histogram, then `gauges`, with `replica_role` added
    /// to every series.
    pub fn render(&self, gauges: &[Sample], role: &str) -> String {
        let counters = self.counters.lock().map(|c| c.clone()).unwrap_or_default();
        let histograms = self
            .histograms
            .lock()
            .map(|h| h.clone())
            .unwrap_or_default();
        let role = || Some(("replica_role", role.to_owned()));
        let mut out = String::new();
        for def in ALL {
            let kind = match def.kind {
                Kind::Counter => "counter",
                Kind::Gauge => "gauge",
                Kind::Histogram => "histogram",
            };
            let _ = writeln!(out, "# HELP {} {}", def.name, def.help);
            let _ = writeln!(out, "# TYPE {} {kind}", def.name);
            match def.kind {
                Kind::Counter => {
                    for ((_, labels), v) in counters.iter().filter(|((n, _), _)| *n == def.name) {
                        let _ = writeln!(
                            out,
                            "{}{} {}",
                            def.name,
                            render_labels(labels, role()),
                            number(*v)
                        );
                    }
                }
                Kind::Gauge => {
                    for s in gauges.iter().filter(|s| s.def.name == def.name) {
                        let _ = writeln!(
                            out,
                            "{}{} {}",
                            def.name,
                            render_labels(&s.labels, role()),
                            number(s.value)
                        );
                    }
                }
                Kind::Histogram => {
                    for ((_, labels), h) in histograms.iter().filter(|((n, _), _)| *n == def.name) {
                        for (b, c) in buckets(*def).iter().zip(&h.counts) {
                            let mut l = labels.clone();
                            l.push(("le", number(*b)));
                            let _ = writeln!(
                                out,
                                "{}_bucket{} {c}",
                                def.name,
                                render_labels(&l, role())
                            );
                        }
                        let mut l = labels.clone();
                        l.push(("le", "+Inf".to_owned()));
                        let _ = writeln!(
                            out,
                            "{}_bucket{} {}",
                            def.name,
                            render_labels(&l, role()),
                            h.count
                        );
                        let _ = writeln!(
                            out,
                            "{}_sum{} {}",
                            def.name,
                            render_labels(labels, role()),
                            number(h.sum)
                        );
                        let _ = writeln!(
                            out,
                            "{}_count{} {}",
                            def.name,
                            render_labels(labels, role()),
                            h.count
                        );
                    }
                }
            }
        }
        out
    }
}

/// The gauges the cache implies now: pending workloads (active / inadmissible), reserving and
/// admitted counts, ClusterQueue status, resource reservation, usage and nominal quota.
pub fn cache_gauges(ix: &turnstile_state::index::Index) -> Vec<Sample> {
    let mut out = Vec::new();
    let (cq_names, _) = ix.queue_names();
    let qty = |q: Option<&turnstile_api::Quantity>| {
        q.and_then(|q| turnstile_core::quantity::Quantity::parse(&q.0).ok())
            .map_or(0.0, |q| {
                // Quantities are nano-exact; a float is what Prometheus carries.
                #[allow(clippy::cast_precision_loss)]
                let v = q.nanos() as f64 / 1e9;
                v
            })
    };
    for name in cq_names {
        let (Some(cq), Some(status)) = (ix.cluster_queue(&name), ix.cluster_queue_status(&name))
        else {
            continue;
        };
        let cohort = cq
            .spec
            .cohort_name
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default();
        let (active, inadmissible) = ix.pending_split(&name);
        for (st, n) in [("active", active), ("inadmissible", inadmissible)] {
            #[allow(clippy::cast_precision_loss)]
            out.push(Sample {
                def: PENDING,
                labels: vec![("cluster_queue", name.clone()), ("status", st.to_owned())],
                value: n as f64,
            });
        }
        out.push(Sample {
            def: RESERVING_ACTIVE,
            labels: vec![("cluster_queue", name.clone())],
            value: f64::from(status.reserving_workloads),
        });
        out.push(Sample {
            def: ADMITTED_ACTIVE,
            labels: vec![("cluster_queue", name.clone())],
            value: f64::from(status.admitted_workloads),
        });
        let current = if cq.metadata.deletion_timestamp.is_some() {
            "terminating"
        } else if status
            .conditions
            .iter()
            .any(|c| c.type_ == "Active" && c.status == "True")
        {
            "active"
        } else {
            "pending"
        };
        for st in ["pending", "active", "terminating"] {
            out.push(Sample {
                def: CQ_STATUS,
                labels: vec![("cluster_queue", name.clone()), ("status", st.to_owned())],
                value: if st == current { 1.0 } else { 0.0 },
            });
        }
        for (def, list) in [
            (CQ_RESERVATION, &status.flavors_reservation),
            (CQ_USAGE, &status.flavors_usage),
        ] {
            for f in list {
                for r in &f.resources {
                    out.push(Sample {
                        def,
                        labels: vec![
                            ("cohort", cohort.clone()),
                            ("cluster_queue", name.clone()),
                            ("flavor", f.name.to_string()),
                            ("resource", r.name.clone()),
                        ],
                        value: qty(r.total.as_ref()),
                    });
                }
            }
        }
        for rg in &cq.spec.resource_groups {
            for f in &rg.flavors {
                for r in &f.resources {
                    out.push(Sample {
                        def: CQ_NOMINAL,
                        labels: vec![
                            ("cohort", cohort.clone()),
                            ("cluster_queue", name.clone()),
                            ("flavor", f.name.to_string()),
                            ("resource", r.name.clone()),
                        ],
                        value: qty(Some(&r.nominal_quota)),
                    });
                }
            }
        }
    }
    out.extend(window_gauges(ix));
    out
}

/// `turnstile_time_window_state`: 1 for each policy's current state, 0 for the others.
fn window_gauges(ix: &turnstile_state::index::Index) -> Vec<Sample> {
    let mut out = Vec::new();
    for p in ix.window_policies() {
        for st in [
            turnstile_api::v1alpha1::WindowState::Open,
            turnstile_api::v1alpha1::WindowState::Closing,
            turnstile_api::v1alpha1::WindowState::Closed,
        ] {
            out.push(Sample {
                def: WINDOW_STATE,
                labels: vec![("policy", p.name.clone()), ("state", format!("{st:?}"))],
                value: if st == p.state { 1.0 } else { 0.0 },
            });
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::float_cmp)]
mod tests {
    use super::*;

    #[test]
    fn counters_and_histograms_render_in_prometheus_text() {
        let m = Metrics::default();
        m.inc(ADMITTED, &[("cluster_queue", "cq"), ("priority_class", "")]);
        m.inc(ADMITTED, &[("cluster_queue", "cq"), ("priority_class", "")]);
        m.observe(
            ADMISSION_WAIT,
            &[("cluster_queue", "cq"), ("priority_class", "")],
            3.0,
        );
        let text = m.render(
            &[Sample {
                def: PENDING,
                labels: vec![
                    ("cluster_queue", "c\"q".into()),
                    ("status", "active".into()),
                ],
                value: 4.0,
            }],
            "leader",
        );
        assert!(
            text.contains("# TYPE kueue_admitted_workloads_total counter\n"),
            "{text}"
        );
        assert!(
            text.contains("kueue_admitted_workloads_total{cluster_queue=\"cq\",priority_class=\"\",replica_role=\"leader\"} 2\n"),
            "{text}"
        );
        assert!(
            text.contains("kueue_admission_wait_time_seconds_bucket{cluster_queue=\"cq\",priority_class=\"\",le=\"2.5\",replica_role=\"leader\"} 0\n")
                && text.contains("kueue_admission_wait_time_seconds_bucket{cluster_queue=\"cq\",priority_class=\"\",le=\"5\",replica_role=\"leader\"} 1\n")
                && text.contains("kueue_admission_wait_time_seconds_bucket{cluster_queue=\"cq\",priority_class=\"\",le=\"+Inf\",replica_role=\"leader\"} 1\n")
                && text.contains("kueue_admission_wait_time_seconds_sum{cluster_queue=\"cq\",priority_class=\"\",replica_role=\"leader\"} 3\n"),
            "{text}"
        );
        assert!(
            text.contains("kueue_pending_workloads{cluster_queue=\"c\\\"q\",status=\"active\",replica_role=\"leader\"} 4\n"),
            "{text}"
        );
        assert_eq!(
            m.counter(ADMITTED, &[("cluster_queue", "cq"), ("priority_class", "")]),
            2.0
        );
    }
}
