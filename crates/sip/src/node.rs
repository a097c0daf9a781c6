//! The SIP endpoint shell every corelab SIP node uses: UDP and TCP listeners on one port (our own
//! sockets, [`crate::transport`]), the rsipstack transaction layer with our T1, the advertised
//! address ([`crate::advertise`]) in what we send, and [`SipNode::send`] — send a request in a client
//! transaction and wait for its final response or its timeout (Timer F, 64·T1, RFC 3261 §17.1.2).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rsipstack::sip::{
    Host, HostWithPort, Request, Response, SipMessage, StatusCodeKind, Transport,
};
use rsipstack::transaction::endpoint::EndpointOption;
use rsipstack::transaction::key::{TransactionKey, TransactionRole};
use rsipstack::transaction::{EndpointBuilder, Transaction, TransactionReceiver};
use rsipstack::transport::channel::ChannelConnection;
use rsipstack::transport::udp::UdpConnection;
use rsipstack::transport::{SipAddr, SipConnection, TransportLayer};
use tokio_util::sync::CancellationToken;

use crate::advertise::{Advertise, HostPort};
use crate::random_token;
use crate::transport::tcp::{self, ConnectError, Streams, TcpLimits};

#[derive(Debug, Clone)]
pub struct SipNodeConfig {
    /// UDP and TCP listen address; port 0 picks a free port (the same for both).
    pub listen: SocketAddr,
    /// Where peers reach us (`sip.advertise`): Via sent-by, Contact, Record-Route. `None`: the
    /// bound address (for an unspecified bind, the address of the machine's first interface).
    pub advertise: Option<Advertise>,
    pub tcp: bool,
    /// Limits on TCP connections.
    pub tcp_limits: TcpLimits,
    /// RFC 3261 T1 (default 500 ms); Timer F is 64·T1.
    pub t1: Duration,
    pub user_agent: String,
    /// Whether the transaction layer ACKs a 2xx to an INVITE we sent on its own (rsipstack's UA
    /// convenience, the default). A user agent that owns its dialogs turns it off and sends the
    /// ACK itself ([`SipNode::send_stateless`], RFC 3261 §13.2.2.4); the 2xx then ends the client
    /// transaction at once.
    pub auto_ack_2xx: bool,
}

impl SipNodeConfig {
    /// The `[sip]` keys every SIP node has: `listen`, `advertise` (parsed; the error names the
    /// key), `tcp`, `t1_ms`; the rest default (TCP limits: [`TcpLimits::from_ms`]).
    pub fn from_keys(
        listen: SocketAddr,
        advertise: Option<&str>,
        tcp: bool,
        t1_ms: u64,
        user_agent: String,
    ) -> Result<SipNodeConfig, String> {
        Ok(SipNodeConfig {
            listen,
            advertise: advertise
                .map(Advertise::parse)
                .transpose()
                .map_err(|e| format!("sip.advertise: {e}"))?,
            tcp,
            t1: Duration::from_millis(t1_ms),
            user_agent,
            ..SipNodeConfig::default()
        })
    }
}

impl Default for SipNodeConfig {
    fn default() -> SipNodeConfig {
        SipNodeConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            advertise: None,
            tcp: true,
            tcp_limits: TcpLimits::default(),
            t1: Duration::from_millis(500),
            user_agent: "corelab".into(),
            auto_ack_2xx: true,
        }
    }
}

/// How a request we sent ended.
#[derive(Debug, Clone)]
pub enum SendOutcome {
    /// A final response (2xx–6xx) from the peer.
    Final(Box<Response>),
    /// No final response before Timer F (64·T1).
    Timeout,
    /// The request could not be built or handed to the transport (a fault of ours; a peer
    /// refusing our TCP connection is a `Final` 503, RFC 3261 §8.1.3.1).
    Error(String),
}

/// The reason phrase of the 503 we report when a peer cannot be reached (RFC 3261 §8.1.3.1).
pub const TRANSPORT_ERROR_REASON: &str = "Service Unavailable (transport error)";

impl SendOutcome {
    /// The 503 we made up because the transport could not reach the peer (not the peer's own).
    pub fn is_transport_error(&self) -> bool {
        matches!(self, SendOutcome::Final(r)
            if r.status_code.code() == 503
                && r.reason_phrase().is_some_and(|p| p == TRANSPORT_ERROR_REASON))
    }

