//! Parser of the dictionary text format (see the header of `dict/base.dict`).

use super::{AvpDef, AvpRule, AvpType, CommandDef, Dictionary, FlagRule, Grammar, RuleKind};

/// A dictionary line that could not be read: file, line number, what and why.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("dictionary {file} line {line}: {msg}")]
pub struct DictError {
    /// File name given to `load_str`.
    pub file: String,
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub msg: String,
}

pub(super) fn load(d: &mut Dictionary, file: &str, text: &str) -> Result<(), DictError> {
    for (i, raw) in text.lines().enumerate() {
        let line = raw.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let words: Vec<&str> = line.split_whitespace().collect();
        load_line(d, &words).map_err(|msg| DictError {
            file: file.to_string(),
            line: i + 1,
            msg: format!("{msg} in `{line}`"),
        })?;
    }
    Ok(())
}

fn num(s: &str) -> Result<u32, String> {
    let r = match s.strip_prefix("0x") {
        Some(h) => u32::from_str_radix(h, 16),
        None => s.parse(),
    };
    r.map_err(|_| format!("`{s}` is not a number"))
}

fn vendor(d: &Dictionary, s: &str) -> Result<u32, String> {
    num(s).or_else(|_| {
        d.vendors
            .iter()
            .find(|(_, n)| n.as_str() == s)
            .map(|(id, _)| *id)
            .ok_or_else(|| format!("unknown vendor `{s}`"))
    })
}

/// `A|B|C` → the alternatives' (code, vendor).
fn names(d: &Dictionary, word: &str) -> Result<Vec<(u32, u32)>, String> {
    word.split('|')
        .map(|n| {
            d.avp_by_name(n)
                .map(|a| (a.code, a.vendor_id))
                .ok_or_else(|| format!("unknown AVP `{n}`"))
        })
        .collect()
}

/// `[min]*[max]` in front of a rule (RFC 6733 §3.2 `qual`).
fn qualifier(q: &str) -> Result<(Option<u32>, Option<u32>), String> {
    if q.is_empty() {
        return Ok((None, None));
    }
    let Some((min, max)) = q.split_once('*') else {
        return Err(format!("qualifier `{q}` is not [min]*[max]"));
    };
    let n = |s: &str| -> Result<Option<u32>, String> {
        if s.is_empty() {
            Ok(None)
        } else {
            s.parse()
                .map(Some)
                .map_err(|_| format!("qualifier `{q}` is not [min]*[max]"))
        }
    };
    Ok((n(min)?, n(max)?))
}

/// The rule words of a `command`, `grouped` or `answer-message` line (format
/// at the top of `dict/base.dict`). A bare name (the older form) is a required
/// AVP with no maximum; a line of bare names only allows any other AVP.
fn grammar(d: &Dictionary, words: &[&str]) -> Result<Grammar, String> {
    let mut g = Grammar {
        rules: Vec::new(),
        other_avps: false,
    };
    let mut any_bracket = false;
    for w in words {
        let Some(open) = w.find(['<', '{', '[']) else {
            g.rules.push(AvpRule {
                avps: names(d, w)?,
                kind: RuleKind::Required,
                min: 1,
                max: None,
            });
            continue;
        };
        any_bracket = true;
        let (kind, close) = match &w[open..open + 1] {
            "<" => (RuleKind::Fixed, '>'),
            "{" => (RuleKind::Required, '}'),
            _ => (RuleKind::Optional, ']'),
        };
        let Some(inner) = w[open + 1..].strip_suffix(close) else {
            return Err(format!("rule `{w}` does not end with `{close}`"));
        };
        if inner == "AVP" {
            // `*[ AVP ]` (or `1*{ AVP }` in Failed-AVP): anything else may appear.
            g.other_avps = true;
            continue;
        }
        // No qualifier: exactly one (fixed, required) or at most one (optional).
        let (min, max) = if open == 0 {
            (u32::from(kind != RuleKind::Optional), Some(1))
        } else {
            let (min, max) = qualifier(&w[..open])?;
            (min.unwrap_or(u32::from(kind == RuleKind::Required)), max)
        };
        if kind == RuleKind::Optional && min > 0 {
            return Err(format!("rule `{w}`: an optional rule has minimum 0"));
        }
        if kind == RuleKind::Required && min == 0 {
            return Err(format!("rule `{w}`: a required rule has minimum 1 or more"));
        }
        if max.is_some_and(|m| m < min) {
            return Err(format!("rule `{w}`: maximum below minimum"));
        }
        let avps = names(d, inner)?;
        if avps.iter().any(|&(c, v)| g.rule_for(c, v).is_some()) {
            return Err(format!("rule `{w}`: AVP already in another rule"));
        }
        g.rules.push(AvpRule {
            avps,
            kind,
            min,
            max,
        });
    }
    if !any_bracket {
        g.other_avps = true;
    }
    Ok(g)
}

