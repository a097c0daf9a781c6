//! The PCRF's sessions in the store (`migrations/pcrf/`, on PostgreSQL or SQLite through
//! `corelab_runtime::Store`): client sessions (Gx, Gxx, Rx) with their S1 → S2 link, S9
//! sessions, and at the hPCRF the S9 subsessions. Each write is committed when it returns, so
//! a restarted pcrf carries on with the same sessions.

use corelab_runtime::Store;
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

type Result<T> = std::result::Result<T, sqlx::Error>;

/// One row of `pcrf_sessions` (see the migration for each column).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct SessionRow {
    pub session_id: String,
    pub interface: String,
    pub origin_host: String,
    pub origin_realm: String,
    pub nai: String,
    pub ipv4: String,
    pub apn: String,
    pub s9_session_id: String,
    pub subsession_id: i64,
    pub gx_session_id: String,
    pub hpcrf_host: String,
    pub hdra_mode: String,
    pub client_session_id: String,
    pub created_ms: i64,
}

const COLUMNS: &str = "session_id, interface, origin_host, origin_realm, nai, ipv4, apn, \
     s9_session_id, subsession_id, gx_session_id, hpcrf_host, hdra_mode, client_session_id, created_ms";

fn row(r: AnyRow) -> Result<SessionRow> {
    Ok(SessionRow {
        session_id: r.try_get(0)?,
        interface: r.try_get(1)?,
        origin_host: r.try_get(2)?,
        origin_realm: r.try_get(3)?,
        nai: r.try_get(4)?,
        ipv4: r.try_get(5)?,
        apn: r.try_get(6)?,
        s9_session_id: r.try_get(7)?,
        subsession_id: r.try_get(8)?,
        gx_session_id: r.try_get(9)?,
        hpcrf_host: r.try_get(10)?,
        hdra_mode: r.try_get(11)?,
        client_session_id: r.try_get(12)?,
        created_ms: r.try_get(13)?,
    })
}

#[derive(Clone)]
pub struct PcrfStore {
    pub store: Store,
}

impl PcrfStore {
    pub fn new(store: Store) -> PcrfStore {
        PcrfStore { store }
    }

    /// Records a session; a retransmitted establishment (same Session-Id) changes nothing.
    pub async fn insert(&self, s: &SessionRow) -> Result<()> {
        sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO pcrf_sessions ({COLUMNS}) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14)
             ON CONFLICT (session_id) DO NOTHING"
        )))
        .bind(&s.session_id)
        .bind(&s.interface)
        .bind(&s.origin_host)
        .bind(&s.origin_realm)
        .bind(&s.nai)
        .bind(&s.ipv4)
        .bind(&s.apn)
        .bind(&s.s9_session_id)
        .bind(s.subsession_id)
        .bind(&s.gx_session_id)
        .bind(&s.hpcrf_host)
        .bind(&s.hdra_mode)
        .bind(&s.client_session_id)
        .bind(s.created_ms)
        .execute(&self.store.pool)
        .await?;
        Ok(())
    }

    pub async fn get(&self, session_id: &str) -> Result<Option<SessionRow>> {
        sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM pcrf_sessions WHERE session_id = $1"
        )))
        .bind(session_id)
        .fetch_optional(&self.store.pool)
        .await?
        .map(row)
        .transpose()
    }

    async fn select(&self, filter: &str, arg: &str) -> Result<Vec<SessionRow>> {
        sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM pcrf_sessions WHERE {filter} ORDER BY created_ms, session_id"
        )))
        .bind(arg)
        .fetch_all(&self.store.pool)
        .await?
        .into_iter()
        .map(row)
        .collect()
    }

    /// Every session, oldest first.
    pub async fn all(&self) -> Result<Vec<SessionRow>> {
        self.select("$1 = ''", "").await
    }

    /// The vPCRF's S9 session of a UE (one S9 session per UE: embodiment 10).
    pub async fn s9_of_nai(&self, nai: &str) -> Result<Option<SessionRow>> {
        Ok(self
            .select("interface = 's9' AND nai = $1", nai)
            .await?
            .into_iter()
            .next())
    }

    /// The client sessions (Gx, Gxx, Rx) an S9 session carries.
    pub async fn clients_of(&self, s9_session_id: &str) -> Result<Vec<SessionRow>> {
        self.select(
            "interface IN ('gx', 'gxx', 'rx') AND s9_session_id = $1",
            s9_session_id,
        )
        .await
    }

    /// The subsessions of an S9 session (hPCRF).
    pub async fn subsessions_of(&self, s9_session_id: &str) -> Result<Vec<SessionRow>> {
        self.select(
            "interface = 's9-subsession' AND s9_session_id = $1",
            s9_session_id,
        )
        .await
    }

    /// The IP-CAN session (Gx) of a UE IPv4 address (TS 29.214 §4.4.1: the AF session binds to it).
    pub async fn gx_of_ipv4(&self, ipv4: &str) -> Result<Option<SessionRow>> {
        Ok(self
            .select("interface = 'gx' AND ipv4 = $1", ipv4)
            .await?
            .into_iter()
            .next())
    }

    /// The AF (Rx) sessions bound to an IP-CAN session.
    pub async fn rx_of_gx(&self, gx_session_id: &str) -> Result<Vec<SessionRow>> {
        self.select("interface = 'rx' AND gx_session_id = $1", gx_session_id)
            .await
    }

    /// The next Subsession-Id of the vPCRF's S9 session (kept on its row).
    pub async fn next_subsession_id(&self, s9_session_id: &str) -> Result<u32> {
        let n: i64 = sqlx::query_scalar(
            "UPDATE pcrf_sessions SET subsession_id = subsession_id + 1
             WHERE session_id = $1 RETURNING subsession_id",
        )
        .bind(s9_session_id)
        .fetch_one(&self.store.pool)
        .await?;
        Ok(u32::try_from(n).unwrap_or(0))
    }

    /// Deletes one session (row). Whether it was there.
    pub async fn delete(&self, session_id: &str) -> Result<bool> {
        let r = sqlx::query("DELETE FROM pcrf_sessions WHERE session_id = $1")
            .bind(session_id)
            .execute(&self.store.pool)
            .await?;
        Ok(r.rows_affected() > 0)
    }

    /// Deletes an S9 session with its subsessions (hPCRF) and the S1 → S2 links left on it.
    pub async fn delete_s9(&self, s9_session_id: &str) -> Result<u64> {
        let r = sqlx::query(
            "DELETE FROM pcrf_sessions WHERE session_id = $1
                OR (interface = 's9-subsession' AND s9_session_id = $1)",
        )
        .bind(s9_session_id)
        .execute(&self.store.pool)
        .await?;
        Ok(r.rows_affected())
    }
}
