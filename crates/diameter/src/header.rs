//! The Diameter header (RFC 6733 §3).

use crate::error::{DiameterError, ResultCode};

/// Length of the fixed Diameter header in bytes (RFC 6733 §3).
pub const HEADER_LEN: usize = 20;
/// Largest value of the 24-bit Message Length / AVP Length fields.
pub const MAX_LEN_24: usize = 0x00ff_ffff;

/// Command flag R (Request), RFC 6733 §3.
pub const FLAG_REQUEST: u8 = 0x80;
/// Command flag P (Proxiable), RFC 6733 §3.
pub const FLAG_PROXIABLE: u8 = 0x40;
/// Command flag E (Error), RFC 6733 §3; never set in requests.
pub const FLAG_ERROR: u8 = 0x20;
/// Command flag T (potentially reTransmitted), RFC 6733 §3; only in requests.
pub const FLAG_RETRANSMIT: u8 = 0x10;
/// Reserved command flag bits, RFC 6733 §3.
pub const FLAG_RESERVED: u8 = 0x0f;

/// A decoded Diameter header.
///
/// ```text
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// |    Version    |                 Message Length                |
/// | Command Flags |                  Command Code                 |
/// |                         Application-ID                        |
/// |                      Hop-by-Hop Identifier                    |
/// |                      End-to-End Identifier                    |
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Header {
    /// Version, always 1 (RFC 6733 §3).
    pub version: u8,
    /// Message Length including the header, a multiple of 4.
    pub length: u32,
    /// Command Flags (R, P, E, T, reserved).
    pub flags: u8,
    /// 24-bit Command Code.
    pub command_code: u32,
    /// Application-ID (any u32: 0 base, 4 credit control, 0xffffffff relay, ...).
    pub application_id: u32,
    /// Hop-by-Hop Identifier (RFC 6733 §3, §6.2).
    pub hop_by_hop: u32,
    /// End-to-End Identifier (RFC 6733 §3, §6.2).
    pub end_to_end: u32,
}

impl Header {
    /// Decodes the 20-byte header at the start of `buf`.
    ///
    /// Checks: buffer long enough and Message Length at least 20 and a multiple
    /// of 4 (5015 DIAMETER_INVALID_MESSAGE_LENGTH), version 1 (5011
    /// DIAMETER_UNSUPPORTED_VERSION), E set on a request or T set on an answer
    /// (3008 DIAMETER_INVALID_HDR_BITS, RFC 6733 §3). Reserved bits are left to
    /// [`Header::check_reserved_bits`]: §3 says a receiver ignores them, §7.1.5
    /// (5013) says an endpoint may reject them, so the caller chooses.
    pub fn parse(buf: &[u8]) -> Result<Header, DiameterError> {
        let Some(h) = buf.get(..HEADER_LEN) else {
            return Err(DiameterError::new(
                ResultCode::DIAMETER_INVALID_MESSAGE_LENGTH,
                format!("{} bytes: shorter than the 20-byte header", buf.len()),
            ));
        };
        let word = |i: usize| u32::from_be_bytes([h[i], h[i + 1], h[i + 2], h[i + 3]]);
        let header = Header {
            version: h[0],
            length: word(0) & 0x00ff_ffff,
            flags: h[4],
            command_code: word(4) & 0x00ff_ffff,
            application_id: word(8),
            hop_by_hop: word(12),
            end_to_end: word(16),
        };
        if header.version != 1 {
            return Err(DiameterError::new(
                ResultCode::DIAMETER_UNSUPPORTED_VERSION,
                format!("version {} (only 1 is defined)", header.version),
            ));
        }
        if (header.length as usize) < HEADER_LEN || header.length % 4 != 0 {
            return Err(DiameterError::new(
                ResultCode::DIAMETER_INVALID_MESSAGE_LENGTH,
                format!(
                    "Message Length {} is not a multiple of 4 of at least 20",
                    header.length
                ),
            ));
        }
        if header.is_request() && header.is_error() {
            return Err(DiameterError::new(
                ResultCode::DIAMETER_INVALID_HDR_BITS,
                "E bit set in a request (RFC 6733 §3)",
            ));
        }
        if !header.is_request() && header.is_retransmit() {
            return Err(DiameterError::new(
                ResultCode::DIAMETER_INVALID_HDR_BITS,
                "T bit set in an answer (RFC 6733 §3)",
            ));
        }
        Ok(header)
    }

    /// 5013 DIAMETER_INVALID_BIT_IN_HEADER if a reserved flag bit is set (RFC 6733 §7.1.5).
    pub fn check_reserved_bits(&self) -> Result<(), DiameterError> {
        if self.flags & FLAG_RESERVED != 0 {
            return Err(DiameterError::new(
                ResultCode::DIAMETER_INVALID_BIT_IN_HEADER,
                format!("reserved command flag bits set: {:#04x}", self.flags),
            ));
        }
        Ok(())
    }

