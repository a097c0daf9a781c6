//! The gRPC control service (`proto/corelab/poc/v1/controlling.proto`): the same view as
//! `GET /group-sessions`.

use corelab_proto::poc::v1 as pb;
use corelab_proto::poc::v1::controlling_control_server::ControllingControl;
use tonic::{Request, Response, Status};

use crate::admin_api::group_sessions;
use crate::sessions::Sessions;
use crate::store::SessionStore;

pub struct Control {
    pub node: String,
    pub store: SessionStore,
    pub sessions: Sessions,
}

#[tonic::async_trait]
impl ControllingControl for Control {
    async fn health(&self, _: Request<pb::Empty>) -> Result<Response<pb::HealthReply>, Status> {
        Ok(Response::new(pb::HealthReply {
            node: self.node.clone(),
            store_backend: self.store.inner().backend.to_string(),
            store_ok: self.store.inner().ping().await.is_ok(),
        }))
    }

    async fn list_group_sessions(
        &self,
        _: Request<pb::Empty>,
    ) -> Result<Response<pb::GroupSessions>, Status> {
        let list = group_sessions(&self.store, &self.sessions)
            .await
            .map_err(|e| Status::unavailable(format!("store: {e}")))?;
        Ok(Response::new(pb::GroupSessions {
            sessions: list
                .into_iter()
                .map(|g| pb::GroupSession {
                    group_uri: g.group_uri,
                    conversation_id: g.conversation_id.unwrap_or_default(),
                    contribution_id: g.contribution_id.unwrap_or_default(),
                    participants: g
                        .participants
                        .into_iter()
                        .map(|p| pb::Participant {
                            uri: p.uri,
                            call_id: p.call_id,
                            media_port: u32::from(p.media_port),
                            remote_rtp: p.remote_rtp,
                            confirmed: p.confirmed,
                        })
                        .collect(),
                })
                .collect(),
        }))
    }
}
