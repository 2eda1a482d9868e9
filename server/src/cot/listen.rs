//! Where CoT connections come from: the plain listener (TAK's 8087, no handshake, one configured
//! principal, for a gateway on a trusted network), the TLS listener with client certificates
//! (TAK's 8089: each client is the account its certificate names) and Vigie's own link to a
//! partner's TAK server (`VIGIE_COT_UPSTREAM`), which reconnects with backoff.
//!
//! Bounds: at most `VIGIE_COT_MAX_CLIENTS` connections at once across both listeners (past it a
//! connection is closed at once); a TLS handshake has the room's header timeout.

use anyhow::Context;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;
use vigie_domain::authority::{Principal, Scope};

use super::gateway::{Gateway, Peer};
use super::session::{self, End};

/// What a CoT client is given: read the room, report positions, register its devices as units,
/// post and acknowledge messages.
pub const COT_SCOPES: [Scope; 4] = [Scope::RoomRead, Scope::PositionsWrite, Scope::UnitsWrite, Scope::MessagesWrite];

/// How the plain listener and the upstream link know who they act as.
#[derive(Clone, Debug)]
pub enum Identity {
    /// An API token (`VIGIE_COT_TOKEN`): its account's agency and roles, the token's scopes. It is
    /// checked again every [`RECHECK`]; when revoked, its connections close.
    Token(String),
    /// A principal given in process (the demo's partner agency, tests).
    Given(Principal, BTreeSet<Scope>),
}

/// How often a token-held connection checks its token is still live.
pub const RECHECK: Duration = Duration::from_secs(15);

/// The principal `identity` stands for now, if it is live.
async fn resolve(gateway: &Gateway, identity: &Identity) -> anyhow::Result<Option<Peer>> {
    match identity {
        Identity::Given(principal, scopes) => Ok(Some(Peer { principal: principal.clone(), scopes: scopes.clone() })),
        Identity::Token(token) => {
            let now = gateway.state.clock.now_ms();
            Ok(gateway.state.store.token(token, now).await?.map(|(_, principal, scopes)| Peer { principal, scopes }))
        }
    }
}

/// A flag that turns false when `identity` is no longer live (checked every [`RECHECK`]).
fn watch_identity(gateway: Arc<Gateway>, identity: Identity) -> Arc<AtomicBool> {
    let valid = Arc::new(AtomicBool::new(true));
    if let Identity::Token(_) = identity {
        let flag = valid.clone();
        let mut shutdown = gateway.state.shutdown.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(RECHECK) => {}
                    _ = crate::listener::stopped(&mut shutdown) => return,
                }
                let live = matches!(resolve(&gateway, &identity).await, Ok(Some(_)));
                flag.store(live, Ordering::Relaxed);
            }
        });
    }
    valid
}

/// The next connection with its slot, or `None` once the server stops. A connection past
/// `VIGIE_COT_MAX_CLIENTS` is closed at once; a failed accept (out of descriptors) is retried.
async fn accept(
    listener: &TcpListener,
    slots: &Arc<Semaphore>,
    shutdown: &mut tokio::sync::watch::Receiver<bool>,
) -> Option<(TcpStream, SocketAddr, tokio::sync::OwnedSemaphorePermit)> {
    loop {
        let (stream, from) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!(error = %e, "CoT accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = crate::listener::stopped(shutdown) => return None,
        };
        match slots.clone().try_acquire_owned() {
            Ok(slot) => return Some((stream, from, slot)),
            Err(_) => tracing::warn!(%from, "CoT client refused: VIGIE_COT_MAX_CLIENTS reached"),
        }
    }
}

/// Serves the plain listener: every connection acts as `identity`.
pub async fn serve_plain(gateway: Arc<Gateway>, listener: TcpListener, identity: Identity, slots: Arc<Semaphore>) {
    let valid = watch_identity(gateway.clone(), identity.clone());
    let mut shutdown = gateway.state.shutdown.clone();
    while let Some((stream, from, slot)) = accept(&listener, &slots, &mut shutdown).await {
        if !valid.load(Ordering::Relaxed) {
            continue;
        }
        let (gateway, identity, valid) = (gateway.clone(), identity.clone(), valid.clone());
        tokio::spawn(async move {
            let _slot = slot;
            let _ = stream.set_nodelay(true);
            let peer = match resolve(&gateway, &identity).await {
                Ok(Some(peer)) => peer,
                Ok(None) => return tracing::warn!(%from, "CoT client refused: the listener's token is not live"),
                Err(e) => return tracing::error!(error = %format!("{e:#}"), "CoT: resolving the listener's token"),
            };
            let end = session::run(gateway, peer, stream, false, move || valid.load(Ordering::Relaxed)).await;
            tracing::debug!(%from, ?end, "CoT client gone");
        });
    }
}

