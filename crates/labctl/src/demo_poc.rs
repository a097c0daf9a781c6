//! `labctl demo poc`: the seed's figure (issue 11, seed 002 fig. 3, `specs/poc-join.md`) played
//! over the wire by the group server, the controlling function, two participating functions
//! and two PoC terminals (`ue-emulator poc`), each a separate process on SQLite in a temporary
//! directory ([`labctl::poc`], the lab `tests/tests/poc_chain.rs` runs), printed as a scripted
//! message ladder ([`labctl::poc_figure`]; the messages are the call flow's, docs/poc.md).

use labctl::ladder::Ladder;
use labctl::poc::*;
use labctl::poc_figure::{LANES, Target, figure};

/// Run the demo; `Ok(false)` when a step failed.
pub async fn demo_poc() -> anyhow::Result<bool> {
    let dir = tempfile::tempdir()?;
    let stores = Stores::sqlite(dir.path());
    println!(
        "group-server, poc-controlling (CF), poc-participating PF-A (a.lab) and PF-B (b.lab), and two \
         ue-emulator poc terminals as separate processes, each on SQLite; files in {}",
        dir.path().display()
    );
    let mut lab = PocLab::start_on(dir, stores).await?;
    let mut a = lab
        .terminals("terminal-a", Side::A, &[ALICE.into()], "udp", true)
        .await?;
    let mut b = lab
        .terminals("terminal-b", Side::B, &[BOB.into()], "udp", true)
        .await?;
    let mut ladder = Ladder::new(&LANES, 24);
    ladder.head(&format!("join group {GROUP} (join type), seed 002 fig. 3"));
    let cf_admin = lab.cf_admin()?;
    let target = Target {
        group: GROUP,
        cf_admin: &cf_admin,
    };
    let run = figure(&mut ladder, &target, &mut a, &mut b).await;
    println!();
    if let Err(e) = &run {
        println!("stopped: {e:#}");
    }
    let ok = ladder.failed == 0 && run.is_ok();
    println!(
        "{} steps passed, {} failed: {}",
        ladder.passed,
        ladder.failed,
        if ok { "PASS" } else { "FAIL" }
    );
    if !ok {
        for name in [
            "pf-a",
            "pf-b",
            "poc-controlling",
            "terminal-a",
            "terminal-b",
        ] {
            println!("--- {name} log ---\n{}", lab.log(name));
        }
    }
    for node in lab.terminals.drain(..) {
        node.stop().await?;
    }
    for pf in lab.pfs.iter_mut() {
        if let Some(node) = pf.take() {
            node.stop().await?;
        }
    }
    if let Some(node) = lab.cf.take() {
        node.stop().await?;
    }
    Ok(ok)
}
