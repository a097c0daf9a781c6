//! Base AVP codes the shell needs beyond `corelab_diameter::codes`, and
//! appending AVPs to encoded messages.

use corelab_diameter::AvpBuf;

/// User-Name, UTF8String (RFC 6733 §8.14).
pub const USER_NAME: u32 = 1;
/// Redirect-Host-Usage, Enumerated (RFC 6733 §6.13).
pub const REDIRECT_HOST_USAGE: u32 = 261;
/// Redirect-Max-Cache-Time, Unsigned32 (RFC 6733 §6.14).
pub const REDIRECT_MAX_CACHE_TIME: u32 = 262;
/// Redirect-Host, DiameterURI (RFC 6733 §6.12).
pub const REDIRECT_HOST: u32 = 292;
/// Error-Reporting-Host, DiameterIdentity (RFC 6733 §7.3).
pub const ERROR_REPORTING_HOST: u32 = 294;

/// Appends `avps` to an encoded message and fixes its Message Length.
pub(crate) fn append(mut msg: Vec<u8>, avps: &[AvpBuf]) -> Vec<u8> {
    for a in avps {
        if a.encode(&mut msg).is_err() {
            return msg;
        }
    }
    let len = msg.len();
    if (4..=0x00ff_ffff).contains(&len) {
        let l = (len as u32).to_be_bytes();
        msg[1..4].copy_from_slice(&l[1..4]);
    }
    msg
}
