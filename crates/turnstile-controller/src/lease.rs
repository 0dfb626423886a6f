//! Leader election with a `coordination.k8s.io/v1` Lease: only the holder schedules and writes
//! statuses; the webhook serves on every replica regardless.
//!
//! The holder renews every `retry` and steps down (stops writing) as soon as it has not renewed
//! for `renew_deadline`, which is shorter than the lease duration, so an old leader has always
//! stopped before another replica can take the lease over.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
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

fn now_micro() -> MicroTime {
    MicroTime(k8s_openapi::jiff::Timestamp::now())
}

fn expired(l: &LeaseSpec) -> bool {
    let (Some(renew), Some(secs)) = (l.renew_time.as_ref(), l.lease_duration_seconds) else {
        return true;
    };
    let age = k8s_openapi::jiff::Timestamp::now().duration_since(renew.0);
    age.as_secs() >= i64::from(secs)
}

/// One attempt: returns whether this replica holds the lease afterwards.
async fn try_acquire(api: &Api<Lease>, cfg: &LeaseConfig) -> Result<bool, kube::Error> {
    let secs = i32::try_from(cfg.duration.as_secs()).unwrap_or(i32::MAX);
    match api.get_opt(&cfg.name).await? {
        None => {
            let lease = Lease {
                metadata: kube::api::ObjectMeta {
                    name: Some(cfg.name.clone()),
                    namespace: Some(cfg.namespace.clone()),
                    ..Default::default()
                },
                spec: Some(LeaseSpec {
                    holder_identity: Some(cfg.identity.clone()),
                    lease_duration_seconds: Some(secs),
                    acquire_time: Some(now_micro()),
                    renew_time: Some(now_micro()),
                    lease_transitions: Some(0),
                    ..Default::default()
                }),
            };
            Ok(api.create(&PostParams::default(), &lease).await.is_ok())
        }
        Some(mut lease) => {
            let spec = lease.spec.clone().unwrap_or_default();
            let mine = spec.holder_identity.as_deref() == Some(cfg.identity.as_str());
            if !mine && !expired(&spec) {
                return Ok(false);
            }
            let mut next = spec.clone();
            next.renew_time = Some(now_micro());
            next.lease_duration_seconds = Some(secs);
            if !mine {
                next.holder_identity = Some(cfg.identity.clone());
                next.acquire_time = Some(now_micro());
                next.lease_transitions = Some(spec.lease_transitions.unwrap_or(0) + 1);
            }
            lease.spec = Some(next);
            // The resourceVersion in `lease` makes this fail if anyone wrote in between.
            Ok(api
                .replace(&cfg.name, &PostParams::default(), &lease)
                .await
                .is_ok())
        }
    }
}

/// Keeps `leader` true exactly while this replica may act as the leader. Runs forever.
pub async fn run(client: Client, cfg: LeaseConfig, leader: Arc<AtomicBool>) {
    let api: Api<Lease> = Api::namespaced(client, &cfg.namespace);
    let mut last_renewed: Option<Instant> = None;
    loop {
        let held = try_acquire(&api, &cfg).await.unwrap_or(false);
        if held {
            if last_renewed.is_none() {
                tracing::info!(identity = %cfg.identity, lease = %cfg.name, "became the leader");
            }
            last_renewed = Some(Instant::now());
        }
        let valid = last_renewed.is_some_and(|t| t.elapsed() < cfg.renew_deadline);
        if !valid && last_renewed.is_some() {
            tracing::warn!(identity = %cfg.identity, "lost the lease; standing by");
            last_renewed = None;
        }
        leader.store(valid, Ordering::SeqCst);
        tokio::time::sleep(cfg.retry).await;
    }
}
