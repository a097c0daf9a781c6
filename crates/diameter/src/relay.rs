//! Relay/proxy forwarding on raw bytes (RFC 6733 §6.1.9, §6.2.2): every AVP,
//! known or not, is forwarded untouched.

use crate::builder::AvpBuf;
use crate::codes::avp::ROUTE_RECORD;
use crate::error::EncodeError;
use crate::header::MAX_LEN_24;
use crate::message::Message;

/// The request as an agent forwards it: a new Hop-by-Hop Identifier and a
/// Route-Record (282, M set) naming the peer it came from appended (RFC 6733
/// §6.1.9); every other byte as received.
pub fn forward_request(
    msg: &Message<'_>,
    hop_by_hop: u32,
    received_from: &str,
) -> Result<Vec<u8>, EncodeError> {
    let rr = AvpBuf::identity(ROUTE_RECORD, received_from).mandatory();
    let mut out = Vec::with_capacity(msg.raw().len() + rr.encoded_len());
    out.extend_from_slice(msg.raw());
    rr.encode(&mut out)?;
    set_length_and_hop(&mut out, hop_by_hop)?;
    Ok(out)
}

/// The answer as an agent relays it back: the Hop-by-Hop Identifier restored
/// to the one of the request it received (RFC 6733 §6.2.2).
pub fn forward_answer(msg: &Message<'_>, original_hop_by_hop: u32) -> Vec<u8> {
    let mut out = msg.raw().to_vec();
    if let Some(h) = out.get_mut(12..16) {
        h.copy_from_slice(&original_hop_by_hop.to_be_bytes());
    }
    out
}

fn set_length_and_hop(out: &mut [u8], hop_by_hop: u32) -> Result<(), EncodeError> {
    let len = out.len();
    if len > MAX_LEN_24 {
        return Err(EncodeError::MessageTooLong(len));
    }
    let l = (len as u32).to_be_bytes();
    if let Some(f) = out.get_mut(1..4) {
        f.copy_from_slice(&l[1..4]);
    }
    if let Some(h) = out.get_mut(12..16) {
        h.copy_from_slice(&hop_by_hop.to_be_bytes());
    }
    Ok(())
}