/// The TLS acceptor of the CoT listener: the server's certificate and key, and the CA whose
/// client certificates are accepted (a client without one is refused in the handshake).
pub fn acceptor(cert: &Path, key: &Path, client_ca: &Path) -> anyhow::Result<TlsAcceptor> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .with_context(|| format!("reading the certificate {}", cert.display()))?
        .collect::<Result<_, _>>()
        .with_context(|| format!("parsing the certificate {}", cert.display()))?;
    let key =
        PrivateKeyDer::from_pem_file(key).with_context(|| format!("reading the private key {}", key.display()))?;
    let mut roots = rustls::RootCertStore::empty();
    for ca in CertificateDer::pem_file_iter(client_ca)
        .with_context(|| format!("reading the client CA {}", client_ca.display()))?
    {
        roots.add(ca.context("parsing the client CA")?).context("adding the client CA")?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .context("the client CA")?;
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS versions")?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .context("the certificate and key do not make a TLS identity")?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// The account a client certificate names: its subject's common name.
pub fn certificate_login(der: &[u8]) -> Option<String> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    let cn = cert.subject().iter_common_name().next()?.as_str().ok()?;
    Some(cn.to_owned())
}

/// Serves the TLS listener: each client acts as the enabled account its certificate's common name
/// names, with [`COT_SCOPES`].
pub async fn serve_tls(gateway: Arc<Gateway>, listener: TcpListener, acceptor: TlsAcceptor, slots: Arc<Semaphore>) {
    let mut shutdown = gateway.state.shutdown.clone();
    let handshake = Duration::from_millis(gateway.state.config.header_timeout_ms);
    while let Some((stream, from, slot)) = accept(&listener, &slots, &mut shutdown).await {
        let (gateway, acceptor) = (gateway.clone(), acceptor.clone());
        tokio::spawn(async move {
            let _slot = slot;
            let _ = stream.set_nodelay(true);
            let tls = match tokio::time::timeout(handshake, acceptor.accept(stream)).await {
                Ok(Ok(tls)) => tls,
                Ok(Err(e)) => return tracing::info!(%from, error = %e, "CoT TLS handshake refused"),
                Err(_) => return tracing::info!(%from, "CoT TLS handshake timed out"),
            };
            let login = tls.get_ref().1.peer_certificates().and_then(|c| c.first()).and_then(|c| certificate_login(c));
            let Some(login) = login else {
                return tracing::warn!(%from, "CoT client certificate without a common name");
            };
            let user = match gateway.state.store.user(&login).await {
                Ok(Some(user)) if !user.disabled => user,
                Ok(_) => return tracing::warn!(%from, %login, "CoT client certificate names no enabled account"),
                Err(e) => return tracing::error!(error = %format!("{e:#}"), "CoT: reading an account"),
            };
            let principal =
                Principal { user: user.login.clone(), agency: user.agency.clone(), roles: user.roles.clone() };
            let peer = Peer { principal, scopes: COT_SCOPES.into_iter().collect() };
            // The account is read again every RECHECK: disabling it closes the connection.
            let valid = Arc::new(AtomicBool::new(true));
            let watcher = {
                let (gateway, valid) = (gateway.clone(), valid.clone());
                tokio::spawn(async move {
                    loop {
                        tokio::time::sleep(RECHECK).await;
                        let live = matches!(gateway.state.store.user(&login).await, Ok(Some(u)) if !u.disabled);
                        valid.store(live, Ordering::Relaxed);
                    }
                })
            };
            let end = session::run(gateway, peer, tls, false, move || valid.load(Ordering::Relaxed)).await;
            watcher.abort();
            tracing::debug!(%from, ?end, "CoT TLS client gone");
        });
    }
}

