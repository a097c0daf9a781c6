//! The MBS lab of the scenario tests of issue 12 §5 (`labctl::mbs`, shared with `labctl demo
//! mbs`), started on SQLite or on PostgreSQL.

pub use labctl::mbs::*;

use crate::{Backend, store_url};

/// Starting an [`MbsLab`] on a test [`Backend`].
#[allow(async_fn_in_trait)] // used by the tests only, on one runtime: no `Send` bound needed
pub trait StartOnBackend: Sized {
    /// Start session-manager on a new store with `sm_args` (e.g. `--qfi-lists false`).
    async fn start(backend: Backend, sm_args: &[&str]) -> anyhow::Result<Self>;

    /// [`StartOnBackend::start`] with `config` as session-manager's TOML file (e.g. its own
    /// `[[mbs.sessions]]`, which replace the lab's default TMGIs).
    async fn start_configured(
        backend: Backend,
        config: &str,
        sm_args: &[&str],
    ) -> anyhow::Result<Self>;
}

impl StartOnBackend for MbsLab {
    async fn start(backend: Backend, sm_args: &[&str]) -> anyhow::Result<MbsLab> {
        Self::start_configured(backend, "", sm_args).await
    }

    async fn start_configured(
        backend: Backend,
        config: &str,
        sm_args: &[&str],
    ) -> anyhow::Result<MbsLab> {
        let dir = tempfile::tempdir()?;
        let store_url = store_url(backend, dir.path()).await?;
        MbsLab::start_on(dir, store_url, config, sm_args).await
    }
}
