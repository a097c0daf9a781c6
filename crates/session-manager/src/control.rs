//! The gRPC control service (`proto/corelab/session/v1/control.proto`): the UE contexts as the
//! store has them, and the network-initiated MBS leave (contract §6).

use std::sync::Arc;

use corelab_nas::MbsRejectionCause;
use corelab_proto::session::v1 as pb;
use corelab_proto::session::v1::session_control_server::SessionControl;
use tonic::{Request, Response, Status};

use crate::core_task::{CoreHandle, Gnbs};
use crate::fsm::registry::parse_tmgi_key;
use crate::store::SmStore;
use crate::view;

#[derive(Clone)]
pub struct Control {
    pub node: String,
    pub store: SmStore,
    pub core: CoreHandle,
    pub gnbs: Arc<Gnbs>,
}

fn store_status(e: sqlx::Error) -> Status {
    tracing::error!(error = %e, "store error in control service");
    Status::unavailable(format!("store: {e}"))
}

/// The MBS rejection cause of its number (TS 24.501 §9.11.4.31).
pub fn mbs_cause(value: u32) -> Option<MbsRejectionCause> {
    Some(match value {
        0 => MbsRejectionCause::NoAdditionalInformation,
        1 => MbsRejectionCause::InsufficientResources,
        2 => MbsRejectionCause::NotAuthorized,
        3 => MbsRejectionCause::SessionNotStarted,
        4 => MbsRejectionCause::OutsideServiceArea,
        5 => MbsRejectionCause::ContextNotFound,
        6 => MbsRejectionCause::SessionReleased,
        _ => return None,
    })
}

impl Control {
    /// Contract §6, shared by gRPC and the admin API: `Ok(None)` when the UE or its association
    /// is not there.
    pub async fn network_leave(
        &self,
        supi: &str,
        tmgi: &str,
        cause: u32,
    ) -> Result<crate::fsm::context::UeContext, Status> {
        let tmgi = parse_tmgi_key(tmgi).ok_or_else(|| {
            Status::invalid_argument(format!("tmgi {tmgi:?}: 6 hex digits, optionally -MCC-MNC"))
        })?;
        let cause = mbs_cause(cause)
            .ok_or_else(|| Status::invalid_argument(format!("cause {cause}: 0 to 6")))?;
        match self.core.network_leave(supi.to_string(), tmgi, cause).await {
            None => Err(Status::unavailable(
                "the leave was not stored (store error)",
            )),
            Some(Err(e)) => Err(Status::not_found(e.to_string())),
            Some(Ok(())) => self
                .store
                .load_one(supi)
                .await
                .map_err(store_status)?
                .ok_or_else(|| Status::not_found(format!("no UE {supi}"))),
        }
    }
}

#[tonic::async_trait]
impl SessionControl for Control {
    async fn health(&self, _: Request<pb::Empty>) -> Result<Response<pb::HealthReply>, Status> {
        let ues = self.store.count().await.unwrap_or(0);
        Ok(Response::new(pb::HealthReply {
            node: self.node.clone(),
            store_backend: self.store.store.backend.to_string(),
            store_ok: self.store.store.ping().await.is_ok(),
            ues,
            gnbs: self.gnbs.count() as u64,
        }))
    }

    async fn list_ues(&self, _: Request<pb::Empty>) -> Result<Response<pb::Ues>, Status> {
        let ues = self.store.load_all().await.map_err(store_status)?;
        Ok(Response::new(pb::Ues {
            ues: ues.iter().map(view::to_pb).collect(),
        }))
    }

    async fn get_ue(&self, request: Request<pb::GetUeRequest>) -> Result<Response<pb::Ue>, Status> {
        let supi = request.into_inner().supi;
        let ue = self.store.load_one(&supi).await.map_err(store_status)?;
        ue.map(|ue| Response::new(view::to_pb(&ue)))
            .ok_or_else(|| Status::not_found(format!("no UE {supi}")))
    }

    async fn network_leave(
        &self,
        request: Request<pb::NetworkLeaveRequest>,
    ) -> Result<Response<pb::Ue>, Status> {
        let request = request.into_inner();
        let ue = Control::network_leave(self, &request.supi, &request.tmgi, request.cause).await?;
        Ok(Response::new(view::to_pb(&ue)))
    }
}
