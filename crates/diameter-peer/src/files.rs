//! Request and answer files (TOML, JSON or YAML, chosen by extension) →
//! message templates checked against the dictionary, and the `${...}`
//! substitution that turns a template into a `MessageBuilder`.
//!
//! Shape (the same keys in the three formats):
//! ```toml
//! [[request]]
//! command = "Credit-Control"        # name, abbreviation (CCR) or code
//! application = "gx"                # alias, dictionary name or id
//! avps = [
//!   { name = "Session-Id", value = "${session}" },
//!   { name = "CC-Request-Type", value = "INITIAL_REQUEST" },
//!   { name = "Subscription-Id", value = [
//!       { name = "Subscription-Id-Type", value = "END_USER_IMSI" },
//!       { name = "Subscription-Id-Data", value = "001010000000001" } ] },
//!   { code = 99999, vendor = 10415, mandatory = false, hex = "0001" },
//! ]
//! ```
//! Every problem is reported with the file, the request (or answer) number and
//! the AVP: `requests.toml: request 2: AVP 'CC-Request-Typ' is not in the dictionary`.

use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};

use corelab_diameter::codes::{app, avp as code};
use corelab_diameter::{AvpBuf, AvpDef, AvpType, AvpValue, Dictionary, FlagRule, MessageBuilder};
use serde_json::{Map, Value};

use crate::values;

/// A file that could not be used; the message names file, message and AVP.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FileError(pub String);

/// The variables a template may use.
pub const VARIABLES: [&str; 5] = [
    "session",
    "origin_host",
    "origin_realm",
    "peer_host",
    "peer_realm",
];

/// Values of the `${...}` variables for one message.
#[derive(Clone, Copy, Debug)]
pub struct Vars<'a> {
    /// `${session}`: the Session-Id (fresh, or the request's when answering).
    pub session: &'a str,
    /// `${origin_host}`, `${origin_realm}`: ours.
    pub origin_host: &'a str,
    /// See `origin_host`.
    pub origin_realm: &'a str,
    /// `${peer_host}`, `${peer_realm}`: the other side (CEA's Origin-Host/Realm,
    /// or the Origin-Host/Realm of the request being answered).
    pub peer_host: &'a str,
    /// See `peer_host`.
    pub peer_realm: &'a str,
}

impl Vars<'_> {
    /// Values used to check templates when a file is loaded.
    pub const SAMPLE: Vars<'static> = Vars {
        session: "sample.example;1;1",
        origin_host: "sample.example",
        origin_realm: "example",
        peer_host: "peer.example",
        peer_realm: "example",
    };

    fn get(&self, name: &str) -> Option<&str> {
        Some(match name {
            "session" => self.session,
            "origin_host" => self.origin_host,
            "origin_realm" => self.origin_realm,
            "peer_host" => self.peer_host,
            "peer_realm" => self.peer_realm,
            _ => return None,
        })
    }
}

/// Fresh Session-Ids (RFC 6733 §8.8): `<origin-host>;<high 32 bits>;<low 32 bits>`,
/// the high part the start time in seconds, the low part a counter.
#[derive(Debug)]
pub struct SessionIds {
    host: String,
    high: u32,
    low: AtomicU32,
}

impl SessionIds {
    /// Ids for `origin_host`, unique across runs started in different seconds.
    pub fn new(origin_host: &str) -> Self {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        SessionIds {
            host: origin_host.to_string(),
            high: now as u32,
            low: AtomicU32::new(1),
        }
    }
    /// The next Session-Id.
    pub fn next_id(&self) -> String {
        let lo = self.low.fetch_add(1, Ordering::Relaxed);
        format!("{};{};{}", self.host, self.high, lo)
    }
}

/// One AVP of a template.
#[derive(Clone, Debug, PartialEq)]
pub enum AvpTemplate {
    /// Fully known when the file was read.
    Fixed(AvpBuf),
    /// A value with `${...}` variables, encoded per `def` after substitution.
    Text {
        /// The AVP with empty data (code, flags, vendor).
        head: AvpBuf,
        /// Its definition (type, name).
        def: Box<AvpDef>,
        /// The text with `${...}`.
        text: String,
    },
    /// A Grouped AVP with at least one templated AVP inside.
    Group {
        /// The AVP with no members (code, flags, vendor).
        head: AvpBuf,
        /// The members.
        members: Vec<AvpTemplate>,
    },
}

