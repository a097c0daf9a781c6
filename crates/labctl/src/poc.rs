//! A PoC lab (issue 11 §5, the seed 002 figure): the group server, the controlling function
//! (CF) and two participating functions (PF-A for users of `a.lab`, PF-B for `b.lab`) as real
//! processes on loopback, each on its own store, and PoC terminals (`ue-emulator poc`) driven
//! over their gRPC control service. The scenario test (`tests/tests/poc_chain.rs`, through
//! `tests/poc_lab.rs`) and `labctl demo poc` use it.
//!
//! The CF and the PFs bind an ephemeral SIP port on their first start and keep it across a
//! restart (the PFs' routes and the terminals' outbound proxy name them); a terminal's user is provisioned in its PF with the terminal's SIP
//! address as contact once the terminal runs (`poc-participating provision`, read per request).

use std::time::Duration;

use corelab_proto::ue::v1 as pb;
use corelab_proto::ue::v1::poc_control_client::PocControlClient;
use tonic::transport::Channel;

use crate::node::{Node, bin_path};
use crate::wait::until;

/// A terminal process's control client.
pub type Terminals = PocControlClient<Channel>;

/// The join group of the seed's figure, served by the CF (domain `groups.lab`).
pub const GROUP: &str = "sip:team@groups.lab";
/// A join group with twenty members (`sip:u0@a.lab` … `sip:u19@a.lab`).
pub const CROWD: &str = "sip:crowd@groups.lab";
/// A group the group server has no document for.
pub const NO_SUCH_GROUP: &str = "sip:nobody@groups.lab";
pub const ALICE: &str = "sip:alice@a.lab";
pub const BOB: &str = "sip:bob@b.lab";
pub const CAROL: &str = "sip:carol@b.lab";
/// A user of PF-A who is not a member of [`GROUP`].
pub const EVE: &str = "sip:eve@a.lab";
/// A user no PF serves (a member of [`GROUP`]: only the PF can refuse him).
pub const MALLORY: &str = "sip:mallory@a.lab";

/// The crowd's users.
pub fn crowd() -> Vec<String> {
    (0..20).map(|i| format!("sip:u{i}@a.lab")).collect()
}

/// One join group's document for `group-server provision` (owned by the first member).
pub fn group_document(uri: &str, members: &[String]) -> String {
    let owner = members.first().map(String::as_str).unwrap_or_default();
    let members: Vec<String> = members.iter().map(|u| format!("\"{u}\"")).collect();
    format!(
        "[[group]]\nuri = \"{uri}\"\nowner = \"{owner}\"\njoin_type = \"join\"\nmembers = [{}]\n",
        members.join(", ")
    )
}

/// The group documents (`group-server provision`).
pub fn groups() -> String {
    let team = [ALICE, BOB, CAROL, MALLORY].map(String::from);
    format!(
        "{}\n{}",
        group_document(GROUP, &team),
        group_document(CROWD, &crowd())
    )
}

