//! NAS-5GS on the wire tap (crates/wire-tap): each plain NAS PDU of the N1 link, uplink as the
//! core task takes it, downlink as it goes to the gNB's stream (after the store write it depends
//! on). The N1 link is a gRPC stream (docs/n1.md), so the events carry no IP addresses: the
//! summary names the message, the gNB and the RAN UE id.

use std::time::SystemTime;

use corelab_nas::{Direction as NasDirection, decode};
use corelab_wire_tap::{Direction, Ids, Protocol, Transport, WireEvent};

use crate::fsm::context::Location;

/// Publish one NAS PDU; `message` is its name when the caller knows it (else it is decoded).
pub(crate) fn nas(
    direction: Direction,
    at: &Location,
    supi: Option<&str>,
    pdu: &[u8],
    message: Option<&str>,
) {
    corelab_wire_tap::emit(|| {
        let name = match message {
            Some(m) => m.to_string(),
            None => match decode(pdu, NasDirection::Uplink) {
                Ok(m) => m.name().to_string(),
                Err(rejection) => format!("malformed ({})", rejection.reason),
            },
        };
        WireEvent {
            at: SystemTime::now(),
            direction,
            transport: Transport::Grpc,
            protocol: Protocol::Nas5gs,
            local: None,
            remote: None,
            summary: format!("{name} (gNB {} UE {})", at.gnb, at.ran_ue_id),
            bytes: pdu.to_vec(),
            ids: Ids {
                supi: supi.map(str::to_string),
                ..Ids::default()
            },
        }
    });
}
