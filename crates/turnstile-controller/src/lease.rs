//! Leader election with a `coordination.k8s.io/v1` Lease: only the holder schedules and writes;
//! the webhook serves on every replica regardless.
//!
//! Safe against clock skew: no timestamp written by another replica is compared with this
//! replica's clock. Another holder's lease counts as expired only once its record (holder and
//! resourceVersion) has not changed for a whole lease duration **as measured here**, from when
//! this replica first saw that record (as client-go does). This replica leads until `renew_deadline`
//! after the *start* of its last successful write of the Lease; any other replica saw that write
//! after it started, so it waits at least `lease_duration` (longer) from a later instant before
//! taking over: the old leader has stopped first, whatever the wall clocks say.
//!
//! Demotion is immediate when another holder is seen or a write of the Lease is refused (409);
//! every API call has a timeout; errors are logged (at most every 30 s per kind of error).
//! [`Leadership::holds`] is checked by the fenced client ([`crate::fence`]) before every write the
//! controllers send, so writes stop the moment leadership can no longer be proven.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use kube::Client;
use kube::api::{Api, PostParams};

/// Lease settings.
#[derive(Clone, Debug)]
pub struct LeaseConfig {
    /// Namespace of the Lease.
    pub namespace: String,
    /// Name of the Lease.
    pub name: String,
    /// This replica's identity.
    pub identity: String,
    /// How long a lease is valid without renewal.
    pub duration: Duration,
    /// Step down when not renewed for this long (shorter than `duration`).
    pub renew_deadline: Duration,
    /// How often to try.
    pub retry: Duration,
}

/// Whether this replica may act as the leader now: true until an instant of the monotonic clock.
#[derive(Debug)]
pub struct Leadership {
    epoch: Instant,
    /// Nanoseconds after `epoch` until which this replica leads, plus one; 0: it does not.
    until: AtomicU64,
}

impl Default for Leadership {
    fn default() -> Self {
        Self {
            epoch: Instant::now(),
            until: AtomicU64::new(0),
        }
    }
}

impl Leadership {
    /// Whether this replica leads now.
    pub fn holds(&self) -> bool {
        self.holds_at(Instant::now())
    }

    /// Whether this replica leads at `now`.
    pub fn holds_at(&self, now: Instant) -> bool {
        let until = self.until.load(Ordering::SeqCst);
        until > 0 && self.nanos(now) < until - 1
    }

    /// Leads until `until` (or not at all).
    pub fn set_until(&self, until: Option<Instant>) {
        let v = until.map_or(0, |t| self.nanos(t).saturating_add(1));
        self.until.store(v, Ordering::SeqCst);
    }

    /// Leads for good (leader election off: a single replica).
    pub fn forever(&self) {
        self.until.store(u64::MAX, Ordering::SeqCst);
    }

    fn nanos(&self, t: Instant) -> u64 {
        u64::try_from(t.saturating_duration_since(self.epoch).as_nanos()).unwrap_or(u64::MAX - 1)
    }
}

/// What to do after reading the Lease.
#[derive(Clone, Debug, PartialEq)]
pub enum Next {
    /// There is none: create it, held by us.
    Create,
    /// Write this Lease (a renewal of ours, or a take-over of an expired or released one); the
    /// resourceVersion read makes the write fail if anyone wrote in between.
    Write(Box<Lease>),
    /// Someone else holds it.
    Follow,
}

/// The record of another holder as first seen here.
#[derive(Clone, Debug, PartialEq)]
struct Observed {
    holder: Option<String>,
    resource_version: Option<String>,
    since: Instant,
}

/// The election's decisions, without I/O: fed the Lease as read and the local monotonic time.
#[derive(Clone, Debug)]
pub struct Elector {
    identity: String,
    duration: Duration,
    renew_deadline: Duration,
    observed: Option<Observed>,
    leading_until: Option<Instant>,
}

impl Elector {
    /// A replica that does not lead yet.
    pub fn new(cfg: &LeaseConfig) -> Self {
        Self {
            identity: cfg.identity.clone(),
            duration: cfg.duration,
            renew_deadline: cfg.renew_deadline,
            observed: None,
            leading_until: None,
        }
    }

