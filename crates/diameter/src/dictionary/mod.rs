//! The dictionary as data: AVPs, commands, applications, vendors and enum
//! values read from the text files under `dict/` (format documented at the top
//! of `dict/base.dict`), embedded at build time and parsed once.

mod parse;

use std::collections::HashMap;
use std::sync::OnceLock;

pub use parse::DictError;

/// AVP data formats (RFC 6733 §4.2 basic, §4.3 derived; RFC 4006 adds none on the wire).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AvpType {
    /// OctetString.
    OctetString,
    /// Integer32.
    Integer32,
    /// Integer64.
    Integer64,
    /// Unsigned32.
    Unsigned32,
    /// Unsigned64.
    Unsigned64,
    /// Float32.
    Float32,
    /// Float64.
    Float64,
    /// Grouped.
    Grouped,
    /// Address.
    Address,
    /// Time.
    Time,
    /// UTF8String.
    UTF8String,
    /// DiameterIdentity.
    DiameterIdentity,
    /// DiameterURI.
    DiameterURI,
    /// Enumerated (Integer32).
    Enumerated,
    /// IPFilterRule.
    IPFilterRule,
}

impl AvpType {
    /// Parses the RFC name of the type.
    pub fn from_name(s: &str) -> Option<AvpType> {
        use AvpType::*;
        Some(match s {
            "OctetString" => OctetString,
            "Integer32" => Integer32,
            "Integer64" => Integer64,
            "Unsigned32" => Unsigned32,
            "Unsigned64" => Unsigned64,
            "Float32" => Float32,
            "Float64" => Float64,
            "Grouped" => Grouped,
            "Address" => Address,
            "Time" => Time,
            "UTF8String" => UTF8String,
            "DiameterIdentity" => DiameterIdentity,
            "DiameterURI" => DiameterURI,
            "Enumerated" => Enumerated,
            "IPFilterRule" => IPFilterRule,
            _ => return None,
        })
    }

    /// The data size of fixed-size types.
    pub fn fixed_len(self) -> Option<usize> {
        use AvpType::*;
        match self {
            Integer32 | Unsigned32 | Float32 | Enumerated | Time => Some(4),
            Integer64 | Unsigned64 | Float64 => Some(8),
            _ => None,
        }
    }

    /// Minimum data length, for the zero-filled example of a missing AVP
    /// (RFC 6733 §7.5: "value field ... of correct minimum length").
    pub fn min_len(self) -> usize {
        match self {
            AvpType::Address => 6,
            t => t.fixed_len().unwrap_or(0),
        }
    }
}

/// A flag rule of an AVP definition (RFC 6733 §4.5 table columns).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlagRule {
    /// MUST be set.
    Must,
    /// MAY be set.
    May,
    /// MUST NOT be set.
    MustNot,
}

/// One AVP definition.
#[derive(Clone, Debug, PartialEq)]
pub struct AvpDef {
    /// AVP Code.
    pub code: u32,
    /// Vendor-ID, 0 for IETF (then the V bit must be clear, else set).
    pub vendor_id: u32,
    /// Name as in the standard.
    pub name: String,
    /// Data format.
    pub ty: AvpType,
    /// M bit rule.
    pub m_bit: FlagRule,
    /// Named values of an Enumerated (or named Unsigned32 such as Result-Code).
    pub enums: Vec<(i64, String)>,
    /// For Grouped: AVPs required inside, each a list of alternatives (code, vendor).
    pub required: Vec<Vec<(u32, u32)>>,
    /// For Grouped: the occurrence rules of the contained AVPs (RFC 6733 §4.4).
    pub grammar: Grammar,
}

impl AvpDef {
    /// The name of a value.
    pub fn enum_name(&self, v: i64) -> Option<&str> {
        self.enums
            .iter()
            .find(|(n, _)| *n == v)
            .map(|(_, s)| s.as_str())
    }
    /// The value of a name.
    pub fn enum_value(&self, name: &str) -> Option<i64> {
        self.enums.iter().find(|(_, s)| s == name).map(|(n, _)| *n)
    }
}

/// One command (request or answer) of an application (RFC 6733 §3.2 CCF).
#[derive(Clone, Debug, PartialEq)]
pub struct CommandDef {
    /// Command Code.
    pub code: u32,
    /// Application-ID.
    pub application_id: u32,
    /// Request (R set) or answer.
    pub request: bool,
    /// Abbreviation, e.g. "CCR".
    pub abbrev: String,
    /// Name, e.g. "Credit-Control-Request".
    pub name: String,
    /// PXY in the CCF: the P bit must be set (else must be clear).
    pub proxiable: bool,
    /// Required AVPs (`{ AVP }` / `< AVP >` in the CCF), each a list of alternatives.
    pub required: Vec<Vec<(u32, u32)>>,
    /// Every rule of the CCF with its occurrence counts (RFC 6733 §3.2).
    pub grammar: Grammar,
}

/// The kind of a CCF rule (RFC 6733 §3.2 `fixed`, `required`, `optional`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RuleKind {
    /// `< AVP >`: at a fixed position (the position itself is not checked).
    Fixed,
    /// `{ AVP }`: required.
    Required,
    /// `[ AVP ]`: optional.
    Optional,
}

