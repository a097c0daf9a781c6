//! The server's shared context: configuration, store, SIP node, and the per-dialog NOTIFY locks.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use std::time::Duration;

use corelab_recovery::RecoveryPolicy;
use corelab_sip::node::SipNode;

use crate::config::PresenceConfig;
use crate::store::PresenceStore;

#[derive(Clone)]
pub struct Presence {
    pub cfg: Arc<PresenceConfig>,
    pub store: PresenceStore,
    pub sip: SipNode,
    /// The recovery procedure's settings (from `[recovery]` and `sip.t1_ms`).
    pub policy: Arc<RecoveryPolicy>,
    /// This process's name in the store's claims (owed MESSAGEs, dialogs' NOTIFYs).
    pub instance: Arc<str>,
    /// RFC 6665 §4.2.2: no new NOTIFY in a dialog before the previous one got its final response
    /// or timed out. One lock per subscription id, held across the NOTIFY transaction.
    dialog_locks: Arc<Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>>,
}

impl Presence {
    pub fn new(cfg: PresenceConfig, store: PresenceStore, sip: SipNode) -> Presence {
        let policy = RecoveryPolicy {
            threshold: cfg.recovery.threshold,
            on_threshold: cfg.recovery.on_threshold,
            local_retries: cfg.recovery.local_retries,
            local_retry_first: Duration::from_millis(cfg.recovery.local_retry_ms),
            lease_ms: store.hold.hold_ms,
        };
        Presence {
            instance: store.hold.owner.clone(),
            cfg: Arc::new(cfg),
            policy: Arc::new(policy),
            store,
            sip,
            dialog_locks: Arc::default(),
        }
    }

    /// Our own URI, the From of requests we originate (MESSAGE).
    pub fn server_uri(&self) -> String {
        format!("sip:presence@{}", self.cfg.sip.domain)
    }

    pub(crate) fn dialog_lock(&self, id: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.dialog_locks.lock().unwrap_or_else(|p| p.into_inner());
        locks.entry(id.to_string()).or_default().clone()
    }

    pub(crate) fn forget_dialog(&self, id: &str) {
        let mut locks = self.dialog_locks.lock().unwrap_or_else(|p| p.into_inner());
        locks.remove(id);
    }
}

/// How long a process holds what it claimed in the store (a dialog's NOTIFY, an owed MESSAGE):
/// longer than the transaction it sends, which ends by Timer F (64·T1).
pub fn hold_ms(t1_ms: u64) -> i64 {
    72 * t1_ms as i64 + 1000
}
