//! Where a SIP node says it can be reached: the `sent-by` of its Via (RFC 3261 §18.1.1,
//! §20.42), the host part of its Contact (§8.1.1.8) and of its Record-Route (§16.6 step 4).
//!
//! The address a node binds to is not always the address others can reach: a node bound to
//! `0.0.0.0` has no single address, and behind NAT or a Kubernetes Service the reachable address
//! is not on the host at all. `sip.advertise` gives it separately, as `host` or `host:port`.

use std::fmt;
use std::net::{IpAddr, SocketAddr};

/// A configured advertised address: a host (name or IP literal) and, optionally, a port. The
/// port defaults to the bound port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Advertise {
    /// A host name, an IPv4 address or an IPv6 address (without brackets).
    pub host: String,
    pub port: Option<u16>,
}

impl Advertise {
    /// `host`, `host:port`, `[v6]`, `[v6]:port` or a bare IPv6 address.
    pub fn parse(value: &str) -> Result<Advertise, String> {
        let value = value.trim();
        let bad = |why: &str| Err(format!("sip.advertise {value:?}: {why}"));
        if value.is_empty() {
            return bad("empty (use host or host:port)");
        }
        if let Ok(ip) = value.parse::<IpAddr>() {
            return Ok(Advertise {
                host: ip.to_string(),
                port: None,
            });
        }
        if let Ok(sa) = value.parse::<SocketAddr>() {
            return Ok(Advertise {
                host: sa.ip().to_string(),
                port: Some(sa.port()),
            });
        }
        if let Some(v6) = value.strip_prefix('[').and_then(|v| v.strip_suffix(']')) {
            return match v6.parse::<std::net::Ipv6Addr>() {
                Ok(ip) => Ok(Advertise {
                    host: ip.to_string(),
                    port: None,
                }),
                Err(_) => bad("not an IPv6 address inside [ ]"),
            };
        }
        let (host, port) = match value.rsplit_once(':') {
            Some((h, p)) => match p.parse::<u16>() {
                Ok(port) if port > 0 => (h, Some(port)),
                _ => return bad("port must be 1-65535"),
            },
            None => (value, None),
        };
        // RFC 3261 §25.1 hostname: labels of alphanumerics and '-', separated by '.'.
        let label_ok = |l: &str| {
            !l.is_empty()
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        };
        if !host.trim_end_matches('.').split('.').all(label_ok) {
            return bad("not a host name or IP address");
        }
        Ok(Advertise {
            host: host.to_string(),
            port,
        })
    }

    /// The `host:port` to put on the wire, with `bound_port` when no port was configured.
    pub fn host_port(&self, bound_port: u16) -> HostPort {
        HostPort {
            host: self.host.clone(),
            port: self.port.unwrap_or(bound_port),
        }
    }
}

/// A host and port as written in Via sent-by and SIP URIs (IPv6 in brackets).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPort {
    pub host: String,
    pub port: u16,
}

impl From<SocketAddr> for HostPort {
    fn from(addr: SocketAddr) -> HostPort {
        HostPort {
            host: addr.ip().to_string(),
            port: addr.port(),
        }
    }
}

impl fmt::Display for HostPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_with_and_without_port() {
        let a = Advertise::parse("127.0.0.2:5070").unwrap();
        assert_eq!(a.host_port(5060).to_string(), "127.0.0.2:5070");
        let a = Advertise::parse("presence.lab.example").unwrap();
        assert_eq!(a.host_port(5060).to_string(), "presence.lab.example:5060");
        let a = Advertise::parse("pres-0.pres.svc:5062").unwrap();
        assert_eq!(a.host_port(1).to_string(), "pres-0.pres.svc:5062");
        let a = Advertise::parse("[2001:db8::1]:5070").unwrap();
        assert_eq!(a.host_port(5060).to_string(), "[2001:db8::1]:5070");
        let a = Advertise::parse("2001:db8::1").unwrap();
        assert_eq!(a.host_port(5060).to_string(), "[2001:db8::1]:5060");
        let a = Advertise::parse("[2001:db8::1]").unwrap();
        assert_eq!(a.port, None);
    }

    #[test]
    fn garbage_is_refused_naming_the_key() {
        for bad in [
            "",
            "host:0",
            "host:99999",
            "a b",
            "-x.example",
            "h;x=1",
            "sip:h",
        ] {
            let e = Advertise::parse(bad).unwrap_err();
            assert!(e.starts_with("sip.advertise"), "{bad}: {e}");
        }
    }
}
