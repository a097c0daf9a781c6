//! Bodies of the event packages presence-server serves and its clients read: PIDF (RFC 3863),
//! reginfo (RFC 3680), watcherinfo (RFC 3857), and our subscription-failure report (the MESSAGE
//! of the recovery). Kept apart from the session bodies so the core stays thin.

pub mod failure_report;
pub mod pidf;
pub mod reginfo;
pub mod watcherinfo;

pub use super::xml_escape;
