//! The gRPC control service (`proto/corelab/dra/v1/control.proto`): the same bindings as
//! `GET /bindings`.

use corelab_proto::dra::v1 as pb;
use corelab_proto::dra::v1::dra_control_server::DraControl;
use tonic::{Request, Response, Status};

use crate::Dra;
use crate::store::BindingRow;

fn to_pb(b: BindingRow) -> pb::Binding {
    pb::Binding {
        binding_id: b.binding_id,
        nai: b.nai,
        ipv4: b.ipv4,
        ipv6_prefix: b.ipv6_prefix,
        apn: b.apn,
        pcrf_host: b.pcrf_host,
        created_at_ms: b.created_ms,
        sessions: b
            .sessions
            .into_iter()
            .map(|s| pb::DiameterSession {
                session_id: s.session_id,
                interface: s.interface,
                application_id: u32::try_from(s.application_id).unwrap_or(0),
                origin_host: s.origin_host,
                state: s.state,
                created_at_ms: s.created_ms,
            })
            .collect(),
    }
}

#[tonic::async_trait]
impl DraControl for Dra {
    async fn health(&self, _: Request<pb::Empty>) -> Result<Response<pb::HealthReply>, Status> {
        Ok(Response::new(pb::HealthReply {
            node: self.cfg.common.node.name.clone(),
            store_backend: self.store.store.backend.to_string(),
            store_ok: self.store.store.ping().await.is_ok(),
            role: self.cfg.dra.role.name().into(),
            mode: self.cfg.dra.mode.name().into(),
        }))
    }

    async fn list_bindings(
        &self,
        req: Request<pb::ListBindingsRequest>,
    ) -> Result<Response<pb::Bindings>, Status> {
        let rows = self
            .store
            .bindings(&req.into_inner().nai)
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "store error in control service");
                Status::unavailable(format!("store: {e}"))
            })?;
        Ok(Response::new(pb::Bindings {
            bindings: rows.into_iter().map(to_pb).collect(),
        }))
    }
}
