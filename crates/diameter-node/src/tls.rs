//! TLS with rustls (ring provider), from the first byte of the connection
//! (RFC 6733 §2.1 "TLS/TCP" on its own port). Certificates and keys are PEM
//! files; with a CA, the server requires and verifies peer certificates and
//! the client verifies the server's against it (the server's address as an IP
//! SAN, since peers are configured by address).

use std::sync::Arc;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore, ServerConfig};
use tokio_rustls::{TlsAcceptor, TlsConnector};

use crate::config::TlsConfig;
use crate::error::NodeError;

/// Loaded TLS configuration.
pub(crate) struct TlsState {
    acceptor: TlsAcceptor,
    connector: Option<TlsConnector>,
    no_ca: bool,
}

impl TlsState {
    /// Reads the PEM files; the error names the file and what failed.
    pub(crate) fn load(cfg: &TlsConfig) -> Result<TlsState, String> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&cfg.cert)
            .and_then(|i| i.collect())
            .map_err(|e| format!("tls.cert {}: {e}", cfg.cert.display()))?;
        if certs.is_empty() {
            return Err(format!("tls.cert {}: no certificate", cfg.cert.display()));
        }
        let key = PrivateKeyDer::from_pem_file(&cfg.key)
            .map_err(|e| format!("tls.key {}: {e}", cfg.key.display()))?;
        let roots = match &cfg.ca {
            None => None,
            Some(ca) => {
                let mut roots = RootCertStore::empty();
                for c in CertificateDer::pem_file_iter(ca)
                    .map_err(|e| format!("tls.ca {}: {e}", ca.display()))?
                {
                    let c = c.map_err(|e| format!("tls.ca {}: {e}", ca.display()))?;
                    roots
                        .add(c)
                        .map_err(|e| format!("tls.ca {}: {e}", ca.display()))?;
                }
                Some(Arc::new(roots))
            }
        };
        let server = ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?;
        let server = match &roots {
            Some(r) => {
                let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                    r.clone(),
                    provider.clone(),
                )
                .build()
                .map_err(|e| format!("tls.ca: {e}"))?;
                server.with_client_cert_verifier(verifier)
            }
            None => server.with_no_client_auth(),
        }
        .with_single_cert(certs.clone(), key.clone_key())
        .map_err(|e| format!("tls.cert/tls.key: {e}"))?;
        let connector = match &roots {
            Some(r) => {
                let client = ClientConfig::builder_with_provider(provider)
                    .with_safe_default_protocol_versions()
                    .map_err(|e| e.to_string())?
                    .with_root_certificates(r.clone())
                    .with_client_auth_cert(certs, key)
                    .map_err(|e| format!("tls.cert/tls.key: {e}"))?;
                Some(TlsConnector::from(Arc::new(client)))
            }
            None => None,
        };
        Ok(TlsState {
            acceptor: TlsAcceptor::from(Arc::new(server)),
            connector,
            no_ca: roots.is_none(),
        })
    }

    pub(crate) fn acceptor(&self) -> TlsAcceptor {
        self.acceptor.clone()
    }

    pub(crate) fn connector(&self) -> Result<TlsConnector, NodeError> {
        match &self.connector {
            Some(c) => Ok(c.clone()),
            None if self.no_ca => Err(NodeError::Tls(
                "tls.ca is required to connect (the server certificate must be verified)".into(),
            )),
            None => Err(NodeError::Tls("no client configuration".into())),
        }
    }
}
