//! The HTTPS server: TLS with a certificate that can be replaced while serving (rotation without
//! downtime), request bodies bounded in size and time, every path handed to [`review::handle`].

use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use crate::review::{self, MAX_BODY_BYTES, ReviewContext};

/// Errors of the server.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The key pair could not be loaded.
    #[error("loading the serving certificate: {0}")]
    Certificate(String),
    /// Binding or accepting failed.
    #[error("listening on {0}: {1}")]
    Io(SocketAddr, std::io::Error),
}

/// The TLS implementation of every Turnstile endpoint: rustls's aws-lc-rs provider, which offers the
/// post-quantum hybrid key exchange X25519MLKEM768 that kube-apiserver (Go's TLS stack) prefers by default
/// (rustls deprecated its *ring* provider for lacking it). See docs/architecture.md.
pub fn crypto_provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// The serving certificate, replaceable at any time; `None` until the first one is set.
#[derive(Debug, Default)]
pub struct CertStore {
    current: RwLock<Option<Arc<CertifiedKey>>>,
}

impl CertStore {
    /// Replaces the certificate with a PEM chain and key.
    pub fn set_pem(&self, cert_pem: &str, key_pem: &str) -> Result<(), ServerError> {
        let certs: Vec<CertificateDer<'static>> =
            CertificateDer::pem_slice_iter(cert_pem.as_bytes())
                .collect::<Result<_, _>>()
                .map_err(|e| ServerError::Certificate(e.to_string()))?;
        if certs.is_empty() {
            return Err(ServerError::Certificate("no certificate in PEM".into()));
        }
        let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).map_err(|e| match e {
            pem::Error::NoItemsFound => ServerError::Certificate("no private key in PEM".into()),
            e => ServerError::Certificate(e.to_string()),
        })?;
        let signing = crypto_provider()
            .key_provider
            .load_private_key(key)
            .map_err(|e| ServerError::Certificate(e.to_string()))?;
        let ck = CertifiedKey::new(certs, signing);
        // A renewal may be caught half-written (new key, old certificate): never serve a mismatch.
        ck.keys_match().map_err(|e| {
            ServerError::Certificate(format!("certificate and key do not match: {e}"))
        })?;
        let ck = Arc::new(ck);
        if let Ok(mut cur) = self.current.write() {
            *cur = Some(ck);
        }
        Ok(())
    }

    /// DER of the certificate being served, if any.
    pub fn current_leaf_der(&self) -> Option<Vec<u8>> {
        let cur = self.current.read().ok()?;
        cur.as_ref()
            .and_then(|ck| ck.cert.first().map(|c| c.as_ref().to_vec()))
    }

    /// Whether a certificate is loaded (the readiness of the webhook).
    pub fn is_ready(&self) -> bool {
        self.current.read().is_ok_and(|c| c.is_some())
    }
}

impl ResolvesServerCert for CertStore {
    fn resolve(&self, _: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.current.read().ok().and_then(|c| c.clone())
    }
}

/// Observer of handled requests (metrics, latency figures).
pub trait Observer: Send + Sync {
    /// One request to `path` answered with `status` after `elapsed`.
    fn observe(&self, path: &str, status: u16, elapsed: Duration);
}

/// Ignores observations.
pub struct NoObserver;

impl Observer for NoObserver {
    fn observe(&self, _: &str, _: u16, _: Duration) {}
}

/// How long a client may take to send a request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves the webhook on `addr` until the task is dropped. The listener is bound before this
/// returns its future's first poll completes; connections are handled concurrently.
pub async fn serve(
    addr: SocketAddr,
    certs: Arc<CertStore>,
    ctx: Arc<dyn ReviewContext>,
    observer: Arc<dyn Observer>,
) -> Result<(), ServerError> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|e| ServerError::Io(addr, e))?;
    serve_listener(listener, certs, ctx, observer).await
}

/// TLS over the replaceable certificate, HTTP/2 and HTTP/1.1 offered.
fn acceptor(certs: Arc<CertStore>) -> Result<TlsAcceptor, ServerError> {
    let mut config = rustls::ServerConfig::builder_with_provider(crypto_provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| ServerError::Certificate(e.to_string()))?
        .with_no_client_auth()
        .with_cert_resolver(certs);
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// Serves on an already bound listener.
pub async fn serve_listener(
    listener: TcpListener,
    certs: Arc<CertStore>,
    ctx: Arc<dyn ReviewContext>,
    observer: Arc<dyn Observer>,
) -> Result<(), ServerError> {
    let acceptor = acceptor(certs)?;
    loop {
        let addr = listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)));
        let (stream, peer) = match listener.accept().await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(%addr, error = %e, "accept failed");
                continue;
            }
        };
        let acceptor = acceptor.clone();
        let ctx = ctx.clone();
        let observer = observer.clone();
        tokio::spawn(async move {
            let tls = match tokio::time::timeout(REQUEST_TIMEOUT, acceptor.accept(stream)).await {
                Ok(Ok(tls)) => tls,
                Ok(Err(e)) => {
                    tracing::debug!(%peer, error = %e, "TLS handshake failed");
                    return;
                }
                Err(_) => {
                    tracing::debug!(%peer, "TLS handshake timed out");
                    return;
                }
            };
            let service = hyper::service::service_fn(move |req| {
                let ctx = ctx.clone();
                let observer = observer.clone();
                async move {
                    Ok::<_, std::convert::Infallible>(
                        answer(req, ctx.as_ref(), observer.as_ref()).await,
                    )
                }
            });
            let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
            builder
                .http1()
                .header_read_timeout(REQUEST_TIMEOUT)
                .timer(hyper_util::rt::TokioTimer::new());
            if let Err(e) = builder.serve_connection(TokioIo::new(tls), service).await {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
        });
    }
}

