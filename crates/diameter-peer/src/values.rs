//! AVP values written in request/answer files → AVP data in wire form, by the
//! AVP's type in the dictionary (RFC 6733 §4.2 basic and §4.3 derived formats).
//!
//! Values arrive as `serde_json::Value` whatever the file format (TOML, JSON and
//! YAML are all read into that tree), so one set of rules covers the three.

use std::net::IpAddr;

use corelab_diameter::{Address, AvpDef, AvpType, Time};
use serde_json::Value;

/// Encodes `v` as the data of an AVP of definition `def` (any type but
/// Grouped). The error says what was expected, without the AVP name (the
/// caller adds the file, request and AVP).
pub fn encode(def: &AvpDef, v: &Value) -> Result<Vec<u8>, String> {
    match def.ty {
        AvpType::OctetString => match v {
            Value::String(s) => Ok(s.as_bytes().to_vec()),
            _ => Err(format!(
                "OctetString value must be a string (or give `hex = \"...\"`), not {}",
                kind(v)
            )),
        },
        AvpType::UTF8String | AvpType::DiameterURI | AvpType::IPFilterRule => {
            text(v).map(String::into_bytes)
        }
        AvpType::DiameterIdentity => {
            let s = text(v)?;
            if s.is_empty() || !s.is_ascii() {
                return Err(format!(
                    "DiameterIdentity must be a non-empty ASCII FQDN, not {s:?}"
                ));
            }
            Ok(s.into_bytes())
        }
        AvpType::Integer32 => Ok(
            (int(def, v, i64::from(i32::MIN), i64::from(i32::MAX))? as i32)
                .to_be_bytes()
                .to_vec(),
        ),
        AvpType::Integer64 => Ok(int(def, v, i64::MIN, i64::MAX)?.to_be_bytes().to_vec()),
        AvpType::Unsigned32 => Ok((int(def, v, 0, i64::from(u32::MAX))? as u32)
            .to_be_bytes()
            .to_vec()),
        AvpType::Enumerated => {
            // Integer32 on the wire; a few 3GPP values are listed as u32
            // (Media-Type OTHER = 4294967295): accept both, keep the bits.
            let n = int(def, v, i64::from(i32::MIN), i64::from(u32::MAX))?;
            Ok((n as u32).to_be_bytes().to_vec())
        }
        AvpType::Unsigned64 => Ok(unsigned64(v)?.to_be_bytes().to_vec()),
        AvpType::Float32 => Ok((float(v)? as f32).to_be_bytes().to_vec()),
        AvpType::Float64 => Ok(float(v)?.to_be_bytes().to_vec()),
        AvpType::Address => {
            let s = text(v)?;
            let ip: IpAddr = s
                .parse()
                .map_err(|_| format!("Address must be IPv4 or IPv6 text, not {s:?}"))?;
            Ok(address(ip).to_bytes())
        }
        AvpType::Time => Ok(Time::from_unix(time(v)?).0.to_be_bytes().to_vec()),
        AvpType::Grouped => Err("Grouped value must be a list of AVPs".into()),
    }
}

/// The Address form of an IP address (family 1 or 2, RFC 6733 §4.3.1).
pub fn address(ip: IpAddr) -> Address {
    match ip {
        IpAddr::V4(a) => Address::V4(a),
        IpAddr::V6(a) => Address::V6(a),
    }
}

/// Hex text ("0a2d0001", "0x0a2d0001", "0a:2d:00:01", blanks allowed) → bytes.
pub fn hex(s: &str) -> Result<Vec<u8>, String> {
    let body = s.strip_prefix("0x").unwrap_or(s);
    let digits: Vec<u8> = body
        .bytes()
        .filter(|b| !matches!(b, b':' | b' ' | b'_' | b'\n' | b'\t'))
        .collect();
    if digits.len() % 2 != 0 {
        return Err(format!("hex {s:?} has an odd number of digits"));
    }
    digits
        .chunks(2)
        .map(|p| {
            let d = |c: u8| (c as char).to_digit(16);
            match (d(p[0]), d(p[1])) {
                (Some(h), Some(l)) => Ok((h * 16 + l) as u8),
                _ => Err(format!("hex {s:?} has a non-hex digit")),
            }
        })
        .collect()
}

