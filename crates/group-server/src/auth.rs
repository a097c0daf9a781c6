//! Who may do what (docs/group-server.md, "Authorization").
//!
//! The requester's identity is the asserted identity an aggregation / authentication proxy adds
//! (`X-XCAP-Asserted-Identity`, OMA XDM; else `X-3GPP-Asserted-Identity`, TS 24.109 annex B;
//! else `X-3GPP-Intended-Identity`, the identity the client asks for, which a trusted proxy passes
//! on once it has checked it), believed only from `xcap.trusted_sources`. Then:
//! - the group's `<owner>` may read, change and delete its document;
//! - anyone may create a document that names them as its owner;
//! - `xcap.readers` (the controlling servers) may read every document;
//! - `xcap.admins` may do everything.
//!
//! No identity, or one not allowed: 403 (no challenge is offered, so not 401).

use std::net::IpAddr;

use crate::config::XcapSection;

/// Identity headers, in the order they are believed.
pub const IDENTITY_HEADERS: [&str; 3] = [
    "x-xcap-asserted-identity",
    "x-3gpp-asserted-identity",
    "x-3gpp-intended-identity",
];

/// The requester's identity: the first identity header present (`headers` in the order of
/// [`IDENTITY_HEADERS`]), without quotes or angle brackets, if the request came from a trusted
/// source.
pub fn identity(source: IpAddr, headers: [Option<&str>; 3], cfg: &XcapSection) -> Option<String> {
    if !cfg.trusted_sources.iter().any(|n| n.contains(source)) {
        return None;
    }
    let raw = headers.into_iter().flatten().next()?.trim();
    let raw = raw
        .strip_prefix('"')
        .and_then(|r| r.strip_suffix('"'))
        .unwrap_or(raw)
        .trim();
    let raw = raw
        .strip_prefix('<')
        .and_then(|r| r.strip_suffix('>'))
        .unwrap_or(raw);
    (!raw.is_empty()).then(|| raw.to_string())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
}

/// May `who` have `access` to a document owned by `owner` (the stored owner, or for a new
/// document the owner it names)? `Err` says why not.
pub fn allows(
    who: Option<&str>,
    access: Access,
    owner: Option<&str>,
    cfg: &XcapSection,
) -> Result<(), String> {
    let Some(who) = who else {
        return Err("no asserted identity from a trusted source".into());
    };
    if cfg.admins.iter().any(|a| a == who) {
        return Ok(());
    }
    if access == Access::Read && cfg.readers.iter().any(|r| r == who) {
        return Ok(());
    }
    match owner {
        Some(owner) if owner == who => Ok(()),
        // A request about a document that does not exist: it will get its 404 / 409.
        None => Ok(()),
        Some(_) => Err(format!("{who} is not the group's owner")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::GroupServerConfig;

    #[test]
    fn identity_only_from_trusted_sources() {
        let cfg = GroupServerConfig::defaults().xcap;
        let lo = IpAddr::from([127, 0, 0, 1]);
        let far = IpAddr::from([192, 0, 2, 1]);
        let one = |v| [Some(v), None, None];
        assert_eq!(
            identity(lo, one("\"sip:a@x\""), &cfg).as_deref(),
            Some("sip:a@x")
        );
        assert_eq!(
            identity(lo, [None, Some("sip:c@x"), Some("<sip:b@x>")], &cfg).as_deref(),
            Some("sip:c@x")
        );
        assert_eq!(
            identity(lo, [None, None, Some("<sip:b@x>")], &cfg).as_deref(),
            Some("sip:b@x")
        );
        assert_eq!(identity(far, one("sip:a@x"), &cfg), None);
        assert_eq!(identity(lo, one("  "), &cfg), None);
    }

    #[test]
    fn owner_readers_and_admins() {
        let mut cfg = GroupServerConfig::defaults().xcap;
        cfg.readers = vec!["sip:cf@x".into()];
        cfg.admins = vec!["sip:op@x".into()];
        let owner = Some("sip:alice@x");
        assert!(allows(Some("sip:alice@x"), Access::Write, owner, &cfg).is_ok());
        assert!(allows(Some("sip:bob@x"), Access::Read, owner, &cfg).is_err());
        assert!(allows(Some("sip:cf@x"), Access::Read, owner, &cfg).is_ok());
        assert!(allows(Some("sip:cf@x"), Access::Write, owner, &cfg).is_err());
        assert!(allows(Some("sip:op@x"), Access::Write, owner, &cfg).is_ok());
        assert!(allows(None, Access::Read, owner, &cfg).is_err());
        assert!(allows(None, Access::Read, None, &cfg).is_err());
    }
}