/// What a plain GET endpoint answers: status, content type, body.
pub type GetAnswer = (u16, &'static str, String);

/// Answers a GET request from its path and `Authorization` header.
pub type GetHandler = Arc<
    dyn Fn(
            String,
            Option<String>,
        ) -> std::pin::Pin<Box<dyn std::future::Future<Output = GetAnswer> + Send>>
        + Send
        + Sync,
>;

/// Serves GET endpoints over TLS with the same certificate store (used for `/metrics`).
pub async fn serve_get_tls(
    addr: SocketAddr,
    certs: Arc<CertStore>,
    handler: GetHandler,
) -> Result<(), ServerError> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|e| ServerError::Io(addr, e))?;
    let acceptor = acceptor(certs)?;
    loop {
        let Ok((stream, peer)) = listener.accept().await else {
            continue;
        };
        let acceptor = acceptor.clone();
        let handler = handler.clone();
        tokio::spawn(async move {
            let Ok(Ok(tls)) = tokio::time::timeout(REQUEST_TIMEOUT, acceptor.accept(stream)).await
            else {
                tracing::debug!(%peer, "TLS handshake failed or timed out");
                return;
            };
            let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                let handler = handler.clone();
                async move {
                    let auth = req
                        .headers()
                        .get(hyper::header::AUTHORIZATION)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned);
                    let (status, content_type, body) =
                        handler(req.uri().path().to_owned(), auth).await;
                    let mut resp = Response::new(Full::new(Bytes::from(body)));
                    *resp.status_mut() =
                        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                    if let Ok(v) = hyper::header::HeaderValue::from_str(content_type) {
                        resp.headers_mut().insert(hyper::header::CONTENT_TYPE, v);
                    }
                    Ok::<_, std::convert::Infallible>(resp)
                }
            });
            let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
            builder
                .http1()
                .header_read_timeout(REQUEST_TIMEOUT)
                .timer(hyper_util::rt::TokioTimer::new());
            let _ = builder.serve_connection(TokioIo::new(tls), service).await;
        });
    }
}

fn reply(status: u16, body: Vec<u8>, json: bool) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let ct = if json {
        "application/json"
    } else {
        "text/plain; charset=utf-8"
    };
    resp.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static(ct),
    );
    resp
}

async fn answer(
    req: Request<Incoming>,
    ctx: &dyn ReviewContext,
    observer: &dyn Observer,
) -> Response<Full<Bytes>> {
    let start = Instant::now();
    let path = req.uri().path().to_owned();
    if req.method() != hyper::Method::POST {
        return reply(405, b"webhooks accept POST only".to_vec(), false);
    }
    let body = match tokio::time::timeout(
        REQUEST_TIMEOUT,
        Limited::new(
            req.into_body(),
            if path == crate::review::paths::CONVERT {
                crate::conversion::MAX_BODY_BYTES
            } else {
                MAX_BODY_BYTES
            },
        )
        .collect(),
    )
    .await
    {
        Ok(Ok(b)) => b.to_bytes(),
        Ok(Err(e)) => return reply(413, format!("reading the body: {e}").into_bytes(), false),
        Err(_) => return reply(408, b"request body timed out".to_vec(), false),
    };
    let r = review::handle(&path, &body, ctx);
    observer.observe(&path, r.status, start.elapsed());
    reply(r.status, r.body, r.status == 200)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::certs::{self, Lifetimes, Names};

    #[test]
    fn store_accepts_only_matching_pairs() {
        let names = Names {
            dns: vec!["a.b.svc".into()],
            ips: vec![],
        };
        let (one, _) =
            certs::reconcile(None, &names, 1_800_000_000, &Lifetimes::default(), false).unwrap();
        let (two, _) =
            certs::reconcile(None, &names, 1_800_000_000, &Lifetimes::default(), false).unwrap();
        let store = CertStore::default();
        assert!(!store.is_ready());
        assert!(
            store.set_pem(&one.cert, &two.key).is_err(),
            "mismatched key refused"
        );
        assert!(store.set_pem("junk", &one.key).is_err());
        assert!(store.set_pem(&one.cert, "junk").is_err());
        assert!(!store.is_ready());
        store.set_pem(&one.cert, &one.key).unwrap();
        assert!(store.is_ready());
    }

    #[test]
    fn provider_offers_post_quantum_key_exchange_first() {
        let provider = crypto_provider();
        let groups: Vec<_> = provider.kx_groups.iter().map(|g| g.name()).collect();
        assert_eq!(
            groups.first(),
            Some(&rustls::NamedGroup::X25519MLKEM768),
            "{groups:?}"
        );
    }
}
