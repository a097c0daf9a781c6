//! group-server configuration: the common sections plus `[xcap]`. Every key is in the README
//! and docs/group-server.md.

use std::net::{IpAddr, SocketAddr};

use corelab_runtime::{CommonConfig, ConfigError};

use crate::network::Network;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GroupServerConfig {
    #[serde(flatten)]
    pub common: CommonConfig,
    pub xcap: XcapSection,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct XcapSection {
    /// The XCAP HTTP listener (not the admin server's).
    pub listen: SocketAddr,
    /// Path of the XCAP root (RFC 4825 §6.1); documents are under `<root>/<auid>/users/…`.
    pub root: String,
    /// Largest request body accepted (413 beyond).
    pub max_body_bytes: usize,
    /// Connections open at once; more are closed on accept.
    pub max_connections: usize,
    /// A request's headers must arrive within this, in ms (the connection is closed after; this
    /// also ends an idle keep-alive connection).
    pub header_timeout_ms: u64,
    /// A request body must arrive whole within this, in ms (408 after).
    pub body_timeout_ms: u64,
    /// Largest document kept after an edit (409 `<constraint-failure>` beyond).
    pub max_document_bytes: usize,
    /// Sources (addresses or networks, `10.0.0.0/8`) whose asserted identity header is
    /// believed: the aggregation / authentication proxy. From any other source the header is
    /// ignored and the request has no identity (403).
    pub trusted_sources: Vec<Network>,
    /// Identities that may read every group (the controlling servers).
    pub readers: Vec<String>,
    /// Identities that may read and write every group (operators).
    pub admins: Vec<String>,
}

impl GroupServerConfig {
    pub fn defaults() -> Self {
        GroupServerConfig {
            common: CommonConfig::defaults("group-server"),
            xcap: XcapSection {
                listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
                root: "/xcap".into(),
                max_body_bytes: 65_536,
                max_document_bytes: 262_144,
                max_connections: 256,
                header_timeout_ms: 10_000,
                body_timeout_ms: 10_000,
                trusted_sources: vec![
                    Network::from(IpAddr::from([127, 0, 0, 1])),
                    Network::from(IpAddr::from(std::net::Ipv6Addr::LOCALHOST)),
                ],
                readers: vec![],
                admins: vec![],
            },
        }
    }

    /// Checks serde cannot express; each error names its key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let err = |m: &str| Err(ConfigError(m.into()));
        if !self.xcap.root.starts_with('/') || self.xcap.root.contains("~~") {
            return err("xcap.root must be a path starting with / (e.g. /xcap)");
        }
        if self.xcap.max_body_bytes == 0 {
            return err("xcap.max_body_bytes must be at least 1");
        }
        if self.xcap.body_timeout_ms == 0 || self.xcap.header_timeout_ms == 0 {
            return err("xcap.body_timeout_ms and xcap.header_timeout_ms must be at least 1");
        }
        if !(1..=1_000_000).contains(&self.xcap.max_connections) {
            return err("xcap.max_connections must be 1..=1000000");
        }
        if self.xcap.max_document_bytes < self.xcap.max_body_bytes {
            return err("xcap.max_document_bytes must be at least xcap.max_body_bytes");
        }
        for (key, list) in [
            ("xcap.readers", &self.xcap.readers),
            ("xcap.admins", &self.xcap.admins),
        ] {
            if let Some(bad) = list
                .iter()
                .find(|u| crate::document::sip_uri(u, key).is_err())
            {
                return Err(ConfigError(format!("{key}: {bad:?} is not a SIP URI")));
            }
        }
        Ok(())
    }
}

impl corelab_runtime::boot::NodeConfig for GroupServerConfig {
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
        let mut c = GroupServerConfig::defaults();
        assert!(c.validate().is_ok());
        c.xcap.readers = vec!["poc-controlling".into()];
        assert!(
            c.validate()
                .unwrap_err()
                .to_string()
                .contains("xcap.readers")
        );
        let mut c = GroupServerConfig::defaults();
        c.xcap.root = "xcap".into();
        assert!(c.validate().unwrap_err().to_string().contains("xcap.root"));
        let mut c = GroupServerConfig::defaults();
        c.xcap.max_document_bytes = 1;
        assert!(
            c.validate()
                .unwrap_err()
                .to_string()
                .contains("xcap.max_document_bytes")
        );
    }
}
