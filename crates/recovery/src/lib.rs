//! Restoring a subscription after a failed NOTIFY (seed CN102546554A; `shared/specs/presence.md`
//! steps 4–9), for any server that notifies clients: presence, group management, IM (the spec's
//! "Roles").
//!
//! The procedure is [`recovery`], readable top to bottom. What it needs from the server that runs
//! it — its store and its SIP node — is the small seam [`RecoveryPorts`]: presence-server
//! implements it on PostgreSQL/SQLite and rsipstack, the unit tests on memory and a controlled
//! clock.

pub mod ports;
pub mod recovery;
pub mod retry;

#[cfg(test)]
mod tests;

pub use ports::{
    AlarmKind, Deletion, FailedSubscription, MessageOutcome, OwedMessage, RecoveryPorts,
};
pub use recovery::{
    LocalFailure, LocalOutcome, NotifyFailure, Outcome, RecoveryPolicy, ThresholdAction,
    deliver_owed, on_local_failure, on_notify_failed,
};