    pub fn is_success(&self) -> bool {
        matches!(self, SendOutcome::Final(r) if r.status_code.kind() == StatusCodeKind::Successful)
    }
    /// `"timeout"`, `"<code>"`, or `"error"`: for logs and metric labels.
    pub fn label(&self) -> String {
        match self {
            SendOutcome::Final(r) => r.status_code.code().to_string(),
            SendOutcome::Timeout => "timeout".into(),
            SendOutcome::Error(_) => "error".into(),
        }
    }
}

#[derive(Clone)]
pub struct SipNode {
    pub endpoint: Arc<rsipstack::transaction::Endpoint>,
    /// The bound address (UDP, and TCP on the same port when enabled); for an unspecified bind,
    /// the first interface's address with the bound port.
    pub addr: SocketAddr,
    /// What we put in Via sent-by, Contact and Record-Route.
    pub advertised: HostPort,
    pub tcp: bool,
    pub t1: Duration,
    udp: UdpConnection,
    streams: Arc<Streams>,
}

#[derive(Debug, thiserror::Error)]
pub enum SipNodeError {
    #[error("sip.listen {0}: {1}")]
    Bind(SocketAddr, String),
}

/// Socket buffers we ask for on the UDP listener (the kernel caps them at `net.core.rmem_max` /
/// `wmem_max`). Linux's default (about 200 KiB) holds a few ms of a load test's datagrams, and a
/// datagram that does not fit is dropped before SIP can retransmit anything: Kamailio raises its
/// own buffer the same way (`maxbuffer`).
const UDP_BUFFER_BYTES: usize = 4 << 20;

/// The UDP listener: bound, non-blocking, with [`UDP_BUFFER_BYTES`] buffers.
fn udp_socket(listen: SocketAddr) -> std::io::Result<Arc<tokio::net::UdpSocket>> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(
        Domain::for_address(listen),
        Type::DGRAM,
        Some(Protocol::UDP),
    )?;
    socket.set_nonblocking(true)?;
    // Best effort: a smaller buffer still works.
    let _ = socket.set_recv_buffer_size(UDP_BUFFER_BYTES);
    let _ = socket.set_send_buffer_size(UDP_BUFFER_BYTES);
    socket.bind(&listen.into())?;
    Ok(Arc::new(tokio::net::UdpSocket::from_std(socket.into())?))
}

/// How many ephemeral ports port 0 tries before giving up on one free for both UDP and TCP.
const EPHEMERAL_ATTEMPTS: usize = 16;

/// Bind UDP on `listen` and, with `tcp`, TCP on the same address and port, now, so that a clash
/// is an error at start-up. For port 0 the kernel picks the UDP port, whose TCP twin may be
/// taken by another process: then another ephemeral port is tried.
fn bind_udp_and_tcp(
    listen: SocketAddr,
    tcp: bool,
) -> Result<
    (
        Arc<tokio::net::UdpSocket>,
        SocketAddr,
        Option<tokio::net::TcpListener>,
    ),
    SipNodeError,
> {
    let bind_err =
        |addr: SocketAddr| move |e: std::io::Error| SipNodeError::Bind(addr, e.to_string());
    let attempts = if listen.port() == 0 && tcp {
        EPHEMERAL_ATTEMPTS
    } else {
        1
    };
    let mut last = None;
    for _ in 0..attempts {
        let socket = udp_socket(listen).map_err(bind_err(listen))?;
        let bound = socket.local_addr().map_err(bind_err(listen))?;
        if !tcp {
            return Ok((socket, bound, None));
        }
        match tcp::bind(bound) {
            Ok(listener) => return Ok((socket, bound, Some(listener))),
            Err(e) => last = Some(SipNodeError::Bind(bound, format!("TCP: {e}"))),
        }
    }
    Err(last.unwrap_or_else(|| SipNodeError::Bind(listen, "no port".into())))
}

