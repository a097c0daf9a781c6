//! The N1 server (proto/corelab/n1/v1/n1.proto, docs/n1.md): one bidirectional stream per gNB.
//! The first uplink must be `hello` (NG Setup); then each `UplinkNas` and `RadioEvent` goes to
//! the core task, and the core's downlink messages come back on the stream. Bounded: at most
//! `n1.max_gnbs` streams, `n1.queue_depth` downlink messages queued per stream, and the core's
//! input queue (a gNB that sends faster than the core works waits, by gRPC flow control).

use std::sync::Arc;
use std::time::Instant;

use corelab_log_throttle::Throttle;
use corelab_proto::n1::v1 as pb;
use corelab_proto::n1::v1::n1_server::N1;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};

use crate::core_task::{CoreHandle, Gnbs, tmgi_from_pb};
use crate::fsm::{Input, RadioEvent};

static BAD_UPLINK_LOG: Throttle = Throttle::new(corelab_log_throttle::LOG_INTERVAL);

/// The N1 service.
#[derive(Clone)]
pub struct N1Service {
    pub core: CoreHandle,
    pub gnbs: Arc<Gnbs>,
    pub amf_name: String,
    pub max_gnbs: usize,
    pub queue_depth: usize,
}

fn bad_uplink(gnb: &str, what: &str) {
    if let Some(n) = BAD_UPLINK_LOG.hit(Instant::now()) {
        tracing::warn!(gnb, what, count = n, "N1 uplink ignored");
    }
}

#[tonic::async_trait]
impl N1 for N1Service {
    type AttachStream = ReceiverStream<Result<pb::Downlink, Status>>;

    async fn attach(
        &self,
        request: Request<Streaming<pb::Uplink>>,
    ) -> Result<Response<Self::AttachStream>, Status> {
        let mut inbound = request.into_inner();
        let hello = match inbound.message().await? {
            Some(pb::Uplink {
                msg: Some(pb::uplink::Msg::Hello(hello)),
            }) => hello,
            _ => {
                return Err(Status::failed_precondition(
                    "N1: the first uplink message must be hello",
                ));
            }
        };
        let gnb = hello.gnb_name.clone();
        if gnb.is_empty() {
            return Err(Status::invalid_argument("N1: hello.gnb_name is empty"));
        }
        let (tx, rx) = mpsc::channel(self.queue_depth);
        let ack = pb::Downlink {
            msg: Some(pb::downlink::Msg::HelloAck(pb::GnbHelloAck {
                amf_name: self.amf_name.clone(),
            })),
        };
        let _ = tx.try_send(Ok(ack));
        let Some(id) = self.gnbs.attach(&gnb, tx, self.max_gnbs) else {
            tracing::warn!(%gnb, max_gnbs = self.max_gnbs, "N1: gNB refused, n1.max_gnbs reached");
            return Err(Status::resource_exhausted(format!(
                "N1: {} gNBs attached (n1.max_gnbs)",
                self.max_gnbs
            )));
        };
        tracing::info!(%gnb, tac = hello.tac, "gNB attached");
        let core = self.core.clone();
        let gnbs = self.gnbs.clone();
        tokio::spawn(async move {
            loop {
                let uplink = match inbound.message().await {
                    Ok(Some(uplink)) => {
                        tracing::debug!(%gnb, ?uplink, "N1 uplink");
                        uplink
                    }
                    Ok(None) => break,
                    Err(status) => {
                        tracing::info!(%gnb, %status, "N1 stream ended");
                        break;
                    }
                };
                match uplink.msg {
                    Some(pb::uplink::Msg::Nas(nas)) => {
                        core.input(Input::UplinkNas {
                            gnb: gnb.clone(),
                            ran_ue_id: nas.ran_ue_id,
                            pdu: nas.pdu,
                        })
                        .await
                    }
                    Some(pb::uplink::Msg::Radio(radio)) => {
                        let event = match radio.event {
                            Some(pb::radio_event::Event::CoverageLost(_)) => {
                                RadioEvent::CoverageLost
                            }
                            Some(pb::radio_event::Event::CoverageRegained(_)) => {
                                RadioEvent::CoverageRegained
                            }
                            Some(pb::radio_event::Event::RrcState(state)) => {
                                RadioEvent::RrcConnected(state == pb::RrcState::Connected as i32)
                            }
                            Some(pb::radio_event::Event::PagingResponse(tmgi)) => {
                                match tmgi_from_pb(&tmgi) {
                                    Some(tmgi) => RadioEvent::PagingResponse(tmgi),
                                    None => {
                                        bad_uplink(&gnb, "paging_response with a bad TMGI");
                                        continue;
                                    }
                                }
                            }
                            None => {
                                bad_uplink(&gnb, "radio event without an event");
                                continue;
                            }
                        };
                        core.input(Input::Radio {
                            gnb: gnb.clone(),
                            ran_ue_id: radio.ran_ue_id,
                            event,
                        })
                        .await
                    }
                    Some(pb::uplink::Msg::Hello(_)) => bad_uplink(&gnb, "a second hello"),
                    None => bad_uplink(&gnb, "an empty uplink message"),
                }
            }
            gnbs.detach(&gnb, id);
            tracing::info!(%gnb, "gNB detached");
        });
        Ok(Response::new(ReceiverStream::new(rx)))
    }
}
