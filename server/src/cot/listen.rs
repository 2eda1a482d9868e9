//! Where CoT connections come from: the plain listener (TAK's 8087, no handshake, one configured
//! principal, for a gateway on a trusted network), the TLS listener with client certificates
//! (TAK's 8089: each client is the account its certificate names) and Vigie's own link to a
//! partner's TAK server (`VIGIE_COT_UPSTREAM`), which reconnects with backoff.
//!
//! Bounds: at most `VIGIE_COT_MAX_CLIENTS` connections at once across both listeners (past it a
//! connection is closed at once); a TLS handshake has the room's header timeout.

use anyhow::Context;
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

/// Who a CoT connection acts as.
#[derive(Clone, Debug)]
pub enum Identity {
    /// An API token (`VIGIE_COT_TOKEN`, the plain listener and the upstream link): its account's
    /// agency and roles, the token's scopes. Checked again every [`RECHECK`]; when revoked, its
    /// connections close.
    Token(String),
    /// The enabled account a TLS client's certificate names, with [`COT_SCOPES`]. Checked again
    /// every [`RECHECK`]; disabling the account closes the connection.
    Account(String),
    /// A principal given in process (the demo's partner agency, tests).
    Given(Principal, BTreeSet<Scope>),
}

/// How often a token- or account-held connection checks its credential is still live.
pub const RECHECK: Duration = Duration::from_secs(15);

/// The principal `identity` stands for now, if it is live.
async fn resolve(gateway: &Gateway, identity: &Identity) -> anyhow::Result<Option<Peer>> {
    match identity {
        Identity::Given(principal, scopes) => Ok(Some(Peer { principal: principal.clone(), scopes: scopes.clone() })),
        Identity::Token(token) => {
            let now = gateway.state.clock.now_ms();
            Ok(gateway.state.store.token(token, now).await?.map(|(_, principal, scopes)| Peer { principal, scopes }))
        }
        Identity::Account(login) => Ok(gateway.state.store.user(login).await?.filter(|u| !u.disabled).map(|u| Peer {
            principal: Principal { user: u.login, agency: u.agency, roles: u.roles },
            scopes: COT_SCOPES.into_iter().collect(),
        })),
    }
}

/// A flag that turns false when `identity` is no longer live (checked every [`RECHECK`] until
/// the server stops, or the returned task is aborted).
fn watch_identity(gateway: Arc<Gateway>, identity: Identity) -> (Arc<AtomicBool>, Option<tokio::task::JoinHandle<()>>) {
    let valid = Arc::new(AtomicBool::new(true));
    let mut watcher = None;
    if !matches!(identity, Identity::Given(..)) {
        let flag = valid.clone();
        let mut shutdown = gateway.state.shutdown.clone();
        watcher = Some(tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(RECHECK) => {}
                    _ = crate::listener::stopped(&mut shutdown) => return,
                }
                let live = matches!(resolve(&gateway, &identity).await, Ok(Some(_)));
                flag.store(live, Ordering::Relaxed);
            }
        }));
    }
    (valid, watcher)
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
    let (valid, _watcher) = watch_identity(gateway.clone(), identity.clone());
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
    let (chain, key) = crate::tls::identity(cert, key)?;
    let roots = crate::tls::roots(client_ca)?;
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
            let identity = Identity::Account(login);
            let peer = match resolve(&gateway, &identity).await {
                Ok(Some(peer)) => peer,
                Ok(None) => return tracing::warn!(%from, ?identity, "CoT client certificate names no enabled account"),
                Err(e) => return tracing::error!(error = %format!("{e:#}"), "CoT: reading an account"),
            };
            let (valid, watcher) = watch_identity(gateway.clone(), identity);
            let end = session::run(gateway, peer, tls, false, move || valid.load(Ordering::Relaxed)).await;
            watcher.into_iter().for_each(|w| w.abort());
            tracing::debug!(%from, ?end, "CoT TLS client gone");
        });
    }
}

/// Keeps Vigie connected to a partner's TAK server at `address` (`host:port`), as `identity`:
/// it receives the partner's picture and sends the room's own (its units and incidents, as its
/// principal may share them). Reconnects after 1 s, doubling to at most a minute.
pub async fn run_upstream(gateway: Arc<Gateway>, address: String, identity: Identity, tls: Option<UpstreamTls>) {
    let (valid, _watcher) = watch_identity(gateway.clone(), identity.clone());
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
        let roots = crate::tls::roots(ca)?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .context("TLS versions")?
            .with_root_certificates(roots);
        let config = match client {
            None => builder.with_no_client_auth(),
            Some((cert, key)) => {
                let (chain, key) = crate::tls::identity(cert, key)?;
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