/// Seconds since the Unix epoch from an integer, a digit string or RFC 3339
/// text (`2026-11-23T16:00:00Z`, `2026-11-23T17:00:00+01:00`).
pub fn time(v: &Value) -> Result<i64, String> {
    match v {
        Value::Number(n) => n
            .as_i64()
            .ok_or_else(|| format!("Time must be whole seconds, not {n}")),
        Value::String(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
            s.parse().map_err(|_| format!("Time {s:?} is out of range"))
        }
        Value::String(s) => rfc3339(s).ok_or_else(|| {
            format!("Time must be RFC 3339 (2026-11-23T16:00:00Z) or Unix seconds, not {s:?}")
        }),
        _ => Err(format!(
            "Time must be RFC 3339 text or Unix seconds, not {}",
            kind(v)
        )),
    }
}

/// RFC 3339 §5.6 `date-time` → Unix seconds (fractions dropped).
pub fn rfc3339(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20 {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let t = s.get(r)?;
        if !t.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        t.parse().ok()
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let (hour, min, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    if !(1..=12).contains(&month)
        || !(1..=days_in_month(year, month)).contains(&day)
        || hour > 23
        || min > 59
        || sec > 60
    {
        return None;
    }
    let mut i = 19;
    if b[i] == b'.' {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return None;
        }
    }
    let offset = match b.get(i)? {
        b'Z' | b'z' if i + 1 == b.len() => 0,
        sign @ (b'+' | b'-') if i + 6 == b.len() && b[i + 3] == b':' => {
            let (oh, om) = (num(i + 1..i + 3)?, num(i + 4..i + 6)?);
            if oh > 23 || om > 59 {
                return None;
            }
            let o = oh * 3600 + om * 60;
            if *sign == b'+' { o } else { -o }
        }
        _ => return None,
    };
    Some(days_from_civil(year, month, day) * 86_400 + hour * 3600 + min * 60 + sec - offset)
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 (H. Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a table",
    }
}

/// Text for string types; numbers are taken as their decimal text (a TOML
/// `Subscription-Id-Data = 1234` means the digits).
fn text(v: &Value) -> Result<String, String> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        _ => Err(format!("expected text, not {}", kind(v))),
    }
}

/// An integer in `min..=max`, from a number, a decimal string or (for
/// Enumerated and named Unsigned32 such as Result-Code) a label.
fn int(def: &AvpDef, v: &Value, min: i64, max: i64) -> Result<i64, String> {
    let n = match v {
        Value::Number(n) => n
            .as_i64()
            .ok_or_else(|| format!("{n} is not a whole number in {min}..={max}"))?,
        Value::String(s) => match s.trim().parse::<i64>() {
            Ok(n) => n,
            Err(_) => def.enum_value(s).ok_or_else(|| {
                if def.enums.is_empty() {
                    format!("{s:?} is not a number")
                } else {
                    let labels: Vec<&str> = def.enums.iter().map(|(_, l)| l.as_str()).collect();
                    format!(
                        "{s:?} is not a value of {} (one of: {})",
                        def.name,
                        labels.join(", ")
                    )
                }
            })?,
        },
        _ => return Err(format!("expected a number or a name, not {}", kind(v))),
    };
    if n < min || n > max {
        return Err(format!(
            "{n} is out of range {min}..={max} for {:?}",
            def.ty
        ));
    }
    Ok(n)
}

fn unsigned64(v: &Value) -> Result<u64, String> {
    match v {
        Value::Number(n) => n
            .as_u64()
            .ok_or_else(|| format!("{n} is not an Unsigned64")),
        Value::String(s) => s
            .trim()
            .parse()
            .map_err(|_| format!("{s:?} is not an Unsigned64")),
        _ => Err(format!("expected a number, not {}", kind(v))),
    }
}

