//! Wire events as a pcapng file (the pcapng draft, IETF opsawg): a Section Header Block, two
//! Interface Description Blocks and one Enhanced Packet Block per event.
//!
//! - Interface 0, `LINKTYPE_RAW` (101): SIP and Diameter inside a synthetic IPv4/IPv6 header and a
//!   UDP or TCP header built from the event's addresses (Sent: local → remote; Received: remote →
//!   local), so Wireshark reassembles and dissects them as if captured on the wire. TCP sequence
//!   numbers run per direction of each connection; checksums of UDP and TCP are left 0 (Wireshark
//!   does not check them by default); TLS events carry the plaintext over TCP.
//! - Interface 1, `LINKTYPE_USER0` (147): each NAS-5GS PDU as it is; decode with
//!   `-o 'uat:user_dlts:"User 0 (DLT=147)","nas-5gs","0","","0",""'`.
//!
//! An address the transport did not know is written as 127.0.0.1 (local) or 127.0.0.2 (remote)
//! with the protocol's registered port (SIP 5060, Diameter 3868).

use std::collections::HashMap;
use std::io::{self, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::UNIX_EPOCH;

use crate::{Direction, Protocol, Transport, WireEvent};

/// `LINKTYPE_RAW`: the packet starts with an IPv4 or IPv6 header.
pub const LINKTYPE_RAW: u16 = 101;
/// `LINKTYPE_USER0`: the NAS-5GS PDUs.
pub const LINKTYPE_USER0: u16 = 147;
/// Largest TCP payload per synthetic segment (an IP packet stays under 65,535 bytes).
const MAX_SEGMENT: usize = 65_000;

/// Writes a pcapng stream to `W`.
pub struct Writer<W: Write> {
    out: W,
    /// Next sequence number per (source, destination) of a TCP connection.
    seq: HashMap<(SocketAddr, SocketAddr), u32>,
    packets: u64,
}

impl<W: Write> Writer<W> {
    /// Start a file: the section header and both interfaces.
    pub fn new(mut out: W) -> io::Result<Writer<W>> {
        // Section Header Block: byte-order magic, version 1.0, section length unknown.
        let mut shb = Vec::with_capacity(16);
        shb.extend_from_slice(&0x1A2B_3C4Du32.to_le_bytes());
        shb.extend_from_slice(&1u16.to_le_bytes());
        shb.extend_from_slice(&0u16.to_le_bytes());
        shb.extend_from_slice(&(-1i64).to_le_bytes());
        block(&mut out, 0x0A0D_0D0A, &shb)?;
        for linktype in [LINKTYPE_RAW, LINKTYPE_USER0] {
            let mut idb = Vec::with_capacity(8);
            idb.extend_from_slice(&linktype.to_le_bytes());
            idb.extend_from_slice(&0u16.to_le_bytes());
            idb.extend_from_slice(&0u32.to_le_bytes()); // snaplen: no limit
            block(&mut out, 1, &idb)?;
        }
        Ok(Writer {
            out,
            seq: HashMap::new(),
            packets: 0,
        })
    }

    /// Append one event (several packets when a TCP message is longer than a segment).
    pub fn push(&mut self, e: &WireEvent) -> io::Result<()> {
        let micros =
            e.at.duration_since(UNIX_EPOCH)
                .map(|d| d.as_micros() as u64)
                .unwrap_or(0);
        if e.protocol == Protocol::Nas5gs {
            return self.packet(1, micros, &e.bytes);
        }
        let port = match e.protocol {
            Protocol::Sip => 5060,
            _ => 3868,
        };
        let local = e
            .local
            .unwrap_or(SocketAddr::new(Ipv4Addr::new(127, 0, 0, 1).into(), port));
        let remote = e
            .remote
            .unwrap_or(SocketAddr::new(Ipv4Addr::new(127, 0, 0, 2).into(), port));
        let (src, dst) = match e.direction {
            Direction::Sent => (local, remote),
            Direction::Received => (remote, local),
        };
        if e.transport == Transport::Udp {
            let packet = ip_packet(src, dst, 17, &udp(src, dst, &e.bytes));
            return self.packet(0, micros, &packet);
        }
        for chunk in e.bytes.chunks(MAX_SEGMENT) {
            let seq = self.seq.entry((src, dst)).or_insert(1);
            let segment = tcp(src, dst, *seq, chunk);
            *seq = seq.wrapping_add(chunk.len() as u32);
            let packet = ip_packet(src, dst, 6, &segment);
            self.packet(0, micros, &packet)?;
        }
        Ok(())
    }

    /// Packets written so far.
    pub fn packets(&self) -> u64 {
        self.packets
    }

    /// Flush and hand back the output.
    pub fn finish(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }

    fn packet(&mut self, interface: u32, micros: u64, data: &[u8]) -> io::Result<()> {
        let mut epb = Vec::with_capacity(20 + data.len() + 3);
        epb.extend_from_slice(&interface.to_le_bytes());
        epb.extend_from_slice(&((micros >> 32) as u32).to_le_bytes());
        epb.extend_from_slice(&(micros as u32).to_le_bytes());
        epb.extend_from_slice(&(data.len() as u32).to_le_bytes());
        epb.extend_from_slice(&(data.len() as u32).to_le_bytes());
        epb.extend_from_slice(data);
        self.packets += 1;
        block(&mut self.out, 6, &epb)
    }
}

/// One block: type, total length, body padded to 32 bits, total length again.
fn block(out: &mut impl Write, kind: u32, body: &[u8]) -> io::Result<()> {
    let pad = (4 - body.len() % 4) % 4;
    let total = (12 + body.len() + pad) as u32;
    out.write_all(&kind.to_le_bytes())?;
    out.write_all(&total.to_le_bytes())?;
    out.write_all(body)?;
    out.write_all(&[0u8; 3][..pad])?;
    out.write_all(&total.to_le_bytes())
}

fn udp(src: SocketAddr, dst: SocketAddr, payload: &[u8]) -> Vec<u8> {
    let mut h = Vec::with_capacity(8 + payload.len());
    h.extend_from_slice(&src.port().to_be_bytes());
    h.extend_from_slice(&dst.port().to_be_bytes());
    h.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    h.extend_from_slice(&0u16.to_be_bytes());
    h.extend_from_slice(payload);
    h
}

fn tcp(src: SocketAddr, dst: SocketAddr, seq: u32, payload: &[u8]) -> Vec<u8> {
    let mut h = Vec::with_capacity(20 + payload.len());
    h.extend_from_slice(&src.port().to_be_bytes());
    h.extend_from_slice(&dst.port().to_be_bytes());
    h.extend_from_slice(&seq.to_be_bytes());
    h.extend_from_slice(&0u32.to_be_bytes()); // no ACK number: we see one direction at a time
    h.push(5 << 4); // data offset: 5 words, no options
    h.push(0x08); // PSH
    h.extend_from_slice(&65_535u16.to_be_bytes());
    h.extend_from_slice(&0u16.to_be_bytes()); // checksum (not checked by default)
    h.extend_from_slice(&0u16.to_be_bytes());
    h.extend_from_slice(payload);
    h
}

/// An IPv4 header when both addresses are IPv4 (IPv4-mapped otherwise), else IPv6.
fn ip_packet(src: SocketAddr, dst: SocketAddr, proto: u8, payload: &[u8]) -> Vec<u8> {
    match (src.ip(), dst.ip()) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            let mut h = Vec::with_capacity(20 + payload.len());
            h.extend_from_slice(&[0x45, 0]);
            h.extend_from_slice(&((20 + payload.len()) as u16).to_be_bytes());
            h.extend_from_slice(&[0, 0, 0x40, 0, 64, proto, 0, 0]);
            h.extend_from_slice(&s.octets());
            h.extend_from_slice(&d.octets());
            let sum = checksum(&h);
            h[10..12].copy_from_slice(&sum.to_be_bytes());
            h.extend_from_slice(payload);
            h
        }
        (s, d) => {
            let v6 = |a: IpAddr| match a {
                IpAddr::V4(v4) => v4.to_ipv6_mapped(),
                IpAddr::V6(v6) => v6,
            };
            let mut h = Vec::with_capacity(40 + payload.len());
            h.extend_from_slice(&[0x60, 0, 0, 0]);
            h.extend_from_slice(&(payload.len() as u16).to_be_bytes());
            h.extend_from_slice(&[proto, 64]);
            h.extend_from_slice(&v6(s).octets());
            h.extend_from_slice(&v6(d).octets());
            h.extend_from_slice(payload);
            h
        }
    }
}

