//! The admin HTTP server every node serves: `/healthz` (the process runs), `/readyz` (the store
//! answers, for a node that has one), `/metrics` (Prometheus text format), plus the routes a network function adds.

use std::net::SocketAddr;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::Store;

/// Install the process-wide Prometheus recorder (once) and return its handle.
pub fn install_metrics() -> Result<PrometheusHandle, crate::ConfigError> {
    PrometheusBuilder::new()
        .install_recorder()
        .map_err(|e| crate::ConfigError(format!("metrics: {e}")))
}

#[derive(Clone)]
struct AdminState {
    store: Option<Store>,
    metrics: PrometheusHandle,
}

/// Bind the admin listener; returns the bound address and a future that serves until `shutdown`.
pub async fn serve(
    listen: SocketAddr,
    store: Option<Store>,
    metrics: PrometheusHandle,
    extra: Router,
    shutdown: CancellationToken,
) -> std::io::Result<(SocketAddr, impl Future<Output = ()>)> {
    let listener = TcpListener::bind(listen)
        .await
        .map_err(|e| std::io::Error::new(e.kind(), format!("admin.listen {listen}: {e}")))?;
    let addr = listener.local_addr()?;
    let app = Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_text))
        .with_state(AdminState { store, metrics })
        .merge(extra);
    let fut = async move {
        if let Err(e) = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown.cancelled_owned())
            .await
        {
            tracing::error!(error = %e, "admin server stopped");
        }
    };
    Ok((addr, fut))
}

async fn readyz(State(state): State<AdminState>) -> (StatusCode, String) {
    let Some(store) = &state.store else {
        return (StatusCode::OK, "ready (no store)\n".into());
    };
    match store.ping().await {
        Ok(()) => (StatusCode::OK, "ready\n".into()),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("store not ready: {e}\n"),
        ),
    }
}

async fn metrics_text(State(state): State<AdminState>) -> String {
    state.metrics.render()
}
