//! Several presence-server processes on one PostgreSQL, each correct (docs/presence.md,
//! "Replicas").
//!
//! Each process caches registrations, publications and a filter of `reg`/`presence.winfo`
//! watchers (`crate::cache`), and holds the NOTIFYs of the dialogs it is notifying
//! (`notify_owner`/`notify_until`, migration 0003). What keeps replicas coherent:
//!
//! - **Invalidation.** Triggers on the tables send a PostgreSQL NOTIFY on channel
//!   `presence_cache` in the writing transaction: `r:<aor>` (a registration changed),
//!   `p:<resource>` (a publication changed), `w:<package> <resource>` (a `reg`/`presence.winfo`
//!   subscription was added), `n:<owner> <subscription id>` (the holder of a dialog is asked to
//!   NOTIFY it). PostgreSQL delivers them at commit; every process [`listen`]s and drops what they
//!   name. While the listener is not connected, the caches serve nothing (they answer "miss" and
//!   "maybe"), and when it connects again they are emptied and the filter reloaded, so a write
//!   whose NOTIFY was lost cannot leave a stale entry behind.
//! - **One NOTIFY in flight per dialog** (RFC 6665 §4.2.2). A process that wants to NOTIFY a
//!   dialog another process holds sets `notify_pending`; the holder hears `n:` and sends the
//!   latest state itself. If the holder died, the hold expires and the expiry sweep of any
//!   process sends it ([`crate::sweep`]).
//!
//! On SQLite there is one process per store file: [`lock_sqlite`] refuses a second one.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::Duration;

use sqlx::postgres::PgListener;
use tokio_util::sync::CancellationToken;

use crate::Presence;
use crate::store::PresenceStore;

/// The channel of the triggers' NOTIFYs.
pub const CHANNEL: &str = "presence_cache";

/// The triggers (PostgreSQL only: SQLite has one process per store). Run at every start,
/// idempotent, under an advisory lock so replicas starting together do not collide.
const TRIGGERS: &[&str] = &[
    r#"CREATE OR REPLACE FUNCTION presence_notify_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  changed RECORD;
  payload TEXT;
BEGIN
  IF TG_OP = 'DELETE' THEN changed := OLD; ELSE changed := NEW; END IF;
  IF TG_TABLE_NAME = 'presence_registrations' THEN
    payload := 'r:' || changed.aor;
  ELSIF TG_TABLE_NAME = 'presence_publications' THEN
    payload := 'p:' || changed.resource;
  ELSIF TG_OP = 'INSERT' THEN
    payload := 'w:' || changed.package || ' ' || changed.resource;
  ELSE
    payload := 'n:' || changed.notify_owner || ' ' || changed.id;
  END IF;
  -- pg_notify refuses 8000 bytes and more: then everyone forgets everything.
  IF octet_length(payload) > 7000 THEN payload := 'all'; END IF;
  PERFORM pg_notify('presence_cache', payload);
  RETURN NULL;
END $$"#,
    "CREATE OR REPLACE TRIGGER presence_registrations_changed
       AFTER INSERT OR UPDATE OR DELETE ON presence_registrations
       FOR EACH ROW EXECUTE FUNCTION presence_notify_change()",
    "CREATE OR REPLACE TRIGGER presence_publications_changed
       AFTER INSERT OR UPDATE OR DELETE ON presence_publications
       FOR EACH ROW EXECUTE FUNCTION presence_notify_change()",
    "CREATE OR REPLACE TRIGGER presence_watched_added
       AFTER INSERT ON presence_subscriptions
       FOR EACH ROW WHEN (NEW.package IN ('reg', 'presence.winfo'))
       EXECUTE FUNCTION presence_notify_change()",
    "CREATE OR REPLACE TRIGGER presence_notify_asked
       AFTER UPDATE OF notify_pending ON presence_subscriptions
       FOR EACH ROW WHEN (OLD.notify_pending = 0 AND NEW.notify_pending = 1)
       EXECUTE FUNCTION presence_notify_change()",
];

/// Install (or refresh) the invalidation triggers.
pub async fn install_triggers(store: &PresenceStore) -> Result<(), sqlx::Error> {
    let mut tx = store.store.pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext('corelab presence triggers'))")
        .execute(&mut *tx)
        .await?;
    for statement in TRIGGERS {
        sqlx::query(*statement).execute(&mut *tx).await?;
    }
    tx.commit().await
}

