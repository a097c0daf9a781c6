//! poc-controlling configuration: the common sections plus `[sip]`, `[groups]`, `[xcap]` and
//! `[media]`. Every key is in the README and docs/poc.md; an error names its key.

use std::net::{IpAddr, SocketAddr};

use corelab_runtime::{CommonConfig, ConfigError};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PocControllingConfig {
    #[serde(flatten)]
    pub common: CommonConfig,
    pub sip: SipSection,
    pub groups: GroupsSection,
    pub xcap: XcapSection,
    pub media: MediaSection,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SipSection {
    /// UDP (and TCP, same port) listen address.
    pub listen: SocketAddr,
    /// Where peers reach us (`host` or `host:port`): Via, Contact. Unset: the bound address.
    pub advertise: Option<String>,
    pub tcp: bool,
    /// RFC 3261 T1 in ms (2xx retransmission, 64·T1 to wait for an ACK).
    pub t1_ms: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupsSection {
    /// Group domains (`lab.example`: every `sip:…@lab.example`) or group URIs
    /// (`sip:team@lab.example`) this controlling function serves; any other group is 404.
    pub served: Vec<String>,
    /// A prearranged (non-join) group: `refuse` (403 "Not a join group") or `join` (handled
    /// like a join group).
    pub prearranged: Prearranged,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Prearranged {
    Refuse,
    Join,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct XcapSection {
    /// The group server's XCAP root, `http://host:port/path` (plain HTTP/1.1).
    pub root: String,
    /// Our identity, sent as `X-XCAP-Asserted-Identity` (one of the group server's
    /// `xcap.readers`).
    pub identity: String,
    /// A fetch (connect, request, whole answer) must end within this, in ms.
    pub timeout_ms: u64,
    /// Largest group document accepted.
    pub max_document_bytes: usize,
    /// A cached group document whose last validation was sent less than this ago (ms) is used
    /// without asking the group server; older, it is revalidated (`If-None-Match`). 0: every
    /// join revalidates. A change on the group server is seen by every join that starts more
    /// than this after it.
    pub revalidate_ms: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MediaSection {
    /// Address the RTP relay binds (one UDP port per participant) and puts in SDP `c=`.
    pub address: IpAddr,
    /// A participant with no RTP and no request for this long is sent a BYE and removed, in s.
    pub participant_timeout_s: u64,
    /// Most participants of one group session when the document sets no limit.
    pub max_participants: u32,
}

impl PocControllingConfig {
    pub fn defaults() -> Self {
        PocControllingConfig {
            common: CommonConfig::defaults("poc-controlling"),
            sip: SipSection {
                listen: SocketAddr::from(([127, 0, 0, 1], 5070)),
                advertise: None,
                tcp: true,
                t1_ms: 500,
            },
            groups: GroupsSection {
                served: vec![],
                prearranged: Prearranged::Refuse,
            },
            xcap: XcapSection {
                root: "http://127.0.0.1:8080/xcap".into(),
                identity: "sip:poc-controlling@lab.example".into(),
                timeout_ms: 2_000,
                max_document_bytes: 262_144,
                revalidate_ms: 200,
            },
            media: MediaSection {
                address: IpAddr::from([127, 0, 0, 1]),
                participant_timeout_s: 120,
                max_participants: 64,
            },
        }
    }

    /// Checks serde cannot express; each error names its key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let err = |m: String| Err(ConfigError(m));
        if self.groups.served.is_empty() {
            return err("groups.served must name at least one group domain or URI".into());
        }
        if let Some(bad) = self
            .groups
            .served
            .iter()
            .find(|s| s.is_empty() || s.contains(' '))
        {
            return err(format!("groups.served: {bad:?} is not a domain or SIP URI"));
        }
        if crate::xcap_client::XcapRoot::parse(&self.xcap.root).is_none() {
            return err(format!(
                "xcap.root: {:?} is not http://host:port/path",
                self.xcap.root
            ));
        }
        if !self.xcap.identity.starts_with("sip:") {
            return err(format!(
                "xcap.identity: {:?} is not a SIP URI",
                self.xcap.identity
            ));
        }
        if self.xcap.timeout_ms == 0 || self.xcap.max_document_bytes == 0 {
            return err("xcap.timeout_ms and xcap.max_document_bytes must be at least 1".into());
        }
        if self.sip.t1_ms == 0 {
            return err("sip.t1_ms must be at least 1".into());
        }
        if let Some(a) = &self.sip.advertise {
            corelab_sip::advertise::Advertise::parse(a)
                .map_err(|e| ConfigError(format!("sip.advertise: {e}")))?;
        }
        if self.media.address.is_unspecified() {
            return err("media.address must be an address peers reach (it goes into SDP)".into());
        }
        if self.media.participant_timeout_s == 0 || self.media.max_participants == 0 {
            return err(
                "media.participant_timeout_s and media.max_participants must be at least 1".into(),
            );
        }
        Ok(())
    }

    /// Whether `group_uri` is one we serve (by URI or by its domain).
    pub fn serves(&self, group_uri: &str) -> bool {
        let domain = group_uri.rsplit_once('@').map(|(_, d)| d);
        self.groups
            .served
            .iter()
            .any(|s| s == group_uri || Some(s.as_str()) == domain)
    }
}

impl corelab_runtime::boot::NodeConfig for PocControllingConfig {
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
        let mut c = PocControllingConfig::defaults();
        assert!(
            c.validate()
                .unwrap_err()
                .to_string()
                .contains("groups.served")
        );
        c.groups.served = vec!["lab.example".into()];
        assert!(c.validate().is_ok());
        assert!(c.serves("sip:team@lab.example"));
        assert!(!c.serves("sip:team@other.example"));
        c.xcap.root = "ftp://x".into();
        assert!(c.validate().unwrap_err().to_string().contains("xcap.root"));
        let mut c2 = PocControllingConfig::defaults();
        c2.groups.served = vec!["sip:team@lab.example".into()];
        c2.media.address = IpAddr::from([0, 0, 0, 0]);
        assert!(
            c2.validate()
                .unwrap_err()
                .to_string()
                .contains("media.address")
        );
        assert!(c2.serves("sip:team@lab.example") && !c2.serves("sip:other@lab.example"));
    }
}
