//! Node configuration.

use std::path::PathBuf;
use std::time::Duration;

use corelab_diameter::peer::PeerConfig;

use crate::redirect::RedirectPolicy;
use crate::routing::RoutingTable;

/// What the node does with a request not addressed to itself (RFC 6733 §2.8).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum AgentMode {
    /// A client or server: every application request goes to the handler.
    #[default]
    Endpoint,
    /// Relay agent (§2.8.1): forwards by Destination-Realm/-Host, appending
    /// Route-Record; advertises the relay application 0xffffffff.
    Relay,
    /// Proxy agent (§2.8.2): forwards like a relay (no policy changes here)
    /// but advertises its own applications.
    Proxy,
    /// Redirect agent (§2.8.3): answers 3006 DIAMETER_REDIRECT_INDICATION with
    /// Redirect-Host and Redirect-Host-Usage.
    Redirect,
}

/// TLS from the first byte of the connection (RFC 6733 §2.1 "TLS/TCP", its
/// own port): PEM files.
#[derive(Clone, Debug)]
pub struct TlsConfig {
    /// Certificate chain (PEM).
    pub cert: PathBuf,
    /// Private key (PEM, PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
    /// CA certificates (PEM) that peers' certificates must chain to. When set,
    /// the server asks connecting peers for a certificate (mutual TLS). A
    /// client needs it to verify the server.
    pub ca: Option<PathBuf>,
}

/// Everything a [`crate::Node`] needs.
#[derive(Clone, Debug)]
pub struct NodeConfig {
    /// Our identity and capabilities (CER/CEA), known peers, Tw.
    pub local: PeerConfig,
    /// Endpoint, relay, proxy or redirect.
    pub mode: AgentMode,
    /// Destination-Host → peer; (realm, application) → peers; default route.
    pub routes: RoutingTable,
    /// TLS for every connection this node accepts and opens (`None`: plain TCP).
    pub tls: Option<TlsConfig>,
    /// How long a request waits for its answer; `None` means Tw.
    pub request_timeout: Option<Duration>,
    /// Redirect-Host-Usage and Redirect-Max-Cache-Time of a redirect agent.
    pub redirect: RedirectPolicy,
}

impl NodeConfig {
    /// An endpoint over TCP with no routes and the request timeout Tw.
    pub fn new(local: PeerConfig) -> NodeConfig {
        NodeConfig {
            local,
            mode: AgentMode::Endpoint,
            routes: RoutingTable::default(),
            tls: None,
            request_timeout: None,
            redirect: RedirectPolicy::default(),
        }
    }
}
