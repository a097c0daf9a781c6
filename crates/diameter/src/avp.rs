//! Borrowed AVP views and the lazy AVP iterator (RFC 6733 §4.1, §4.4).

use crate::error::{DiameterError, ResultCode};
use crate::types::{Address, Time};

/// AVP flag V (Vendor-Specific), RFC 6733 §4.1.
pub const AVP_FLAG_VENDOR: u8 = 0x80;
/// AVP flag M (Mandatory), RFC 6733 §4.1.
pub const AVP_FLAG_MANDATORY: u8 = 0x40;
/// AVP flag P (reserved for end-to-end security), RFC 6733 §4.1.
pub const AVP_FLAG_PROTECTED: u8 = 0x20;
/// Reserved AVP flag bits; an unrecognized bit SHOULD be an error (RFC 6733 §4.1, 3009).
pub const AVP_FLAG_RESERVED: u8 = 0x1f;

/// A view over one AVP inside a message buffer; nothing is copied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Avp<'a> {
    code: u32,
    flags: u8,
    vendor_id: u32,
    data: &'a [u8],
    raw: &'a [u8],
}

/// 4-byte alignment (RFC 6733 §4.1: padding to a 32-bit boundary).
pub(crate) fn padded(len: usize) -> usize {
    (len + 3) & !3
}

/// An RFC 6733 §7.1.5 style AVP header for Failed-AVP when the AVP cannot be
/// decoded: the bytes present, zero-filled to the minimum header length.
fn offending_header(bytes: &[u8], vendor: bool) -> Vec<u8> {
    let min = if vendor { 12 } else { 8 };
    let mut h: Vec<u8> = bytes.iter().take(min).copied().collect();
    h.resize(min, 0);
    h
}

/// The AVP starting at `buf[0]` and the bytes it occupies including padding,
/// or `None` when its framing is wrong. The hot path of every walk: no
/// allocation, no error built (see [`parse_one`] for the error).
#[inline]
pub(crate) fn frame(buf: &[u8]) -> Option<(Avp<'_>, usize)> {
    if buf.len() < 8 {
        return None;
    }
    let code = u32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]);
    let flags = buf[4];
    let len = u32::from_be_bytes([0, buf[5], buf[6], buf[7]]) as usize;
    let vendor = flags & AVP_FLAG_VENDOR != 0;
    let hdr_len = if vendor { 12 } else { 8 };
    if len < hdr_len || len > buf.len() {
        return None;
    }
    // len >= hdr_len and len <= buf.len(): the Vendor-ID bytes are there.
    let vendor_id = if vendor {
        u32::from_be_bytes([buf[8], buf[9], buf[10], buf[11]])
    } else {
        0
    };
    // Tolerate a missing final padding at the very end of the enclosing buffer.
    let occupied = padded(len).min(buf.len());
    Some((
        Avp {
            code,
            flags,
            vendor_id,
            data: &buf[hdr_len..len],
            raw: &buf[..occupied],
        },
        occupied,
    ))
}

/// Decodes the AVP starting at `buf[0]`, returning it and the bytes it
/// occupies including padding. Errors are 5014 DIAMETER_INVALID_AVP_LENGTH.
fn parse_one(buf: &[u8]) -> Result<(Avp<'_>, usize), DiameterError> {
    frame(buf).ok_or_else(|| frame_error(buf))
}

/// Why [`frame`] refused `buf`: 5014 with the offending AVP header as
/// Failed-AVP (RFC 6733 §7.1.5).
#[cold]
fn frame_error(buf: &[u8]) -> DiameterError {
    let Some(h) = buf.get(..8) else {
        return DiameterError::with_avp(
            ResultCode::DIAMETER_INVALID_AVP_LENGTH,
            &offending_header(buf, false),
            format!("{} bytes left: too few for an AVP header", buf.len()),
        );
    };
    let code = u32::from_be_bytes([h[0], h[1], h[2], h[3]]);
    let len = u32::from_be_bytes([0, h[5], h[6], h[7]]) as usize;
    let vendor = h[4] & AVP_FLAG_VENDOR != 0;
    let hdr_len = if vendor { 12 } else { 8 };
    let why = if len < hdr_len {
        format!("AVP Length {len} shorter than its {hdr_len}-byte header")
    } else {
        format!(
            "AVP Length {len} runs past the {} bytes that contain it",
            buf.len()
        )
    };
    DiameterError::with_avp(
        ResultCode::DIAMETER_INVALID_AVP_LENGTH,
        &offending_header(buf, vendor),
        format!("AVP {code}: {why}"),
    )
}

