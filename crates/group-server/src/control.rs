//! The gRPC control service (`proto/corelab/group/v1/control.proto`): what the server holds.

use corelab_proto::group::v1 as pb;
use corelab_proto::group::v1::group_control_server::GroupControl;
use tonic::{Request, Response, Status};

use crate::document::Group;
use crate::store::GroupStore;
use crate::tree::Element;

pub struct Control {
    pub node: String,
    pub store: GroupStore,
}

fn store_status(e: sqlx::Error) -> Status {
    tracing::error!(error = %e, "store error in control service");
    Status::unavailable(format!("store: {e}"))
}

#[tonic::async_trait]
impl GroupControl for Control {
    async fn health(&self, _: Request<pb::Empty>) -> Result<Response<pb::HealthReply>, Status> {
        Ok(Response::new(pb::HealthReply {
            node: self.node.clone(),
            store_backend: self.store.inner().backend.to_string(),
            store_ok: self.store.inner().ping().await.is_ok(),
        }))
    }

    async fn list_groups(&self, _: Request<pb::Empty>) -> Result<Response<pb::Groups>, Status> {
        let groups = self.store.list().await.map_err(store_status)?;
        Ok(Response::new(pb::Groups {
            groups: groups
                .into_iter()
                .map(|(uri, owner)| pb::GroupSummary { uri, owner })
                .collect(),
        }))
    }

    async fn get_group(
        &self,
        request: Request<pb::GetGroupRequest>,
    ) -> Result<Response<pb::Group>, Status> {
        let uri = request.into_inner().uri;
        let stored = self
            .store
            .get(&uri)
            .await
            .map_err(store_status)?
            .ok_or_else(|| Status::not_found(format!("no group {uri}")))?;
        let group = Element::parse_document(stored.document.as_bytes())
            .map_err(|e| e.to_string())
            .and_then(|root| Group::validate(&root, &uri).map_err(|e| format!("{e:?}")))
            .map_err(|e| Status::internal(format!("stored document of {uri}: {e}")))?;
        Ok(Response::new(pb::Group {
            uri: group.uri,
            owner: group.owner,
            display_name: group.display_name.unwrap_or_default(),
            join_type: group.join_type.as_str().into(),
            max_participants: group.max_participants.unwrap_or(0),
            members: group.members,
            conversation_id: group.conversation_id.unwrap_or_default(),
            contribution_id: group.contribution_id.unwrap_or_default(),
            etag: stored.etag,
        }))
    }
}
