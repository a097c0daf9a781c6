//! Bodies of the event packages we serve and read: PIDF (RFC 3863), reginfo (RFC 3680),
//! watcherinfo (RFC 3857), and our subscription-failure report (the MESSAGE of the recovery).

pub mod failure_report;
pub mod pidf;
pub mod reginfo;
pub mod watcherinfo;

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