/// The Internet checksum (RFC 1071) of an IPv4 header.
fn checksum(header: &[u8]) -> u16 {
    let mut sum: u32 = header
        .chunks(2)
        .map(|w| u32::from(u16::from_be_bytes([w[0], *w.get(1).unwrap_or(&0)])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Ids;
    use std::time::Duration;

    fn event(direction: Direction, transport: Transport, bytes: &[u8]) -> WireEvent {
        WireEvent {
            at: UNIX_EPOCH + Duration::from_micros(1_700_000_000_123_456),
            direction,
            transport,
            protocol: Protocol::Diameter,
            local: Some("127.0.0.1:3868".parse().unwrap()),
            remote: Some("127.0.0.9:40000".parse().unwrap()),
            summary: String::new(),
            bytes: bytes.to_vec(),
            ids: Ids::default(),
        }
    }

    #[test]
    fn ipv4_header_checksum_is_rfc_1071() {
        // The worked example of RFC 1071 §3's style: a header whose checksum field is zero.
        let h = [
            0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0x00, 0x00, 0xc0, 0xa8,
            0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7,
        ];
        assert_eq!(checksum(&h), 0xb861);
    }

    #[test]
    fn blocks_are_padded_and_sequence_numbers_run_per_direction() {
        let mut w = Writer::new(Vec::new()).unwrap();
        w.push(&event(Direction::Received, Transport::Tcp, b"abcde"))
            .unwrap();
        w.push(&event(Direction::Received, Transport::Tcp, b"xyz"))
            .unwrap();
        w.push(&event(Direction::Sent, Transport::Tcp, b"q"))
            .unwrap();
        assert_eq!(w.packets(), 3);
        assert_eq!(
            w.seq[&(
                "127.0.0.9:40000".parse().unwrap(),
                "127.0.0.1:3868".parse().unwrap()
            )],
            9
        );
        assert_eq!(
            w.seq[&(
                "127.0.0.1:3868".parse().unwrap(),
                "127.0.0.9:40000".parse().unwrap()
            )],
            2
        );
        let out = w.finish().unwrap();
        assert_eq!(out.len() % 4, 0);
        assert_eq!(&out[..4], &0x0A0D_0D0Au32.to_le_bytes());
    }

    #[test]
    fn a_long_tcp_message_is_cut_into_segments() {
        let mut w = Writer::new(Vec::new()).unwrap();
        w.push(&event(Direction::Sent, Transport::Tcp, &vec![7u8; 150_000]))
            .unwrap();
        assert_eq!(w.packets(), 3);
    }
}
