//! The gRPC control service of the 5G mode (`proto/corelab/ue/v1/fivegs.proto`): each UE's
//! view, and commands that answer when their procedure ends.

use std::sync::atomic::Ordering;

use corelab_proto::ue::v1 as pb;
use corelab_proto::ue::v1::five_gs_control_server::FiveGsControl;
use tonic::{Request, Response, Status};

use crate::fivegs::gnb::Gnb;
use crate::fivegs::identity::{tmgi_from_pb, tmgi_to_pb};
use crate::fivegs::session::JoinedOn;
use crate::fivegs::ue::{Cause, Command, LeaveHow, Outcome, Ue};

/// A procedure's end as the service reports it.
pub fn result(outcome: &Outcome) -> pb::ProcedureResult {
    let (cause_kind, cause) = match outcome.cause {
        None => ("", 0),
        Some(Cause::FiveGmm(c)) => ("5gmm", c),
        Some(Cause::FiveGsm(c)) => ("5gsm", c),
        Some(Cause::Mbs(c)) => ("mbs", c),
    };
    pb::ProcedureResult {
        procedure: outcome.procedure.name().into(),
        ok: outcome.ok,
        detail: outcome.detail.clone(),
        cause_kind: cause_kind.into(),
        cause: u32::from(cause),
        elapsed_us: u64::try_from(outcome.elapsed.as_micros()).unwrap_or(u64::MAX),
    }
}

/// What UE `index` holds.
pub fn view(index: usize, ue: &Ue) -> pb::FiveGsUe {
    let qfis = |set: &std::collections::BTreeSet<corelab_nas::Qfi>| {
        set.iter().map(|q| u32::from(q.get())).collect::<Vec<_>>()
    };
    let pagings = ue.pagings();
    pb::FiveGsUe {
        ue: index as u32,
        supi: ue.config().subscriber.supi(),
        ran_ue_id: Gnb::ran_ue_id(index),
        registered: ue.registered(),
        guti: ue.guti().map(|g| g.to_string()).unwrap_or_default(),
        in_coverage: ue.in_coverage(),
        qfi_lists: ue.config().qfi_lists,
        sessions: (ue.sessions().values())
            .map(|s| pb::PduSessionView {
                pdu_session_id: u32::from(s.id.get()),
                qfis: qfis(&s.qfis),
                mbs_qfis: qfis(&s.mbs_qfis()),
                drbs: qfis(&s.drbs),
            })
            .collect(),
        tmgis: (ue.tmgis().into_iter())
            .map(|(psi, service)| pb::MbsView {
                tmgi: Some(tmgi_to_pb(&service.tmgi)),
                pdu_session_id: u32::from(psi.get()),
                qfis: qfis(&service.qfis),
                joined_on: match service.joined_on {
                    JoinedOn::Reused => "reused",
                    JoinedOn::NewSession => "new_session",
                }
                .into(),
            })
            .collect(),
        pagings_received: pagings.received,
        pagings_answered: pagings.answered,
        pagings_missed: pagings.missed,
        pagings_since_registration: pagings.since_registration,
        downlink_dropped: ue.downlink_dropped(),
        malformed_downlink: ue.malformed_downlink(),
        statuses: (ue.statuses().iter())
            .map(|s| {
                let (kind, cause) = match s.cause {
                    Cause::FiveGmm(c) => ("5gmm", c),
                    Cause::FiveGsm(c) => ("5gsm", c),
                    Cause::Mbs(c) => ("mbs", c),
                };
                pb::StatusView {
                    kind: kind.into(),
                    cause: u32::from(cause),
                }
            })
            .collect(),
        network_leaves: ue.network_leaves(),
        busy: ue.busy().map(|p| p.name().to_string()).unwrap_or_default(),
        last: ue.last_outcome().map(result),
    }
}

fn tmgi(t: Option<&corelab_proto::n1::v1::Tmgi>) -> Result<corelab_nas::Tmgi, Status> {
    let t = t.ok_or_else(|| Status::invalid_argument("tmgi is required"))?;
    tmgi_from_pb(t).map_err(Status::invalid_argument)
}

fn psi(value: u32) -> Result<Option<u8>, Status> {
    match value {
        0 => Ok(None),
        1..=15 => Ok(Some(value as u8)),
        _ => Err(Status::invalid_argument(format!(
            "pdu_session_id {value}: 1 to 15, or 0 for any"
        ))),
    }
}

impl Gnb {
    fn index(&self, ue: u32) -> Result<usize, Status> {
        let index = ue as usize;
        if index < self.len() {
            Ok(index)
        } else {
            Err(Status::not_found(format!(
                "no UE {ue}: this gNB has UEs 0 to {}",
                self.len().saturating_sub(1)
            )))
        }
    }

