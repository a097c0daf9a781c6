//! The PoC demo against the lab: a join group and its two users provisioned for the run (with
//! the nodes' own loaders, into the lab's stores), two `ue-emulator poc` terminals behind the
//! lab's PF-A and PF-B, and seed 002's figure ([`crate::poc_figure`]) with its verdicts recorded.

use std::path::{Path, PathBuf};

use super::{Checks, addr};
use crate::lab::LabState;
use crate::poc::{group_document, provision_file, start_terminal, users_document};
use crate::poc_figure::{L, Script, Target, figure};

/// The lab's PoC nodes.
pub struct PocTarget {
    /// PF-A's and PF-B's SIP addresses and config files (their `provision` reads the store URL
    /// from it).
    pfs: [(String, PathBuf); 2],
    group_server_config: PathBuf,
    cf_admin: String,
}

impl PocTarget {
    pub fn of(lab: &LabState) -> anyhow::Result<PocTarget> {
        let config = |name: &str| lab.dir.join(format!("{name}.toml"));
        Ok(PocTarget {
            pfs: [
                (addr(lab, "pf-a", "sip")?, config("pf-a")),
                (addr(lab, "pf-b", "sip")?, config("pf-b")),
            ],
            group_server_config: config("group-server"),
            cf_admin: addr(lab, "poc-controlling", "admin")?,
        })
    }

    pub async fn run(&self, dir: &Path, n: u32, checks: &Checks) -> anyhow::Result<()> {
        let group = format!("sip:demo{n}@groups.lab");
        let users = [format!("sip:alice{n}@a.lab"), format!("sip:bob{n}@b.lab")];
        let groups = dir.join(format!("demo-poc-{n}-group.toml"));
        std::fs::write(&groups, group_document(&group, &users))?;
        provision_file("group-server", &self.group_server_config, None, &groups).await?;
        let mut terminals = Vec::new();
        for (i, (user, (pf, pf_config))) in users.iter().zip(&self.pfs).enumerate() {
            let name = format!("demo-poc-{n}-{}", ["a", "b"][i]);
            let (node, client) = start_terminal(
                dir,
                &name,
                pf,
                &group,
                std::slice::from_ref(user),
                "udp",
                false,
            )
            .await?;
            let file = dir.join(format!("{name}-users.toml"));
            std::fs::write(
                &file,
                users_document(std::slice::from_ref(user), &node.sip_addr()),
            )?;
            provision_file("poc-participating", pf_config, None, &file).await?;
            checks.name_lane(&node.sip_addr(), &format!("{} ({user})", ["A", "B"][i]));
            terminals.push((node, client));
        }
        let [(node_a, mut a), (node_b, mut b)]: [_; 2] = terminals
            .try_into()
            .map_err(|_| anyhow::anyhow!("two terminals"))?;
        let target = Target {
            group: &group,
            cf_admin: &self.cf_admin,
        };
        let mut recorder = Recorder {
            checks,
            step: String::new(),
        };
        let played = figure(&mut recorder, &target, &mut a, &mut b).await;
        node_a.stop().await?;
        node_b.stop().await?;
        played
    }
}

/// The figure's verdicts as checks; its scripted messages are left out (the wire taps show
/// the real ones).
struct Recorder<'a> {
    checks: &'a Checks,
    step: String,
}

impl Script for Recorder<'_> {
    fn step(&mut self, number: &str, title: &str) {
        self.step = format!("{number}: {title}");
    }
    fn message(&mut self, _: L, _: L, _: &str) {}
    fn note(&mut self, _: L, _: &str) {}
    fn verdict(&mut self, ok: bool, detail: &str) {
        self.checks.push(&self.step, ok, detail);
    }
}
