//! The lab's extension IE of REGISTRATION REQUEST: for each PDU session, its identity and the
//! QFIs of the QoS flows the UE still has (specs/mbs-mobility.md, UE step 4). No TS 24.501
//! release has it: it is a TLV-E IE under an IEI that REGISTRATION REQUEST leaves unassigned,
//! placed last, so a standard network skips it (§7.6.1, an unknown IE that is not
//! "comprehension required" is ignored). Both sides configure its use.
//!
//! ```text
//! octet 1        IEI = 0x7C
//! octets 2-3     length of the contents (TLV-E, TS 24.007 §11.2.1.1.4)
//! per PDU session:
//!   octet        spare (bits 8-5) | PDU session identity (bits 4-1)
//!   octet        number of QFIs n
//!   n octets     spare (bits 8-7) | QFI (bits 6-1)
//! ```

use crate::types::{PduSessionId, Qfi};

/// The IEI of the per-session QFI lists IE in REGISTRATION REQUEST. Of the type 6 IEIs
/// 0x70-0x7D (0x7E/0x7F mean "comprehension required", TS 24.007 §11.2.5), Rel-17/Rel-19 use
/// 0x70, 0x71, 0x72, 0x74, 0x77 and 0x7B in this message; 0x7C is free in both.
pub const QFI_LISTS_IEI: u8 = 0x7C;

/// Contents of the per-session QFI lists IE that break its layout.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QfiListsError {
    /// The contents end inside an entry.
    #[error("per-session QFI lists: the contents end inside the entry at octet {0}")]
    Truncated(usize),
    /// A PDU session identity or QFI out of its range.
    #[error("per-session QFI lists: {0}")]
    Value(#[from] crate::types::TypeError),
    /// A PDU session listed twice.
    #[error("per-session QFI lists: PDU session {0} is listed twice")]
    RepeatedSession(u8),
    /// More than the length field or the count octet can say.
    #[error("per-session QFI lists: too long to encode ({0} octets)")]
    TooLong(usize),
}

/// For each PDU session, the QFIs of its remaining QoS flows, in the order given.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct PduSessionQfiLists(pub Vec<(PduSessionId, Vec<Qfi>)>);

impl PduSessionQfiLists {
    /// The QFIs listed for PDU session `id`, if it is listed.
    pub fn qfis(&self, id: PduSessionId) -> Option<&[Qfi]> {
        self.0
            .iter()
            .find(|(session, _)| *session == id)
            .map(|(_, qfis)| qfis.as_slice())
    }

    /// The contents of the IE (after IEI and length).
    pub fn encode_contents(&self) -> Result<Vec<u8>, QfiListsError> {
        let mut out = Vec::new();
        for (session, qfis) in &self.0 {
            let count = u8::try_from(qfis.len()).map_err(|_| QfiListsError::TooLong(qfis.len()))?;
            out.push(session.get());
            out.push(count);
            out.extend(qfis.iter().map(|qfi| qfi.get()));
        }
        if out.len() > usize::from(u16::MAX) {
            return Err(QfiListsError::TooLong(out.len()));
        }
        Ok(out)
    }

    /// The whole IE: IEI, two length octets, contents.
    pub fn encode_ie(&self) -> Result<Vec<u8>, QfiListsError> {
        let contents = self.encode_contents()?;
        let mut out = Vec::with_capacity(3 + contents.len());
        out.push(QFI_LISTS_IEI);
        out.extend_from_slice(&(contents.len() as u16).to_be_bytes());
        out.extend_from_slice(&contents);
        Ok(out)
    }

    /// Read the contents of the IE. Spare bits are ignored as a receiver does (TS 24.007
    /// §11.4.3); a session listed twice or a QFI/identity out of range is an error.
    pub fn decode_contents(contents: &[u8]) -> Result<Self, QfiListsError> {
        let mut sessions: Vec<(PduSessionId, Vec<Qfi>)> = Vec::new();
        let mut at = 0;
        while at < contents.len() {
            let (Some(&psi), Some(&count)) = (contents.get(at), contents.get(at + 1)) else {
                return Err(QfiListsError::Truncated(at));
            };
            let list = contents
                .get(at + 2..at + 2 + usize::from(count))
                .ok_or(QfiListsError::Truncated(at))?;
            let session = PduSessionId::new(psi & 0x0f)?;
            if sessions.iter().any(|(seen, _)| *seen == session) {
                return Err(QfiListsError::RepeatedSession(session.get()));
            }
            let qfis = list
                .iter()
                .map(|qfi| Qfi::new(qfi & 0x3f))
                .collect::<Result<Vec<_>, _>>()?;
            sessions.push((session, qfis));
            at += 2 + usize::from(count);
        }
        Ok(Self(sessions))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lists(entries: &[(u8, &[u8])]) -> PduSessionQfiLists {
        PduSessionQfiLists(
            entries
                .iter()
                .map(|(psi, qfis)| {
                    let qfis = qfis.iter().map(|q| Qfi::new(*q).unwrap()).collect();
                    (PduSessionId::new(*psi).unwrap(), qfis)
                })
                .collect(),
        )
    }

    #[test]
    fn two_sessions_encode_as_tlv_e_with_iei_0x7c() {
        let ie = lists(&[(5, &[1, 2]), (6, &[9])]).encode_ie().unwrap();
        assert_eq!(
            ie,
            [0x7c, 0x00, 0x07, 0x05, 0x02, 0x01, 0x02, 0x06, 0x01, 0x09]
        );
        assert_eq!(
            PduSessionQfiLists::decode_contents(&ie[3..]).unwrap(),
            lists(&[(5, &[1, 2]), (6, &[9])])
        );
    }

    #[test]
    fn truncated_entry_repeated_session_and_qfi_zero_are_refused() {
        assert_eq!(
            PduSessionQfiLists::decode_contents(&[5, 3, 1, 2]),
            Err(QfiListsError::Truncated(0))
        );
        assert_eq!(
            PduSessionQfiLists::decode_contents(&[5, 1, 1, 5, 0]),
            Err(QfiListsError::RepeatedSession(5))
        );
        assert!(matches!(
            PduSessionQfiLists::decode_contents(&[5, 1, 0]),
            Err(QfiListsError::Value(_))
        ));
        assert!(matches!(
            PduSessionQfiLists::decode_contents(&[0, 0]),
            Err(QfiListsError::Value(_))
        ));
    }
}
