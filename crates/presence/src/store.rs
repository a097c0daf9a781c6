//! Everything presence-server keeps, in PostgreSQL or SQLite (one SQL text for both; see
//! `corelab_runtime::store`). Each method is one statement, so state on disk is always whole: a
//! restarted server carries on from it. Writes return once committed; the hot reads (is the
//! watcher registered, the presentity's publications, does anyone watch `reg`/`presence.winfo`)
//! are answered from [`crate::cache`] after their first read.

use std::sync::Arc;

use corelab_recovery::{Deletion, OwedMessage};
use corelab_runtime::Store;
use corelab_runtime::writer::BoxFuture;
use corelab_sip::body::failure_report::FailureReport;
use sqlx::{AnyConnection, FromRow};

use crate::cache::{Coherence, ReadThrough, Watched};

pub type Result<T> = std::result::Result<T, sqlx::Error>;

/// A registration (direct REGISTER or third-party REGISTER from the S-CSCF).
#[derive(Debug, Clone, FromRow)]
pub struct Registration {
    pub aor: String,
    pub contact: String,
    pub mode: String,
    pub call_id: String,
    pub expires_at: i64,
    pub registered_at: i64,
    pub message_count: i64,
}

/// The notifier side of a subscription dialog (RFC 6665 §4.2.2, RFC 3261 §12).
#[derive(Debug, Clone, FromRow)]
pub struct Subscription {
    pub id: String,
    pub package: String,
    pub event_id: String,
    pub resource: String,
    pub watcher: String,
    pub local_uri: String,
    pub remote_uri: String,
    pub call_id: String,
    pub remote_tag: String,
    pub local_tag: String,
    pub remote_target: String,
    pub route_set: String,
    pub transport: String,
    pub local_cseq: i64,
    pub remote_cseq: i64,
    pub expires_at: i64,
    pub created_at: i64,
    pub version: i64,
}

#[derive(Debug, Clone, FromRow)]
pub struct Publication {
    pub etag: String,
    pub resource: String,
    pub document: String,
    pub expires_at: i64,
    pub updated_at: i64,
}

/// A presentity's current publications, oldest first, and their composition (the PIDF every
/// watcher gets), made once per change of publications rather than once per NOTIFY.
#[derive(Debug, Default)]
pub struct Publications {
    pub rows: Vec<Publication>,
    pub composed: std::sync::OnceLock<Arc<str>>,
}

impl Publications {
    pub fn new(rows: Vec<Publication>) -> Publications {
        Publications {
            rows,
            composed: std::sync::OnceLock::new(),
        }
    }

    /// Bytes of PIDF to parse to compose them.
    pub fn document_bytes(&self) -> usize {
        self.rows.iter().map(|p| p.document.len()).sum()
    }
}

#[derive(Debug, Clone, FromRow)]
pub struct Alarm {
    pub id: i64,
    pub kind: String,
    pub aor: String,
    pub detail: String,
    pub raised_at: i64,
    pub cleared_at: i64,
}

/// A row of `presence_outbox`: a subscription-failure MESSAGE owed (body: the report's JSON).
#[derive(Debug, Clone, FromRow)]
pub struct OutboxRow {
    pub id: String,
    pub aor: String,
    pub body: String,
    pub attempts: i64,
}

#[derive(Debug, Clone, FromRow)]
pub struct Bar {
    pub aor: String,
    pub reason: String,
    pub since: i64,
}

/// The key of a subscription dialog (RFC 6665 §4.1.2.3: the dialog plus the Event package and
/// id), as seen by the notifier.
#[derive(Debug, Clone)]
pub struct DialogKey {
    pub call_id: String,
    pub remote_tag: String,
    pub local_tag: String,
    pub package: String,
    pub event_id: String,
}

/// What an in-dialog SUBSCRIBE found.
#[derive(Debug)]
pub enum InDialog {
    /// The subscription, after the change.
    Done(Box<Subscription>),
    /// No such dialog (481).
    NoDialog,
    /// The dialog exists but the request's CSeq is not above the last one (RFC 3261 §12.2.2: 500).
    CSeqOutOfOrder,
}

/// What [`PresenceStore::next_notify`] found.
#[derive(Debug)]
pub enum NextNotify {
    /// This process holds the dialog's NOTIFY: send it (CSeq and version taken).
    Take(Box<Subscription>),
    /// The subscription is gone.
    Gone,
    /// Another process holds the dialog's NOTIFY; it was asked (`notify_pending`) to send the
    /// latest state once it can.
    HeldElsewhere,
}

