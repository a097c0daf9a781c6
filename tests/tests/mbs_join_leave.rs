//! Issue 12 §5: MBS join and leave over the wire (session-manager and ue-emulator as separate
//! processes, both stores): join rejected, leave by modification, by release, on the network's
//! command, and a leave the network rejects.

use corelab_proto::session::v1 as sm;
use corelab_proto::ue::v1 as ue;
use corelab_tests::mbs_lab::*;
use corelab_tests::{Backend, on_both_backends, until};
use std::time::Duration;

on_both_backends! {
    join_of_an_unknown_tmgi_is_rejected_with_its_mbs_cause_and_adds_nothing => join_rejected;
    join_is_rejected_for_an_unauthorized_ue_and_beyond_capacity => join_refused_by_policy;
    leave_by_modification_releases_the_mbs_flows_and_keeps_the_session => leave_by_modification;
    leave_by_release_of_a_session_made_for_mbs_releases_the_session => leave_by_release;
    network_initiated_leave_ends_the_service_on_the_ue => network_leave;
    leave_of_a_tmgi_not_joined_is_rejected_and_changes_nothing => leave_rejected;
}

fn tmgis(ue: &sm::Ue) -> Vec<String> {
    ue.tmgis.iter().map(|t| t.tmgi.clone()).collect()
}

async fn join_rejected(backend: Backend) -> anyhow::Result<()> {
    let mut lab = MbsLab::start(backend, &[]).await?;
    let mut gnb = lab.gnb("gnb-1", &[]).await?;
    let mut net = lab.control().await?;
    register_and_establish(&mut gnb, 0, 1).await?;
    let result = join(&mut gnb, 0, 0xff, 1).await?;
    assert!(!result.ok, "{result:?}");
    // TS 24.501 §9.11.4.31: "MBS session context not found" (5).
    assert_eq!((result.cause_kind.as_str(), result.cause), ("mbs", 5));
    let n = network_ue(&mut net, 0).await?;
    assert_eq!(network_qfis(&n, 1), [1]);
    assert!(tmgis(&n).is_empty());
    let d = device(&mut gnb, 0).await?;
    assert_eq!(device_qfis(&d, 1), [1]);
    assert!(d.tmgis.is_empty());
    Ok(())
}

async fn leave_by_modification(backend: Backend) -> anyhow::Result<()> {
    let mut lab = MbsLab::start(backend, &[]).await?;
    let mut gnb = lab.gnb("gnb-1", &[]).await?;
    let mut net = lab.control().await?;
    register_and_establish(&mut gnb, 0, 1).await?;
    accepted(join(&mut gnb, 0, 2, 1).await?)?;
    assert_eq!(network_qfis(&network_ue(&mut net, 0).await?, 1), [1, 6, 7]);
    let leave = ue::LeaveRequest {
        ue: 0,
        tmgi: Some(tmgi(2)),
        how: String::new(),
    };
    accepted(gnb.leave(leave).await?.into_inner())?;
    let n = network_ue(&mut net, 0).await?;
    assert_eq!(network_qfis(&n, 1), [1]);
    assert!(tmgis(&n).is_empty());
    let d = device(&mut gnb, 0).await?;
    assert_eq!(device_qfis(&d, 1), [1], "reused session: the session stays");
    assert!(d.tmgis.is_empty());
    Ok(())
}

async fn leave_by_release(backend: Backend) -> anyhow::Result<()> {
    let mut lab = MbsLab::start(backend, &[]).await?;
    let mut gnb = lab.gnb("gnb-1", &[]).await?;
    let mut net = lab.control().await?;
    register_and_establish(&mut gnb, 0, 1).await?;
    // Joined on a new session (2): the UE leaves by releasing it.
    accepted(join(&mut gnb, 0, 1, 0).await?)?;
    let d = device(&mut gnb, 0).await?;
    assert_eq!(d.tmgis[0].joined_on, "new_session");
    let psi = d.tmgis[0].pdu_session_id;
    assert_eq!(psi, 2);
    assert_eq!(network_qfis(&network_ue(&mut net, 0).await?, psi), [1, 5]);
    let leave = ue::LeaveRequest {
        ue: 0,
        tmgi: Some(tmgi(1)),
        how: String::new(),
    };
    accepted(gnb.leave(leave).await?.into_inner())?;
    let n = network_ue(&mut net, 0).await?;
    let psis: Vec<u32> = n.sessions.iter().map(|s| s.psi).collect();
    assert_eq!(psis, [1], "the session made for MBS is released");
    assert!(tmgis(&n).is_empty());
    let d = device(&mut gnb, 0).await?;
    let psis: Vec<u32> = d.sessions.iter().map(|s| s.pdu_session_id).collect();
    assert_eq!(psis, [1]);
    Ok(())
}

