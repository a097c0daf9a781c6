//! NAS-5GS (3GPP TS 24.501) for corelab: the messages of the MBS mobility procedure
//! (specs/mbs-mobility.md) in the standard's words, over the `oxirush-nas` codec, free of IO.
//!
//! - [`NasMessage`] is what the UE emulator and the session manager see: a REGISTRATION REQUEST
//!   with its PDU session status and the lab's per-session QFI lists ([`PduSessionQfiLists`]), a
//!   PDU SESSION MODIFICATION REQUEST / COMMAND with its MBS container ([`MbsRequest`],
//!   [`MbsDecisionRecord`]), PDU SESSION ESTABLISHMENT REQUEST / ACCEPT / REJECT, 5GMM and 5GSM STATUS, ...; [`NasMessage::encode`] writes its octets.
//! - [`decode`] reads a plain NAS PDU and applies TS 24.501 clause 7: what it refuses comes back
//!   as a [`Rejection`] carrying the cause (#96, #97, ...) and the STATUS (or reject) to answer.
//!
//! Plain NAS only: security-protected PDUs are refused (a security context is a later step,
//! docs/nas.md). Where `oxirush-nas` lacks something, the wrapper fills it and docs/nas.md
//! records the gap.

mod decode;
mod establishment;
#[doc(hidden)]
pub mod fuzzing;
mod message;
mod qfi_lists;
mod types;

pub use decode::{Rejection, decode};
pub use establishment::{
    PduSessionEstablishmentAccept, PduSessionEstablishmentReject, PduSessionEstablishmentRequest,
    PduSessionType, QosRules, QosRulesLength, SessionAmbr, SscMode,
};
pub use message::{
    DlNasTransport, EncodeError, FiveGmmStatus, FiveGsMobileIdentity, FiveGsmStatus, NasMessage,
    PduSessionModificationCommand, PduSessionModificationComplete, PduSessionModificationReject,
    PduSessionModificationRequest, PduSessionReleaseCommand, PduSessionReleaseComplete,
    PduSessionReleaseRequest, RegistrationAccept, RegistrationReject, RegistrationRequest,
    RegistrationType, UlNasTransport,
};
pub use qfi_lists::{PduSessionQfiLists, QFI_LISTS_IEI, QfiListsError};
pub use types::{
    FiveGmmCause, FiveGsmCause, MbsDecision, MbsDecisionRecord, MbsOperation, MbsRejectionCause,
    MbsRequest, PduSessionId, Pti, Qfi, QosFlowChange, Tmgi, TypeError,
};

/// The identity types of the codec under this crate, re-exported: they are already in
/// TS 23.003's words.
pub use oxirush_nas::nas_5gs::{Direction, Guti, Plmn, Suci};

/// The parts a UE builds its SUCI from (TS 23.003 §2.2B): the SUCI of an IMSI and its routing
/// indicator, e.g. `ImsiSuci::null(plmn, RoutingIndicator::default(), msin)` for the null
/// protection scheme.
pub use oxirush_nas::nas_5gs::{ImsiSuci, RoutingIndicator};