/// One invalidation message, as the triggers write it.
#[derive(Debug, PartialEq, Eq)]
pub enum Change<'a> {
    Registration(&'a str),
    Publications(&'a str),
    Watched {
        package: &'a str,
        resource: &'a str,
    },
    NotifyAsked {
        owner: &'a str,
        subscription: &'a str,
    },
    Everything,
}

impl<'a> Change<'a> {
    pub fn parse(payload: &'a str) -> Option<Change<'a>> {
        let (kind, rest) = payload.split_once(':').unwrap_or((payload, ""));
        Some(match kind {
            "r" => Change::Registration(rest),
            "p" => Change::Publications(rest),
            "w" => {
                let (package, resource) = rest.split_once(' ')?;
                Change::Watched { package, resource }
            }
            "n" => {
                let (owner, subscription) = rest.rsplit_once(' ')?;
                Change::NotifyAsked {
                    owner,
                    subscription,
                }
            }
            "all" => Change::Everything,
            _ => return None,
        })
    }
}

fn apply(ctx: &Presence, payload: &str) {
    match Change::parse(payload) {
        Some(Change::Registration(aor)) => ctx.store.registration_changed(aor),
        Some(Change::Publications(resource)) => ctx.store.publications_changed(resource),
        Some(Change::Watched { package, resource }) => ctx.store.watched_added(package, resource),
        Some(Change::NotifyAsked {
            owner,
            subscription,
        }) => {
            if owner == &*ctx.store.hold.owner {
                let (this, id) = (ctx.clone(), subscription.to_string());
                tokio::spawn(async move {
                    this.notify(&id).await;
                });
            }
        }
        Some(Change::Everything) => ctx.store.forget_all(),
        None => {
            tracing::warn!(payload, "unreadable invalidation message: caches emptied");
            ctx.store.forget_all();
        }
    }
}

/// Listen on [`CHANNEL`] until `cancel`; reconnect with backoff; caches off while not listening.
pub async fn listen(ctx: Presence, url: String, cancel: CancellationToken) {
    let coherence = ctx.store.coherence.clone();
    let mut backoff = Duration::from_millis(100);
    loop {
        coherence.set_live(false);
        match subscribe(&ctx, &url).await {
            Ok(mut listener) => {
                coherence.set_live(true);
                tracing::info!(channel = CHANNEL, "replica cache invalidation: listening");
                backoff = Duration::from_millis(100);
                loop {
                    tokio::select! {
                        _ = cancel.cancelled() => return,
                        received = listener.try_recv() => match received {
                            Ok(Some(n)) => apply(&ctx, n.payload()),
                            Ok(None) => {
                                tracing::warn!("replica cache invalidation: connection lost; caches off until it is back");
                                break;
                            }
                            Err(e) => {
                                tracing::warn!(error = %e, "replica cache invalidation: receive failed; caches off until it is back");
                                break;
                            }
                        }
                    }
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, retry_in_ms = backoff.as_millis() as u64, "replica cache invalidation: cannot listen; caches off")
            }
        }
        coherence.set_live(false);
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}

/// LISTEN, then forget what may have changed before: from here on every write is heard.
async fn subscribe(ctx: &Presence, url: &str) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect(url).await?;
    listener.listen(CHANNEL).await?;
    ctx.store.forget_all();
    ctx.store.load_watched().await?;
    Ok(listener)
}

/// The SQLite file of a store URL (`None` for an in-memory database).
fn sqlite_path(url: &str, data_dir: &Path) -> Option<PathBuf> {
    if url.is_empty() {
        return Some(data_dir.join("presence.db"));
    }
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or(rest);
    (!path.is_empty() && !path.contains(":memory:")).then(|| PathBuf::from(path))
}

/// Refuse a second presence-server on one SQLite store: its caches and dialog order would be
/// silently wrong (replicas need PostgreSQL). Holds an exclusive lock on `<db>.lock` for the
/// life of the returned file.
pub fn lock_sqlite(url: &str, data_dir: &Path) -> anyhow::Result<Option<File>> {
    let Some(db) = sqlite_path(url, data_dir) else {
        return Ok(None);
    };
    let path = PathBuf::from(format!("{}.lock", db.display()));
    let file = File::create(&path)
        .map_err(|e| anyhow::anyhow!("store: cannot create {}: {e}", path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(Some(file)),
        Err(std::fs::TryLockError::WouldBlock) => anyhow::bail!(
            "store.url: another presence-server uses the SQLite store {} (several replicas need PostgreSQL)",
            db.display()
        ),
        Err(std::fs::TryLockError::Error(e)) => {
            anyhow::bail!("store: cannot lock {}: {e}", path.display())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trigger_payloads_parse() {
        assert_eq!(
            Change::parse("r:sip:alice@lab"),
            Some(Change::Registration("sip:alice@lab"))
        );
        assert_eq!(
            Change::parse("w:presence.winfo sip:bob@lab"),
            Some(Change::Watched {
                package: "presence.winfo",
                resource: "sip:bob@lab"
            })
        );
        assert_eq!(
            Change::parse("n:presence server-1 0b9e"),
            Some(Change::NotifyAsked {
                owner: "presence server-1",
                subscription: "0b9e"
            })
        );
        assert_eq!(Change::parse("all"), Some(Change::Everything));
        assert_eq!(Change::parse("x:what"), None);
        assert_eq!(Change::parse("w:nospace"), None);
    }

    #[test]
    fn a_second_process_on_one_sqlite_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/p.db?mode=rwc", dir.path().display());
        let first = lock_sqlite(&url, dir.path()).unwrap();
        assert!(first.is_some());
        let second = lock_sqlite(&url, dir.path()).unwrap_err().to_string();
        assert!(second.contains("store.url"), "{second}");
        drop(first);
        assert!(lock_sqlite(&url, dir.path()).unwrap().is_some());
        assert!(
            lock_sqlite("sqlite::memory:", dir.path())
                .unwrap()
                .is_none()
        );
    }
}