    /// Until when this replica leads, if it does.
    pub fn leading_until(&self) -> Option<Instant> {
        self.leading_until
    }

    /// Decides from the Lease as read at `now` (`wall` is written into the Lease only, never
    /// compared with anything).
    pub fn next(&mut self, lease: Option<&Lease>, now: Instant, wall: MicroTime) -> Next {
        let Some(lease) = lease else {
            return Next::Create;
        };
        let spec = lease.spec.clone().unwrap_or_default();
        let holder = spec.holder_identity.clone().filter(|h| !h.is_empty());
        let record = (holder.clone(), lease.metadata.resource_version.clone());
        if self
            .observed
            .as_ref()
            .is_none_or(|o| (o.holder.clone(), o.resource_version.clone()) != record)
        {
            self.observed = Some(Observed {
                holder: record.0,
                resource_version: record.1,
                since: now,
            });
        }
        let mine = holder.as_deref() == Some(self.identity.as_str());
        if !mine && holder.is_some() {
            // Someone else holds it: not us, from this instant.
            self.leading_until = None;
            let duration = spec
                .lease_duration_seconds
                .and_then(|s| u64::try_from(s).ok())
                .map_or(self.duration, Duration::from_secs);
            let unchanged_for = self
                .observed
                .as_ref()
                .map_or(Duration::ZERO, |o| now.saturating_duration_since(o.since));
            if unchanged_for < duration {
                return Next::Follow;
            }
        }
        let secs = i32::try_from(self.duration.as_secs()).unwrap_or(i32::MAX);
        let mut next = spec.clone();
        next.renew_time = Some(wall.clone());
        next.lease_duration_seconds = Some(secs);
        if !mine {
            next.holder_identity = Some(self.identity.clone());
            next.acquire_time = Some(wall);
            next.lease_transitions = Some(spec.lease_transitions.unwrap_or(0) + 1);
        }
        let mut out = lease.clone();
        out.spec = Some(next);
        Next::Write(Box::new(out))
    }

    /// Our write of the Lease, started at `started`, succeeded: we lead until `started +
    /// renew_deadline`.
    pub fn written(&mut self, started: Instant) {
        self.leading_until = Some(started + self.renew_deadline);
        self.observed = None;
    }

    /// Our write was refused because someone else wrote first (409): not the leader any more.
    pub fn conflicted(&mut self) {
        self.leading_until = None;
    }

    /// Whether this replica leads at `now`.
    pub fn leads(&self, now: Instant) -> bool {
        self.leading_until.is_some_and(|t| now < t)
    }
}

/// The Lease a [`Next::Create`] writes.
fn new_lease(cfg: &LeaseConfig, wall: MicroTime) -> Lease {
    Lease {
        metadata: kube::api::ObjectMeta {
            name: Some(cfg.name.clone()),
            namespace: Some(cfg.namespace.clone()),
            ..Default::default()
        },
        spec: Some(LeaseSpec {
            holder_identity: Some(cfg.identity.clone()),
            lease_duration_seconds: Some(i32::try_from(cfg.duration.as_secs()).unwrap_or(i32::MAX)),
            acquire_time: Some(wall.clone()),
            renew_time: Some(wall),
            lease_transitions: Some(0),
            ..Default::default()
        }),
    }
}

/// Logs an error at warn level at most once per 30 s per kind of error.
struct Throttle {
    last: Option<(String, Instant)>,
}

impl Throttle {
    fn warn(&mut self, what: &str, e: &dyn std::fmt::Display, cfg: &LeaseConfig) {
        let key = format!("{what}: {e}");
        let due = self
            .last
            .as_ref()
            .is_none_or(|(k, at)| *k != key || at.elapsed() >= Duration::from_secs(30));
        if due {
            tracing::warn!(lease = %cfg.name, namespace = %cfg.namespace, identity = %cfg.identity, error = %e, "{what}");
            self.last = Some((key, Instant::now()));
        }
    }
}

fn is_conflict(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == 409)
}

