//! The group sessions' ids in the store (`migrations/poc-controlling`, table `group_sessions`).
//!
//! [`SessionStore::claim`] is the atomic step of the seed's rule. It reads the group's ids first
//! (a plain `SELECT`: once a group has ids, which is every join but the first, nothing is
//! written); only when none is stored does it `INSERT … ON CONFLICT DO NOTHING` then `SELECT`,
//! on SQLite and PostgreSQL alike, so of any number of first joiners exactly one pair is stored
//! and every one of them reads that pair back. Stored ids are never changed or deleted, so a
//! pair read by the first `SELECT` is the one the store holds.

use corelab_runtime::Store;
use sqlx::Row;

pub use corelab_sip::body::poc_join::Ids;

#[derive(Clone)]
pub struct SessionStore {
    store: Store,
}

impl SessionStore {
    pub fn new(store: Store) -> SessionStore {
        SessionStore { store }
    }

    pub fn inner(&self) -> &Store {
        &self.store
    }

    /// Store `ids` for `group_uri` unless the group has ids already; the group's ids after.
    pub async fn claim(&self, group_uri: &str, ids: &Ids) -> Result<Ids, sqlx::Error> {
        if let Some(stored) = self.get(group_uri).await? {
            return Ok(stored);
        }
        sqlx::query(
            "INSERT INTO group_sessions (group_uri, conversation_id, contribution_id, created_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (group_uri) DO NOTHING",
        )
        .bind(group_uri)
        .bind(&ids.conversation_id)
        .bind(&ids.contribution_id)
        .bind(corelab_runtime::now_ms())
        .execute(&self.store.pool)
        .await?;
        self.get(group_uri)
            .await?
            .ok_or_else(|| sqlx::Error::RowNotFound)
    }

    pub async fn get(&self, group_uri: &str) -> Result<Option<Ids>, sqlx::Error> {
        let row = sqlx::query(
            "SELECT conversation_id, contribution_id FROM group_sessions WHERE group_uri = $1",
        )
        .bind(group_uri)
        .fetch_optional(&self.store.pool)
        .await?;
        row.map(|r| {
            Ok(Ids {
                conversation_id: r.try_get(0)?,
                contribution_id: r.try_get(1)?,
            })
        })
        .transpose()
    }

    /// Every group with stored ids, in URI order.
    pub async fn list(&self) -> Result<Vec<(String, Ids)>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT group_uri, conversation_id, contribution_id FROM group_sessions ORDER BY group_uri",
        )
        .fetch_all(&self.store.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get(0)?,
                    Ids {
                        conversation_id: r.try_get(1)?,
                        contribution_id: r.try_get(2)?,
                    },
                ))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Once a group has ids, a join reads them and writes nothing: a claim is answered while
    /// another connection holds SQLite's write lock (before, the claim's `INSERT` waited for
    /// the lock for the whole busy timeout and failed with "database is locked").
    #[tokio::test]
    async fn a_group_with_ids_is_claimed_without_writing() {
        let dir = tempfile::tempdir().unwrap();
        let section = corelab_runtime::CommonConfig::defaults("t").store;
        let store = Store::open(&section, dir.path(), crate::KIND, &crate::MIGRATOR)
            .await
            .unwrap();
        let s = SessionStore::new(store.clone());
        let first = Ids {
            conversation_id: "conv-A".into(),
            contribution_id: "contrib-A".into(),
        };
        assert_eq!(
            s.claim("sip:team@lab.example", &first).await.unwrap(),
            first
        );
        let mut writer = store.pool.acquire().await.unwrap();
        sqlx::query("BEGIN IMMEDIATE")
            .execute(&mut *writer)
            .await
            .unwrap();
        let later = Ids {
            conversation_id: "conv-B".into(),
            contribution_id: "contrib-B".into(),
        };
        assert_eq!(
            s.claim("sip:team@lab.example", &later).await.unwrap(),
            first
        );
        sqlx::query("ROLLBACK").execute(&mut *writer).await.unwrap();
        drop(writer);
        store.close().await;
    }

    /// The seed's concurrency rule at the store: twenty first joiners at once, each with its
    /// own ids, end with one pair, and each of them reads that pair back. On PostgreSQL too
    /// when `CORELAB_TEST_PG_URL` names a server (a fresh schema each run).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn twenty_first_joins_store_one_pair() {
        let dir = tempfile::tempdir().unwrap();
        let mut urls = vec![(String::new(), String::new())];
        if let Ok(pg) = std::env::var("CORELAB_TEST_PG_URL") {
            let schema = format!(
                "pocf_t_{}_{}",
                std::process::id(),
                corelab_runtime::now_ms()
            );
            urls.push((pg, schema));
        }
        for (url, schema) in urls {
            let mut section = corelab_runtime::CommonConfig::defaults("t").store;
            section.url = url;
            section.schema = schema;
            let store = Store::open(&section, dir.path(), crate::KIND, &crate::MIGRATOR)
                .await
                .unwrap();
            let s = SessionStore::new(store.clone());
            let joins = (0..20).map(|i| {
                let s = s.clone();
                tokio::spawn(async move {
                    let ids = Ids {
                        conversation_id: format!("conv-{i}"),
                        contribution_id: format!("contrib-{i}"),
                    };
                    s.claim("sip:team@lab.example", &ids).await.unwrap()
                })
            });
            let mut got = Vec::new();
            for j in joins.collect::<Vec<_>>() {
                got.push(j.await.unwrap());
            }
            assert!(got.iter().all(|ids| ids == &got[0]), "{got:?}");
            let first = &got[0];
            assert_eq!(
                first.conversation_id.strip_prefix("conv-"),
                first.contribution_id.strip_prefix("contrib-"),
                "the pair is one joiner's"
            );
            assert_eq!(s.list().await.unwrap().len(), 1);
            // A later claim changes nothing.
            let later = Ids {
                conversation_id: "x".into(),
                contribution_id: "y".into(),
            };
            assert_eq!(
                &s.claim("sip:team@lab.example", &later).await.unwrap(),
                first
            );
            store.close().await;
        }
    }
}
