//! Diameter over TLS from the first byte (RFC 6733 §2.1 "TLS/TCP"), with a
//! CA and node certificates made by rcgen at test time, mutual TLS.

mod common;

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use common::*;
use corelab_diameter::codes::avp;
use corelab_diameter_node::{Node, NodeError, TlsConfig};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, SanType};

struct Pki {
    dir: PathBuf,
}

impl Pki {
    /// A self-signed CA in a fresh directory.
    fn new(tag: &str) -> (Pki, rcgen::Certificate, KeyPair) {
        let dir = std::env::temp_dir().join(format!("corelab-tls-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.distinguished_name
            .push(DnType::CommonName, format!("corelab test CA {tag}"));
        let key = KeyPair::generate().unwrap();
        let ca = p.self_signed(&key).unwrap();
        std::fs::write(dir.join("ca.pem"), ca.pem()).unwrap();
        (Pki { dir }, ca, key)
    }

    /// A node certificate for 127.0.0.1 signed by the CA.
    fn node(&self, name: &str, ca: &rcgen::Certificate, ca_key: &KeyPair) -> TlsConfig {
        let mut p = CertificateParams::new(vec![name.to_string()]).unwrap();
        p.subject_alt_names
            .push(SanType::IpAddress(IpAddr::from([127, 0, 0, 1])));
        p.distinguished_name.push(DnType::CommonName, name);
        let key = KeyPair::generate().unwrap();
        let cert = p.signed_by(&key, ca, ca_key).unwrap();
        let (c, k) = (
            self.dir.join(format!("{name}.crt")),
            self.dir.join(format!("{name}.key")),
        );
        std::fs::write(&c, cert.pem()).unwrap();
        std::fs::write(&k, key.serialize_pem()).unwrap();
        TlsConfig {
            cert: c,
            key: k,
            ca: Some(self.dir.join("ca.pem")),
        }
    }
}

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn node(host: &str, realm: &str, tls: TlsConfig) -> (Node, std::sync::Arc<Recorder>) {
    let mut cfg = config(host, realm);
    cfg.tls = Some(tls);
    let rec = Recorder::new(host, realm);
    (Node::new(cfg, rec.clone()), rec)
}

#[tokio::test]
async fn cer_and_requests_run_over_mutual_tls() {
    init_tracing();
    let (pki, ca, ca_key) = Pki::new("ok");
    let (srv, srv_rec) = node(
        "server.example",
        "server.realm",
        pki.node("server.example", &ca, &ca_key),
    );
    let addr = srv.listen(any_port()).await.unwrap();
    let (client, _) = node(
        "client.example",
        "client.realm",
        pki.node("client.example", &ca, &ca_key),
    );
    let p = client.connect(addr).await.expect("TLS + CER/CEA");
    assert_eq!(p.origin_host(), "server.example");
    let ans = p
        .request(ccr("client.example;1;1", "server.realm"))
        .await
        .unwrap();
    assert_eq!(result_code(&ans), Some(2001));
    assert_eq!(
        identity_of(&ans, avp::ORIGIN_HOST).as_deref(),
        Some("server.example")
    );
    assert_eq!(srv_rec.seen().len(), 1);

    // Plain Diameter to the TLS port gets no CEA: the handshake fails first.
    let mut raw = RawPeer::connect(addr).await;
    raw.send(
        &corelab_diameter::MessageBuilder::request(257, 0)
            .encode()
            .unwrap(),
    )
    .await;
    assert!(raw.recv().await.is_none());
    client.shutdown().await;
}

#[tokio::test]
async fn a_server_certificate_from_another_ca_is_refused() {
    init_tracing();
    let (pki, ca, ca_key) = Pki::new("srv");
    let (other, other_ca, other_key) = Pki::new("other");
    let (srv, _) = node(
        "server.example",
        "server.realm",
        pki.node("server.example", &ca, &ca_key),
    );
    let addr = srv.listen(any_port()).await.unwrap();
    let (client, _) = node(
        "client.example",
        "client.realm",
        other.node("client.example", &other_ca, &other_key),
    );
    match client.connect(addr).await {
        Err(NodeError::Tls(_)) => {}
        other => panic!("expected a TLS error, got {other:?}"),
    }
    assert!(srv.peers().is_empty());
}

#[tokio::test]
async fn missing_key_file_is_reported_with_the_config_key() {
    let mut cfg = config("x.example", "x.realm");
    cfg.tls = Some(TlsConfig {
        cert: Path::new("/nonexistent/x.crt").into(),
        key: Path::new("/nonexistent/x.key").into(),
        ca: None,
    });
    let n = Node::new(cfg, Recorder::new("x", "x"));
    match n.listen(any_port()).await {
        Err(NodeError::Tls(msg)) => assert!(msg.contains("tls.cert"), "{msg}"),
        other => panic!("expected a TLS config error, got {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn a_tls_handshake_that_never_starts_is_closed_after_the_timeout() {
    init_tracing();
    let (pki, ca, ca_key) = Pki::new("silent");
    let mut cfg = config("server.example", "server.realm");
    cfg.tls = Some(pki.node("server.example", &ca, &ca_key));
    cfg.limits.tls_handshake_timeout = std::time::Duration::from_secs(5);
    let srv = Node::new(cfg, Recorder::new("server.example", "server.realm"));
    let addr = srv.listen(any_port()).await.unwrap();
    // Connects and sends no ClientHello.
    let mut raw = RawPeer::connect(addr).await;
    assert!(
        raw.recv_within(std::time::Duration::from_secs(60))
            .await
            .is_none()
    );
}
