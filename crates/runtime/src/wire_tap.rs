//! The gRPC `corelab.events.v1.WireTap` service every node serves on its control port: the
//! process's wire tap ([`corelab_wire_tap`]) as a server stream, filtered by the request's ids.

use std::pin::Pin;

use corelab_proto::events::v1 as pb;
use corelab_wire_tap::{Direction, Ids, Protocol, Transport, WireEvent};
use tokio::sync::broadcast::error::RecvError;
use tokio_stream::Stream;
use tonic::{Request, Response, Status};

/// Messages queued towards one subscriber's HTTP/2 stream before the tap's own bound applies.
const QUEUE: usize = 256;

/// The service; stateless (the tap is process-wide).
#[derive(Default)]
pub struct WireTapService;

/// The service as tonic serves it.
pub fn server() -> pb::wire_tap_server::WireTapServer<WireTapService> {
    pb::wire_tap_server::WireTapServer::new(WireTapService)
}

fn non_empty(s: String) -> Option<String> {
    (!s.is_empty()).then_some(s)
}

/// The wire form of one event; `lost` is how many this subscriber missed before it.
pub fn to_proto(e: &WireEvent, node: &str, lost: u64) -> pb::WireEvent {
    let addr = |a: Option<std::net::SocketAddr>| a.map(|a| a.to_string()).unwrap_or_default();
    pb::WireEvent {
        unix_micros: e
            .at
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_micros() as i64)
            .unwrap_or(0),
        direction: match e.direction {
            Direction::Sent => pb::Direction::Sent,
            Direction::Received => pb::Direction::Received,
        } as i32,
        transport: match e.transport {
            Transport::Udp => pb::Transport::Udp,
            Transport::Tcp => pb::Transport::Tcp,
            Transport::Tls => pb::Transport::Tls,
            Transport::Grpc => pb::Transport::Grpc,
        } as i32,
        protocol: match e.protocol {
            Protocol::Sip => pb::Protocol::Sip,
            Protocol::Diameter => pb::Protocol::Diameter,
            Protocol::Nas5gs => pb::Protocol::Nas5gs,
        } as i32,
        local: addr(e.local),
        remote: addr(e.remote),
        summary: e.summary.clone(),
        raw: e.bytes.clone(),
        call_id: e.ids.call_id.clone().unwrap_or_default(),
        session_id: e.ids.session_id.clone().unwrap_or_default(),
        supi: e.ids.supi.clone().unwrap_or_default(),
        node: node.to_string(),
        lost,
    }
}

/// The event back from its wire form (what `labctl capture` writes as pcapng).
pub fn from_proto(p: &pb::WireEvent) -> WireEvent {
    let micros = u64::try_from(p.unix_micros).unwrap_or(0);
    WireEvent {
        at: std::time::UNIX_EPOCH + std::time::Duration::from_micros(micros),
        direction: if p.direction() == pb::Direction::Sent {
            Direction::Sent
        } else {
            Direction::Received
        },
        transport: match p.transport() {
            pb::Transport::Udp => Transport::Udp,
            pb::Transport::Tls => Transport::Tls,
            pb::Transport::Grpc => Transport::Grpc,
            _ => Transport::Tcp,
        },
        protocol: match p.protocol() {
            pb::Protocol::Sip => Protocol::Sip,
            pb::Protocol::Nas5gs => Protocol::Nas5gs,
            _ => Protocol::Diameter,
        },
        local: p.local.parse().ok(),
        remote: p.remote.parse().ok(),
        summary: p.summary.clone(),
        bytes: p.raw.clone(),
        ids: Ids {
            call_id: non_empty(p.call_id.clone()),
            session_id: non_empty(p.session_id.clone()),
            supi: non_empty(p.supi.clone()),
        },
    }
}

fn node_name() -> String {
    std::env::args()
        .next()
        .and_then(|a| {
            std::path::Path::new(&a)
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
        })
        .unwrap_or_default()
}

#[tonic::async_trait]
impl pb::wire_tap_server::WireTap for WireTapService {
    type SubscribeStream = Pin<Box<dyn Stream<Item = Result<pb::WireEvent, Status>> + Send>>;

    async fn subscribe(
        &self,
        request: Request<pb::SubscribeRequest>,
    ) -> Result<Response<Self::SubscribeStream>, Status> {
        let r = request.into_inner();
        let filter = Ids {
            call_id: non_empty(r.call_id),
            session_id: non_empty(r.session_id),
            supi: non_empty(r.supi),
        };
        let mut tap = corelab_wire_tap::subscribe();
        let (tx, rx) = tokio::sync::mpsc::channel(QUEUE);
        let node = node_name();
        tokio::spawn(async move {
            let mut lost = 0u64;
            loop {
                let event = tokio::select! {
                    _ = tx.closed() => return,
                    r = tap.recv() => r,
                };
                match event {
                    Ok(e) if e.matches(&filter) => {
                        if tx.send(Ok(to_proto(&e, &node, lost))).await.is_err() {
                            return;
                        }
                        lost = 0;
                    }
                    Ok(_) => {}
                    Err(RecvError::Lagged(n)) => {
                        tracing::warn!(
                            lost = n,
                            "wire tap subscriber fell behind: oldest events dropped for it"
                        );
                        lost += n;
                    }
                    Err(RecvError::Closed) => return,
                }
            }
        });
        Ok(Response::new(Box::pin(
            tokio_stream::wrappers::ReceiverStream::new(rx),
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_survives_its_wire_form() {
        let e = WireEvent {
            at: std::time::UNIX_EPOCH + std::time::Duration::from_micros(1_234_567),
            direction: Direction::Sent,
            transport: Transport::Udp,
            protocol: Protocol::Sip,
            local: Some("127.0.0.1:5060".parse().unwrap()),
            remote: None,
            summary: "SIP/2.0 200 OK".into(),
            bytes: b"SIP/2.0 200 OK\r\n\r\n".to_vec(),
            ids: Ids {
                call_id: Some("c@x".into()),
                ..Ids::default()
            },
        };
        let back = from_proto(&to_proto(&e, "presence-server", 0));
        assert_eq!(back.at, e.at);
        assert_eq!(back.direction, e.direction);
        assert_eq!(back.transport, e.transport);
        assert_eq!(back.protocol, e.protocol);
        assert_eq!(back.local, e.local);
        assert_eq!(back.remote, None);
        assert_eq!(back.bytes, e.bytes);
        assert_eq!(back.ids, e.ids);
    }
}
