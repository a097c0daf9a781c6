//! Group documents in the store (`migrations/group-server`): one row per group, the document
//! whole as text, its owner copied out for authorization, a strong ETag that every write
//! replaces. Writes are compare-and-set on the ETag, so two editors never lose each other's
//! change: the loser re-reads and re-applies (crate::http).

use corelab_runtime::Store;
use sqlx::Row;

#[derive(Debug, Clone)]
pub struct StoredDocument {
    pub document: String,
    pub owner: String,
    pub etag: String,
}

#[derive(Clone)]
pub struct GroupStore {
    store: Store,
}

/// A fresh strong entity tag.
pub fn new_etag() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

impl GroupStore {
    pub fn new(store: Store) -> GroupStore {
        GroupStore { store }
    }

    pub fn inner(&self) -> &Store {
        &self.store
    }

    pub async fn get(&self, group_uri: &str) -> Result<Option<StoredDocument>, sqlx::Error> {
        let row =
            sqlx::query("SELECT document, owner, etag FROM group_documents WHERE group_uri = $1")
                .bind(group_uri)
                .fetch_optional(&self.store.pool)
                .await?;
        row.map(|r| {
            Ok(StoredDocument {
                document: r.try_get(0)?,
                owner: r.try_get(1)?,
                etag: r.try_get(2)?,
            })
        })
        .transpose()
    }

    /// Create the document unless one exists; whether it was created.
    pub async fn create(
        &self,
        group_uri: &str,
        owner: &str,
        document: &str,
        etag: &str,
    ) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(
            "INSERT INTO group_documents (group_uri, owner, document, etag, updated_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (group_uri) DO NOTHING",
        )
        .bind(group_uri)
        .bind(owner)
        .bind(document)
        .bind(etag)
        .bind(corelab_runtime::now_ms())
        .execute(&self.store.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Replace the document if its ETag is still `old_etag`; whether it was replaced.
    pub async fn replace(
        &self,
        group_uri: &str,
        owner: &str,
        document: &str,
        etag: &str,
        old_etag: &str,
    ) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(
            "UPDATE group_documents SET owner = $2, document = $3, etag = $4, updated_at = $5 \
             WHERE group_uri = $1 AND etag = $6",
        )
        .bind(group_uri)
        .bind(owner)
        .bind(document)
        .bind(etag)
        .bind(corelab_runtime::now_ms())
        .bind(old_etag)
        .execute(&self.store.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Create or replace, whatever is there (provisioning).
    pub async fn upsert(
        &self,
        group_uri: &str,
        owner: &str,
        document: &str,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO group_documents (group_uri, owner, document, etag, updated_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (group_uri) DO UPDATE SET \
             owner = excluded.owner, document = excluded.document, etag = excluded.etag, \
             updated_at = excluded.updated_at",
        )
        .bind(group_uri)
        .bind(owner)
        .bind(document)
        .bind(new_etag())
        .bind(corelab_runtime::now_ms())
        .execute(&self.store.pool)
        .await?;
        Ok(())
    }

    /// Delete the document if its ETag is still `old_etag`; whether it was deleted.
    pub async fn delete(&self, group_uri: &str, old_etag: &str) -> Result<bool, sqlx::Error> {
        let done = sqlx::query("DELETE FROM group_documents WHERE group_uri = $1 AND etag = $2")
            .bind(group_uri)
            .bind(old_etag)
            .execute(&self.store.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn count(&self) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar("SELECT COUNT(*) FROM group_documents")
            .fetch_one(&self.store.pool)
            .await
    }

    /// Every group URI with its owner, in URI order.
    pub async fn list(&self) -> Result<Vec<(String, String)>, sqlx::Error> {
        let rows = sqlx::query("SELECT group_uri, owner FROM group_documents ORDER BY group_uri")
            .fetch_all(&self.store.pool)
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect()
    }
}
