//! session-manager as a node: the real binary on loopback, driven over N1 (gRPC) by a small gNB
//! in the test process whose UEs speak corelab-nas, on SQLite and on PostgreSQL. The full
//! separate-process scenarios with ue-emulator are the ue-emulator side's (issue 12 §5).

use std::collections::VecDeque;
use std::time::Duration;

use corelab_nas::{
    Direction, FiveGmmCause, FiveGsMobileIdentity, Guti, MbsDecision, MbsOperation, MbsRequest,
    NasMessage, PduSessionEstablishmentRequest, PduSessionId, PduSessionModificationRequest,
    PduSessionQfiLists, Plmn, Pti, Qfi, RegistrationRequest, RegistrationType, Suci,
    UlNasTransport, decode,
};
use corelab_proto::n1::v1 as n1;
use corelab_proto::n1::v1::n1_client::N1Client;
use corelab_proto::session::v1 as spb;
use corelab_proto::session::v1::session_control_client::SessionControlClient;
use corelab_tests::{Backend, on_both_backends, store_url};
use labctl::{Node, bin_path};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

const LIMIT: Duration = Duration::from_secs(20);
const SUPI: &str = "imsi-001010000000001";

/// The SUCI of `imsi-00101<msin>`, null scheme (TS 24.501 figure 9.11.3.4.3).
fn suci(msin: &str) -> Suci {
    let digits: Vec<u8> = msin.bytes().map(|b| b - b'0').collect();
    let mut octets = vec![0x01];
    octets.extend(Plmn::new("001", "01").unwrap().to_nas_octets());
    octets.extend([0xf0, 0xff, 0x00, 0x00]);
    for pair in digits.chunks(2) {
        octets.push(pair[0] | (pair.get(1).copied().unwrap_or(0x0f) << 4));
    }
    let pdu = [
        &[0x7e, 0x00, 0x41, 0x09, 0x00, octets.len() as u8][..],
        &octets,
    ]
    .concat();
    match decode(&pdu, Direction::Uplink) {
        Ok(NasMessage::RegistrationRequest(RegistrationRequest {
            identity: FiveGsMobileIdentity::Suci(suci),
            ..
        })) => suci,
        other => panic!("SUCI does not decode: {other:?}"),
    }
}

fn psi(value: u8) -> PduSessionId {
    PduSessionId::new(value).unwrap()
}

/// A gNB of the test: one N1 stream, its downlink kept in arrival order.
struct Gnb {
    tx: mpsc::Sender<n1::Uplink>,
    rx: tonic::Streaming<n1::Downlink>,
    seen: VecDeque<n1::downlink::Msg>,
}

impl Gnb {
    async fn attach(node: &Node, name: &str) -> anyhow::Result<Gnb> {
        let mut client = N1Client::connect(node.grpc_uri()).await?;
        let (tx, rx) = mpsc::channel(64);
        tx.send(n1::Uplink {
            msg: Some(n1::uplink::Msg::Hello(n1::GnbHello {
                gnb_name: name.into(),
                tac: 1,
            })),
        })
        .await?;
        let rx = client.attach(ReceiverStream::new(rx)).await?.into_inner();
        let mut gnb = Gnb {
            tx,
            rx,
            seen: VecDeque::new(),
        };
        gnb.next_matching("hello_ack", |m| matches!(m, n1::downlink::Msg::HelloAck(_)))
            .await?;
        Ok(gnb)
    }

    async fn pdu(&self, ran_ue_id: u64, pdu: Vec<u8>) -> anyhow::Result<()> {
        let msg = n1::uplink::Msg::Nas(n1::UplinkNas { ran_ue_id, pdu });
        self.tx.send(n1::Uplink { msg: Some(msg) }).await?;
        Ok(())
    }

    async fn nas(&self, ran_ue_id: u64, message: NasMessage) -> anyhow::Result<()> {
        self.pdu(ran_ue_id, message.encode()?).await
    }

    async fn sm(&self, ran_ue_id: u64, psi: u8, message: NasMessage) -> anyhow::Result<()> {
        let transport = NasMessage::UlNasTransport(UlNasTransport {
            pdu_session_id: PduSessionId::new(psi)?,
            n1_sm: Box::new(message),
        });
        self.nas(ran_ue_id, transport).await
    }

    async fn radio(&self, ran_ue_id: u64, event: n1::radio_event::Event) -> anyhow::Result<()> {
        let msg = n1::uplink::Msg::Radio(n1::RadioEvent {
            ran_ue_id,
            event: Some(event),
        });
        self.tx.send(n1::Uplink { msg: Some(msg) }).await?;
        Ok(())
    }

