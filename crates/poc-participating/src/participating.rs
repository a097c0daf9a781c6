//! The participating function's decision on a request (seed 002, steps 301-302 and 308-309),
//! free of IO: who is asking (the asserted identity), may they, and where does it go.
//!
//! 1. An in-dialog request (To tag) is forwarded along its route set only when it came through
//!    our Record-Route (its top Route was ours): the dialog was authenticated when it was
//!    created. Otherwise 403.
//! 2. The identity (RFC 3325): from a trusted source (`participating.trusted_sources`) its
//!    P-Asserted-Identity, required; from anywhere else the From URI, which must be one of our
//!    users sending from the host of that user's contact, and a P-Asserted-Identity naming
//!    someone else is refused (403) — we then assert the identity ourselves.
//! 3. Originating (the identity is our user): barred → 403; a Request-URI in a group domain →
//!    the controlling server of that domain (step 302); one of our users → that user's contact;
//!    else 404.
//! 4. Terminating (the identity is not ours, from a trusted source, towards one of our users):
//!    barred recipient → 403; else the recipient's contact. A group request of someone we do
//!    not serve → 403 (unknown user); towards anyone else → 403: we relay for our users only.

use corelab_sip::headers;
use corelab_sip::proxy::Refusal;

/// A user we serve, as the store has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub uri: String,
    pub contact: String,
    pub barred: bool,
}

/// What the shell knows about a request when it decides.
#[derive(Debug, Clone)]
pub struct Facts {
    /// The request carries a To tag (in a dialog).
    pub in_dialog: bool,
    /// Our own Route entries were on top (and have been popped).
    pub routed_through_us: bool,
    /// The source address is in `participating.trusted_sources`.
    pub trusted_source: bool,
    pub source_ip: std::net::IpAddr,
    /// The P-Asserted-Identity URI, if any.
    pub asserted: Option<String>,
    pub from: String,
    /// The Request-URI's address-of-record.
    pub request_uri: String,
    /// The user the identity names, if we serve them.
    pub originator: Option<User>,
    /// The user the Request-URI names, if we serve them. The shell leaves it unread (`None`)
    /// when the originator is one of ours and the Request-URI is in a group domain: `decide`
    /// sends that request to the controlling function without looking at it.
    pub recipient: Option<User>,
    /// The controlling server of the Request-URI's domain, if it is a group domain.
    pub controlling: Option<String>,
}

/// Why a request was refused: the label of `corelab_poc_participating_requests_refused_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    NotInDialogRoute,
    NoAssertedIdentity,
    UntrustedAssertion,
    UnknownIdentity,
    NotFromContact,
    Barred,
    RecipientBarred,
    NoRoute,
    NotServed,
}

