//! `labctl probe dra --target` (issue 14 §5): seed 003's client side — the PCEF (Gx) and the AF
//! (Rx) of a few UEs, played by `pcc-emulator serve` — against a DRA that may not be ours, with
//! the two PCRFs behind it owned by the probe (two `pcrf` processes with the identities and
//! addresses the target routes to), so that each PCRF's `GET /sessions` and metrics say which
//! PCRF a session reached. Step by step it prints which of the seed's behaviours the target SHOWS
//! or LACKS (docs/operator/dra.md, "Probing another vendor's DRA"):
//!
//! 1. basics: each UE's Gx CCR-I is answered 2001 by one of the PCRFs;
//! 2. the binding is kept while the session lives: each UE's Rx AAR reaches the PCRF of its Gx
//!    session (TS 29.213 §7);
//! 3. session end: the Rx STR and the Gx CCR-T are answered 2001 and no PCRF keeps a session;
//! 4. no stale binding (the seed: the DRA deletes a session's information when it ends): with
//!    UE1's PCRF out of service, a new session of UE1 (an AF session) is not sent there.

use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use crate::dra::{json_array, metric, pcrf_config_in, start_node};
use crate::node::Node;
use crate::pcc::PccClient;
use crate::probe::{Report, Verdict, run_tag};

/// What `labctl probe dra` is given.
#[derive(Debug, Clone)]
pub struct Options {
    /// The DRA, `host:port`.
    pub target: String,
    /// The PCRFs' realm (Destination-Realm of every request).
    pub target_realm: String,
    /// The two PCRFs the target routes to: (Diameter identity, listen address).
    pub pcrfs: Vec<(String, String)>,
    /// The target's mode as pcc-emulator's `--mode` (a 3006 is followed in every mode).
    pub mode: String,
    /// How many UEs, 1 to 200 (a few, so that a relay's chance agreement is unlikely).
    pub ues: u32,
    /// The client's Origin-Host (in the target realm).
    pub origin_host: String,
    /// How long each request waits for its answer.
    pub wait: Duration,
    /// Time given to the target to connect to the PCRFs after they start (a target with static
    /// peers retries on its own timer, RFC 6733 §2.1 Tc).
    pub settle: Duration,
}

/// One of the probe's PCRFs.
struct Pcrf {
    host: String,
    node: Option<Node>,
}

impl Pcrf {
    /// Its `GET /sessions` (empty when it is stopped).
    async fn sessions(&self) -> anyhow::Result<Vec<Value>> {
        match &self.node {
            Some(n) => json_array(n, "/sessions").await,
            None => Ok(Vec::new()),
        }
    }

    async fn holds(&self, session_id: &str) -> anyhow::Result<bool> {
        Ok(self
            .sessions()
            .await?
            .iter()
            .any(|s| s["session_id"] == session_id))
    }

    /// How many requests it answered with `code` itself.
    async fn rejected(&self, code: u32) -> anyhow::Result<f64> {
        match &self.node {
            Some(n) => {
                metric(
                    n,
                    &format!("corelab_pcrf_rejected_total{{result_code=\"{code}\"}}"),
                )
                .await
            }
            None => Ok(0.0),
        }
    }
}

/// One UE of the run and its sessions.
struct Ue {
    name: String,
    nai: String,
    ip: String,
    /// Its Gx session and the index of the PCRF holding it.
    gx: Option<(String, usize)>,
    rx: Option<String>,
}

/// Where a session established with `code` ended up: the PCRF holding it, else the PCRF that
/// answered `code` itself (its rejection counter grew since `before`), else `None` (the target
/// answered, or no answer).
async fn landed(
    pcrfs: &[Pcrf],
    session_id: &str,
    code: u32,
    before: &[f64],
) -> anyhow::Result<Option<usize>> {
    if let Some(i) = holder(pcrfs, session_id).await? {
        return Ok(Some(i));
    }
    for (i, p) in pcrfs.iter().enumerate() {
        if p.rejected(code).await? > before[i] {
            return Ok(Some(i));
        }
    }
    Ok(None)
}

