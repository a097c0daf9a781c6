//! session-manager's store (`migrations/session-manager/`, both backends through
//! `corelab_runtime::Store`): each UE context is written whole — its `sm_ues` row, then its flows,
//! TMGI associations and paging counters replaced — as one job of the runtime's group-commit
//! writer, so it is committed before the answer that depends on it goes out (core_task.rs). At
//! start the contexts are read back (a restarted session-manager keeps its UEs).

use std::collections::BTreeMap;

use corelab_nas::Guti;
use corelab_runtime::Store;
use sqlx::{AnyConnection, Row};

use crate::fsm::context::{Location, MbsAssociation, MmState, PduSession, QosFlow, UeContext};
use crate::fsm::registry::{parse_tmgi_key, tmgi_key};

type Result<T> = std::result::Result<T, sqlx::Error>;

/// The session manager's tables.
#[derive(Clone)]
pub struct SmStore {
    pub store: Store,
}

fn decode_error(what: String) -> sqlx::Error {
    sqlx::Error::Decode(what.into())
}

impl SmStore {
    pub fn new(store: Store) -> SmStore {
        SmStore { store }
    }

    /// Write `ue` whole (insert or replace); returns once committed.
    pub async fn save(&self, ue: UeContext) -> Result<()> {
        self.store
            .writer
            .run(move |c| Box::pin(async move { write_ue(c, &ue).await }))
            .await
    }

    /// How many UE contexts are stored.
    pub async fn count(&self) -> Result<u64> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sm_ues")
            .fetch_one(&self.store.pool)
            .await?;
        Ok(n.max(0) as u64)
    }

    /// Every UE context, in SUPI order.
    pub async fn load_all(&self) -> Result<Vec<UeContext>> {
        self.load(None).await
    }

    /// The context of `supi`.
    pub async fn load_one(&self, supi: &str) -> Result<Option<UeContext>> {
        Ok(self.load(Some(supi)).await?.into_iter().next())
    }

    async fn load(&self, supi: Option<&str>) -> Result<Vec<UeContext>> {
        let pool = &self.store.pool;
        let filter = supi.unwrap_or("");
        let all = supi.is_none();
        let rows = sqlx::query(
            "SELECT supi, guti, state, gnb, ran_ue_id, out_of_coverage, pagings_since_registration
             FROM sm_ues WHERE $1 OR supi = $2 ORDER BY supi",
        )
        .bind(all)
        .bind(filter)
        .fetch_all(pool)
        .await?;
        let mut ues: BTreeMap<String, UeContext> = BTreeMap::new();
        for row in rows {
            let supi: String = row.try_get("supi")?;
            let guti_text: String = row.try_get("guti")?;
            let guti: Guti = guti_text
                .parse()
                .map_err(|e| decode_error(format!("sm_ues.guti {guti_text:?} of {supi}: {e}")))?;
            let state_text: String = row.try_get("state")?;
            let state = MmState::parse(&state_text)
                .ok_or_else(|| decode_error(format!("sm_ues.state {state_text:?} of {supi}")))?;
            let gnb: Option<String> = row.try_get("gnb")?;
            let ran_ue_id: Option<i64> = row.try_get("ran_ue_id")?;
            let location = match (gnb, ran_ue_id) {
                (Some(gnb), Some(id)) => Some(Location {
                    gnb,
                    ran_ue_id: id as u64,
                }),
                _ => None,
            };
            let out_of_coverage: i64 = row.try_get("out_of_coverage")?;
            let since: i64 = row.try_get("pagings_since_registration")?;
            ues.insert(
                supi.clone(),
                UeContext {
                    supi,
                    guti,
                    state,
                    location,
                    out_of_coverage: out_of_coverage != 0,
                    sessions: BTreeMap::new(),
                    associations: BTreeMap::new(),
                    pagings: BTreeMap::new(),
                    pagings_since_registration: since.max(0) as u64,
                },
            );
        }
        let flows = sqlx::query(
            "SELECT supi, psi, qfi, five_qi, tmgi FROM sm_flows WHERE $1 OR supi = $2
             ORDER BY supi, psi, qfi",
        )
        .bind(all)
        .bind(filter)
        .fetch_all(pool)
        .await?;
        for row in flows {
            let supi: String = row.try_get("supi")?;
            let psi = small(row.try_get("psi")?, "sm_flows.psi")?;
            let qfi = small(row.try_get("qfi")?, "sm_flows.qfi")?;
            let five_qi = small(row.try_get("five_qi")?, "sm_flows.five_qi")?;
            let tmgi: Option<String> = row.try_get("tmgi")?;
            let tmgi = match tmgi {
                None => None,
                Some(text) => Some(
                    parse_tmgi_key(&text)
                        .ok_or_else(|| decode_error(format!("sm_flows.tmgi {text:?}")))?,
                ),
            };
            let Some(ue) = ues.get_mut(&supi) else {
                continue;
            };
            let session = ue.sessions.entry(psi).or_insert_with(|| PduSession {
                psi,
                flows: BTreeMap::new(),
            });
            if qfi != 0 {
                session.flows.insert(qfi, QosFlow { qfi, five_qi, tmgi });
            }
        }
        let associations = sqlx::query(
            "SELECT supi, tmgi, psi, path_up FROM sm_tmgi_associations WHERE $1 OR supi = $2",
        )
        .bind(all)
        .bind(filter)
        .fetch_all(pool)
        .await?;
        for row in associations {
            let supi: String = row.try_get("supi")?;
            let key: String = row.try_get("tmgi")?;
            let tmgi = parse_tmgi_key(&key)
                .ok_or_else(|| decode_error(format!("sm_tmgi_associations.tmgi {key:?}")))?;
            let psi = small(row.try_get("psi")?, "sm_tmgi_associations.psi")?;
            let path_up: i64 = row.try_get("path_up")?;
            if let Some(ue) = ues.get_mut(&supi) {
                ue.associations.insert(
                    key,
                    MbsAssociation {
                        tmgi,
                        psi,
                        path_up: path_up != 0,
                    },
                );
            }
        }
        let pagings = sqlx::query("SELECT supi, tmgi, count FROM sm_pagings WHERE $1 OR supi = $2")
            .bind(all)
            .bind(filter)
            .fetch_all(pool)
            .await?;
        for row in pagings {
            let supi: String = row.try_get("supi")?;
            let key: String = row.try_get("tmgi")?;
            let count: i64 = row.try_get("count")?;
            if let Some(ue) = ues.get_mut(&supi) {
                ue.pagings.insert(key, count.max(0) as u64);
            }
        }
        Ok(ues.into_values().collect())
    }
}

