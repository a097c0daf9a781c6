//! group-server: the PoC group XDMS. PoC group documents (AUID
//! `org.openmobilealliance.poc-groups`, [`document`]) kept in the store and served over XCAP
//! (RFC 4825) on a listener of its own ([`http`]), so that the controlling server can fetch a
//! group's members, join type and pre-provisioned ids (seed 002, steps 303-304).
//!
//! Pure parts: [`request_uri`], [`selector`], [`tree`], [`document`], [`xcap`], [`auth`];
//! the shell: [`http`], [`store`], [`provision`], [`control`].

pub mod auth;
pub mod config;
pub mod control;
pub mod document;
pub mod error;
pub mod http;
pub mod metrics;
pub mod network;
pub mod provision;
pub mod request_uri;
pub mod selector;
pub mod store;
pub mod tree;
pub mod xcap;

/// Migrations of this network function (`migrations/group-server`), embedded in the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/group-server");

/// The node kind: names the PostgreSQL schema and the SQLite file (`group_server.db`); a plain
/// identifier (docs/store.md), hence the underscore.
pub const KIND: &str = "group_server";