fn load_line(d: &mut Dictionary, w: &[&str]) -> Result<(), String> {
    match w {
        ["vendor", id, name] => {
            d.vendors.insert(num(id)?, name.to_string());
        }
        ["application", id, name] => {
            d.applications.insert(num(id)?, name.to_string());
        }
        ["avp", code, ven, name, ty, m] => {
            let def = AvpDef {
                code: num(code)?,
                vendor_id: vendor(d, ven)?,
                name: name.to_string(),
                ty: AvpType::from_name(ty).ok_or_else(|| format!("unknown type `{ty}`"))?,
                m_bit: match *m {
                    "M" => FlagRule::Must,
                    "m" => FlagRule::May,
                    "-" => FlagRule::MustNot,
                    _ => return Err(format!("M rule `{m}` is not M, m or -")),
                },
                enums: Vec::new(),
                required: Vec::new(),
                grammar: Grammar::default(),
            };
            if d.by_name.contains_key(*name) {
                return Err(format!("AVP `{name}` defined twice"));
            }
            if d.by_code.contains_key(&(def.code, def.vendor_id)) {
                return Err(format!("AVP code {code} vendor {ven} defined twice"));
            }
            let i = d.avps.len();
            d.by_code.insert((def.code, def.vendor_id), i);
            d.by_name.insert(def.name.clone(), i);
            d.avps.push(def);
        }
        ["enum", avp, value, label] => {
            let v: i64 = value
                .parse()
                .map_err(|_| format!("`{value}` is not a number"))?;
            let i = *d
                .by_name
                .get(*avp)
                .ok_or_else(|| format!("unknown AVP `{avp}`"))?;
            d.avps[i].enums.push((v, label.to_string()));
        }
        ["grouped", avp, rules @ ..] => {
            let grammar = grammar(d, rules)?;
            let i = *d
                .by_name
                .get(*avp)
                .ok_or_else(|| format!("unknown AVP `{avp}`"))?;
            if d.avps[i].ty != AvpType::Grouped {
                return Err(format!("`{avp}` is not Grouped"));
            }
            d.avps[i].required = grammar.required();
            d.avps[i].grammar = grammar;
        }
        ["answer-message", rules @ ..] => {
            d.answer_message = Some(grammar(d, rules)?);
        }
        ["command", code, app, ra, abbrev, name, pxy, rules @ ..] => {
            let request = match *ra {
                "R" => true,
                "A" => false,
                _ => return Err(format!("`{ra}` is not R or A")),
            };
            let proxiable = match *pxy {
                "P" => true,
                "-" => false,
                _ => return Err(format!("`{pxy}` is not P or -")),
            };
            let def = CommandDef {
                code: num(code)?,
                application_id: num(app)?,
                request,
                abbrev: abbrev.to_string(),
                name: name.to_string(),
                proxiable,
                required: Vec::new(),
                grammar: grammar(d, rules)?,
            };
            let def = CommandDef {
                required: def.grammar.required(),
                ..def
            };
            if !d.applications.contains_key(&def.application_id) {
                return Err(format!("unknown application {app}"));
            }
            let key = (def.code, def.application_id, request);
            if d.cmd_by_key.contains_key(&key) {
                return Err(format!("command {code} app {app} {ra} defined twice"));
            }
            d.cmd_by_key.insert(key, d.commands.len());
            d.commands.push(def);
        }
        _ => return Err("unrecognized line".to_string()),
    }
    Ok(())
}
