//! The binding store (`migrations/dra/`): bindings and their Diameter sessions, on PostgreSQL or
//! SQLite through `corelab_runtime::Store`. Writes go through the group-committing writer and
//! return once committed: a binding is in the store before the request that made it is
//! forwarded or redirected. Each write job is idempotent (the writer may run it again after a
//! rolled-back batch).

use corelab_runtime::Store;
use corelab_runtime::writer::BoxFuture;
use sqlx::{AnyConnection, Row};

use crate::request::{PccRequest, UeKeys};

type Result<T> = std::result::Result<T, sqlx::Error>;

/// One Diameter session of a binding.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct SessionRow {
    pub session_id: String,
    pub interface: String,
    pub application_id: i64,
    pub origin_host: String,
    pub state: String,
    pub created_ms: i64,
}

/// A binding with its keys, PCRF and sessions.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct BindingRow {
    pub binding_id: String,
    pub nai: String,
    pub ipv4: String,
    pub ipv6_prefix: String,
    pub apn: String,
    pub pcrf_host: String,
    pub created_ms: i64,
    pub sessions: Vec<SessionRow>,
}

/// Where an establishment left the request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Bound {
    /// Bound to this PCRF; `created` when this request made the binding; `replaced`: the
    /// stale binding (same UE IP, another NAI) deleted to make room for it.
    Pcrf {
        pcrf_host: String,
        created: bool,
        replaced: Option<String>,
    },
    /// No binding for these keys and none may be made (an Rx session with no IP-CAN session).
    NoBinding,
}

/// What a deletion did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Deleted {
    /// The PCRF of the binding the first known session belonged to; `None`: no session known.
    pub pcrf_host: Option<String>,
    /// Diameter sessions deleted.
    pub sessions: u64,
    /// Bindings deleted because their last session went (the cascade).
    pub bindings: u64,
}

#[derive(Clone)]
pub struct DraStore {
    pub store: Store,
}

impl DraStore {
    pub fn new(store: Store) -> DraStore {
        DraStore { store }
    }

    /// The PCRF of the binding holding any of `session_ids` (the request's own first).
    pub async fn pcrf_of(&self, session_ids: &[String]) -> Result<Option<String>> {
        for id in session_ids {
            let row: Option<String> = sqlx::query_scalar(
                "SELECT b.pcrf_host FROM dra_sessions s JOIN dra_bindings b ON b.binding_id = s.binding_id
                 WHERE s.session_id = $1",
            )
            .bind(id)
            .fetch_optional(&self.store.pool)
            .await?;
            if row.is_some() {
                return Ok(row);
            }
        }
        Ok(None)
    }

    /// Binds a new Diameter session (TS 29.213 §7): the binding of its Session-Id if it is
    /// already recorded (a retransmission), else of the UE's keys, else (when `create`) a new
    /// one with `choose(identity)`'s PCRF; records the session and the client Session-Ids it
    /// names. Committed when this returns.
    pub async fn establish(
        &self,
        req: &PccRequest,
        create: bool,
        pcrf_for_new: String,
        now: i64,
    ) -> Result<Bound> {
        let req = req.clone();
        let new_id = uuid::Uuid::new_v4().to_string();
        self.store
            .writer
            .run(move |c| {
                Box::pin(
                    async move { establish(c, &req, create, &pcrf_for_new, &new_id, now).await },
                ) as BoxFuture<'_, Result<Bound>>
            })
            .await
    }

    /// Records the client Session-Ids a request of a bound session names (an S9 subsession
    /// establishment), under the binding of its Session-Id. The PCRF, or `None` when the
    /// Session-Id is not known.
    pub async fn follow(&self, req: &PccRequest, now: i64) -> Result<Option<String>> {
        if req.client_session_ids.is_empty() {
            return self.pcrf_of(std::slice::from_ref(&req.session_id)).await;
        }
        let req = req.clone();
        self.store
            .writer
            .run(move |c| {
                Box::pin(async move {
                    let Some((binding_id, pcrf)) = binding_of(c, &req.session_id).await? else {
                        return Ok(None);
                    };
                    record_clients(c, &req, &binding_id, now).await?;
                    Ok(Some(pcrf))
                }) as BoxFuture<'_, Result<Option<String>>>
            })
            .await
    }