    async fn run_command(
        &self,
        ue: u32,
        command: Command,
    ) -> Result<Response<pb::ProcedureResult>, Status> {
        let index = self.index(ue)?;
        let outcome = self.command(index, command).await;
        Ok(Response::new(result(&outcome)))
    }
}

#[tonic::async_trait]
impl FiveGsControl for Gnb {
    async fn list_ues(&self, _: Request<pb::Empty>) -> Result<Response<pb::FiveGsUes>, Status> {
        let ues = (0..self.len())
            .filter_map(|i| self.with_ue(i, |ue| view(i, ue)))
            .collect();
        let counters = self.counters();
        Ok(Response::new(pb::FiveGsUes {
            ues,
            n1_connected: self.connected(),
            n1_attaches: counters.attaches.load(Ordering::Relaxed),
            uplink_dropped: counters.uplink_dropped.load(Ordering::Relaxed),
        }))
    }

    async fn get_ue(&self, req: Request<pb::UeRef>) -> Result<Response<pb::FiveGsUe>, Status> {
        let index = self.index(req.into_inner().ue)?;
        self.with_ue(index, |ue| view(index, ue))
            .map(Response::new)
            .ok_or_else(|| Status::not_found("no such UE"))
    }

    async fn register(
        &self,
        req: Request<pb::UeRef>,
    ) -> Result<Response<pb::ProcedureResult>, Status> {
        self.run_command(req.into_inner().ue, Command::Register)
            .await
    }

    async fn establish(
        &self,
        req: Request<pb::EstablishRequest>,
    ) -> Result<Response<pb::ProcedureResult>, Status> {
        let r = req.into_inner();
        let psi = psi(r.pdu_session_id)?;
        self.run_command(r.ue, Command::Establish { psi }).await
    }

    async fn join(
        &self,
        req: Request<pb::JoinRequest>,
    ) -> Result<Response<pb::ProcedureResult>, Status> {
        let r = req.into_inner();
        let tmgi = tmgi(r.tmgi.as_ref())?;
        let psi = if r.new_session {
            None
        } else {
            Some(psi(r.pdu_session_id)?.ok_or_else(|| {
                Status::invalid_argument("pdu_session_id (1-15) or new_session is required")
            })?)
        };
        self.run_command(r.ue, Command::Join { tmgi, psi }).await
    }

    async fn leave(
        &self,
        req: Request<pb::LeaveRequest>,
    ) -> Result<Response<pb::ProcedureResult>, Status> {
        let r = req.into_inner();
        let tmgi = tmgi(r.tmgi.as_ref())?;
        let how = parse_leave_how(&r.how).map_err(Status::invalid_argument)?;
        self.run_command(r.ue, Command::Leave { tmgi, how }).await
    }

    async fn lose_coverage(
        &self,
        req: Request<pb::UeRef>,
    ) -> Result<Response<pb::ProcedureResult>, Status> {
        self.run_command(req.into_inner().ue, Command::LoseCoverage)
            .await
    }

    async fn regain_coverage(
        &self,
        req: Request<pb::UeRef>,
    ) -> Result<Response<pb::ProcedureResult>, Status> {
        self.run_command(req.into_inner().ue, Command::RegainCoverage)
            .await
    }

    async fn close_mbs_app(
        &self,
        req: Request<pb::CloseMbsAppRequest>,
    ) -> Result<Response<pb::ProcedureResult>, Status> {
        let r = req.into_inner();
        let tmgi = r.tmgi.as_ref().map(|t| tmgi(Some(t))).transpose()?;
        self.run_command(r.ue, Command::CloseMbsApp { tmgi }).await
    }

    async fn set_qfi_lists(
        &self,
        req: Request<pb::SetQfiListsRequest>,
    ) -> Result<Response<pb::Empty>, Status> {
        let r = req.into_inner();
        let index = self.index(r.ue)?;
        self.with_ue_mut(index, |ue| ue.set_qfi_lists(r.on));
        Ok(Response::new(pb::Empty {}))
    }

    async fn send_raw_nas(
        &self,
        req: Request<pb::RawNas>,
    ) -> Result<Response<pb::ProcedureResult>, Status> {
        let r = req.into_inner();
        self.run_command(r.ue, Command::SendRaw { pdu: r.pdu })
            .await
    }
}

/// `""`/`as_joined`, `modification` or `release`.
pub fn parse_leave_how(text: &str) -> Result<LeaveHow, String> {
    match text {
        "" | "as_joined" => Ok(LeaveHow::AsJoined),
        "modification" => Ok(LeaveHow::Modification),
        "release" => Ok(LeaveHow::Release),
        other => Err(format!(
            "leave how {other:?}: use as_joined, modification or release"
        )),
    }
}
