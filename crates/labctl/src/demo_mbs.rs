//! `labctl demo mbs`: the seed's figure (issue 12, `specs/mbs-mobility.md`) played over the wire
//! by session-manager and a gNB (`ue-emulator 5g`) as separate processes, printed as a message
//! ladder. The messages are the contract's (docs/ue-emulator.md, docs/session-manager.md); each
//! step's verdict comes from both nodes' state read over gRPC after the step.

use std::time::{Duration, Instant};

use corelab_proto::session::v1 as sm;
use corelab_proto::session::v1::session_control_client::SessionControlClient;
use corelab_proto::ue::v1 as ue;
use labctl::ladder::{Ladder, Lane};
use labctl::mbs::*;
use labctl::wait::until;

/// UE 0 has the capability `qfi_lists`, UE 1 not.
const WITH: u32 = 0;
const WITHOUT: u32 = 1;

type Control = SessionControlClient<tonic::transport::Channel>;

/// Run the demo; `Ok(false)` when a step failed.
pub async fn demo_mbs(store_url: Option<String>) -> anyhow::Result<bool> {
    let dir = tempfile::tempdir()?;
    let store_url = store_url
        .unwrap_or_else(|| format!("sqlite://{}/session-manager.db", dir.path().display()));
    println!(
        "session-manager (store {store_url}, paging every {PAGING_INTERVAL_MS} ms) and ue-emulator 5g \
         (one gNB, UE 0 with the QFI-lists capability, UE 1 without) as separate processes; files in {}",
        dir.path().display()
    );
    let mut lab = MbsLab::start_on(dir, store_url, "", &[]).await?;
    let mut gnb = lab.gnb("gnb-1", &["--ues", "2"]).await?;
    gnb.set_qfi_lists(ue::SetQfiListsRequest {
        ue: WITHOUT,
        on: false,
    })
    .await?;
    let mut ladder = Ladder::default();

    ladder.head("UE 0, capability qfi_lists on: the seed's figure");
    let with = figure(&mut ladder, &lab, &mut gnb, WITH).await;
    ladder.head("UE 1, capability qfi_lists off: the same steps, standard PDU session status only");
    let without = figure(&mut ladder, &lab, &mut gnb, WITHOUT).await;

    println!();
    for (who, run) in [
        ("UE 0 (qfi_lists on)", &with),
        ("UE 1 (qfi_lists off)", &without),
    ] {
        match run {
            Ok(pagings) => println!("{who}: {pagings} pagings since its mobility registration"),
            Err(e) => println!("{who}: stopped: {e:#}"),
        }
    }
    let ok = ladder.failed == 0 && with.is_ok() && without.is_ok();
    println!(
        "{} steps passed, {} failed: {}",
        ladder.passed,
        ladder.failed,
        if ok { "PASS" } else { "FAIL" }
    );
    if !ok {
        println!("--- session-manager log ---\n{}", lab.session_manager_log());
    }
    for node in lab.gnbs.drain(..) {
        node.stop().await?;
    }
    if let Some(node) = lab.session_manager.take() {
        node.stop().await?;
    }
    Ok(ok)
}

