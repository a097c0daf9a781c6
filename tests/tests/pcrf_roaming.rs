//! pcrf over the wire (issue 10 §2): separate processes — `pcrf` as vPCRF and as hPCRF, `dra` as
//! the hDRA (redirect or proxy), `diameter-peer` as the PCC clients (BBERF, PCEF, AF) — over TCP
//! on loopback. The assertions read each node's store through its admin API (`GET /sessions`,
//! `GET /bindings`) and the vPCRF's metrics. The rows of specs/dra-roaming.md each test serves are
//! named in its doc comment.
//!
//! Needs `cargo build -p corelab-pcrf -p corelab-dra -p diameter-peer`.

use std::path::Path;
use std::time::Duration;

use corelab_tests::{Backend, on_both_backends, postgres_database};
use labctl::{Node, bin_path};
use serde_json::Value;
use tokio::process::Command;

const IMSI: &str = "001010000000001";
const UE_IP: &str = "10.45.0.17";

async fn store_for(backend: Backend, dir: &Path, name: &str) -> anyhow::Result<String> {
    match backend {
        Backend::Sqlite => Ok(format!("sqlite://{}/{name}.db", dir.display())),
        Backend::Postgres => postgres_database().await,
    }
}

async fn start(dir: &Path, name: &str, binary: &str, config: &str) -> anyhow::Result<Node> {
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, config)?;
    let args = vec!["-c".to_string(), path.display().to_string()];
    Node::start(name, &bin_path(binary)?, &args, dir, false).await
}

fn pcrf_config(dir: &Path, store: &str, host: &str, realm: &str, role: &str, s9: &str) -> String {
    format!(
        "[node]\ndata_dir = \"{}\"\n[store]\nurl = \"{store}\"\n\
         [diameter]\nlisten = \"127.0.0.1:0\"\norigin_host = \"{host}\"\norigin_realm = \"{realm}\"\n\
         [pcrf]\nrole = \"{role}\"\n{s9}",
        dir.display()
    )
}

/// hPCRF, hDRA (`mode`), vPCRF: the visited side's S9 path towards home.
struct Lab {
    hpcrf: Node,
    hdra: Node,
    vpcrf: Node,
    vpcrf_config: String,
}

impl Lab {
    async fn start(dir: &Path, backend: Backend, mode: &str) -> anyhow::Result<Lab> {
        Lab::start_with(dir, backend, mode, "").await
    }

    /// With more `[s9]` keys for the vPCRF.
    async fn start_with(
        dir: &Path,
        backend: Backend,
        mode: &str,
        s9_extra: &str,
    ) -> anyhow::Result<Lab> {
        let hpcrf = start(
            dir,
            "hpcrf",
            "pcrf",
            &pcrf_config(
                dir,
                &store_for(backend, dir, "hpcrf").await?,
                "hpcrf.home.lab",
                "home.lab",
                "home",
                "",
            ),
        )
        .await?;
        let hdra = start(
            dir,
            "hdra",
            "dra",
            &format!(
                "[node]\ndata_dir = \"{}\"\n[store]\nurl = \"{}\"\n\
                 [diameter]\nlisten = \"127.0.0.1:0\"\norigin_host = \"hdra.home.lab\"\norigin_realm = \"home.lab\"\n\
                 [dra]\nrole = \"home\"\nmode = \"{mode}\"\n\
                 [[pcrf]]\nhost = \"hpcrf.home.lab\"\naddress = \"{}\"\n",
                dir.display(),
                store_for(backend, dir, "hdra").await?,
                hpcrf.addrs["diameter"]
            ),
        )
        .await?;
        let vpcrf_config = pcrf_config(
            dir,
            &store_for(backend, dir, "vpcrf").await?,
            "vpcrf.visited.lab",
            "visited.lab",
            "visited",
            &format!(
                "[s9]\nhome_realm = \"home.lab\"\nhdra = \"{}\"\n{s9_extra}",
                hdra.addrs["diameter"]
            ),
        );
        let vpcrf = start(dir, "vpcrf", "pcrf", &vpcrf_config).await?;
        Ok(Lab {
            hpcrf,
            hdra,
            vpcrf,
            vpcrf_config,
        })
    }