/// Load `file` into a node's store with its own loader: `<binary> --config C [--store-url U]
/// provision FILE` (group-server: groups; poc-participating: users).
pub async fn provision_file(
    binary: &str,
    config: &std::path::Path,
    store_url: Option<&str>,
    file: &std::path::Path,
) -> anyhow::Result<()> {
    let mut cmd = tokio::process::Command::new(bin_path(binary)?);
    cmd.arg("--config").arg(config);
    if let Some(url) = store_url {
        cmd.args(["--store-url", url]);
    }
    let out = cmd.arg("provision").arg(file).output().await?;
    anyhow::ensure!(
        out.status.success(),
        "{binary} provision {}: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}

/// A PF's `[[user]]` entries for `provision`: each user reached at `contact_host_port`.
pub fn users_document(users: &[String], contact_host_port: &str) -> String {
    let mut text = String::new();
    for user in users {
        let user_part = user
            .trim_start_matches("sip:")
            .split('@')
            .next()
            .unwrap_or("ue");
        text.push_str(&format!(
            "[[user]]\nuri = \"{user}\"\ncontact = \"sip:{user_part}@{contact_host_port}\"\n"
        ));
    }
    text
}

/// Start a terminal process (`ue-emulator poc`) with `users` behind the PF at `proxy`
/// (`host:port`) over `transport`, `group` its default group; its control client.
pub async fn start_terminal(
    dir: &std::path::Path,
    name: &str,
    proxy: &str,
    group: &str,
    users: &[String],
    transport: &str,
    inherit_stdout: bool,
) -> anyhow::Result<(Node, Terminals)> {
    let mut args: Vec<String> = vec![
        "poc".into(),
        "--proxy".into(),
        format!("sip:{proxy}"),
        "--transport".into(),
        transport.into(),
        "--group".into(),
        group.into(),
        "--t1-ms".into(),
        "100".into(),
    ];
    for user in users {
        args.extend(["--user".to_string(), user.clone()]);
    }
    let node = Node::start(name, &bin_path("ue-emulator")?, &args, dir, inherit_stdout).await?;
    let client = PocControlClient::connect(node.grpc_uri()).await?;
    Ok((node, client))
}

/// The ids the CF at `cf_admin` (`host:port`) has stored for `group` (`None`: none).
pub async fn stored_ids(cf_admin: &str, group: &str) -> anyhow::Result<Option<(String, String)>> {
    let text = crate::http::get_ok(&format!("http://{cf_admin}/group-sessions")).await?;
    let all: serde_json::Value = serde_json::from_str(&text)?;
    Ok(all.as_array().into_iter().flatten().find_map(|g| {
        (g["group_uri"] == group && !g["conversation_id"].is_null()).then(|| {
            (
                g["conversation_id"].as_str().unwrap_or("").to_string(),
                g["contribution_id"].as_str().unwrap_or("").to_string(),
            )
        })
    }))
}

/// The store of each node (SQLite files, or PostgreSQL databases).
#[derive(Debug, Clone)]
pub struct Stores {
    pub group_server: String,
    pub cf: String,
    pub pf_a: String,
    pub pf_b: String,
}

impl Stores {
    /// One SQLite file per node in `dir`.
    pub fn sqlite(dir: &std::path::Path) -> Stores {
        let f = |name: &str| format!("sqlite://{}/{name}.db", dir.display());
        Stores {
            group_server: f("group_server"),
            cf: f("poc_controlling"),
            pf_a: f("pf_a"),
            pf_b: f("pf_b"),
        }
    }
}

/// Which participating function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    A,
    B,
}

impl Side {
    fn name(self) -> &'static str {
        match self {
            Side::A => "pf-a",
            Side::B => "pf-b",
        }
    }
}

/// A running PoC lab.
pub struct PocLab {
    pub dir: tempfile::TempDir,
    pub stores: Stores,
    pub group_server: Node,
    /// The CF's and the PFs' SIP ports (0 until their first start).
    pub cf_port: u16,
    pub pf_ports: [u16; 2],
    pub cf: Option<Node>,
    pub pfs: [Option<Node>; 2],
    /// Terminal processes, in start order.
    pub terminals: Vec<Node>,
    inherit_stdout: bool,
}

impl PocLab {
    /// Provision the groups and start the group server, the CF, PF-A and PF-B.
    pub async fn start_on(dir: tempfile::TempDir, stores: Stores) -> anyhow::Result<PocLab> {
        let groups_file = dir.path().join("groups.toml");
        std::fs::write(&groups_file, groups())?;
        let gs_cfg = dir.path().join("group-server.toml");
        std::fs::write(
            &gs_cfg,
            "[xcap]\nreaders = [\"sip:poc-controlling@lab.example\"]\n",
        )?;
        let gs_args = |extra: &[&str]| -> Vec<String> {
            let mut a = vec![
                "--config".to_string(),
                gs_cfg.display().to_string(),
                "--store-url".into(),
                stores.group_server.clone(),
            ];
            a.extend(extra.iter().map(|s| s.to_string()));
            a
        };
        provision_file(
            "group-server",
            &gs_cfg,
            Some(&stores.group_server),
            &groups_file,
        )
        .await?;
        let group_server = Node::start(
            "group-server",
            &bin_path("group-server")?,
            &gs_args(&["--xcap-listen", "127.0.0.1:0"]),
            dir.path(),
            false,
        )
        .await?;
        let mut lab = PocLab {
            dir,
            stores,
            group_server,
            cf_port: 0,
            pf_ports: [0, 0],
            cf: None,
            pfs: [None, None],
            terminals: Vec::new(),
            inherit_stdout: false,
        };
        lab.start_cf().await?;
        lab.start_pf(Side::A).await?;
        lab.start_pf(Side::B).await?;
        Ok(lab)
    }

    /// The CF's SIP address.
    pub fn cf_addr(&self) -> String {
        format!("127.0.0.1:{}", self.cf_port)
    }

