//! The values of TS 24.501 and TS 23.003 that the lab's procedures speak in.

use oxirush_nas::nas_5gs::{MbsTmgi, Plmn};

/// A value outside the range its type has in the standard.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TypeError {
    /// PDU session identity 1 to 15 (TS 24.007 §11.2.3.1b, TS 24.501 §9.4).
    #[error("PDU session identity {0} is not 1 to 15 (TS 24.007 §11.2.3.1b)")]
    PduSessionId(u8),
    /// QFI 1 to 63 (TS 24.501 §9.11.4.12, 0 is "no QoS flow identity assigned").
    #[error("QFI {0} is not 1 to 63 (TS 24.501 §9.11.4.12)")]
    Qfi(u8),
    /// MBS service ID is 24 bits (TS 23.003 §15.2).
    #[error("MBS service ID {0:#x} does not fit in 24 bits (TS 23.003 §15.2)")]
    MbsServiceId(u32),
}

/// PDU session identity, 1 to 15 (TS 24.007 §11.2.3.1b; value 0 is "no PDU session identity
/// assigned" and is not a session).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PduSessionId(u8);

impl PduSessionId {
    /// The identity `value`, 1 to 15.
    pub fn new(value: u8) -> Result<Self, TypeError> {
        match value {
            1..=15 => Ok(Self(value)),
            _ => Err(TypeError::PduSessionId(value)),
        }
    }

    /// Its value, 1 to 15.
    pub fn get(self) -> u8 {
        self.0
    }
}

/// Procedure transaction identity (TS 24.007 §11.2.3.1a): 0 is "no PTI assigned", 1-127 are
/// the UE's, 128-254 the network's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Pti(pub u8);

/// QoS flow identifier, 1 to 63 (TS 24.501 §9.11.4.12; TS 23.501 §5.7.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Qfi(u8);

impl Qfi {
    /// The QFI `value`, 1 to 63.
    pub fn new(value: u8) -> Result<Self, TypeError> {
        match value {
            1..=63 => Ok(Self(value)),
            _ => Err(TypeError::Qfi(value)),
        }
    }

    /// Its value, 1 to 63.
    pub fn get(self) -> u8 {
        self.0
    }
}

/// Temporary Mobile Group Identity (TS 23.003 §15.2): the MBS service ID (24 bits) and, when
/// the TMGI is not of the serving PLMN, the MCC and MNC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Tmgi {
    service_id: u32,
    /// The PLMN of the TMGI; `None` is the serving PLMN's.
    pub plmn: Option<Plmn>,
}

impl Tmgi {
    /// The TMGI of MBS service ID `service_id` (24 bits) in `plmn`.
    pub fn new(service_id: u32, plmn: Option<Plmn>) -> Result<Self, TypeError> {
        if service_id > 0x00ff_ffff {
            return Err(TypeError::MbsServiceId(service_id));
        }
        Ok(Self { service_id, plmn })
    }

    /// The MBS service ID, 24 bits.
    pub fn service_id(&self) -> u32 {
        self.service_id
    }

    pub(crate) fn to_codec(self) -> MbsTmgi {
        let [_, a, b, c] = self.service_id.to_be_bytes();
        MbsTmgi {
            service_id: [a, b, c],
            plmn: self.plmn,
        }
    }

    pub(crate) fn from_codec(tmgi: &MbsTmgi) -> Self {
        let [a, b, c] = tmgi.service_id;
        Self {
            service_id: u32::from_be_bytes([0, a, b, c]),
            plmn: tmgi.plmn,
        }
    }
}

/// The operation of a Requested MBS container entry (TS 24.501 §9.11.4.30).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MbsOperation {
    /// Join the multicast MBS session.
    Join,
    /// Leave the multicast MBS session.
    Leave,
}

/// One entry of a Requested MBS container (TS 24.501 §9.11.4.30): the UE joins or leaves the
/// multicast MBS session of a TMGI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MbsRequest {
    /// Join or leave.
    pub operation: MbsOperation,
    /// The multicast MBS session, by its TMGI.
    pub tmgi: Tmgi,
}

