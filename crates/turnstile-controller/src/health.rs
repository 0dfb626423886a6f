//! Health and readiness endpoints over plain HTTP (`/healthz`, `/readyz`), as probes expect.

use std::net::SocketAddr;
use std::sync::Arc;

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::{Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;

use crate::Error;

/// Reports readiness.
pub trait Readiness: Send + Sync {
    /// `Ok` when ready, or what is still missing.
    fn ready(&self) -> Result<(), String>;
}

/// Serves `/healthz` (always 200 while the process runs) and `/readyz` (200 when `readiness` says so).
pub async fn serve(addr: SocketAddr, readiness: Arc<dyn Readiness>) -> Result<(), Error> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|e| Error::Serve(format!("health on {addr}: {e}")))?;
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let readiness = readiness.clone();
        tokio::spawn(async move {
            let service =
                hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let readiness = readiness.clone();
                    async move {
                        let (status, body) = match req.uri().path() {
                            "/healthz" | "/livez" => (StatusCode::OK, "ok".to_owned()),
                            "/readyz" => match readiness.ready() {
                                Ok(()) => (StatusCode::OK, "ok".to_owned()),
                                Err(why) => (StatusCode::SERVICE_UNAVAILABLE, why),
                            },
                            _ => (StatusCode::NOT_FOUND, "not found".to_owned()),
                        };
                        let mut resp = Response::new(Full::new(Bytes::from(body)));
                        *resp.status_mut() = status;
                        Ok::<_, std::convert::Infallible>(resp)
                    }
                });
            let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