impl SipNode {
    /// Bind the listeners and start the endpoint; returns the node and its incoming transactions.
    pub async fn start(
        config: &SipNodeConfig,
        cancel: CancellationToken,
    ) -> Result<(SipNode, TransactionReceiver), SipNodeError> {
        let (socket, bound, listener) = bind_udp_and_tcp(config.listen, config.tcp)?;
        let platform_socket: Arc<dyn rsipstack::platform::net::UdpSocket> = socket.clone();
        let udp = UdpConnection::from_socket(platform_socket, None, Some(cancel.child_token()))
            .await
            .map_err(|e| SipNodeError::Bind(bound, e.to_string()))?;
        let addr = udp
            .get_addr()
            .get_socketaddr()
            .map_err(|e| SipNodeError::Bind(bound, e.to_string()))?;
        let advertised = match &config.advertise {
            Some(a) => a.host_port(bound.port()),
            None => {
                if bound.ip().is_unspecified() {
                    tracing::warn!(listen = %bound, advertised = %addr,
                        "SIP bound to an unspecified address without sip.advertise: Via and Contact carry the first interface's address; set sip.advertise (or --sip-advertise) to the address peers reach");
                }
                HostPort::from(addr)
            }
        };

        // Our sockets feed the endpoint through one channel connection (crate::transport).
        let transport_layer = TransportLayer::new(cancel.clone());
        let (inject, inject_rx) = tokio::sync::mpsc::unbounded_channel();
        let (unused_tx, _) = tokio::sync::mpsc::unbounded_channel();
        let channel = ChannelConnection::create_connection(
            inject_rx,
            unused_tx,
            SipAddr {
                r#type: None,
                addr: HostWithPort::from(SocketAddr::from(([0, 0, 0, 0], 0))),
            },
            Some(cancel.child_token()),
        )
        .await
        .map_err(|e| SipNodeError::Bind(bound, e.to_string()))?;
        transport_layer.add_connection(SipConnection::Channel(channel));

        let option = EndpointOption {
            t1: config.t1,
            t1x64: config.t1 * 64,
            auto_ack_2xx: config.auto_ack_2xx,
            ..EndpointOption::default()
        };
        let endpoint = EndpointBuilder::new()
            .with_transport_layer(transport_layer)
            .with_inspector(Box::new(crate::tap::Inspector { local: addr }))
            .with_cancel_token(cancel.clone())
            .with_user_agent(&config.user_agent)
            .with_option(option)
            .with_timer_interval(Duration::from_millis(10))
            .build();
        let incoming = endpoint
            .incoming_transactions()
            .map_err(|e| SipNodeError::Bind(bound, e.to_string()))?;
        let inner = endpoint.inner.clone();
        tokio::spawn(async move {
            if let Err(e) = inner.serve().await {
                tracing::error!(error = %e, "SIP endpoint stopped");
            }
        });

        tokio::spawn(crate::transport::udp::serve(
            socket,
            udp.clone(),
            inject.clone(),
            cancel.child_token(),
        ));
        let streams = Arc::new(Streams::new(
            addr,
            config.tcp_limits.clone(),
            inject,
            cancel.child_token(),
        ));
        if let Some(listener) = listener {
            tokio::spawn(streams.clone().accept_loop(listener));
        }
        Ok((
            SipNode {
                endpoint: Arc::new(endpoint),
                addr,
                advertised,
                tcp: config.tcp,
                t1: config.t1,
                udp,
                streams,
            },
            incoming,
        ))
    }

    /// Accepted TCP connections open now.
    pub fn tcp_connections(&self) -> usize {
        self.streams.inbound()
    }

    /// A Via header value for a new client transaction over `transport`; sent-by is the
    /// advertised address (RFC 3261 §18.1.1).
    pub fn via(&self, transport: Transport) -> String {
        format!(
            "SIP/2.0/{} {};branch=z9hG4bK{};rport",
            transport_token(transport),
            self.advertised,
            random_token(16)
        )
    }

    /// A Contact URI for this node, at the advertised address.
    pub fn contact(&self, user: &str, transport: Transport) -> String {
        match transport {
            Transport::Tcp => format!("sip:{user}@{};transport=tcp", self.advertised),
            _ => format!("sip:{user}@{}", self.advertised),
        }
    }

