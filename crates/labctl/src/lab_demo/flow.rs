//! The messages the lab's wire taps saw during a demo, as ladder arrows (the terminal's
//! counterpart of the console page's ladders, `console/index.html`).
//!
//! A message between two lab nodes is seen twice, sent by one and received by the other (the
//! same bytes): it becomes one arrow, and the receiver's view of the sender's address (an
//! ephemeral TCP port) is learned as the sender's alias. A message with a process outside the
//! lab (the demo's clients) is seen once; that side's lane is named by its address.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::SystemTime;

use corelab_wire_tap::{Direction, Protocol};

use super::Check;
use crate::console::events::Stored;
use crate::ladder::{Ladder, Lane};

/// The key of `node_by_addr` naming every address nothing else names (a demo's one client).
pub const ANY: &str = "*";

/// One message on the ladder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arrow {
    pub at: SystemTime,
    pub from: String,
    pub to: String,
    pub label: String,
}

/// The arrows of `events` (in time order), lanes named through `node_by_addr` (`ip:port` → a
/// lab node, or a demo's process). Messages that name no flow (Diameter watchdogs, capabilities exchange)
/// are left out, as on the console.
pub fn arrows(events: &[Arc<Stored>], node_by_addr: &BTreeMap<String, String>) -> Vec<Arrow> {
    let events: Vec<&Arc<Stored>> = events
        .iter()
        .filter(|s| !s.flow.is_empty() || s.event.protocol == Protocol::Nas5gs)
        .collect();
    let mut by_bytes: HashMap<&[u8], Vec<usize>> = HashMap::new();
    for (i, s) in events.iter().enumerate() {
        by_bytes.entry(&s.event.bytes).or_default().push(i);
    }
    let mut hidden = vec![false; events.len()];
    let mut paired = vec![false; events.len()];
    let mut alias: HashMap<String, String> = HashMap::new();
    for (i, s) in events.iter().enumerate() {
        if paired[i] {
            continue;
        }
        let partner = by_bytes[s.event.bytes.as_slice()]
            .iter()
            .copied()
            .find(|&j| {
                j != i
                    && !paired[j]
                    && events[j].node != s.node
                    && events[j].event.direction != s.event.direction
            });
        let Some(j) = partner else { continue };
        paired[i] = true;
        paired[j] = true;
        let (sent, received) = if s.event.direction == Direction::Sent {
            (i, j)
        } else {
            (j, i)
        };
        hidden[received] = true;
        if let Some(remote) = events[received].event.remote {
            alias.insert(remote.to_string(), events[sent].node.clone());
        }
        if let Some(remote) = events[sent].event.remote
            && !node_by_addr.contains_key(&remote.to_string())
        {
            alias.insert(remote.to_string(), events[received].node.clone());
        }
    }
    let lane = |s: &Stored| -> String {
        match s.event.remote {
            None if s.event.protocol == Protocol::Nas5gs => "gNB / UE".into(),
            None => "?".into(),
            Some(a) => {
                let a = a.to_string();
                node_by_addr
                    .get(&a)
                    .or_else(|| alias.get(&a))
                    .or_else(|| node_by_addr.get(ANY))
                    .cloned()
                    .unwrap_or(a)
            }
        }
    };
    events
        .iter()
        .zip(hidden)
        .filter(|(_, h)| !h)
        .map(|(s, _)| {
            let (from, to) = match s.event.direction {
                Direction::Sent => (s.node.clone(), lane(s)),
                Direction::Received => (lane(s), s.node.clone()),
            };
            Arrow {
                at: s.event.at,
                from,
                to,
                label: label(&s.event.summary),
            }
        })
        .collect()
}

/// A summary short enough for an arrow: no SIP version, no Diameter header fields.
fn label(summary: &str) -> String {
    let s = summary.split(" app=").next().unwrap_or(summary);
    s.trim_start_matches("SIP/2.0 ")
        .trim_end_matches(" SIP/2.0")
        .to_string()
}

