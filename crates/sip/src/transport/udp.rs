//! The UDP listener: whole datagrams (up to 65,535 bytes; rsipstack's own loop reads 8 KiB and
//! cuts the rest), `Content-Length` applied (RFC 3261 §18.3), and what
//! [`crate::validate::inbound`] decides: deliver, answer (400/505), or drop.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use rsipstack::sip::Transport;
use rsipstack::transport::connection::TransportSender;
use rsipstack::transport::udp::UdpConnection;
use rsipstack::transport::{SipAddr, SipConnection, TransportEvent};
use tokio::net::UdpSocket;
use tokio_util::sync::CancellationToken;

use crate::build;
use crate::framing::{self, Datagram, MAX_DATAGRAM_BYTES};
use crate::validate::{self, Inbound};
use corelab_log_throttle::Throttle;
use corelab_wire_tap::{Direction, Transport as TapTransport};

/// Read datagrams until `cancel`, handing each message to the endpoint through `inject` with
/// `connection` (the same socket) to answer on.
pub async fn serve(
    socket: Arc<UdpSocket>,
    connection: UdpConnection,
    inject: TransportSender,
    cancel: CancellationToken,
) {
    let mut buf = vec![0u8; MAX_DATAGRAM_BYTES];
    let local = socket
        .local_addr()
        .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)));
    let tap = |direction, src, bytes: &[u8]| {
        crate::tap::on_wire(direction, TapTransport::Udp, local, Some(src), bytes)
    };
    let errors = Throttle::default();
    let refused = Throttle::default();
    loop {
        let (n, src) = tokio::select! {
            _ = cancel.cancelled() => return,
            r = socket.recv_from(&mut buf) => match r {
                Ok(v) => v,
                Err(e) => {
                    if let Some(count) = errors.hit(Instant::now()) {
                        tracing::warn!(error = %e, count, "UDP receive failed");
                    }
                    continue;
                }
            }
        };
        let refused = |reason: &str| {
            if let Some(count) = refused.hit(Instant::now()) {
                tracing::warn!(%src, %reason, count, "malformed datagram (count: since the last such line)");
            }
        };
        let answer = match framing::datagram(&buf[..n]) {
            Datagram::Ping => Some(b"\r\n".to_vec()),
            Datagram::Empty => None,
            Datagram::BadLength { reason, head } => {
                refused(&reason);
                build::raw_response(head, 400, &reason)
            }
            Datagram::Message(bytes) => {
                tap(Direction::Received, src, bytes);
                match validate::inbound(bytes, src, Transport::Udp) {
                    Inbound::Deliver(msg) => {
                        deliver(msg, src, &connection, &inject);
                        None
                    }
                    Inbound::Answer { reason, bytes, .. } => {
                        refused(&reason);
                        Some(bytes)
                    }
                    Inbound::Drop { reason } => {
                        refused(&reason);
                        None
                    }
                }
            }
        };
        if let Some(bytes) = answer {
            // A keepalive pong is not a SIP message.
            if bytes != b"\r\n" {
                tap(Direction::Sent, src, &bytes);
            }
            let _ = socket.send_to(&bytes, src).await;
        }
    }
}

/// Hand one message to the endpoint, to be answered on `connection`.
fn deliver(
    msg: rsipstack::sip::SipMessage,
    src: SocketAddr,
    connection: &UdpConnection,
    inject: &TransportSender,
) {
    let from = SipAddr {
        r#type: Some(Transport::Udp),
        addr: src.into(),
    };
    // The endpoint is gone only at shutdown.
    let _ = inject.send(TransportEvent::Incoming(
        msg,
        SipConnection::Udp(connection.clone()),
        from,
    ));
}
