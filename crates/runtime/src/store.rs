//! The store: one sqlx `AnyPool` over PostgreSQL or SQLite.
//!
//! Why `AnyPool` rather than a trait with two implementations: every network function writes its
//! SQL once and runs it on both backends, which keeps the two from drifting apart and lets every
//! test run on both. The price is sqlx's `Any` type set (bool, integers, floats, text, blob): times
//! are `i64` milliseconds since the epoch and documents are text. The SQL we write is the common
//! subset of both dialects (`$n` placeholders, `ON CONFLICT … DO UPDATE`, `RETURNING`).
//!
//! On PostgreSQL each kind of node keeps its tables and its migrations in its own schema
//! (`store.schema`, default the node kind), so every node shares one database ([`schema`]).
//! On SQLite each node has its own file and no schema is needed.

pub mod schema;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::migrate::Migrator;
use sqlx::{AnyPool, AssertSqlSafe, Executor};

use crate::config::StoreSection;
use crate::writer::Writer;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Backend::Postgres => "postgres",
            Backend::Sqlite => "sqlite",
        })
    }
}

#[derive(Clone)]
pub struct Store {
    /// Reads (and writes, for callers that do not care): `store.max_connections` connections.
    pub pool: AnyPool,
    /// Writes, each answered once committed, group committed (see [`Writer`]). On SQLite one
    /// worker on its own one-connection pool: writers queue in order instead of meeting SQLite's
    /// write lock and sleeping in its busy handler (1, 2, 5, 10 … 100 ms). On PostgreSQL half of
    /// `pool`'s connections.
    pub writer: Writer,
    pub backend: Backend,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreOpenError {
    #[error("config: store.url {0:?}: unsupported scheme (use postgres:// or sqlite://)")]
    Scheme(String),
    #[error("store: cannot create data directory {0}: {1}")]
    DataDir(String, std::io::Error),
    #[error(
        "config: store.schema {0:?}: not a plain identifier (lowercase letters, digits and _, \
         starting with a letter or _, at most 63 bytes, not pg_...)"
    )]
    Schema(String),
    #[error("store: cannot create schema {schema:?} on {url}: {source}")]
    CreateSchema {
        url: String,
        schema: String,
        source: sqlx::Error,
    },
    #[error("store: cannot connect to {url}: {source}")]
    Connect { url: String, source: sqlx::Error },
    #[error("store: migrations failed on {url}: {source}")]
    Migrate {
        url: String,
        source: sqlx::migrate::MigrateError,
    },
}

