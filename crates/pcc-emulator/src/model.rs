//! The words of the emulator: client roles (TS 29.213 §4), the UE's keys, the DRA modes
//! (TS 29.213 §7.3) and the seed's two orderings of a termination in redirect mode.

use clap::ValueEnum;
use corelab_diameter::codes::app;
use serde::Deserialize;

/// A PCC client role and the interface it speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize, ValueEnum)]
#[serde(rename_all = "snake_case")]
#[value(rename_all = "snake_case")]
pub enum Role {
    /// Policy and charging enforcement function (P-GW), Gx (TS 29.212 §4).
    Pcef,
    /// Bearer binding and event reporting function (S-GW with PMIP, trusted non-3GPP
    /// gateway), Gxx (TS 29.212 §4a).
    Bberf,
    /// Application function (e.g. the P-CSCF), Rx (TS 29.214).
    Af,
}

impl Role {
    /// The Diameter application of the role's interface.
    pub fn application_id(self) -> u32 {
        match self {
            Role::Pcef => app::GX,
            Role::Bberf => app::GXX,
            Role::Af => app::RX,
        }
    }

    /// `pcef`, `bberf`, `af`.
    pub fn name(self) -> &'static str {
        match self {
            Role::Pcef => "pcef",
            Role::Bberf => "bberf",
            Role::Af => "af",
        }
    }

    /// Every role's application (advertised in the CER).
    pub const ALL_APPLICATIONS: [u32; 3] = [app::GX, app::GXX, app::RX];
}

/// The keys the DRA binds by (TS 29.213 §7): the UE's NAI or IMSI (Subscription-Id, type
/// END_USER_IMSI when all digits, else END_USER_NAI), its IPv4 address and the APN.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct Ue {
    /// The UE's NAI or IMSI (Subscription-Id-Data).
    pub nai: String,
    /// The UE's IPv4 address (Framed-IP-Address).
    pub ip: std::net::Ipv4Addr,
    /// The APN (Called-Station-Id).
    #[serde(default = "default_apn")]
    pub apn: String,
}

fn default_apn() -> String {
    "internet".into()
}

/// How the vDRA works (TS 29.213 §7.3; specs/dra-roaming.md "DRA modes").
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, ValueEnum)]
#[serde(rename_all = "snake_case")]
#[value(rename_all = "snake_case")]
pub enum DraMode {
    /// The DRA answers 3006 naming the PCRF; later requests go to the PCRF directly.
    #[default]
    Redirect,
    /// Every request of the session goes through the DRA.
    Proxy,
    /// Establishment and termination through the DRA, the messages between direct.
    ProxyVariant,
}

/// The seed's two orderings of a termination in redirect mode ("∥").
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, ValueEnum)]
#[serde(rename_all = "snake_case")]
#[value(rename_all = "snake_case")]
pub enum Ordering {
    /// Send to the vDRA, then to the PCRF the vDRA's 3006 names.
    #[default]
    AfterRedirect,
    /// Send to the vDRA (addressed to it: Destination-Host) and to the PCRF in parallel.
    AtOnce,
}

/// What a client does with a session.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, ValueEnum)]
#[serde(rename_all = "snake_case")]
#[value(rename_all = "snake_case")]
pub enum Action {
    /// CCR-I (Gx, Gxx) or the first AAR (Rx).
    Establish,
    /// CCR-U or an AAR on the established Rx session.
    Modify,
    /// CCR-T or STR.
    Terminate,
}

/// Where a step's message goes, when the scenario overrides the mode's choice.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, ValueEnum)]
#[serde(rename_all = "snake_case")]
#[value(rename_all = "snake_case")]
pub enum Target {
    /// The vDRA (a 3006 from it is followed).
    Dra,
    /// The PCRF remembered for the session.
    Pcrf,
}

/// The name of a procedure's request, as the statistics and output name it.
pub fn procedure(role: Role, action: Action) -> &'static str {
    match (role, action) {
        (Role::Af, Action::Establish) => "AAR-I",
        (Role::Af, Action::Modify) => "AAR-U",
        (Role::Af, Action::Terminate) => "STR",
        (_, Action::Establish) => "CCR-I",
        (_, Action::Modify) => "CCR-U",
        (_, Action::Terminate) => "CCR-T",
    }
}