    /// R bit.
    pub fn is_request(&self) -> bool {
        self.flags & FLAG_REQUEST != 0
    }
    /// P bit.
    pub fn is_proxiable(&self) -> bool {
        self.flags & FLAG_PROXIABLE != 0
    }
    /// E bit.
    pub fn is_error(&self) -> bool {
        self.flags & FLAG_ERROR != 0
    }
    /// T bit.
    pub fn is_retransmit(&self) -> bool {
        self.flags & FLAG_RETRANSMIT != 0
    }

    /// The 20 header bytes. The command code and length are truncated to 24 bits;
    /// the builder checks them before calling this.
    pub fn to_bytes(&self) -> [u8; HEADER_LEN] {
        let mut out = [0u8; HEADER_LEN];
        out[0..4].copy_from_slice(&(self.length & 0x00ff_ffff).to_be_bytes());
        out[0] = self.version;
        out[4..8].copy_from_slice(&(self.command_code & 0x00ff_ffff).to_be_bytes());
        out[4] = self.flags;
        out[8..12].copy_from_slice(&self.application_id.to_be_bytes());
        out[12..16].copy_from_slice(&self.hop_by_hop.to_be_bytes());
        out[16..20].copy_from_slice(&self.end_to_end.to_be_bytes());
        out
    }
}

/// How many bytes the message starting at `buf` occupies, for framing a byte
/// stream (RFC 6733 §3: Message Length). `Ok(None)` while fewer than 4 bytes are
/// buffered. Errors are the ones a framer must close the connection on.
pub fn frame_length(buf: &[u8]) -> Result<Option<usize>, DiameterError> {
    let Some(b) = buf.get(..4) else {
        return Ok(None);
    };
    if b[0] != 1 {
        return Err(DiameterError::new(
            ResultCode::DIAMETER_UNSUPPORTED_VERSION,
            format!("version {}", b[0]),
        ));
    }
    let len = u32::from_be_bytes([0, b[1], b[2], b[3]]) as usize;
    if len < HEADER_LEN || len % 4 != 0 {
        return Err(DiameterError::new(
            ResultCode::DIAMETER_INVALID_MESSAGE_LENGTH,
            format!("Message Length {len}"),
        ));
    }
    Ok(Some(len))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dwr_header(flags: u8) -> [u8; 20] {
        Header {
            version: 1,
            length: 20,
            flags,
            command_code: 280,
            application_id: 0,
            hop_by_hop: 0x1122_3344,
            end_to_end: 0x5566_7788,
        }
        .to_bytes()
    }

    #[test]
    fn header_bytes_follow_rfc6733_section3_layout() {
        let b = dwr_header(FLAG_REQUEST);
        assert_eq!(
            b,
            [
                1, 0, 0, 20, 0x80, 0, 1, 24, 0, 0, 0, 0, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
                0x88
            ]
        );
        let h = Header::parse(&b).unwrap();
        assert_eq!(h.command_code, 280);
        assert!(h.is_request());
    }

    #[test]
    fn error_bit_on_request_is_3008() {
        let e = Header::parse(&dwr_header(FLAG_REQUEST | FLAG_ERROR)).unwrap_err();
        assert_eq!(e.code, ResultCode::DIAMETER_INVALID_HDR_BITS);
    }

    #[test]
    fn t_bit_on_answer_is_3008() {
        let e = Header::parse(&dwr_header(FLAG_RETRANSMIT)).unwrap_err();
        assert_eq!(e.code.0, 3008);
    }

    #[test]
    fn reserved_bits_are_ignored_by_parse_and_5013_on_check() {
        let h = Header::parse(&dwr_header(FLAG_REQUEST | 0x01)).unwrap();
        assert_eq!(h.check_reserved_bits().unwrap_err().code.0, 5013);
    }

    #[test]
    fn version_2_is_5011_and_bad_length_is_5015() {
        let mut b = dwr_header(FLAG_REQUEST);
        b[0] = 2;
        assert_eq!(Header::parse(&b).unwrap_err().code.0, 5011);
        let mut b = dwr_header(FLAG_REQUEST);
        b[3] = 22;
        assert_eq!(Header::parse(&b).unwrap_err().code.0, 5015);
        assert_eq!(Header::parse(&b[..10]).unwrap_err().code.0, 5015);
    }

    #[test]
    fn frame_length_waits_for_four_bytes() {
        let b = dwr_header(FLAG_REQUEST);
        assert_eq!(frame_length(&b[..3]).unwrap(), None);
        assert_eq!(frame_length(&b[..4]).unwrap(), Some(20));
    }
}
