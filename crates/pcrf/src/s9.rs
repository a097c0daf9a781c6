//! The vPCRF's S9 client (TS 29.215) towards home through the hDRA.
//!
//! Every S9 request goes to the hDRA (`s9.hdra`, Destination-Realm `s9.home_realm`). A redirect
//! hDRA answers 3006 DIAMETER_REDIRECT_INDICATION naming the hPCRF (after recording, or on a
//! termination deleting, the session: docs/dra.md); we then send the same request to the hPCRF
//! it names. A proxy hDRA forwards it and relays the hPCRF's answer. The hDRA's behaviour and the
//! hPCRF's identity are recorded on the S9 session at establishment ("remembers the hPCRF"),
//! and with `s9.termination = at_once` a termination of a session whose hDRA redirected goes to
//! the hDRA and to the remembered hPCRF at the same time (the seed's "∥").

use std::net::SocketAddr;

use corelab_diameter::codes::{VENDOR_3GPP, app, avp, cmd};
use corelab_diameter::header::FLAG_ERROR;
use corelab_diameter::{AvpBuf, Message, MessageBuilder, ResultCode};
use corelab_diameter_node::{Node, NodeError, PeerHandle, parse_diameter_uri};
use tracing::{info, warn};

use crate::Pcrf;
use crate::config::TerminationOrder;
use crate::request::{
    CALLED_STATION_ID, CC_REQUEST_NUMBER, CC_REQUEST_TYPE, CLIENT_SESSION_ID, FRAMED_IP_ADDRESS,
    SUBSCRIPTION_ID, SUBSCRIPTION_ID_DATA, SUBSCRIPTION_ID_TYPE, SUBSESSION_ENFORCEMENT_INFO,
    SUBSESSION_ID, SUBSESSION_OPERATION, SubsessionOperation, UeKeys, VENDOR_CORELAB,
};

const REDIRECT_HOST: u32 = 292;
/// Subscription-Id-Type END_USER_IMSI (RFC 4006 §8.47).
const END_USER_IMSI: i32 = 1;

/// What an S9 request does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum S9Kind {
    /// CCR-I: the S9 session and its first subsession.
    Initial,
    /// CCR-U, subsession ESTABLISHMENT.
    SubsessionEstablishment,
    /// CCR-U, subsession TERMINATION.
    SubsessionTermination,
    /// CCR-T: the S9 session ends.
    Termination,
}

impl S9Kind {
    pub fn name(self) -> &'static str {
        match self {
            S9Kind::Initial => "initial",
            S9Kind::SubsessionEstablishment => "subsession_establishment",
            S9Kind::SubsessionTermination => "subsession_termination",
            S9Kind::Termination => "termination",
        }
    }
}

/// One S9 request to build.
#[derive(Clone, Debug)]
pub struct S9Request {
    pub kind: S9Kind,
    pub s9_session_id: String,
    pub request_number: u32,
    pub subsession_id: u32,
    pub keys: UeKeys,
    /// Session-Id 1 (and 3): Corelab-Client-Session-Id, M bit clear.
    pub client_session_ids: Vec<String>,
}

/// How home answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct S9Answer {
    /// Result-Code, or the Experimental-Result-Code.
    pub result_code: u32,
    /// The answer's Origin-Host (the hPCRF).
    pub origin_host: String,
    /// `redirect` when the hDRA answered 3006 and we followed it, else `proxy`.
    pub hdra_mode: &'static str,
}

impl S9Answer {
    pub fn is_success(&self) -> bool {
        (2000..3000).contains(&self.result_code)
    }
}

