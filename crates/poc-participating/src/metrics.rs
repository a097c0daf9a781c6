//! Metric names (`corelab_poc_participating_*`), in one place so the README's list stays true.

pub const RELAYED: &str = "corelab_poc_participating_requests_relayed_total";
pub const REFUSED: &str = "corelab_poc_participating_requests_refused_total";

pub fn describe() {
    metrics::describe_counter!(
        RELAYED,
        "requests forwarded and relayed, by method and the final status sent upstream"
    );
    metrics::describe_counter!(
        REFUSED,
        "requests refused by the participating function, by cause"
    );
}
