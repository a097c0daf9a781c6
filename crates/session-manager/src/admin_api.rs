//! Admin HTTP routes of session-manager, beside the runtime's `/healthz`, `/readyz`, `/metrics`:
//! `GET /ues`, `GET /ues/{supi}` (JSON, from the store) and
//! `POST /ues/{supi}/tmgis/{tmgi}/leave` (network-initiated leave, contract §6; `?cause=N`).

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::control::Control;
use crate::view;

type ApiResult = Result<Json<Value>, (StatusCode, String)>;

fn store_err(e: sqlx::Error) -> (StatusCode, String) {
    (StatusCode::SERVICE_UNAVAILABLE, format!("store: {e}\n"))
}

pub fn routes(control: Control) -> Router {
    Router::new()
        .route("/ues", get(ues))
        .route("/ues/{supi}", get(ue))
        .route("/ues/{supi}/tmgis/{tmgi}/leave", post(leave))
        .with_state(control)
}

async fn ues(State(c): State<Control>) -> ApiResult {
    let ues = c.store.load_all().await.map_err(store_err)?;
    Ok(Json(json!(
        ues.iter().map(view::to_json).collect::<Vec<_>>()
    )))
}

async fn ue(State(c): State<Control>, Path(supi): Path<String>) -> ApiResult {
    match c.store.load_one(&supi).await.map_err(store_err)? {
        Some(ue) => Ok(Json(view::to_json(&ue))),
        None => Err((StatusCode::NOT_FOUND, format!("no UE {supi}\n"))),
    }
}

#[derive(serde::Deserialize)]
struct LeaveQuery {
    #[serde(default)]
    cause: u32,
}

async fn leave(
    State(c): State<Control>,
    Path((supi, tmgi)): Path<(String, String)>,
    Query(q): Query<LeaveQuery>,
) -> ApiResult {
    match c.network_leave(&supi, &tmgi, q.cause).await {
        Ok(ue) => Ok(Json(view::to_json(&ue))),
        Err(status) => {
            let code = match status.code() {
                tonic::Code::NotFound => StatusCode::NOT_FOUND,
                tonic::Code::InvalidArgument => StatusCode::BAD_REQUEST,
                _ => StatusCode::SERVICE_UNAVAILABLE,
            };
            Err((code, format!("{}\n", status.message())))
        }
    }
}
