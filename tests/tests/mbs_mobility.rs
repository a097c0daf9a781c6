//! Issue 12 §5, the seed's procedure over the wire: session-manager and ue-emulator (5G mode)
//! as separate processes on the N1 link, on both stores. The measurable effect is the TMGI
//! paging after the UE's return: zero with the per-session QFI lists, periodic without.

use corelab_proto::session::v1 as sm;
use corelab_proto::ue::v1 as ue;
use corelab_tests::mbs_lab::*;
use corelab_tests::{Backend, on_both_backends, until};
use std::time::Duration;

on_both_backends! {
    seed_flow_releases_mbs_flows_and_tmgi_and_no_paging_follows_the_registration => seed_flow;
    capability_off_on_the_ue_keeps_the_network_paging => capability_off;
    mbs_kept_out_of_coverage_keeps_flows_and_the_paging_is_answered => mbs_kept;
    several_pdu_sessions_each_with_its_own_qfi_list => several_sessions;
    restarted_session_manager_still_releases_at_mobility_registration => restart_mid_flow;
}

/// Seed UE steps 1-2 for UE `index`: registered, PDU session 1, TMGI 000001 joined on it (QFI 5).
async fn joined(gnb: &mut Gnb, index: u32) -> anyhow::Result<()> {
    register_and_establish(gnb, index, 1).await?;
    accepted(join(gnb, index, 1, 1).await?)?;
    Ok(())
}

/// Seed UE steps 3-5: out of coverage, MBS app closed, back, mobility registration.
async fn away_closed_back(gnb: &mut Gnb, index: u32) -> anyhow::Result<()> {
    lose_coverage(gnb, index).await?;
    close_mbs_app(gnb, index).await?;
    regain_coverage(gnb, index).await
}

fn tmgis(ue: &sm::Ue) -> Vec<String> {
    ue.tmgis.iter().map(|t| t.tmgi.clone()).collect()
}

async fn seed_flow(backend: Backend) -> anyhow::Result<()> {
    let mut lab = MbsLab::start(backend, &[]).await?;
    let mut gnb = lab.gnb("gnb-1", &[]).await?;
    let mut net = lab.control().await?;

    joined(&mut gnb, 0).await?;
    // UE step 2: the MBS QoS flow in the session on both sides, a DRB set up for it.
    let before = network_ue(&mut net, 0).await?;
    assert_eq!(network_qfis(&before, 1), [1, 5]);
    assert_eq!(tmgis(&before), [tmgi_key(1)]);
    let device_before = until(Duration::from_secs(5), "the DRB of QFI 5", || {
        let mut gnb = gnb.clone();
        async move {
            let d = device(&mut gnb, 0).await.ok()?;
            d.sessions.first()?.drbs.contains(&5).then_some(d)
        }
    })
    .await?;
    assert_eq!(device_qfis(&device_before, 1), [1, 5]);

    // Out of coverage the network pages the UE with the TMGI: its MBS path is down.
    lose_coverage(&mut gnb, 0).await?;
    close_mbs_app(&mut gnb, 0).await?;
    let paged = network_pages(&mut net, 0).await?;
    assert!(paged.pagings_sent > 0);
    let d = device(&mut gnb, 0).await?;
    assert_eq!(
        device_qfis(&d, 1),
        [1],
        "UE step 3: MBS flow released, QFI 1 kept"
    );
    assert!(d.tmgis.is_empty(), "UE step 3: TMGI deleted");

    // UE steps 4-5, network step 2: the seed's release at mobility registration.
    regain_coverage(&mut gnb, 0).await?;
    let after = network_ue(&mut net, 0).await?;
    assert_eq!(
        network_qfis(&after, 1),
        [1],
        "MBS QoS flow released, QFI 1 kept"
    );
    assert!(tmgis(&after).is_empty(), "TMGI association deleted");
    paging_periods(5).await;
    let after = network_ue(&mut net, 0).await?;
    assert_eq!(
        after.pagings_since_registration, 0,
        "no paging after the registration"
    );
    let d = device(&mut gnb, 0).await?;
    assert_eq!(d.pagings_since_registration, 0);
    assert!(d.registered && d.in_coverage);
    assert_eq!(d.sessions.len(), 1, "the PDU session stays");
    Ok(())
}

async fn capability_off(backend: Backend) -> anyhow::Result<()> {
    let mut lab = MbsLab::start(backend, &[]).await?;
    // UE 0 has the capability, UE 1 not: the same steps, the difference in the pagings.
    let mut gnb = lab.gnb("gnb-1", &["--ues", "2"]).await?;
    gnb.set_qfi_lists(ue::SetQfiListsRequest { ue: 1, on: false })
        .await?;
    let mut net = lab.control().await?;
    for index in [0, 1] {
        joined(&mut gnb, index).await?;
        away_closed_back(&mut gnb, index).await?;
    }
    let without = network_pages(&mut net, 1).await?;
    assert!(without.pagings_since_registration > 0, "paging goes on");
    assert_eq!(
        tmgis(&without),
        [tmgi_key(1)],
        "the network still thinks UE 1 is in"
    );
    assert_eq!(network_qfis(&without, 1), [1, 5]);
    let d1 = until(Duration::from_secs(5), "UE 1 receiving the paging", || {
        let mut gnb = gnb.clone();
        async move {
            let d = device(&mut gnb, 1).await.ok()?;
            (d.pagings_since_registration > 0).then_some(d)
        }
    })
    .await?;
    assert_eq!(
        d1.pagings_answered, 0,
        "the app is closed: the UE ignores the paging"
    );

    let with = network_ue(&mut net, 0).await?;
    assert_eq!(
        with.pagings_since_registration, 0,
        "UE 0 (QFI lists): no paging"
    );
    assert!(tmgis(&with).is_empty());
    assert_eq!(device(&mut gnb, 0).await?.pagings_since_registration, 0);
    Ok(())
}