/// The PCRF holding `session_id`.
async fn holder(pcrfs: &[Pcrf], session_id: &str) -> anyhow::Result<Option<usize>> {
    for (i, p) in pcrfs.iter().enumerate() {
        if p.holds(session_id).await? {
            return Ok(Some(i));
        }
    }
    Ok(None)
}

async fn rejected_now(pcrfs: &[Pcrf], code: u32) -> anyhow::Result<Vec<f64>> {
    let mut v = Vec::new();
    for p in pcrfs {
        v.push(p.rejected(code).await?);
    }
    Ok(v)
}

/// `code` with its RFC 6733 / TS 29.214 name where it helps the reader.
fn code_name(code: u32) -> String {
    let name = match code {
        0 => return "no answer".into(),
        2001 => "DIAMETER_SUCCESS",
        3002 => "DIAMETER_UNABLE_TO_DELIVER",
        3006 => "DIAMETER_REDIRECT_INDICATION",
        5002 => "DIAMETER_UNKNOWN_SESSION_ID",
        5012 => "DIAMETER_UNABLE_TO_COMPLY",
        5065 => "IP-CAN_SESSION_NOT_AVAILABLE",
        _ => "",
    };
    if name.is_empty() {
        code.to_string()
    } else {
        format!("{code} {name}")
    }
}

/// UE `k`'s (1..=200) IMSI (MCC 001, MNC 01, a 15-digit IMSI) and IPv4 address in run `tag`:
/// distinct per UE, and new to a target that saw earlier runs.
fn ue_identity(tag: u64, k: u32) -> (String, String) {
    let t = tag % 60_000;
    (
        format!("00101{:07}{k:03}", tag % 10_000_000),
        format!("10.{}.{}.{k}", 100 + (t >> 8) % 150, t & 255),
    )
}

/// Start the probe's PCRF `host` listening on `listen`, in the target realm, on SQLite in `dir`.
async fn start_pcrf(
    dir: &Path,
    i: usize,
    host: &str,
    listen: &str,
    realm: &str,
) -> anyhow::Result<Pcrf> {
    let name = format!("pcrf{}", i + 1);
    let d = dir.join(&name);
    std::fs::create_dir_all(&d)?;
    let store = format!("sqlite://{}/pcrf.db", d.display());
    let config = pcrf_config_in(&d, &store, host, realm, "visited", listen, "");
    let node = start_node(&d, &name, "pcrf", &config)
        .await
        .map_err(|e| anyhow::anyhow!("PCRF {host} on {listen}: {e:#}"))?;
    Ok(Pcrf {
        host: host.to_string(),
        node: Some(node),
    })
}

