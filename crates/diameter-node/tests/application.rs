//! A typed [`Application`] behind [`Validated`], over real loopback sockets:
//! invalid requests get their RFC 6733 §7 answer without reaching the
//! application; its refusals become Result-Code or Experimental-Result answers.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::*;
use corelab_diameter::codes::{app, avp, cmd};
use corelab_diameter::{AvpBuf, DiameterError, Dictionary, Message, MessageBuilder, ResultCode};
use corelab_diameter_node::{Application, Node, Refusal, Request, Validated};

/// A PCRF-like Gx application: refuses sessions named "unknown" (5002) and
/// "initial" (3GPP 5140), answers the rest 2001 with a charging rule.
#[derive(Default)]
struct Gx {
    called: AtomicUsize,
}

#[async_trait::async_trait]
impl Application for Gx {
    async fn request(&self, r: &Request<'_>) -> Result<MessageBuilder, Refusal> {
        self.called.fetch_add(1, Ordering::SeqCst);
        match r.message.session_id() {
            Some(s) if s.ends_with(";unknown") => Err(DiameterError::new(
                ResultCode::DIAMETER_UNKNOWN_SESSION_ID,
                "no such IP-CAN session",
            )
            .into()),
            Some(s) if s.ends_with(";initial") => Err(Refusal::Experimental {
                vendor_id: 10415,
                code: 5140,
                reason: "DIAMETER_ERROR_INITIAL_PARAMETERS".into(),
            }),
            _ => Ok(r
                .answer(ResultCode::DIAMETER_SUCCESS)
                .avp(AvpBuf::enumerated(416, 1).mandatory())
                .avp(AvpBuf::u32(415, 0).mandatory())),
        }
    }
}

async fn setup() -> (Node, Arc<Gx>, corelab_diameter_node::PeerHandle, Node) {
    init_tracing();
    let gx = Arc::new(Gx::default());
    let handler = Validated::new(
        gx.clone(),
        Dictionary::standard(),
        "pcrf.example",
        "server.realm",
    );
    let srv = Node::new(config("pcrf.example", "server.realm"), Arc::new(handler));
    let addr = srv.listen(any_port()).await.unwrap();
    let client = Node::new(
        config("client.example", "client.realm"),
        Recorder::new("client.example", "client.realm"),
    );
    let peer = client.connect(addr).await.unwrap();
    (srv, gx, peer, client)
}

fn experimental(answer: &[u8]) -> Option<(u32, u32)> {
    let m = Message::decode(answer).ok()?;
    let g = m.find(avp::EXPERIMENTAL_RESULT, 0)?;
    let inner: Vec<_> = g.as_grouped().ok()?.collect();
    let get = |code| inner.iter().find(|a| a.code() == code)?.as_u32().ok();
    Some((get(avp::VENDOR_ID)?, get(avp::EXPERIMENTAL_RESULT_CODE)?))
}

#[tokio::test]
async fn a_request_missing_a_required_avp_gets_5005_without_the_application() {
    let (srv, gx, peer, _client) = setup().await;
    // A Gx CCR without CC-Request-Number (TS 29.212 §5.6.2: required).
    let ccr = MessageBuilder::request(cmd::CREDIT_CONTROL, app::GX)
        .proxiable()
        .avp(AvpBuf::utf8(avp::SESSION_ID, "client.example;1;1").mandatory())
        .avp(AvpBuf::identity(avp::ORIGIN_HOST, "client.example").mandatory())
        .avp(AvpBuf::identity(avp::ORIGIN_REALM, "client.realm").mandatory())
        .avp(AvpBuf::identity(avp::DESTINATION_REALM, "server.realm").mandatory())
        .avp(AvpBuf::u32(avp::AUTH_APPLICATION_ID, app::GX).mandatory())
        .avp(AvpBuf::enumerated(416, 1).mandatory());
    let ans = peer.request(ccr).await.unwrap();
    assert_eq!(result_code(&ans), Some(5005), "DIAMETER_MISSING_AVP");
    assert_eq!(gx.called.load(Ordering::SeqCst), 0);
    srv.shutdown().await;
}

#[tokio::test]
async fn a_valid_request_reaches_the_application_and_its_answer_goes_back() {
    let (srv, gx, peer, _client) = setup().await;
    let ans = peer
        .request(ccr("client.example;1;2", "server.realm"))
        .await
        .unwrap();
    assert_eq!(result_code(&ans), Some(2001));
    let m = Message::decode(&ans).unwrap();
    assert_eq!(m.session_id(), Some("client.example;1;2"));
    assert_eq!(
        identity_of(&ans, avp::ORIGIN_HOST).as_deref(),
        Some("pcrf.example")
    );
    assert_eq!(gx.called.load(Ordering::SeqCst), 1);
    srv.shutdown().await;
}

#[tokio::test]
async fn the_applications_refusals_become_typed_error_answers() {
    let (srv, gx, peer, _client) = setup().await;
    let ans = peer
        .request(ccr("client.example;1;unknown", "server.realm"))
        .await
        .unwrap();
    assert_eq!(result_code(&ans), Some(5002));
    assert!(!header(&ans).is_error(), "E bit only for 3xxx");
    let m = Message::decode(&ans).unwrap();
    assert_eq!(m.session_id(), Some("client.example;1;unknown"));
    assert_eq!(
        m.find(avp::ERROR_MESSAGE, 0).and_then(|a| a.as_utf8().ok()),
        Some("no such IP-CAN session")
    );

    let ans = peer
        .request(ccr("client.example;1;initial", "server.realm"))
        .await
        .unwrap();
    assert_eq!(result_code(&ans), None);
    assert_eq!(experimental(&ans), Some((10415, 5140)));
    assert_eq!(
        identity_of(&ans, avp::ORIGIN_HOST).as_deref(),
        Some("pcrf.example")
    );
    assert_eq!(gx.called.load(Ordering::SeqCst), 2);
    srv.shutdown().await;
}
