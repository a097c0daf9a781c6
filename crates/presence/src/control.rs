//! The gRPC control service (`proto/corelab/presence/v1/control.proto`).

use corelab_proto::presence::v1 as pb;
use corelab_proto::presence::v1::presence_control_server::PresenceControl;
use corelab_runtime::now_ms;
use tonic::{Request, Response, Status};

use crate::Presence;

fn store_status(e: sqlx::Error) -> Status {
    tracing::error!(error = %e, "store error in control service");
    Status::unavailable(format!("store: {e}"))
}

pub fn alarm_to_pb(a: crate::store::Alarm) -> pb::Alarm {
    pb::Alarm {
        id: a.id,
        kind: a.kind,
        aor: a.aor,
        detail: a.detail,
        raised_at_ms: a.raised_at,
        cleared_at_ms: a.cleared_at,
    }
}

#[tonic::async_trait]
impl PresenceControl for Presence {
    async fn health(&self, _: Request<pb::Empty>) -> Result<Response<pb::HealthReply>, Status> {
        Ok(Response::new(pb::HealthReply {
            node: self.cfg.common.node.name.clone(),
            store_backend: self.store.store.backend.to_string(),
            store_ok: self.store.store.ping().await.is_ok(),
        }))
    }

    async fn list_registrations(
        &self,
        _: Request<pb::Empty>,
    ) -> Result<Response<pb::Registrations>, Status> {
        let regs = self.store.registrations().await.map_err(store_status)?;
        Ok(Response::new(pb::Registrations {
            registrations: regs
                .into_iter()
                .map(|r| pb::Registration {
                    aor: r.aor,
                    contact: r.contact,
                    expires_at_ms: r.expires_at,
                    message_count: r.message_count as u32,
                    via: r.mode,
                })
                .collect(),
        }))
    }

    async fn list_subscriptions(
        &self,
        _: Request<pb::Empty>,
    ) -> Result<Response<pb::Subscriptions>, Status> {
        let subs = self.store.subscriptions().await.map_err(store_status)?;
        Ok(Response::new(pb::Subscriptions {
            subscriptions: subs
                .into_iter()
                .map(|s| pb::Subscription {
                    id: s.id,
                    event: s.package,
                    resource: s.resource,
                    watcher: s.watcher,
                    call_id: s.call_id,
                    expires_at_ms: s.expires_at,
                    local_cseq: s.local_cseq as u32,
                })
                .collect(),
        }))
    }

    async fn list_alarms(&self, _: Request<pb::Empty>) -> Result<Response<pb::Alarms>, Status> {
        let alarms = self.store.alarms().await.map_err(store_status)?;
        Ok(Response::new(pb::Alarms {
            alarms: alarms.into_iter().map(alarm_to_pb).collect(),
        }))
    }

    async fn clear_alarm(
        &self,
        req: Request<pb::ClearAlarmRequest>,
    ) -> Result<Response<pb::Alarm>, Status> {
        let id = req.into_inner().id;
        let alarm = self
            .store
            .clear_alarm(id, now_ms())
            .await
            .map_err(store_status)?
            .ok_or_else(|| Status::not_found(format!("no alarm {id}")))?;
        self.update_alarm_gauge().await;
        tracing::info!(alarm_id = id, "alarm cleared");
        Ok(Response::new(alarm_to_pb(alarm)))
    }

    async fn list_bars(&self, _: Request<pb::Empty>) -> Result<Response<pb::Bars>, Status> {
        let bars = self.store.bars().await.map_err(store_status)?;
        Ok(Response::new(pb::Bars {
            bars: bars
                .into_iter()
                .map(|b| pb::Bar {
                    aor: b.aor,
                    reason: b.reason,
                    since_ms: b.since,
                })
                .collect(),
        }))
    }

    async fn clear_bar(
        &self,
        req: Request<pb::ClearBarRequest>,
    ) -> Result<Response<pb::Empty>, Status> {
        let aor = req.into_inner().aor;
        if !self.store.clear_bar(&aor).await.map_err(store_status)? {
            return Err(Status::not_found(format!("{aor} is not barred")));
        }
        tracing::info!(%aor, "login bar cleared");
        Ok(Response::new(pb::Empty {}))
    }
}
