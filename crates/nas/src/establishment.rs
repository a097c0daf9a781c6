//! PDU SESSION ESTABLISHMENT REQUEST, ACCEPT and REJECT (TS 24.501 §8.3.1 to §8.3.3) in the
//! standard's words, and their encoding through `oxirush-nas`. Decoding is in `decode.rs`.

use oxirush_nas::nas_5gs::{
    self as codec, Nas5gsMessage, NasFGsmCause, NasIntegrityProtectionMaximumDataRate,
    NasPduSessionEstablishmentAccept, NasPduSessionEstablishmentReject,
    NasPduSessionEstablishmentRequest, NasPduSessionType, NasQosRules, NasSessionAmbr, NasSscMode,
};

use crate::message::{EncodeError, qos_flow_descriptions, refused};
use crate::types::{FiveGsmCause, PduSessionId, Pti, QosFlowChange};

/// PDU session type (TS 24.501 §9.11.4.11): IPv4, IPv6, IPv4v6, Unstructured, Ethernet.
pub use oxirush_nas::nas_5gs::PduSessionTypeValue as PduSessionType;
/// SSC mode (TS 24.501 §9.11.4.16): SSC mode 1, 2 or 3.
pub use oxirush_nas::nas_5gs::SscModeValue as SscMode;

/// Authorized QoS rules (TS 24.501 §9.11.4.13), the IE's contents as they are on the wire: the
/// lab does not read the rules (docs/nas.md), it only checks that their length fits the IE,
/// 4 (one rule without packet filters) to 65535 octets.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct QosRules(Vec<u8>);

impl QosRules {
    /// The smallest QoS rule: identifier, length (2 octets), rule header.
    pub const MIN_LEN: usize = 4;

    /// The QoS rules `octets` (the IE's contents), 4 to 65535 octets.
    pub fn new(octets: Vec<u8>) -> Result<Self, QosRulesLength> {
        if (Self::MIN_LEN..=usize::from(u16::MAX)).contains(&octets.len()) {
            Ok(Self(octets))
        } else {
            Err(QosRulesLength(octets.len()))
        }
    }

    /// The IE's contents.
    pub fn octets(&self) -> &[u8] {
        &self.0
    }
}

/// QoS rules of a length the IE cannot hold (TS 24.501 §9.11.4.13: 4 to 65535 octets).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("QoS rules of {0} octets: not 4 to 65535 (TS 24.501 §9.11.4.13)")]
pub struct QosRulesLength(pub usize);

/// Session-AMBR (TS 24.501 §9.11.4.14): per direction, a unit octet (e.g. 6 = 1 Mbps) and a
/// 16-bit value in that unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SessionAmbr {
    /// Unit for the session-AMBR for downlink.
    pub downlink_unit: u8,
    /// Session-AMBR for downlink, in `downlink_unit`.
    pub downlink: u16,
    /// Unit for the session-AMBR for uplink.
    pub uplink_unit: u8,
    /// Session-AMBR for uplink, in `uplink_unit`.
    pub uplink: u16,
}

impl SessionAmbr {
    pub(crate) fn to_codec(self) -> NasSessionAmbr {
        let [dl_high, dl_low] = self.downlink.to_be_bytes();
        let [ul_high, ul_low] = self.uplink.to_be_bytes();
        NasSessionAmbr::new(vec![
            self.downlink_unit,
            dl_high,
            dl_low,
            self.uplink_unit,
            ul_high,
            ul_low,
        ])
    }

    /// The IE's six octets; `None` when they are not six (the codec checks the length).
    pub(crate) fn from_codec(ie: &NasSessionAmbr) -> Option<Self> {
        let &[downlink_unit, dl_high, dl_low, uplink_unit, ul_high, ul_low] = ie.value.as_slice()
        else {
            return None;
        };
        Some(Self {
            downlink_unit,
            downlink: u16::from_be_bytes([dl_high, dl_low]),
            uplink_unit,
            uplink: u16::from_be_bytes([ul_high, ul_low]),
        })
    }
}

