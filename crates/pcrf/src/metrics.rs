//! Metric names of pcrf (`corelab_pcrf_*`), described once at start.

pub const ESTABLISHED: &str = "corelab_pcrf_sessions_established_total";
pub const TERMINATED: &str = "corelab_pcrf_sessions_terminated_total";
pub const S9_REQUESTS: &str = "corelab_pcrf_s9_requests_total";
pub const S9_FAILURES: &str = "corelab_pcrf_s9_failures_total";
pub const RAR_SENT: &str = "corelab_pcrf_rar_sent_total";
pub const REJECTED: &str = "corelab_pcrf_rejected_total";

pub fn describe() {
    metrics::describe_counter!(ESTABLISHED, "sessions established, by interface");
    metrics::describe_counter!(TERMINATED, "sessions terminated, by interface");
    metrics::describe_counter!(
        S9_REQUESTS,
        "S9 requests sent towards home, by kind (initial, subsession_establishment, subsession_termination, termination) and path (redirect, proxy)"
    );
    metrics::describe_counter!(S9_FAILURES, "S9 requests that got no success answer");
    metrics::describe_counter!(
        RAR_SENT,
        "RARs sent, by reason (media_rule_install, media_rule_remove, loss_of_bearer)"
    );
    metrics::describe_counter!(REJECTED, "requests answered with an error, by result code");
}

pub fn count(name: &'static str, label: &'static str, value: String) {
    metrics::counter!(name, label => value).increment(1);
}
