//! Failpoints: named places in a node where a test can make it stop, to kill it there
//! (`kill -9`) and check what a restart recovers — e.g. the recovery procedure between the
//! committed deletion of a subscription and its MESSAGE.
//!
//! Configured by `node.failpoints = ["name", …]` (empty by default). A failpoint that is not
//! configured costs one read of a set that is empty in every real deployment.

use std::collections::HashSet;
use std::sync::OnceLock;

static ARMED: OnceLock<HashSet<String>> = OnceLock::new();

/// Arm `names` (once, at start; later calls are ignored).
pub fn arm(names: &[String]) {
    if !names.is_empty() {
        tracing::warn!(
            ?names,
            "failpoints armed: this node will stop at them (tests only)"
        );
    }
    let _ = ARMED.set(names.iter().cloned().collect());
}

/// Is `name` armed?
pub fn is_armed(name: &str) -> bool {
    ARMED.get().is_some_and(|armed| armed.contains(name))
}

/// At failpoint `name`: when armed, log that it was reached and never return (the test kills the
/// node); otherwise return at once.
pub async fn hit(name: &str) {
    if is_armed(name) {
        tracing::error!(failpoint = name, "failpoint reached: pausing for ever");
        std::future::pending::<()>().await;
    }
}