    /// A PF's SIP address.
    pub fn pf_addr(&self, side: Side) -> String {
        format!("127.0.0.1:{}", self.pf_ports[side as usize])
    }

    /// Start the CF (again) on its store and port.
    pub async fn start_cf(&mut self) -> anyhow::Result<()> {
        let xcap = self
            .group_server
            .addrs
            .get("xcap")
            .cloned()
            .unwrap_or_default();
        // `revalidate_ms = 0`: every join revalidates the group document, so the figure's step
        // 310-311 (B's join reads the document: 304) is on the wire as the seed draws it.
        let node = start_cf_node(
            self.dir.path(),
            &format!(
                "[groups]\nserved = [\"groups.lab\"]\n[xcap]\nroot = \"http://{xcap}/xcap\"\nrevalidate_ms = 0\n[sip]\nt1_ms = 100\n"
            ),
            &self.stores.cf,
            &self.cf_addr(),
            &[],
        )
        .await?;
        self.cf_port = port_of(&node)?;
        self.cf = Some(node);
        Ok(())
    }

    /// Start a PF (again) on its store and port; it routes `groups.lab` to the CF and trusts
    /// no source (its terminals are identified by From and the host they send from).
    pub async fn start_pf(&mut self, side: Side) -> anyhow::Result<()> {
        let name = side.name();
        let cfg = self.dir.path().join(format!("{name}.toml"));
        std::fs::write(
            &cfg,
            format!(
                r#"[sip]
listen = "{listen}"
advertise = "127.0.0.1"
t1_ms = 100

[participating]
trusted_sources = []
controlling = [{{ domain = "groups.lab", uri = "sip:{cf}" }}]
"#,
                listen = self.pf_addr(side),
                cf = self.cf_addr(),
            ),
        )?;
        let store = match side {
            Side::A => self.stores.pf_a.clone(),
            Side::B => self.stores.pf_b.clone(),
        };
        let node = Node::start(
            name,
            &bin_path("poc-participating")?,
            &[
                "--config".into(),
                cfg.display().to_string(),
                "--store-url".into(),
                store,
            ],
            self.dir.path(),
            false,
        )
        .await?;
        self.pf_ports[side as usize] = port_of(&node)?;
        self.pfs[side as usize] = Some(node);
        Ok(())
    }

    /// SIGKILL the CF and start it again on the same store and port.
    pub async fn crash_and_restart_cf(&mut self) -> anyhow::Result<()> {
        if let Some(cf) = self.cf.take() {
            cf.kill().await?;
        }
        self.start_cf().await
    }

    /// SIGKILL a PF and start it again on the same store and port.
    pub async fn crash_and_restart_pf(&mut self, side: Side) -> anyhow::Result<()> {
        if let Some(pf) = self.pfs[side as usize].take() {
            pf.kill().await?;
        }
        self.start_pf(side).await
    }

    /// Provision `users` in a PF (`poc-participating provision`), their contact `contact`.
    pub async fn provision(
        &self,
        side: Side,
        users: &[String],
        contact_host_port: &str,
    ) -> anyhow::Result<()> {
        let name = side.name();
        let file = self
            .dir
            .path()
            .join(format!("{name}-users-{}.toml", self.terminals.len()));
        std::fs::write(&file, users_document(users, contact_host_port))?;
        let store = match side {
            Side::A => &self.stores.pf_a,
            Side::B => &self.stores.pf_b,
        };
        let config = self.dir.path().join(format!("{name}.toml"));
        provision_file("poc-participating", &config, Some(store), &file).await
    }

    /// Start a terminal process (`ue-emulator poc`) with `users` (terminal K is the K-th) behind
    /// PF `side`, over `transport` (`udp` or `tcp`); with `provision`, its users are provisioned
    /// in that PF with the process's SIP address as contact.
    pub async fn terminals(
        &mut self,
        name: &str,
        side: Side,
        users: &[String],
        transport: &str,
        provision: bool,
    ) -> anyhow::Result<Terminals> {
        let (node, client) = start_terminal(
            self.dir.path(),
            name,
            &self.pf_addr(side),
            GROUP,
            users,
            transport,
            self.inherit_stdout,
        )
        .await?;
        if provision {
            self.provision(side, users, &node.sip_addr()).await?;
        }
        self.terminals.push(node);
        Ok(client)
    }

