//! The media relay: one UDP socket per participant (the port in our SDP answer); what a
//! participant sends to its port is sent, from each other participant's port, to that
//! participant's RTP address. Packets are relayed as they are (RTP is not parsed; a datagram
//! over 1,500 bytes is dropped). The remote address is the SDP offer's, then the address
//! packets actually come from (symmetric RTP, RFC 4961). Floor control (TS 24.380: one talker
//! at a time, MBCP/TBCP over RTCP) is a later step: today every participant's packets reach
//! every other participant.

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::net::UdpSocket;
use tokio_util::sync::CancellationToken;

/// Largest datagram relayed.
pub const MAX_DATAGRAM: usize = 1500;

/// One participant's media leg.
pub struct Leg {
    pub socket: Arc<UdpSocket>,
    pub port: u16,
    remote: Mutex<SocketAddr>,
    /// When a packet last came from the participant (ms since the epoch), 0 for never.
    pub last_rx_ms: AtomicI64,
    pub packets_in: AtomicU64,
    pub packets_out: AtomicU64,
    pub cancel: CancellationToken,
}

impl Leg {
    /// Bind a leg on `address`, port chosen by the system.
    pub async fn bind(address: IpAddr, remote: SocketAddr) -> std::io::Result<Arc<Leg>> {
        let socket = UdpSocket::bind(SocketAddr::new(address, 0)).await?;
        let port = socket.local_addr()?.port();
        Ok(Arc::new(Leg {
            socket: Arc::new(socket),
            port,
            remote: Mutex::new(remote),
            last_rx_ms: AtomicI64::new(0),
            packets_in: AtomicU64::new(0),
            packets_out: AtomicU64::new(0),
            cancel: CancellationToken::new(),
        }))
    }

    pub fn remote(&self) -> SocketAddr {
        *self.remote.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn set_remote(&self, remote: SocketAddr) {
        *self.remote.lock().unwrap_or_else(|p| p.into_inner()) = remote;
    }

    /// Relay what comes in on this leg to the legs `others()` returns, until cancelled.
    pub async fn run<F>(self: Arc<Leg>, others: F)
    where
        F: Fn() -> Vec<Arc<Leg>> + Send + 'static,
    {
        let mut buf = vec![0u8; MAX_DATAGRAM + 1];
        loop {
            let (n, from) = tokio::select! {
                _ = self.cancel.cancelled() => return,
                r = self.socket.recv_from(&mut buf) => match r {
                    Ok(x) => x,
                    Err(e) => {
                        // ICMP port unreachable from an earlier send surfaces here on some
                        // systems: not fatal for the leg.
                        tracing::debug!(error = %e, port = self.port, "RTP receive error");
                        continue;
                    }
                },
            };
            if n > MAX_DATAGRAM || n == 0 {
                continue;
            }
            self.last_rx_ms
                .store(corelab_runtime::now_ms(), Ordering::Relaxed);
            self.packets_in.fetch_add(1, Ordering::Relaxed);
            if from != self.remote() {
                self.set_remote(from);
            }
            for other in others() {
                if Arc::ptr_eq(&other, &self) {
                    continue;
                }
                if other
                    .socket
                    .send_to(&buf[..n], other.remote())
                    .await
                    .is_ok()
                {
                    other.packets_out.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    }
}