impl<'a> Avp<'a> {
    /// Decodes a single AVP from the start of `buf` (trailing bytes ignored).
    pub fn parse(buf: &'a [u8]) -> Result<Avp<'a>, DiameterError> {
        parse_one(buf).map(|(a, _)| a)
    }
    /// AVP Code.
    pub fn code(&self) -> u32 {
        self.code
    }
    /// AVP Flags byte as received (V, M, P, reserved).
    pub fn flags(&self) -> u8 {
        self.flags
    }
    /// Vendor-ID, 0 when the V bit is clear (IETF).
    pub fn vendor_id(&self) -> u32 {
        self.vendor_id
    }
    /// V bit.
    pub fn is_vendor_specific(&self) -> bool {
        self.flags & AVP_FLAG_VENDOR != 0
    }
    /// M bit.
    pub fn is_mandatory(&self) -> bool {
        self.flags & AVP_FLAG_MANDATORY != 0
    }
    /// P bit.
    pub fn is_protected(&self) -> bool {
        self.flags & AVP_FLAG_PROTECTED != 0
    }
    /// The Data field (without header and padding).
    pub fn data(&self) -> &'a [u8] {
        self.data
    }
    /// The whole AVP as received: header, data and padding. Forwarding these
    /// bytes forwards the AVP untouched.
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }
    /// Header + data, without padding: what Failed-AVP should hold.
    pub fn unpadded(&self) -> &'a [u8] {
        let hdr = if self.is_vendor_specific() { 12 } else { 8 };
        &self.raw[..(hdr + self.data.len()).min(self.raw.len())]
    }

    fn err(&self, code: ResultCode, why: &str) -> DiameterError {
        DiameterError::with_avp(code, self.unpadded(), format!("AVP {}: {why}", self.code))
    }

    fn fixed<const N: usize>(&self) -> Result<[u8; N], DiameterError> {
        self.data.try_into().map_err(|_| {
            self.err(
                ResultCode::DIAMETER_INVALID_AVP_LENGTH,
                &format!("{} data bytes where the type has {N}", self.data.len()),
            )
        })
    }

    /// Unsigned32 (RFC 6733 §4.2); wrong size → 5014.
    pub fn as_u32(&self) -> Result<u32, DiameterError> {
        self.fixed::<4>().map(u32::from_be_bytes)
    }
    /// Unsigned64.
    pub fn as_u64(&self) -> Result<u64, DiameterError> {
        self.fixed::<8>().map(u64::from_be_bytes)
    }
    /// Integer32 (also Enumerated, RFC 6733 §4.3.1).
    pub fn as_i32(&self) -> Result<i32, DiameterError> {
        self.fixed::<4>().map(i32::from_be_bytes)
    }
    /// Integer64.
    pub fn as_i64(&self) -> Result<i64, DiameterError> {
        self.fixed::<8>().map(i64::from_be_bytes)
    }
    /// Float32 (IEEE 754, network order).
    pub fn as_f32(&self) -> Result<f32, DiameterError> {
        self.fixed::<4>().map(f32::from_be_bytes)
    }
    /// Float64.
    pub fn as_f64(&self) -> Result<f64, DiameterError> {
        self.fixed::<8>().map(f64::from_be_bytes)
    }
    /// UTF8String (RFC 6733 §4.3.1); invalid UTF-8 → 5004.
    pub fn as_utf8(&self) -> Result<&'a str, DiameterError> {
        std::str::from_utf8(self.data)
            .map_err(|_| self.err(ResultCode::DIAMETER_INVALID_AVP_VALUE, "not UTF-8"))
    }
    /// DiameterIdentity (RFC 6733 §4.3.1): a non-empty FQDN in ASCII; else 5004.
    pub fn as_identity(&self) -> Result<&'a str, DiameterError> {
        if self.data.is_empty() || !self.data.is_ascii() {
            return Err(self.err(
                ResultCode::DIAMETER_INVALID_AVP_VALUE,
                "DiameterIdentity must be non-empty ASCII",
            ));
        }
        self.as_utf8()
    }
    /// Address (RFC 6733 §4.3.1); fewer than 2 bytes or a wrong-size IPv4/IPv6 → 5014.
    pub fn as_address(&self) -> Result<Address, DiameterError> {
        Address::from_bytes(self.data).ok_or_else(|| {
            self.err(
                ResultCode::DIAMETER_INVALID_AVP_LENGTH,
                "Address length does not match its family",
            )
        })
    }
    /// Time (RFC 6733 §4.3.1).
    pub fn as_time(&self) -> Result<Time, DiameterError> {
        self.fixed::<4>().map(|b| Time(u32::from_be_bytes(b)))
    }
    /// Grouped (RFC 6733 §4.4): the contained AVPs, framing checked (5014).
    pub fn as_grouped(&self) -> Result<Avps<'a>, DiameterError> {
        Avps::new(self.data)
    }
}

/// The AVPs of one level (a message body or a Grouped AVP's data), framing
/// already checked, iterated lazily without allocation.
#[derive(Clone, Copy, Debug)]
pub struct Avps<'a> {
    rest: &'a [u8],
}

