//! Vigie as a TAK endpoint and a TAK client: Cursor-on-Target over TCP and TLS.
//!
//! - [`listen`]: the plain listener (`VIGIE_COT_ADDR`, one configured principal), the TLS
//!   listener with client certificates (`VIGIE_COT_TLS_ADDR`), the upstream link to a partner's
//!   TAK server (`VIGIE_COT_UPSTREAM`).
//! - [`session`]: one connection, in and out.
//! - [`gateway`]: what incoming events do to the room (shared by all connections).
//! - [`egress`]: what one connection receives of the room, by its principal's need-to-know.
//!
//! The formats themselves are pure code in `vigie-adapters` (`cot`).

pub mod egress;
pub mod gateway;
pub mod listen;
pub mod session;

use anyhow::Context;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::sync::Semaphore;

use crate::AppState;
use gateway::Gateway;
use listen::Identity;

/// The CoT side of a running server.
pub struct Running {
    pub gateway: Arc<Gateway>,
    /// Where the plain and TLS listeners listen (port 0 in the settings picks one).
    pub plain_addr: Option<SocketAddr>,
    pub tls_addr: Option<SocketAddr>,
}

/// Starts what the settings ask for; `None` when CoT is off (no listener, no upstream).
pub async fn start(state: &AppState) -> anyhow::Result<Option<Running>> {
    let config = &state.config;
    if config.cot_addr.is_none() && config.cot_tls_addr.is_none() && config.cot_upstream.is_none() {
        return Ok(None);
    }
    let identity = match (&config.cot_token, &config.cot_identity) {
        (Some(token), _) => Some(Identity::Token(token.clone())),
        (None, Some((principal, scopes))) => Some(Identity::Given(principal.clone(), scopes.clone())),
        (None, None) => None,
    };
    let gateway = Gateway::new(state.clone());
    let slots = Arc::new(Semaphore::new(config.cot_max_clients));
    tokio::spawn(gateway.clone().run_flushes(state.shutdown.clone()));
    let mut plain_addr = None;
    if let Some(addr) = config.cot_addr {
        let identity =
            identity.clone().context("VIGIE_COT_ADDR needs VIGIE_COT_TOKEN: the principal its clients act as")?;
        let listener = listen::bind(addr, "VIGIE_COT_ADDR").await?;
        plain_addr = Some(listener.local_addr()?);
        tracing::info!(addr = %plain_addr.unwrap_or(addr), "CoT listener (TCP) is listening");
        tokio::spawn(listen::serve_plain(gateway.clone(), listener, identity, slots.clone()));
    }
    let mut tls_addr = None;
    if let Some(addr) = config.cot_tls_addr {
        let (Some(cert), Some(key), Some(ca)) = (&config.cot_tls_cert, &config.cot_tls_key, &config.cot_tls_client_ca)
        else {
            anyhow::bail!("VIGIE_COT_TLS_ADDR needs VIGIE_COT_TLS_CERT, VIGIE_COT_TLS_KEY and VIGIE_COT_TLS_CLIENT_CA");
        };
        let acceptor = listen::acceptor(cert, key, ca)?;
        let listener = listen::bind(addr, "VIGIE_COT_TLS_ADDR").await?;
        tls_addr = Some(listener.local_addr()?);
        tracing::info!(addr = %tls_addr.unwrap_or(addr), "CoT listener (TLS, client certificates) is listening");
        tokio::spawn(listen::serve_tls(gateway.clone(), listener, acceptor, slots.clone()));
    }
    if let Some(upstream) = &config.cot_upstream {
        let identity = identity.context("VIGIE_COT_UPSTREAM needs VIGIE_COT_TOKEN: the principal Vigie acts as")?;
        let tls = match &config.cot_upstream_ca {
            None => None,
            Some(ca) => {
                let client = match (&config.cot_upstream_cert, &config.cot_upstream_key) {
                    (Some(c), Some(k)) => Some((c.as_path(), k.as_path())),
                    (None, None) => None,
                    _ => anyhow::bail!("give both VIGIE_COT_UPSTREAM_CERT and VIGIE_COT_UPSTREAM_KEY, or neither"),
                };
                Some(listen::UpstreamTls::new(ca, client)?)
            }
        };
        tokio::spawn(listen::run_upstream(gateway.clone(), upstream.clone(), identity, tls));
    }
    Ok(Some(Running { gateway, plain_addr, tls_addr }))
}