fn small(value: i64, column: &str) -> Result<u8> {
    u8::try_from(value).map_err(|_| decode_error(format!("{column} {value} out of range")))
}

/// The statements of one UE's write. Idempotent (it may run again when its batch is retried).
async fn write_ue(c: &mut AnyConnection, ue: &UeContext) -> Result<()> {
    let (gnb, ran_ue_id) = match &ue.location {
        Some(l) => (Some(l.gnb.clone()), Some(l.ran_ue_id as i64)),
        None => (None, None),
    };
    sqlx::query(
        "INSERT INTO sm_ues (supi, guti, state, gnb, ran_ue_id, out_of_coverage, pagings_since_registration)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (supi) DO UPDATE SET guti = excluded.guti, state = excluded.state,
           gnb = excluded.gnb, ran_ue_id = excluded.ran_ue_id,
           out_of_coverage = excluded.out_of_coverage,
           pagings_since_registration = excluded.pagings_since_registration",
    )
    .bind(&ue.supi)
    .bind(ue.guti.to_string())
    .bind(ue.state.as_str())
    .bind(gnb)
    .bind(ran_ue_id)
    .bind(i64::from(ue.out_of_coverage))
    .bind(ue.pagings_since_registration as i64)
    .execute(&mut *c)
    .await?;
    for table in ["sm_flows", "sm_tmgi_associations", "sm_pagings"] {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DELETE FROM {table} WHERE supi = $1"
        )))
        .bind(&ue.supi)
        .execute(&mut *c)
        .await?;
    }
    for session in ue.sessions.values() {
        if session.flows.is_empty() {
            insert_flow(c, &ue.supi, session.psi, 0, 0, None).await?;
        }
        for flow in session.flows.values() {
            let tmgi = flow.tmgi.as_ref().map(tmgi_key);
            insert_flow(c, &ue.supi, session.psi, flow.qfi, flow.five_qi, tmgi).await?;
        }
    }
    for (key, association) in &ue.associations {
        sqlx::query(
            "INSERT INTO sm_tmgi_associations (supi, tmgi, psi, path_up) VALUES ($1, $2, $3, $4)",
        )
        .bind(&ue.supi)
        .bind(key)
        .bind(i64::from(association.psi))
        .bind(i64::from(association.path_up))
        .execute(&mut *c)
        .await?;
    }
    for (key, count) in &ue.pagings {
        sqlx::query("INSERT INTO sm_pagings (supi, tmgi, count) VALUES ($1, $2, $3)")
            .bind(&ue.supi)
            .bind(key)
            .bind(*count as i64)
            .execute(&mut *c)
            .await?;
    }
    Ok(())
}

async fn insert_flow(
    c: &mut AnyConnection,
    supi: &str,
    psi: u8,
    qfi: u8,
    five_qi: u8,
    tmgi: Option<String>,
) -> Result<()> {
    sqlx::query("INSERT INTO sm_flows (supi, psi, qfi, five_qi, tmgi) VALUES ($1, $2, $3, $4, $5)")
        .bind(supi)
        .bind(i64::from(psi))
        .bind(i64::from(qfi))
        .bind(i64::from(five_qi))
        .bind(tmgi)
        .execute(&mut *c)
        .await?;
    Ok(())
}
