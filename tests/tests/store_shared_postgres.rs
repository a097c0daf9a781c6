//! Every kind of node on one PostgreSQL database (issue 9 §2): each kind keeps its tables and
//! sqlx's `_sqlx_migrations` in its own schema (`store.schema`, default the node kind), so
//! presence's migration version 1 and another node's version 1 no longer collide.
//!
//! The second kind of node is in this process: its own migrations (`tests/migrations/probe/`)
//! opened through `corelab_runtime::Store::open`, the start-up every node runs.

use std::time::Duration;

use corelab_proto::presence::v1 as ppb;
use corelab_runtime::{CommonConfig, Store};
use corelab_tests::{Backend, Lab, postgres_database, until};
use sqlx::Connection;
use sqlx::migrate::Migrator;

static PROBE_MIGRATIONS: Migrator = sqlx::migrate!("migrations/probe");

const LIMIT: Duration = Duration::from_secs(15);

/// The second kind of node opening its store on `url`.
async fn open_probe(url: &str, dir: &std::path::Path) -> anyhow::Result<Store> {
    let mut section = CommonConfig::defaults("probe").store;
    section.url = url.to_string();
    Ok(Store::open(&section, dir, "probe", &PROBE_MIGRATIONS).await?)
}

async fn registered(lab: &Lab) -> anyhow::Result<Vec<String>> {
    let mut ctl = lab.control().await?;
    let regs = ctl.list_registrations(ppb::Empty {}).await?;
    Ok(regs
        .into_inner()
        .registrations
        .into_iter()
        .map(|r| r.aor)
        .collect())
}

async fn notes(store: &Store) -> anyhow::Result<Vec<String>> {
    Ok(
        sqlx::query_scalar("SELECT note FROM probe_notes ORDER BY id")
            .fetch_all(&store.pool)
            .await?,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL: CORELAB_TEST_PG_URL, run with --include-ignored"]
async fn presence_and_a_second_node_kind_share_one_database_and_both_restart() -> anyhow::Result<()>
{
    let url = postgres_database().await?;
    let dir = tempfile::tempdir()?;
    let probe_dir = dir.path().join("probe");
    let mut lab = Lab::start_on(dir, url.clone(), "").await?;
    lab.ue("carol", &[]).await?;
    until(LIMIT, "carol registered with presence-server", || async {
        registered(&lab)
            .await
            .ok()?
            .contains(&"sip:carol@lab.example".to_string())
            .then_some(())
    })
    .await?;

    // The second kind starts on the same database (before: "migration 1 was previously applied
    // but has been modified") and writes a row.
    let probe = open_probe(&url, &probe_dir).await?;
    sqlx::query("INSERT INTO probe_notes (id, note) VALUES (1, 'kept across restarts')")
        .execute(&probe.pool)
        .await?;

    // What an operator sees with psql: one schema per kind, each with its own tables and its own
    // migrations table, nothing in public.
    let mut psql = sqlx::postgres::PgConnection::connect(&url).await?;
    let tables: Vec<(String, String)> = sqlx::query_as(
        "SELECT table_schema::text, table_name::text FROM information_schema.tables \
         WHERE table_schema NOT IN ('pg_catalog', 'information_schema') \
         AND table_name IN ('_sqlx_migrations', 'presence_registrations', 'probe_notes') \
         ORDER BY 1, 2",
    )
    .fetch_all(&mut psql)
    .await?;
    let expected = [
        ("presence", "_sqlx_migrations"),
        ("presence", "presence_registrations"),
        ("probe", "_sqlx_migrations"),
        ("probe", "probe_notes"),
    ];
    assert_eq!(
        tables,
        expected.map(|(s, t)| (s.to_string(), t.to_string())),
        "tables by schema"
    );
    let versions: Vec<(String, i64)> = sqlx::query_as(
        "SELECT 'presence', version FROM presence._sqlx_migrations WHERE version = 1 \
         UNION ALL SELECT 'probe', version FROM probe._sqlx_migrations WHERE version = 1 \
         ORDER BY 1",
    )
    .fetch_all(&mut psql)
    .await?;
    assert_eq!(
        versions,
        vec![("presence".to_string(), 1), ("probe".to_string(), 1)]
    );
    psql.close().await?;

    // Both restart cleanly on the same database, and find what they stored.
    lab.server.take().expect("server").stop().await?;
    probe.close().await;
    lab.start_server().await?;
    let probe = open_probe(&url, &probe_dir).await?;
    assert_eq!(notes(&probe).await?, vec!["kept across restarts"]);
    assert!(
        registered(&lab)
            .await?
            .contains(&"sip:carol@lab.example".to_string()),
        "carol's registration survived presence-server's restart"
    );
    probe.close().await;
    Ok(())
}

/// A schema name that is not a plain identifier is a config error naming the key (checked before
/// any connection, so this runs on SQLite).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_schema_that_is_not_an_identifier_is_refused_by_key() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let url = corelab_tests::store_url(Backend::Sqlite, dir.path()).await?;
    let Err(error) = Lab::start_on(dir, url, "[store]\nschema = \"presence-server\"\n").await
    else {
        anyhow::bail!("presence-server started with store.schema = \"presence-server\"");
    };
    let error = error.to_string();
    assert!(
        error.contains("config: store.schema \"presence-server\": not a plain identifier"),
        "{error}"
    );
    Ok(())
}