impl<'a> Avps<'a> {
    /// Checks that `buf` is a sequence of well-framed AVPs (5014 otherwise, with
    /// the offending AVP header as Failed-AVP) and returns an iterator over it.
    pub fn new(buf: &'a [u8]) -> Result<Avps<'a>, DiameterError> {
        let mut rest = buf;
        while !rest.is_empty() {
            let Some((_, used)) = frame(rest) else {
                return Err(frame_error(rest));
            };
            rest = &rest[used..];
        }
        Ok(Avps { rest: buf })
    }

    /// A level whose framing was already checked by [`Avps::new`] (the
    /// iterator still stops, without panicking, at a framing error).
    pub(crate) fn prechecked(buf: &'a [u8]) -> Avps<'a> {
        Avps { rest: buf }
    }

    /// An empty sequence.
    pub fn empty() -> Avps<'a> {
        Avps { rest: &[] }
    }

    /// The first AVP with this code and vendor (0 = IETF).
    pub fn get(mut self, code: u32, vendor_id: u32) -> Option<Avp<'a>> {
        Iterator::find(&mut self, |a| a.code == code && a.vendor_id == vendor_id)
    }

    /// Every AVP with this code and vendor.
    pub fn get_all(self, code: u32, vendor_id: u32) -> impl Iterator<Item = Avp<'a>> {
        self.filter(move |a| a.code == code && a.vendor_id == vendor_id)
    }
}

impl<'a> Iterator for Avps<'a> {
    type Item = Avp<'a>;
    fn next(&mut self) -> Option<Avp<'a>> {
        if self.rest.is_empty() {
            return None;
        }
        match frame(self.rest) {
            Some((avp, used)) => {
                self.rest = &self.rest[used..];
                Some(avp)
            }
            // Cannot happen after `new`; end the sequence rather than panic.
            None => {
                self.rest = &[];
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Origin-Host "a.b" : code 264, M, length 11, padded with one zero byte.
    const ORIGIN_HOST: [u8; 12] = [0, 0, 1, 8, 0x40, 0, 0, 11, b'a', b'.', b'b', 0];

    #[test]
    fn avp_view_reads_header_data_and_padding() {
        let a = Avp::parse(&ORIGIN_HOST).unwrap();
        assert_eq!(a.code(), 264);
        assert!(a.is_mandatory() && !a.is_vendor_specific());
        assert_eq!(a.as_identity().unwrap(), "a.b");
        assert_eq!(a.raw().len(), 12);
        assert_eq!(a.unpadded().len(), 11);
    }

    #[test]
    fn vendor_avp_reads_vendor_id() {
        // Event-Trigger (1006), V+M, vendor 10415, value 0
        let b = [0, 0, 3, 0xee, 0xc0, 0, 0, 16, 0, 0, 0x28, 0xaf, 0, 0, 0, 0];
        let a = Avp::parse(&b).unwrap();
        assert_eq!(
            (a.code(), a.vendor_id(), a.as_u32().unwrap()),
            (1006, 10415, 0)
        );
    }

    #[test]
    fn avp_length_below_header_is_5014_with_zero_padded_header() {
        let b = [0, 0, 1, 8, 0x40, 0, 0, 4];
        let e = Avp::parse(&b).unwrap_err();
        assert_eq!(e.code, ResultCode::DIAMETER_INVALID_AVP_LENGTH);
        assert_eq!(e.failed_avp.unwrap(), b.to_vec());
        // V set but only 8 bytes: header padded with zeros to 12
        let b = [0, 0, 3, 0xee, 0xc0, 0, 0, 8];
        let e = Avp::parse(&b).unwrap_err();
        assert_eq!(e.failed_avp.unwrap().len(), 12);
    }

    #[test]
    fn avp_length_past_buffer_is_5014() {
        let mut b = ORIGIN_HOST;
        b[7] = 40;
        assert_eq!(Avp::parse(&b).unwrap_err().code.0, 5014);
    }

    #[test]
    fn wrong_size_unsigned32_is_5014_and_bad_utf8_is_5004() {
        let b = [0, 0, 1, 12, 0x40, 0, 0, 11, 0, 0, 1, 0];
        let a = Avp::parse(&b).unwrap();
        let e = a.as_u32().unwrap_err();
        assert_eq!(e.code.0, 5014);
        assert_eq!(e.failed_avp.unwrap(), b[..11].to_vec());
        let b = [0, 0, 1, 7, 0x40, 0, 0, 10, 0xff, 0xfe, 0, 0];
        assert_eq!(Avp::parse(&b).unwrap().as_utf8().unwrap_err().code.0, 5004);
    }

    #[test]
    fn avps_iterates_lazily_and_finds_by_code() {
        let mut buf = ORIGIN_HOST.to_vec();
        buf.extend_from_slice(&[0, 0, 1, 12, 0x40, 0, 0, 12, 0, 0, 7, 0xd1]);
        let avps = Avps::new(&buf).unwrap();
        assert_eq!(avps.count(), 2);
        assert_eq!(avps.get(268, 0).unwrap().as_u32().unwrap(), 2001);
        buf.push(0);
        assert_eq!(Avps::new(&buf).unwrap_err().code.0, 5014);
    }
}
