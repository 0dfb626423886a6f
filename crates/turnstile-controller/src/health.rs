//! Health and readiness endpoints over plain HTTP (`/healthz`, `/readyz`), as probes expect.

use std::net::SocketAddr;
use std::sync::Arc;

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

/// Serves `/healthz` (always 200 while the process runs) and `/readyz` (200 when `readiness` says so).
pub async fn serve(addr: SocketAddr, readiness: Arc<dyn Readiness>) -> Result<(), Error> {
    const TEXT: &str = "text/plain; charset=utf-8";
    serve_routes(
        addr,
        "health",
        Arc::new(move |path: &str| match path {
            "/healthz" | "/livez" => (StatusCode::OK, TEXT, "ok".to_owned()),
            "/readyz" => match readiness.ready() {
                Ok(()) => (StatusCode::OK, TEXT, "ok".to_owned()),
                Err(why) => (StatusCode::SERVICE_UNAVAILABLE, TEXT, why),
            },
            _ => (StatusCode::NOT_FOUND, TEXT, "not found".to_owned()),
        }),
    )
    .await
}
