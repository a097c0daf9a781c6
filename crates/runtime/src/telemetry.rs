//! Tracing set-up: human-readable or JSON lines, filtered by `RUST_LOG` or the config's `log.level`.

use tracing_subscriber::EnvFilter;

use crate::config::LogSection;

/// The SIP stack logs every datagram at `info`; keep it quiet unless asked for.
const QUIET_DEPENDENCIES: &str = "rsipstack=warn,sqlx=warn,h2=warn,tower=warn,hyper=warn";

pub fn init(log: &LogSection) -> Result<(), crate::ConfigError> {
    let filter = match std::env::var("RUST_LOG") {
        Ok(env) if !env.is_empty() => env,
        _ => format!("{QUIET_DEPENDENCIES},{}", log.level),
    };
    let filter = EnvFilter::try_new(&filter)
        .map_err(|e| crate::ConfigError(format!("log.level {filter:?}: {e}")))?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let result = match log.format.as_str() {
        "json" => builder.json().flatten_event(true).try_init(),
        "human" => builder.compact().try_init(),
        other => {
            return Err(crate::ConfigError(format!(
                "log.format {other:?}: use \"human\" or \"json\""
            )));
        }
    };
    // A second init (tests) is harmless.
    let _ = result;
    Ok(())
}
