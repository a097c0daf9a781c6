//! The base-protocol messages the peer state machine sends (RFC 6733 §5.3-5.5).

use super::PeerConfig;
use crate::builder::{AvpBuf, MessageBuilder};
use crate::codes::{app, avp, cmd};
use crate::error::ResultCode;
use crate::header::Header;

fn identity(b: MessageBuilder, cfg: &PeerConfig) -> MessageBuilder {
    b.avp(AvpBuf::identity(avp::ORIGIN_HOST, &cfg.origin_host).mandatory())
        .avp(AvpBuf::identity(avp::ORIGIN_REALM, &cfg.origin_realm).mandatory())
}

fn capabilities(mut b: MessageBuilder, cfg: &PeerConfig) -> MessageBuilder {
    for a in &cfg.host_ip_addresses {
        b.push(AvpBuf::address(avp::HOST_IP_ADDRESS, a).mandatory());
    }
    b.push(AvpBuf::u32(avp::VENDOR_ID, cfg.vendor_id).mandatory());
    b.push(AvpBuf::utf8(avp::PRODUCT_NAME, &cfg.product_name));
    b.push(AvpBuf::u32(avp::ORIGIN_STATE_ID, cfg.origin_state_id).mandatory());
    for v in &cfg.supported_vendor_ids {
        b.push(AvpBuf::u32(avp::SUPPORTED_VENDOR_ID, *v).mandatory());
    }
    for &id in &cfg.auth_application_ids {
        // 3GPP applications are advertised inside Vendor-Specific-Application-Id.
        if id >= 16_777_216 && id != app::RELAY {
            b.push(
                AvpBuf::grouped(
                    avp::VENDOR_SPECIFIC_APPLICATION_ID,
                    vec![
                        AvpBuf::u32(avp::VENDOR_ID, crate::codes::VENDOR_3GPP).mandatory(),
                        AvpBuf::u32(avp::AUTH_APPLICATION_ID, id).mandatory(),
                    ],
                )
                .mandatory(),
            );
        } else {
            b.push(AvpBuf::u32(avp::AUTH_APPLICATION_ID, id).mandatory());
        }
    }
    b
}

/// CER (RFC 6733 §5.3.1).
pub(super) fn cer(cfg: &PeerConfig, hbh: u32, e2e: u32) -> MessageBuilder {
    let b = MessageBuilder::request(cmd::CAPABILITIES_EXCHANGE, app::BASE).ids(hbh, e2e);
    capabilities(identity(b, cfg), cfg)
}

/// CEA (RFC 6733 §5.3.2) with `result`.
pub(super) fn cea(cfg: &PeerConfig, req: &Header, result: ResultCode) -> MessageBuilder {
    let b = MessageBuilder::answer_to(req).avp(AvpBuf::u32(avp::RESULT_CODE, result.0).mandatory());
    capabilities(identity(b, cfg), cfg)
}

/// DWR (RFC 6733 §5.5.1).
pub(super) fn dwr(cfg: &PeerConfig, hbh: u32, e2e: u32) -> MessageBuilder {
    identity(
        MessageBuilder::request(cmd::DEVICE_WATCHDOG, app::BASE).ids(hbh, e2e),
        cfg,
    )
    .avp(AvpBuf::u32(avp::ORIGIN_STATE_ID, cfg.origin_state_id).mandatory())
}

/// DPR (RFC 6733 §5.4.1).
pub(super) fn dpr(cfg: &PeerConfig, hbh: u32, e2e: u32, cause: i32) -> MessageBuilder {
    identity(
        MessageBuilder::request(cmd::DISCONNECT_PEER, app::BASE).ids(hbh, e2e),
        cfg,
    )
    .avp(AvpBuf::enumerated(avp::DISCONNECT_CAUSE, cause).mandatory())
}

/// DWA / DPA (RFC 6733 §5.5.2, §5.4.2).
pub(super) fn base_answer(cfg: &PeerConfig, req: &Header) -> MessageBuilder {
    let b = MessageBuilder::answer_to(req)
        .avp(AvpBuf::u32(avp::RESULT_CODE, ResultCode::DIAMETER_SUCCESS.0).mandatory());
    identity(b, cfg)
}