/// PDU SESSION ESTABLISHMENT REQUEST (TS 24.501 §8.3.1), UE to network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PduSessionEstablishmentRequest {
    /// The PDU session the UE establishes.
    pub pdu_session_id: PduSessionId,
    /// The UE's procedure transaction.
    pub pti: Pti,
    /// Integrity protection maximum data rate (TS 24.501 §9.11.4.7), the uplink then the
    /// downlink octet: 0x00 64 kbps, 0x01 NULL, 0xff full data rate.
    pub integrity_protection_maximum_data_rate: [u8; 2],
    /// PDU session type (IEI 0x9-).
    pub pdu_session_type: Option<PduSessionType>,
    /// SSC mode (IEI 0xA-).
    pub ssc_mode: Option<SscMode>,
}

/// PDU SESSION ESTABLISHMENT ACCEPT (TS 24.501 §8.3.2), network to UE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PduSessionEstablishmentAccept {
    /// The PDU session.
    pub pdu_session_id: PduSessionId,
    /// The PTI of the request it answers.
    pub pti: Pti,
    /// Selected PDU session type.
    pub selected_pdu_session_type: PduSessionType,
    /// Selected SSC mode.
    pub selected_ssc_mode: SscMode,
    /// Authorized QoS rules.
    pub authorized_qos_rules: QosRules,
    /// Session-AMBR.
    pub session_ambr: SessionAmbr,
    /// Authorized QoS flow descriptions (IEI 0x79).
    pub qos_flow_changes: Vec<QosFlowChange>,
}

/// PDU SESSION ESTABLISHMENT REJECT (TS 24.501 §8.3.3), network to UE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PduSessionEstablishmentReject {
    /// The PDU session identity of the request, as it had it (a reject of a request without
    /// one carries it back: #43, TS 24.501 §7.3.2).
    pub pdu_session_identity: u8,
    /// The PTI of the request it answers.
    pub pti: Pti,
    /// Why (TS 24.501 §9.11.4.2).
    pub cause: FiveGsmCause,
}

impl PduSessionEstablishmentRequest {
    pub(crate) fn to_codec(&self) -> Nas5gsMessage {
        let [ul, dl] = self.integrity_protection_maximum_data_rate;
        let rate = NasIntegrityProtectionMaximumDataRate::new(u16::from_be_bytes([ul, dl]));
        let mut request = NasPduSessionEstablishmentRequest::new(rate);
        if let Some(kind) = self.pdu_session_type {
            request.set_pdu_session_type(NasPduSessionType::from_session_type(kind));
        }
        if let Some(mode) = self.ssc_mode {
            request.set_ssc_mode(NasSscMode::from_mode(mode));
        }
        Nas5gsMessage::new_5gsm(request, self.pdu_session_id.get(), self.pti.0)
    }
}

impl PduSessionEstablishmentAccept {
    pub(crate) fn to_codec(&self) -> Result<Nas5gsMessage, EncodeError> {
        const NAME: &str = "PDU SESSION ESTABLISHMENT ACCEPT";
        let mut accept = NasPduSessionEstablishmentAccept::new(
            NasPduSessionType::from_session_type(self.selected_pdu_session_type),
            NasSscMode::from_mode(self.selected_ssc_mode),
            NasQosRules::new(self.authorized_qos_rules.octets().to_vec()),
            self.session_ambr.to_codec(),
        );
        if !self.qos_flow_changes.is_empty() {
            let ie = qos_flow_descriptions(&self.qos_flow_changes).map_err(refused(NAME))?;
            accept.set_authorized_qos_flow_descriptions(ie);
        }
        Ok(Nas5gsMessage::new_5gsm(
            accept,
            self.pdu_session_id.get(),
            self.pti.0,
        ))
    }
}

impl PduSessionEstablishmentReject {
    pub(crate) fn to_codec(self) -> Nas5gsMessage {
        Nas5gsMessage::new_5gsm(
            NasPduSessionEstablishmentReject::new(NasFGsmCause::new(self.cause.0)),
            self.pdu_session_identity,
            self.pti.0,
        )
    }
}

/// The codec's establishment reject of `cause`, for the answers of clause 7.
pub(crate) fn establishment_reject(cause: NasFGsmCause) -> codec::Nas5gsmMessage {
    NasPduSessionEstablishmentReject::new(cause).into()
}