    /// Deletes the Diameter sessions `session_ids` and, for each binding left without a
    /// session, the binding (the cascade). Committed when this returns.
    pub async fn delete_sessions(&self, session_ids: Vec<String>) -> Result<Deleted> {
        self.store
            .writer
            .run(move |c| {
                Box::pin(async move { delete_sessions(c, &session_ids).await })
                    as BoxFuture<'_, Result<Deleted>>
            })
            .await
    }

    /// The audit: removes every binding none of whose sessions was established at or after
    /// `cutoff` (its sessions with it). The removed bindings.
    pub async fn audit(&self, cutoff: i64) -> Result<Vec<(String, String)>> {
        self.store
            .writer
            .run(move |c| {
                Box::pin(async move {
                    let rows = sqlx::query(
                        "DELETE FROM dra_bindings
                         WHERE created_ms < $1
                           AND NOT EXISTS (SELECT 1 FROM dra_sessions s
                                           WHERE s.binding_id = dra_bindings.binding_id
                                             AND s.created_ms >= $1)
                         RETURNING binding_id, nai",
                    )
                    .bind(cutoff)
                    .fetch_all(&mut *c)
                    .await?;
                    let mut out: Vec<(String, String)> = Vec::with_capacity(rows.len());
                    for r in rows {
                        out.push((r.try_get(0)?, r.try_get(1)?));
                    }
                    Ok(out)
                }) as BoxFuture<'_, Result<Vec<(String, String)>>>
            })
            .await
    }