/// Print `arrows` and `checks` as one ladder in time order, each check's verdict after the
/// messages before it; the count of checks passed and failed.
pub fn print(title: &str, arrows: &[Arrow], checks: &[Check]) -> (usize, usize) {
    let mut lanes: Vec<&str> = Vec::new();
    for a in arrows {
        for l in [&a.from, &a.to] {
            if !lanes.contains(&l.as_str()) {
                lanes.push(l);
            }
        }
    }
    let heads: Vec<(&str, &str)> = lanes.iter().map(|l| (*l, *l)).collect();
    let width = (150 / lanes.len().max(1)).clamp(18, 40);
    let mut ladder = Ladder::new(&heads, width);
    ladder.head(title);
    let index = |l: &str| Lane(lanes.iter().position(|x| *x == l).unwrap_or(0));
    let mut checks = checks.iter().peekable();
    for a in arrows {
        while let Some(c) = checks.next_if(|c| c.at < a.at) {
            ladder.verdict(c.pass, &format!("{}: {}", c.step, c.detail));
        }
        ladder.message(index(&a.from), index(&a.to), &a.label);
    }
    for c in checks {
        ladder.verdict(c.pass, &format!("{}: {}", c.step, c.detail));
    }
    (ladder.passed, ladder.failed)
}

#[cfg(test)]
mod tests {
    use corelab_wire_tap::{Ids, Transport, WireEvent};

    use super::*;

    fn seen(
        node: &str,
        direction: Direction,
        remote: Option<&str>,
        protocol: Protocol,
        bytes: &[u8],
        ids: Ids,
    ) -> Arc<Stored> {
        let event = WireEvent {
            at: SystemTime::UNIX_EPOCH,
            direction,
            transport: Transport::Tcp,
            protocol,
            local: None,
            remote: remote.and_then(|r| r.parse().ok()),
            summary: String::from_utf8_lossy(bytes).into_owned(),
            bytes: bytes.to_vec(),
            ids,
        };
        Arc::new(Stored::new(0, node.into(), event))
    }

    fn session() -> Ids {
        Ids {
            session_id: Some("s1".into()),
            ..Ids::default()
        }
    }

    #[test]
    fn a_message_both_nodes_saw_is_one_arrow_and_ephemeral_ports_are_learned() {
        let nodes: BTreeMap<String, String> = [
            ("127.0.0.1:3868".to_string(), "vdra".to_string()),
            ("127.0.0.1:3869".to_string(), "vpcrf".to_string()),
            (ANY.to_string(), "BBERF".to_string()),
        ]
        .into();
        use Direction::{Received, Sent};
        let (d, n) = (Protocol::Diameter, Protocol::Nas5gs);
        let events = [
            seen(
                "vdra",
                Received,
                Some("127.0.0.1:50000"),
                d,
                b"CCR app=1 hbh=1",
                session(),
            ),
            seen(
                "vdra",
                Sent,
                Some("127.0.0.1:3869"),
                d,
                b"CCR app=1 hbh=2",
                session(),
            ),
            seen(
                "vpcrf",
                Received,
                Some("127.0.0.1:40000"),
                d,
                b"CCR app=1 hbh=2",
                session(),
            ),
            seen(
                "vpcrf",
                Sent,
                Some("127.0.0.1:40000"),
                d,
                b"CCA app=1 hbh=2",
                session(),
            ),
            seen(
                "vdra",
                Received,
                Some("127.0.0.1:3869"),
                d,
                b"CCA app=1 hbh=2",
                session(),
            ),
            // A watchdog names no flow: left out.
            seen(
                "vdra",
                Sent,
                Some("127.0.0.1:3869"),
                d,
                b"DWR",
                Ids::default(),
            ),
            // A UE's first REGISTRATION REQUEST has no SUPI yet: kept.
            seen(
                "sm",
                Received,
                None,
                n,
                b"REGISTRATION REQUEST",
                Ids::default(),
            ),
        ];
        let got: Vec<(String, String, String)> = arrows(&events, &nodes)
            .into_iter()
            .map(|a| (a.from, a.to, a.label))
            .collect();
        let want = [
            ("BBERF", "vdra", "CCR"),
            ("vdra", "vpcrf", "CCR"),
            ("vpcrf", "vdra", "CCA"),
            ("gNB / UE", "sm", "REGISTRATION REQUEST"),
        ]
        .map(|(f, t, l)| (f.to_string(), t.to_string(), l.to_string()));
        assert_eq!(got, want);
    }
}