/// `labctl probe dra`: the verdicts, one per step (also printed).
pub async fn probe(o: &Options) -> anyhow::Result<Vec<(String, Verdict)>> {
    anyhow::ensure!(
        o.pcrfs.len() == 2,
        "--pcrf HOST=LISTEN_ADDR: two are needed, the PCRFs the target routes to"
    );
    anyhow::ensure!((1..=200).contains(&o.ues), "--ues: 1 to 200");
    let dir = tempfile::tempdir()?;
    println!(
        "probe dra --target {} --target-realm {} (client mode {}, each request waits up to {:?})",
        o.target, o.target_realm, o.mode, o.wait
    );
    let mut pcrfs = Vec::new();
    for (i, (host, listen)) in o.pcrfs.iter().enumerate() {
        let p = start_pcrf(dir.path(), i, host, listen, &o.target_realm).await?;
        println!("   PCRF {host} listening on {listen}");
        pcrfs.push(p);
    }
    if !o.settle.is_zero() {
        println!("   giving the target {:?} to connect to them", o.settle);
        tokio::time::sleep(o.settle).await;
    }
    let mut args: Vec<String> = [
        "--origin-host",
        &o.origin_host,
        "--origin-realm",
        &o.target_realm,
        "--destination-realm",
        &o.target_realm,
        "--dra",
        &o.target,
        "--mode",
        &o.mode,
        "--request-timeout-secs",
        &o.wait.as_secs().max(1).to_string(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for (host, listen) in &o.pcrfs {
        args.push("--pcrf".into());
        args.push(format!("{host}={listen}"));
    }
    let mut client = PccClient::start(dir.path(), &args, None)
        .await
        .map_err(|e| anyhow::anyhow!("client towards the target {}: {e:#}", o.target))?;
    let tag = run_tag();
    let mut ues: Vec<Ue> = (1..=o.ues)
        .map(|k| {
            let (nai, ip) = ue_identity(tag, k);
            Ue {
                name: format!("UE{k}"),
                nai,
                ip,
                gx: None,
                rx: None,
            }
        })
        .collect();
    for u in &ues {
        println!("   {}: IMSI {}, IP {}", u.name, u.nai, u.ip);
    }
    let result = steps(&mut client, &mut pcrfs, &mut ues).await;
    client.stop().await;
    for p in pcrfs {
        if let Some(n) = p.node {
            n.stop().await?;
        }
    }
    let report = result?;
    println!(
        "verdict: {} shows {} of the {} probed behaviours of seed 003",
        o.target,
        report.shown(),
        report.len()
    );
    Ok(report.into_steps())
}

async fn steps(
    client: &mut PccClient,
    pcrfs: &mut [Pcrf],
    ues: &mut [Ue],
) -> anyhow::Result<Report> {
    let mut report = Report::default();

    // 1. basics.
    let basics =
        "basics: each UE's Gx CCR-I through the target is answered 2001 by one of the PCRFs";
    let mut seen = Vec::new();
    for u in ues.iter_mut() {
        let (sid, code) = client.establish("pcef", &u.nai, &u.ip).await?;
        let at = if code == 2001 {
            holder(pcrfs, &sid).await?
        } else {
            None
        };
        match at {
            Some(i) => {
                seen.push(format!("{} at {}", u.name, pcrfs[i].host));
                u.gx = Some((sid, i));
            }
            None => seen.push(format!("{} {}", u.name, code_name(code))),
        }
    }
    let all = ues.iter().all(|u| u.gx.is_some());
    report.check(basics, all, seen.join(", "));
    let Some((_, p1)) = ues[0].gx.clone() else {
        println!("   UE1 has no session: the rest cannot be probed");
        return Ok(report);
    };

    // 2. the binding while the session lives.
    let kept =
        "binding kept while the session lives: each UE's Rx AAR reaches the PCRF of its Gx session";
    let mut seen = Vec::new();
    let mut together = true;
    for u in ues.iter_mut() {
        let Some((_, gx_at)) = u.gx.clone() else {
            continue;
        };
        let before = rejected_now(pcrfs, 5065).await?;
        let (sid, code) = client.establish("af", &u.nai, &u.ip).await?;
        let at = landed(pcrfs, &sid, code, &before).await?;
        let same = code == 2001 && at == Some(gx_at);
        together &= same;
        if code == 2001 {
            u.rx = Some(sid);
        }
        seen.push(match at {
            Some(i) if same => format!("{} at {}", u.name, pcrfs[i].host),
            Some(i) => format!(
                "{} {} by {} (its Gx is at {})",
                u.name,
                code_name(code),
                pcrfs[i].host,
                pcrfs[gx_at].host
            ),
            None => format!("{} {} by the target", u.name, code_name(code)),
        });
    }
    report.check(kept, together, seen.join(", "));

    // 3. session end.
    let ended = "session end: each Rx STR and Gx CCR-T is answered 2001, and no PCRF keeps a session of the UEs";
    let mut codes = Vec::new();
    for u in ues.iter() {
        if let Some(rx) = &u.rx {
            codes.push(format!("{} STR {}", u.name, client.terminate(rx).await?));
        }
        if let Some((gx, _)) = &u.gx {
            codes.push(format!("{} CCR-T {}", u.name, client.terminate(gx).await?));
        }
    }
    let mut left = Vec::new();
    for p in pcrfs.iter() {
        for s in p.sessions().await? {
            let id = s["session_id"].as_str().unwrap_or_default().to_string();
            let ours = ues
                .iter()
                .any(|u| u.rx.as_deref() == Some(&id) || u.gx.as_ref().is_some_and(|g| g.0 == id));
            if ours {
                left.push(format!("{} at {}", id, p.host));
            }
        }
    }
    let all_2001 = codes.iter().all(|c| c.ends_with(" 2001"));
    report.check(
        ended,
        all_2001 && left.is_empty(),
        if left.is_empty() {
            codes.join(", ")
        } else {
            format!("{}; left: {}", codes.join(", "), left.join(", "))
        },
    );

    // 4. no stale binding.
    let stale = format!(
        "no stale binding: with UE1's PCRF {} out of service, a new session of UE1 (Rx AAR) is not sent to it",
        pcrfs[p1].host
    );
    if let Some(n) = pcrfs[p1].node.take() {
        n.stop().await?;
    }
    println!("   {} stopped", pcrfs[p1].host);
    let before = rejected_now(pcrfs, 5065).await?;
    let (sid, code) = client.establish("af", &ues[0].nai, &ues[0].ip).await?;
    let at = landed(pcrfs, &sid, code, &before).await?;
    let detail = match (code, at) {
        (0, _) => format!("no answer: sent towards {}", pcrfs[p1].host),
        (3002, _) => format!(
            "{}: the target still routes UE1 to {}",
            code_name(code),
            pcrfs[p1].host
        ),
        (3006, _) => format!(
            "{} to a PCRF the probe could not reach: {} (the target still names it)",
            code_name(code),
            pcrfs[p1].host
        ),
        (_, Some(i)) => format!("{} by {}", code_name(code), pcrfs[i].host),
        (_, None) => format!(
            "{} by the target itself (it keeps nothing of UE1's ended session)",
            code_name(code)
        ),
    };
    report.check(&stale, !matches!(code, 0 | 3002 | 3006), detail);
    if code == 2001 {
        client.terminate(&sid).await?;
    }

    // Not a verdict: a new IP-CAN session of UE1 while its first PCRF is down.
    let (sid, code) = client.establish("pcef", &ues[0].nai, &ues[0].ip).await?;
    let at = if code == 2001 {
        holder(pcrfs, &sid).await?
    } else {
        None
    };
    let why = match at {
        Some(i) => format!(" by {}: the target chose a PCRF in service", pcrfs[i].host),
        None if !matches!(code, 0 | 3002 | 3006) => " by the target itself".to_string(),
        None => format!(
            ": the target chose {} again, which is out of service (so does ours: it selects by a \
             stable hash of the UE and never re-selects, docs/dra.md \"Bound PCRF down\")",
            pcrfs[p1].host
        ),
    };
    println!(
        "   not a verdict: a new Gx CCR-I of UE1 now: {}{why}",
        code_name(code)
    );
    if code == 2001 {
        client.terminate(&sid).await?;
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_ue_of_a_run_has_its_own_15_digit_imsi_and_address() {
        let ids: Vec<_> = (1..=200).map(|k| ue_identity(999_999_999, k)).collect();
        let imsis: std::collections::BTreeSet<_> = ids.iter().map(|(n, _)| n.clone()).collect();
        let ips: std::collections::BTreeSet<_> = ids.iter().map(|(_, i)| i.clone()).collect();
        assert_eq!((imsis.len(), ips.len()), (200, 200));
        assert!(ids.iter().all(|(n, ip)| n.len() == 15
            && n.bytes().all(|b| b.is_ascii_digit())
            && ip.parse::<std::net::Ipv4Addr>().is_ok()));
        assert_ne!(ue_identity(1, 1), ue_identity(2, 1));
    }
}
