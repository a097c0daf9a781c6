//! A JSON rendering of a message with names from the dictionary, for logs and
//! the command-line peer.

use std::fmt::Write;

use crate::avp::{Avp, Avps};
use crate::dictionary::{AvpType, Dictionary};
use crate::message::Message;
use crate::validate::MAX_GROUPED_DEPTH;

/// Renders `msg` as indented JSON: header fields, then `"avps"`, a list of
/// one-key objects `{"Name": value}` in wire order. Enumerated values render as
/// `"LABEL (n)"`, grouped AVPs as lists, unknown or undecodable AVPs as hex
/// under `"AVP <code>/<vendor>"`.
pub fn render(msg: &Message<'_>, dict: &Dictionary) -> String {
    let h = msg.header();
    let mut out = String::new();
    let cmd = dict
        .command(h.command_code, h.application_id, h.is_request())
        .map(|c| c.name.clone())
        .unwrap_or_else(|| {
            format!(
                "{}-{}",
                h.command_code,
                if h.is_request() { "Request" } else { "Answer" }
            )
        });
    let app = dict.application(h.application_id).unwrap_or("unknown");
    let flags: String = [(0x80, 'R'), (0x40, 'P'), (0x20, 'E'), (0x10, 'T')]
        .iter()
        .filter(|(b, _)| h.flags & b != 0)
        .map(|(_, c)| *c)
        .collect();
    let _ = write!(
        out,
        "{{\n  \"command\": {},\n  \"command_code\": {},\n  \"application\": {},\n  \"application_id\": {},\n  \"flags\": {},\n  \"hop_by_hop\": {},\n  \"end_to_end\": {},\n  \"avps\": ",
        quote(&cmd),
        h.command_code,
        quote(app),
        h.application_id,
        quote(&flags),
        h.hop_by_hop,
        h.end_to_end
    );
    render_level(&mut out, msg.avps(), dict, 1);
    out.push_str("\n}");
    out
}

fn render_level(out: &mut String, avps: Avps<'_>, dict: &Dictionary, depth: usize) {
    let pad = "  ".repeat(depth + 1);
    out.push('[');
    let mut first = true;
    for a in avps {
        out.push_str(if first { "\n" } else { ",\n" });
        first = false;
        out.push_str(&pad);
        render_avp(out, &a, dict, depth);
    }
    if !first {
        out.push('\n');
        out.push_str(&"  ".repeat(depth));
    }
    out.push(']');
}

fn render_avp(out: &mut String, a: &Avp<'_>, dict: &Dictionary, depth: usize) {
    let Some(def) = dict.avp(a.code(), a.vendor_id()) else {
        let _ = write!(
            out,
            "{{{}: {}}}",
            quote(&format!("AVP {}/{}", a.code(), a.vendor_id())),
            quote(&hex(a.data()))
        );
        return;
    };
    let _ = write!(out, "{{{}: ", quote(&def.name));
    let value = match def.ty {
        AvpType::Grouped if depth < MAX_GROUPED_DEPTH => match a.as_grouped() {
            Ok(inner) => {
                render_level(out, inner, dict, depth + 1);
                None
            }
            Err(_) => Some(quote(&hex(a.data()))),
        },
        AvpType::Unsigned32 => a.as_u32().ok().map(|v| match def.enum_name(v.into()) {
            Some(n) => quote(&format!("{n} ({v})")),
            None => v.to_string(),
        }),
        AvpType::Enumerated => a.as_i32().ok().map(|v| match def.enum_name(v.into()) {
            Some(n) => quote(&format!("{n} ({v})")),
            // Enumerated values above i32::MAX are listed as u32 in the files.
            None => match def.enum_name(i64::from(v as u32)) {
                Some(n) => quote(&format!("{n} ({})", v as u32)),
                None => v.to_string(),
            },
        }),
        AvpType::Unsigned64 => a.as_u64().ok().map(|v| v.to_string()),
        AvpType::Integer32 => a.as_i32().ok().map(|v| v.to_string()),
        AvpType::Integer64 => a.as_i64().ok().map(|v| v.to_string()),
        AvpType::Float32 => a.as_f32().ok().map(|v| quote(&v.to_string())),
        AvpType::Float64 => a.as_f64().ok().map(|v| quote(&v.to_string())),
        AvpType::Time => a.as_time().ok().map(|t| t.to_unix().to_string()),
        AvpType::Address => a.as_address().ok().map(|v| quote(&v.to_string())),
        AvpType::UTF8String
        | AvpType::DiameterIdentity
        | AvpType::DiameterURI
        | AvpType::IPFilterRule => a.as_utf8().ok().map(quote),
        AvpType::OctetString | AvpType::Grouped => Some(quote(&hex(a.data()))),
    };
    if let Some(v) = value {
        out.push_str(&v);
    } else if def.ty != AvpType::Grouped {
        out.push_str(&quote(&hex(a.data())));
    }
    out.push('}');
}

fn hex(b: &[u8]) -> String {
    let mut s = String::with_capacity(2 + 2 * b.len());
    s.push_str("0x");
    for x in b {
        let _ = write!(s, "{x:02x}");
    }
    s
}

fn quote(s: &str) -> String {
    let mut q = String::with_capacity(s.len() + 2);
    q.push('"');
    for c in s.chars() {
        match c {
            '"' => q.push_str("\\\""),
            '\\' => q.push_str("\\\\"),
            '\n' => q.push_str("\\n"),
            c if (c as u32) < 0x20 => {
                let _ = write!(q, "\\u{:04x}", c as u32);
            }
            c => q.push(c),
        }
    }
    q.push('"');
    q
}