/// Who holds a dialog's NOTIFY, and for how long after taking it (migration 0003).
#[derive(Debug, Clone)]
pub struct NotifyHold {
    /// This process, as written in `notify_owner`. SQLite: a constant (one process per store
    /// file, so a restart holds its dialogs at once). PostgreSQL: unique per process start.
    pub owner: Arc<str>,
    /// Longer than a NOTIFY transaction (Timer F).
    pub hold_ms: i64,
}

#[derive(Clone)]
pub struct PresenceStore {
    pub store: Store,
    pub hold: NotifyHold,
    /// Whether the caches below may be trusted (see [`crate::cache::Coherence`]).
    pub coherence: Arc<Coherence>,
    /// Registered AoRs → their expiry (ms).
    registered: Arc<ReadThrough<i64>>,
    /// Resource → its current publications.
    publications: Arc<ReadThrough<Arc<Publications>>>,
    watched: Arc<Watched>,
}

/// Keys each read-through cache holds at most.
const CACHE_CAPACITY: usize = 100_000;

/// The columns of `presence_subscriptions`, in `Subscription` order (a macro so `concat!` can
/// build static SQL, which sqlx 0.9 requires).
macro_rules! subscription_columns {
    () => {
        "id, package, event_id, resource, watcher, local_uri, remote_uri, call_id, remote_tag, local_tag, remote_target, route_set, transport, local_cseq, remote_cseq, expires_at, created_at, version"
    };
}

/// The WHERE clause of a dialog, its key bound as $1–$5.
macro_rules! dialog_is {
    () => {
        "call_id = $1 AND remote_tag = $2 AND local_tag = $3 AND package = $4 AND event_id = $5"
    };
}

impl PresenceStore {
    /// Wrap the store, loading which users have `reg` / `presence.winfo` subscribers. The
    /// caches start trusted only when `coherence` is live (SQLite); on PostgreSQL the
    /// invalidation listener makes them live once it listens (`crate::replicas`).
    pub async fn open(store: Store, hold: NotifyHold, coherence: Arc<Coherence>) -> Result<Self> {
        let this = PresenceStore {
            store,
            hold,
            registered: Arc::new(ReadThrough::new(CACHE_CAPACITY, coherence.clone())),
            publications: Arc::new(ReadThrough::new(CACHE_CAPACITY, coherence.clone())),
            watched: Arc::new(Watched::new(coherence.clone())),
            coherence,
        };
        this.load_watched().await?;
        Ok(this)
    }

