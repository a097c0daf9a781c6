//! The seam between the recovery procedure and the server that runs it: what the procedure needs
//! from the server's store and SIP node, and nothing else.

use async_trait::async_trait;
use corelab_sip::body::failure_report::FailureReport;

pub type StoreResult<T> = Result<T, sqlx::Error>;

/// The subscription whose NOTIFY failed, as the procedure sees it (any event package).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedSubscription {
    /// The server's key of the subscription.
    pub id: String,
    /// Event package (`presence`, `reg`, `presence.winfo`, …).
    pub event: String,
    /// The Event header's `id` parameter, `""` when absent.
    pub event_id: String,
    /// The URI the client subscribed to.
    pub resource: String,
    /// The subscriber: the user whose MESSAGEs are counted.
    pub user: String,
    /// Call-ID of the subscription's dialog.
    pub call_id: String,
}

/// A subscription-failure MESSAGE owed to a user: a row of the server's outbox, written in the
/// same transaction as the subscription's deletion, cleared once sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwedMessage {
    pub id: String,
    pub user: String,
    pub report: FailureReport,
    /// Sends that failed locally so far (see [`MessageOutcome::Local`]).
    pub attempts: u32,
}

/// What step 5's transaction did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Deletion {
    /// The subscription was already gone: another failure of it got there first.
    AlreadyGone,
    /// Deleted, one MESSAGE counted against the user's threshold and owed (committed).
    Owed(Box<OwedMessage>),
    /// Deleted, nothing counted: the user had reached the threshold, or is not registered.
    NotCounted,
}

/// How sending a MESSAGE ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MessageOutcome {
    /// A 2xx.
    Delivered,
    /// A final non-2xx answer.
    Rejected(u16),
    /// No final answer before Timer F.
    Timeout,
    /// The user is no longer registered: nobody to tell.
    NotRegistered,
    /// Our own fault: the store failed, the request could not be built or handed to the
    /// transport. Never the client's failure.
    Local(String),
}

impl MessageOutcome {
    /// For logs and metric labels.
    pub fn label(&self) -> String {
        match self {
            MessageOutcome::Delivered => "200".into(),
            MessageOutcome::Rejected(code) => code.to_string(),
            MessageOutcome::Timeout => "timeout".into(),
            MessageOutcome::NotRegistered => "not_registered".into(),
            MessageOutcome::Local(_) => "local_error".into(),
        }
    }
}

/// The alarms the procedure raises to the administrator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlarmKind {
    /// A user's NOTIFYs kept failing past the threshold (spec step 8): the client's fault.
    ThresholdReached,
    /// NOTIFYs or MESSAGEs could not be sent for a fault of ours (store, configuration, transport):
    /// not the client's fault. Raised once while an alarm of this kind is active.
    ServerFault,
}

impl AlarmKind {
    pub fn name(self) -> &'static str {
        match self {
            AlarmKind::ThresholdReached => "notify_failure_threshold",
            AlarmKind::ServerFault => "server_fault",
        }
    }
}

/// What the procedure needs from the notifying server. Each method is one step the seed names;
/// a store method is one transaction.
#[async_trait]
pub trait RecoveryPorts: Send + Sync {
    /// Now, in milliseconds since the Unix epoch.
    fn now_ms(&self) -> i64;

    /// Step 5 as one transaction: delete the subscription; if it was there and `sub.user` is
    /// registered with fewer than `threshold` MESSAGEs counted in this registration, count one
    /// more and store the MESSAGE owed (`report` with its `count` set), claimed by this server
    /// for `lease_ms`. Two failures of one subscription cannot both pass (see [`Deletion`]).
    async fn delete_and_owe(
        &self,
        sub: &FailedSubscription,
        threshold: u32,
        report: FailureReport,
        lease_ms: i64,
    ) -> StoreResult<Deletion>;

    /// The owed MESSAGEs nobody holds (their claim expired: the server that owed them died or
    /// could not send), now claimed by this server for `lease_ms`; at most `limit`.
    async fn claim_owed(&self, lease_ms: i64, limit: u32) -> StoreResult<Vec<OwedMessage>>;

    /// The MESSAGE is done with (sent, or given up): remove it from the outbox.
    async fn clear_owed(&self, id: &str) -> StoreResult<()>;

    /// Leave the MESSAGE owed, to be claimed again after `retry_at` (ms), one attempt more.
    async fn defer_owed(&self, id: &str, retry_at: i64) -> StoreResult<()>;

    /// Send the subscription-failure MESSAGE (RFC 3428) to the user, through the core or to its
    /// registered contact, and wait for its final answer or Timer F.
    async fn send_message(&self, owed: &OwedMessage) -> MessageOutcome;

    /// Is `user` registered now?
    async fn is_registered(&self, user: &str) -> StoreResult<bool>;

    /// The subscription left the server's state (e.g. a presence server re-notifies the
    /// resource's watcher-info watchers).
    async fn subscription_deleted(&self, sub: &FailedSubscription);

    /// Delete the user's registration and end its subscriptions (step 8), `reason` as in
    /// RFC 6665 §8.2.3 (`deactivated`, `rejected`).
    async fn sign_out(&self, user: &str, reason: &'static str) -> StoreResult<()>;

    /// Forbid the user to register until an administrator clears it (step 8, "bar").
    async fn bar(&self, user: &str, reason: &str) -> StoreResult<()>;

    /// Store, log and count an alarm; returns its id. [`AlarmKind::ServerFault`] is raised once
    /// while one is active (the active one's id is returned).
    async fn raise_alarm(&self, kind: AlarmKind, aor: &str, detail: &str) -> StoreResult<i64>;
}
