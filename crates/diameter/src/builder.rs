//! Owned AVPs and messages for encoding (RFC 6733 §3, §4).

use crate::avp::{AVP_FLAG_MANDATORY, AVP_FLAG_VENDOR, Avp, padded};
use crate::error::EncodeError;
use crate::header::{FLAG_PROXIABLE, FLAG_REQUEST, HEADER_LEN, Header, MAX_LEN_24};
use crate::message::Message;
use crate::types::{Address, Time};

/// The value of an owned AVP.
#[derive(Clone, Debug, PartialEq)]
pub enum AvpValue {
    /// Any non-grouped data, already in wire form (also unknown AVPs kept as is).
    Octets(Vec<u8>),
    /// Grouped (RFC 6733 §4.4): the contained AVPs.
    Grouped(Vec<AvpBuf>),
}

/// An owned AVP to encode. The V bit follows `vendor_id` (`Some` → V set).
#[derive(Clone, Debug, PartialEq)]
pub struct AvpBuf {
    /// AVP Code.
    pub code: u32,
    /// Flags; the V bit is recomputed from `vendor_id` when encoding.
    pub flags: u8,
    /// Vendor-ID, present iff the V bit is set.
    pub vendor_id: Option<u32>,
    /// The data.
    pub value: AvpValue,
}

impl AvpBuf {
    /// An AVP with no flags.
    pub fn new(code: u32, value: AvpValue) -> Self {
        AvpBuf {
            code,
            flags: 0,
            vendor_id: None,
            value,
        }
    }
    /// Sets the vendor (and so the V bit).
    pub fn vendor(mut self, vendor_id: u32) -> Self {
        self.vendor_id = Some(vendor_id);
        self
    }
    /// Sets the M bit.
    pub fn mandatory(mut self) -> Self {
        self.flags |= AVP_FLAG_MANDATORY;
        self
    }
    /// OctetString (and any derived type already in wire form).
    pub fn octets(code: u32, v: &[u8]) -> Self {
        Self::new(code, AvpValue::Octets(v.to_vec()))
    }
    /// UTF8String.
    pub fn utf8(code: u32, v: &str) -> Self {
        Self::octets(code, v.as_bytes())
    }
    /// DiameterIdentity (RFC 6733 §4.3.1).
    pub fn identity(code: u32, v: &str) -> Self {
        Self::octets(code, v.as_bytes())
    }
    /// Unsigned32.
    pub fn u32(code: u32, v: u32) -> Self {
        Self::octets(code, &v.to_be_bytes())
    }
    /// Unsigned64.
    pub fn u64(code: u32, v: u64) -> Self {
        Self::octets(code, &v.to_be_bytes())
    }
    /// Integer32.
    pub fn i32(code: u32, v: i32) -> Self {
        Self::octets(code, &v.to_be_bytes())
    }
    /// Integer64.
    pub fn i64(code: u32, v: i64) -> Self {
        Self::octets(code, &v.to_be_bytes())
    }
    /// Float32.
    pub fn f32(code: u32, v: f32) -> Self {
        Self::octets(code, &v.to_be_bytes())
    }
    /// Float64.
    pub fn f64(code: u32, v: f64) -> Self {
        Self::octets(code, &v.to_be_bytes())
    }
    /// Enumerated (Integer32, RFC 6733 §4.3.1).
    pub fn enumerated(code: u32, v: i32) -> Self {
        Self::i32(code, v)
    }
    /// Address with its family (RFC 6733 §4.3.1).
    pub fn address(code: u32, v: &Address) -> Self {
        Self::new(code, AvpValue::Octets(v.to_bytes()))
    }
    /// Time (RFC 6733 §4.3.1).
    pub fn time(code: u32, v: Time) -> Self {
        Self::u32(code, v.0)
    }
    /// Grouped.
    pub fn grouped(code: u32, avps: Vec<AvpBuf>) -> Self {
        Self::new(code, AvpValue::Grouped(avps))
    }

    /// Copies a received AVP as opaque data: re-encoding gives the same bytes
    /// (padding normalized to zeros, RFC 6733 §4.1). This is how an unknown AVP
    /// is kept and forwarded untouched.
    pub fn from_avp(avp: &Avp<'_>) -> Self {
        AvpBuf {
            code: avp.code(),
            flags: avp.flags(),
            vendor_id: avp.is_vendor_specific().then(|| avp.vendor_id()),
            value: AvpValue::Octets(avp.data().to_vec()),
        }
    }

    fn header_len(&self) -> usize {
        if self.vendor_id.is_some() { 12 } else { 8 }
    }

    /// AVP Length: header + data, without the final padding.
    pub fn unpadded_len(&self) -> usize {
        self.header_len()
            + match &self.value {
                AvpValue::Octets(d) => d.len(),
                AvpValue::Grouped(g) => g.iter().map(AvpBuf::encoded_len).sum(),
            }
    }

    /// Bytes on the wire including padding.
    pub fn encoded_len(&self) -> usize {
        padded(self.unpadded_len())
    }

    /// Appends the encoded AVP (with padding) to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        let len = self.unpadded_len();
        if len > MAX_LEN_24 {
            return Err(EncodeError::AvpTooLong {
                code: self.code,
                len,
            });
        }
        let mut flags = self.flags & !AVP_FLAG_VENDOR;
        if self.vendor_id.is_some() {
            flags |= AVP_FLAG_VENDOR;
        }
        out.extend_from_slice(&self.code.to_be_bytes());
        let l = (len as u32).to_be_bytes();
        out.extend_from_slice(&[flags, l[1], l[2], l[3]]);
        if let Some(v) = self.vendor_id {
            out.extend_from_slice(&v.to_be_bytes());
        }
        match &self.value {
            AvpValue::Octets(d) => out.extend_from_slice(d),
            AvpValue::Grouped(g) => {
                for a in g {
                    a.encode(out)?;
                }
            }
        }
        out.resize(out.len() + padded(len) - len, 0);
        Ok(())
    }

    /// The encoded AVP.
    pub fn to_bytes(&self) -> Result<Vec<u8>, EncodeError> {
        let mut out = Vec::with_capacity(self.encoded_len());
        self.encode(&mut out)?;
        Ok(out)
    }
}