    /// The first downlink message (seen before or arriving) that `want` picks; removed.
    async fn next_matching(
        &mut self,
        what: &str,
        want: impl Fn(&n1::downlink::Msg) -> bool,
    ) -> anyhow::Result<n1::downlink::Msg> {
        let deadline = tokio::time::Instant::now() + LIMIT;
        loop {
            if let Some(at) = self.seen.iter().position(&want) {
                return Ok(self.seen.remove(at).unwrap());
            }
            let next = tokio::time::timeout_at(deadline, self.rx.message())
                .await
                .map_err(|_| {
                    anyhow::anyhow!("timed out waiting for {what}; seen {:?}", self.seen)
                })??;
            match next.and_then(|d| d.msg) {
                Some(msg) => self.seen.push_back(msg),
                None => anyhow::bail!("N1 stream ended waiting for {what}"),
            }
        }
    }

    /// The next NAS message to `ran_ue_id`, as the UE reads it (5GSM unwrapped).
    async fn next_nas(&mut self, ran_ue_id: u64) -> anyhow::Result<NasMessage> {
        let msg = self
            .next_matching(
                "a NAS message",
                |m| matches!(m, n1::downlink::Msg::Nas(n) if n.ran_ue_id == ran_ue_id),
            )
            .await?;
        let n1::downlink::Msg::Nas(nas) = msg else {
            unreachable!()
        };
        Ok(match decode(&nas.pdu, Direction::Downlink) {
            Ok(NasMessage::DlNasTransport(t)) => *t.n1_sm,
            Ok(other) => other,
            Err(e) => anyhow::bail!("the UE cannot read the downlink: {}", e.reason),
        })
    }

    async fn next_resource(&mut self) -> anyhow::Result<n1::ResourceCommand> {
        match self
            .next_matching("a resource command", |m| {
                matches!(m, n1::downlink::Msg::Resource(_))
            })
            .await?
        {
            n1::downlink::Msg::Resource(r) => Ok(r),
            _ => unreachable!(),
        }
    }

    fn pagings_seen(&self) -> usize {
        (self.seen.iter())
            .filter(|m| matches!(m, n1::downlink::Msg::Paging(_)))
            .count()
    }
}

fn registration(kind: RegistrationType, identity: FiveGsMobileIdentity) -> RegistrationRequest {
    RegistrationRequest {
        registration_type: kind,
        follow_on_request: false,
        ngksi: None,
        identity,
        pdu_session_status: None,
        uplink_data_status: None,
        qfi_lists: None,
    }
}

async fn start(dir: &tempfile::TempDir, store: &str) -> anyhow::Result<Node> {
    let config = dir.path().join("session-manager.toml");
    std::fs::write(&config, "[paging]\ninterval_ms = 200\n")?;
    Node::start(
        "session-manager",
        &bin_path("session-manager")?,
        &[
            "--config".into(),
            config.display().to_string(),
            "--store-url".into(),
            store.to_string(),
        ],
        dir.path(),
        false,
    )
    .await
}

async fn ue(node: &Node, supi: &str) -> anyhow::Result<spb::Ue> {
    let mut control = SessionControlClient::connect(node.grpc_uri()).await?;
    Ok(control
        .get_ue(spb::GetUeRequest { supi: supi.into() })
        .await?
        .into_inner())
}