/// The S9 CCR (TS 29.215 §5.6.2) for `r`.
pub fn build(pcrf: &Pcrf, r: &S9Request) -> MessageBuilder {
    let d = &pcrf.cfg.diameter;
    let (cc_type, operation) = match r.kind {
        S9Kind::Initial => (1, Some(SubsessionOperation::Establishment)),
        S9Kind::SubsessionEstablishment => (2, Some(SubsessionOperation::Establishment)),
        S9Kind::SubsessionTermination => (2, Some(SubsessionOperation::Termination)),
        S9Kind::Termination => (3, None),
    };
    let mut b = MessageBuilder::request(cmd::CREDIT_CONTROL, app::S9)
        .proxiable()
        .avp(AvpBuf::utf8(avp::SESSION_ID, &r.s9_session_id).mandatory())
        .avp(AvpBuf::u32(avp::AUTH_APPLICATION_ID, app::S9).mandatory())
        .avp(AvpBuf::identity(avp::ORIGIN_HOST, &d.origin_host).mandatory())
        .avp(AvpBuf::identity(avp::ORIGIN_REALM, &d.origin_realm).mandatory())
        .avp(AvpBuf::identity(avp::DESTINATION_REALM, &pcrf.cfg.s9.home_realm).mandatory())
        .avp(AvpBuf::enumerated(CC_REQUEST_TYPE, cc_type).mandatory())
        .avp(AvpBuf::u32(CC_REQUEST_NUMBER, r.request_number).mandatory());
    if r.kind == S9Kind::Initial {
        if !r.keys.nai.is_empty() {
            b.push(
                AvpBuf::grouped(
                    SUBSCRIPTION_ID,
                    vec![
                        AvpBuf::enumerated(SUBSCRIPTION_ID_TYPE, END_USER_IMSI).mandatory(),
                        AvpBuf::utf8(SUBSCRIPTION_ID_DATA, &r.keys.nai).mandatory(),
                    ],
                )
                .mandatory(),
            );
        }
        if let Ok(ip) = r.keys.ipv4.parse::<std::net::Ipv4Addr>() {
            b.push(AvpBuf::octets(FRAMED_IP_ADDRESS, &ip.octets()).mandatory());
        }
        if !r.keys.apn.is_empty() {
            b.push(AvpBuf::utf8(CALLED_STATION_ID, &r.keys.apn).mandatory());
        }
    }
    if let Some(op) = operation {
        b.push(
            AvpBuf::grouped(
                SUBSESSION_ENFORCEMENT_INFO,
                vec![
                    AvpBuf::u32(SUBSESSION_ID, r.subsession_id)
                        .vendor(VENDOR_3GPP)
                        .mandatory(),
                    AvpBuf::enumerated(SUBSESSION_OPERATION, op as i32)
                        .vendor(VENDOR_3GPP)
                        .mandatory(),
                ],
            )
            .vendor(VENDOR_3GPP)
            .mandatory(),
        );
    }
    for id in &r.client_session_ids {
        b.push(AvpBuf::utf8(CLIENT_SESSION_ID, id).vendor(VENDOR_CORELAB));
    }
    b
}

/// A new S9 Session-Id (RFC 6733 §8.8: `<DiameterIdentity>;<high>;<low>[;<optional>]`).
pub fn new_session_id(origin_host: &str) -> String {
    let u = uuid::Uuid::new_v4().as_u128();
    format!("{origin_host};{};{};s9", (u >> 96) as u32, (u >> 64) as u32)
}

/// An open connection we initiated to `addr`, else a new one.
async fn peer_at(node: &Node, addr: SocketAddr) -> Result<PeerHandle, NodeError> {
    if let Some(p) = node
        .peers()
        .into_iter()
        .find(|p| p.is_initiator() && p.remote_addr() == addr && p.is_open())
    {
        return Ok(p);
    }
    node.connect(addr).await
}

/// The open connection to the peer of this Diameter identity, if any.
fn peer_named(node: &Node, host: &str) -> Option<PeerHandle> {
    node.peers()
        .into_iter()
        .find(|p| p.is_open() && p.origin_host().eq_ignore_ascii_case(host))
}