    /// Fill the filter of users with `reg` / `presence.winfo` subscribers from the store.
    pub async fn load_watched(&self) -> Result<()> {
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT DISTINCT package, resource FROM presence_subscriptions
             WHERE package IN ('reg', 'presence.winfo')",
        )
        .fetch_all(self.pool())
        .await?;
        self.watched.load(rows);
        Ok(())
    }

    // ---- what other replicas wrote (crate::replicas) ------------------------------------

    /// Another process changed `aor`'s registration.
    pub fn registration_changed(&self, aor: &str) {
        self.registered.forget(aor);
    }

    /// Another process changed `resource`'s publications.
    pub fn publications_changed(&self, resource: &str) {
        self.publications.forget(resource);
    }

    /// Another process inserted a subscription in a package the watcher filter covers.
    pub fn watched_added(&self, package: &str, resource: &str) {
        self.watched.add(package, resource);
    }

    /// Writes may have been missed: drop every cached row.
    pub fn forget_all(&self) {
        self.registered.clear();
        self.publications.clear();
    }

    fn pool(&self) -> &sqlx::AnyPool {
        &self.store.pool
    }

    /// Run one write statement, answered once committed (group commit on SQLite; see
    /// `corelab_runtime::writer`).
    async fn write<T, F>(&self, statement: F) -> Result<T>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut AnyConnection) -> BoxFuture<'c, Result<T>>
            + Clone
            + Send
            + 'static,
    {
        self.store.writer.run(statement).await
    }

    // ---- registrations ------------------------------------------------------------------

    /// Insert or refresh a registration. A refresh keeps the MESSAGE count; a new registration
    /// (none stored, or the stored one expired) starts it at zero. Returns `Some(true)` when new,
    /// `None` when refused: a new AoR while `max_registrations` are stored.
    #[allow(clippy::too_many_arguments)]
    pub async fn upsert_registration(
        &self,
        aor: &str,
        contact: &str,
        mode: &str,
        call_id: &str,
        expires_at: i64,
        now: i64,
        max_registrations: u32,
    ) -> Result<Option<bool>> {
        let (key, contact, mode, call_id) = (
            aor.to_string(),
            contact.to_string(),
            mode.to_string(),
            call_id.to_string(),
        );
        let registered_at: Option<i64> = self
            .write(move |c| {
                Box::pin(async move {
                    sqlx::query_scalar(
                        "INSERT INTO presence_registrations (aor, contact, mode, call_id, expires_at, registered_at, message_count)
                         SELECT $1, $2, $3, $4, $5, $6, 0
                         WHERE EXISTS (SELECT 1 FROM presence_registrations WHERE aor = $1)
                            OR (SELECT COUNT(*) FROM presence_registrations) < $7
                         ON CONFLICT (aor) DO UPDATE SET
                           contact = excluded.contact, mode = excluded.mode, call_id = excluded.call_id,
                           expires_at = excluded.expires_at,
                           registered_at = CASE WHEN presence_registrations.expires_at <= $6 THEN $6
                                                ELSE presence_registrations.registered_at END,
                           message_count = CASE WHEN presence_registrations.expires_at <= $6 THEN 0
                                                ELSE presence_registrations.message_count END
                         RETURNING registered_at",
                    )
                    .bind(&key)
                    .bind(&contact)
                    .bind(&mode)
                    .bind(&call_id)
                    .bind(expires_at)
                    .bind(now)
                    .bind(i64::from(max_registrations))
                    .fetch_optional(c)
                    .await
                })
            })
            .await?;
        self.registered.forget(aor);
        Ok(registered_at.map(|at| at == now))
    }

    /// The user's registration, if it has not expired.
    pub async fn registration(&self, aor: &str, now: i64) -> Result<Option<Registration>> {
        sqlx::query_as(
            "SELECT aor, contact, mode, call_id, expires_at, registered_at, message_count
             FROM presence_registrations WHERE aor = $1 AND expires_at > $2",
        )
        .bind(aor)
        .bind(now)
        .fetch_optional(self.pool())
        .await
    }

    /// Is `aor` registered now? Answered from memory after the first look-up.
    pub async fn is_registered(&self, aor: &str, now: i64) -> Result<bool> {
        let read_at = match self.registered.get(aor) {
            Ok(expires_at) if expires_at > now => return Ok(true),
            Ok(_) => {
                self.registered.forget(aor);
                return Ok(false);
            }
            Err(read_at) => read_at,
        };
        let registration = self.registration(aor, now).await?;
        if let Some(r) = &registration {
            self.registered.fill(aor, r.expires_at, read_at);
        }
        Ok(registration.is_some())
    }

    pub async fn delete_registration(&self, aor: &str) -> Result<Option<Registration>> {
        let key = aor.to_string();
        let deleted = self
            .write(move |c| {
                Box::pin(async move {
                    sqlx::query_as(
                        "DELETE FROM presence_registrations WHERE aor = $1
                         RETURNING aor, contact, mode, call_id, expires_at, registered_at, message_count",
                    )
                    .bind(&key)
                    .fetch_optional(c)
                    .await
                })
            })
            .await?;
        self.registered.forget(aor);
        Ok(deleted)
    }

    pub async fn delete_expired_registrations(&self, now: i64) -> Result<Vec<Registration>> {
        let deleted: Vec<Registration> = self
            .write(move |c| {
                Box::pin(async move {
                    sqlx::query_as(
                        "DELETE FROM presence_registrations WHERE expires_at <= $1
                         RETURNING aor, contact, mode, call_id, expires_at, registered_at, message_count",
                    )
                    .bind(now)
                    .fetch_all(c)
                    .await
                })
            })
            .await?;
        for r in &deleted {
            self.registered.forget(&r.aor);
        }
        Ok(deleted)
    }

    pub async fn registrations(&self) -> Result<Vec<Registration>> {
        sqlx::query_as(
            "SELECT aor, contact, mode, call_id, expires_at, registered_at, message_count
             FROM presence_registrations ORDER BY aor",
        )
        .fetch_all(self.pool())
        .await
    }

    // ---- subscriptions ------------------------------------------------------------------

    /// Store a new subscription unless its watcher already holds `caps.0` subscriptions or its
    /// resource has `caps.1` subscribers in its package (checked in the INSERT itself; several
    /// PostgreSQL writers may overshoot by a few). Returns `false` when refused.
    pub async fn insert_subscription(&self, s: &Subscription, caps: (u32, u32)) -> Result<bool> {
        // Before the row exists, so the filter never says "none" while it does.
        if Watched::covers(&s.package) {
            self.watched.add(&s.package, &s.resource);
        }
        let s = s.clone();
        // Its first NOTIFY is ours: the dialog is held from the start.
        let (owner, until) = (self.hold.owner.clone(), s.created_at + self.hold.hold_ms);
        self.write(move |c| {
            Box::pin(async move {
                sqlx::query(concat!("INSERT INTO presence_subscriptions (", subscription_columns!(), ", notify_owner, notify_until)
                     SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20
                     WHERE (SELECT COUNT(*) FROM presence_subscriptions WHERE watcher = $5) < $21
                       AND (SELECT COUNT(*) FROM presence_subscriptions WHERE resource = $4 AND package = $2) < $22"))
                .bind(&s.id)
                .bind(&s.package)
                .bind(&s.event_id)
                .bind(&s.resource)
                .bind(&s.watcher)
                .bind(&s.local_uri)
                .bind(&s.remote_uri)
                .bind(&s.call_id)
                .bind(&s.remote_tag)
                .bind(&s.local_tag)
                .bind(&s.remote_target)
                .bind(&s.route_set)
                .bind(&s.transport)
                .bind(s.local_cseq)
                .bind(s.remote_cseq)
                .bind(s.expires_at)
                .bind(s.created_at)
                .bind(s.version)
                .bind(&*owner)
                .bind(until)
                .bind(i64::from(caps.0))
                .bind(i64::from(caps.1))
                .execute(c)
                .await
                .map(|r| r.rows_affected() == 1)
            })
        })
        .await
    }

    /// The subscription of a dialog.
    pub async fn subscription_by_dialog(&self, d: &DialogKey) -> Result<Option<Subscription>> {
        sqlx::query_as(concat!(
            "SELECT ",
            subscription_columns!(),
            " FROM presence_subscriptions WHERE ",
            dialog_is!()
        ))
        .bind(&d.call_id)
        .bind(&d.remote_tag)
        .bind(&d.local_tag)
        .bind(&d.package)
        .bind(&d.event_id)
        .fetch_optional(self.pool())
        .await
    }

    /// A refreshing SUBSCRIBE (RFC 6665 §4.2.1.2): the subscriber's CSeq and a new expiry, in one
    /// statement that also checks the CSeq is above the last one.
    pub async fn refresh_subscription(
        &self,
        d: &DialogKey,
        remote_cseq: i64,
        expires_at: i64,
    ) -> Result<InDialog> {
        let key = d.clone();
        let updated = self
            .write(move |c| {
                Box::pin(async move {
                    sqlx::query_as(concat!(
                        "UPDATE presence_subscriptions SET remote_cseq = $6, expires_at = $7 WHERE ",
                        dialog_is!(),
                        " AND remote_cseq < $6 RETURNING ",
                        subscription_columns!()
                    ))
                    .bind(&key.call_id)
                    .bind(&key.remote_tag)
                    .bind(&key.local_tag)
                    .bind(&key.package)
                    .bind(&key.event_id)
                    .bind(remote_cseq)
                    .bind(expires_at)
                    .fetch_optional(c)
                    .await
                })
            })
            .await?;
        self.in_dialog(d, updated).await
    }

    /// An un-SUBSCRIBE (`Expires: 0`): delete the dialog's subscription if the CSeq is in order.
    pub async fn end_subscription(&self, d: &DialogKey, remote_cseq: i64) -> Result<InDialog> {
        let key = d.clone();
        let deleted = self
            .write(move |c| {
                Box::pin(async move {
                    sqlx::query_as(concat!(
                        "DELETE FROM presence_subscriptions WHERE ",
                        dialog_is!(),
                        " AND remote_cseq < $6 RETURNING ",
                        subscription_columns!()
                    ))
                    .bind(&key.call_id)
                    .bind(&key.remote_tag)
                    .bind(&key.local_tag)
                    .bind(&key.package)
                    .bind(&key.event_id)
                    .bind(remote_cseq)
                    .fetch_optional(c)
                    .await
                })
            })
            .await?;
        self.in_dialog(d, deleted).await
    }

    /// Why an in-dialog change touched no row (only on that rarer path is the dialog read).
    async fn in_dialog(&self, d: &DialogKey, changed: Option<Subscription>) -> Result<InDialog> {
        Ok(match changed {
            Some(sub) => InDialog::Done(Box::new(sub)),
            None if self.subscription_by_dialog(d).await?.is_some() => InDialog::CSeqOutOfOrder,
            None => InDialog::NoDialog,
        })
    }

    /// Take the next NOTIFY's CSeq and document version, and hold the dialog's NOTIFY (RFC 6665
    /// §4.2.2 across processes); when another process holds it, ask that one to send the latest
    /// state ([`NextNotify::HeldElsewhere`]). One writer job: both statements commit together.
    pub async fn next_notify(&self, id: &str, now: i64) -> Result<NextNotify> {
        let id = id.to_string();
        let (owner, until) = (self.hold.owner.clone(), now + self.hold.hold_ms);
        self.write(move |c| {
            Box::pin(async move {
                let taken: Option<Subscription> = sqlx::query_as(concat!(
                    "UPDATE presence_subscriptions SET local_cseq = local_cseq + 1, version = version + 1,
                       notify_owner = $2, notify_until = $4, notify_pending = 0
                     WHERE id = $1 AND (notify_owner = $2 OR notify_until <= $3) RETURNING ",
                    subscription_columns!()
                ))
                .bind(&id)
                .bind(&*owner)
                .bind(now)
                .bind(until)
                .fetch_optional(&mut *c)
                .await?;
                if let Some(sub) = taken {
                    return Ok(NextNotify::Take(Box::new(sub)));
                }
                let asked = sqlx::query("UPDATE presence_subscriptions SET notify_pending = 1 WHERE id = $1")
                    .bind(&id)
                    .execute(&mut *c)
                    .await?;
                Ok(if asked.rows_affected() == 0 {
                    NextNotify::Gone
                } else {
                    NextNotify::HeldElsewhere
                })
            })
        })
        .await
    }

    /// Subscriptions whose NOTIFY another process was asked to send but whose hold expired
    /// (that process died): any process sends them.
    pub async fn orphaned_notifies(&self, now: i64) -> Result<Vec<String>> {
        sqlx::query_scalar(
            "SELECT id FROM presence_subscriptions WHERE notify_pending = 1 AND notify_until <= $1
             ORDER BY notify_until LIMIT 256",
        )
        .bind(now)
        .fetch_all(self.pool())
        .await
    }

    /// At a clean stop: let go of every dialog this process holds, so another process (or this
    /// one restarted) need not wait for the holds to expire.
    pub async fn release_holds(&self) -> Result<()> {
        let owner = self.hold.owner.clone();
        self.write(move |c| {
            Box::pin(async move {
                sqlx::query(
                    "UPDATE presence_subscriptions SET notify_until = 0 WHERE notify_owner = $1",
                )
                .bind(&*owner)
                .execute(c)
                .await
                .map(|_| ())
            })
        })
        .await
    }

    /// The subscriptions to `resource` in `package`, oldest first.
    pub async fn subscriptions_to(
        &self,
        resource: &str,
        package: &str,
    ) -> Result<Vec<Subscription>> {
        if !self.watched.may_have(package, resource) {
            return Ok(Vec::new());
        }
        sqlx::query_as(concat!(
            "SELECT ",
            subscription_columns!(),
            " FROM presence_subscriptions
             WHERE resource = $1 AND package = $2 ORDER BY created_at"
        ))
        .bind(resource)
        .bind(package)
        .fetch_all(self.pool())
        .await
    }

    /// Delete every subscription `watcher` holds (sign-out), returning them.
    pub async fn delete_subscriptions_of(&self, watcher: &str) -> Result<Vec<Subscription>> {
        let watcher = watcher.to_string();
        self.write(move |c| {
            Box::pin(async move {
                sqlx::query_as(concat!(
                    "DELETE FROM presence_subscriptions WHERE watcher = $1 RETURNING ",
                    subscription_columns!()
                ))
                .bind(&watcher)
                .fetch_all(c)
                .await
            })
        })
        .await
    }

    pub async fn delete_expired_subscriptions(&self, now: i64) -> Result<Vec<Subscription>> {
        self.write(move |c| {
            Box::pin(async move {
                sqlx::query_as(concat!(
                    "DELETE FROM presence_subscriptions WHERE expires_at <= $1 RETURNING ",
                    subscription_columns!()
                ))
                .bind(now)
                .fetch_all(c)
                .await
            })
        })
        .await
    }

    pub async fn subscriptions(&self) -> Result<Vec<Subscription>> {
        sqlx::query_as(concat!(
            "SELECT ",
            subscription_columns!(),
            " FROM presence_subscriptions ORDER BY created_at"
        ))
        .fetch_all(self.pool())
        .await
    }

    // ---- publications (RFC 3903) --------------------------------------------------------

    /// Store a new publication unless its resource already has `max` live ones; `false` when
    /// refused.
    pub async fn insert_publication(&self, p: &Publication, max: u32) -> Result<bool> {
        let row = p.clone();
        let inserted = self
            .write(move |c| {
                Box::pin(async move {
                    sqlx::query(
                        "INSERT INTO presence_publications (etag, resource, document, expires_at, updated_at)
                         SELECT $1, $2, $3, $4, $5
                         WHERE (SELECT COUNT(*) FROM presence_publications
                                WHERE resource = $2 AND expires_at > $5) < $6",
                    )
                    .bind(&row.etag)
                    .bind(&row.resource)
                    .bind(&row.document)
                    .bind(row.expires_at)
                    .bind(row.updated_at)
                    .bind(i64::from(max))
                    .execute(c)
                    .await
                    .map(|r| r.rows_affected() == 1)
                })
            })
            .await?;
        self.publications.forget(&p.resource);
        Ok(inserted)
    }

    /// Refresh or modify the publication `old_etag` of `resource` under a new entity-tag
    /// (RFC 3903 §4.4: every successful PUBLISH gets a fresh one). `None` if no such publication
    /// (the caller answers 412).
    pub async fn replace_publication(
        &self,
        old_etag: &str,
        resource: &str,
        new_etag: &str,
        document: Option<&str>,
        expires_at: i64,
        now: i64,
    ) -> Result<Option<Publication>> {
        let (old, res, new, doc) = (
            old_etag.to_string(),
            resource.to_string(),
            new_etag.to_string(),
            document.map(str::to_string),
        );
        let replaced = self
            .write(move |c| {
                Box::pin(async move {
                    sqlx::query_as(
                        "UPDATE presence_publications
                         SET etag = $3, document = COALESCE($4, document), expires_at = $5, updated_at = $6
                         WHERE etag = $1 AND resource = $2 AND expires_at > $6
                         RETURNING etag, resource, document, expires_at, updated_at",
                    )
                    .bind(&old)
                    .bind(&res)
                    .bind(&new)
                    .bind(&doc)
                    .bind(expires_at)
                    .bind(now)
                    .fetch_optional(c)
                    .await
                })
            })
            .await?;
        self.publications.forget(resource);
        Ok(replaced)
    }

    pub async fn delete_publication(&self, etag: &str, resource: &str) -> Result<bool> {
        let (tag, res) = (etag.to_string(), resource.to_string());
        let deleted = self
            .write(move |c| {
                Box::pin(async move {
                    let r = sqlx::query(
                        "DELETE FROM presence_publications WHERE etag = $1 AND resource = $2",
                    )
                    .bind(&tag)
                    .bind(&res)
                    .execute(c)
                    .await?;
                    Ok(r.rows_affected() == 1)
                })
            })
            .await?;
        self.publications.forget(resource);
        Ok(deleted)
    }

    /// Current publications of a resource, oldest first; from memory after the first read.
    pub async fn publications_of(&self, resource: &str, now: i64) -> Result<Arc<Publications>> {
        let read_at = match self.publications.get(resource) {
            Ok(cached) if cached.rows.iter().all(|p| p.expires_at > now) => return Ok(cached),
            // One expired and not yet swept: the store's answer without it.
            Ok(cached) => {
                let current = cached.rows.iter().filter(|p| p.expires_at > now).cloned();
                return Ok(Arc::new(Publications::new(current.collect())));
            }
            Err(read_at) => read_at,
        };
        let rows: Vec<Publication> = sqlx::query_as(
            "SELECT etag, resource, document, expires_at, updated_at FROM presence_publications
             WHERE resource = $1 AND expires_at > $2 ORDER BY updated_at, etag",
        )
        .bind(resource)
        .bind(now)
        .fetch_all(self.pool())
        .await?;
        let rows = Arc::new(Publications::new(rows));
        self.publications.fill(resource, rows.clone(), read_at);
        Ok(rows)
    }

    pub async fn delete_expired_publications(&self, now: i64) -> Result<Vec<Publication>> {
        let deleted: Vec<Publication> = self
            .write(move |c| {
                Box::pin(async move {
                    sqlx::query_as(
                        "DELETE FROM presence_publications WHERE expires_at <= $1
                         RETURNING etag, resource, document, expires_at, updated_at",
                    )
                    .bind(now)
                    .fetch_all(c)
                    .await
                })
            })
            .await?;
        for p in &deleted {
            self.publications.forget(&p.resource);
        }
        Ok(deleted)
    }

    // ---- the recovery procedure's step 5 and its outbox (corelab_recovery) --------------

    /// Step 5 in one transaction: delete subscription `sub_id`; if it was there and `aor` is
    /// registered with fewer than `threshold` MESSAGEs this registration, count one more and
    /// store the MESSAGE owed (`report` with its count), claimed by `owner` until
    /// `claimed_until`. The three statements are one writer job, so they commit together.
    #[allow(clippy::too_many_arguments)]
    pub async fn delete_and_owe(
        &self,
        sub_id: &str,
        aor: &str,
        threshold: u32,
        report: FailureReport,
        outbox_id: &str,
        owner: &str,
        now: i64,
        claimed_until: i64,
    ) -> Result<Deletion> {
        let (sub_id, aor, outbox_id, owner) = (
            sub_id.to_string(),
            aor.to_string(),
            outbox_id.to_string(),
            owner.to_string(),
        );
        self.write(move |c| {
            Box::pin(async move {
                let deleted = sqlx::query("DELETE FROM presence_subscriptions WHERE id = $1")
                    .bind(&sub_id)
                    .execute(&mut *c)
                    .await?;
                if deleted.rows_affected() == 0 {
                    return Ok(Deletion::AlreadyGone);
                }
                let count: Option<i64> = sqlx::query_scalar(
                    "UPDATE presence_registrations SET message_count = message_count + 1
                     WHERE aor = $1 AND message_count < $2 AND expires_at > $3
                     RETURNING message_count",
                )
                .bind(&aor)
                .bind(i64::from(threshold))
                .bind(now)
                .fetch_optional(&mut *c)
                .await?;
                let Some(count) = count else {
                    return Ok(Deletion::NotCounted);
                };
                let report = FailureReport {
                    count: count as u32,
                    ..report
                };
                sqlx::query(
                    "INSERT INTO presence_outbox (id, aor, body, created_at, attempts, claimed_by, claimed_until)
                     VALUES ($1, $2, $3, $4, 0, $5, $6)",
                )
                .bind(&outbox_id)
                .bind(&aor)
                .bind(report.to_json())
                .bind(now)
                .bind(&owner)
                .bind(claimed_until)
                .execute(&mut *c)
                .await?;
                Ok(Deletion::Owed(Box::new(OwedMessage {
                    id: outbox_id,
                    user: aor,
                    report,
                    attempts: 0,
                })))
            })
        })
        .await
    }

    /// Claim up to `limit` owed MESSAGEs whose claim has expired, for `owner` until
    /// `claimed_until`. The repeated `claimed_until <= $3` makes a row claimed meanwhile by
    /// another replica drop out (PostgreSQL re-checks it on the locked row).
    pub async fn claim_owed(
        &self,
        owner: &str,
        now: i64,
        claimed_until: i64,
        limit: u32,
    ) -> Result<Vec<OutboxRow>> {
        let owner = owner.to_string();
        self.write(move |c| {
            Box::pin(async move {
                sqlx::query_as(
                    "UPDATE presence_outbox SET claimed_by = $1, claimed_until = $2
                     WHERE claimed_until <= $3 AND id IN (
                       SELECT id FROM presence_outbox WHERE claimed_until <= $3
                       ORDER BY created_at LIMIT $4)
                     RETURNING id, aor, body, attempts",
                )
                .bind(&owner)
                .bind(claimed_until)
                .bind(now)
                .bind(i64::from(limit))
                .fetch_all(c)
                .await
            })
        })
        .await
    }

    pub async fn clear_owed(&self, id: &str) -> Result<()> {
        let id = id.to_string();
        self.write(move |c| {
            Box::pin(async move {
                sqlx::query("DELETE FROM presence_outbox WHERE id = $1")
                    .bind(&id)
                    .execute(c)
                    .await
                    .map(|_| ())
            })
        })
        .await
    }

    /// One more local failure; nobody claims it again before `retry_at`.
    pub async fn defer_owed(&self, id: &str, retry_at: i64) -> Result<()> {
        let id = id.to_string();
        self.write(move |c| {
            Box::pin(async move {
                sqlx::query(
                    "UPDATE presence_outbox SET attempts = attempts + 1, claimed_until = $2 WHERE id = $1",
                )
                .bind(&id)
                .bind(retry_at)
                .execute(c)
                .await
                .map(|_| ())
            })
        })
        .await
    }

    /// Every owed MESSAGE (admin view and tests).
    pub async fn owed(&self) -> Result<Vec<OutboxRow>> {
        sqlx::query_as("SELECT id, aor, body, attempts FROM presence_outbox ORDER BY created_at")
            .fetch_all(self.pool())
            .await
    }

    // ---- alarms and bars ----------------------------------------------------------------

    /// Store a new alarm. Ids count up from 1 (`MAX + 1`: the same SQL on both backends); a
    /// concurrent insert that took the same id is retried.
    pub async fn raise_alarm(
        &self,
        kind: &str,
        aor: &str,
        detail: &str,
        now: i64,
    ) -> Result<Alarm> {
        let mut attempts = 0;
        loop {
            let (kind, aor, detail) = (kind.to_string(), aor.to_string(), detail.to_string());
            let r = self
                .write(move |c| {
                    Box::pin(async move {
                        sqlx::query_as(
                            "INSERT INTO presence_alarms (id, kind, aor, detail, raised_at, cleared_at)
                             SELECT COALESCE(MAX(id), 0) + 1, $1, $2, $3, $4, 0 FROM presence_alarms
                             RETURNING id, kind, aor, detail, raised_at, cleared_at",
                        )
                        .bind(&kind)
                        .bind(&aor)
                        .bind(&detail)
                        .bind(now)
                        .fetch_one(c)
                        .await
                    })
                })
                .await;
            match r {
                Err(sqlx::Error::Database(e)) if e.is_unique_violation() && attempts < 5 => {
                    attempts += 1;
                }
                other => return other,
            }
        }
    }

    /// The id of an active alarm of `kind`, if any.
    pub async fn active_alarm_of_kind(&self, kind: &str) -> Result<Option<i64>> {
        sqlx::query_scalar(
            "SELECT id FROM presence_alarms WHERE kind = $1 AND cleared_at = 0 ORDER BY id LIMIT 1",
        )
        .bind(kind)
        .fetch_optional(self.pool())
        .await
    }

    pub async fn alarms(&self) -> Result<Vec<Alarm>> {
        sqlx::query_as(
            "SELECT id, kind, aor, detail, raised_at, cleared_at FROM presence_alarms ORDER BY id",
        )
        .fetch_all(self.pool())
        .await
    }

    pub async fn clear_alarm(&self, id: i64, now: i64) -> Result<Option<Alarm>> {
        self.write(move |c| {
            Box::pin(async move {
                sqlx::query_as(
                    "UPDATE presence_alarms SET cleared_at = CASE WHEN cleared_at = 0 THEN $2 ELSE cleared_at END
                     WHERE id = $1 RETURNING id, kind, aor, detail, raised_at, cleared_at",
                )
                .bind(id)
                .bind(now)
                .fetch_optional(c)
                .await
            })
        })
        .await
    }

    pub async fn active_alarm_count(&self) -> Result<i64> {
        sqlx::query_scalar("SELECT COUNT(*) FROM presence_alarms WHERE cleared_at = 0")
            .fetch_one(self.pool())
            .await
    }

    pub async fn bar(&self, aor: &str, reason: &str, now: i64) -> Result<()> {
        let (aor, reason) = (aor.to_string(), reason.to_string());
        self.write(move |c| {
            Box::pin(async move {
                sqlx::query(
                    "INSERT INTO presence_bars (aor, reason, since) VALUES ($1, $2, $3)
                     ON CONFLICT (aor) DO UPDATE SET reason = excluded.reason, since = excluded.since",
                )
                .bind(&aor)
                .bind(&reason)
                .bind(now)
                .execute(c)
                .await
                .map(|_| ())
            })
        })
        .await
    }

    pub async fn is_barred(&self, aor: &str) -> Result<bool> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM presence_bars WHERE aor = $1")
            .bind(aor)
            .fetch_one(self.pool())
            .await?;
        Ok(n > 0)
    }

    pub async fn bars(&self) -> Result<Vec<Bar>> {
        sqlx::query_as("SELECT aor, reason, since FROM presence_bars ORDER BY aor")
            .fetch_all(self.pool())
            .await
    }

    pub async fn clear_bar(&self, aor: &str) -> Result<bool> {
        let aor = aor.to_string();
        self.write(move |c| {
            Box::pin(async move {
                let r = sqlx::query("DELETE FROM presence_bars WHERE aor = $1")
                    .bind(&aor)
                    .execute(c)
                    .await?;
                Ok(r.rows_affected() == 1)
            })
        })
        .await
    }
}
