//! Admin HTTP routes of pcrf, beside the runtime's `/healthz`, `/readyz`, `/metrics`:
//! `GET /sessions` (JSON: every Gx, Gxx, Rx and S9 session with its Session-Id, the S1 → S2
//! link of client sessions, and at the hPCRF the S9 subsessions).

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};

use crate::Pcrf;
use crate::store::SessionRow;

pub fn routes(pcrf: Pcrf) -> Router {
    Router::new()
        .route("/sessions", get(sessions))
        .with_state(pcrf)
}

async fn sessions(State(pcrf): State<Pcrf>) -> Result<Json<Vec<SessionRow>>, (StatusCode, String)> {
    pcrf.store
        .all()
        .await
        .map(Json)
        .map_err(|e| (StatusCode::SERVICE_UNAVAILABLE, format!("store: {e}\n")))
}
