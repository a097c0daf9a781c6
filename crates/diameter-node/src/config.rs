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
    /// Bounds against hostile or broken peers (message size, connections,
    /// timeouts, write queues, redirect cache).
    pub limits: Limits,
}

/// Resource bounds of a node: what a hostile or broken peer can make it hold.
/// Worst-case memory for peers' messages is about `max_connections ×
/// max_message_size` for reading plus `write_queue × max_message_size` per
/// connection for writing (see `docs/diameter.md` "Limits").
#[derive(Clone, Debug)]
pub struct Limits {
    /// Largest Message Length accepted (RFC 6733 §3), checked on the header
    /// before the body is buffered. A larger one gets 5015
    /// DIAMETER_INVALID_MESSAGE_LENGTH and the connection closes (the stream
    /// cannot be re-framed without reading it).
    pub max_message_size: usize,
    /// Connections at once (accepted, in TLS handshake, or initiated). An
    /// accepted connection beyond it is closed at once; refusals are logged
    /// once per interval.
    pub max_connections: usize,
    /// How long an accepted connection may stay without a CER (and an
    /// initiated one without a CEA) before it is closed.
    pub cer_timeout: Duration,
    /// How long a TLS handshake may take on an accepted connection.
    pub tls_handshake_timeout: Duration,
    /// Messages queued for one connection's writer. A peer that lets the
    /// queue fill (it stops reading) is disconnected; its pending requests
    /// fail over (RFC 6733 §5.5.4).
    pub write_queue: usize,
    /// Redirects remembered at once (RFC 6733 §6.13); the oldest go first.
    pub redirect_cache_capacity: usize,
    /// Upper bound on a Redirect-Max-Cache-Time (RFC 6733 §6.14) we honour.
    pub redirect_cache_max_ttl: Duration,
    /// Requests read from one connection and not yet answered (being looked
    /// up, answered by the handler, or forwarded). One beyond it is answered
    /// 3004 DIAMETER_TOO_BUSY at once (RFC 6733 §7.1.3).
    pub max_requests_in_flight_per_connection: usize,
    /// The same over all connections of the node.
    pub max_requests_in_flight: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_message_size: 1024 * 1024,
            max_connections: 1000,
            cer_timeout: Duration::from_secs(10),
            tls_handshake_timeout: Duration::from_secs(10),
            write_queue: 4096,
            redirect_cache_capacity: 10_000,
            redirect_cache_max_ttl: Duration::from_secs(3600),
            max_requests_in_flight_per_connection: 1000,
            max_requests_in_flight: 10_000,
        }
    }
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
            limits: Limits::default(),
        }
    }
}