    fn vpcrf_addr(&self) -> String {
        self.vpcrf.addrs["diameter"].clone()
    }
}

async fn json_array(node: &Node, path: &str) -> anyhow::Result<Vec<Value>> {
    match serde_json::from_str(&corelab_tests::http::get_ok(&node.admin_url(path)).await?)? {
        Value::Array(a) => Ok(a),
        other => anyhow::bail!("GET {path}: not an array: {other}"),
    }
}

async fn sessions(node: &Node) -> anyhow::Result<Vec<Value>> {
    json_array(node, "/sessions").await
}

/// Session-Ids of the rows of this interface.
fn ids_of(rows: &[Value], interface: &str) -> Vec<String> {
    rows.iter()
        .filter(|r| r["interface"] == interface)
        .filter_map(|r| r["session_id"].as_str().map(String::from))
        .collect()
}

/// Every Session-Id the hDRA holds in its bindings.
async fn hdra_sessions(hdra: &Node) -> anyhow::Result<Vec<String>> {
    Ok(json_array(hdra, "/bindings")
        .await?
        .iter()
        .flat_map(|b| b["sessions"].as_array().cloned().unwrap_or_default())
        .filter_map(|s| s["session_id"].as_str().map(String::from))
        .collect())
}

async fn metric(node: &Node, line_start: &str) -> anyhow::Result<f64> {
    let text = corelab_tests::http::get_ok(&node.admin_url("/metrics")).await?;
    Ok(text
        .lines()
        .find(|l| l.starts_with(line_start))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0))
}

fn ccr(app: &str, session: &str, request_type: &str, number: u32) -> String {
    let keys = if request_type == "INITIAL_REQUEST" {
        format!(
            "{{ name = \"Subscription-Id\", value = [\n\
               {{ name = \"Subscription-Id-Type\", value = \"END_USER_IMSI\" }},\n\
               {{ name = \"Subscription-Id-Data\", value = \"{IMSI}\" }} ] }},\n\
             {{ name = \"Framed-IP-Address\", ip = \"{UE_IP}\" }},\n\
             {{ name = \"Called-Station-Id\", value = \"internet\" }},\n"
        )
    } else {
        String::new()
    };
    format!(
        "[[request]]\ncommand = \"Credit-Control\"\napplication = \"{app}\"\navps = [\n\
         {{ name = \"Session-Id\", value = \"{session}\" }},\n\
         {{ name = \"Destination-Realm\", value = \"visited.lab\" }},\n\
         {{ name = \"CC-Request-Type\", value = \"{request_type}\" }},\n\
         {{ name = \"CC-Request-Number\", value = {number} }},\n{keys}]\n"
    )
}

fn aar(session: &str) -> String {
    format!(
        "[[request]]\ncommand = \"AA\"\napplication = \"rx\"\navps = [\n\
         {{ name = \"Session-Id\", value = \"{session}\" }},\n\
         {{ name = \"Destination-Realm\", value = \"visited.lab\" }},\n\
         {{ name = \"Framed-IP-Address\", ip = \"{UE_IP}\" }},\n]\n"
    )
}

fn str_(session: &str) -> String {
    format!(
        "[[request]]\ncommand = \"Session-Termination\"\napplication = \"rx\"\navps = [\n\
         {{ name = \"Session-Id\", value = \"{session}\" }},\n\
         {{ name = \"Destination-Realm\", value = \"visited.lab\" }},\n\
         {{ name = \"Termination-Cause\", value = \"DIAMETER_LOGOUT\" }},\n]\n"
    )
}

