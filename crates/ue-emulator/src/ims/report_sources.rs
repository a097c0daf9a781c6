//! Who may send the IMS client a subscription-failure report (issue 13 item 3): the server it
//! subscribes through, i.e. its proxy (the P-CSCF, or the presence server in direct mode), and
//! any address named with `--report-from` (the IMS core, other presence-server replicas).
//! Free of IO: the addresses are resolved at start-up.
//!
//! The source is the packet's: over UDP the datagram's source address and port (the Via's
//! `received`/`rport` that the transport writes, RFC 3261 §18.2.1, RFC 3581), which a SIP node
//! sends from its listening socket; over TCP the connection's peer, whose port is ephemeral when
//! the server opened the connection, so only its address is compared. A report must also be
//! about a dialog the client holds (`state::ClientState::on_failure_report`).

use std::net::{IpAddr, SocketAddr};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReportSources {
    /// Exact addresses (the proxy, `--report-from IP:PORT`).
    pub addrs: Vec<SocketAddr>,
    /// Any port of these hosts (`--report-from IP`).
    pub hosts: Vec<IpAddr>,
}

impl ReportSources {
    /// Parse one `--report-from` value: `IP:PORT` or `IP`.
    pub fn add(&mut self, value: &str) -> Result<(), String> {
        if let Ok(addr) = value.parse::<SocketAddr>() {
            self.addrs.push(addr);
        } else if let Ok(ip) = value.trim_matches(['[', ']']).parse::<IpAddr>() {
            self.hosts.push(ip);
        } else {
            return Err(format!("{value:?} is neither IP:PORT nor IP"));
        }
        Ok(())
    }

    /// May a report that came from `source` (over a stream transport when `stream`) be acted on?
    pub fn allows(&self, source: SocketAddr, stream: bool) -> bool {
        let ip = canonical(source.ip());
        self.hosts.iter().any(|h| canonical(*h) == ip)
            || self
                .addrs
                .iter()
                .any(|a| canonical(a.ip()) == ip && (stream || a.port() == source.port()))
    }
}

/// An IPv4-mapped IPv6 address as IPv4, so `::ffff:127.0.0.1` matches `127.0.0.1`.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sa(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn udp_needs_the_exact_address_tcp_the_host_and_bare_hosts_any_port() {
        let mut t = ReportSources::default();
        t.add("127.0.0.1:5060").unwrap();
        t.add("10.0.0.9").unwrap();
        assert!(t.allows(sa("127.0.0.1:5060"), false));
        assert!(
            !t.allows(sa("127.0.0.1:40000"), false),
            "a stranger on the same host"
        );
        assert!(
            t.allows(sa("127.0.0.1:40000"), true),
            "a TCP connection the server opened"
        );
        assert!(!t.allows(sa("127.0.0.2:5060"), false));
        assert!(!t.allows(sa("127.0.0.2:40000"), true));
        assert!(t.allows(sa("10.0.0.9:1234"), false));
        assert!(t.allows(sa("[::ffff:127.0.0.1]:5060"), false));
        assert!(t.add("proxy.example").is_err());
    }
}
