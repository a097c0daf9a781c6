//! The gRPC control service (`proto/corelab/pcrf/v1/control.proto`): the same sessions as
//! `GET /sessions`.

use corelab_proto::pcrf::v1 as pb;
use corelab_proto::pcrf::v1::pcrf_control_server::PcrfControl;
use tonic::{Request, Response, Status};

use crate::Pcrf;
use crate::store::SessionRow;

fn to_pb(s: SessionRow) -> pb::PcrfSession {
    pb::PcrfSession {
        session_id: s.session_id,
        interface: s.interface,
        origin_host: s.origin_host,
        nai: s.nai,
        ipv4: s.ipv4,
        apn: s.apn,
        s9_session_id: s.s9_session_id,
        subsession_id: u32::try_from(s.subsession_id).unwrap_or(0),
        gx_session_id: s.gx_session_id,
        hpcrf_host: s.hpcrf_host,
        hdra_mode: s.hdra_mode,
        client_session_id: s.client_session_id,
        created_at_ms: s.created_ms,
    }
}

#[tonic::async_trait]
impl PcrfControl for Pcrf {
    async fn health(&self, _: Request<pb::Empty>) -> Result<Response<pb::HealthReply>, Status> {
        Ok(Response::new(pb::HealthReply {
            node: self.cfg.common.node.name.clone(),
            store_backend: self.store.store.backend.to_string(),
            store_ok: self.store.store.ping().await.is_ok(),
            role: self.cfg.pcrf.role.name().into(),
        }))
    }

    async fn list_sessions(&self, _: Request<pb::Empty>) -> Result<Response<pb::Sessions>, Status> {
        let rows = self.store.all().await.map_err(|e| {
            tracing::error!(error = %e, "store error in control service");
            Status::unavailable(format!("store: {e}"))
        })?;
        Ok(Response::new(pb::Sessions {
            sessions: rows.into_iter().map(to_pb).collect(),
        }))
    }
}
