//! Admin HTTP routes of dra, beside the runtime's `/healthz`, `/readyz`, `/metrics`:
//! `GET /bindings` and `GET /bindings?nai=…` (JSON: each binding with its keys, PCRF and
//! Diameter sessions).

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;

use crate::Dra;
use crate::store::BindingRow;

#[derive(Deserialize)]
struct Filter {
    #[serde(default)]
    nai: String,
}

pub fn routes(dra: Dra) -> Router {
    Router::new()
        .route("/bindings", get(bindings))
        .with_state(dra)
}

async fn bindings(
    State(dra): State<Dra>,
    Query(f): Query<Filter>,
) -> Result<Json<Vec<BindingRow>>, (StatusCode, String)> {
    dra.store
        .bindings(&f.nai)
        .await
        .map(Json)
        .map_err(|e| (StatusCode::SERVICE_UNAVAILABLE, format!("store: {e}\n")))
}
