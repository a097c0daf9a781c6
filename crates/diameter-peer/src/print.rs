//! What goes to stdout: one summary line per message, and the message decoded
//! by name (`corelab_diameter::render`: AVP names from the dictionary, enum
//! labels, grouped AVPs indented). Logs go to stderr (tracing).

use std::io::Write;

use corelab_diameter::{Dictionary, Message};

use crate::answers::outcome;

/// Writes `text` and a newline to stdout and flushes (readiness lines,
/// output read by scripts while we run).
pub fn out(text: &str) {
    let mut o = std::io::stdout().lock();
    let _ = writeln!(o, "{text}");
    let _ = o.flush();
}

/// `<command name> (<application>) Session-Id=... Result-Code=2001 DIAMETER_SUCCESS`.
pub fn summary(bytes: &[u8]) -> String {
    let dict = Dictionary::standard();
    let Ok(msg) = Message::decode(bytes) else {
        return format!("undecodable message ({} bytes)", bytes.len());
    };
    let h = msg.header();
    let name = dict
        .command(h.command_code, h.application_id, h.is_request())
        .map(|c| format!("{} ({})", c.name, c.abbrev))
        .unwrap_or_else(|| {
            format!(
                "command {} {}",
                h.command_code,
                if h.is_request() { "request" } else { "answer" }
            )
        });
    let app = dict
        .application(h.application_id)
        .map_or_else(|| h.application_id.to_string(), str::to_string);
    let mut s = format!("{name} app={app}");
    if let Some(sid) = msg.session_id() {
        s.push_str(&format!(" Session-Id={sid}"));
    }
    if !h.is_request() {
        match outcome(&msg) {
            Some(rc) => {
                let label = dict
                    .avp_by_name("Result-Code")
                    .and_then(|d| d.enum_name(rc.into()));
                s.push_str(&format!(" Result-Code={rc}"));
                if let Some(l) = label {
                    s.push_str(&format!(" {l}"));
                }
            }
            None => s.push_str(" Result-Code=none"),
        }
        if h.is_error() {
            s.push_str(" E-bit");
        }
    }
    s
}

/// The message decoded by name, or a hex dump when it does not decode.
pub fn decoded(bytes: &[u8]) -> String {
    match Message::decode(bytes) {
        Ok(m) => corelab_diameter::render(&m, Dictionary::standard()),
        Err(e) => {
            let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            format!("undecodable ({e:?}): {hex}")
        }
    }
}

/// Prints `<prefix> <summary>` and, when `full`, the decoded message.
pub fn message(prefix: &str, bytes: &[u8], full: bool) {
    if full {
        out(&format!("{prefix} {}\n{}", summary(bytes), decoded(bytes)));
    } else {
        out(&format!("{prefix} {}", summary(bytes)));
    }
}