/// The network's MBS decision in a Received MBS container (TS 24.501 §9.11.4.31).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MbsDecision {
    /// MBS join is accepted.
    JoinAccepted,
    /// MBS join is rejected (with a [`MbsRejectionCause`]).
    JoinRejected,
    /// Remove the UE from the multicast MBS session (network-initiated leave, with a cause).
    RemoveUe,
    /// MBS service area update.
    ServiceAreaUpdate,
    /// MBS security information update.
    SecurityInformationUpdate,
}

/// Rejection / removal cause of a Received MBS container entry (TS 24.501 §9.11.4.31).
pub use oxirush_nas::nas_5gs::MbsRejectionCause;

/// One entry of a Received MBS container (TS 24.501 §9.11.4.31): the network's decision for a
/// TMGI, with a cause when the join is rejected or the UE removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MbsDecisionRecord {
    /// The multicast MBS session, by its TMGI.
    pub tmgi: Tmgi,
    /// What the network decided.
    pub decision: MbsDecision,
    /// Why, for [`MbsDecision::JoinRejected`] and [`MbsDecision::RemoveUe`] (and only then).
    pub cause: Option<MbsRejectionCause>,
}

/// 5GMM cause (TS 24.501 §9.11.3.2, annex A): the octet as it is on the wire, with the causes
/// the lab uses by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FiveGmmCause(pub u8);

impl FiveGmmCause {
    /// #95 Semantically incorrect message.
    pub const SEMANTICALLY_INCORRECT_MESSAGE: Self = Self(95);
    /// #96 Invalid mandatory information.
    pub const INVALID_MANDATORY_INFORMATION: Self = Self(96);
    /// #97 Message type non-existent or not implemented.
    pub const MESSAGE_TYPE_NON_EXISTENT: Self = Self(97);
    /// #98 Message type not compatible with the protocol state.
    pub const MESSAGE_TYPE_NOT_COMPATIBLE: Self = Self(98);
    /// #99 Information element non-existent or not implemented.
    pub const IE_NON_EXISTENT: Self = Self(99);
    /// #100 Conditional IE error.
    pub const CONDITIONAL_IE_ERROR: Self = Self(100);
    /// #111 Protocol error, unspecified.
    pub const PROTOCOL_ERROR_UNSPECIFIED: Self = Self(111);
}

/// 5GSM cause (TS 24.501 §9.11.4.2, annex B): the octet as it is on the wire, with the causes
/// the lab uses by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FiveGsmCause(pub u8);

impl FiveGsmCause {
    /// #26 Insufficient resources.
    pub const INSUFFICIENT_RESOURCES: Self = Self(26);
    /// #36 Regular deactivation.
    pub const REGULAR_DEACTIVATION: Self = Self(36);
    /// #43 Invalid PDU session identity.
    pub const INVALID_PDU_SESSION_IDENTITY: Self = Self(43);
    /// #95 Semantically incorrect message.
    pub const SEMANTICALLY_INCORRECT_MESSAGE: Self = Self(95);
    /// #96 Invalid mandatory information.
    pub const INVALID_MANDATORY_INFORMATION: Self = Self(96);
    /// #97 Message type non-existent or not implemented.
    pub const MESSAGE_TYPE_NON_EXISTENT: Self = Self(97);
    /// #99 Information element non-existent or not implemented.
    pub const IE_NON_EXISTENT: Self = Self(99);
    /// #111 Protocol error, unspecified.
    pub const PROTOCOL_ERROR_UNSPECIFIED: Self = Self(111);
}

/// One QoS flow description of a PDU SESSION MODIFICATION REQUEST (requested, IEI 0x79) or
/// COMMAND (authorized, IEI 0x79), TS 24.501 §9.11.4.12: the lab creates MBS QoS flows with
/// their 5QI and deletes them by QFI. A "modify" description, or a create without a 5QI, is not
/// surfaced (the codec reads it; docs/nas.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QosFlowChange {
    /// Create the QoS flow `qfi` with the 5QI `five_qi` (TS 23.501 §5.7.4).
    Create {
        /// The flow.
        qfi: Qfi,
        /// Its 5QI.
        five_qi: u8,
    },
    /// Delete the QoS flow `qfi`.
    Delete {
        /// The flow.
        qfi: Qfi,
    },
}
