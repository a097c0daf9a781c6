//! The seed's procedure (seed 003, `specs/dra-roaming.md`): when does this DRA delete the
//! Diameter session a request ends, and with it (the cascade) the binding whose last session it
//! was. Pure: [`plan`] maps (role, mode, `binding_cleanup`, request kind) to what the policy
//! ([`crate::policy`]) does before routing and when the answer passes back.
//!
//! | role | mode | termination (CCR-T, STR, S9 CCR-T, S9 subsession termination) | spec rows |
//! |---|---|---|---|
//! | visited | redirect | delete **on the request**, then answer 3006 naming the bound PCRF | 1, 2, 3, 10 (vDRA), 4, 5, 6 (vDRA) |
//! | home | redirect | delete on the request (by Session-Id 2 and the Session-Ids 1/3 of Corelab-Client-Session-Id), then 3006 naming the hPCRF | 1, 2, 3, 10 (hDRA), 7, 8, 9 (hDRA) |
//! | visited | proxy, proxy_variant | forward to the bound PCRF; delete **when the answer passes back** | 7, 8, 9 (vDRA) |
//! | home | proxy, proxy_variant | delete **before forwarding** to the hPCRF | 4, 5, 6 (hDRA) |
//!
//! In every row the cascade follows: when the binding has no Diameter session left it is
//! deleted (claim 12). With `binding_cleanup = false` nothing is deleted on a termination (the
//! plain TS 29.213 redirect DRA the seed improves on; only the audit removes stale bindings).

use crate::config::{Mode, Role};
use crate::request::Kind;

/// What the policy does with a request of the session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Plan {
    /// Find the binding by the UE's keys (or create it: select a PCRF, commit), record the
    /// session, then redirect or forward to its PCRF. `create`: whether a new binding may be
    /// made (not for Rx: an AF session joins an IP-CAN session's binding, TS 29.213 §7.3).
    Establish { create: bool },
    /// Route by the binding of the Session-Id (recording any client Session-Ids it names).
    Follow,
    /// Delete the ended sessions and cascade, committed, then redirect or forward.
    DeleteBeforeRouting,
    /// Forward; delete the ended sessions when the PCRF's answer passes back.
    DeleteWhenAnswered,
    /// A termination with `binding_cleanup = false`: route by the binding, delete nothing.
    RouteOnly,
}

/// The plan for a request of `kind` at a DRA of `role` in `mode`.
pub fn plan(role: Role, mode: Mode, cleanup: bool, kind: Kind, rx: bool) -> Plan {
    match kind {
        Kind::Establish => Plan::Establish { create: !rx },
        Kind::Modify => Plan::Follow,
        Kind::Terminate | Kind::TerminateSubsession if !cleanup => Plan::RouteOnly,
        Kind::Terminate | Kind::TerminateSubsession => match (role, mode) {
            (_, Mode::Redirect) => Plan::DeleteBeforeRouting,
            (Role::Home, Mode::Proxy | Mode::ProxyVariant) => Plan::DeleteBeforeRouting,
            (Role::Visited, Mode::Proxy | Mode::ProxyVariant) => Plan::DeleteWhenAnswered,
        },
    }
}

/// Whether an answer passing back lets a [`Plan::DeleteWhenAnswered`] delete: the PCRF answered
/// (any Result-Code but a 3xxx protocol error such as 3002/3004, after which the client may
/// retry the termination elsewhere and still needs the binding).
pub fn answer_ends_session(result_code: Option<u32>) -> bool {
    !matches!(result_code, Some(c) if (3000..4000).contains(&c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_role_and_mode_deletes_where_the_spec_table_says() {
        let t = Kind::Terminate;
        assert_eq!(
            plan(Role::Visited, Mode::Redirect, true, t, false),
            Plan::DeleteBeforeRouting
        );
        assert_eq!(
            plan(Role::Home, Mode::Redirect, true, t, false),
            Plan::DeleteBeforeRouting
        );
        assert_eq!(
            plan(Role::Home, Mode::Proxy, true, t, false),
            Plan::DeleteBeforeRouting
        );
        assert_eq!(
            plan(Role::Home, Mode::ProxyVariant, true, t, false),
            Plan::DeleteBeforeRouting
        );
        assert_eq!(
            plan(Role::Visited, Mode::Proxy, true, t, false),
            Plan::DeleteWhenAnswered
        );
        assert_eq!(
            plan(
                Role::Visited,
                Mode::ProxyVariant,
                true,
                Kind::TerminateSubsession,
                false
            ),
            Plan::DeleteWhenAnswered
        );
    }

    #[test]
    fn cleanup_off_deletes_nothing_and_rx_never_creates() {
        assert_eq!(
            plan(Role::Visited, Mode::Redirect, false, Kind::Terminate, false),
            Plan::RouteOnly
        );
        assert_eq!(
            plan(Role::Home, Mode::Proxy, false, Kind::Terminate, true),
            Plan::RouteOnly
        );
        assert_eq!(
            plan(Role::Visited, Mode::Redirect, true, Kind::Establish, true),
            Plan::Establish { create: false }
        );
        assert_eq!(
            plan(Role::Visited, Mode::Redirect, true, Kind::Establish, false),
            Plan::Establish { create: true }
        );
    }

    #[test]
    fn protocol_errors_keep_the_binding() {
        assert!(answer_ends_session(Some(2001)));
        assert!(answer_ends_session(Some(5002)));
        assert!(answer_ends_session(None));
        assert!(!answer_ends_session(Some(3002)));
    }
}
