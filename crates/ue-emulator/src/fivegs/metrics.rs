//! The 5G mode's metrics on `/metrics` (docs/ue-emulator.md).

/// Procedures ended, by `procedure` and `result` (`ok` / `failed`).
pub const PROCEDURES: &str = "corelab_ue_emulator_procedures_total";
/// Procedure latency from the command to the network's last message, by `procedure`.
pub const PROCEDURE_SECONDS: &str = "corelab_ue_emulator_procedure_seconds";
/// TMGI pagings answered (`RadioEvent paging_response`).
pub const PAGING_RESPONSES: &str = "corelab_ue_emulator_paging_responses_total";
/// Uplink messages dropped because no N1 stream was up.
pub const UPLINK_DROPPED: &str = "corelab_ue_emulator_uplink_dropped_total";

/// Describe them once at start-up.
pub fn describe() {
    metrics::describe_counter!(PROCEDURES, "5G procedures ended, by procedure and result");
    metrics::describe_histogram!(
        PROCEDURE_SECONDS,
        metrics::Unit::Seconds,
        "5G procedure latency, command to the network's last message"
    );
    metrics::describe_counter!(PAGING_RESPONSES, "TMGI pagings answered");
    metrics::describe_counter!(
        UPLINK_DROPPED,
        "uplink messages dropped with no N1 stream up"
    );
}
