//! session-manager: the lab's 5GC AMF/SMF-lite (issue 12 §3). UEs register, establish PDU
//! sessions, join and leave multicast MBS sessions over the N1 link (docs/n1.md); the network pages
//! UEs whose MBS path is down with the TMGI; and, the seed's point, a mobility registration that
//! lists the QFIs a UE still has releases the MBS QoS flows it dropped out of coverage
//! ([`release`]), so the paging stops.
//!
//! [`fsm`] is the protocol logic, free of IO; the rest is its shell: [`n1`] (the gNB streams),
//! [`core_task`] (runs the FSM, writes the [`store`] before it answers), [`control`] and
//! [`admin_api`] (what an operator sees and the network-initiated leave), [`metrics`].

pub mod admin_api;
pub mod config;
pub mod control;
pub mod core_task;
pub mod fsm;
pub mod metrics;
pub mod n1;
pub mod release;
pub mod store;
mod tap;
pub mod view;

/// Migrations of this network function (`migrations/session-manager`), embedded in the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/session-manager");
