//! poc-participating configuration: the common sections plus `[sip]`, `[serve]`, `[proxy]` and
//! `[participating]`. Every key is in the README and docs/poc.md.

use std::net::{IpAddr, SocketAddr};

use corelab_runtime::{CommonConfig, ConfigError};
use corelab_sip::headers;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PfConfig {
    #[serde(flatten)]
    pub common: CommonConfig,
    pub sip: SipSection,
    #[serde(default)]
    pub serve: ServeSection,
    pub proxy: ProxySection,
    pub participating: ParticipatingSection,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SipSection {
    /// UDP (and TCP, same port) listen address.
    pub listen: SocketAddr,
    /// Where peers reach us, `host` or `host:port`: Via sent-by and Record-Route.
    pub advertise: Option<String>,
    pub tcp: bool,
    /// Accepted TCP connections open at once.
    pub max_connections: usize,
    pub tcp_idle_timeout_ms: u64,
    pub tcp_message_timeout_ms: u64,
    /// RFC 3261 T1 in milliseconds (Timer B/F = 64·T1).
    pub t1_ms: u64,
}

/// `[serve]`: the serve loop's bounds (`corelab_sip::serve`).
pub type ServeSection = corelab_sip::serve::ServeConfig;

/// `[proxy]`: bounds of the stateful proxy.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProxySection {
    /// Forwarded transactions in flight at once; one more is answered 503.
    pub max_pending: usize,
    /// Longest a forwarded transaction waits for its final response, in ms (RFC 3261 Timer C,
    /// more than 3 min); then the INVITE is cancelled and 408 sent upstream.
    pub max_transaction_ms: u64,
}

/// `[participating]`: whom we serve and where group requests go.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParticipatingSection {
    /// Sources (IP addresses) whose P-Asserted-Identity is believed (RFC 3325 trust domain:
    /// the controlling servers, an IMS core). From any other source the identity is the From
    /// URI of one of our users, sent from the host of that user's contact.
    pub trusted_sources: Vec<IpAddr>,
    /// The controlling server of each group domain: `{ domain = "groups.a.lab",
    /// uri = "sip:10.0.0.5:5060" }` (`;transport=tcp` for TCP).
    pub controlling: Vec<Controlling>,
    /// Users provisioned into the store at start (created or replaced).
    pub users: Vec<UserEntry>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Controlling {
    pub domain: String,
    pub uri: String,
}

/// A user we serve.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct UserEntry {
    /// The user's SIP URI (address-of-record), e.g. `sip:alice@a.lab`.
    pub uri: String,
    /// Where requests towards the user go, e.g. `sip:alice@10.0.0.7:5070`.
    pub contact: String,
    /// Barred from sending and receiving group session requests.
    #[serde(default)]
    pub barred: bool,
}

impl PfConfig {
    pub fn defaults() -> Self {
        PfConfig {
            common: CommonConfig::defaults("poc-participating"),
            sip: SipSection {
                listen: SocketAddr::from(([127, 0, 0, 1], 5060)),
                advertise: None,
                tcp: true,
                max_connections: 512,
                tcp_idle_timeout_ms: 300_000,
                tcp_message_timeout_ms: 10_000,
                t1_ms: 500,
            },
            serve: ServeSection::default(),
            proxy: ProxySection {
                max_pending: 4096,
                max_transaction_ms: 200_000,
            },
            participating: ParticipatingSection {
                trusted_sources: vec![],
                controlling: vec![],
                users: vec![],
            },
        }
    }

    /// Checks serde cannot express; each error names its key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let err = |m: String| Err(ConfigError(m));
        if self.sip.t1_ms == 0 {
            return err("sip.t1_ms must be at least 1".into());
        }
        if let Some(a) = &self.sip.advertise {
            corelab_sip::advertise::Advertise::parse(a).map_err(ConfigError)?;
        }
        if self.sip.max_connections == 0
            || self.sip.tcp_idle_timeout_ms == 0
            || self.sip.tcp_message_timeout_ms == 0
        {
            return err("sip.max_connections, sip.tcp_idle_timeout_ms and sip.tcp_message_timeout_ms must be at least 1".into());
        }
        if self.proxy.max_pending == 0 || self.proxy.max_transaction_ms == 0 {
            return err("proxy.max_pending and proxy.max_transaction_ms must be at least 1".into());
        }
        for (i, c) in self.participating.controlling.iter().enumerate() {
            if c.domain.is_empty() || c.domain.contains(['@', ':', ';', ' ']) {
                return err(format!(
                    "participating.controlling[{i}].domain {:?}: not a domain name",
                    c.domain
                ));
            }
            if !is_sip_uri(&c.uri) {
                return err(format!(
                    "participating.controlling[{i}].uri {:?}: not a SIP URI with a host (e.g. sip:10.0.0.5:5060)",
                    c.uri
                ));
            }
        }
        for (i, u) in self.participating.users.iter().enumerate() {
            check_user(u).map_err(|m| ConfigError(format!("participating.users[{i}].{m}")))?;
        }
        Ok(())
    }
}

/// A `sip:`/`sips:` URI with a host we can send to.
fn is_sip_uri(uri: &str) -> bool {
    (uri.starts_with("sip:") || uri.starts_with("sips:"))
        && corelab_sip::node::destination_of(uri).is_some()
}

/// A user entry's URIs; the error names the field (`uri ...`, `contact ...`).
pub fn check_user(u: &UserEntry) -> Result<(), String> {
    if !u.uri.starts_with("sip:") || !u.uri.contains('@') || headers::uri_of(&u.uri).is_none() {
        return Err(format!(
            "uri {:?}: not a SIP URI of a user (sip:user@domain)",
            u.uri
        ));
    }
    if !is_sip_uri(&u.contact) {
        return Err(format!(
            "contact {:?}: not a SIP URI with a host",
            u.contact
        ));
    }
    Ok(())
}

impl corelab_runtime::boot::NodeConfig for PfConfig {
    fn common(&self) -> &corelab_runtime::CommonConfig {
        &self.common
    }
    fn check(&self) -> Result<(), corelab_runtime::ConfigError> {
        self.validate()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_values_name_their_key() {
        let mut c = PfConfig::defaults();
        assert!(c.validate().is_ok());
        c.participating.controlling.push(Controlling {
            domain: "groups.a.lab".into(),
            uri: "nonsense".into(),
        });
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains("participating.controlling[0].uri"), "{e}");
        let mut c = PfConfig::defaults();
        c.participating.users.push(UserEntry {
            uri: "alice".into(),
            contact: "sip:alice@127.0.0.1:5070".into(),
            barred: false,
        });
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains("participating.users[0].uri"), "{e}");
        let mut c = PfConfig::defaults();
        c.proxy.max_pending = 0;
        assert!(
            c.validate()
                .unwrap_err()
                .to_string()
                .contains("proxy.max_pending")
        );
    }
}