/// Keeps Vigie connected to a partner's TAK server at `address` (`host:port`), as `identity`:
/// it receives the partner's picture and sends the room's own (its units and incidents, as its
/// principal may share them). Reconnects after 1 s, doubling to at most a minute.
pub async fn run_upstream(gateway: Arc<Gateway>, address: String, identity: Identity, tls: Option<UpstreamTls>) {
    let valid = watch_identity(gateway.clone(), identity.clone());
    let mut shutdown = gateway.state.shutdown.clone();
    let mut backoff = Duration::from_secs(1);
    loop {
        let attempt = async {
            let peer = resolve(&gateway, &identity).await?.context("the upstream link's token is not live")?;
            let stream = tokio::time::timeout(Duration::from_secs(10), TcpStream::connect(&address))
                .await
                .context("connecting timed out")?
                .with_context(|| format!("connecting to {address}"))?;
            let _ = stream.set_nodelay(true);
            let valid = valid.clone();
            let still_valid = move || valid.load(Ordering::Relaxed);
            let end = match &tls {
                None => {
                    tracing::info!(%address, "CoT upstream connected");
                    session::run(gateway.clone(), peer, stream, true, still_valid).await
                }
                Some(tls) => {
                    let host = address.rsplit_once(':').map_or(address.as_str(), |(h, _)| h);
                    let name = rustls::pki_types::ServerName::try_from(host.trim_matches(['[', ']']).to_owned())
                        .with_context(|| format!("{host} is not a server name"))?;
                    let stream = tokio::time::timeout(Duration::from_secs(10), tls.connector.connect(name, stream))
                        .await
                        .context("the TLS handshake timed out")?
                        .context("the TLS handshake")?;
                    tracing::info!(%address, "CoT upstream connected (TLS)");
                    session::run(gateway.clone(), peer, stream, true, still_valid).await
                }
            };
            Ok::<End, anyhow::Error>(end)
        };
        let started = tokio::time::Instant::now();
        tokio::select! {
            result = attempt => match result {
                Ok(End::Stopping) => return,
                Ok(end) => tracing::warn!(%address, ?end, "CoT upstream link ended"),
                Err(e) => tracing::warn!(%address, error = %format!("{e:#}"), "CoT upstream link failed"),
            },
            _ = crate::listener::stopped(&mut shutdown) => return,
        }
        if started.elapsed() > Duration::from_secs(60) {
            backoff = Duration::from_secs(1);
        }
        tokio::select! {
            _ = tokio::time::sleep(backoff) => {}
            _ = crate::listener::stopped(&mut shutdown) => return,
        }
        backoff = (backoff * 2).min(Duration::from_secs(60));
    }
}

/// TLS on the upstream link: the partner's CA, and Vigie's client certificate where the
/// partner's server asks for one (TAK servers on 8089 do).
#[derive(Clone)]
pub struct UpstreamTls {
    connector: tokio_rustls::TlsConnector,
}

impl UpstreamTls {
    pub fn new(ca: &Path, client: Option<(&Path, &Path)>) -> anyhow::Result<Self> {
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_file_iter(ca).with_context(|| format!("reading the CA {}", ca.display()))? {
            roots.add(cert.context("parsing the partner's CA")?).context("adding the partner's CA")?;
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .context("TLS versions")?
            .with_root_certificates(roots);
        let config = match client {
            None => builder.with_no_client_auth(),
            Some((cert, key)) => {
                let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
                    .with_context(|| format!("reading the certificate {}", cert.display()))?
                    .collect::<Result<_, _>>()
                    .with_context(|| format!("parsing the certificate {}", cert.display()))?;
                let key = PrivateKeyDer::from_pem_file(key)
                    .with_context(|| format!("reading the private key {}", key.display()))?;
                builder.with_client_auth_cert(chain, key).context("the client certificate and key")?
            }
        };
        Ok(Self { connector: tokio_rustls::TlsConnector::from(Arc::new(config)) })
    }
}

/// Binds `addr`, naming the setting on failure.
pub async fn bind(addr: SocketAddr, setting: &str) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr).await.with_context(|| format!("binding {setting} {addr}"))
}
