//! Codes the library itself needs (base protocol, RFC 6733). Everything else
//! lives in the dictionary files.

/// IETF vendor (no Vendor-ID field).
pub const VENDOR_IETF: u32 = 0;
/// 3GPP's IANA enterprise number.
pub const VENDOR_3GPP: u32 = 10415;

/// Application ids (RFC 6733 §2.4, IANA; 3GPP TS 29.212/214/215).
pub mod app {
    /// Diameter common messages.
    pub const BASE: u32 = 0;
    /// Credit control, RFC 4006.
    pub const CREDIT_CONTROL: u32 = 4;
    /// Rx, TS 29.214.
    pub const RX: u32 = 16_777_236;
    /// Gx, TS 29.212.
    pub const GX: u32 = 16_777_238;
    /// Gxx (Gxa/Gxc), TS 29.212.
    pub const GXX: u32 = 16_777_266;
    /// S9, TS 29.215.
    pub const S9: u32 = 16_777_267;
    /// Relay, RFC 6733 §2.4.
    pub const RELAY: u32 = 0xffff_ffff;
}

/// Command codes (RFC 6733 §3.1, RFC 4006, RFC 7155).
pub mod cmd {
    /// CER/CEA.
    pub const CAPABILITIES_EXCHANGE: u32 = 257;
    /// RAR/RAA.
    pub const RE_AUTH: u32 = 258;
    /// AAR/AAA (RFC 7155, Rx).
    pub const AA: u32 = 265;
    /// ACR/ACA.
    pub const ACCOUNTING: u32 = 271;
    /// CCR/CCA (RFC 4006).
    pub const CREDIT_CONTROL: u32 = 272;
    /// ASR/ASA.
    pub const ABORT_SESSION: u32 = 274;
    /// STR/STA.
    pub const SESSION_TERMINATION: u32 = 275;
    /// DWR/DWA.
    pub const DEVICE_WATCHDOG: u32 = 280;
    /// DPR/DPA.
    pub const DISCONNECT_PEER: u32 = 282;
}

/// Base AVP codes (RFC 6733 §4.5).
pub mod avp {
    /// Host-IP-Address, Address.
    pub const HOST_IP_ADDRESS: u32 = 257;
    /// Auth-Application-Id, Unsigned32.
    pub const AUTH_APPLICATION_ID: u32 = 258;
    /// Acct-Application-Id, Unsigned32.
    pub const ACCT_APPLICATION_ID: u32 = 259;
    /// Vendor-Specific-Application-Id, Grouped.
    pub const VENDOR_SPECIFIC_APPLICATION_ID: u32 = 260;
    /// Session-Id, UTF8String.
    pub const SESSION_ID: u32 = 263;
    /// Origin-Host, DiameterIdentity.
    pub const ORIGIN_HOST: u32 = 264;
    /// Supported-Vendor-Id, Unsigned32.
    pub const SUPPORTED_VENDOR_ID: u32 = 265;
    /// Vendor-Id, Unsigned32.
    pub const VENDOR_ID: u32 = 266;
    /// Firmware-Revision, Unsigned32.
    pub const FIRMWARE_REVISION: u32 = 267;
    /// Result-Code, Unsigned32.
    pub const RESULT_CODE: u32 = 268;
    /// Product-Name, UTF8String.
    pub const PRODUCT_NAME: u32 = 269;
    /// Disconnect-Cause, Enumerated.
    pub const DISCONNECT_CAUSE: u32 = 273;
    /// Origin-State-Id, Unsigned32.
    pub const ORIGIN_STATE_ID: u32 = 278;
    /// Failed-AVP, Grouped.
    pub const FAILED_AVP: u32 = 279;
    /// Error-Message, UTF8String.
    pub const ERROR_MESSAGE: u32 = 281;
    /// Route-Record, DiameterIdentity.
    pub const ROUTE_RECORD: u32 = 282;
    /// Destination-Realm, DiameterIdentity.
    pub const DESTINATION_REALM: u32 = 283;
    /// Proxy-Info, Grouped.
    pub const PROXY_INFO: u32 = 284;
    /// Destination-Host, DiameterIdentity.
    pub const DESTINATION_HOST: u32 = 293;
    /// Origin-Realm, DiameterIdentity.
    pub const ORIGIN_REALM: u32 = 296;
    /// Experimental-Result, Grouped.
    pub const EXPERIMENTAL_RESULT: u32 = 297;
    /// Experimental-Result-Code, Unsigned32.
    pub const EXPERIMENTAL_RESULT_CODE: u32 = 298;
    /// Inband-Security-Id, Unsigned32.
    pub const INBAND_SECURITY_ID: u32 = 299;
}