/// `diameter-peer client` as `origin_host`, sending `requests` to `to`, answering `wait`
/// requests (RAR) from it; with the output file (for what it received).
fn client(
    dir: &Path,
    origin_host: &str,
    to: &str,
    requests: &str,
    expect: Option<&str>,
    wait: u32,
) -> anyhow::Result<(Command, std::path::PathBuf)> {
    let n = std::fs::read_dir(dir)?.count();
    let file = dir.join(format!("req-{n}.toml"));
    std::fs::write(&file, requests)?;
    let out = dir.join(format!("req-{n}.out"));
    let mut cmd = Command::new(bin_path("diameter-peer")?);
    cmd.args([
        "client",
        "--origin-host",
        origin_host,
        "--origin-realm",
        "lab",
        "--connect",
        to,
    ])
    .arg("--requests")
    .arg(&file)
    .stdout(std::fs::File::create(&out)?)
    .stderr(std::fs::File::create(dir.join(format!("req-{n}.log")))?)
    .kill_on_drop(true);
    if let Some(e) = expect {
        cmd.args(["--expect", e]);
    }
    if wait > 0 {
        let answers = dir.join("answers.toml");
        std::fs::write(
            &answers,
            "[[answer]]\ncommand = \"Re-Auth\"\nresult_code = 2001\n",
        )?;
        cmd.args(["--wait-requests", &wait.to_string(), "--answers"])
            .arg(answers);
    }
    Ok((cmd, out))
}

/// How diameter-peer prints an OctetString (Charging-Rule-Name).
fn hex(s: &str) -> String {
    let digits: String = s.bytes().map(|b| format!("{b:02x}")).collect();
    format!("0x{digits}")
}

/// Runs a client to its end; its exit status.
async fn run(
    dir: &Path,
    origin_host: &str,
    to: &str,
    requests: &str,
    expect: Option<&str>,
) -> anyhow::Result<i32> {
    let (mut cmd, _) = client(dir, origin_host, to, requests, expect, 0)?;
    let status = tokio::time::timeout(Duration::from_secs(30), cmd.status()).await??;
    Ok(status.code().unwrap_or(-1))
}

/// Embodiments 1 and 10 (and 4 with a proxy hDRA): the BBERF's Gxx (S1) and the PCEF's Gx (S3)
/// of one roaming UE ride one S9 session (S2) as two subsessions, S1 → S2 and S3 → S2 recorded
/// at the vPCRF, S2, S1, S3 at the hDRA. The Gxx termination is **not the last**: an S9
/// modification ends its subsession (the hDRA deletes S1, the hPCRF its subsession; S2 lives).
/// The Gx termination is the last: S9 CCR-T; afterwards no node holds a session or binding.
async fn embodiment_10(backend: Backend, mode: &str, s9_extra: &str) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let d = dir.path();
    let lab = Lab::start_with(d, backend, mode, s9_extra).await?;
    let v = lab.vpcrf_addr();
    let (s1, s3) = ("bberf.lab;1;s1", "pcef.lab;1;s3");
    assert_eq!(
        run(
            d,
            "bberf.lab",
            &v,
            &ccr("gxx", s1, "INITIAL_REQUEST", 0),
            None
        )
        .await?,
        0
    );
    assert_eq!(
        run(
            d,
            "pcef.lab",
            &v,
            &ccr("gx", s3, "INITIAL_REQUEST", 0),
            None
        )
        .await?,
        0
    );

    let rows = sessions(&lab.vpcrf).await?;
    let s2 = ids_of(&rows, "s9");
    assert_eq!(s2.len(), 1, "one S9 session for the UE: {rows:?}");
    let s2 = s2[0].clone();
    for c in [s1, s3] {
        let row = rows
            .iter()
            .find(|r| r["session_id"] == c)
            .expect("client row");
        assert_eq!(row["s9_session_id"], s2.as_str(), "{c} -> S2 recorded");
    }
    let s9 = rows
        .iter()
        .find(|r| r["session_id"] == s2.as_str())
        .expect("s9 row");
    assert_eq!(s9["hpcrf_host"], "hpcrf.home.lab");
    let expected_mode = if mode == "redirect" {
        "redirect"
    } else {
        "proxy"
    };
    assert_eq!(s9["hdra_mode"], expected_mode);
    let mut at_hdra = hdra_sessions(&lab.hdra).await?;
    at_hdra.sort();
    let mut want = vec![s1.to_string(), s2.clone(), s3.to_string()];
    want.sort();
    assert_eq!(at_hdra, want, "the hDRA knows S2 and S1, S3");
    let home = sessions(&lab.hpcrf).await?;
    assert_eq!(ids_of(&home, "s9"), vec![s2.clone()]);
    assert_eq!(ids_of(&home, "s9-subsession").len(), 2, "{home:?}");

    // The Gxx ends first: not the last session on S2 -> subsession termination (CCR-U).
    assert_eq!(
        run(
            d,
            "bberf.lab",
            &v,
            &ccr("gxx", s1, "TERMINATION_REQUEST", 1),
            None
        )
        .await?,
        0
    );
    assert_eq!(
        metric(
            &lab.vpcrf,
            "corelab_pcrf_s9_requests_total{kind=\"subsession_termination\""
        )
        .await?,
        1.0
    );
    let mut at_hdra = hdra_sessions(&lab.hdra).await?;
    at_hdra.sort();
    let mut want = vec![s2.clone(), s3.to_string()];
    want.sort();
    assert_eq!(at_hdra, want, "the hDRA deleted S1 only");
    let home = sessions(&lab.hpcrf).await?;
    assert_eq!(ids_of(&home, "s9"), vec![s2.clone()], "S2 lives on");
    let subs = ids_of(&home, "s9-subsession");
    assert_eq!(
        subs.len(),
        1,
        "the Gxx subsession is gone at the hPCRF: {home:?}"
    );
    assert!(ids_of(&sessions(&lab.vpcrf).await?, "gxx").is_empty());

    // The Gx is the last: S9 CCR-T; nothing left anywhere.
    assert_eq!(
        run(
            d,
            "pcef.lab",
            &v,
            &ccr("gx", s3, "TERMINATION_REQUEST", 1),
            None
        )
        .await?,
        0
    );
    assert_eq!(
        metric(
            &lab.vpcrf,
            "corelab_pcrf_s9_requests_total{kind=\"termination\""
        )
        .await?,
        1.0
    );
    assert_eq!(sessions(&lab.vpcrf).await?, Vec::<Value>::new());
    assert_eq!(sessions(&lab.hpcrf).await?, Vec::<Value>::new());
    assert_eq!(
        json_array(&lab.hdra, "/bindings").await?,
        Vec::<Value>::new()
    );

    // A termination for a Session-Id no one holds: 5002, nothing sent home.
    assert_eq!(
        run(
            d,
            "pcef.lab",
            &v,
            &ccr("gx", s3, "TERMINATION_REQUEST", 2),
            Some("5002")
        )
        .await?,
        0
    );
    Ok(())
}