    /// Every binding (of one NAI when `nai` is not empty) with its sessions, oldest first.
    pub async fn bindings(&self, nai: &str) -> Result<Vec<BindingRow>> {
        let rows = sqlx::query(
            "SELECT binding_id, nai, ipv4, ipv6_prefix, apn, pcrf_host, created_ms FROM dra_bindings
             WHERE $1 = '' OR nai = $1 ORDER BY created_ms, binding_id",
        )
        .bind(nai)
        .fetch_all(&self.store.pool)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let binding_id: String = r.try_get(0)?;
            let sessions = sqlx::query(
                "SELECT session_id, interface, application_id, origin_host, state, created_ms
                 FROM dra_sessions WHERE binding_id = $1 ORDER BY created_ms, session_id",
            )
            .bind(&binding_id)
            .fetch_all(&self.store.pool)
            .await?
            .into_iter()
            .map(|s| {
                Ok(SessionRow {
                    session_id: s.try_get(0)?,
                    interface: s.try_get(1)?,
                    application_id: s.try_get(2)?,
                    origin_host: s.try_get(3)?,
                    state: s.try_get(4)?,
                    created_ms: s.try_get(5)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
            out.push(BindingRow {
                binding_id,
                nai: r.try_get(1)?,
                ipv4: r.try_get(2)?,
                ipv6_prefix: r.try_get(3)?,
                apn: r.try_get(4)?,
                pcrf_host: r.try_get(5)?,
                created_ms: r.try_get(6)?,
                sessions,
            });
        }
        Ok(out)
    }
}

/// A transaction that lost to a concurrent one and may simply run again: PostgreSQL's
/// deadlock_detected (40P01) or serialization_failure (40001). Two group-committed batches (two
/// DRAs of a mated pair, or two writer workers) creating the bindings of the same UEs in other
/// orders wait on each other's `ue_key` and one is chosen as the deadlock's victim.
pub fn lost_a_race(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if matches!(d.code().as_deref(), Some("40P01" | "40001")))
}

async fn binding_of(c: &mut AnyConnection, session_id: &str) -> Result<Option<(String, String)>> {
    let row = sqlx::query(
        "SELECT b.binding_id, b.pcrf_host FROM dra_sessions s JOIN dra_bindings b ON b.binding_id = s.binding_id
         WHERE s.session_id = $1",
    )
    .bind(session_id)
    .fetch_optional(&mut *c)
    .await?;
    row.map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).transpose()
}

/// The live binding of an IP-CAN session with these keys: same UE IPv4 address or IPv6 prefix
/// (and APN when both name one), else same NAI and APN (or NAI alone when the request names
/// neither IP nor APN). (binding id, PCRF, NAI).
async fn binding_by_keys(
    c: &mut AnyConnection,
    k: &UeKeys,
) -> Result<Option<(String, String, String)>> {
    let row = sqlx::query(
        "SELECT binding_id, pcrf_host, nai FROM dra_bindings
         WHERE ($1 <> '' AND ipv4 = $1 AND ($4 = '' OR apn = '' OR apn = $4))
            OR ($2 <> '' AND ipv6_prefix = $2 AND ($4 = '' OR apn = '' OR apn = $4))
            OR ($3 <> '' AND nai = $3 AND ((($4 <> '' AND apn = $4)) OR ($4 = '' AND $1 = '' AND $2 = '')))
         ORDER BY created_ms DESC, binding_id LIMIT 1",
    )
    .bind(&k.ipv4)
    .bind(&k.ipv6_prefix)
    .bind(&k.nai)
    .bind(&k.apn)
    .fetch_optional(&mut *c)
    .await?;
    row.map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
        .transpose()
}

async fn establish(
    c: &mut AnyConnection,
    req: &PccRequest,
    create: bool,
    pcrf_for_new: &str,
    new_id: &str,
    now: i64,
) -> Result<Bound> {
    if let Some((binding_id, pcrf_host)) = binding_of(c, &req.session_id).await? {
        record_clients(c, req, &binding_id, now).await?;
        return Ok(Bound::Pcrf {
            pcrf_host,
            created: false,
            replaced: None,
        });
    }
    let k = &req.keys;
    let mut found = binding_by_keys(c, k).await?;
    let mut replaced = None;
    // Same UE IP (and APN), another UE's NAI: the address was given to a new UE, so the
    // binding found is stale (its termination never came, or cleanup is off). An
    // establishment that may create replaces it; one that may not (Rx) does not join it.
    if let Some((id, _, nai)) = &found
        && !k.nai.is_empty()
        && !nai.is_empty()
        && !nai.eq(&k.nai)
    {
        if !create {
            return Ok(Bound::NoBinding);
        }
        sqlx::query("DELETE FROM dra_bindings WHERE binding_id = $1")
            .bind(id)
            .execute(&mut *c)
            .await?;
        replaced = Some(id.clone());
        found = None;
    }
    let (binding_id, pcrf_host, created) = match found {
        Some((id, pcrf, _)) => {
            fill_keys(c, &id, k).await?;
            (id, pcrf, false)
        }
        None if !create => return Ok(Bound::NoBinding),
        None => {
            // Insert-or-get on the UE key: a mated DRA may have created the binding since the
            // lookup (its transaction committed, or still open: PostgreSQL waits for it here).
            let ue_key = k.binding_key(&req.session_id);
            let inserted = sqlx::query(
                "INSERT INTO dra_bindings (binding_id, nai, ipv4, ipv6_prefix, apn, pcrf_host, created_ms, ue_key)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                 ON CONFLICT (ue_key) DO NOTHING",
            )
            .bind(new_id)
            .bind(&k.nai)
            .bind(&k.ipv4)
            .bind(&k.ipv6_prefix)
            .bind(&k.apn)
            .bind(pcrf_for_new)
            .bind(now)
            .bind(&ue_key)
            .execute(&mut *c)
            .await?
            .rows_affected();
            if inserted == 1 {
                (new_id.to_string(), pcrf_for_new.to_string(), true)
            } else {
                let row =
                    sqlx::query("SELECT binding_id, pcrf_host FROM dra_bindings WHERE ue_key = $1")
                        .bind(&ue_key)
                        .fetch_optional(&mut *c)
                        .await?;
                let Some(row) = row else {
                    // Deleted again between the conflict and the read (its last session
                    // ended at the other DRA): a store error, 3004, which the client retries.
                    return Err(sqlx::Error::RowNotFound);
                };
                let (id, pcrf): (String, String) = (row.try_get(0)?, row.try_get(1)?);
                fill_keys(c, &id, k).await?;
                (id, pcrf, false)
            }
        }
    };
    insert_session(
        c,
        &req.session_id,
        &binding_id,
        req.interface.name(),
        req.application_id,
        &req.origin_host,
        now,
    )
    .await?;
    record_clients(c, req, &binding_id, now).await?;
    Ok(Bound::Pcrf {
        pcrf_host,
        created,
        replaced,
    })
}

/// A later session may bring a key the binding's first lacked (the Gx CCR-I's UE IP).
async fn fill_keys(c: &mut AnyConnection, binding_id: &str, k: &UeKeys) -> Result<()> {
    sqlx::query(
        "UPDATE dra_bindings SET
           nai = CASE WHEN nai = '' THEN $2 ELSE nai END,
           ipv4 = CASE WHEN ipv4 = '' THEN $3 ELSE ipv4 END,
           ipv6_prefix = CASE WHEN ipv6_prefix = '' THEN $4 ELSE ipv6_prefix END,
           apn = CASE WHEN apn = '' THEN $5 ELSE apn END
         WHERE binding_id = $1",
    )
    .bind(binding_id)
    .bind(&k.nai)
    .bind(&k.ipv4)
    .bind(&k.ipv6_prefix)
    .bind(&k.apn)
    .execute(&mut *c)
    .await?;
    Ok(())
}

/// The client Session-Ids (Corelab-Client-Session-Id) of an S9 request, recorded under its
/// binding as `s9-client` sessions.
async fn record_clients(
    c: &mut AnyConnection,
    req: &PccRequest,
    binding_id: &str,
    now: i64,
) -> Result<()> {
    for id in &req.client_session_ids {
        insert_session(
            c,
            id,
            binding_id,
            "s9-client",
            req.application_id,
            &req.origin_host,
            now,
        )
        .await?;
    }
    Ok(())
}

async fn insert_session(
    c: &mut AnyConnection,
    session_id: &str,
    binding_id: &str,
    interface: &str,
    application_id: u32,
    origin_host: &str,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO dra_sessions (session_id, binding_id, interface, application_id, origin_host, state, created_ms)
         VALUES ($1, $2, $3, $4, $5, 'open', $6)
         ON CONFLICT (session_id) DO NOTHING",
    )
    .bind(session_id)
    .bind(binding_id)
    .bind(interface)
    .bind(i64::from(application_id))
    .bind(origin_host)
    .bind(now)
    .execute(&mut *c)
    .await?;
    Ok(())
}

async fn delete_sessions(c: &mut AnyConnection, session_ids: &[String]) -> Result<Deleted> {
    let mut out = Deleted::default();
    let mut touched: Vec<String> = Vec::new();
    for id in session_ids {
        let Some((binding_id, pcrf)) = binding_of(c, id).await? else {
            continue;
        };
        out.pcrf_host.get_or_insert(pcrf);
        out.sessions += sqlx::query("DELETE FROM dra_sessions WHERE session_id = $1")
            .bind(id)
            .execute(&mut *c)
            .await?
            .rows_affected();
        if !touched.contains(&binding_id) {
            touched.push(binding_id);
        }
    }
    for binding_id in touched {
        out.bindings += sqlx::query(
            "DELETE FROM dra_bindings WHERE binding_id = $1
               AND NOT EXISTS (SELECT 1 FROM dra_sessions WHERE binding_id = $1)",
        )
        .bind(&binding_id)
        .execute(&mut *c)
        .await?
        .rows_affected();
    }
    Ok(out)
}