/// Keeps `leadership` true exactly while this replica may act as the leader. Runs forever.
pub async fn run(
    client: Client,
    cfg: LeaseConfig,
    leadership: Arc<Leadership>,
    heartbeats: Arc<crate::health::Heartbeats>,
) {
    let api: Api<Lease> = Api::namespaced(client, &cfg.namespace);
    let mut elector = Elector::new(&cfg);
    let mut throttle = Throttle { last: None };
    // No call may outlast the time this replica could still lead.
    let call_timeout = cfg.renew_deadline.max(Duration::from_millis(500));
    let mut was_leading = false;
    loop {
        heartbeats.beat("lease");
        let started = Instant::now();
        match tokio::time::timeout(call_timeout, api.get_opt(&cfg.name)).await {
            Ok(Ok(lease)) => {
                let wall = MicroTime(k8s_openapi::jiff::Timestamp::now());
                let write = match elector.next(lease.as_ref(), Instant::now(), wall.clone()) {
                    Next::Create => Some(
                        tokio::time::timeout(
                            call_timeout,
                            api.create(&PostParams::default(), &new_lease(&cfg, wall)),
                        )
                        .await,
                    ),
                    Next::Write(l) => Some(
                        tokio::time::timeout(
                            call_timeout,
                            api.replace(&cfg.name, &PostParams::default(), l.as_ref()),
                        )
                        .await,
                    ),
                    Next::Follow => None,
                };
                match write {
                    Some(Ok(Ok(_))) => elector.written(started),
                    Some(Ok(Err(e))) if is_conflict(&e) => elector.conflicted(),
                    Some(Ok(Err(e))) => throttle.warn("writing the leader Lease failed", &e, &cfg),
                    Some(Err(_)) => throttle.warn(
                        "writing the leader Lease timed out",
                        &format!("no answer within {call_timeout:?}"),
                        &cfg,
                    ),
                    None => {}
                }
            }
            Ok(Err(e)) => throttle.warn("reading the leader Lease failed", &e, &cfg),
            Err(_) => throttle.warn(
                "reading the leader Lease timed out",
                &format!("no answer within {call_timeout:?}"),
                &cfg,
            ),
        }
        let leading = elector.leads(Instant::now());
        leadership.set_until(elector.leading_until().filter(|_| leading));
        if leading && !was_leading {
            tracing::info!(identity = %cfg.identity, lease = %cfg.name, "became the leader");
        } else if !leading && was_leading {
            tracing::warn!(identity = %cfg.identity, lease = %cfg.name, "stepped down (leadership can no longer be proven); standing by");
        }
        was_leading = leading;
        // Wake in time to step down exactly at the deadline if the next renewal does not succeed.
        let sleep = elector.leading_until().map_or(cfg.retry, |t| {
            cfg.retry
                .min(t.saturating_duration_since(Instant::now()))
                .max(Duration::from_millis(10))
        });
        tokio::time::sleep(sleep).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(identity: &str) -> LeaseConfig {
        LeaseConfig {
            namespace: "ns".into(),
            name: "lease".into(),
            identity: identity.into(),
            duration: Duration::from_secs(15),
            renew_deadline: Duration::from_secs(10),
            retry: Duration::from_secs(2),
        }
    }

    fn wall(offset_s: i64) -> MicroTime {
        MicroTime(
            k8s_openapi::jiff::Timestamp::from_second(1_800_000_000 + offset_s).expect("time"),
        )
    }

    fn lease(holder: &str, rv: &str, renewed: MicroTime) -> Lease {
        Lease {
            metadata: kube::api::ObjectMeta {
                name: Some("lease".into()),
                resource_version: Some(rv.into()),
                ..Default::default()
            },
            spec: Some(LeaseSpec {
                holder_identity: Some(holder.into()),
                lease_duration_seconds: Some(15),
                renew_time: Some(renewed),
                ..Default::default()
            }),
        }
    }

    #[test]
    fn another_holders_lease_expires_by_local_observation_whatever_its_clock_says() {
        let t0 = Instant::now();
        // The holder's clock runs 6 s ahead, or 6 s behind: its renewTime says nothing here.
        for skew in [-6, 6] {
            let mut b = Elector::new(&cfg("b"));
            let held = lease("a", "1", wall(skew));
            assert_eq!(b.next(Some(&held), t0, wall(0)), Next::Follow);
            assert_eq!(
                b.next(Some(&held), t0 + Duration::from_secs(14), wall(14)),
                Next::Follow,
                "not before a whole lease duration of seeing the same record (skew {skew})"
            );
            // a renewed meanwhile: a new record, the count starts again.
            let renewed = lease("a", "2", wall(skew + 10));
            assert_eq!(
                b.next(Some(&renewed), t0 + Duration::from_secs(14), wall(14)),
                Next::Follow
            );
            assert_eq!(
                b.next(Some(&renewed), t0 + Duration::from_secs(28), wall(28)),
                Next::Follow
            );
            let Next::Write(taken) = b.next(Some(&renewed), t0 + Duration::from_secs(29), wall(29))
            else {
                panic!("expired after 15 s unchanged");
            };
            let spec = taken.spec.expect("spec");
            assert_eq!(spec.holder_identity.as_deref(), Some("b"));
            assert_eq!(spec.lease_transitions, Some(1));
            assert_eq!(
                taken.metadata.resource_version.as_deref(),
                Some("2"),
                "the write is conditional on the record read"
            );
        }
    }

    #[test]
    fn a_leader_steps_down_at_its_deadline_before_anyone_can_take_over() {
        let t0 = Instant::now();
        let mut a = Elector::new(&cfg("a"));
        assert_eq!(a.next(None, t0, wall(0)), Next::Create);
        a.written(t0);
        assert!(a.leads(t0 + Duration::from_secs(9)));
        // Renewals time out from here on: it stops leading at t0 + 10 s ...
        assert!(!a.leads(t0 + Duration::from_secs(10)));
        // ... while a replica that saw its write (no earlier than t0) waits 15 s from then.
        let mut b = Elector::new(&cfg("b"));
        let written = lease("a", "1", wall(0));
        assert_eq!(b.next(Some(&written), t0, wall(0)), Next::Follow);
        assert_eq!(
            b.next(Some(&written), t0 + Duration::from_secs(14), wall(14)),
            Next::Follow
        );
        assert!(matches!(
            b.next(Some(&written), t0 + Duration::from_secs(15), wall(15)),
            Next::Write(_)
        ));
    }

    #[test]
    fn seeing_another_holder_or_a_refused_renewal_demotes_at_once() {
        let t0 = Instant::now();
        let mut a = Elector::new(&cfg("a"));
        a.written(t0);
        assert!(a.leads(t0 + Duration::from_secs(1)));
        assert_eq!(
            a.next(
                Some(&lease("b", "7", wall(1))),
                t0 + Duration::from_secs(1),
                wall(1)
            ),
            Next::Follow
        );
        assert!(!a.leads(t0 + Duration::from_secs(1)), "another holder seen");
        let mut a = Elector::new(&cfg("a"));
        a.written(t0);
        assert!(matches!(
            a.next(
                Some(&lease("a", "3", wall(0))),
                t0 + Duration::from_secs(2),
                wall(2)
            ),
            Next::Write(_)
        ));
        a.conflicted();
        assert!(
            !a.leads(t0 + Duration::from_secs(2)),
            "renewal refused (409)"
        );
    }

    #[test]
    fn the_validity_counts_from_the_start_of_the_write_not_its_answer() {
        let t0 = Instant::now();
        let mut a = Elector::new(&cfg("a"));
        // The renewal was sent at t0 and answered 4 s later: it leads until t0 + 10 s, not 14.
        a.written(t0);
        assert!(!a.leads(t0 + Duration::from_secs(10)));
        assert_eq!(a.leading_until(), Some(t0 + Duration::from_secs(10)));
    }

    #[test]
    fn leadership_holds_until_its_instant_only() {
        let l = Leadership::default();
        let now = Instant::now();
        assert!(!l.holds_at(now));
        l.set_until(Some(now + Duration::from_secs(1)));
        assert!(l.holds_at(now));
        assert!(!l.holds_at(now + Duration::from_secs(1)));
        l.set_until(None);
        assert!(!l.holds_at(now));
        l.forever();
        assert!(l.holds_at(now + Duration::from_secs(1_000_000)));
    }
}
