//! The console's copy of the lab's wire taps: one subscription per node, the last
//! [`KEEP`] messages kept (for a page that connects later, a decoded message, a flow's pcapng),
//! and a broadcast of each new one to the pages watching.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use corelab_proto::events::v1::SubscribeRequest;
use corelab_proto::events::v1::wire_tap_client::WireTapClient;
use corelab_wire_tap::{Direction, Protocol, WireEvent, pcapng};
use tokio::sync::broadcast;

use crate::lab::LabState;

/// Messages kept.
pub const KEEP: usize = 5_000;

/// One message as the console keeps it.
pub struct Stored {
    pub id: u64,
    pub node: String,
    pub event: WireEvent,
    /// The flow it belongs to: its Call-ID, Session-Id or SUPI ("" when it names none).
    pub flow: String,
    /// What the page gets (one JSON object).
    pub json: String,
}

#[derive(Default)]
struct Ring {
    next: u64,
    kept: VecDeque<Arc<Stored>>,
}

pub struct Events {
    ring: Arc<Mutex<Ring>>,
    tx: broadcast::Sender<Arc<Stored>>,
}

/// FNV-1a of the bytes: the page pairs a message one node sent with the copy another received.
fn digest(bytes: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h = (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

fn lock(ring: &Mutex<Ring>) -> std::sync::MutexGuard<'_, Ring> {
    ring.lock().unwrap_or_else(|e| e.into_inner())
}

impl Events {
    /// Subscribe to every node of the lab.
    pub async fn subscribe(lab: &LabState) -> anyhow::Result<Events> {
        let (tx, _) = broadcast::channel(1024);
        let events = Events {
            ring: Arc::new(Mutex::new(Ring::default())),
            tx,
        };
        for node in &lab.nodes {
            let Some(grpc) = node.addrs.get("grpc") else {
                continue;
            };
            let mut client = WireTapClient::connect(format!("http://{grpc}"))
                .await
                .map_err(|e| anyhow::anyhow!("{}: wire tap at {grpc}: {e}", node.name))?;
            let mut stream = client
                .subscribe(SubscribeRequest::default())
                .await
                .map_err(|e| anyhow::anyhow!("{}: {}", node.name, e.message()))?
                .into_inner();
            let (ring, tx, name) = (events.ring.clone(), events.tx.clone(), node.name.clone());
            tokio::spawn(async move {
                while let Ok(Some(e)) = stream.message().await {
                    let event = corelab_runtime::wire_tap::from_proto(&e);
                    let stored = {
                        let mut r = lock(&ring);
                        r.next += 1;
                        let stored = Arc::new(Stored::new(r.next, name.clone(), event));
                        if r.kept.len() == KEEP {
                            r.kept.pop_front();
                        }
                        r.kept.push_back(stored.clone());
                        stored
                    };
                    let _ = tx.send(stored);
                }
            });
        }
        Ok(events)
    }

    /// Everything kept, and the messages after it (no gap, no repeat).
    pub fn follow(&self) -> (Vec<Arc<Stored>>, broadcast::Receiver<Arc<Stored>>) {
        let r = lock(&self.ring);
        (r.kept.iter().cloned().collect(), self.tx.subscribe())
    }

    pub fn get(&self, id: u64) -> Option<Arc<Stored>> {
        lock(&self.ring).kept.iter().find(|s| s.id == id).cloned()
    }

    /// The kept messages of `flow` as pcapng.
    pub fn pcapng(&self, flow: &str) -> std::io::Result<Vec<u8>> {
        let mut w = pcapng::Writer::new(Vec::new())?;
        for s in lock(&self.ring).kept.iter().filter(|s| s.flow == flow) {
            w.push(&s.event)?;
        }
        w.finish()
    }
}

impl Stored {
    pub(crate) fn new(id: u64, node: String, event: WireEvent) -> Stored {
        let flow = (event.ids.call_id.clone())
            .or_else(|| event.ids.session_id.clone())
            .or_else(|| event.ids.supi.clone())
            .unwrap_or_default();
        let micros = event
            .at
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_micros() as u64)
            .unwrap_or(0);
        let json = serde_json::json!({
            "id": id,
            "node": node,
            "t": micros,
            "dir": if event.direction == Direction::Sent { "sent" } else { "received" },
            "proto": format!("{:?}", event.protocol),
            "local": event.local.map(|a| a.to_string()),
            "remote": event.remote.map(|a| a.to_string()),
            "summary": event.summary,
            "flow": flow,
            "digest": digest(&event.bytes),
        })
        .to_string();
        Stored {
            id,
            node,
            event,
            flow,
            json,
        }
    }

    /// The message for a person: SIP as its text, Diameter rendered AVP by AVP with the
    /// dictionary's names, NAS as its name and octets.
    pub fn decoded(&self) -> String {
        let e = &self.event;
        let head = format!(
            "{} {} {} {}\n\n",
            self.node,
            if e.direction == Direction::Sent {
                "sent to"
            } else {
                "received from"
            },
            e.remote
                .map(|a| a.to_string())
                .unwrap_or_else(|| "-".into()),
            e.summary
        );
        let body = match e.protocol {
            Protocol::Sip => String::from_utf8_lossy(&e.bytes).into_owned(),
            Protocol::Diameter => match corelab_diameter::Message::decode(&e.bytes) {
                Ok(m) => corelab_diameter::render(&m, corelab_diameter::Dictionary::standard()),
                Err(err) => format!("undecodable: {err}"),
            },
            Protocol::Nas5gs => e
                .bytes
                .chunks(16)
                .map(|c| {
                    c.iter()
                        .map(|b| format!("{b:02x}"))
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .collect::<Vec<_>>()
                .join("\n"),
        };
        head + &body
    }
}