    /// A Record-Route header value for a proxy on this node (RFC 3261 §16.6 step 4: a loose
    /// route, `lr`, at the advertised address).
    pub fn record_route(&self, transport: Transport) -> String {
        match transport {
            Transport::Tcp => format!("<sip:{};transport=tcp;lr>", self.advertised),
            _ => format!("<sip:{};lr>", self.advertised),
        }
    }

    /// The connection a request to `destination` leaves on: our UDP socket, or a TCP connection
    /// (the live one to that address, or a new one with `TCP_NODELAY`). `Err` is the outcome to
    /// report instead of sending.
    pub(crate) async fn connection_to(
        &self,
        req: &Request,
        destination: &SipAddr,
    ) -> Result<(SipConnection, SipAddr), SendOutcome> {
        let resolved = match destination.addr.host {
            Host::Domain(_) => self
                .endpoint
                .inner
                .transport_layer
                .inner
                .domain_resolver
                .resolve(destination)
                .await
                .map_err(|e| SendOutcome::Error(e.to_string()))?,
            _ => destination.clone(),
        };
        let remote = resolved
            .get_socketaddr()
            .map_err(|e| SendOutcome::Error(e.to_string()))?;
        match resolved.r#type {
            None | Some(Transport::Udp) => Ok((SipConnection::Udp(self.udp.clone()), resolved)),
            Some(Transport::Tcp) => match self.streams.connect(remote, self.t1 * 64).await {
                Ok(conn) => Ok((conn, resolved)),
                // No connection within 64·T1: what Timer F would say.
                Err(ConnectError::Timeout) => Err(SendOutcome::Timeout),
                // A transport error counts as a 503 from the peer (RFC 3261 §8.1.3.1), as
                // rsipstack reports a failed write on a stream.
                Err(ConnectError::Unreachable(e)) => {
                    tracing::info!(error = %e, "request not sent: transport error, reported as 503");
                    let reason = TRANSPORT_ERROR_REASON;
                    Err(SendOutcome::Final(Box::new(crate::build::response(
                        req,
                        503,
                        Some(reason),
                        None,
                        &[],
                        None,
                    ))))
                }
                Err(ConnectError::Local(e)) => Err(SendOutcome::Error(e)),
            },
            Some(other) => Err(SendOutcome::Error(format!(
                "transport {other} not supported"
            ))),
        }
    }

    /// Send `req` to `destination` without a transaction (the ACK of a 2xx, RFC 3261 §17.1.1.3),
    /// seen by the wire tap. `Err` says why it was not sent.
    pub async fn send_stateless(&self, req: Request, destination: SipAddr) -> Result<(), String> {
        let (connection, destination) = self
            .connection_to(&req, &destination)
            .await
            .map_err(|o| format!("next hop unreachable: {}", o.label()))?;
        // Not through the endpoint: on the wire tap here, as the endpoint's sends are.
        use rsipstack::transaction::endpoint::MessageInspector;
        let msg = crate::tap::Inspector { local: self.addr }
            .before_send(SipMessage::Request(req), Some(&destination));
        connection
            .send(msg, Some(&destination))
            .await
            .map_err(|e| format!("not sent: {e}"))
    }

    /// Send `req` to `destination` in a client transaction; wait for the final response or for
    /// Timer F. Provisional responses are skipped.
    pub async fn send(&self, req: Request, destination: SipAddr) -> SendOutcome {
        let key = match TransactionKey::from_request(&req, TransactionRole::Client) {
            Ok(k) => k,
            Err(e) => return SendOutcome::Error(format!("transaction key: {e}")),
        };
        let (connection, destination) = match self.connection_to(&req, &destination).await {
            Ok(c) => c,
            Err(outcome) => return outcome,
        };
        let mut tx =
            Transaction::new_client(key, req, self.endpoint.inner.clone(), Some(connection));
        tx.destination = Some(destination);
        let started = Instant::now();
        if let Err(e) = tx.send().await {
            return SendOutcome::Error(e.to_string());
        }
        while let Some(msg) = tx.receive().await {
            if let SipMessage::Response(resp) = msg {
                match resp.status_code.kind() {
                    StatusCodeKind::Provisional => continue,
                    _ => {
                        // rsipstack reports Timer F as a locally made 408: tell it apart from a
                        // peer's 408 by when it comes (a peer's 408 before 64·T1 is its own).
                        if resp.status_code.code() == 408
                            && started.elapsed() + self.t1 / 2 >= self.t1 * 64
                        {
                            return SendOutcome::Timeout;
                        }
                        return SendOutcome::Final(Box::new(resp));
                    }
                }
            }
        }
        SendOutcome::Timeout
    }
}

