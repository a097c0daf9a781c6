//! The gRPC control service of the PoC mode (`proto/corelab/ue/v1/poc.proto`): each terminal's
//! view, and commands that answer when their SIP transaction ends.

use std::time::Duration;

use corelab_proto::ue::v1 as pb;
use corelab_proto::ue::v1::poc_control_server::PocControl;
use tonic::{Request, Response, Status};

use super::client::{Outcome, PocClient, View};

/// A command's end as the service reports it.
pub fn result(outcome: &Outcome) -> pb::PocResult {
    let (conversation_id, contribution_id) = outcome
        .ids
        .as_ref()
        .map(|i| (i.conversation_id.clone(), i.contribution_id.clone()))
        .unwrap_or_default();
    let (sent_conversation_id, sent_contribution_id) = outcome
        .sent_ids
        .as_ref()
        .map(|i| (i.conversation_id.clone(), i.contribution_id.clone()))
        .unwrap_or_default();
    pb::PocResult {
        ok: outcome.ok,
        status: u32::from(outcome.status),
        detail: outcome.detail.clone(),
        conversation_id,
        contribution_id,
        sent_conversation_id,
        sent_contribution_id,
        ids_replaced: outcome.replaced,
        elapsed_ms: outcome.elapsed.as_secs_f64() * 1000.0,
    }
}

/// What a terminal holds.
pub fn view(v: &View) -> pb::PocTerminal {
    let t = &v.terminal;
    pb::PocTerminal {
        terminal: v.index as u32,
        user: t.user.clone(),
        joined: t.dialog.is_some(),
        group: t
            .dialog
            .as_ref()
            .map(|d| d.group.clone())
            .unwrap_or_else(|| t.group.clone()),
        conversation_id: t.ids.conversation_id.clone(),
        contribution_id: t.ids.contribution_id.clone(),
        call_id: t
            .dialog
            .as_ref()
            .map(|d| d.call_id.clone())
            .unwrap_or_default(),
        media_target: t.media_target.map(|a| a.to_string()).unwrap_or_default(),
        rtp_local: v.rtp_local.to_string(),
        rtp_sent: v.rtp_sent,
        rtp_received: v.rtp_received,
        joins: t.joins,
        byes_received: t.byes_received,
        last_status: u32::from(t.last_status),
    }
}

fn index(client: &PocClient, terminal: u32) -> Result<usize, Status> {
    let i = terminal as usize;
    match i < client.len() {
        true => Ok(i),
        false => Err(Status::not_found(format!(
            "no terminal {terminal} (there are {})",
            client.len()
        ))),
    }
}

#[tonic::async_trait]
impl PocControl for PocClient {
    async fn list_terminals(
        &self,
        _: Request<pb::Empty>,
    ) -> Result<Response<pb::PocTerminals>, Status> {
        let terminals = (0..self.len())
            .filter_map(|i| self.view(i).ok())
            .map(|v| view(&v))
            .collect();
        Ok(Response::new(pb::PocTerminals { terminals }))
    }

    async fn status(
        &self,
        req: Request<pb::PocTerminalRef>,
    ) -> Result<Response<pb::PocTerminal>, Status> {
        let i = index(self, req.into_inner().terminal)?;
        let v = self.view(i).map_err(Status::not_found)?;
        Ok(Response::new(view(&v)))
    }

    async fn join(
        &self,
        req: Request<pb::PocJoinRequest>,
    ) -> Result<Response<pb::PocResult>, Status> {
        let req = req.into_inner();
        let i = index(self, req.terminal)?;
        let group = (!req.group.is_empty()).then_some(req.group.as_str());
        Ok(Response::new(result(
            &PocClient::join(self, i, group, req.new_ids).await,
        )))
    }

    async fn leave(
        &self,
        req: Request<pb::PocTerminalRef>,
    ) -> Result<Response<pb::PocResult>, Status> {
        let i = index(self, req.into_inner().terminal)?;
        Ok(Response::new(result(&PocClient::leave(self, i).await)))
    }

    async fn send_rtp(
        &self,
        req: Request<pb::PocSendRtpRequest>,
    ) -> Result<Response<pb::PocResult>, Status> {
        let req = req.into_inner();
        let i = index(self, req.terminal)?;
        let interval = Duration::from_millis(u64::from(req.interval_ms));
        Ok(Response::new(result(
            &PocClient::send_rtp(self, i, req.packets, interval).await,
        )))
    }
}
