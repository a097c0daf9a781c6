//! Admin HTTP: `GET /group-sessions`: every group session, those with stored ids and those
//! with participants now (JSON: group URI, Conversation-ID, Contribution-ID, participants).

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use serde::Serialize;

use crate::sessions::{ParticipantView, Sessions};
use crate::store::SessionStore;

#[derive(Debug, Clone, Serialize)]
pub struct GroupSessionView {
    pub group_uri: String,
    pub conversation_id: Option<String>,
    pub contribution_id: Option<String>,
    pub participants: Vec<ParticipantView>,
}

/// The group sessions, in group URI order.
pub async fn group_sessions(
    store: &SessionStore,
    sessions: &Sessions,
) -> Result<Vec<GroupSessionView>, sqlx::Error> {
    let stored = store.list().await?;
    let mut live = sessions.view();
    let mut out: Vec<GroupSessionView> = stored
        .into_iter()
        .map(|(group_uri, ids)| GroupSessionView {
            participants: live.remove(&group_uri).unwrap_or_default(),
            group_uri,
            conversation_id: Some(ids.conversation_id),
            contribution_id: Some(ids.contribution_id),
        })
        .collect();
    out.extend(
        live.into_iter()
            .map(|(group_uri, participants)| GroupSessionView {
                group_uri,
                conversation_id: None,
                contribution_id: None,
                participants,
            }),
    );
    out.sort_by(|a, b| a.group_uri.cmp(&b.group_uri));
    Ok(out)
}

pub fn router(store: SessionStore, sessions: Sessions) -> Router {
    Router::new()
        .route("/group-sessions", get(list))
        .with_state(Arc::new((store, sessions)))
}

async fn list(
    State(s): State<Arc<(SessionStore, Sessions)>>,
) -> Result<axum::Json<Vec<GroupSessionView>>, (StatusCode, String)> {
    group_sessions(&s.0, &s.1)
        .await
        .map(axum::Json)
        .map_err(|e| (StatusCode::SERVICE_UNAVAILABLE, format!("store: {e}\n")))
}
