//! HTTPS and WSS served by Vigie itself, with a throwaway certificate: a request, a sign-in whose
//! cookie is `Secure`, the stream over WSS; and a plain-HTTP client on the TLS port gets nothing.

use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::rustls;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::support::*;

fn certificate(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf, Vec<u8>) {
    let made = rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert, made.cert.pem()).unwrap();
    std::fs::write(&key, made.key_pair.serialize_pem()).unwrap();
    (cert, key, made.cert.der().to_vec())
}

async fn tls_to(port: u16, der: &[u8]) -> tokio_rustls::client::TlsStream<tokio::net::TcpStream> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(rustls::pki_types::CertificateDer::from(der.to_vec())).unwrap();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    tokio_rustls::TlsConnector::from(Arc::new(config)).connect(name, tcp).await.expect("the handshake succeeds")
}

async fn exchange(port: u16, der: &[u8], request: String) -> String {
    let mut tls = tls_to(port, der).await;
    tls.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), tls.read_to_end(&mut answer)).await;
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test]
async fn vigie_serves_https_and_wss_itself_and_its_cookie_is_secure() {
    let dir = tempfile::TempDir::new().unwrap();
    let (cert, key, der) = certificate(dir.path());
    let app = spawn_with(|c| {
        c.tls_cert = Some(cert);
        c.tls_key = Some(key);
    })
    .await;
    let port = app.running.as_ref().unwrap().addr.port();
    let host = format!("localhost:{port}");
    let health =
        exchange(port, &der, format!("GET /healthz HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n")).await;
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");

    let body = format!(r#"{{"login": "pp", "password": "{PASSWORD}"}}"#);
    let signed = exchange(
        port,
        &der,
        format!(
            "POST /api/v1/session HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    )
    .await;
    assert!(signed.starts_with("HTTP/1.1 200"), "{signed}");
    let cookie = signed.lines().find(|l| l.to_ascii_lowercase().starts_with("set-cookie:")).expect("a cookie");
    assert!(cookie.contains("Secure") && cookie.contains("HttpOnly"), "{cookie}");

    let tls = tls_to(port, &der).await;
    let mut request = format!("wss://{host}/api/v1/stream").into_client_request().unwrap();
    request.headers_mut().insert("authorization", format!("Bearer {}", app.tokens["pp"]).parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::client_async(request, tls).await.expect("WSS opens");
    use futures_util::StreamExt;
    let first = tokio::time::timeout(std::time::Duration::from_secs(10), ws.next()).await.unwrap().unwrap().unwrap();
    assert!(first.to_text().unwrap().starts_with(r#"{"type":"snapshot""#), "{first}");

    // Plain HTTP on the TLS port: no answer in clear, the connection ends.
    let mut plain = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    plain.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    let mut got = Vec::new();
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), plain.read_to_end(&mut got)).await;
    assert!(!String::from_utf8_lossy(&got).contains("HTTP/1.1 200"), "nothing is served in clear");
    app.stop().await;
}
