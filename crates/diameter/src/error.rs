//! Result codes (RFC 6733 §7.1) and the protocol error value every decoder
//! and validator returns as data.

use std::fmt;

/// A Diameter Result-Code (RFC 6733 §7.1, AVP 268) or Experimental-Result-Code value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResultCode(pub u32);

impl ResultCode {
    /// 2001, RFC 6733 §7.1.2.
    pub const DIAMETER_SUCCESS: Self = Self(2001);
    /// 2002, RFC 6733 §7.1.2.
    pub const DIAMETER_LIMITED_SUCCESS: Self = Self(2002);
    /// 3001, RFC 6733 §7.1.3.
    pub const DIAMETER_COMMAND_UNSUPPORTED: Self = Self(3001);
    /// 3002, RFC 6733 §7.1.3.
    pub const DIAMETER_UNABLE_TO_DELIVER: Self = Self(3002);
    /// 3003, RFC 6733 §7.1.3.
    pub const DIAMETER_REALM_NOT_SERVED: Self = Self(3003);
    /// 3004, RFC 6733 §7.1.3.
    pub const DIAMETER_TOO_BUSY: Self = Self(3004);
    /// 3005, RFC 6733 §7.1.3.
    pub const DIAMETER_LOOP_DETECTED: Self = Self(3005);
    /// 3006, RFC 6733 §7.1.3.
    pub const DIAMETER_REDIRECT_INDICATION: Self = Self(3006);
    /// 3007, RFC 6733 §7.1.3.
    pub const DIAMETER_APPLICATION_UNSUPPORTED: Self = Self(3007);
    /// 3008, RFC 6733 §7.1.3: header bits invalid or inconsistent with the command.
    pub const DIAMETER_INVALID_HDR_BITS: Self = Self(3008);
    /// 3009, RFC 6733 §7.1.3: AVP flag bits unrecognized or inconsistent with the AVP.
    pub const DIAMETER_INVALID_AVP_BITS: Self = Self(3009);
    /// 3010, RFC 6733 §7.1.3: CER from a peer not known.
    pub const DIAMETER_UNKNOWN_PEER: Self = Self(3010);
    /// 4001, RFC 6733 §7.1.4.
    pub const DIAMETER_AUTHENTICATION_REJECTED: Self = Self(4001);
    /// 4002, RFC 6733 §7.1.4.
    pub const DIAMETER_OUT_OF_SPACE: Self = Self(4002);
    /// 4003, RFC 6733 §7.1.4: election lost (§5.6.4).
    pub const ELECTION_LOST: Self = Self(4003);
    /// 5001, RFC 6733 §7.1.5: AVP with M bit not supported.
    pub const DIAMETER_AVP_UNSUPPORTED: Self = Self(5001);
    /// 5002, RFC 6733 §7.1.5.
    pub const DIAMETER_UNKNOWN_SESSION_ID: Self = Self(5002);
    /// 5003, RFC 6733 §7.1.5.
    pub const DIAMETER_AUTHORIZATION_REJECTED: Self = Self(5003);
    /// 5004, RFC 6733 §7.1.5: invalid value in an AVP's data.
    pub const DIAMETER_INVALID_AVP_VALUE: Self = Self(5004);
    /// 5005, RFC 6733 §7.1.5: a required AVP is missing.
    pub const DIAMETER_MISSING_AVP: Self = Self(5005);
    /// 5006, RFC 6733 §7.1.5.
    pub const DIAMETER_RESOURCES_EXCEEDED: Self = Self(5006);
    /// 5007, RFC 6733 §7.1.5.
    pub const DIAMETER_CONTRADICTING_AVPS: Self = Self(5007);
    /// 5008, RFC 6733 §7.1.5.
    pub const DIAMETER_AVP_NOT_ALLOWED: Self = Self(5008);
    /// 5009, RFC 6733 §7.1.5.
    pub const DIAMETER_AVP_OCCURS_TOO_MANY_TIMES: Self = Self(5009);
    /// 5010, RFC 6733 §7.1.5: no common application in CER/CEA.
    pub const DIAMETER_NO_COMMON_APPLICATION: Self = Self(5010);
    /// 5011, RFC 6733 §7.1.5: version not 1.
    pub const DIAMETER_UNSUPPORTED_VERSION: Self = Self(5011);
    /// 5012, RFC 6733 §7.1.5.
    pub const DIAMETER_UNABLE_TO_COMPLY: Self = Self(5012);
    /// 5013, RFC 6733 §7.1.5: a reserved header bit is set.
    pub const DIAMETER_INVALID_BIT_IN_HEADER: Self = Self(5013);
    /// 5014, RFC 6733 §7.1.5: an AVP with an invalid length.
    pub const DIAMETER_INVALID_AVP_LENGTH: Self = Self(5014);
    /// 5015, RFC 6733 §7.1.5: invalid Message Length.
    pub const DIAMETER_INVALID_MESSAGE_LENGTH: Self = Self(5015);
    /// 5016, RFC 6733 §7.1.5.
    pub const DIAMETER_INVALID_AVP_BIT_COMBO: Self = Self(5016);
    /// 5017, RFC 6733 §7.1.5.
    pub const DIAMETER_NO_COMMON_SECURITY: Self = Self(5017);