/// An owned message to encode (RFC 6733 §3).
#[derive(Clone, Debug, PartialEq)]
pub struct MessageBuilder {
    /// Command flags (R, P, E, T, reserved).
    pub flags: u8,
    /// 24-bit command code.
    pub command_code: u32,
    /// Application-ID.
    pub application_id: u32,
    /// Hop-by-Hop Identifier.
    pub hop_by_hop: u32,
    /// End-to-End Identifier.
    pub end_to_end: u32,
    /// The AVPs, in order.
    pub avps: Vec<AvpBuf>,
}

impl MessageBuilder {
    /// A request (R set) with identifiers 0; set them before sending.
    pub fn request(command_code: u32, application_id: u32) -> Self {
        MessageBuilder {
            flags: FLAG_REQUEST,
            command_code,
            application_id,
            hop_by_hop: 0,
            end_to_end: 0,
            avps: Vec::new(),
        }
    }

    /// The answer to `request`: same command code, application, identifiers and
    /// P bit, R clear (RFC 6733 §6.2).
    pub fn answer_to(request: &Header) -> Self {
        MessageBuilder {
            flags: request.flags & FLAG_PROXIABLE,
            command_code: request.command_code,
            application_id: request.application_id,
            hop_by_hop: request.hop_by_hop,
            end_to_end: request.end_to_end,
            avps: Vec::new(),
        }
    }

    /// Sets or clears flag bits.
    pub fn flag(mut self, bit: u8, on: bool) -> Self {
        if on {
            self.flags |= bit;
        } else {
            self.flags &= !bit;
        }
        self
    }
    /// Sets the P bit.
    pub fn proxiable(self) -> Self {
        self.flag(FLAG_PROXIABLE, true)
    }
    /// Sets both identifiers.
    pub fn ids(mut self, hop_by_hop: u32, end_to_end: u32) -> Self {
        self.hop_by_hop = hop_by_hop;
        self.end_to_end = end_to_end;
        self
    }
    /// Appends an AVP.
    pub fn avp(mut self, avp: AvpBuf) -> Self {
        self.avps.push(avp);
        self
    }
    /// Appends an AVP in place.
    pub fn push(&mut self, avp: AvpBuf) {
        self.avps.push(avp);
    }

    /// Copies a decoded message into a builder; every AVP is kept opaque, so
    /// encoding gives the same bytes.
    pub fn from_message(msg: &Message<'_>) -> Self {
        let h = msg.header();
        MessageBuilder {
            flags: h.flags,
            command_code: h.command_code,
            application_id: h.application_id,
            hop_by_hop: h.hop_by_hop,
            end_to_end: h.end_to_end,
            avps: msg.avps().map(|a| AvpBuf::from_avp(&a)).collect(),
        }
    }

    /// The message on the wire.
    pub fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        if self.command_code > 0x00ff_ffff {
            return Err(EncodeError::CommandCodeTooLarge(self.command_code));
        }
        let len = HEADER_LEN + self.avps.iter().map(AvpBuf::encoded_len).sum::<usize>();
        if len > MAX_LEN_24 {
            return Err(EncodeError::MessageTooLong(len));
        }
        let mut out = Vec::with_capacity(len);
        let header = Header {
            version: 1,
            length: len as u32,
            flags: self.flags,
            command_code: self.command_code,
            application_id: self.application_id,
            hop_by_hop: self.hop_by_hop,
            end_to_end: self.end_to_end,
        };
        out.extend_from_slice(&header.to_bytes());
        for a in &self.avps {
            a.encode(&mut out)?;
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vendor_avp_encodes_v_bit_vendor_id_and_padding() {
        // Charging-Rule-Name (1005, vendor 10415) "r1": 12 + 2 = 14 → padded to 16
        let b = AvpBuf::octets(1005, b"r1")
            .vendor(10415)
            .mandatory()
            .to_bytes()
            .unwrap();
        assert_eq!(
            b,
            [
                0, 0, 3, 0xed, 0xc0, 0, 0, 14, 0, 0, 0x28, 0xaf, b'r', b'1', 0, 0
            ]
        );
    }

    #[test]
    fn grouped_length_counts_inner_padding() {
        // Subscription-Id { Subscription-Id-Type 1, Subscription-Id-Data "001" }
        let g = AvpBuf::grouped(
            443,
            vec![
                AvpBuf::enumerated(450, 1).mandatory(),
                AvpBuf::utf8(444, "001").mandatory(),
            ],
        )
        .mandatory();
        let b = g.to_bytes().unwrap();
        assert_eq!(b.len(), 8 + 12 + 12);
        assert_eq!(&b[5..8], &[0, 0, 32]);
        assert_eq!(&b[20 + 5..20 + 8], &[0, 0, 11]);
        assert_eq!(b[31], 0);
    }

    #[test]
    fn oversized_command_code_is_an_encode_error() {
        let m = MessageBuilder::request(0x0100_0000, 0);
        assert_eq!(
            m.encode(),
            Err(EncodeError::CommandCodeTooLarge(0x0100_0000))
        );
    }
}
