//! The 5G side of ue-emulator: UEs speaking NAS-5GS to session-manager over the N1 link
//! (docs/ue-emulator.md). Each UE is its own IO-free state machine ([`ue::Ue`]); the gNB shell
//! runs N of them over one N1 stream.

pub mod cli;
pub mod control;
pub mod gnb;
pub mod identity;
pub mod load;
pub mod metrics;
pub mod script;
pub mod session;
pub mod ue;
