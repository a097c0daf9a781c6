//! Parser of the dictionary text format (see the header of `dict/base.dict`).

use super::{AvpDef, AvpType, CommandDef, Dictionary, FlagRule};

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
fn required(d: &Dictionary, words: &[&str]) -> Result<Vec<Vec<(u32, u32)>>, String> {
    words
        .iter()
        .map(|w| {
            w.split('|')
                .map(|n| {
                    d.avp_by_name(n)
                        .map(|a| (a.code, a.vendor_id))
                        .ok_or_else(|| format!("unknown AVP `{n}`"))
                })
                .collect()
        })
        .collect()
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
        ["grouped", avp, req @ ..] => {
            let req = required(d, req)?;
            let i = *d
                .by_name
                .get(*avp)
                .ok_or_else(|| format!("unknown AVP `{avp}`"))?;
            if d.avps[i].ty != AvpType::Grouped {
                return Err(format!("`{avp}` is not Grouped"));
            }
            d.avps[i].required = req;
        }
        ["command", code, app, ra, abbrev, name, pxy, req @ ..] => {
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
                required: required(d, req)?,
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
