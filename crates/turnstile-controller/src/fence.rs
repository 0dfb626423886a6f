//! The fence between leadership and writes: a layer on the API client the controllers write with
//! (scheduler, Job reconciler, time windows) that refuses every mutating request unless
//! [`Leadership::holds`] at the moment it is sent, and abandons one still unanswered when the
//! leadership it was sent under runs out. Reads (GET, including watches) always pass. The Lease,
//! the webhook's certificates and Events use an unfenced client.
//!
//! Checking once per loop is not enough: a cycle's writes, a status batch or a Job pass take
//! time, and a replica that stopped renewing must stop writing at its deadline, between any two
//! writes.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Method, Request};
use tower::{Layer, Service};

use crate::lease::Leadership;

/// The error a fenced write fails with.
#[derive(Debug, thiserror::Error)]
#[error("write refused: this replica is not (or no longer provably) the leader")]
pub struct NotLeader;

/// Wraps a client service with the fence.
#[derive(Clone, Debug)]
pub struct FenceLayer {
    leadership: Arc<Leadership>,
}

impl FenceLayer {
    /// A fence on `leadership`.
    pub fn new(leadership: Arc<Leadership>) -> Self {
        Self { leadership }
    }
}

impl<S> Layer<S> for FenceLayer {
    type Service = Fence<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Fence {
            inner,
            leadership: self.leadership.clone(),
        }
    }
}

/// The fenced service.
#[derive(Clone, Debug)]
pub struct Fence<S> {
    inner: S,
    leadership: Arc<Leadership>,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Whether a request changes anything.
pub fn mutates(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

impl<S, B> Service<Request<B>> for Fence<S>
where
    S: Service<Request<B>>,
    S::Error: Into<BoxError>,
    S::Future: Send + 'static,
    S::Response: Send + 'static,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        if !mutates(req.method()) {
            let fut = self.inner.call(req);
            return Box::pin(async move { fut.await.map_err(Into::into) });
        }
        if !self.leadership.holds() {
            return Box::pin(async { Err(Box::new(NotLeader) as BoxError) });
        }
        let leadership = self.leadership.clone();
        let fut = self.inner.call(req);
        Box::pin(async move {
            // Leadership is checked at every poll, before the request makes any progress (after
            // a pause — SIGSTOP, a stalled node — the first thing this write does is look), and
            // at least every 50 ms while it waits for its answer: once leadership runs out the
            // write is abandoned as far as this replica is concerned.
            let mut fut = std::pin::pin!(fut);
            let mut tick = tokio::time::interval(std::time::Duration::from_millis(50));
            std::future::poll_fn(|cx| {
                if !leadership.holds() {
                    return Poll::Ready(Err(Box::new(NotLeader) as BoxError));
                }
                if let Poll::Ready(r) = fut.as_mut().poll(cx) {
                    return Poll::Ready(r.map_err(Into::into));
                }
                while tick.poll_tick(cx).is_ready() {}
                Poll::Pending
            })
            .await
        })
    }
}

/// A client for the controllers' writes: the usual client (from the environment, as
/// `Client::try_default`) behind the fence on `leadership`.
pub async fn fenced_client(
    leadership: Arc<Leadership>,
    limit: &crate::rate_limit::RateLimitLayer,
) -> Result<kube::Client, kube::Error> {
    Ok(kube::client::ClientBuilder::try_from(inferred().await?)?
        .with_layer(&FenceLayer::new(leadership))
        .with_layer(limit)
        .build())
}

async fn inferred() -> Result<kube::Config, kube::Error> {
    kube::Config::infer()
        .await
        .map_err(kube::Error::InferConfig)
}

/// The manager's plain client (Lease, Events, certificates), behind the shared rate limit.
///
/// # Errors
/// When no kubeconfig or in-cluster configuration can be found.
pub async fn limited_client(
    limit: &crate::rate_limit::RateLimitLayer,
) -> Result<kube::Client, kube::Error> {
    Ok(kube::client::ClientBuilder::try_from(inferred().await?)?
        .with_layer(limit)
        .build())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::{Duration, Instant};
    use tower::ServiceExt;

    type Fut = Pin<Box<dyn Future<Output = Result<&'static str, BoxError>> + Send>>;

    fn counting() -> (
        Arc<AtomicUsize>,
        impl Service<Request<()>, Response = &'static str, Error = BoxError, Future = Fut> + Clone,
    ) {
        let sent = Arc::new(AtomicUsize::new(0));
        let s = sent.clone();
        let svc = tower::service_fn(move |_req: Request<()>| {
            s.fetch_add(1, Ordering::SeqCst);
            Box::pin(async { Ok::<_, BoxError>("ok") }) as Fut
        });
        (sent, svc)
    }

    fn req(method: Method) -> Request<()> {
        Request::builder()
            .method(method)
            .uri("/apis/kueue.x-k8s.io/v1beta2/namespaces/ns/workloads/w/status")
            .body(())
            .expect("request")
    }

    #[tokio::test]
    async fn writes_pass_only_while_leadership_holds_reads_always() {
        let leadership = Arc::new(Leadership::default());
        let (sent, inner) = counting();
        let svc = FenceLayer::new(leadership.clone()).layer(inner);
        let r = svc.clone().oneshot(req(Method::PATCH)).await;
        assert!(r.is_err_and(|e| e.is::<NotLeader>()), "not the leader");
        assert_eq!(sent.load(Ordering::SeqCst), 0, "nothing sent");
        assert!(svc.clone().oneshot(req(Method::GET)).await.is_ok());
        assert_eq!(sent.load(Ordering::SeqCst), 1);
        leadership.set_until(Some(Instant::now() + Duration::from_mins(1)));
        for m in [Method::PATCH, Method::PUT, Method::POST, Method::DELETE] {
            assert!(svc.clone().oneshot(req(m)).await.is_ok());
        }
        assert_eq!(sent.load(Ordering::SeqCst), 5);
        // Between two writes of a burst, the deadline passes: the next one is refused.
        leadership.set_until(Some(Instant::now()));
        let r = svc.clone().oneshot(req(Method::PATCH)).await;
        assert!(r.is_err_and(|e| e.is::<NotLeader>()));
        assert_eq!(sent.load(Ordering::SeqCst), 5);
    }

    #[tokio::test]
    async fn a_write_still_unanswered_when_leadership_ends_is_abandoned() {
        let leadership = Arc::new(Leadership::default());
        leadership.set_until(Some(Instant::now() + Duration::from_millis(200)));
        let slow = tower::service_fn(|_req: Request<()>| async {
            tokio::time::sleep(Duration::from_secs(5)).await;
            Ok::<_, BoxError>("late")
        });
        let svc = FenceLayer::new(leadership).layer(slow);
        let started = Instant::now();
        let r = svc.oneshot(req(Method::PATCH)).await;
        assert!(r.is_err_and(|e| e.is::<NotLeader>()));
        assert!(started.elapsed() < Duration::from_secs(2));
    }
}