async fn embodiment_10_redirect_hdra(backend: Backend) -> anyhow::Result<()> {
    embodiment_10(backend, "redirect", "").await
}

async fn embodiment_10_proxy_hdra(backend: Backend) -> anyhow::Result<()> {
    embodiment_10(backend, "proxy", "").await
}

/// Embodiment 10 with the seed's "∥ at once": each termination goes to the redirect hDRA and
/// to the remembered hPCRF at the same time; the end state is the same (nothing anywhere).
async fn embodiment_10_at_once(backend: Backend) -> anyhow::Result<()> {
    embodiment_10(backend, "redirect", "termination = \"at_once\"\n").await
}

/// Rx AAR → Gx RAR installing the media rule on the PCEF; then the IP-CAN session ends
/// (embodiments 6/9): the AF gets a RAR with Specific-Action INDICATION_OF_LOSS_OF_BEARER, after
/// which its STR ends the Rx session and with it (the last client session) the S9 session.
async fn af_gets_the_rule_installed_then_loss_of_bearer(backend: Backend) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let d = dir.path();
    let lab = Lab::start(d, backend, "redirect").await?;
    let v = lab.vpcrf_addr();
    let (gx, rx) = ("pcef.lab;2;gx", "af.lab;2;rx");

    // The PCEF stays connected for the RAR that installs the media rule.
    let (mut pcef, pcef_out) = client(
        d,
        "pcef.lab",
        &v,
        &ccr("gx", gx, "INITIAL_REQUEST", 0),
        None,
        1,
    )?;
    let mut pcef = pcef.spawn()?;
    labctl::wait::until(Duration::from_secs(20), "the Gx session", || async {
        sessions(&lab.vpcrf)
            .await
            .ok()
            .filter(|s| !ids_of(s, "gx").is_empty())
    })
    .await?;
    // The AF stays connected for the loss-of-bearer RAR.
    let (mut af, af_out) = client(d, "af.lab", &v, &aar(rx), None, 1)?;
    let mut af = af.spawn()?;
    let status = tokio::time::timeout(Duration::from_secs(30), pcef.wait()).await??;
    assert!(status.success(), "the PCEF answered the RAR");
    let pcef_text = std::fs::read_to_string(&pcef_out)?;
    assert!(pcef_text.contains("Re-Auth"), "{pcef_text}");
    assert!(
        pcef_text.contains(&hex(&format!("af:{rx}"))),
        "the media rule: {pcef_text}"
    );
    let rows = sessions(&lab.vpcrf).await?;
    let rx_row = rows.iter().find(|r| r["session_id"] == rx).expect("rx row");
    assert_eq!(rx_row["gx_session_id"], gx, "bound by UE IP");
    assert!(!rx_row["s9_session_id"].as_str().unwrap_or("").is_empty());

    // The IP-CAN session ends: loss of bearer towards the AF.
    assert_eq!(
        run(
            d,
            "pcef.lab",
            &v,
            &ccr("gx", gx, "TERMINATION_REQUEST", 1),
            None
        )
        .await?,
        0
    );
    let status = tokio::time::timeout(Duration::from_secs(30), af.wait()).await??;
    assert!(status.success(), "the AF answered the RAR");
    let af_text = std::fs::read_to_string(&af_out)?;
    assert!(
        af_text.contains("INDICATION_OF_LOSS_OF_BEARER"),
        "{af_text}"
    );
    // The AF's STR follows: the last client session, so the S9 session ends too.
    assert_eq!(run(d, "af.lab", &v, &str_(rx), None).await?, 0);
    assert_eq!(sessions(&lab.vpcrf).await?, Vec::<Value>::new());
    assert_eq!(sessions(&lab.hpcrf).await?, Vec::<Value>::new());
    assert_eq!(
        json_array(&lab.hdra, "/bindings").await?,
        Vec::<Value>::new()
    );
    // An AAR for an IP with no IP-CAN session: IP-CAN_SESSION_NOT_AVAILABLE.
    assert_eq!(
        run(d, "af.lab", &v, &aar("af.lab;3;rx"), Some("5065")).await?,
        0
    );
    Ok(())
}

