//! `--tls`: server and client over TLS from the first byte, with certificates
//! from a throwaway CA (mutual TLS: the server is given the CA too).

mod common;

use common::*;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};

/// Writes ca.pem, peer.pem, peer.key (SAN IP 127.0.0.1) into a fresh directory.
fn certificates() -> std::path::PathBuf {
    let dir = temp_dir();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "corelab test CA");
    let ca_key = KeyPair::generate().unwrap();
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let mut p = CertificateParams::new(vec!["127.0.0.1".to_string()]).unwrap();
    p.distinguished_name.push(DnType::CommonName, "peer");
    let key = KeyPair::generate().unwrap();
    let cert = p.signed_by(&key, &ca, &ca_key).unwrap();
    std::fs::write(dir.join("ca.pem"), ca.pem()).unwrap();
    std::fs::write(dir.join("peer.pem"), cert.pem()).unwrap();
    std::fs::write(dir.join("peer.key"), key.serialize_pem()).unwrap();
    dir
}

#[test]
fn server_and_client_over_mutual_tls() {
    let dir = certificates();
    let f = |n: &str| dir.join(n).display().to_string();
    let tls = [
        "--tls".to_string(),
        "--cert".into(),
        f("peer.pem"),
        "--key".into(),
        f("peer.key"),
        "--ca".into(),
        f("ca.pem"),
    ];
    let mut a = args(&["server"]);
    a.extend(identity("pcrf.example.net", "example.net"));
    a.extend(args(&[
        "--listen",
        "127.0.0.1:0",
        "--answers",
        &example("answers.toml"),
    ]));
    a.extend(tls.iter().cloned());
    let srv = Running::start(60, &a);

    let client = |with_tls: bool| {
        let mut c = args(&["client"]);
        c.extend(identity("pgw.example.com", "example.com"));
        c.extend(args(&[
            "--connect",
            &srv.addr,
            "--requests",
            &example("gx-ccr-i.toml"),
            "--tw-secs",
            "3",
        ]));
        if with_tls {
            c.extend(tls.iter().cloned());
        }
        run(30, &c, None)
    };
    let o = client(true);
    let out = text(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{out}\n{}", text(&o.stderr));
    assert!(out.contains("Result-Code=2001 DIAMETER_SUCCESS"), "{out}");
    // Plain TCP to the TLS port: no CEA, exit 2.
    let o = client(false);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stdout));
}
