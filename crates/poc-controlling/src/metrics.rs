//! Metric names (`corelab_poc_controlling_*`), in one place so the README's list stays true.

pub const SIP_REQUESTS: &str = "corelab_poc_controlling_sip_requests_total";
pub const JOINS: &str = "corelab_poc_controlling_joins_total";
pub const XCAP_FETCHES: &str = "corelab_poc_controlling_xcap_fetches_total";
pub const PARTICIPANTS: &str = "corelab_poc_controlling_participants";
pub const EXPIRED: &str = "corelab_poc_controlling_participants_expired_total";

pub fn describe() {
    metrics::describe_counter!(SIP_REQUESTS, "SIP requests answered, by method and status");
    metrics::describe_counter!(
        JOINS,
        "join INVITEs by outcome (joined, not_member, full, bad_body, ...)"
    );
    metrics::describe_counter!(
        XCAP_FETCHES,
        "group documents read on a join: fetched (200), not_modified (304) or cached (within xcap.revalidate_ms, no request)"
    );
    metrics::describe_gauge!(PARTICIPANTS, "participants in all group sessions");
    metrics::describe_counter!(EXPIRED, "silent participants sent a BYE and removed");
}
