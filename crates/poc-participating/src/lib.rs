//! poc-participating: the PoC participating function (seed 002, steps 301-302 and 308-309), a
//! SIP proxy for its users. It authenticates the asserted identity of requests its users send
//! and receive against the users in its store and forwards a group request to the controlling
//! server of the group's domain, with Record-Route, on `corelab_sip::proxy`.
//!
//! Pure: [`participating`] (the decision); shell: [`server`], [`store`], [`control`],
//! [`provision`].

pub mod config;
pub mod control;
pub mod metrics;
pub mod participating;
pub mod provision;
pub mod server;
pub mod store;

/// Migrations of this network function (`migrations/poc-participating`), embedded.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/poc-participating");

/// The node kind: the PostgreSQL schema and the SQLite file (`poc_participating.db`).
pub const KIND: &str = "poc_participating";
