//! The node runtime: everything a corelab binary does the same way.
//!
//! A node loads its [`config`], sets up [`telemetry`], opens its [`store`] (running its migrations),
//! serves the [`admin`] HTTP API and its gRPC control service ([`grpc`]), and stops cleanly on
//! SIGINT/SIGTERM ([`shutdown`]); [`boot`] runs that start-up sequence for a node binary. The
//! runtime knows no network function.

pub mod admin;
pub mod boot;
pub mod cli;
pub mod config;
pub mod failpoint;
pub mod grpc;
pub mod ready;
pub mod shutdown;
pub mod store;
pub mod telemetry;
pub mod wire_tap;
pub mod writer;

pub use config::{CommonConfig, ConfigError};
pub use store::{Backend, Store};

/// Current wall-clock time in milliseconds since the Unix epoch: how the store keeps time
/// (an `i64` works the same on PostgreSQL and SQLite).
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
