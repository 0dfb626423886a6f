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

/// How long a client may take to complete the TLS handshake and to send a request's body.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// How long an HTTP/1.1 connection may stay open without a request's headers arriving, idle
/// keep-alive time included (hyper's header-read timer also runs between requests). It must be
/// longer than the clients' own idle timeout: kube-apiserver calls webhooks over HTTP/1.1 and
/// keeps idle connections 90 s; a server closing them sooner races with their reuse, and the
/// request written into the closing connection fails ("write: broken pipe") — an admission
/// refused under `failurePolicy: Fail`. Seen on Kueue's scheduler benchmark with 10 s.
const IDLE_TIMEOUT: Duration = Duration::from_mins(2);

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
                .header_read_timeout(IDLE_TIMEOUT)
                .timer(hyper_util::rt::TokioTimer::new());
            if let Err(e) = builder.serve_connection(TokioIo::new(tls), service).await {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
        });
    }
}

/// What a plain GET endpoint answers: status, content type, body.
pub type GetAnswer = (u16, &'static str, String);

/// A request to a GET endpoint, as its handler sees it.
#[derive(Clone, Debug, Default)]
pub struct GetRequest {
    /// HTTP method (the handler decides what it accepts).
    pub method: String,
    /// Path, not decoded.
    pub path: String,
    /// Query string, if any.
    pub query: Option<String>,
    /// Headers, names in lower case, in the order received.
    pub headers: Vec<(String, String)>,
    /// Common name of the client certificate, when the client presented one that chains to the
    /// [`ClientCa`] the server was given (verified during the handshake).
    pub peer_common_name: Option<String>,
}

impl GetRequest {
    /// Values of a header (`name` in lower case).
    pub fn header_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The `Authorization` header.
    pub fn authorization(&self) -> Option<&str> {
        self.header_values("authorization").next()
    }
}

/// Answers a GET request.
pub type GetHandler = Arc<
    dyn Fn(GetRequest) -> std::pin::Pin<Box<dyn std::future::Future<Output = GetAnswer> + Send>>
        + Send
        + Sync,
>;

/// The CAs whose client certificates a server accepts (replaceable: an aggregated API server
/// follows the apiserver's front-proxy CA as it changes). Clients without a certificate are
/// let in too; the handler decides what an unauthenticated request gets.
#[derive(Default)]
pub struct ClientCa {
    verifier: RwLock<Option<Arc<dyn rustls::server::danger::ClientCertVerifier>>>,
}

impl std::fmt::Debug for ClientCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientCa")
            .field("set", &self.is_set())
            .finish()
    }
}

impl ClientCa {
    /// Trusts the certificates of a PEM bundle (replacing the previous ones).
    pub fn set_pem(&self, bundle: &str) -> Result<(), ServerError> {
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(bundle.as_bytes()) {
            let cert = cert.map_err(|e| ServerError::Certificate(e.to_string()))?;
            roots
                .add(cert)
                .map_err(|e| ServerError::Certificate(e.to_string()))?;
        }
        if roots.is_empty() {
            return Err(ServerError::Certificate(
                "no certificate in the client CA bundle".into(),
            ));
        }
        let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
            Arc::new(roots),
            crypto_provider(),
        )
        .allow_unauthenticated()
        .build()
        .map_err(|e| ServerError::Certificate(e.to_string()))?;
        if let Ok(mut cur) = self.verifier.write() {
            *cur = Some(verifier);
        }
        Ok(())
    }

    /// Trusts no client certificate any more (clients may still connect without one).
    pub fn clear(&self) {
        if let Ok(mut cur) = self.verifier.write() {
            *cur = None;
        }
    }

    /// Whether a bundle is set.
    pub fn is_set(&self) -> bool {
        self.verifier.read().is_ok_and(|v| v.is_some())
    }

    fn current(&self) -> Option<Arc<dyn rustls::server::danger::ClientCertVerifier>> {
        self.verifier.read().ok().and_then(|v| v.clone())
    }
}

/// TLS with the serving certificate and, when a client CA is set, client certificates checked
/// against it (built per connection: the CA may change while serving).
fn acceptor_with_clients(
    certs: &Arc<CertStore>,
    client_ca: Option<&ClientCa>,
) -> Result<TlsAcceptor, ServerError> {
    let Some(verifier) = client_ca.and_then(ClientCa::current) else {
        return acceptor(certs.clone());
    };
    let mut config = rustls::ServerConfig::builder_with_provider(crypto_provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| ServerError::Certificate(e.to_string()))?
        .with_client_cert_verifier(verifier)
        .with_cert_resolver(certs.clone());
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// The common name of a DER certificate's subject.
pub fn common_name(der: &[u8]) -> Option<String> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    let cn = cert.subject().iter_common_name().next()?;
    cn.as_str().ok().map(str::to_owned)
}

