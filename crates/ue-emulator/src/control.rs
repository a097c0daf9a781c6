//! The gRPC control service of ue-emulator (`proto/corelab/ue/v1/control.proto`).

use corelab_proto::ue::v1 as pb;
use corelab_proto::ue::v1::ue_control_server::UeControl;
use corelab_sip::body::pidf::Basic;
use tonic::{Request, Response, Status};

use crate::ims::ImsClient;
use crate::ims::state::{Fault, FaultMode};

#[tonic::async_trait]
impl UeControl for ImsClient {
    async fn get_view(&self, _: Request<pb::Empty>) -> Result<Response<pb::View>, Status> {
        let s = self.state();
        Ok(Response::new(pb::View {
            aor: self.cfg.aor.clone(),
            registered: s.registered,
            last_register_status: u32::from(s.last_register_status),
            buddies: s
                .buddies
                .iter()
                .map(|(uri, b)| pb::Buddy {
                    uri: uri.clone(),
                    basic: b.basic.clone(),
                    note: b.note.clone(),
                })
                .collect(),
            subscriptions: s
                .dialogs
                .values()
                .map(|d| pb::SubscriptionView {
                    resource: d.resource.clone(),
                    event: d.event.clone(),
                    state: d.state.clone(),
                    call_id: d.call_id.clone(),
                    reason: d.reason.clone(),
                })
                .collect(),
            notifies_received: s.notifies_received,
            notifies_failed_on_purpose: s.notifies_failed_on_purpose,
            failure_messages_received: s.failure_messages_received,
            failure_messages_refused: s.failure_messages_refused,
            resubscriptions: s.resubscriptions,
            reg_state: s.reg_state.clone(),
        }))
    }

    async fn inject_notify_fault(
        &self,
        req: Request<pb::NotifyFault>,
    ) -> Result<Response<pb::Empty>, Status> {
        let f = req.into_inner();
        let mode = parse_fault(&f.mode, f.status).map_err(Status::invalid_argument)?;
        self.state().fault = Fault {
            mode: Some(mode),
            remaining: f.count,
        };
        self.say(format!("next {} NOTIFY(s) will fail: {mode:?}", f.count));
        Ok(Response::new(pb::Empty {}))
    }

    async fn publish(
        &self,
        req: Request<pb::PublishRequest>,
    ) -> Result<Response<pb::Empty>, Status> {
        let p = req.into_inner();
        let basic = Basic::parse(&p.basic)
            .ok_or_else(|| Status::invalid_argument("basic must be open or closed"))?;
        match self.publish(basic, &p.note).await {
            200..=299 => Ok(Response::new(pb::Empty {})),
            code => Err(Status::failed_precondition(format!(
                "PUBLISH answered {code}"
            ))),
        }
    }

    async fn subscribe(
        &self,
        req: Request<pb::SubscribeRequest>,
    ) -> Result<Response<pb::Empty>, Status> {
        let s = req.into_inner();
        let event = if s.event.is_empty() {
            "presence".to_string()
        } else {
            s.event
        };
        match ImsClient::subscribe(self, &s.resource, &event).await {
            200..=299 => Ok(Response::new(pb::Empty {})),
            code => Err(Status::failed_precondition(format!(
                "SUBSCRIBE answered {code}"
            ))),
        }
    }

    async fn register(&self, _: Request<pb::Empty>) -> Result<Response<pb::RegisterReply>, Status> {
        let status = ImsClient::register(self, self.cfg.register_expires).await;
        Ok(Response::new(pb::RegisterReply {
            status: u32::from(status),
        }))
    }
}

/// `ignore`, or `reject` with a status of 400–699.
pub fn parse_fault(mode: &str, status: u32) -> Result<FaultMode, String> {
    match mode {
        "ignore" => Ok(FaultMode::Ignore),
        "reject" if (400..700).contains(&status) => Ok(FaultMode::Reject(status as u16)),
        "reject" => Err(format!("reject needs a status of 400-699, not {status}")),
        other => Err(format!("fault mode {other:?}: use ignore or reject")),
    }
}
