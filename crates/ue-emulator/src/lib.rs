//! ue-emulator: emulated user equipment. The 5G UEs of the MBS scenario ([`fivegs`]: NAS-5GS over
//! the N1 link, one gNB per process), and the IMS client of the presence scenario — it
//! registers, subscribes to its buddies, answers NOTIFYs (with fault injection), re-subscribes
//! when the server's subscription-failure MESSAGE arrives, and publishes its own presence.

pub mod control;
pub mod fivegs;
pub mod ims;
pub mod poc;
pub mod step_flag;

/// The emulator's common config (`--config`, env, the common flags), checked, with telemetry
/// set up; `None` after `--print-config` printed it (exit 0). Every mode starts with it.
pub fn common_config(
    args: &corelab_runtime::cli::NodeArgs,
) -> anyhow::Result<Option<corelab_runtime::CommonConfig>> {
    corelab_runtime::boot::config(
        &corelab_runtime::CommonConfig::defaults("ue-emulator"),
        args,
        &[],
        |_| {},
    )
}
