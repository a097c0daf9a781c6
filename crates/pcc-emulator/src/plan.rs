//! Where each message of a session goes, by the vDRA's mode (TS 29.213 §7.3, seed 003):
//! pure, so every mode and ordering is a table test.
//!
//! | mode | establish | modify | terminate |
//! | --- | --- | --- | --- |
//! | redirect | vDRA, follow its 3006, remember the PCRF | the PCRF | after_redirect: vDRA, then the PCRF its 3006 names; at_once: vDRA (Destination-Host = the vDRA) ∥ the PCRF |
//! | proxy | vDRA | vDRA | vDRA |
//! | proxy_variant | vDRA, remember the PCRF (answer's Origin-Host) | the PCRF | vDRA (it forwards) |

use crate::model::{Action, DraMode, Ordering, Target};

/// How one procedure's request is sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Plan {
    /// To the vDRA; a 3006 from it is followed to the PCRF it names.
    ViaDra,
    /// To the PCRF remembered for the session (Destination-Host = the PCRF).
    ToPcrf,
    /// The seed's "at once": to the vDRA addressed to the vDRA itself (so that it deletes
    /// and acknowledges, docs/dra.md) and to the PCRF, in parallel.
    DraAndPcrfAtOnce,
}

/// The plan for `action` in `mode`; `target` (a scenario's override) wins. Without a
/// remembered PCRF, whatever would go to the PCRF goes via the vDRA.
pub fn plan(
    mode: DraMode,
    action: Action,
    ordering: Ordering,
    target: Option<Target>,
    pcrf_known: bool,
) -> Plan {
    let p = match target {
        Some(Target::Dra) => Plan::ViaDra,
        Some(Target::Pcrf) => Plan::ToPcrf,
        None => match (mode, action) {
            (_, Action::Establish) => Plan::ViaDra,
            (DraMode::Proxy, _) => Plan::ViaDra,
            (DraMode::Redirect | DraMode::ProxyVariant, Action::Modify) => Plan::ToPcrf,
            (DraMode::ProxyVariant, Action::Terminate) => Plan::ViaDra,
            (DraMode::Redirect, Action::Terminate) => match ordering {
                Ordering::AfterRedirect => Plan::ViaDra,
                Ordering::AtOnce => Plan::DraAndPcrfAtOnce,
            },
        },
    };
    if p != Plan::ViaDra && !pcrf_known {
        Plan::ViaDra
    } else {
        p
    }
}

/// Does the session remember the PCRF after its establishment: from the 3006 (any mode
/// whose DRA redirected), or, in proxy_variant, from the answer's Origin-Host.
pub fn remembers_answering_host(mode: DraMode) -> bool {
    mode == DraMode::ProxyVariant
}

#[cfg(test)]
mod tests {
    use super::*;
    use Action::*;
    use DraMode::*;

    #[test]
    fn each_mode_sends_each_procedure_where_ts_29_213_and_the_seed_say() {
        let p = |m, a, o| plan(m, a, o, None, true);
        for o in [Ordering::AfterRedirect, Ordering::AtOnce] {
            for m in [Redirect, Proxy, ProxyVariant] {
                assert_eq!(p(m, Establish, o), Plan::ViaDra);
            }
            assert_eq!(p(Redirect, Modify, o), Plan::ToPcrf);
            assert_eq!(p(Proxy, Modify, o), Plan::ViaDra);
            assert_eq!(p(ProxyVariant, Modify, o), Plan::ToPcrf);
            assert_eq!(p(Proxy, Terminate, o), Plan::ViaDra);
            assert_eq!(p(ProxyVariant, Terminate, o), Plan::ViaDra);
        }
        assert_eq!(
            p(Redirect, Terminate, Ordering::AfterRedirect),
            Plan::ViaDra
        );
        assert_eq!(
            p(Redirect, Terminate, Ordering::AtOnce),
            Plan::DraAndPcrfAtOnce
        );
    }

    #[test]
    fn without_a_remembered_pcrf_everything_goes_via_the_dra_and_a_target_overrides() {
        assert_eq!(
            plan(Redirect, Terminate, Ordering::AtOnce, None, false),
            Plan::ViaDra
        );
        assert_eq!(
            plan(Redirect, Modify, Ordering::AtOnce, Some(Target::Dra), true),
            Plan::ViaDra
        );
        assert_eq!(
            plan(Proxy, Modify, Ordering::AtOnce, Some(Target::Pcrf), true),
            Plan::ToPcrf
        );
    }
}