    /// Protocol errors (3xxx) are answered with the E bit set (RFC 6733 §7.1.3, §7.2).
    pub fn is_protocol_error(self) -> bool {
        (3000..4000).contains(&self.0)
    }

    /// 2xxx: success (RFC 6733 §7.1.2).
    pub fn is_success(self) -> bool {
        (2000..3000).contains(&self.0)
    }

    /// The RFC 6733 name of a base result code, if it is one.
    pub fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            1001 => "DIAMETER_MULTI_ROUND_AUTH",
            2001 => "DIAMETER_SUCCESS",
            2002 => "DIAMETER_LIMITED_SUCCESS",
            3001 => "DIAMETER_COMMAND_UNSUPPORTED",
            3002 => "DIAMETER_UNABLE_TO_DELIVER",
            3003 => "DIAMETER_REALM_NOT_SERVED",
            3004 => "DIAMETER_TOO_BUSY",
            3005 => "DIAMETER_LOOP_DETECTED",
            3006 => "DIAMETER_REDIRECT_INDICATION",
            3007 => "DIAMETER_APPLICATION_UNSUPPORTED",
            3008 => "DIAMETER_INVALID_HDR_BITS",
            3009 => "DIAMETER_INVALID_AVP_BITS",
            3010 => "DIAMETER_UNKNOWN_PEER",
            4001 => "DIAMETER_AUTHENTICATION_REJECTED",
            4002 => "DIAMETER_OUT_OF_SPACE",
            4003 => "ELECTION_LOST",
            5001 => "DIAMETER_AVP_UNSUPPORTED",
            5002 => "DIAMETER_UNKNOWN_SESSION_ID",
            5003 => "DIAMETER_AUTHORIZATION_REJECTED",
            5004 => "DIAMETER_INVALID_AVP_VALUE",
            5005 => "DIAMETER_MISSING_AVP",
            5006 => "DIAMETER_RESOURCES_EXCEEDED",
            5007 => "DIAMETER_CONTRADICTING_AVPS",
            5008 => "DIAMETER_AVP_NOT_ALLOWED",
            5009 => "DIAMETER_AVP_OCCURS_TOO_MANY_TIMES",
            5010 => "DIAMETER_NO_COMMON_APPLICATION",
            5011 => "DIAMETER_UNSUPPORTED_VERSION",
            5012 => "DIAMETER_UNABLE_TO_COMPLY",
            5013 => "DIAMETER_INVALID_BIT_IN_HEADER",
            5014 => "DIAMETER_INVALID_AVP_LENGTH",
            5015 => "DIAMETER_INVALID_MESSAGE_LENGTH",
            5016 => "DIAMETER_INVALID_AVP_BIT_COMBO",
            5017 => "DIAMETER_NO_COMMON_SECURITY",
            _ => return None,
        })
    }
}

impl fmt::Display for ResultCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => write!(f, "{} {}", self.0, n),
            None => write!(f, "{}", self.0),
        }
    }
}

/// A protocol error found in received bytes, carried as data up to the code
/// that builds the answer (RFC 6733 §7).
///
/// `failed_avp` holds the encoded offending AVP (header + data) exactly as it
/// should be placed inside Failed-AVP (279) per RFC 6733 §7.5 / §7.1.5.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("diameter: {code}: {reason}")]
pub struct DiameterError {
    /// The Result-Code to answer with.
    pub code: ResultCode,
    /// Encoded AVP(s) for Failed-AVP, when the error concerns an AVP.
    pub failed_avp: Option<Vec<u8>>,
    /// What was wrong, for logs and Error-Message (281).
    pub reason: String,
}

impl DiameterError {
    /// An error without an offending AVP.
    pub fn new(code: ResultCode, reason: impl Into<String>) -> Self {
        Self {
            code,
            failed_avp: None,
            reason: reason.into(),
        }
    }

    /// An error naming the offending AVP's bytes.
    pub fn with_avp(code: ResultCode, avp: &[u8], reason: impl Into<String>) -> Self {
        Self {
            code,
            failed_avp: Some(avp.to_vec()),
            reason: reason.into(),
        }
    }
}

/// Something the encoder cannot put on the wire (sizes beyond the 24-bit fields).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// AVP Length is 24 bits (RFC 6733 §4.1).
    #[error("diameter encode: AVP {code} is {len} bytes, more than the 24-bit AVP Length allows")]
    AvpTooLong {
        /// AVP code.
        code: u32,
        /// Length that did not fit.
        len: usize,
    },
    /// Message Length is 24 bits (RFC 6733 §3).
    #[error("diameter encode: message is {0} bytes, more than the 24-bit Message Length allows")]
    MessageTooLong(usize),
    /// Command Code is 24 bits (RFC 6733 §3).
    #[error("diameter encode: command code {0} does not fit in 24 bits")]
    CommandCodeTooLarge(u32),
}
