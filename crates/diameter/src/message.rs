//! Borrowed message view and the routing fast path (RFC 6733 §3, §6.1).

use crate::avp::{Avp, Avps, frame};
use crate::codes::avp as code;
use crate::error::{DiameterError, ResultCode};
use crate::header::{HEADER_LEN, Header};

/// A decoded message borrowing its buffer. Only the header is decoded and the
/// top-level AVP framing checked; AVP values are read on demand.
#[derive(Clone, Copy, Debug)]
pub struct Message<'a> {
    header: Header,
    raw: &'a [u8],
}

impl<'a> Message<'a> {
    /// Decodes one whole message (`buf` is exactly one frame, see
    /// [`crate::frame_length`]). Errors: header errors of [`Header::parse`];
    /// 5015 when `buf` is not Message Length bytes; 5014 (with Failed-AVP) when a
    /// top-level AVP's length is wrong.
    pub fn decode(buf: &'a [u8]) -> Result<Message<'a>, DiameterError> {
        let header = Header::parse(buf)?;
        if header.length as usize != buf.len() {
            return Err(DiameterError::new(
                ResultCode::DIAMETER_INVALID_MESSAGE_LENGTH,
                format!(
                    "Message Length {} but {} bytes received",
                    header.length,
                    buf.len()
                ),
            ));
        }
        Avps::new(&buf[HEADER_LEN..])?;
        Ok(Message { header, raw: buf })
    }

    /// The header.
    pub fn header(&self) -> &Header {
        &self.header
    }
    /// The whole message as received.
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }
    /// R bit.
    pub fn is_request(&self) -> bool {
        self.header.is_request()
    }
    /// Top-level AVPs, lazily.
    pub fn avps(&self) -> Avps<'a> {
        // Framing was checked in `decode`: no second walk here.
        Avps::prechecked(self.raw.get(HEADER_LEN..).unwrap_or(&[]))
    }
    /// First top-level AVP with this code and vendor (0 = IETF).
    pub fn find(&self, code: u32, vendor_id: u32) -> Option<Avp<'a>> {
        self.avps().get(code, vendor_id)
    }
    /// Session-Id (263) as text, if present and UTF-8.
    pub fn session_id(&self) -> Option<&'a str> {
        self.find(code::SESSION_ID, 0)?.as_utf8().ok()
    }
    /// Result-Code (268), if present and well-formed.
    pub fn result_code(&self) -> Option<ResultCode> {
        self.find(code::RESULT_CODE, 0)?
            .as_u32()
            .ok()
            .map(ResultCode)
    }
}

/// What a Diameter agent needs to route a message (RFC 6733 §6.1), read in
/// one pass over the top-level AVPs without decoding anything else.
#[derive(Clone, Copy, Debug)]
pub struct RoutingView<'a> {
    /// The header (command, application, flags, identifiers).
    pub header: Header,
    /// Session-Id (263) data.
    pub session_id: Option<&'a [u8]>,
    /// Origin-Host (264) data.
    pub origin_host: Option<&'a [u8]>,
    /// Origin-Realm (296) data.
    pub origin_realm: Option<&'a [u8]>,
    /// Destination-Realm (283) data.
    pub destination_realm: Option<&'a [u8]>,
    /// Destination-Host (293) data.
    pub destination_host: Option<&'a [u8]>,
    route_records: Avps<'a>,
}

impl<'a> RoutingView<'a> {
    /// Reads the routing AVPs of `msg` (first occurrence of each).
    pub fn new(msg: &Message<'a>) -> RoutingView<'a> {
        Self::scan(*msg.header(), msg.raw().get(HEADER_LEN..).unwrap_or(&[])).0
    }

    /// One walk over the top-level AVPs: checks their framing and picks the
    /// routing AVPs; the Route-Records are iterated later from the first one.
    /// The flag is false when the framing is wrong (the view is then partial).
    fn scan(header: Header, body: &'a [u8]) -> (RoutingView<'a>, bool) {
        let mut v = RoutingView {
            header,
            session_id: None,
            origin_host: None,
            origin_realm: None,
            destination_realm: None,
            destination_host: None,
            route_records: Avps::empty(),
        };
        let mut rest = body;
        let mut route_record_seen = false;
        while !rest.is_empty() {
            let Some((a, used)) = frame(rest) else {
                return (v, false);
            };
            if a.vendor_id() == 0 {
                let slot = match a.code() {
                    code::SESSION_ID => &mut v.session_id,
                    code::ORIGIN_HOST => &mut v.origin_host,
                    code::ORIGIN_REALM => &mut v.origin_realm,
                    code::DESTINATION_REALM => &mut v.destination_realm,
                    code::DESTINATION_HOST => &mut v.destination_host,
                    code::ROUTE_RECORD => {
                        if !route_record_seen {
                            route_record_seen = true;
                            v.route_records = Avps::prechecked(rest);
                        }
                        rest = &rest[used..];
                        continue;
                    }
                    _ => {
                        rest = &rest[used..];
                        continue;
                    }
                };
                if slot.is_none() {
                    *slot = Some(a.data());
                }
            }
            rest = &rest[used..];
        }
        (v, true)
    }

    /// Decodes `buf` and reads its routing AVPs in one walk (the agent's fast
    /// path); the errors are those of [`Message::decode`].
    pub fn decode(buf: &'a [u8]) -> Result<RoutingView<'a>, DiameterError> {
        let header = Header::parse(buf)?;
        if header.length as usize == buf.len() {
            if let (v, true) = Self::scan(header, &buf[HEADER_LEN..]) {
                return Ok(v);
            }
        }
        // Cold: let `Message::decode` name the error.
        Message::decode(buf).map(|m| RoutingView::new(&m))
    }

    /// Session-Id as text.
    pub fn session_id_str(&self) -> Option<&'a str> {
        std::str::from_utf8(self.session_id?).ok()
    }
    /// Destination-Realm as text.
    pub fn destination_realm_str(&self) -> Option<&'a str> {
        std::str::from_utf8(self.destination_realm?).ok()
    }
    /// Destination-Host as text.
    pub fn destination_host_str(&self) -> Option<&'a str> {
        std::str::from_utf8(self.destination_host?).ok()
    }

    /// Every Route-Record (282) identity, in order.
    pub fn route_records(&self) -> impl Iterator<Item = &'a [u8]> + use<'a> {
        self.route_records
            .get_all(code::ROUTE_RECORD, 0)
            .map(|a| a.data())
    }

    /// Loop detection (RFC 6733 §6.1.3): true if `identity` is already in a
    /// Route-Record (the agent answers 3005 DIAMETER_LOOP_DETECTED).
    pub fn has_looped_through(&self, identity: &str) -> bool {
        self.route_records()
            .any(|r| r.eq_ignore_ascii_case(identity.as_bytes()))
    }
}
