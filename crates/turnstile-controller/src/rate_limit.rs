//! The client-side rate limit Kueue's `clientConnection` sets (`qps`, `burst`; 300 and 500 by
//! default): a token bucket shared by every API client of the manager, as client-go's
//! `TokenBucketRateLimiter` on Kueue's one rest config. A request takes a token; with none left it
//! waits until one has refilled (`1/qps` s each), so requests go out in order of arrival. A
//! negative `qps` turns the limit off, as in Kueue; `0` is read the same way (Kueue would let
//! `burst` requests through and then stall forever).

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use http::Request;
use tokio::time::Instant;
use tower::{Layer, Service};

/// Tokens and when they were last counted.
#[derive(Debug)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// The shared token bucket.
#[derive(Debug)]
pub struct TokenBucket {
    qps: f64,
    burst: f64,
    state: Mutex<Bucket>,
}

impl TokenBucket {
    /// A full bucket of `burst` tokens refilling at `qps`; `None` when `qps` is not positive (no
    /// limit).
    pub fn new(qps: f32, burst: i32) -> Option<Arc<Self>> {
        (qps > 0.0).then(|| {
            let burst = f64::from(burst.max(1));
            Arc::new(Self {
                qps: f64::from(qps),
                burst,
                state: Mutex::new(Bucket {
                    tokens: burst,
                    at: Instant::now(),
                }),
            })
        })
    }

    /// Takes a token at `now`: how long the request must wait for it.
    pub fn reserve(&self, now: Instant) -> Duration {
        let Ok(mut b) = self.state.lock() else {
            return Duration::ZERO;
        };
        let elapsed = now.saturating_duration_since(b.at).as_secs_f64();
        b.tokens = (b.tokens + elapsed * self.qps).min(self.burst);
        b.at = b.at.max(now);
        b.tokens -= 1.0;
        if b.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-b.tokens / self.qps)
        }
    }
}

/// The layer that puts a client behind a [`TokenBucket`].
#[derive(Clone, Debug)]
pub struct RateLimitLayer {
    bucket: Option<Arc<TokenBucket>>,
}

impl RateLimitLayer {
    /// A layer on `bucket` (`None`: requests pass at once).
    pub fn new(bucket: Option<Arc<TokenBucket>>) -> Self {
        Self { bucket }
    }
}

impl<S> Layer<S> for RateLimitLayer {
    type Service = RateLimited<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RateLimited {
            inner,
            bucket: self.bucket.clone(),
            reserved: false,
            sleep: None,
        }
    }
}

/// A rate-limited client service: `poll_ready` takes the next request's token and is ready only
/// once the token is due (kube's client drives one request at a time through its buffer, so
/// requests go out in order).
#[derive(Debug)]
pub struct RateLimited<S> {
    inner: S,
    bucket: Option<Arc<TokenBucket>>,
    reserved: bool,
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl<S, B> Service<Request<B>> for RateLimited<S>
where
    S: Service<Request<B>>,
    S::Error: Into<BoxError>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        if !self.reserved {
            self.reserved = true;
            if let Some(b) = &self.bucket {
                let wait = b.reserve(Instant::now());
                if !wait.is_zero() {
                    self.sleep = Some(Box::pin(tokio::time::sleep(wait)));
                }
            }
        }
        if let Some(s) = self.sleep.as_mut() {
            if s.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            self.sleep = None;
        }
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        self.reserved = false;
        let fut = self.inner.call(req);
        Box::pin(async move { fut.await.map_err(Into::into) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_one_per_interval() {
        let b = TokenBucket::new(10.0, 3).unwrap();
        let t0 = Instant::now();
        let waits: Vec<u128> = (0..5).map(|_| b.reserve(t0).as_millis()).collect();
        assert_eq!(
            waits,
            [0, 0, 0, 100, 200],
            "three at once, then 100 ms apart"
        );
        // A second later the bucket has refilled (to its burst, not beyond).
        let t1 = t0 + Duration::from_secs(1);
        let waits: Vec<u128> = (0..4).map(|_| b.reserve(t1).as_millis()).collect();
        assert_eq!(waits, [0, 0, 0, 100]);
    }

    #[test]
    fn no_limit_when_qps_is_not_positive() {
        assert!(TokenBucket::new(-1.0, 10).is_none());
        assert!(TokenBucket::new(0.0, 10).is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn requests_beyond_the_burst_wait() {
        type Fut = Pin<Box<dyn Future<Output = Result<(), BoxError>> + Send>>;
        use tower::ServiceExt;
        let mut svc = RateLimitLayer::new(TokenBucket::new(2.0, 1)).layer(tower::service_fn(
            |_req: Request<()>| Box::pin(async { Ok::<_, BoxError>(()) }) as Fut,
        ));
        let start = tokio::time::Instant::now();
        for _ in 0..3 {
            svc.ready()
                .await
                .unwrap_or_else(|e| panic!("{e}"))
                .call(Request::new(()))
                .await
                .unwrap_or_else(|e| panic!("{e}"));
        }
        assert_eq!(start.elapsed(), Duration::from_secs(1), "0, 0.5 and 1 s");
    }
}
