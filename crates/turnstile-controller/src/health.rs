//! Health and readiness endpoints over plain HTTP (`/healthz`, `/readyz`), as probes expect.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http_body_util::Full;
use hyper::Response;
pub use hyper::StatusCode;
use hyper::body::Bytes;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;

use crate::Error;

/// Reports readiness.
pub trait Readiness: Send + Sync {
    /// `Ok` when ready, or what is still missing.
    fn ready(&self) -> Result<(), String>;
}

/// What a route answers: status, content type, body.
pub type Answer = (StatusCode, &'static str, String);

/// A plain-HTTP server answering GET requests by path with `route`.
pub async fn serve_routes(
    addr: SocketAddr,
    what: &'static str,
    route: Arc<dyn Fn(&str) -> Answer + Send + Sync>,
) -> Result<(), Error> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|e| Error::Serve(format!("{what} on {addr}: {e}")))?;
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let route = route.clone();
        tokio::spawn(async move {
            let service =
                hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let (status, content_type, body) = route(req.uri().path());
                    async move {
                        let mut resp = Response::new(Full::new(Bytes::from(body)));
                        *resp.status_mut() = status;
                        if let Ok(v) = hyper::header::HeaderValue::from_str(content_type) {
                            resp.headers_mut().insert(hyper::header::CONTENT_TYPE, v);
                        }
                        Ok::<_, std::convert::Infallible>(resp)
                    }
                });
            let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// How long a control loop may go without a heartbeat before the process is reported not live:
/// far beyond one turn of any loop on a saturated apiserver (a Job pass over thousands of Jobs).
pub const STALL: Duration = Duration::from_mins(5);

/// The control loops' heartbeats: each loop beats at least every few seconds while it turns
/// (the scheduler every second, the Lease every retry period, the time windows every 30 s). A
/// loop that has beaten once and then stops — a deadlock, a task that died — makes `/healthz`
/// fail, so that the kubelet restarts the process instead of leaving a replica that looks alive
/// and does nothing.
#[derive(Debug, Default)]
pub struct Heartbeats {
    beats: Mutex<BTreeMap<&'static str, Instant>>,
}

impl Heartbeats {
    /// Loop `name` is alive now.
    pub fn beat(&self, name: &'static str) {
        if let Ok(mut b) = self.beats.lock() {
            b.insert(name, Instant::now());
        }
    }

    /// The loops silent for longer than `max` at `now`, with how long.
    pub fn stalled(&self, now: Instant, max: Duration) -> Vec<(&'static str, Duration)> {
        self.beats.lock().map_or_else(
            |_| vec![("heartbeats", Duration::MAX)],
            |b| {
                b.iter()
                    .map(|(n, t)| (*n, now.saturating_duration_since(*t)))
                    .filter(|(_, age)| *age > max)
                    .collect()
            },
        )
    }
}

/// The `/healthz` answer for these heartbeats at `now`.
pub fn liveness(heartbeats: &Heartbeats, now: Instant) -> Answer {
    const TEXT: &str = "text/plain; charset=utf-8";
    let stalled = heartbeats.stalled(now, STALL);
    if stalled.is_empty() {
        (StatusCode::OK, TEXT, "ok".to_owned())
    } else {
        let which: Vec<String> = stalled
            .iter()
            .map(|(n, age)| format!("{n} loop silent for {} s", age.as_secs()))
            .collect();
        (StatusCode::INTERNAL_SERVER_ERROR, TEXT, which.join("; "))
    }
}

/// Serves `/healthz` (200 while every control loop beats, see [`Heartbeats`]) and `/readyz` (200
/// when `readiness` says so).
pub async fn serve(
    addr: SocketAddr,
    readiness: Arc<dyn Readiness>,
    heartbeats: Arc<Heartbeats>,
) -> Result<(), Error> {
    const TEXT: &str = "text/plain; charset=utf-8";
    serve_routes(
        addr,
        "health",
        Arc::new(move |path: &str| match path {
            "/healthz" | "/livez" => liveness(&heartbeats, Instant::now()),
            "/readyz" => match readiness.ready() {
                Ok(()) => (StatusCode::OK, TEXT, "ok".to_owned()),
                Err(why) => (StatusCode::SERVICE_UNAVAILABLE, TEXT, why),
            },
            _ => (StatusCode::NOT_FOUND, TEXT, "not found".to_owned()),
        }),
    )
    .await
}

/// Runs a task that must never end: if it returns or panics, the process exits (status 70) after
/// logging why, so that Kubernetes restarts it with a cache rebuilt from the API, rather than
/// running on without it.
pub fn supervise<F>(name: &'static str, task: F)
where
    F: std::future::Future<Output = ()> + Send + 'static,
{
    let handle = tokio::spawn(task);
    tokio::spawn(async move {
        let why = match handle.await {
            Ok(()) => "returned".to_owned(),
            Err(e) => format!("failed: {e}"),
        };
        tracing::error!(
            task = name,
            "a control loop {why}; exiting so that the process is restarted"
        );
        std::process::exit(70);
    });
}

/// Makes every panic fatal to the process, after logging it: a panic may leave the shared cache
/// half-updated (and its lock poisoned), and a replica that goes on without its scheduler or with
/// a wrong cache is worse than one restarted from the API's state.
pub fn exit_on_panic() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        tracing::error!(panic = %info, "panic; exiting so that the process is restarted");
        default(info);
        std::process::exit(70);
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_loop_that_stops_beating_fails_liveness_others_do_not_matter_until_they_beat() {
        let h = Heartbeats::default();
        let t0 = Instant::now();
        assert_eq!(
            liveness(&h, t0).0,
            StatusCode::OK,
            "no loop has started yet"
        );
        h.beat("scheduler");
        h.beat("lease");
        assert_eq!(
            liveness(&h, Instant::now() + Duration::from_secs(299)).0,
            StatusCode::OK
        );
        let (status, _, body) = liveness(&h, Instant::now() + Duration::from_secs(301));
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(body.contains("scheduler loop silent for 30"), "{body}");
        assert!(body.contains("lease loop silent"), "{body}");
    }
}
