//! `labctl demo <presence|dra|poc|mbs|all>` against the lab: the lab of the topology file when
//! it is up, else brought up for the run (and taken down after it, unless `--keep`); each demo's
//! messages, as the nodes' wire taps saw them, on a ladder with each check's verdict; a table of
//! verdicts after `all`.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, SystemTime};

use super::{Checks, DEMOS, Demo, flow, run_number};
use crate::console::events::Events;
use crate::lab::{self, LabState};

/// Play `names` (in order) against the lab of `topology`; whether every check passed.
pub async fn demo(names: &[&str], topology: &Path, keep: bool) -> anyhow::Result<bool> {
    let topo = lab::topology(topology)?;
    let dir = std::path::absolute(&topo.lab.dir)?;
    let (state, brought) = match LabState::load(&dir) {
        Ok(state) if state.is_up() => {
            println!("the lab up in {} plays the demos", dir.display());
            (state, false)
        }
        Ok(state) if !state.is_down() => anyhow::bail!(
            "the lab in {} has nodes down (`labctl status --dir {0}`; `labctl down --dir {0}`, then up)",
            dir.display()
        ),
        // None, or one whose every process is gone (a reboot): `up` starts it afresh.
        _ => {
            println!(
                "no lab is up in {}: bringing up {}",
                dir.display(),
                topology.display()
            );
            (lab::up(topology).await?, true)
        }
    };
    let played = play(&state, names).await;
    if brought && !keep {
        lab::down(&dir).await?;
    } else {
        println!(
            "the lab stays up in {}: {}`labctl status`, `labctl down`",
            dir.display(),
            state
                .console_url()
                .map(|u| format!("console {u}, "))
                .unwrap_or_default()
        );
    }
    played
}

async fn play(state: &LabState, names: &[&str]) -> anyhow::Result<bool> {
    let events = Events::subscribe(state).await?;
    let node_by_addr: BTreeMap<String, String> = state
        .nodes
        .iter()
        .flat_map(|n| n.addrs.values().map(|a| (a.clone(), n.name.clone())))
        .collect();
    let work = state.dir.join("demos");
    std::fs::create_dir_all(&work)?;
    let mut results = Vec::new();
    for name in names {
        let about = DEMOS
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, a)| *a)
            .unwrap_or_default();
        println!("\n##### labctl demo {name}: {about}");
        let checks = Checks::default();
        let start = SystemTime::now();
        let run = match Demo::of(name, state) {
            Ok(demo) => demo.run(&work, run_number(), &checks).await,
            Err(e) => Err(e),
        };
        // The taps' last messages are on their way.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let (seen, _) = events.follow();
        let mut window: Vec<_> = seen.into_iter().filter(|s| s.event.at >= start).collect();
        window.sort_by_key(|s| s.event.at);
        let mut names = node_by_addr.clone();
        names.extend(checks.lane_names());
        let arrows = flow::arrows(&window, &names);
        let (passed, failed) = flow::print(
            &format!("{name}: {} messages seen by the lab's nodes", arrows.len()),
            &arrows,
            &checks.all(),
        );
        if let Err(e) = &run {
            println!("    stopped: {e:#}");
        }
        let ok = run.is_ok() && failed == 0 && passed > 0;
        println!(
            "{passed} checks passed, {failed} failed: {}",
            if ok { "PASS" } else { "FAIL" }
        );
        results.push((*name, ok));
    }
    if names.len() > 1 {
        println!("\n##### labctl demo all");
        for (name, ok) in &results {
            println!("{name:<10} {}", if *ok { "PASS" } else { "FAIL" });
        }
    }
    Ok(results.iter().all(|(_, ok)| *ok))
}
