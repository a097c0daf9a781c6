//! Seed 002's figure (fig. 3, `specs/poc-join.md`) as steps over a running PoC lab: the
//! group's first joiner's ids become the session's, a later joiner is given them, RTP flows, a
//! rejoin keeps them. Each step's verdict comes from the terminals' answers over gRPC and the
//! CF's `GET /group-sessions` and `/metrics`. The steps are told to a [`Script`]: `labctl demo
//! poc --own-nodes` prints them as a scripted ladder ([`Ladder`]); `labctl demo poc` against an
//! `up` lab records only the verdicts ([`crate::lab_demo::Checks`]) and draws the messages the
//! nodes' wire taps saw.

use corelab_proto::ue::v1 as pb;

use crate::ladder::{Ladder, Lane};
use crate::poc::*;

/// The ladder's columns.
#[derive(Debug, Clone, Copy)]
pub enum L {
    A,
    PfA,
    Cf,
    Xdms,
    PfB,
    B,
}

impl From<L> for Lane {
    fn from(l: L) -> Lane {
        Lane(l as usize)
    }
}

/// Each lane's head and the short name its notes carry.
pub const LANES: [(&str, &str); 6] = [
    ("A (alice@a.lab)", "A"),
    ("PF-A", "PF-A"),
    ("CF", "CF"),
    ("group server", "XDMS"),
    ("PF-B", "PF-B"),
    ("B (bob@b.lab)", "B"),
];

/// Where the figure's steps, messages and verdicts go.
pub trait Script {
    fn step(&mut self, number: &str, title: &str);
    fn message(&mut self, from: L, to: L, label: &str);
    fn note(&mut self, lane: L, text: &str);
    fn verdict(&mut self, ok: bool, detail: &str);
}

impl Script for Ladder {
    fn step(&mut self, number: &str, title: &str) {
        Ladder::step(self, number, title);
    }
    fn message(&mut self, from: L, to: L, label: &str) {
        Ladder::message(self, from, to, label);
    }
    fn note(&mut self, lane: L, text: &str) {
        Ladder::note(self, lane, text);
    }
    fn verdict(&mut self, ok: bool, detail: &str) {
        Ladder::verdict(self, ok, detail);
    }
}

/// The group, and the CF's admin address (`host:port`) its state is read from.
pub struct Target<'a> {
    pub group: &'a str,
    pub cf_admin: &'a str,
}

fn short(id: &str) -> String {
    id.chars().take(8).collect()
}

pub fn pair(ids: &(String, String)) -> String {
    format!("conv {}… contrib {}…", short(&ids.0), short(&ids.1))
}

async fn not_modified(cf_admin: &str) -> u64 {
    let metrics = crate::http::get_ok(&format!("http://{cf_admin}/metrics"))
        .await
        .unwrap_or_default();
    (metrics.lines())
        .find(|l| {
            l.starts_with("corelab_poc_controlling_xcap_fetches_total{result=\"not_modified\"}")
        })
        .and_then(|l| l.split_whitespace().last())
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(0.0) as u64
}

fn joined(r: &pb::PocResult) -> bool {
    r.ok && r.status == 200
}

