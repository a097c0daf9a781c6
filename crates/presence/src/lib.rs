//! presence-server: an IMS presence server (RFC 3856 `presence`, RFC 3680 `reg`, RFC 3857
//! `presence.winfo`, RFC 3903 PUBLISH) that restores a subscription after a failed NOTIFY
//! (seed CN102546554A). The seed's procedure is `corelab_recovery` (crates/recovery/src/recovery.rs);
//! [`recovery_ports`] is this server's side of its seam, and everything else serves it.

pub mod admin_api;
pub mod cache;
pub mod config;
pub mod control;
pub mod documents;
pub mod message;
pub mod metrics;
pub mod notifier;
pub mod packages;
pub mod presence;
pub mod publish;
pub mod recovery_ports;
pub mod registrar;
pub mod replicas;
pub mod reply;
pub mod server;
pub mod store;
pub mod subscribe;
pub mod sweep;

pub use presence::Presence;

/// Migrations of this network function (`migrations/presence`), embedded in the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/presence");
