//! Our own transport under rsipstack's transaction layer (issue 9 §3, issue 13 §4, §8, §9).
//!
//! rsipstack's UDP loop reads 8 KiB per datagram, its TCP listener neither sets `TCP_NODELAY`
//! nor caps connections nor backs off when `accept` fails, and its stream loop drops the whole
//! connection on the first message it cannot parse. So the sockets are ours: [`udp`] and [`tcp`]
//! read and frame the bytes ([`crate::framing`]), let [`crate::validate::inbound`] decide on each
//! message (deliver, answer 400/505, or drop), and hand what is delivered to the endpoint as a
//! `TransportEvent::Incoming` carrying an rsipstack `UdpConnection` / `TcpConnection` over the
//! same socket, on which the transaction layer writes its answers. The events reach the
//! endpoint through one rsipstack `ChannelConnection` (the only way in from outside the crate);
//! requests we send name their connection explicitly ([`crate::node::SipNode::send`]), so
//! rsipstack's own connection lookup and listeners are never used.

pub mod tcp;
pub mod udp;