/// Serves GET endpoints over TLS with the same certificate store (`/metrics`, the visibility
/// API), asking for client certificates of `client_ca` when given.
pub async fn serve_get_tls(
    addr: SocketAddr,
    certs: Arc<CertStore>,
    client_ca: Option<Arc<ClientCa>>,
    handler: GetHandler,
) -> Result<(), ServerError> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|e| ServerError::Io(addr, e))?;
    // Fail early on a provider problem rather than per connection.
    acceptor(certs.clone())?;
    loop {
        let Ok((stream, peer)) = listener.accept().await else {
            continue;
        };
        let acceptor = match acceptor_with_clients(&certs, client_ca.as_deref()) {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!(error = %e, "TLS configuration failed");
                continue;
            }
        };
        let handler = handler.clone();
        tokio::spawn(async move {
            let Ok(Ok(tls)) = tokio::time::timeout(REQUEST_TIMEOUT, acceptor.accept(stream)).await
            else {
                tracing::debug!(%peer, "TLS handshake failed or timed out");
                return;
            };
            let peer_common_name = tls
                .get_ref()
                .1
                .peer_certificates()
                .and_then(|c| c.first())
                .and_then(|c| common_name(c.as_ref()));
            let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                let handler = handler.clone();
                let request = GetRequest {
                    method: req.method().as_str().to_owned(),
                    path: req.uri().path().to_owned(),
                    query: req.uri().query().map(str::to_owned),
                    headers: req
                        .headers()
                        .iter()
                        .filter_map(|(n, v)| {
                            Some((n.as_str().to_ascii_lowercase(), v.to_str().ok()?.to_owned()))
                        })
                        .collect(),
                    peer_common_name: peer_common_name.clone(),
                };
                async move {
                    let (status, content_type, body) = handler(request).await;
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
                .header_read_timeout(IDLE_TIMEOUT)
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

    /// An idle keep-alive connection outlives kube-apiserver's reuse of it (it keeps idle webhook
    /// connections 90 s): a second request on the same connection 12 s after the first is served
    /// (with a 10 s header-read timer it found the connection closed).
    #[tokio::test]
    async fn an_idle_keep_alive_connection_is_not_closed_under_the_client() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let names = Names {
            dns: vec!["localhost".into()],
            ips: vec![],
        };
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let (material, _) = certs::reconcile(
            None,
            &names,
            i64::try_from(now).unwrap(),
            &Lifetimes::default(),
            false,
        )
        .unwrap();
        let store = Arc::new(CertStore::default());
        store.set_pem(&material.cert, &material.key).unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let handler: GetHandler =
            Arc::new(|_| Box::pin(async { (200, "text/plain", "ok".to_owned()) }));
        tokio::spawn(serve_get_tls(addr, store, None, handler));
        let mut roots = rustls::RootCertStore::empty();
        for c in CertificateDer::pem_slice_iter(material.ca_bundle.as_bytes()) {
            roots.add(c.unwrap()).unwrap();
        }
        let config = rustls::ClientConfig::builder_with_provider(crypto_provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        let mut tcp = None;
        for _ in 0..50 {
            if let Ok(t) = tokio::net::TcpStream::connect(addr).await {
                tcp = Some(t);
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
        let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
        let mut tls = connector.connect(name, tcp.unwrap()).await.unwrap();
        let ask = async |tls: &mut tokio_rustls::client::TlsStream<tokio::net::TcpStream>| {
            tls.write_all(b"GET /x HTTP/1.1\r\nhost: localhost\r\n\r\n")
                .await
                .map_err(|e| e.to_string())?;
            let mut buf = vec![0u8; 4096];
            let n = tls.read(&mut buf).await.map_err(|e| e.to_string())?;
            Ok::<String, String>(String::from_utf8_lossy(&buf[..n]).into_owned())
        };
        assert!(ask(&mut tls).await.unwrap().starts_with("HTTP/1.1 200"));
        tokio::time::sleep(Duration::from_secs(12)).await;
        let again = ask(&mut tls).await;
        assert!(
            again
                .as_deref()
                .is_ok_and(|r| r.starts_with("HTTP/1.1 200")),
            "{again:?}"
        );
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