/// The seed's steps, for `at.group` whose members are the terminals `a` and `b` behind PF-A and
/// PF-B.
pub async fn figure(
    ladder: &mut impl Script,
    at: &Target<'_>,
    a: &mut Terminals,
    b: &mut Terminals,
) -> anyhow::Result<()> {
    let own_a = status(a, 0).await?;
    let own_a = (own_a.conversation_id, own_a.contribution_id);
    ladder.step(
        "301-307",
        "A joins the group session; its ids become the session's",
    );
    ladder.note(L::A, &format!("generates its ids: {}", pair(&own_a)));
    ladder.message(L::A, L::PfA, "INVITE (SDP + CPIM ids)");
    ladder.note(
        L::PfA,
        "302: alice@a.lab is ours, sends from her host: asserted",
    );
    ladder.message(L::PfA, L::Cf, "INVITE P-Asserted-Id");
    ladder.note(L::Cf, "303: groups.lab is served here");
    ladder.message(L::Cf, L::Xdms, "XCAP GET group doc");
    ladder.message(L::Xdms, L::Cf, "200 (join group)");
    ladder.note(
        L::Cf,
        "305: A authorized (a member), no ids stored yet: A's stored",
    );
    ladder.message(L::Cf, L::PfA, "200 (SDP + CPIM ids)");
    ladder.message(L::PfA, L::A, "200 (SDP + CPIM ids)");
    ladder.message(L::A, L::Cf, "ACK (via PF-A)");
    let a1 = join(a, 0, "", false).await?;
    let group_ids = ids(&a1);
    let stored = stored_ids(at.cf_admin, at.group).await?;
    ladder.verdict(
        joined(&a1) && group_ids == own_a && stored.as_ref() == Some(&own_a),
        &format!(
            "A: {} {}; CF stored {}",
            a1.status,
            a1.detail,
            stored.as_ref().map(pair).unwrap_or("nothing".into())
        ),
    );

    let own_b = status(b, 0).await?;
    let own_b = (own_b.conversation_id, own_b.contribution_id);
    let revalidated = not_modified(at.cf_admin).await;
    ladder.step("308-313", "B joins with its own ids and is given A's");
    ladder.note(L::B, &format!("generates its ids: {}", pair(&own_b)));
    ladder.message(L::B, L::PfB, "INVITE (SDP + CPIM ids)");
    ladder.note(L::PfB, "309: bob@b.lab is ours: asserted");
    ladder.message(L::PfB, L::Cf, "INVITE P-Asserted-Id");
    ladder.message(L::Cf, L::Xdms, "GET If-None-Match");
    ladder.message(L::Xdms, L::Cf, "304 Not Modified");
    ladder.note(L::Cf, "312: B authorized; ids stored for the group: A's");
    ladder.message(L::Cf, L::PfB, "200 (CPIM: A's ids)");
    ladder.message(L::PfB, L::B, "200 (CPIM: A's ids)");
    ladder.note(L::B, "313: replaces its own ids with the received ones");
    ladder.message(L::B, L::Cf, "ACK (via PF-B)");
    let b1 = join(b, 0, "", false).await?;
    let now_b = status(b, 0).await?;
    ladder.verdict(
        joined(&b1)
            && b1.ids_replaced
            && ids(&b1) == group_ids
            && (now_b.conversation_id.clone(), now_b.contribution_id.clone()) == group_ids
            && not_modified(at.cf_admin).await > revalidated,
        &format!(
            "B: {} sent {}, holds {} (replaced: {}); XCAP revalidated: 304",
            b1.status,
            pair(&sent_ids(&b1)),
            pair(&(now_b.conversation_id, now_b.contribution_id)),
            b1.ids_replaced
        ),
    );

    ladder.step("307", "media: RTP from A reaches B through the CF's relay");
    ladder.message(L::A, L::Cf, "RTP (PCMU) x20");
    ladder.message(L::Cf, L::B, "RTP relayed");
    let sent = send_rtp(a, 0, 20).await?;
    let got = rtp_received(b, 0, 1).await;
    ladder.verdict(
        sent.ok && got.is_ok(),
        &format!(
            "A sent 20, B received {}",
            got.map(|n| n.to_string()).unwrap_or_else(|e| e.to_string())
        ),
    );

    ladder.step("9", "A leaves and rejoins with new ids: the same ids");
    ladder.message(L::A, L::Cf, "BYE (via PF-A)");
    ladder.message(L::Cf, L::A, "200");
    let left = leave(a, 0).await?;
    ladder.note(L::A, "generates new ids");
    ladder.message(L::A, L::PfA, "INVITE (new ids)");
    ladder.message(L::PfA, L::Cf, "INVITE");
    ladder.message(L::Cf, L::Xdms, "GET If-None-Match");
    ladder.message(L::Xdms, L::Cf, "304 Not Modified");
    ladder.message(L::Cf, L::A, "200 (CPIM: stored ids)");
    ladder.message(L::A, L::Cf, "ACK");
    let a2 = join(a, 0, "", true).await?;
    ladder.verdict(
        left.status == 200 && joined(&a2) && ids(&a2) == group_ids && sent_ids(&a2) != group_ids,
        &format!(
            "BYE {}; rejoin {} sent {}, given {}",
            left.status,
            a2.status,
            pair(&sent_ids(&a2)),
            pair(&ids(&a2))
        ),
    );

    ladder.step("9", "everyone leaves: the ids outlive the session");
    ladder.message(L::A, L::Cf, "BYE");
    ladder.message(L::B, L::Cf, "BYE");
    let (la, lb) = (leave(a, 0).await?, leave(b, 0).await?);
    let stored = stored_ids(at.cf_admin, at.group).await?;
    ladder.verdict(
        la.status == 200 && lb.status == 200 && stored.as_ref() == Some(&group_ids),
        &format!(
            "BYE {} and {}; CF still holds {}",
            la.status,
            lb.status,
            stored.as_ref().map(pair).unwrap_or("nothing".into())
        ),
    );
    Ok(())
}
