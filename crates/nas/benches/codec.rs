//! NAS-5GS codec speed (issue 12 §6): decode and encode of the two messages of the seed's
//! procedure, the mobility REGISTRATION REQUEST with the per-session QFI lists IE and the PDU
//! SESSION MODIFICATION COMMAND with a Received MBS container (join accepted, MBS QoS flow
//! created). `scripts/bench-nas.sh` runs this and pycrate on the same octets, side by side.
//!
//! With `NAS_BENCH_SAMPLES=<file>` the bench first writes the octets it measures there, one
//! `name<TAB>hex` line each, for the pycrate half.

use std::hint::black_box;

use corelab_nas::{Direction, NasMessage, decode};
use criterion::{Criterion, criterion_group, criterion_main};

#[path = "../tests/common/mod.rs"]
mod common;

/// The two messages, named as in `docs/benchmarks.md`, with the direction they travel.
fn messages() -> Vec<(&'static str, NasMessage, Direction)> {
    let command = common::samples()
        .into_iter()
        .find(|(name, _, _)| *name == "MBS join accepted")
        .map(|(_, message, _)| message)
        .expect("the samples have the MBS join accepted command");
    vec![
        (
            "registration_request_mobility_qfi_lists",
            common::mobility_registration(),
            Direction::Uplink,
        ),
        (
            "modification_command_mbs_join_accepted",
            command,
            Direction::Downlink,
        ),
    ]
}

fn codec(c: &mut Criterion) {
    let messages = messages();
    if let Ok(path) = std::env::var("NAS_BENCH_SAMPLES") {
        let lines: String = messages
            .iter()
            .map(|(name, message, _)| {
                let octets = message.encode().expect("sample encodes");
                let hex: String = octets.iter().map(|b| format!("{b:02x}")).collect();
                format!("{name}\t{hex}\n")
            })
            .collect();
        std::fs::write(&path, lines).expect("NAS_BENCH_SAMPLES is writable");
    }
    for (name, message, direction) in &messages {
        let octets = message.encode().expect("sample encodes");
        c.bench_function(&format!("{name}_decode"), |b| {
            b.iter(|| decode(black_box(&octets), *direction).expect("decodes"))
        });
        c.bench_function(&format!("{name}_encode"), |b| {
            b.iter(|| black_box(message).encode().expect("encodes"))
        });
    }
}

criterion_group!(benches, codec);
criterion_main!(benches);
