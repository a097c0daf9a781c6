//! Issue 12 §5: malformed NAS from a real gNB process (ue-emulator 5G mode, raw PDUs) is
//! answered with 5GMM STATUS / 5GSM STATUS and the TS 24.501 clause 7 cause, and changes nothing
//! session-manager stores, on both stores.

use corelab_proto::ue::v1 as ue;
use corelab_tests::mbs_lab::*;
use corelab_tests::{Backend, on_both_backends};

on_both_backends! {
    malformed_nas_is_answered_with_status_and_its_cause_and_nothing_stored_changes => bad_nas;
}

fn hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex"))
        .collect()
}

async fn bad_nas(backend: Backend) -> anyhow::Result<()> {
    let mut lab = MbsLab::start(backend, &[]).await?;
    let mut gnb = lab.gnb("gnb-1", &[]).await?;
    let mut net = lab.control().await?;
    register_and_establish(&mut gnb, 0, 1).await?;
    accepted(join(&mut gnb, 0, 1, 1).await?)?;
    let before = network_ue(&mut net, 0).await?;

    let cases = [
        // 5GMM message type 0x01 does not exist: #97.
        ("7e0001", "5gmm", 97),
        // REGISTRATION REQUEST whose 5G-GUTI is one octet short: #96.
        ("7e004179000af202f839cafe001122332e02a020", "5gmm", 96),
        // UL NAS TRANSPORT for PDU session 1 carrying 5GSM message type 0xff: 5GSM STATUS #97.
        ("7e00670100042e0107ff1201", "5gsm", 97),
        // UL NAS TRANSPORT carrying a PDU SESSION MODIFICATION REQUEST of session 1 without
        // a UE PTI: #81 invalid PTI value.
        ("7e00670100042e0100c91201", "5gsm", 81),
    ];
    for (pdu, kind, cause) in cases {
        let result = gnb
            .send_raw_nas(ue::RawNas {
                ue: 0,
                pdu: hex(pdu),
            })
            .await?
            .into_inner();
        assert_eq!(
            (result.cause_kind.as_str(), result.cause),
            (kind, cause),
            "{pdu}: {result:?}\n{}",
            lab.session_manager_log()
        );
        assert_eq!(
            network_ue(&mut net, 0).await?,
            before,
            "{pdu}: nothing stored changed"
        );
    }
    let d = device(&mut gnb, 0).await?;
    assert_eq!(
        d.statuses.len(),
        3,
        "three STATUS messages, one MODIFICATION REJECT"
    );
    assert_eq!(device_qfis(&d, 1), [1, 5]);
    Ok(())
}