/// One rule of a command code format or Grouped AVP grammar (RFC 6733 §3.2,
/// §4.4): which AVP (or one of several, the dictionary's `A|B`), how often.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AvpRule {
    /// The AVP, or its alternatives, as (code, vendor).
    pub avps: Vec<(u32, u32)>,
    /// Fixed, required or optional.
    pub kind: RuleKind,
    /// Minimum number of occurrences (0 for optional rules).
    pub min: u32,
    /// Maximum number of occurrences, `None` = no limit; `Some(0)` = MUST NOT
    /// be present (5008 DIAMETER_AVP_NOT_ALLOWED).
    pub max: Option<u32>,
}

/// The occurrence rules of one command or Grouped AVP.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grammar {
    /// The rules in file order.
    pub rules: Vec<AvpRule>,
    /// `*[ AVP ]` present: AVPs no rule names are allowed. When false, a
    /// dictionary AVP no rule names is 5008 DIAMETER_AVP_NOT_ALLOWED.
    pub other_avps: bool,
}

impl Default for Grammar {
    /// No rules, any AVP allowed (what a command without rules means).
    fn default() -> Self {
        Grammar {
            rules: Vec::new(),
            other_avps: true,
        }
    }
}

impl Grammar {
    /// The rule naming this AVP, with its index.
    pub fn rule_for(&self, code: u32, vendor_id: u32) -> Option<(usize, &AvpRule)> {
        self.rules
            .iter()
            .enumerate()
            .find(|(_, r)| r.avps.contains(&(code, vendor_id)))
    }

    /// The required AVPs (rules with a minimum of one or more), each a list of
    /// alternatives: the form of [`CommandDef::required`].
    pub fn required(&self) -> Vec<Vec<(u32, u32)>> {
        self.rules
            .iter()
            .filter(|r| r.min > 0)
            .map(|r| r.avps.clone())
            .collect()
    }
}

/// The lookup tables.
#[derive(Clone, Debug, Default)]
pub struct Dictionary {
    avps: Vec<AvpDef>,
    by_code: HashMap<(u32, u32), usize>,
    by_name: HashMap<String, usize>,
    commands: Vec<CommandDef>,
    cmd_by_key: HashMap<(u32, u32, bool), usize>,
    applications: HashMap<u32, String>,
    vendors: HashMap<u32, String>,
    answer_message: Option<Grammar>,
}

/// The files embedded in the library, in load order.
pub const STANDARD_FILES: [(&str, &str); 6] = [
    ("base.dict", include_str!("../../dict/base.dict")),
    (
        "credit_control.dict",
        include_str!("../../dict/credit_control.dict"),
    ),
    ("gx.dict", include_str!("../../dict/gx.dict")),
    ("rx.dict", include_str!("../../dict/rx.dict")),
    ("s9.dict", include_str!("../../dict/s9.dict")),
    ("corelab.dict", include_str!("../../dict/corelab.dict")),
];

impl Dictionary {
    /// An empty dictionary; add files with [`Dictionary::load_str`].
    pub fn new() -> Self {
        Self::default()
    }

    /// Base (RFC 6733), credit control (RFC 4006), Gx/Gxx (TS 29.212), Rx
    /// (TS 29.214), S9 (TS 29.215), parsed once on first use.
    ///
    /// The embedded files are checked by this crate's tests; were one ever
    /// broken, this returns the definitions loaded before the broken line.
    pub fn standard() -> &'static Dictionary {
        static DICT: OnceLock<Dictionary> = OnceLock::new();
        DICT.get_or_init(|| {
            let mut d = Dictionary::new();
            for (name, text) in STANDARD_FILES {
                if d.load_str(name, text).is_err() {
                    break;
                }
            }
            d
        })
    }

    /// Adds the definitions of one file's text. Names a line refers to must be
    /// defined earlier (in this or a previously loaded file).
    pub fn load_str(&mut self, file: &str, text: &str) -> Result<(), DictError> {
        parse::load(self, file, text)
    }

    /// AVP by code and vendor (0 = IETF).
    pub fn avp(&self, code: u32, vendor_id: u32) -> Option<&AvpDef> {
        self.by_code.get(&(code, vendor_id)).map(|&i| &self.avps[i])
    }
    /// AVP by name.
    pub fn avp_by_name(&self, name: &str) -> Option<&AvpDef> {
        self.by_name.get(name).map(|&i| &self.avps[i])
    }
    /// Command by code, application and R bit.
    pub fn command(&self, code: u32, application_id: u32, request: bool) -> Option<&CommandDef> {
        self.cmd_by_key
            .get(&(code, application_id, request))
            .map(|&i| &self.commands[i])
    }
    /// Application name.
    pub fn application(&self, id: u32) -> Option<&str> {
        self.applications.get(&id).map(String::as_str)
    }
    /// Vendor name.
    pub fn vendor(&self, id: u32) -> Option<&str> {
        self.vendors.get(&id).map(String::as_str)
    }
    /// Every AVP definition.
    pub fn avps(&self) -> impl Iterator<Item = &AvpDef> {
        self.avps.iter()
    }
    /// The CCF of an answer with the E bit (RFC 6733 §7.2 `answer-message`),
    /// from the dictionary's `answer-message` line.
    pub fn answer_message(&self) -> Option<&Grammar> {
        self.answer_message.as_ref()
    }
    /// Every command definition.
    pub fn commands(&self) -> impl Iterator<Item = &CommandDef> {
        self.commands.iter()
    }
}

#[cfg(test)]
mod tests;
