//! `pcc-emulator`: see docs/pcc-emulator.md.

use std::process::ExitCode;

use clap::Parser;
use pcc_emulator::cli::{Cli, run};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("pcc-emulator: error: {e}");
            return ExitCode::from(2);
        }
    };
    match rt.block_on(run(cli)) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("pcc-emulator: error: {e:#}");
            ExitCode::from(2)
        }
    }
}
