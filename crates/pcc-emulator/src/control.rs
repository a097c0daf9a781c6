//! The gRPC control service (`proto/corelab/pcc/v1/control.proto`): Establish, Modify,
//! Terminate, ListSessions on a running emulator (`pcc-emulator serve`).

use corelab_proto::pcc::v1 as pb;
use corelab_proto::pcc::v1::pcc_control_server::PccControl;
use tonic::{Request, Response, Status};

use crate::emulator::{Emulator, Outcome, StepOptions};
use crate::model::{Ordering, Role, Target, Ue};

/// The service over one emulator.
pub struct Control(pub Emulator);

fn parse<T: serde::de::DeserializeOwned>(what: &str, s: &str) -> Result<Option<T>, Status> {
    if s.is_empty() {
        return Ok(None);
    }
    serde_json::from_value(serde_json::Value::String(s.to_string()))
        .map(Some)
        .map_err(|_| Status::invalid_argument(format!("{what}: {s:?} is not known")))
}

fn reply(o: Outcome) -> Response<pb::ProcedureReply> {
    Response::new(pb::ProcedureReply {
        session_id: o.session_id,
        result_code: o.result_code.unwrap_or(0),
    })
}

fn options(r: &pb::SessionRequest) -> Result<StepOptions, Status> {
    Ok(StepOptions {
        target: parse::<Target>("target", &r.target)?,
        ordering: parse::<Ordering>("ordering", &r.ordering)?,
    })
}

#[tonic::async_trait]
impl PccControl for Control {
    async fn establish(
        &self,
        req: Request<pb::EstablishRequest>,
    ) -> Result<Response<pb::ProcedureReply>, Status> {
        let r = req.into_inner();
        let role = parse::<Role>("role", &r.role)?
            .ok_or_else(|| Status::invalid_argument("role: pcef, bberf or af"))?;
        let u =
            r.ue.ok_or_else(|| Status::invalid_argument("ue is required"))?;
        let ue = Ue {
            nai: u.nai,
            ip: u
                .ip
                .parse()
                .map_err(|_| Status::invalid_argument(format!("ue.ip: {:?} is not IPv4", u.ip)))?,
            apn: if u.apn.is_empty() {
                "internet".into()
            } else {
                u.apn
            },
        };
        let opts = StepOptions {
            target: parse::<Target>("target", &r.target)?,
            ordering: None,
        };
        Ok(reply(self.0.establish(role, &ue, opts).await))
    }

    async fn modify(
        &self,
        req: Request<pb::SessionRequest>,
    ) -> Result<Response<pb::ProcedureReply>, Status> {
        let r = req.into_inner();
        let opts = options(&r)?;
        self.0
            .modify(&r.session_id, opts)
            .await
            .map(reply)
            .ok_or_else(|| Status::not_found(format!("no session {}", r.session_id)))
    }

    async fn terminate(
        &self,
        req: Request<pb::SessionRequest>,
    ) -> Result<Response<pb::ProcedureReply>, Status> {
        let r = req.into_inner();
        let opts = options(&r)?;
        self.0
            .terminate(&r.session_id, opts)
            .await
            .map(reply)
            .ok_or_else(|| Status::not_found(format!("no session {}", r.session_id)))
    }

    async fn list_sessions(&self, _: Request<pb::Empty>) -> Result<Response<pb::Sessions>, Status> {
        Ok(Response::new(pb::Sessions {
            sessions: self
                .0
                .sessions()
                .into_iter()
                .map(|s| pb::Session {
                    session_id: s.id,
                    role: s.role.to_string(),
                    nai: s.nai,
                    ip: s.ip,
                    apn: s.apn,
                    pcrf_host: s.pcrf.as_ref().map(|p| p.host.clone()).unwrap_or_default(),
                    pcrf_address: s.pcrf.map(|p| p.addr.to_string()).unwrap_or_default(),
                })
                .collect(),
        }))
    }
}