impl Cause {
    pub fn label(self) -> &'static str {
        match self {
            Cause::NotInDialogRoute => "not_in_dialog_route",
            Cause::NoAssertedIdentity => "no_asserted_identity",
            Cause::UntrustedAssertion => "untrusted_assertion",
            Cause::UnknownIdentity => "unknown_identity",
            Cause::NotFromContact => "not_from_contact",
            Cause::Barred => "barred",
            Cause::RecipientBarred => "recipient_barred",
            Cause::NoRoute => "no_route",
            Cause::NotServed => "not_served",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Forward along the request's own route set (in-dialog).
    FollowRoute,
    /// Forward to the controlling server `cf` (pushed as a loose Route; the Request-URI stays
    /// the group URI), asserting `identity`.
    ToControlling {
        cf: String,
        identity: String,
    },
    /// Forward to a user's contact (the new Request-URI), asserting `identity`.
    ToUser {
        contact: String,
        identity: String,
    },
    Refuse(Cause, Refusal),
}

fn refuse(cause: Cause, code: u16, reason: String) -> Decision {
    Decision::Refuse(cause, Refusal::new(code, reason))
}

/// The participating function's decision (module doc, steps 1-4).
pub fn decide(f: &Facts) -> Decision {
    // 1. In a dialog: only along our own Record-Route.
    if f.in_dialog {
        return match f.routed_through_us {
            true => Decision::FollowRoute,
            false => refuse(
                Cause::NotInDialogRoute,
                403,
                "Forbidden (in-dialog request not routed through this proxy)".into(),
            ),
        };
    }
    // 2. Who is asking.
    let identity = if f.trusted_source {
        match &f.asserted {
            Some(a) => aor_of(a),
            None => {
                return refuse(
                    Cause::NoAssertedIdentity,
                    403,
                    "Forbidden (no P-Asserted-Identity)".into(),
                );
            }
        }
    } else {
        let from = aor_of(&f.from);
        if let Some(a) = &f.asserted
            && aor_of(a) != from
        {
            return refuse(
                Cause::UntrustedAssertion,
                403,
                format!("Forbidden (P-Asserted-Identity {a} not from a trusted source)"),
            );
        }
        match &f.originator {
            None => {
                return refuse(
                    Cause::UnknownIdentity,
                    403,
                    format!("Forbidden (unknown user {from})"),
                );
            }
            Some(u) if contact_ip(&u.contact) != Some(f.source_ip) => {
                return refuse(
                    Cause::NotFromContact,
                    403,
                    format!("Forbidden ({from} not sending from its contact)"),
                );
            }
            Some(_) => from,
        }
    };
    // 3. Originating: one of our users.
    if let Some(user) = &f.originator {
        if user.barred {
            return refuse(
                Cause::Barred,
                403,
                format!("Forbidden ({identity} barred from session requests)"),
            );
        }
        if let Some(cf) = &f.controlling {
            return Decision::ToControlling {
                cf: cf.clone(),
                identity,
            };
        }
        return match &f.recipient {
            Some(r) if r.barred => refuse(
                Cause::RecipientBarred,
                403,
                format!("Forbidden ({} barred from session requests)", r.uri),
            ),
            Some(r) => Decision::ToUser {
                contact: r.contact.clone(),
                identity,
            },
            None => refuse(
                Cause::NoRoute,
                404,
                format!("Not Found (no route to {})", f.request_uri),
            ),
        };
    }
    // 4. Terminating: towards one of our users, from a trusted source.
    match &f.recipient {
        Some(r) if r.barred => refuse(
            Cause::RecipientBarred,
            403,
            format!("Forbidden ({} barred from session requests)", r.uri),
        ),
        Some(r) => Decision::ToUser {
            contact: r.contact.clone(),
            identity,
        },
        None if f.controlling.is_some() => refuse(
            Cause::UnknownIdentity,
            403,
            format!("Forbidden (unknown user {identity})"),
        ),
        None => refuse(
            Cause::NotServed,
            403,
            format!(
                "Forbidden (neither {identity} nor {} is served here)",
                f.request_uri
            ),
        ),
    }
}

/// The address-of-record of a URI or name-addr (`<sip:Alice@a.lab;x>` → `sip:Alice@a.lab`).
pub fn aor_of(uri: &str) -> String {
    headers::aor(&headers::uri_of(uri).unwrap_or_else(|| uri.to_string()))
}

/// The IP address in a contact URI's host, if it is one.
fn contact_ip(contact: &str) -> Option<std::net::IpAddr> {
    let hp = corelab_sip::proxy::host_port(contact)?;
    let host = match hp.strip_prefix('[') {
        Some(v6) => v6.split(']').next()?,
        None => hp.rsplit_once(':').map(|(h, _)| h).unwrap_or(&hp),
    };
    host.parse().ok()
}

/// The domain of a URI (`sip:chat@groups.a.lab` → `groups.a.lab`), lower-cased.
pub fn domain_of(uri: &str) -> Option<String> {
    let aor = aor_of(uri);
    let (_, rest) = aor.split_once(':')?;
    Some(
        rest.rsplit_once('@')
            .map(|(_, d)| d)
            .unwrap_or(rest)
            .to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(uri: &str, barred: bool) -> User {
        User {
            uri: uri.into(),
            contact: format!("sip:{}@127.0.0.1:5070", &uri[4..uri.find('@').unwrap()]),
            barred,
        }
    }

    fn facts() -> Facts {
        Facts {
            in_dialog: false,
            routed_through_us: false,
            trusted_source: true,
            source_ip: "127.0.0.1".parse().unwrap(),
            asserted: Some("<sip:alice@a.lab>".into()),
            from: "sip:alice@a.lab".into(),
            request_uri: "sip:chat@groups.a.lab".into(),
            originator: Some(user("sip:alice@a.lab", false)),
            recipient: None,
            controlling: Some("sip:127.0.0.1:5080".into()),
        }
    }

    #[test]
    fn group_request_of_a_served_user_goes_to_the_controlling_server() {
        assert_eq!(
            decide(&facts()),
            Decision::ToControlling {
                cf: "sip:127.0.0.1:5080".into(),
                identity: "sip:alice@a.lab".into()
            }
        );
    }

    #[test]
    fn unknown_or_barred_identity_is_403() {
        let f = Facts {
            originator: None,
            asserted: Some("sip:mallory@a.lab".into()),
            ..facts()
        };
        assert!(matches!(decide(&f), Decision::Refuse(Cause::UnknownIdentity, r) if r.code == 403));
        let f = Facts {
            originator: Some(user("sip:alice@a.lab", true)),
            ..facts()
        };
        assert!(matches!(decide(&f), Decision::Refuse(Cause::Barred, r) if r.code == 403));
        let f = Facts {
            asserted: None,
            ..facts()
        };
        assert!(matches!(
            decide(&f),
            Decision::Refuse(Cause::NoAssertedIdentity, _)
        ));
    }

    #[test]
    fn untrusted_source_is_its_from_sent_from_its_contact() {
        let f = Facts {
            trusted_source: false,
            asserted: None,
            ..facts()
        };
        assert!(matches!(decide(&f), Decision::ToControlling { .. }));
        let f = Facts {
            trusted_source: false,
            asserted: Some("sip:bob@a.lab".into()),
            ..facts()
        };
        assert!(matches!(
            decide(&f),
            Decision::Refuse(Cause::UntrustedAssertion, _)
        ));
        let f = Facts {
            trusted_source: false,
            asserted: None,
            source_ip: "10.9.9.9".parse().unwrap(),
            ..facts()
        };
        assert!(matches!(
            decide(&f),
            Decision::Refuse(Cause::NotFromContact, _)
        ));
        let f = Facts {
            trusted_source: false,
            asserted: None,
            originator: None,
            ..facts()
        };
        assert!(matches!(
            decide(&f),
            Decision::Refuse(Cause::UnknownIdentity, _)
        ));
    }

    #[test]
    fn terminating_request_checks_the_recipient() {
        let base = Facts {
            asserted: Some("sip:cf@groups.a.lab".into()),
            originator: None,
            controlling: None,
            request_uri: "sip:bob@b.lab".into(),
            ..facts()
        };
        let f = Facts {
            recipient: Some(user("sip:bob@b.lab", false)),
            ..base.clone()
        };
        assert!(
            matches!(decide(&f), Decision::ToUser { contact, .. } if contact == "sip:bob@127.0.0.1:5070")
        );
        let f = Facts {
            recipient: Some(user("sip:bob@b.lab", true)),
            ..base.clone()
        };
        assert!(matches!(decide(&f), Decision::Refuse(Cause::RecipientBarred, r) if r.code == 403));
        assert!(matches!(decide(&base), Decision::Refuse(Cause::NotServed, r) if r.code == 403));
    }

    #[test]
    fn in_dialog_only_through_our_record_route() {
        let f = Facts {
            in_dialog: true,
            routed_through_us: true,
            ..facts()
        };
        assert_eq!(decide(&f), Decision::FollowRoute);
        let f = Facts {
            in_dialog: true,
            ..facts()
        };
        assert!(matches!(
            decide(&f),
            Decision::Refuse(Cause::NotInDialogRoute, _)
        ));
    }

    #[test]
    fn unknown_target_of_a_served_user_is_404() {
        let f = Facts {
            controlling: None,
            request_uri: "sip:zed@a.lab".into(),
            ..facts()
        };
        assert!(matches!(decide(&f), Decision::Refuse(Cause::NoRoute, r) if r.code == 404));
    }

    #[test]
    fn domains() {
        assert_eq!(
            domain_of("<sip:chat@Groups.A.lab;x>").as_deref(),
            Some("groups.a.lab")
        );
        assert_eq!(
            contact_ip("sip:a@127.0.0.1:5"),
            Some("127.0.0.1".parse().unwrap())
        );
        assert_eq!(contact_ip("sip:a@[::1]:5"), Some("::1".parse().unwrap()));
    }
}
