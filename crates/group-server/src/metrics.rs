//! Metric names (`corelab_group_server_*`), in one place so the README's list stays true.

pub const XCAP_REQUESTS: &str = "corelab_group_server_xcap_requests_total";
pub const GROUPS: &str = "corelab_group_server_groups";
pub const CONNECTIONS_REFUSED: &str = "corelab_group_server_xcap_connections_refused_total";

pub fn describe() {
    metrics::describe_counter!(
        XCAP_REQUESTS,
        "XCAP requests answered, by method and status"
    );
    metrics::describe_gauge!(
        GROUPS,
        "group documents in the store (at start and after each write)"
    );
}