fn float(v: &Value) -> Result<f64, String> {
    match v {
        Value::Number(n) => n.as_f64().ok_or_else(|| format!("{n} is not a number")),
        Value::String(s) => s
            .trim()
            .parse()
            .map_err(|_| format!("{s:?} is not a number")),
        _ => Err(format!("expected a number, not {}", kind(v))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use corelab_diameter::Dictionary;
    use serde_json::json;

    fn def(name: &str) -> &'static AvpDef {
        Dictionary::standard().avp_by_name(name).unwrap()
    }

    #[test]
    fn enumerated_by_label_or_number() {
        let d = def("CC-Request-Type");
        assert_eq!(encode(d, &json!("INITIAL_REQUEST")).unwrap(), [0, 0, 0, 1]);
        assert_eq!(encode(d, &json!(3)).unwrap(), [0, 0, 0, 3]);
        assert_eq!(encode(d, &json!("2")).unwrap(), [0, 0, 0, 2]);
        let e = encode(d, &json!("INITIAL")).unwrap_err();
        assert!(e.contains("INITIAL_REQUEST, UPDATE_REQUEST"), "{e}");
        // Media-Type OTHER is listed as 4294967295: the bits of -1.
        assert_eq!(
            encode(def("Media-Type"), &json!("OTHER")).unwrap(),
            [0xff; 4]
        );
    }

    #[test]
    fn unsigned32_accepts_result_code_names_and_checks_range() {
        let d = def("Result-Code");
        assert_eq!(
            encode(d, &json!("DIAMETER_SUCCESS")).unwrap(),
            2001u32.to_be_bytes()
        );
        assert!(encode(d, &json!(-1)).is_err());
        assert!(encode(d, &json!(4_294_967_296i64)).is_err());
        assert!(encode(def("CC-Request-Number"), &json!(1.5)).is_err());
    }

    #[test]
    fn unsigned64_and_integer64_and_floats() {
        assert_eq!(
            encode(def("CC-Input-Octets"), &json!(u64::MAX)).unwrap(),
            [0xff; 8]
        );
        assert_eq!(
            encode(def("CC-Input-Octets"), &json!("18446744073709551615")).unwrap(),
            [0xff; 8]
        );
        assert_eq!(
            encode(def("Value-Digits"), &json!(-2)).unwrap(),
            (-2i64).to_be_bytes()
        );
        let mut f = def("Value-Digits").clone();
        f.ty = AvpType::Float32;
        assert_eq!(encode(&f, &json!(1.5)).unwrap(), 1.5f32.to_be_bytes());
        f.ty = AvpType::Float64;
        assert_eq!(encode(&f, &json!(2)).unwrap(), 2f64.to_be_bytes());
    }

    #[test]
    fn address_from_ipv4_and_ipv6_text() {
        let d = def("AN-GW-Address");
        assert_eq!(
            encode(d, &json!("192.0.2.1")).unwrap(),
            [0, 1, 192, 0, 2, 1]
        );
        let v6 = encode(d, &json!("2001:db8::1")).unwrap();
        assert_eq!(&v6[..4], &[0, 2, 0x20, 0x01]);
        assert_eq!(v6.len(), 18);
        assert!(encode(d, &json!("example.net")).is_err());
    }

    #[test]
    fn time_from_rfc3339_or_seconds() {
        assert_eq!(rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(rfc3339("2026-11-23T00:00:00Z"), Some(1_795_392_000));
        assert_eq!(
            rfc3339("2026-11-23T01:00:00.250+01:00"),
            Some(1_795_392_000)
        );
        assert_eq!(rfc3339("2024-02-29T12:00:00-00:30"), Some(1_709_209_800));
        assert_eq!(rfc3339("2023-02-29T00:00:00Z"), None);
        assert_eq!(rfc3339("2026-11-23 00:00:00"), None);
        let d = def("Event-Timestamp");
        let want = Time::from_unix(1_795_392_000).0.to_be_bytes();
        assert_eq!(encode(d, &json!("2026-11-23T00:00:00Z")).unwrap(), want);
        assert_eq!(encode(d, &json!(1_795_392_000)).unwrap(), want);
        assert_eq!(encode(d, &json!("1795392000")).unwrap(), want);
        assert!(encode(d, &json!("yesterday")).is_err());
    }

    #[test]
    fn strings_and_identities() {
        assert_eq!(
            encode(def("Subscription-Id-Data"), &json!(1234)).unwrap(),
            b"1234"
        );
        assert!(encode(def("Origin-Host"), &json!("")).is_err());
        assert!(encode(def("Origin-Host"), &json!("pgw.exämple")).is_err());
        assert!(encode(def("Class"), &json!(5)).is_err());
        assert!(encode(def("Subscription-Id"), &json!("x")).is_err());
    }

    #[test]
    fn hex_forms() {
        assert_eq!(hex("0a2d0001").unwrap(), [10, 45, 0, 1]);
        assert_eq!(hex("0x0A:2D").unwrap(), [10, 45]);
        assert_eq!(hex("").unwrap(), Vec::<u8>::new());
        assert!(hex("abc").is_err());
        assert!(hex("zz").is_err());
    }
}
