//! A UE context as the operator sees it: JSON for the admin API, protobuf for the control
//! service (the same fields: sessions, flows, TMGIs, pagings sent, pagings since registration).

use corelab_proto::session::v1 as pb;
use serde_json::{Value, json};

use crate::fsm::context::UeContext;
use crate::fsm::registry::tmgi_key;

pub fn to_json(ue: &UeContext) -> Value {
    json!({
        "supi": ue.supi,
        "guti": ue.guti.to_string(),
        "state": ue.state.as_str(),
        "gnb": ue.location.as_ref().map(|l| l.gnb.clone()),
        "ran_ue_id": ue.location.as_ref().map(|l| l.ran_ue_id),
        "out_of_coverage": ue.out_of_coverage,
        "sessions": ue.sessions.values().map(|s| json!({
            "psi": s.psi,
            "flows": s.flows.values().map(|f| json!({
                "qfi": f.qfi, "five_qi": f.five_qi, "tmgi": f.tmgi.as_ref().map(tmgi_key),
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "tmgis": ue.associations.iter().map(|(key, a)| json!({
            "tmgi": key, "psi": a.psi, "path_up": a.path_up,
        })).collect::<Vec<_>>(),
        "pagings": ue.pagings.iter().map(|(key, count)| json!({"tmgi": key, "count": count})).collect::<Vec<_>>(),
        "pagings_sent": ue.pagings_sent(),
        "pagings_since_registration": ue.pagings_since_registration,
    })
}

pub fn to_pb(ue: &UeContext) -> pb::Ue {
    pb::Ue {
        supi: ue.supi.clone(),
        guti: ue.guti.to_string(),
        state: ue.state.as_str().to_string(),
        gnb: ue
            .location
            .as_ref()
            .map(|l| l.gnb.clone())
            .unwrap_or_default(),
        ran_ue_id: ue.location.as_ref().map_or(0, |l| l.ran_ue_id),
        out_of_coverage: ue.out_of_coverage,
        sessions: (ue.sessions.values())
            .map(|s| pb::PduSession {
                psi: u32::from(s.psi),
                flows: (s.flows.values())
                    .map(|f| pb::QosFlow {
                        qfi: u32::from(f.qfi),
                        five_qi: u32::from(f.five_qi),
                        tmgi: f.tmgi.as_ref().map(tmgi_key).unwrap_or_default(),
                    })
                    .collect(),
            })
            .collect(),
        tmgis: (ue.associations.iter())
            .map(|(key, a)| pb::TmgiAssociation {
                tmgi: key.clone(),
                psi: u32::from(a.psi),
                path_up: a.path_up,
            })
            .collect(),
        pagings: (ue.pagings.iter())
            .map(|(key, count)| pb::PagingCount {
                tmgi: key.clone(),
                count: *count,
            })
            .collect(),
        pagings_sent: ue.pagings_sent(),
        pagings_since_registration: ue.pagings_since_registration,
    }
}