    /// `GET /group-sessions` of the CF.
    pub async fn group_sessions(&self) -> anyhow::Result<serde_json::Value> {
        let cf = self
            .cf
            .as_ref()
            .ok_or_else(|| anyhow::anyhow!("the CF is not running"))?;
        let text = crate::http::get_ok(&cf.admin_url("/group-sessions")).await?;
        Ok(serde_json::from_str(&text)?)
    }

    /// The CF's admin address (`host:port`).
    pub fn cf_admin(&self) -> anyhow::Result<String> {
        let cf = self
            .cf
            .as_ref()
            .ok_or_else(|| anyhow::anyhow!("the CF is not running"))?;
        cf.addrs
            .get("admin")
            .cloned()
            .ok_or_else(|| anyhow::anyhow!("the CF has no admin address"))
    }

    /// The ids the CF has stored for `group` (`None`: none).
    pub async fn stored_ids(&self, group: &str) -> anyhow::Result<Option<(String, String)>> {
        stored_ids(&self.cf_admin()?, group).await
    }

    /// A node's log so far (for failure messages).
    pub fn log(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(format!("{name}.log"))).unwrap_or_default()
    }
}

/// Start poc-controlling in `dir` with `config` (written to `dir/poc-controlling.toml`) on
/// `store_url`, SIP on `sip_listen`, with `args` added.
pub async fn start_cf_node(
    dir: &std::path::Path,
    config: &str,
    store_url: &str,
    sip_listen: &str,
    args: &[String],
) -> anyhow::Result<Node> {
    let path = dir.join("poc-controlling.toml");
    std::fs::write(&path, config)?;
    let mut all: Vec<String> = vec![
        "--config".into(),
        path.display().to_string(),
        "--store-url".into(),
        store_url.into(),
        "--sip-listen".into(),
        sip_listen.into(),
    ];
    all.extend_from_slice(args);
    Node::start(
        "poc-controlling",
        &bin_path("poc-controlling")?,
        &all,
        dir,
        false,
    )
    .await
}

/// The SIP port a node bound (its ready file's `sip`).
fn port_of(node: &Node) -> anyhow::Result<u16> {
    node.sip_addr()
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .ok_or_else(|| anyhow::anyhow!("{}: no SIP address in its ready file", node.name))
}

/// Terminal `index` joins `group` ("" : its default), with new own ids when `new_ids`.
pub async fn join(
    t: &mut Terminals,
    index: u32,
    group: &str,
    new_ids: bool,
) -> anyhow::Result<pb::PocResult> {
    let req = pb::PocJoinRequest {
        terminal: index,
        group: group.into(),
        new_ids,
    };
    Ok(t.join(req).await?.into_inner())
}

/// Terminal `index` leaves (BYE).
pub async fn leave(t: &mut Terminals, index: u32) -> anyhow::Result<pb::PocResult> {
    Ok(t.leave(pb::PocTerminalRef { terminal: index })
        .await?
        .into_inner())
}

/// Terminal `index` sends `packets` RTP packets, 10 ms apart.
pub async fn send_rtp(
    t: &mut Terminals,
    index: u32,
    packets: u32,
) -> anyhow::Result<pb::PocResult> {
    let req = pb::PocSendRtpRequest {
        terminal: index,
        packets,
        interval_ms: 10,
    };
    Ok(t.send_rtp(req).await?.into_inner())
}

/// What terminal `index` holds.
pub async fn status(t: &mut Terminals, index: u32) -> anyhow::Result<pb::PocTerminal> {
    Ok(t.status(pb::PocTerminalRef { terminal: index })
        .await?
        .into_inner())
}

/// Wait until terminal `index` has received at least `min` RTP packets (bounded).
pub async fn rtp_received(t: &mut Terminals, index: u32, min: u64) -> anyhow::Result<u64> {
    until(Duration::from_secs(10), "RTP at the terminal", || {
        let mut t = t.clone();
        async move {
            let s = status(&mut t, index).await.ok()?;
            (s.rtp_received >= min).then_some(s.rtp_received)
        }
    })
    .await
}

/// The ids a result carries.
pub fn ids(r: &pb::PocResult) -> (String, String) {
    (r.conversation_id.clone(), r.contribution_id.clone())
}

/// The ids a join sent.
pub fn sent_ids(r: &pb::PocResult) -> (String, String) {
    (
        r.sent_conversation_id.clone(),
        r.sent_contribution_id.clone(),
    )
}