impl Store {
    /// Open the store named by `section.url` (empty: `sqlite://<data_dir>/<node>.db`) and run the
    /// node's migrations. `node` is the node kind (`presence`): it names the SQLite file and, on
    /// PostgreSQL, the schema unless `section.schema` names another; that schema is created if
    /// missing and is every pool connection's `search_path`.
    pub async fn open(
        section: &StoreSection,
        data_dir: &Path,
        node: &str,
        migrator: &Migrator,
    ) -> Result<Store, StoreOpenError> {
        install_default_drivers();
        let schema = if section.schema.is_empty() {
            node
        } else {
            section.schema.as_str()
        };
        if !schema::is_plain_identifier(schema) {
            return Err(StoreOpenError::Schema(schema.to_string()));
        }
        let url = if section.url.is_empty() {
            std::fs::create_dir_all(data_dir)
                .map_err(|e| StoreOpenError::DataDir(data_dir.display().to_string(), e))?;
            format!("sqlite://{}/{node}.db", data_dir.display())
        } else {
            section.url.clone()
        };
        let backend = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            return Err(StoreOpenError::Scheme(url));
        };
        let connect_url = match backend {
            Backend::Sqlite if !url.contains('?') && !url.contains(":memory:") => {
                format!("{url}?mode=rwc")
            }
            _ => url.clone(),
        };
        let synchronous: &'static str = if section.sqlite_synchronous.eq_ignore_ascii_case("normal")
        {
            "PRAGMA synchronous=NORMAL"
        } else {
            "PRAGMA synchronous=FULL"
        };
        if backend == Backend::Postgres {
            schema::ensure(&connect_url, schema)
                .await
                .map_err(|source| StoreOpenError::CreateSchema {
                    url: redact(&url),
                    schema: schema.to_string(),
                    source,
                })?;
        }
        let search_path: std::sync::Arc<str> = schema::set_search_path(schema).into();
        let options = AnyPoolOptions::new()
            .max_connections(section.max_connections.max(1))
            .acquire_timeout(Duration::from_secs(10))
            // sqlx pings every connection it hands out by default: one extra round trip (to the
            // SQLite worker thread, or to PostgreSQL) per statement (docs/benchmarks.md, presence
            // load). A connection that broke meanwhile fails its statement instead (a 500 on
            // that one request) and is then dropped from the pool.
            .test_before_acquire(false)
            .after_connect(move |conn, _meta| {
                let search_path = search_path.clone();
                Box::pin(async move {
                    if backend == Backend::Postgres {
                        // The node's schema first and only: its tables and sqlx's
                        // `_sqlx_migrations` are created and found there.
                        sqlx::raw_sql(AssertSqlSafe(search_path))
                            .execute(&mut *conn)
                            .await?;
                    }
                    if backend == Backend::Sqlite {
                        // WAL lets readers run beside the one writer; the busy timeout makes a
                        // second writer wait instead of failing with "database is locked".
                        conn.execute("PRAGMA journal_mode=WAL").await?;
                        conn.execute("PRAGMA busy_timeout=10000").await?;
                        conn.execute(synchronous).await?;
                        conn.execute("PRAGMA foreign_keys=ON").await?;
                    }
                    Ok(())
                })
            });
        let writer_options = options.clone().max_connections(1);
        let pool =
            options
                .connect(&connect_url)
                .await
                .map_err(|source| StoreOpenError::Connect {
                    url: redact(&url),
                    source,
                })?;
        migrator
            .run(&pool)
            .await
            .map_err(|source| StoreOpenError::Migrate {
                url: redact(&url),
                source,
            })?;
        let writer = match backend {
            // Half the pool's connections write (each worker takes one per batch).
            Backend::Postgres => {
                Writer::group_commit(pool.clone(), (section.max_connections as usize / 2).max(1))
            }
            Backend::Sqlite => {
                let one = writer_options
                    .connect(&connect_url)
                    .await
                    .map_err(|source| StoreOpenError::Connect {
                        url: redact(&url),
                        source,
                    })?;
                Writer::group_commit(one, 1)
            }
        };
        match backend {
            Backend::Postgres => {
                tracing::info!(%backend, url = %redact(&url), schema, "store open")
            }
            Backend::Sqlite => tracing::info!(%backend, url = %redact(&url), "store open"),
        }
        Ok(Store {
            pool,
            writer,
            backend,
        })
    }

    /// Close both pools (at shutdown); writes still queued fail.
    pub async fn close(&self) {
        self.pool.close().await;
        self.writer.close().await;
    }

    /// `/readyz`: can we run a query?
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map(|_| ())
    }
}

/// Hide a password in a connection URL before it reaches a log line.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            match userinfo.find(':') {
                Some(colon) => format!(
                    "{}{}:***{}",
                    &url[..scheme_end + 3],
                    &userinfo[..colon],
                    &url[at..]
                ),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

impl FromStr for Backend {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "postgres" => Ok(Backend::Postgres),
            "sqlite" => Ok(Backend::Sqlite),
            other => Err(format!("unknown backend {other:?}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn password_is_hidden() {
        assert_eq!(
            redact("postgres://lab:secret@db:5432/lab"),
            "postgres://lab:***@db:5432/lab"
        );
        assert_eq!(redact("postgres://lab@db/lab"), "postgres://lab@db/lab");
        assert_eq!(redact("sqlite://var/x.db"), "sqlite://var/x.db");
    }
}
