//! A typed request handler: an [`Application`] receives a request that
//! decoded and passed [`corelab_diameter::validate`] against the dictionary
//! (RFC 6733 §7: header bits, AVP flags, values, required AVPs), and returns
//! an answer or a typed [`Refusal`]; [`Validated`] is the
//! [`RequestHandler`] that does the decoding, the validation and the error
//! answers, so no application re-decodes or builds error answers itself.

use std::sync::Arc;

use corelab_diameter::codes::avp;
use corelab_diameter::{
    AvpBuf, DiameterError, Dictionary, Header, Message, MessageBuilder, ResultCode, Role,
    error_answer, validate,
};
use tracing::{info, warn};

use crate::handle::PeerHandle;
use crate::node::RequestHandler;

/// Why an application does not answer with success.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// A Result-Code (RFC 6733 §7.1): the E bit for 3xxx, Error-Message from
    /// the reason, Failed-AVP when the error names an AVP (§7.5).
    Result(DiameterError),
    /// An Experimental-Result (RFC 6733 §7.6) of a vendor's application, e.g.
    /// 3GPP (10415) DIAMETER_ERROR_INITIAL_PARAMETERS 5140 (TS 29.212 §5.5.3).
    Experimental {
        /// Vendor-Id of the Experimental-Result.
        vendor_id: u32,
        /// Experimental-Result-Code.
        code: u32,
        /// Error-Message (empty: none).
        reason: String,
    },
}

impl From<DiameterError> for Refusal {
    fn from(e: DiameterError) -> Refusal {
        Refusal::Result(e)
    }
}

/// One validated request, with what answering it needs.
pub struct Request<'a> {
    /// The request, decoded (its AVPs are read in place).
    pub message: Message<'a>,
    /// The connection it came on; can send requests back (RAR, ASR).
    pub from: &'a PeerHandle,
    origin_host: &'a str,
    origin_realm: &'a str,
}

impl Request<'_> {
    /// The answer's start (RFC 6733 §6.2): the request's header ids and P bit,
    /// its Session-Id, our Origin-Host and Origin-Realm, Result-Code `code`.
    /// The application adds its own AVPs.
    pub fn answer(&self, code: ResultCode) -> MessageBuilder {
        let mut b = MessageBuilder::answer_to(self.message.header());
        if let Some(sid) = self.message.find(avp::SESSION_ID, 0) {
            b.push(AvpBuf::from_avp(&sid));
        }
        b.avp(AvpBuf::identity(avp::ORIGIN_HOST, self.origin_host).mandatory())
            .avp(AvpBuf::identity(avp::ORIGIN_REALM, self.origin_realm).mandatory())
            .avp(AvpBuf::u32(avp::RESULT_CODE, code.0).mandatory())
    }
}

/// A Diameter application served by a node.
#[async_trait::async_trait]
pub trait Application: Send + Sync + 'static {
    /// A request that decoded and validated as an Endpoint
    /// ([`corelab_diameter::Role::Endpoint`]). Return the answer (start it with
    /// [`Request::answer`]) or why not.
    async fn request(&self, request: &Request<'_>) -> Result<MessageBuilder, Refusal>;

    /// See [`RequestHandler::answer_queued`]: what is sent to `from` from
    /// here on follows the answer on the wire.
    fn answer_queued(&self, _answer: &Header, _from: &PeerHandle) {}
}

/// The [`RequestHandler`] for an [`Application`]: decodes, validates against
/// the dictionary, calls the application, and answers every refusal or
/// invalid request with its error answer and a log line.
pub struct Validated<A> {
    app: Arc<A>,
    dictionary: &'static Dictionary,
    origin_host: String,
    origin_realm: String,
}

impl<A: Application> Validated<A> {
    /// `app` answering as `origin_host`/`origin_realm`, requests validated
    /// against `dictionary` (usually [`Dictionary::standard`]).
    pub fn new(
        app: Arc<A>,
        dictionary: &'static Dictionary,
        origin_host: &str,
        origin_realm: &str,
    ) -> Validated<A> {
        Validated {
            app,
            dictionary,
            origin_host: origin_host.to_string(),
            origin_realm: origin_realm.to_string(),
        }
    }

    /// The error answer to `raw` for `refusal`.
    fn refuse(&self, raw: &[u8], refusal: &Refusal) -> Option<Vec<u8>> {
        let (host, realm) = (&self.origin_host, &self.origin_realm);
        match refusal {
            Refusal::Result(e) => error_answer(raw, e, host, realm)?.ok(),
            Refusal::Experimental {
                vendor_id,
                code,
                reason,
            } => {
                let msg = Message::decode(raw).ok()?;
                let mut b = MessageBuilder::answer_to(msg.header());
                if let Some(sid) = msg.find(avp::SESSION_ID, 0) {
                    b.push(AvpBuf::from_avp(&sid));
                }
                b.push(AvpBuf::identity(avp::ORIGIN_HOST, host).mandatory());
                b.push(AvpBuf::identity(avp::ORIGIN_REALM, realm).mandatory());
                b.push(
                    AvpBuf::grouped(
                        avp::EXPERIMENTAL_RESULT,
                        vec![
                            AvpBuf::u32(avp::VENDOR_ID, *vendor_id).mandatory(),
                            AvpBuf::u32(avp::EXPERIMENTAL_RESULT_CODE, *code).mandatory(),
                        ],
                    )
                    .mandatory(),
                );
                if !reason.is_empty() {
                    b.push(AvpBuf::utf8(avp::ERROR_MESSAGE, reason));
                }
                b.encode().ok()
            }
        }
    }
}

#[async_trait::async_trait]
impl<A: Application> RequestHandler for Validated<A> {
    async fn handle(&self, raw: Vec<u8>, from: PeerHandle) -> Option<Vec<u8>> {
        let checked = Message::decode(&raw)
            .and_then(|m| validate(&m, self.dictionary, Role::Endpoint).map(|()| m));
        let message = match checked {
            Ok(m) => m,
            Err(e) => {
                info!(
                    result_code = e.code.0,
                    reason = %e.reason,
                    session_id = crate::conn::session_id(&raw).unwrap_or(""),
                    "invalid request: answered with its error (RFC 6733 §7)"
                );
                return self.refuse(&raw, &Refusal::Result(e));
            }
        };
        let request = Request {
            message,
            from: &from,
            origin_host: &self.origin_host,
            origin_realm: &self.origin_realm,
        };
        let outcome = self.app.request(&request).await.and_then(|b| {
            b.encode().map_err(|e| {
                warn!(error = %e, "the application's answer does not encode: 5012");
                Refusal::Result(DiameterError::new(
                    ResultCode::DIAMETER_UNABLE_TO_COMPLY,
                    "answer does not encode",
                ))
            })
        });
        match outcome {
            Ok(answer) => Some(answer),
            Err(refusal) => {
                let session_id = request.message.session_id().unwrap_or("");
                match &refusal {
                    Refusal::Result(e) => info!(
                        result_code = e.code.0,
                        reason = %e.reason,
                        session_id,
                        "request refused by the application"
                    ),
                    Refusal::Experimental {
                        vendor_id, code, ..
                    } => info!(
                        vendor_id,
                        experimental_result_code = code,
                        session_id,
                        "request refused by the application"
                    ),
                }
                self.refuse(&raw, &refusal)
            }
        }
    }

    fn answer_queued(&self, answer: &Header, from: &PeerHandle) {
        self.app.answer_queued(answer, from);
    }
}