async fn mbs_kept(backend: Backend) -> anyhow::Result<()> {
    let mut lab = MbsLab::start(backend, &[]).await?;
    let mut gnb = lab.gnb("gnb-1", &[]).await?;
    let mut net = lab.control().await?;
    joined(&mut gnb, 0).await?;
    lose_coverage(&mut gnb, 0).await?;
    // The app stays open: the QFI list still has QFI 5.
    regain_coverage(&mut gnb, 0).await?;
    let kept = network_ue(&mut net, 0).await?;
    assert_eq!(
        network_qfis(&kept, 1),
        [1, 5],
        "MBS QFIs present: everything kept"
    );
    assert_eq!(tmgis(&kept), [tmgi_key(1)]);
    // The path is down until the UE answers a paging for the TMGI; then it is up.
    let up = until(Duration::from_secs(10), "the MBS path back up", || {
        let mut net = net.clone();
        async move {
            let ue = network_ue(&mut net, 0).await.ok()?;
            ue.tmgis.first()?.path_up.then_some(ue)
        }
    })
    .await?;
    // (The answered paging may come before or after the REGISTRATION ACCEPT: count them all.)
    assert!(up.pagings_sent > 0);
    let d = device(&mut gnb, 0).await?;
    assert!(
        d.pagings_answered > 0,
        "the UE answers: it still holds the TMGI"
    );
    assert_eq!(device_qfis(&d, 1), [1, 5]);
    Ok(())
}

async fn several_sessions(backend: Backend) -> anyhow::Result<()> {
    let mut lab = MbsLab::start(backend, &[]).await?;
    let mut gnb = lab.gnb("gnb-1", &[]).await?;
    let mut net = lab.control().await?;
    register_and_establish(&mut gnb, 0, 1).await?;
    establish(&mut gnb, 0, 2).await?;
    accepted(join(&mut gnb, 0, 1, 1).await?)?;
    accepted(join(&mut gnb, 0, 2, 2).await?)?;
    let both = network_ue(&mut net, 0).await?;
    assert_eq!(network_qfis(&both, 1), [1, 5]);
    assert_eq!(network_qfis(&both, 2), [1, 6, 7]);

    lose_coverage(&mut gnb, 0).await?;
    // Only the app of TMGI 000001 closes: session 1 lists [1], session 2 [1, 6, 7].
    let close = ue::CloseMbsAppRequest {
        ue: 0,
        tmgi: Some(tmgi(1)),
    };
    accepted(gnb.close_mbs_app(close).await?.into_inner())?;
    regain_coverage(&mut gnb, 0).await?;
    let after = network_ue(&mut net, 0).await?;
    assert_eq!(network_qfis(&after, 1), [1]);
    assert_eq!(network_qfis(&after, 2), [1, 6, 7]);
    assert_eq!(tmgis(&after), [tmgi_key(2)]);
    let d = device(&mut gnb, 0).await?;
    assert_eq!(device_qfis(&d, 1), [1]);
    assert_eq!(device_qfis(&d, 2), [1, 6, 7]);
    Ok(())
}

async fn restart_mid_flow(backend: Backend) -> anyhow::Result<()> {
    let mut lab = MbsLab::start(backend, &[]).await?;
    let mut gnb = lab.gnb("gnb-1", &[]).await?;
    joined(&mut gnb, 0).await?;
    lab.restart_session_manager().await?;
    let mut net = lab.control().await?;
    // The gNB attaches again (its second hello acknowledged); the UE context comes back from
    // the store.
    until(Duration::from_secs(10), "the gNB attached again", || {
        let mut gnb = gnb.clone();
        async move {
            let all = gnb.list_ues(ue::Empty {}).await.ok()?.into_inner();
            (all.n1_connected && all.n1_attaches == 2).then_some(())
        }
    })
    .await?;
    assert_eq!(net.health(sm::Empty {}).await?.into_inner().gnbs, 1);
    let restored = network_ue(&mut net, 0).await?;
    assert_eq!(network_qfis(&restored, 1), [1, 5]);
    assert_eq!(tmgis(&restored), [tmgi_key(1)]);

    away_closed_back(&mut gnb, 0).await?;
    let after = network_ue(&mut net, 0).await?;
    assert_eq!(network_qfis(&after, 1), [1]);
    assert!(tmgis(&after).is_empty());
    paging_periods(5).await;
    let after = network_ue(&mut net, 0).await?;
    assert_eq!(
        after.pagings_since_registration,
        0,
        "{}",
        lab.session_manager_log()
    );
    Ok(())
}
