//! Metric names (`corelab_dra_*`), in one place so docs/dra.md's list stays true.

/// Bindings created (a new IP-CAN session's PCRF chosen and committed).
pub const BINDINGS_CREATED: &str = "corelab_dra_bindings_created_total";
/// Deletions, by cause: `termination` (a Diameter session deleted on its termination request
/// or answer), `cascade` (a binding deleted with its last session), `audit` (a binding removed
/// by the audit), `stale` (a binding replaced by a new UE's establishment with its UE IP).
pub const DELETIONS: &str = "corelab_dra_deletions_total";
/// 3006 answers naming a PCRF (redirect mode).
pub const REDIRECTS: &str = "corelab_dra_redirects_total";
/// Requests forwarded to a bound PCRF (proxy and proxy_variant modes).
pub const PROXIED: &str = "corelab_dra_proxied_requests_total";
/// Requests this DRA answered itself with an error, by Result-Code.
pub const REJECTED: &str = "corelab_dra_rejected_total";

pub fn describe() {
    metrics::describe_counter!(
        BINDINGS_CREATED,
        "bindings created (PCRF chosen and committed)"
    );
    metrics::describe_counter!(
        DELETIONS,
        "deletions by cause: termination (Diameter sessions), cascade, audit and stale (bindings)"
    );
    metrics::describe_counter!(REDIRECTS, "3006 answers naming the bound PCRF");
    metrics::describe_counter!(PROXIED, "requests forwarded to the bound PCRF");
    metrics::describe_counter!(
        REJECTED,
        "requests answered by the DRA with an error, by Result-Code"
    );
}

pub fn deleted(cause: &'static str, n: u64) {
    if n > 0 {
        metrics::counter!(DELETIONS, "cause" => cause).increment(n);
    }
}
