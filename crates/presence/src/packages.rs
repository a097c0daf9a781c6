//! The event packages presence-server serves (RFC 6665 §7).

use corelab_sip::body;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Package {
    /// RFC 3856, documents in PIDF (RFC 3863).
    Presence,
    /// RFC 3680, registration state.
    Reg,
    /// RFC 3857, watchers of a presentity.
    PresenceWinfo,
}

/// The `Allow-Events` value of our 489 answers and OPTIONS.
pub const ALLOW_EVENTS: &str = "presence, reg, presence.winfo";

impl Package {
    pub fn from_name(name: &str) -> Option<Package> {
        match name {
            "presence" => Some(Package::Presence),
            "reg" => Some(Package::Reg),
            "presence.winfo" => Some(Package::PresenceWinfo),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Package::Presence => "presence",
            Package::Reg => "reg",
            Package::PresenceWinfo => "presence.winfo",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Package::Presence => body::pidf::CONTENT_TYPE,
            Package::Reg => body::reginfo::CONTENT_TYPE,
            Package::PresenceWinfo => body::watcherinfo::CONTENT_TYPE,
        }
    }
}