async fn network_leave(backend: Backend) -> anyhow::Result<()> {
    let mut lab = MbsLab::start(backend, &[]).await?;
    let mut gnb = lab.gnb("gnb-1", &[]).await?;
    let mut net = lab.control().await?;
    register_and_establish(&mut gnb, 0, 1).await?;
    accepted(join(&mut gnb, 0, 1, 1).await?)?;
    net.network_leave(sm::NetworkLeaveRequest {
        supi: supi(0),
        tmgi: tmgi_key(1),
        cause: 6,
    })
    .await?;
    let d = until(
        Duration::from_secs(5),
        "the UE ending the MBS service",
        || {
            let mut gnb = gnb.clone();
            async move {
                let d = device(&mut gnb, 0).await.ok()?;
                (d.network_leaves == 1).then_some(d)
            }
        },
    )
    .await?;
    assert!(d.tmgis.is_empty());
    assert_eq!(device_qfis(&d, 1), [1]);
    let n = network_ue(&mut net, 0).await?;
    assert!(tmgis(&n).is_empty());
    assert_eq!(network_qfis(&n, 1), [1]);
    Ok(())
}

async fn leave_rejected(backend: Backend) -> anyhow::Result<()> {
    let mut lab = MbsLab::start(backend, &[]).await?;
    let mut gnb = lab.gnb("gnb-1", &[]).await?;
    let mut net = lab.control().await?;
    register_and_establish(&mut gnb, 0, 1).await?;
    accepted(join(&mut gnb, 0, 1, 1).await?)?;
    let before = network_ue(&mut net, 0).await?;
    let leave = ue::LeaveRequest {
        ue: 0,
        tmgi: Some(tmgi(2)),
        how: "modification".into(),
    };
    let result = gnb.leave(leave).await?.into_inner();
    assert!(!result.ok, "{result:?}");
    assert_eq!(result.cause_kind, "5gsm", "PDU SESSION MODIFICATION REJECT");
    assert_ne!(result.cause, 0);
    assert_eq!(network_ue(&mut net, 0).await?, before, "nothing changed");
    let d = device(&mut gnb, 0).await?;
    assert_eq!(device_qfis(&d, 1), [1, 5]);
    assert_eq!(d.tmgis.len(), 1);
    Ok(())
}

/// TMGI 000003 admits UEs 1 and 2 only, one at a time.
const RESTRICTED: &str = r#"
[[mbs.sessions]]
service_id = 3
flows = [{ qfi = 9, five_qi = 7 }]
authorized = ["imsi-001010000000002", "imsi-001010000000003"]
capacity = 1
"#;

async fn join_refused_by_policy(backend: Backend) -> anyhow::Result<()> {
    let mut lab = MbsLab::start_configured(backend, RESTRICTED, &[]).await?;
    let mut gnb = lab.gnb("gnb-1", &["--ues", "3"]).await?;
    let mut net = lab.control().await?;
    for index in 0..3 {
        register_and_establish(&mut gnb, index, 1).await?;
    }
    // TS 24.501 §9.11.4.31: "UE is not authorized" (2).
    let refused = join(&mut gnb, 0, 3, 1).await?;
    assert_eq!(
        (refused.ok, refused.cause_kind.as_str(), refused.cause),
        (false, "mbs", 2)
    );
    accepted(join(&mut gnb, 1, 3, 1).await?)?;
    // The session is full: "insufficient resources" (1).
    let full = join(&mut gnb, 2, 3, 1).await?;
    assert_eq!(
        (full.ok, full.cause_kind.as_str(), full.cause),
        (false, "mbs", 1)
    );
    for (index, qfis) in [(0, vec![1]), (1, vec![1, 9]), (2, vec![1])] {
        assert_eq!(
            network_qfis(&network_ue(&mut net, index).await?, 1),
            qfis,
            "UE {index}"
        );
        assert_eq!(
            device_qfis(&device(&mut gnb, index).await?, 1),
            qfis,
            "UE {index}"
        );
    }
    Ok(())
}