pub fn transport_token(t: Transport) -> &'static str {
    match t {
        Transport::Tcp => "TCP",
        Transport::Tls => "TLS",
        _ => "UDP",
    }
}

/// Where to send a request addressed to `uri` (or its first route): host, port and transport
/// taken from the URI (`;transport=tcp`), UDP by default.
pub fn destination_of(uri: &str) -> Option<SipAddr> {
    let parsed = rsipstack::sip::Uri::try_from(uri).ok()?;
    let mut addr = SipAddr::try_from(&parsed).ok()?;
    if addr.r#type.is_none() {
        addr.r#type = Some(Transport::Udp);
    }
    if addr.addr.port.is_none() {
        let port = if addr.r#type == Some(Transport::Tls) {
            5061
        } else {
            5060
        };
        addr.addr = HostWithPort {
            host: addr.addr.host.clone(),
            port: Some(port.into()),
        };
    }
    Some(addr)
}

/// The transport a request arrived on, from its top Via.
pub fn request_transport(req: &Request) -> Transport {
    use rsipstack::sip::prelude::*;
    req.via_header()
        .ok()
        .and_then(|v| v.typed().ok())
        .map(|v| v.transport)
        .unwrap_or(Transport::Udp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn advertised_address_in_via_contact_and_record_route() {
        let cancel = CancellationToken::new();
        let config = SipNodeConfig {
            advertise: Some(Advertise::parse("sip.example.net:5070").unwrap()),
            ..SipNodeConfig::default()
        };
        let (node, _incoming) = SipNode::start(&config, cancel.clone()).await.unwrap();
        assert!(
            node.via(Transport::Tcp)
                .starts_with("SIP/2.0/TCP sip.example.net:5070;branch=z9hG4bK")
        );
        assert_eq!(
            node.contact("p", Transport::Udp),
            "sip:p@sip.example.net:5070"
        );
        assert_eq!(
            node.record_route(Transport::Tcp),
            "<sip:sip.example.net:5070;transport=tcp;lr>"
        );
        assert_eq!(
            node.record_route(Transport::Udp),
            "<sip:sip.example.net:5070;lr>"
        );

        // Host only: the bound port.
        let config = SipNodeConfig {
            advertise: Some(Advertise::parse("10.0.0.7").unwrap()),
            ..SipNodeConfig::default()
        };
        let (node, _incoming) = SipNode::start(&config, cancel.clone()).await.unwrap();
        let port = node.addr.port();
        assert_eq!(
            node.contact("p", Transport::Tcp),
            format!("sip:p@10.0.0.7:{port};transport=tcp")
        );
        // Without advertise: the bound address, as before.
        let (node, _incoming) = SipNode::start(&SipNodeConfig::default(), cancel.clone())
            .await
            .unwrap();
        assert_eq!(
            node.contact("p", Transport::Udp),
            format!("sip:p@{}", node.addr)
        );
        cancel.cancel();
    }

    #[tokio::test]
    async fn refused_tcp_connection_is_a_503_not_a_local_error() {
        let cancel = CancellationToken::new();
        let (node, _incoming) = SipNode::start(&SipNodeConfig::default(), cancel.clone())
            .await
            .unwrap();
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = closed.local_addr().unwrap().port();
        drop(closed);
        let uri = format!("sip:x@127.0.0.1:{port};transport=tcp");
        let req = crate::build::request("OPTIONS", &uri)
            .header("From", "<sip:a@lab>;tag=1")
            .header("To", format!("<{uri}>"))
            .header("Call-ID", "refused")
            .header("CSeq", "1 OPTIONS")
            .build(&node.via(Transport::Tcp))
            .unwrap();
        let outcome = node.send(req, destination_of(&uri).unwrap()).await;
        assert_eq!(outcome.label(), "503", "{outcome:?}");
        cancel.cancel();
    }
}