/// Register UE 1, establish PDU session 5, join TMGI 000001 on it; its 5G-GUTI.
async fn register_and_join(gnb: &mut Gnb) -> anyhow::Result<Guti> {
    let request = registration(
        RegistrationType::Initial,
        FiveGsMobileIdentity::Suci(suci("0000000001")),
    );
    gnb.nas(1, NasMessage::RegistrationRequest(request)).await?;
    let NasMessage::RegistrationAccept(accept) = gnb.next_nas(1).await? else {
        anyhow::bail!("no REGISTRATION ACCEPT")
    };
    let guti = accept.guti.ok_or_else(|| anyhow::anyhow!("no 5G-GUTI"))?;
    gnb.nas(1, NasMessage::RegistrationComplete).await?;
    let establishment = PduSessionEstablishmentRequest {
        pdu_session_id: psi(5),
        pti: Pti(1),
        integrity_protection_maximum_data_rate: [0xff, 0xff],
        pdu_session_type: None,
        ssc_mode: None,
    };
    gnb.sm(
        1,
        5,
        NasMessage::PduSessionEstablishmentRequest(establishment),
    )
    .await?;
    assert!(matches!(
        gnb.next_nas(1).await?,
        NasMessage::PduSessionEstablishmentAccept(_)
    ));
    assert_eq!(gnb.next_resource().await?.qfis, vec![1]);
    let join = PduSessionModificationRequest {
        pdu_session_id: psi(5),
        pti: Pti(2),
        cause: None,
        requested_mbs: vec![MbsRequest {
            operation: MbsOperation::Join,
            tmgi: corelab_nas::Tmgi::new(1, None)?,
        }],
        qos_flow_changes: Vec::new(),
    };
    gnb.sm(1, 5, NasMessage::PduSessionModificationRequest(join))
        .await?;
    let NasMessage::PduSessionModificationCommand(command) = gnb.next_nas(1).await? else {
        anyhow::bail!("no MODIFICATION COMMAND")
    };
    assert_eq!(command.received_mbs[0].decision, MbsDecision::JoinAccepted);
    assert_eq!(gnb.next_resource().await?.qfis, vec![5]);
    Ok(guti)
}

/// The seed over the wire, with a restart of session-manager while the UE is out of coverage:
/// paged before, paged again after the restart (the context was kept), and after the mobility
/// registration without the MBS QFI no paging at all.
async fn seed_release_survives_a_restart(backend: Backend) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let store = store_url(backend, dir.path()).await?;
    let node = start(&dir, &store).await?;
    let mut gnb = Gnb::attach(&node, "gnb-1").await?;
    let guti = register_and_join(&mut gnb).await?;
    gnb.radio(1, n1::radio_event::Event::CoverageLost(n1::Empty {}))
        .await?;
    let paging = gnb
        .next_matching("a paging", |m| matches!(m, n1::downlink::Msg::Paging(_)))
        .await?;
    let n1::downlink::Msg::Paging(paging) = paging else {
        unreachable!()
    };
    assert_eq!(paging.ran_ue_ids, vec![1]);
    assert_eq!(paging.tmgi.map(|t| t.mbs_service_id), Some(1));

    // Restart: the context is in the store; the gNB re-attaches and the paging resumes.
    node.stop().await?;
    drop(gnb);
    let node = start(&dir, &store).await?;
    let kept = ue(&node, SUPI).await?;
    assert_eq!(kept.tmgis.len(), 1);
    assert!(!kept.tmgis[0].path_up);
    assert!(kept.pagings_sent >= 1);
    let mut gnb = Gnb::attach(&node, "gnb-1").await?;
    gnb.next_matching("a paging after the restart", |m| {
        matches!(m, n1::downlink::Msg::Paging(_))
    })
    .await?;

    // Back in coverage, MBS closed: mobility registration listing QFI 1 only.
    gnb.radio(1, n1::radio_event::Event::CoverageRegained(n1::Empty {}))
        .await?;
    let mut request = registration(
        RegistrationType::MobilityUpdating,
        FiveGsMobileIdentity::Guti(guti),
    );
    request.pdu_session_status = Some(vec![psi(5)]);
    request.qfi_lists = Some(PduSessionQfiLists(vec![(psi(5), vec![Qfi::new(1)?])]));
    gnb.nas(1, NasMessage::RegistrationRequest(request)).await?;
    let NasMessage::RegistrationAccept(accept) = gnb.next_nas(1).await? else {
        anyhow::bail!("no REGISTRATION ACCEPT")
    };
    assert_eq!(accept.pdu_session_status, Some(vec![psi(5)]));
    let release = gnb.next_resource().await?;
    assert_eq!(
        (release.action, release.qfis),
        (n1::resource_command::Action::Release as i32, vec![5])
    );
    gnb.nas(1, NasMessage::RegistrationComplete).await?;
    gnb.seen
        .retain(|m| !matches!(m, n1::downlink::Msg::Paging(_)));
    // Five paging intervals (1 s): nothing may come, and the store says so too.
    let quiet = tokio::time::Instant::now() + Duration::from_secs(1);
    while let Ok(Ok(Some(d))) = tokio::time::timeout_at(quiet, gnb.rx.message()).await {
        gnb.seen.extend(d.msg);
    }
    assert_eq!(
        gnb.pagings_seen(),
        0,
        "paged after the registration: {:?}",
        gnb.seen
    );
    let after = ue(&node, SUPI).await?;
    assert!(after.tmgis.is_empty(), "TMGI association deleted");
    assert_eq!(after.pagings_since_registration, 0);
    assert_eq!(after.sessions.len(), 1);
    assert_eq!(
        after.sessions[0]
            .flows
            .iter()
            .map(|f| f.qfi)
            .collect::<Vec<_>>(),
        vec![1],
        "the PDU session keeps its other flows"
    );
    node.stop().await?;
    Ok(())
}

