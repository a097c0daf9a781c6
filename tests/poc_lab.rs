//! The PoC lab of issue 11 §5 (`labctl::poc`, shared with `labctl demo poc`), started on SQLite
//! or on PostgreSQL (one database per node).

pub use labctl::poc::*;

use crate::{Backend, postgres_database};

/// Start a [`PocLab`] on a test [`Backend`].
pub async fn start(backend: Backend) -> anyhow::Result<PocLab> {
    let dir = tempfile::tempdir()?;
    let stores = match backend {
        Backend::Sqlite => Stores::sqlite(dir.path()),
        Backend::Postgres => Stores {
            group_server: postgres_database().await?,
            cf: postgres_database().await?,
            pf_a: postgres_database().await?,
            pf_b: postgres_database().await?,
        },
    };
    PocLab::start_on(dir, stores).await
}