impl AvpTemplate {
    fn code(&self) -> u32 {
        match self {
            AvpTemplate::Fixed(h) | AvpTemplate::Text { head: h, .. } => h.code,
            AvpTemplate::Group { head, .. } => head.code,
        }
    }
    fn vendor(&self) -> Option<u32> {
        match self {
            AvpTemplate::Fixed(h) | AvpTemplate::Text { head: h, .. } => h.vendor_id,
            AvpTemplate::Group { head, .. } => head.vendor_id,
        }
    }
    /// True for an IETF AVP of this code at this level.
    fn is(&self, c: u32) -> bool {
        self.code() == c && self.vendor().is_none()
    }

    /// The AVP with variables substituted.
    pub fn build(&self, vars: &Vars<'_>) -> Result<AvpBuf, String> {
        match self {
            AvpTemplate::Fixed(a) => Ok(a.clone()),
            AvpTemplate::Text { head, def, text } => {
                let s = substitute(text, vars)?;
                let data = values::encode(def, &Value::String(s))
                    .map_err(|e| format!("AVP '{}': {e}", def.name))?;
                let mut a = head.clone();
                a.value = AvpValue::Octets(data);
                Ok(a)
            }
            AvpTemplate::Group { head, members } => {
                let mut a = head.clone();
                a.value = AvpValue::Grouped(
                    members
                        .iter()
                        .map(|m| m.build(vars))
                        .collect::<Result<_, _>>()?,
                );
                Ok(a)
            }
        }
    }
}

