//! HTTPS and WSS served by Vigie itself, so a room needs no reverse proxy: given a certificate
//! chain and its private key (PEM files, `VIGIE_TLS_CERT` and `VIGIE_TLS_KEY`), every connection
//! is TLS (1.2 and 1.3, rustls's safe defaults, HTTP/1.1). Plain HTTP stays for loopback and the
//! demo. The handshake is bounded by the header timeout, like a request head.

use anyhow::Context;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::path::Path;
use std::sync::Arc;
use tokio_rustls::TlsAcceptor;

/// A TLS identity from PEM files: the certificate chain at `cert` and its private key at `key`
/// (Vigie's HTTPS, the CoT listener's, the CoT upstream link's client certificate).
pub fn identity(cert: &Path, key: &Path) -> anyhow::Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .with_context(|| format!("reading the certificate {}", cert.display()))?
        .collect::<Result<_, _>>()
        .with_context(|| format!("parsing the certificate {}", cert.display()))?;
    anyhow::ensure!(!chain.is_empty(), "{} holds no certificate", cert.display());
    let key =
        PrivateKeyDer::from_pem_file(key).with_context(|| format!("reading the private key {}", key.display()))?;
    Ok((chain, key))
}

/// The certificates of the CA in the PEM file `ca`, as trusted roots.
pub fn roots(ca: &Path) -> anyhow::Result<rustls::RootCertStore> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca).with_context(|| format!("reading the CA {}", ca.display()))? {
        roots.add(cert.with_context(|| format!("parsing the CA {}", ca.display()))?).context("adding the CA")?;
    }
    anyhow::ensure!(!roots.is_empty(), "{} holds no certificate", ca.display());
    Ok(roots)
}

/// The acceptor for the certificate chain at `cert` and the key at `key`.
pub fn acceptor(cert: &Path, key: &Path) -> anyhow::Result<TlsAcceptor> {
    let (chain, key) = identity(cert, key)?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS versions")?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .context("the certificate and key do not make a TLS identity")?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}