/// A restarted vPCRF keeps its sessions and S1 → S2 links and ends them at home afterwards.
async fn a_restarted_pcrf_keeps_its_sessions(backend: Backend) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let d = dir.path();
    let lab = Lab::start(d, backend, "redirect").await?;
    let s1 = "bberf.lab;4;s1";
    let gxx_i = ccr("gxx", s1, "INITIAL_REQUEST", 0);
    assert_eq!(
        run(d, "bberf.lab", &lab.vpcrf_addr(), &gxx_i, None).await?,
        0
    );
    let before = sessions(&lab.vpcrf).await?;
    assert_eq!(before.len(), 2, "the Gxx and its S9 session: {before:?}");
    let Lab {
        hpcrf,
        hdra,
        vpcrf,
        vpcrf_config,
    } = lab;
    vpcrf.kill().await?;
    let vpcrf = start(d, "vpcrf-restarted", "pcrf", &vpcrf_config).await?;
    assert_eq!(
        sessions(&vpcrf).await?,
        before,
        "the same sessions after the restart"
    );
    let gxx_t = ccr("gxx", s1, "TERMINATION_REQUEST", 1);
    assert_eq!(
        run(d, "bberf.lab", &vpcrf.addrs["diameter"], &gxx_t, None).await?,
        0
    );
    assert_eq!(sessions(&vpcrf).await?, Vec::<Value>::new());
    assert_eq!(sessions(&hpcrf).await?, Vec::<Value>::new());
    assert_eq!(json_array(&hdra, "/bindings").await?, Vec::<Value>::new());
    Ok(())
}

on_both_backends! {
    embodiment_10_through_a_redirect_hdra => embodiment_10_redirect_hdra;
    embodiment_10_through_a_proxy_hdra => embodiment_10_proxy_hdra;
    embodiment_10_terminations_to_the_hdra_and_the_hpcrf_at_once => embodiment_10_at_once;
    rx_rule_on_the_pcef_then_loss_of_bearer_to_the_af_then_str => af_gets_the_rule_installed_then_loss_of_bearer;
    a_restarted_vpcrf_keeps_its_sessions_and_links => a_restarted_pcrf_keeps_its_sessions;
}