/// Replaces every `${name}` in `text`.
pub fn substitute(text: &str, vars: &Vars<'_>) -> Result<String, String> {
    let mut out = String::with_capacity(text.len() + 32);
    let mut rest = text;
    while let Some(i) = rest.find("${") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        let Some(end) = after.find('}') else {
            return Err(format!("unclosed `${{` in {text:?}"));
        };
        let name = &after[..end];
        let v = vars.get(name).ok_or_else(|| {
            format!(
                "unknown variable `${{{name}}}` (known: {})",
                VARIABLES.map(|v| format!("${{{v}}}")).join(", ")
            )
        })?;
        out.push_str(v);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// A request of a file, ready to build.
#[derive(Clone, Debug, PartialEq)]
pub struct RequestTemplate {
    /// 1-based position in the file.
    pub index: usize,
    /// The command's name (from the dictionary when known).
    pub name: String,
    /// Command Code.
    pub command_code: u32,
    /// Application-ID.
    pub application_id: u32,
    /// P bit (the CCF's PXY, or the file's `proxiable`).
    pub proxiable: bool,
    /// The file's AVPs in order.
    pub avps: Vec<AvpTemplate>,
}

impl RequestTemplate {
    /// The request with variables substituted and Origin-Host, Origin-Realm
    /// and Auth-Application-Id added when the file has none (after Session-Id,
    /// where the CCFs put them). Identifiers are left 0 for the connection.
    pub fn build(&self, vars: &Vars<'_>) -> Result<MessageBuilder, String> {
        let mut m = MessageBuilder::request(self.command_code, self.application_id);
        if self.proxiable {
            m = m.proxiable();
        }
        let mut avps: Vec<AvpBuf> = self
            .avps
            .iter()
            .map(|a| a.build(vars))
            .collect::<Result<_, _>>()?;
        let has = |c: u32| self.avps.iter().any(|a| a.is(c));
        let mut fill = Vec::new();
        if !has(code::AUTH_APPLICATION_ID)
            && !has(code::ACCT_APPLICATION_ID)
            && !has(code::VENDOR_SPECIFIC_APPLICATION_ID)
            && needs_auth_application_id(self.application_id)
        {
            fill.push(AvpBuf::u32(code::AUTH_APPLICATION_ID, self.application_id).mandatory());
        }
        if !has(code::ORIGIN_HOST) {
            fill.push(AvpBuf::identity(code::ORIGIN_HOST, vars.origin_host).mandatory());
        }
        if !has(code::ORIGIN_REALM) {
            fill.push(AvpBuf::identity(code::ORIGIN_REALM, vars.origin_realm).mandatory());
        }
        let at = usize::from(
            avps.first()
                .is_some_and(|a| a.code == code::SESSION_ID && a.vendor_id.is_none()),
        );
        avps.splice(at..at, fill);
        m.avps = avps;
        Ok(m)
    }
}

/// Applications whose messages carry Auth-Application-Id (not the base
/// protocol, base accounting or the relay id).
fn needs_auth_application_id(id: u32) -> bool {
    !matches!(id, app::BASE | 3 | app::RELAY)
}

/// An answer of an answers file.
#[derive(Clone, Debug, PartialEq)]
pub struct AnswerTemplate {
    /// 1-based position in the file.
    pub index: usize,
    /// Command Code it answers.
    pub command_code: u32,
    /// Only for requests of this application, when given.
    pub application_id: Option<u32>,
    /// Only for CCRs with this CC-Request-Type (RFC 4006 §8.3), when given.
    pub cc_request_type: Option<i32>,
    /// Result-Code (2001 when neither this nor `experimental_result_code`).
    pub result_code: Option<u32>,
    /// 3GPP Experimental-Result-Code (in Experimental-Result with Vendor-Id 10415).
    pub experimental_result_code: Option<u32>,
    /// Extra AVPs, after the copied ones.
    pub avps: Vec<AvpTemplate>,
}

/// Reads a file of any of the three formats into a JSON tree.
pub fn read_tree(path: &Path) -> Result<Value, FileError> {
    let file = path.display();
    let text = std::fs::read_to_string(path)
        .map_err(|e| FileError(format!("{file}: cannot read: {e}")))?;
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let tree = match ext.as_deref() {
        Some("toml") => toml::from_str::<Value>(&text).map_err(|e| e.to_string()),
        Some("json") => serde_json::from_str::<Value>(&text).map_err(|e| e.to_string()),
        Some("yaml" | "yml") => serde_yaml::from_str::<Value>(&text).map_err(|e| e.to_string()),
        _ => {
            return Err(FileError(format!(
                "{file}: unknown file type (use .toml, .json, .yaml or .yml)"
            )));
        }
    };
    tree.map_err(|e| FileError(format!("{file}: {}", e.trim_end())))
}

/// The `[[request]]` list of a file; at least one.
pub fn load_requests(path: &Path, dict: &Dictionary) -> Result<Vec<RequestTemplate>, FileError> {
    let tree = read_tree(path)?;
    let file = path.display().to_string();
    let list = section(&file, &tree, "request")?;
    if list.is_empty() {
        return Err(FileError(format!(
            "{file}: no [[request]] (a requests file lists its messages as `request` entries)"
        )));
    }
    list.iter()
        .enumerate()
        .map(|(i, r)| {
            request(dict, r, i + 1)
                .map_err(|e| FileError(format!("{file}: request {}: {e}", i + 1)))
        })
        .collect()
}

/// The `[[answer]]` list of a file (may be empty: every request gets 2001).
pub fn load_answers(path: &Path, dict: &Dictionary) -> Result<Vec<AnswerTemplate>, FileError> {
    let tree = read_tree(path)?;
    let file = path.display().to_string();
    section(&file, &tree, "answer")?
        .iter()
        .enumerate()
        .map(|(i, r)| {
            answer(dict, r, i + 1).map_err(|e| FileError(format!("{file}: answer {}: {e}", i + 1)))
        })
        .collect()
}

fn section<'v>(file: &str, tree: &'v Value, key: &str) -> Result<&'v [Value], FileError> {
    let Value::Object(top) = tree else {
        return Err(FileError(format!(
            "{file}: expected a table with `{key}` entries"
        )));
    };
    for k in top.keys() {
        if k != "request" && k != "answer" {
            return Err(FileError(format!(
                "{file}: unknown key `{k}` (a file has `request` and/or `answer` entries)"
            )));
        }
    }
    match top.get(key) {
        None => Ok(&[]),
        Some(Value::Array(a)) => Ok(a),
        Some(_) => Err(FileError(format!(
            "{file}: `{key}` must be a list of tables ([[{key}]])"
        ))),
    }
}

fn table<'v>(v: &'v Value, allowed: &[&str]) -> Result<&'v Map<String, Value>, String> {
    let Value::Object(m) = v else {
        return Err("expected a table".into());
    };
    if let Some(k) = m.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(format!(
            "unknown key `{k}` (allowed: {})",
            allowed.join(", ")
        ));
    }
    Ok(m)
}

