//! The gRPC control service (`proto/corelab/poc/v1/participating.proto`): health and users.

use corelab_proto::poc::v1 as pb;
use corelab_proto::poc::v1::participating_control_server::ParticipatingControl;
use tonic::{Request, Response, Status};

use crate::store::UserStore;

pub struct Control {
    pub node: String,
    pub users: UserStore,
}

#[tonic::async_trait]
impl ParticipatingControl for Control {
    async fn health(&self, _: Request<pb::Empty>) -> Result<Response<pb::HealthReply>, Status> {
        Ok(Response::new(pb::HealthReply {
            node: self.node.clone(),
            store_backend: self.users.inner().backend.to_string(),
            store_ok: self.users.inner().ping().await.is_ok(),
        }))
    }

    async fn list_users(&self, _: Request<pb::Empty>) -> Result<Response<pb::Users>, Status> {
        let users = self.users.list().await.map_err(|e| {
            tracing::error!(error = %e, "store error in control service");
            Status::unavailable(format!("store: {e}"))
        })?;
        Ok(Response::new(pb::Users {
            users: users
                .into_iter()
                .map(|u| pb::User {
                    uri: u.uri,
                    contact: u.contact,
                    barred: u.barred,
                })
                .collect(),
        }))
    }
}
