//! The users we serve, in the store (`migrations/poc-participating`): SIP URI, contact, barred.

use corelab_runtime::Store;
use sqlx::Row;

use crate::participating::User;

#[derive(Clone)]
pub struct UserStore {
    store: Store,
}

impl UserStore {
    pub fn new(store: Store) -> UserStore {
        UserStore { store }
    }

    pub fn inner(&self) -> &Store {
        &self.store
    }

    /// The user with this address-of-record, if we serve them.
    pub async fn get(&self, uri: &str) -> Result<Option<User>, sqlx::Error> {
        let row = sqlx::query("SELECT uri, contact, barred FROM pf_users WHERE uri = $1")
            .bind(uri)
            .fetch_optional(&self.store.pool)
            .await?;
        row.map(|r| user(&r)).transpose()
    }

    /// Create or replace a user (provisioning).
    pub async fn upsert(&self, u: &User) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO pf_users (uri, contact, barred, updated_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (uri) DO UPDATE SET contact = excluded.contact, \
             barred = excluded.barred, updated_at = excluded.updated_at",
        )
        .bind(&u.uri)
        .bind(&u.contact)
        .bind(i64::from(u.barred))
        .bind(corelab_runtime::now_ms())
        .execute(&self.store.pool)
        .await?;
        Ok(())
    }

    /// Every user, in URI order.
    pub async fn list(&self) -> Result<Vec<User>, sqlx::Error> {
        let rows = sqlx::query("SELECT uri, contact, barred FROM pf_users ORDER BY uri")
            .fetch_all(&self.store.pool)
            .await?;
        rows.iter().map(user).collect()
    }
}

fn user(r: &sqlx::any::AnyRow) -> Result<User, sqlx::Error> {
    Ok(User {
        uri: r.try_get(0)?,
        contact: r.try_get(1)?,
        barred: r.try_get::<i64, _>(2)? != 0,
    })
}
