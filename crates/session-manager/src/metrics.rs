//! Metric names (`corelab_session_manager_*`), in one place so docs/session-manager.md stays true.

use crate::fsm::Event;

pub const NAS_MESSAGES: &str = "corelab_session_manager_nas_messages_total";
pub const NAS_MALFORMED: &str = "corelab_session_manager_nas_malformed_total";
pub const REGISTRATIONS: &str = "corelab_session_manager_registrations_total";
pub const REGISTRATION_REJECTS: &str = "corelab_session_manager_registration_rejects_total";
pub const FLOWS_RELEASED: &str = "corelab_session_manager_flows_released_total";
pub const PAGINGS: &str = "corelab_session_manager_pagings_total";
pub const DOWNLINK_DROPPED: &str = "corelab_session_manager_downlink_dropped_total";
pub const STORE_ERRORS: &str = "corelab_session_manager_store_errors_total";
pub const UES: &str = "corelab_session_manager_ues";
pub const GNBS: &str = "corelab_session_manager_gnbs";

pub fn describe() {
    metrics::describe_counter!(
        NAS_MESSAGES,
        "NAS messages by direction (in, out) and TS 24.501 name (5GSM messages counted inside and with their transport)"
    );
    metrics::describe_counter!(
        NAS_MALFORMED,
        "uplink NAS PDUs refused by TS 24.501 clause 7 (answered with STATUS or a reject)"
    );
    metrics::describe_counter!(
        REGISTRATIONS,
        "REGISTRATION ACCEPTs by registration type (initial, mobility, periodic, emergency)"
    );
    metrics::describe_counter!(REGISTRATION_REJECTS, "REGISTRATION REJECTs by 5GMM cause");
    metrics::describe_counter!(FLOWS_RELEASED, "QoS flows released, by cause");
    metrics::describe_counter!(PAGINGS, "UEs paged, by TMGI");
    metrics::describe_counter!(
        DOWNLINK_DROPPED,
        "downlink messages not queued to a gNB, by reason (no_gnb, queue_full)"
    );
    metrics::describe_counter!(
        STORE_ERRORS,
        "store writes that failed (their answers were not sent)"
    );
    metrics::describe_gauge!(UES, "UE contexts held");
    metrics::describe_gauge!(GNBS, "gNB streams attached");
}

/// Count what the state machine reports.
pub fn count(event: &Event) {
    match event {
        Event::NasIn(name) => {
            metrics::counter!(NAS_MESSAGES, "direction" => "in", "message" => *name).increment(1)
        }
        Event::NasOut(name) => {
            metrics::counter!(NAS_MESSAGES, "direction" => "out", "message" => *name).increment(1)
        }
        Event::Malformed { .. } => metrics::counter!(NAS_MALFORMED).increment(1),
        Event::Registration(kind) => metrics::counter!(REGISTRATIONS, "type" => *kind).increment(1),
        Event::RegistrationRejected(cause) => {
            metrics::counter!(REGISTRATION_REJECTS, "cause" => cause.to_string()).increment(1)
        }
        Event::FlowsReleased { cause, count } => {
            metrics::counter!(FLOWS_RELEASED, "cause" => *cause).increment(*count as u64)
        }
        Event::Paged { tmgi, ues } => {
            metrics::counter!(PAGINGS, "tmgi" => tmgi.clone()).increment(*ues as u64)
        }
        Event::NetworkLeave(_) => {}
    }
}