/// The seed's steps for UE `index`; the pagings since its mobility registration.
async fn figure(
    ladder: &mut Ladder,
    lab: &MbsLab,
    gnb: &mut Gnb,
    index: u32,
) -> anyhow::Result<u64> {
    const G: Lane = Lane::GNB;
    const S: Lane = Lane::SESSION_MANAGER;
    const U: Lane = Lane::UE;
    let mut net = lab.control().await?;
    let capable = index == WITH;

    ladder.step("1", "registration (initial)");
    ladder.message(U, S, "REGISTRATION REQUEST (initial, SUCI)");
    ladder.message(S, U, "REGISTRATION ACCEPT (5G-GUTI)");
    ladder.message(U, S, "REGISTRATION COMPLETE");
    accepted(gnb.register(ue::UeRef { ue: index }).await?.into_inner())?;
    let (_, n) = network_settles(&mut net, index, |n| n.state == "registered").await?;
    let d = device(gnb, index).await?;
    ladder.verdict(
        n.state == "registered" && d.registered,
        &format!(
            "network: {} ({}), UE registered: {}",
            n.state, n.guti, d.registered
        ),
    );

    ladder.step("2", "PDU session 1");
    ladder.message(
        U,
        S,
        "UL NAS TRANSPORT (PDU SESSION ESTABLISHMENT REQUEST, PSI 1)",
    );
    ladder.message(
        S,
        U,
        "DL NAS TRANSPORT (PDU SESSION ESTABLISHMENT ACCEPT, QFI 1)",
    );
    ladder.message(S, G, "ResourceCommand SETUP [1]");
    establish(gnb, index, 1).await?;
    let (ok, n) = network_settles(&mut net, index, |n| network_qfis(n, 1) == [1]).await?;
    ladder.verdict(
        ok,
        &format!("network QFIs of session 1: {:?}", network_qfis(&n, 1)),
    );

    ladder.step("3", "join TMGI 000001 on PDU session 1");
    ladder.message(
        U,
        S,
        "MODIFICATION REQUEST (Requested MBS container: join 000001)",
    );
    ladder.message(
        S,
        U,
        "MODIFICATION COMMAND (Received MBS container: accepted, QFI 5)",
    );
    ladder.message(S, G, "ResourceCommand SETUP [5]");
    ladder.message(U, S, "MODIFICATION COMPLETE");
    accepted(join(gnb, index, 1, 1).await?)?;
    let (_, n) = network_settles(&mut net, index, |n| {
        network_qfis(n, 1) == [1, 5] && tmgis(n) == [tmgi_key(1)]
    })
    .await?;
    let d = until(Duration::from_secs(5), "the DRB of QFI 5", || {
        let mut gnb = gnb.clone();
        async move {
            let d = device(&mut gnb, index).await.ok()?;
            d.sessions.first()?.drbs.contains(&5).then_some(d)
        }
    })
    .await;
    let drb = d.is_ok();
    let device_qfis_now = d.map(|d| device_qfis(&d, 1)).unwrap_or_default();
    ladder.verdict(
        network_qfis(&n, 1) == [1, 5]
            && tmgis(&n) == [tmgi_key(1)]
            && drb
            && device_qfis_now == [1, 5],
        &format!(
            "network QFIs {:?} TMGIs {:?}; UE QFIs {device_qfis_now:?}, DRB of QFI 5: {drb}",
            network_qfis(&n, 1),
            tmgis(&n)
        ),
    );

    ladder.step("4", "coverage lost");
    ladder.message(U, G, "(radio link lost)");
    ladder.message(G, S, "RadioEvent coverage_lost");
    ladder.note(S, "MBS path of 000001 down: page the UE with the TMGI");
    lose_coverage(gnb, index).await?;
    let (ok, _) = network_settles(&mut net, index, |n| n.out_of_coverage).await?;
    ladder.verdict(ok, &format!("network: UE out of coverage: {ok}"));

    ladder.step(
        "5",
        "MBS app closed locally (out of coverage: nothing sent)",
    );
    ladder.note(
        U,
        "QFI 5 and its DRB released, QFI 1 kept, TMGI 000001 deleted",
    );
    close_mbs_app(gnb, index).await?;
    let d = device(gnb, index).await?;
    ladder.verdict(
        device_qfis(&d, 1) == [1] && d.tmgis.is_empty(),
        &format!(
            "UE QFIs {:?}, UE TMGIs {}",
            device_qfis(&d, 1),
            d.tmgis.len()
        ),
    );

    ladder.step("6", "pagings while away");
    ladder.message(S, G, "Paging (TMGI 000001)");
    ladder.message(G, U, "dropped: out of coverage");
    ladder.note(S, &format!("every {PAGING_INTERVAL_MS} ms, counted"));
    let paged = network_pages(&mut net, index).await;
    let count = paged.as_ref().map(|n| n.pagings_sent).unwrap_or(0);
    ladder.verdict(count > 0, &format!("network: {count} pagings sent so far"));

    ladder.step("7", "coverage regained: mobility registration");
    ladder.message(U, G, "(radio link back)");
    ladder.message(G, S, "RadioEvent coverage_regained");
    if capable {
        ladder.message(
            U,
            S,
            "REGISTRATION REQUEST (mobility updating, 5G-GUTI, PDU session status {1}, QFI lists 0x7C: PSI 1 -> [1])",
        );
        ladder.note(
            S,
            "QFI 5 absent: MBS QoS flows released, TMGI association deleted, paging stopped",
        );
        ladder.message(S, G, "ResourceCommand RELEASE [5]");
    } else {
        ladder.message(
            U,
            S,
            "REGISTRATION REQUEST (mobility updating, 5G-GUTI, PDU session status {1})",
        );
        ladder.note(
            S,
            "no QFI lists: MBS QoS flow and TMGI kept, the path stays down",
        );
    }
    ladder.message(S, U, "REGISTRATION ACCEPT");
    ladder.message(U, S, "REGISTRATION COMPLETE");
    regain_coverage(gnb, index).await?;
    let (ok, n) = network_settles(&mut net, index, |n| {
        let (qfis, held) = (network_qfis(n, 1), tmgis(n));
        let kept = qfis == [1, 5] && held == [tmgi_key(1)];
        let released = qfis == [1] && held.is_empty();
        n.state == "registered" && !n.out_of_coverage && if capable { released } else { kept }
    })
    .await?;
    let (qfis, held) = (network_qfis(&n, 1), tmgis(&n));
    ladder.verdict(
        ok,
        &format!("network QFIs of session 1: {qfis:?}, TMGIs {held:?}"),
    );

    if capable {
        ladder.step("8", "paging stopped");
        paging_periods(5).await;
        let n = network_ue(&mut net, index).await?;
        let d = device(gnb, index).await?;
        ladder.verdict(
            n.pagings_since_registration == 0 && d.pagings_since_registration == 0,
            &format!(
                "{} pagings since the registration in 5 paging periods (UE received {}); {} in all before it",
                n.pagings_since_registration, d.pagings_since_registration, n.pagings_sent
            ),
        );
        Ok(n.pagings_since_registration)
    } else {
        ladder.step("8", "paging goes on");
        ladder.message(S, G, "Paging (TMGI 000001)");
        ladder.message(G, U, "Paging");
        ladder.note(S, &format!("every {PAGING_INTERVAL_MS} ms, counted"));
        ladder.note(U, "app closed, TMGI unknown: not answered");
        paging_periods(5).await;
        let n = network_pages(&mut net, index).await;
        let since = n
            .as_ref()
            .map(|n| n.pagings_since_registration)
            .unwrap_or(0);
        let d = device(gnb, index).await?;
        ladder.verdict(
            since > 0 && d.pagings_answered == 0,
            &format!(
                "{since} pagings since the registration (UE received {}, answered {})",
                d.pagings_since_registration, d.pagings_answered
            ),
        );
        Ok(since)
    }
}

/// The network's view of UE `index` once `holds` is true of it, polled for up to 5 s (the
/// effect of a procedure's last uplink message lands after the UE's command returns); whether it
/// held, and the last view.
async fn network_settles(
    net: &mut Control,
    index: u32,
    holds: impl Fn(&sm::Ue) -> bool,
) -> anyhow::Result<(bool, sm::Ue)> {
    let start = Instant::now();
    loop {
        let ue = network_ue(net, index).await?;
        if holds(&ue) || start.elapsed() > Duration::from_secs(5) {
            return Ok((holds(&ue), ue));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn tmgis(ue: &sm::Ue) -> Vec<String> {
    ue.tmgis.iter().map(|t| t.tmgi.clone()).collect()
}