/// A malformed REGISTRATION REQUEST gets 5GMM STATUS #96 and changes nothing stored; the
/// operator's network leave commands the UE out (PTI 0) and the store has it.
async fn malformed_nas_and_network_leave(backend: Backend) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let store = store_url(backend, dir.path()).await?;
    let node = start(&dir, &store).await?;
    let mut gnb = Gnb::attach(&node, "gnb-1").await?;
    register_and_join(&mut gnb).await?;
    let before = ue(&node, SUPI).await?;
    gnb.pdu(1, vec![0x7e, 0x00, 0x41, 0x09, 0x00, 0x0b, 0x02])
        .await?;
    let NasMessage::FiveGmmStatus(status) = gnb.next_nas(1).await? else {
        anyhow::bail!("no 5GMM STATUS")
    };
    assert_eq!(status.cause, FiveGmmCause::INVALID_MANDATORY_INFORMATION);
    assert_eq!(ue(&node, SUPI).await?, before, "nothing stored changed");

    let mut control = SessionControlClient::connect(node.grpc_uri()).await?;
    let left = control
        .network_leave(spb::NetworkLeaveRequest {
            supi: SUPI.into(),
            tmgi: "000001".into(),
            cause: 6,
        })
        .await?
        .into_inner();
    assert!(left.tmgis.is_empty());
    let NasMessage::PduSessionModificationCommand(command) = gnb.next_nas(1).await? else {
        anyhow::bail!("no MODIFICATION COMMAND")
    };
    assert_eq!(command.pti, Pti(0));
    assert_eq!(command.received_mbs[0].decision, MbsDecision::RemoveUe);
    let again = control
        .network_leave(spb::NetworkLeaveRequest {
            supi: SUPI.into(),
            tmgi: "000001".into(),
            cause: 0,
        })
        .await;
    assert_eq!(
        again.map_err(|s| s.code()).err(),
        Some(tonic::Code::NotFound)
    );
    node.stop().await?;
    Ok(())
}

/// N1 bounds: a stream that does not start with `hello` is refused (FAILED_PRECONDITION), and
/// beyond `n1.max_gnbs` streams a new gNB is refused (RESOURCE_EXHAUSTED) while a gNB of the same
/// name may re-attach.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn n1_refuses_a_stream_without_hello_and_gnbs_beyond_max() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let store = store_url(Backend::Sqlite, dir.path()).await?;
    let config = dir.path().join("session-manager.toml");
    std::fs::write(&config, "[n1]\nmax_gnbs = 1\n")?;
    let node = Node::start(
        "session-manager",
        &bin_path("session-manager")?,
        &[
            "--config".into(),
            config.display().to_string(),
            "--store-url".into(),
            store,
        ],
        dir.path(),
        false,
    )
    .await?;
    let mut client = N1Client::connect(node.grpc_uri()).await?;
    let (tx, rx) = mpsc::channel(4);
    let nas = n1::uplink::Msg::Nas(n1::UplinkNas {
        ran_ue_id: 1,
        pdu: vec![0x7e],
    });
    tx.send(n1::Uplink { msg: Some(nas) }).await?;
    let refused = client.attach(ReceiverStream::new(rx)).await.map(|_| ());
    assert_eq!(
        refused.err().map(|s| s.code()),
        Some(tonic::Code::FailedPrecondition)
    );

    let first = Gnb::attach(&node, "gnb-1").await?;
    let second = Gnb::attach(&node, "gnb-2").await;
    let code = second
        .err()
        .and_then(|e| e.downcast::<tonic::Status>().ok())
        .map(|s| s.code());
    assert_eq!(code, Some(tonic::Code::ResourceExhausted));
    let again = Gnb::attach(&node, "gnb-1").await;
    assert!(again.is_ok(), "the same gNB re-attaches");
    drop(first);
    node.stop().await?;
    Ok(())
}

on_both_backends! {
    seed_release_at_mobility_registration_survives_a_restart => seed_release_survives_a_restart;
    malformed_nas_changes_nothing_and_network_leave_commands_the_ue_out => malformed_nas_and_network_leave;
}
