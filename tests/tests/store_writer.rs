//! The group-commit writer (`corelab_runtime::writer`) on a real store, both backends: every
//! write answered "done" is committed, and a failing statement costs only itself, not the writes
//! batched with it (on PostgreSQL the batch is rolled back and they run again).

use corelab_runtime::writer::Writer;
use corelab_tests::{Backend, on_both_backends, store_url};
use sqlx::any::{AnyPoolOptions, install_default_drivers};

on_both_backends! {
    concurrent_writes_all_commit_and_a_failure_spares_its_batch => writes;
}

async fn writes(backend: Backend) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let url = store_url(backend, dir.path()).await?;
    let url = match backend {
        Backend::Sqlite => format!("{url}?mode=rwc"),
        Backend::Postgres => url,
    };
    install_default_drivers();
    let pool = AnyPoolOptions::new()
        .max_connections(4)
        .connect(&url)
        .await?;
    sqlx::query("CREATE TABLE writer_rows (id BIGINT PRIMARY KEY, note TEXT NOT NULL)")
        .execute(&pool)
        .await?;
    // As `Store::open` does: one worker on SQLite (two writing connections can deadlock on its
    // file lock), several on PostgreSQL.
    let workers = match backend {
        Backend::Sqlite => 1,
        Backend::Postgres => 2,
    };
    let writer = Writer::group_commit(pool.clone(), workers);

    // 200 writes at once (so they share batches). Two more fail: id 7 written twice (one of
    // them fails), and id 1000, queued among the others, without its NOT NULL note.
    let mut tasks = tokio::task::JoinSet::new();
    let writes = (0..100i64).chain([1000]).chain(100..200).chain([7]);
    for n in writes {
        let writer = writer.clone();
        tasks.spawn(async move {
            writer
                .run(move |c| {
                    Box::pin(async move {
                        sqlx::query("INSERT INTO writer_rows (id, note) VALUES ($1, $2)")
                            .bind(n)
                            .bind((n != 1000).then(|| format!("row {n}")))
                            .execute(c)
                            .await
                            .map(|r| r.rows_affected())
                    })
                })
                .await
        });
    }
    let (mut ok, mut unique_violations, mut null_violations) = (0, 0, 0);
    while let Some(result) = tasks.join_next().await {
        match result? {
            Ok(1) => ok += 1,
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => unique_violations += 1,
            Err(sqlx::Error::Database(e)) if e.message().to_lowercase().contains("null") => {
                null_violations += 1
            }
            other => anyhow::bail!("unexpected write outcome {other:?}"),
        }
    }
    assert_eq!((ok, unique_violations, null_violations), (200, 1, 1));
    // Every write answered "done" is visible to a reader on another connection.
    let (rows,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM writer_rows")
        .fetch_one(&pool)
        .await?;
    assert_eq!(rows, 200);
    writer.close().await;
    Ok(())
}
