//! The vPCRF's termination fan-out (seed 003, specs/dra-roaming.md table; pure, no IO).
//!
//! When a client session (Gxx or Gx CCR-T, Rx STR; Session-Id 1 or 3) that the vPCRF carries
//! as a subsession of an S9 session (Session-Id 2) ends, the vPCRF tells home before it answers
//! the client:
//! - rows 1-9: the S9 session lives on; its subsession is deleted at the hDRA and the hPCRF
//!   with an S9 CCR-U carrying Subsession-Enforcement-Info (Subsession-Operation TERMINATION,
//!   TS 29.215 §5.3.5) and the client's Session-Id in Corelab-Client-Session-Id;
//! - **embodiment 10's rule**: that modification for every session but the last; with the last
//!   client session of the S9 session, the S9 session itself ends (S9 CCR-T, TS 29.215 §4.5.1.4)
//!   naming the client Session-Id, so the hDRA deletes S2 and S1/S3 and the hPCRF the session.
//!
//! And when an IP-CAN session (Gx) ends, every AF (Rx) session bound to it is told of the loss of
//! its bearer (embodiments 6 and 9; TS 29.214 §4.4.4 RAR with Specific-Action
//! INDICATION_OF_LOSS_OF_BEARER), after which the AF sends its STR.

/// What the vPCRF sends home when one client session of an S9 session ends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum S9Action {
    /// The client session is not carried on S9 (not roaming): nothing to send home.
    None,
    /// S9 CCR-U: Subsession-Enforcement-Info { Subsession-Id, TERMINATION }.
    TerminateSubsession {
        s9_session_id: String,
        subsession_id: u32,
    },
    /// S9 CCR-T: the last client session of the S9 session ended.
    TerminateS9 {
        s9_session_id: String,
        subsession_id: u32,
    },
}

/// The S9 side of a client session as the vPCRF recorded it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct S9Link {
    /// Session-Id 2 ('' when the client session is not carried on S9).
    pub s9_session_id: String,
    pub subsession_id: u32,
}

/// The action for the termination of a client session linked by `link`, when `others` client
/// sessions (not counting this one) are still carried by the same S9 session.
pub fn on_client_termination(link: &S9Link, others: usize) -> S9Action {
    if link.s9_session_id.is_empty() {
        return S9Action::None;
    }
    let (s9_session_id, subsession_id) = (link.s9_session_id.clone(), link.subsession_id);
    if others == 0 {
        S9Action::TerminateS9 {
            s9_session_id,
            subsession_id,
        }
    } else {
        S9Action::TerminateSubsession {
            s9_session_id,
            subsession_id,
        }
    }
}

/// The AF sessions told of the loss of their bearer when the IP-CAN session `gx_session_id`
/// ends: every Rx session bound to it, given as (Rx Session-Id, its Gx Session-Id).
pub fn loss_of_bearer<'a>(
    gx_session_id: &str,
    rx_sessions: &'a [(String, String)],
) -> Vec<&'a str> {
    rx_sessions
        .iter()
        .filter(|(_, gx)| gx == gx_session_id)
        .map(|(rx, _)| rx.as_str())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(s2: &str, sub: u32) -> S9Link {
        S9Link {
            s9_session_id: s2.into(),
            subsession_id: sub,
        }
    }

    #[test]
    fn embodiment_10_modification_for_all_but_the_last_then_termination() {
        // Two client sessions (BBERF's Gxx S1, PCEF's Gx S3) on one S9 session S2.
        assert_eq!(
            on_client_termination(&link("s2", 1), 1),
            S9Action::TerminateSubsession {
                s9_session_id: "s2".into(),
                subsession_id: 1
            }
        );
        assert_eq!(
            on_client_termination(&link("s2", 2), 0),
            S9Action::TerminateS9 {
                s9_session_id: "s2".into(),
                subsession_id: 2
            }
        );
    }

    #[test]
    fn a_session_not_on_s9_sends_nothing_home() {
        assert_eq!(on_client_termination(&link("", 0), 0), S9Action::None);
    }

    #[test]
    fn loss_of_bearer_reaches_every_af_session_of_the_ip_can_session_only() {
        let rx = vec![
            ("af;1".to_string(), "pcef;1".to_string()),
            ("af;2".to_string(), "pcef;2".to_string()),
            ("af;3".to_string(), "pcef;1".to_string()),
        ];
        assert_eq!(loss_of_bearer("pcef;1", &rx), vec!["af;1", "af;3"]);
        assert!(loss_of_bearer("pcef;9", &rx).is_empty());
    }
}