fn request(dict: &Dictionary, v: &Value, index: usize) -> Result<RequestTemplate, String> {
    let m = table(v, &["command", "application", "avps", "proxiable"])?;
    let application = m
        .get("application")
        .map(|a| application_id(dict, a))
        .transpose()?;
    let cmd = m.get("command").ok_or("missing key `command`")?;
    let (command_code, application_id) = command(dict, cmd, application)?;
    let def = dict.command(command_code, application_id, true);
    let proxiable = match m.get("proxiable") {
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err("`proxiable` must be true or false".into()),
        None => def.map_or(application_id != app::BASE, |d| d.proxiable),
    };
    let avps = avp_list(dict, m.get("avps"), &[])?;
    let name = def.map_or_else(|| format!("command {command_code}"), |d| d.name.clone());
    let t = RequestTemplate {
        index,
        name,
        command_code,
        application_id,
        proxiable,
        avps,
    };
    t.build(&Vars::SAMPLE)?;
    Ok(t)
}

fn answer(dict: &Dictionary, v: &Value, index: usize) -> Result<AnswerTemplate, String> {
    let m = table(
        v,
        &[
            "command",
            "application",
            "cc_request_type",
            "result_code",
            "experimental_result_code",
            "avps",
        ],
    )?;
    let application_id = m
        .get("application")
        .map(|a| application_id(dict, a))
        .transpose()?;
    let cmd = m.get("command").ok_or("missing key `command`")?;
    let command_code = command_code_any(dict, cmd, application_id)?;
    let rc = |key: &str, avp: &str| -> Result<Option<u32>, String> {
        m.get(key)
            .map(|v| {
                let def = dict
                    .avp_by_name(avp)
                    .ok_or_else(|| format!("{avp} is not in the dictionary"))?;
                let b = values::encode(def, v).map_err(|e| format!("`{key}`: {e}"))?;
                Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
            })
            .transpose()
    };
    let cc_request_type = match m.get("cc_request_type") {
        None => None,
        Some(v) => {
            let def = dict
                .avp_by_name("CC-Request-Type")
                .ok_or("CC-Request-Type is not in the dictionary")?;
            let b = values::encode(def, v).map_err(|e| format!("`cc_request_type`: {e}"))?;
            Some(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
        }
    };
    let t = AnswerTemplate {
        index,
        command_code,
        application_id,
        cc_request_type,
        result_code: rc("result_code", "Result-Code")?,
        experimental_result_code: rc("experimental_result_code", "Experimental-Result-Code")?,
        avps: avp_list(dict, m.get("avps"), &[])?,
    };
    for a in &t.avps {
        a.build(&Vars::SAMPLE)?;
    }
    Ok(t)
}

/// Application id from a number, an alias (base, cc, gx, gxx, rx, s9, relay)
/// or a dictionary name (Gx, Diameter-Credit-Control).
pub fn application_id(dict: &Dictionary, v: &Value) -> Result<u32, String> {
    match v {
        Value::Number(n) => n
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| format!("application {n} is not an Unsigned32")),
        Value::String(s) => application_by_name(dict, s).ok_or_else(|| {
            format!("unknown application {s:?} (use base, cc, gx, gxx, rx, s9, relay or a number)")
        }),
        _ => Err("`application` must be a name or a number".into()),
    }
}

/// Application id from an alias, a dictionary name or decimal text.
pub fn application_by_name(dict: &Dictionary, s: &str) -> Option<u32> {
    let alias = match s.to_ascii_lowercase().as_str() {
        "base" | "common" => Some(app::BASE),
        "accounting" => Some(3),
        "cc" | "dcca" | "credit-control" => Some(app::CREDIT_CONTROL),
        "gx" => Some(app::GX),
        "gxx" | "gxa" | "gxc" => Some(app::GXX),
        "rx" => Some(app::RX),
        "s9" => Some(app::S9),
        "relay" => Some(app::RELAY),
        _ => None,
    };
    alias.or_else(|| s.parse().ok()).or_else(|| {
        dict.commands().map(|c| c.application_id).find(|&id| {
            dict.application(id)
                .is_some_and(|n| n.eq_ignore_ascii_case(s))
        })
    })
}

fn stem(s: &str) -> &str {
    s.strip_suffix("-Request")
        .or_else(|| s.strip_suffix("-Answer"))
        .unwrap_or(s)
}

