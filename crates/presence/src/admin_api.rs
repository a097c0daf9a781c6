//! Admin HTTP routes of presence-server, beside the runtime's `/healthz`, `/readyz`, `/metrics`:
//! `GET /alarms`, `POST /alarms/{id}/clear`, `GET /bars`, `DELETE /bars/{aor}`,
//! `GET /registrations`, `GET /subscriptions` (JSON).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use corelab_runtime::now_ms;
use serde_json::{Value, json};

use crate::Presence;

type ApiResult = Result<Json<Value>, (StatusCode, String)>;

fn store_err(e: sqlx::Error) -> (StatusCode, String) {
    (StatusCode::SERVICE_UNAVAILABLE, format!("store: {e}\n"))
}

pub fn routes(ctx: Presence) -> Router {
    Router::new()
        .route("/alarms", get(alarms))
        .route("/alarms/{id}/clear", post(clear_alarm))
        .route("/bars", get(bars))
        .route("/bars/{aor}", delete(clear_bar))
        .route("/registrations", get(registrations))
        .route("/subscriptions", get(subscriptions))
        .with_state(ctx)
}

async fn alarms(State(ctx): State<Presence>) -> ApiResult {
    let alarms = ctx.store.alarms().await.map_err(store_err)?;
    Ok(Json(json!(alarms.into_iter().map(|a| json!({
        "id": a.id, "kind": a.kind, "aor": a.aor, "detail": a.detail,
        "raised_at_ms": a.raised_at, "cleared_at_ms": a.cleared_at, "active": a.cleared_at == 0,
    })).collect::<Vec<_>>())))
}

async fn clear_alarm(State(ctx): State<Presence>, Path(id): Path<i64>) -> ApiResult {
    match ctx
        .store
        .clear_alarm(id, now_ms())
        .await
        .map_err(store_err)?
    {
        Some(a) => {
            ctx.update_alarm_gauge().await;
            tracing::info!(alarm_id = id, "alarm cleared");
            Ok(Json(json!({"id": a.id, "cleared_at_ms": a.cleared_at})))
        }
        None => Err((StatusCode::NOT_FOUND, format!("no alarm {id}\n"))),
    }
}

async fn bars(State(ctx): State<Presence>) -> ApiResult {
    let bars = ctx.store.bars().await.map_err(store_err)?;
    Ok(Json(json!(
        bars.into_iter()
            .map(|b| json!({
                "aor": b.aor, "reason": b.reason, "since_ms": b.since,
            }))
            .collect::<Vec<_>>()
    )))
}

async fn clear_bar(State(ctx): State<Presence>, Path(aor): Path<String>) -> ApiResult {
    if ctx.store.clear_bar(&aor).await.map_err(store_err)? {
        tracing::info!(%aor, "login bar cleared");
        Ok(Json(json!({"aor": aor, "cleared": true})))
    } else {
        Err((StatusCode::NOT_FOUND, format!("{aor} is not barred\n")))
    }
}

async fn registrations(State(ctx): State<Presence>) -> ApiResult {
    let regs = ctx.store.registrations().await.map_err(store_err)?;
    Ok(Json(json!(
        regs.into_iter()
            .map(|r| json!({
                "aor": r.aor, "contact": r.contact, "mode": r.mode, "expires_at_ms": r.expires_at,
                "message_count": r.message_count,
            }))
            .collect::<Vec<_>>()
    )))
}

async fn subscriptions(State(ctx): State<Presence>) -> ApiResult {
    let subs = ctx.store.subscriptions().await.map_err(store_err)?;
    Ok(Json(json!(
        subs.into_iter()
            .map(|s| json!({
                "id": s.id, "event": s.package, "resource": s.resource, "watcher": s.watcher,
                "call_id": s.call_id, "expires_at_ms": s.expires_at, "local_cseq": s.local_cseq,
            }))
            .collect::<Vec<_>>()
    )))
}
