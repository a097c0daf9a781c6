//! RTP (RFC 3550 §5.1) as the PoC terminal sends and counts it, free of IO: PCMU (payload type
//! 0, RFC 3551), 20 ms of audio (160 samples) per packet.

/// Samples per packet: 20 ms at 8 kHz.
pub const SAMPLES_PER_PACKET: u32 = 160;

/// One RTP packet: version 2, no padding, extension or CSRC, payload type 0, `seq`,
/// `timestamp`, `ssrc`, 160 bytes of PCMU silence (0xFF).
pub fn packet(seq: u16, timestamp: u32, ssrc: u32) -> Vec<u8> {
    let mut p = Vec::with_capacity(12 + SAMPLES_PER_PACKET as usize);
    p.extend_from_slice(&[0x80, 0x00]);
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&timestamp.to_be_bytes());
    p.extend_from_slice(&ssrc.to_be_bytes());
    p.resize(12 + SAMPLES_PER_PACKET as usize, 0xff);
    p
}

/// Whether a datagram is an RTP packet we count: at least the fixed header, version 2.
pub fn is_rtp(datagram: &[u8]) -> bool {
    datagram.len() >= 12 && datagram[0] >> 6 == 2
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packets_are_counted_and_noise_is_not() {
        let p = packet(7, 1120, 42);
        assert_eq!(p.len(), 172);
        assert_eq!(&p[2..4], &[0, 7]);
        assert!(is_rtp(&p));
        assert!(!is_rtp(&p[..11]));
        assert!(!is_rtp(b"hello there, not rtp"));
    }
}
