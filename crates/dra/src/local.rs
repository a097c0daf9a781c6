//! Requests addressed to the DRA itself (its Destination-Host, RFC 6733 §6.1.4): the DRA
//! serves no application of its own, so they get 3001 DIAMETER_COMMAND_UNSUPPORTED (RFC 6733
//! §7.1.3). CER, DWR and DPR never come here: the peer state machine answers them.

use corelab_diameter::{DiameterError, ResultCode, error_answer};
use corelab_diameter_node::{PeerHandle, RequestHandler};

pub struct Local {
    pub origin_host: String,
    pub origin_realm: String,
}

#[async_trait::async_trait]
impl RequestHandler for Local {
    async fn handle(&self, request: Vec<u8>, _from: PeerHandle) -> Option<Vec<u8>> {
        let err = DiameterError::new(
            ResultCode::DIAMETER_COMMAND_UNSUPPORTED,
            "a DRA serves no application of its own",
        );
        tracing::info!(
            session_id = corelab_diameter::Message::decode(&request)
                .ok()
                .and_then(|m| m.session_id())
                .unwrap_or(""),
            "request addressed to the DRA itself: 3001"
        );
        error_answer(&request, &err, &self.origin_host, &self.origin_realm)?.ok()
    }
}
