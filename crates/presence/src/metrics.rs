//! Metric names (`corelab_presence_*`), in one place so the README's list stays true.

pub const SIP_REQUESTS: &str = "corelab_presence_sip_requests_total";
pub const NOTIFY_SENT: &str = "corelab_presence_notify_total";
pub const NOTIFY_FAILED: &str = "corelab_presence_notify_failures_total";
pub const NOTIFY_LOCAL_FAILED: &str = "corelab_presence_notify_local_failures_total";
pub const REFUSED: &str = "corelab_presence_refused_total";
pub const RECOVERY_MESSAGES: &str = "corelab_presence_recovery_messages_total";
pub const THRESHOLD_REACHED: &str = "corelab_presence_threshold_reached_total";
pub const ALARMS_RAISED: &str = "corelab_presence_alarms_raised_total";
pub const ALARMS_ACTIVE: &str = "corelab_presence_alarms_active";

pub fn describe() {
    metrics::describe_counter!(SIP_REQUESTS, "SIP requests answered, by method and status");
    metrics::describe_counter!(NOTIFY_SENT, "NOTIFYs sent, by package and outcome");
    metrics::describe_counter!(
        NOTIFY_FAILED,
        "NOTIFYs of live subscriptions that failed (timeout or non-2xx)"
    );
    metrics::describe_counter!(
        NOTIFY_LOCAL_FAILED,
        "NOTIFYs not sent for a fault of ours (store, destination, build, transport), by cause; never counted against the client"
    );
    metrics::describe_counter!(
        REFUSED,
        "requests refused by a bound or an authorization rule, by reason"
    );
    metrics::describe_counter!(
        RECOVERY_MESSAGES,
        "subscription-failure MESSAGEs sent, by outcome"
    );
    metrics::describe_counter!(
        THRESHOLD_REACHED,
        "users past the MESSAGE threshold, by action"
    );
    metrics::describe_counter!(ALARMS_RAISED, "alarms raised to the administrator");
    metrics::describe_gauge!(ALARMS_ACTIVE, "alarms not yet cleared");
}

/// Count a refusal by a bound or an authorization rule.
pub fn refused(reason: &'static str) {
    metrics::counter!(REFUSED, "reason" => reason).increment(1);
}
