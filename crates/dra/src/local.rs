//! Requests addressed to the DRA itself (its Destination-Host, RFC 6733 §6.1.4), behind the
//! node's validation (`Validated`: RFC 6733 §7 errors before we see them).
//!
//! The seed lets a client address its termination to the DRA ("the destination address
//! configured for the DRA") in parallel with the one it sends to the PCRF. A redirect-mode DRA
//! with `binding_cleanup` on is then the endpoint of that request: it deletes the sessions it
//! ends (and cascades), commits, and **acknowledges with 2001 DIAMETER_SUCCESS** (the seed's
//! "ack"); nothing is redirected, the client has sent the PCRF its own copy. 5002 when no
//! session is known. Every other request addressed to the DRA gets 3001
//! DIAMETER_COMMAND_UNSUPPORTED: the DRA serves no application of its own. CER, DWR and DPR never
//! come here (the peer state machine answers them).

use corelab_diameter::codes::{VENDOR_IETF, avp};
use corelab_diameter::{AvpBuf, DiameterError, MessageBuilder, ResultCode};
use corelab_diameter_node::{Application, Refusal, Request};

use crate::Dra;
use crate::binding_cleanup::{Plan, plan};
use crate::config::Mode;
use crate::request::{Interface, PccRequest};

/// CC-Request-Type and CC-Request-Number (RFC 4006 §8.3, §8.2), copied into a CCA.
const CC_REQUEST_TYPE: u32 = 416;
const CC_REQUEST_NUMBER: u32 = 415;

pub struct Local(pub Dra);

#[async_trait::async_trait]
impl Application for Local {
    async fn request(&self, r: &Request<'_>) -> Result<MessageBuilder, Refusal> {
        let dra = &self.0;
        let unsupported = || {
            Refusal::Result(DiameterError::new(
                ResultCode::DIAMETER_COMMAND_UNSUPPORTED,
                "a DRA serves no application of its own",
            ))
        };
        let Ok(req) = PccRequest::read(r.message.raw()) else {
            return Err(unsupported());
        };
        let cfg = &dra.cfg.dra;
        let p = plan(
            cfg.role,
            cfg.mode,
            cfg.binding_cleanup,
            req.kind,
            req.interface == Interface::Rx,
        );
        if cfg.mode != Mode::Redirect || p != Plan::DeleteBeforeRouting {
            tracing::info!(session_id = %req.session_id, "request addressed to the DRA itself: 3001");
            return Err(unsupported());
        }
        match dra.delete(&req, "request addressed to the DRA").await {
            Ok(Some(_)) => {
                let mut answer = r.answer(ResultCode::DIAMETER_SUCCESS);
                for code in [avp::AUTH_APPLICATION_ID, CC_REQUEST_TYPE, CC_REQUEST_NUMBER] {
                    if let Some(a) = r.message.find(code, VENDOR_IETF) {
                        answer.push(AvpBuf::from_avp(&a));
                    }
                }
                Ok(answer)
            }
            Ok(None) => Err(Refusal::Result(DiameterError::new(
                ResultCode::DIAMETER_UNKNOWN_SESSION_ID,
                "no binding records this Session-Id",
            ))),
            Err(e) => {
                tracing::warn!(session_id = %req.session_id, error = %e, "binding store failed: 3004");
                Err(Refusal::Result(DiameterError::new(
                    ResultCode::DIAMETER_TOO_BUSY,
                    "binding store unavailable",
                )))
            }
        }
    }
}
