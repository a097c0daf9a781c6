//! poc-controlling: the PoC controlling function (OMA PoC / 3GPP MCPTT shape) for join groups,
//! seed 002 (WO2010115322A1) steps 303-313: it serves configured groups, reads each group's
//! document from the group server over XCAP ([`xcap_client`]), applies the seed's rule
//! ([`join`]: authorize first, then store the first joiner's ids atomically, hand the stored
//! pair to every joiner), holds each participant's dialog ([`corelab_sip::dialog`]) and relays
//! RTP between participants ([`rtp`]).
//!
//! Pure parts: [`join`] (the rule, over the [`join::GroupSource`] and [`store`] it is given),
//! [`request`] (the INVITE's bodies); the shell: [`sip`], [`sessions`], [`rtp`], [`admin_api`],
//! [`control`].

pub mod admin_api;
pub mod config;
pub mod control;
pub mod join;
pub mod metrics;
pub mod request;
pub mod rtp;
pub mod sessions;
pub mod sip;
pub mod store;
pub mod xcap_client;

/// Migrations of this network function (`migrations/poc-controlling`), embedded in the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/poc-controlling");

/// The node kind: PostgreSQL schema and SQLite file name (`poc_controlling.db`).
pub const KIND: &str = "poc_controlling";