fn read_answer(bytes: &[u8]) -> Option<(u32, String, Vec<String>, bool)> {
    let msg = Message::decode(bytes).ok()?;
    let code = msg.result_code().map(|c| c.0).or_else(|| {
        msg.find(avp::EXPERIMENTAL_RESULT, 0)
            .and_then(|g| g.as_grouped().ok())
            .and_then(|g| g.get(avp::EXPERIMENTAL_RESULT_CODE, 0))
            .and_then(|c| c.as_u32().ok())
    })?;
    let origin = msg
        .find(avp::ORIGIN_HOST, 0)
        .and_then(|a| a.as_identity().ok())
        .unwrap_or("")
        .to_string();
    let redirects = msg
        .avps()
        .get_all(REDIRECT_HOST, 0)
        .filter_map(|a| a.as_utf8().ok().map(str::to_string))
        .collect();
    Some((
        code,
        origin,
        redirects,
        msg.header().flags & FLAG_ERROR != 0,
    ))
}

/// Sends `r` to home: to the hDRA, then (on 3006) to the hPCRF it names; with
/// `s9.termination = at_once` and a remembered hPCRF (`hpcrf_host`, when the hDRA redirected at
/// establishment), a termination goes to both at once.
pub async fn send(pcrf: &Pcrf, r: &S9Request, hpcrf_host: &str) -> Result<S9Answer, String> {
    let node = pcrf.node().ok_or("the Diameter node is not started")?;
    let hdra = pcrf.hdra.ok_or("s9.hdra is not configured")?;
    let terminating = matches!(r.kind, S9Kind::SubsessionTermination | S9Kind::Termination);
    if terminating
        && pcrf.cfg.s9.termination == TerminationOrder::AtOnce
        && !hpcrf_host.is_empty()
        && let Some(hpcrf) = peer_named(node, hpcrf_host)
    {
        let to_hdra = async {
            let p = peer_at(node, hdra).await?;
            p.request(build(pcrf, r)).await
        };
        let (at_hdra, at_hpcrf) = tokio::join!(to_hdra, hpcrf.request(build(pcrf, r)));
        if let Err(e) = at_hdra {
            warn!(error = %e, session_id = %r.s9_session_id, "S9 termination to the hDRA failed (sent at once)");
        }
        let bytes = at_hpcrf.map_err(|e| format!("hPCRF {hpcrf_host}: {e}"))?;
        let (code, origin, _, _) = read_answer(&bytes).ok_or("undecodable answer")?;
        return Ok(S9Answer {
            result_code: code,
            origin_host: origin,
            hdra_mode: "redirect",
        });
    }
    let first = peer_at(node, hdra)
        .await
        .map_err(|e| format!("hDRA {hdra}: {e}"))?
        .request(build(pcrf, r))
        .await
        .map_err(|e| format!("hDRA {hdra}: {e}"))?;
    let (code, origin, redirects, _) = read_answer(&first).ok_or("undecodable answer")?;
    if code != ResultCode::DIAMETER_REDIRECT_INDICATION.0 {
        return Ok(S9Answer {
            result_code: code,
            origin_host: origin,
            hdra_mode: "proxy",
        });
    }
    // RFC 6733 §6.1.7: try the Redirect-Hosts in order.
    let mut last = "3006 from the hDRA without a usable Redirect-Host".to_string();
    for uri in &redirects {
        let Some((host, port)) = parse_diameter_uri(uri) else {
            continue;
        };
        let addr = match tokio::net::lookup_host((host.as_str(), port)).await {
            Ok(mut a) => match a.next() {
                Some(a) => a,
                None => continue,
            },
            Err(e) => {
                last = format!("{uri}: {e}");
                continue;
            }
        };
        let answer = match peer_at(node, addr).await {
            Ok(p) => p.request(build(pcrf, r)).await,
            Err(e) => Err(e),
        };
        match answer {
            Ok(bytes) => {
                let (code, origin, _, _) = read_answer(&bytes).ok_or("undecodable answer")?;
                info!(session_id = %r.s9_session_id, kind = r.kind.name(), hpcrf = %origin, result_code = code, "S9 request followed the hDRA's redirect");
                return Ok(S9Answer {
                    result_code: code,
                    origin_host: origin,
                    hdra_mode: "redirect",
                });
            }
            Err(e) => last = format!("{uri}: {e}"),
        }
    }
    Err(last)
}