/// Command code and the (code, application) pairs the dictionary has for a
/// name or abbreviation, matching `Credit-Control`, `Credit-Control-Request`,
/// `CCR` or `CCA`.
pub fn command_matches(dict: &Dictionary, name: &str) -> Vec<(u32, u32)> {
    let mut out: Vec<(u32, u32)> = dict
        .commands()
        .filter(|c| {
            stem(&c.name).eq_ignore_ascii_case(stem(name)) || c.abbrev.eq_ignore_ascii_case(name)
        })
        .map(|c| (c.code, c.application_id))
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// (Command Code, Application-ID) of a request: the application from the
/// file, or the only one the dictionary defines the command for.
fn command(dict: &Dictionary, v: &Value, application: Option<u32>) -> Result<(u32, u32), String> {
    let code = command_code_any(dict, v, application)?;
    if let Some(a) = application {
        return Ok((code, a));
    }
    let apps: Vec<u32> = dict
        .commands()
        .filter(|c| c.code == code && c.request)
        .map(|c| c.application_id)
        .collect();
    match apps.as_slice() {
        [a] => Ok((code, *a)),
        [] => Err(format!(
            "missing key `application` (command {code} is not in the dictionary)"
        )),
        many => Err(format!(
            "missing key `application` (command {code} exists in applications {})",
            many.iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

fn command_code_any(dict: &Dictionary, v: &Value, application: Option<u32>) -> Result<u32, String> {
    match v {
        Value::Number(n) => n
            .as_u64()
            .filter(|&n| n <= 0x00ff_ffff)
            .map(|n| n as u32)
            .ok_or_else(|| format!("command {n} is not a 24-bit command code")),
        Value::String(s) => {
            if let Ok(n) = s.parse::<u32>() {
                return command_code_any(dict, &Value::from(n), application);
            }
            let found = command_matches(dict, s);
            let pick = found
                .iter()
                .find(|(_, a)| Some(*a) == application)
                .or_else(|| found.first());
            pick.map(|(c, _)| *c)
                .ok_or_else(|| format!("command {s:?} is not in the dictionary"))
        }
        _ => Err("`command` must be a name or a number".into()),
    }
}

fn avp_list(
    dict: &Dictionary,
    v: Option<&Value>,
    path: &[String],
) -> Result<Vec<AvpTemplate>, String> {
    match v {
        None => Ok(Vec::new()),
        Some(Value::Array(list)) => list.iter().map(|a| avp(dict, a, path)).collect(),
        Some(_) => Err(match path.last() {
            None => "`avps` must be a list of AVPs".to_string(),
            Some(p) => format!("AVP '{p}': a Grouped value must be a list of AVPs"),
        }),
    }
}

/// "AVP 'Name'" or "AVP 'Inner' in 'Outer'".
fn label(name: &str, path: &[String]) -> String {
    let mut s = format!("AVP '{name}'");
    for p in path.iter().rev() {
        s.push_str(&format!(" in '{p}'"));
    }
    s
}

fn avp(dict: &Dictionary, v: &Value, path: &[String]) -> Result<AvpTemplate, String> {
    let m = table(
        v,
        &["name", "code", "vendor", "mandatory", "value", "hex", "ip"],
    )
    .map_err(|e| {
        let named = v
            .get("name")
            .and_then(Value::as_str)
            .map(|n| label(n, path));
        match (named, path.last()) {
            (Some(l), _) => format!("{l}: {e}"),
            (None, None) => format!("AVP: {e}"),
            (None, Some(p)) => format!("AVP in '{p}': {e}"),
        }
    })?;
    let (name, def, code, vendor) = match (m.get("name"), m.get("code")) {
        (Some(Value::String(n)), None) => {
            let def = dict
                .avp_by_name(n)
                .ok_or_else(|| format!("{} is not in the dictionary", label(n, path)))?;
            if m.contains_key("vendor") {
                return Err(format!(
                    "{}: `vendor` comes from the dictionary; use `code` for a raw AVP",
                    label(n, path)
                ));
            }
            (n.clone(), Some(def), def.code, def.vendor_id)
        }
        (None, Some(c)) => {
            let code = c
                .as_u64()
                .and_then(|c| u32::try_from(c).ok())
                .ok_or_else(|| format!("AVP code {c} is not an Unsigned32"))?;
            let vendor = match m.get("vendor") {
                None => 0,
                Some(v) => v
                    .as_u64()
                    .and_then(|v| u32::try_from(v).ok())
                    .ok_or_else(|| format!("AVP {code}: vendor {v} is not an Unsigned32"))?,
            };
            let def = dict.avp(code, vendor);
            let name = def.map_or_else(|| format!("{code}/{vendor}"), |d| d.name.clone());
            (name, def, code, vendor)
        }
        (Some(_), Some(_)) => {
            return Err(format!(
                "{}: give `name` or `code`, not both",
                label(m["name"].as_str().unwrap_or("?"), path)
            ));
        }
        (Some(n), None) => return Err(format!("AVP name {n} must be text")),
        (None, None) => {
            return Err(match path.last() {
                None => "AVP without `name` or `code`".to_string(),
                Some(p) => format!("AVP in '{p}' without `name` or `code`"),
            });
        }
    };
    let what = label(&name, path);
    let mandatory = match m.get("mandatory") {
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(format!("{what}: `mandatory` must be true or false")),
        // 3GPP `m` (may) rules: sent without M, as the later releases say.
        None => def.is_some_and(|d| d.m_bit == FlagRule::Must),
    };
    let mut head = AvpBuf::new(code, AvpValue::Octets(Vec::new()));
    if vendor != 0 {
        head = head.vendor(vendor);
    }
    if mandatory {
        head = head.mandatory();
    }
    let given: Vec<&str> = ["value", "hex", "ip"]
        .into_iter()
        .filter(|k| m.contains_key(*k))
        .collect();
    if given.len() != 1 {
        return Err(format!(
            "{what}: give exactly one of `value`, `hex`, `ip` (got {})",
            if given.is_empty() {
                "none".to_string()
            } else {
                given.join(", ")
            }
        ));
    }
    let fixed = |data: Vec<u8>| {
        let mut a = head.clone();
        a.value = AvpValue::Octets(data);
        Ok(AvpTemplate::Fixed(a))
    };
    if let Some(h) = m.get("hex") {
        let s = h
            .as_str()
            .ok_or_else(|| format!("{what}: `hex` must be text"))?;
        return values::hex(s)
            .map_err(|e| format!("{what}: {e}"))
            .and_then(fixed);
    }
    if let Some(ip) = m.get("ip") {
        // Raw address octets, for OctetString AVPs holding an IP address
        // (Framed-IP-Address, RFC 7155 §4.4.10.5.1); an Address AVP gets its family.
        let s = ip
            .as_str()
            .ok_or_else(|| format!("{what}: `ip` must be text"))?;
        let parsed: std::net::IpAddr = s
            .parse()
            .map_err(|_| format!("{what}: `ip` {s:?} is not an IPv4 or IPv6 address"))?;
        let data = match (def.map(|d| d.ty), parsed) {
            (Some(AvpType::Address), ip) => values::address(ip).to_bytes(),
            (_, std::net::IpAddr::V4(a)) => a.octets().to_vec(),
            (_, std::net::IpAddr::V6(a)) => a.octets().to_vec(),
        };
        return fixed(data);
    }
    let value = &m["value"];
    let grouped = def.map_or(value.is_array(), |d| d.ty == AvpType::Grouped);
    if grouped {
        let mut inner_path = path.to_vec();
        inner_path.push(name.clone());
        let members = avp_list(dict, Some(value), &inner_path)?;
        if members.iter().all(|a| matches!(a, AvpTemplate::Fixed(_))) {
            let bufs = members
                .into_iter()
                .map(|a| match a {
                    AvpTemplate::Fixed(b) => b,
                    _ => unreachable!("all members are fixed"),
                })
                .collect();
            let mut a = head;
            a.value = AvpValue::Grouped(bufs);
            return Ok(AvpTemplate::Fixed(a));
        }
        return Ok(AvpTemplate::Group { head, members });
    }
    let Some(def) = def else {
        return match value {
            Value::String(s) if s.contains("${") => Err(format!(
                "{what} is not in the dictionary: `${{...}}` variables work only in dictionary AVPs"
            )),
            Value::String(s) => fixed(s.as_bytes().to_vec()),
            _ => Err(format!(
                "{what} is not in the dictionary: give its data as `hex = \"...\"` (or text)"
            )),
        };
    };
    if let Value::String(s) = value
        && s.contains("${")
    {
        substitute(s, &Vars::SAMPLE).map_err(|e| format!("{what}: {e}"))?;
        return Ok(AvpTemplate::Text {
            head,
            def: Box::new(def.clone()),
            text: s.clone(),
        });
    }
    values::encode(def, value)
        .map_err(|e| format!("{what}: {e}"))
        .and_then(fixed)
}

#[cfg(test)]
mod tests;
