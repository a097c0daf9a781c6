//! Message bodies. Event packages ([`presence`]): PIDF (RFC 3863), reginfo (RFC 3680),
//! watcherinfo (RFC 3857), our subscription-failure report. Sessions: [`multipart`] (RFC 2046 §5.1), [`cpim`]
//! (RFC 3862), [`sdp`] (RFC 4566 / 3264, one audio stream), and [`poc_join`], the PoC join body made of
//! the three. All pure and bounded; a failure is a
//! [`BodyError`] whose reason goes into the `400` (or `488` when [`BodyError::unusable`]).

pub mod cpim;
pub mod multipart;
pub mod poc_join;
pub mod presence;
pub mod sdp;

// The presence bodies' old paths (`corelab_sip::body::pidf`, ...), kept for their users.
pub use presence::{failure_report, pidf, reginfo, watcherinfo};

/// A body that cannot be used: the reason phrase, and whether it parsed but offers nothing we
/// can accept (SDP: `488 Not Acceptable Here`, RFC 3261 §21.4.26) rather than being malformed (`400`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct BodyError {
    pub reason: String,
    pub unusable: bool,
}

impl BodyError {
    pub fn new(reason: impl Into<String>) -> BodyError {
        BodyError {
            reason: reason.into(),
            unusable: false,
        }
    }

    pub fn unusable(reason: impl Into<String>) -> BodyError {
        BodyError {
            reason: reason.into(),
            unusable: true,
        }
    }

    /// The SIP status for this error: 488 for an unusable offer, else 400.
    pub fn status(&self) -> u16 {
        if self.unusable { 488 } else { 400 }
    }
}

/// Escape text for an XML attribute or element.
pub fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}
