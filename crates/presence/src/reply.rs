//! What a request handler answers: a status, a reason, headers and body, and what to do once the
//! answer is on the wire (e.g. the first NOTIFY after a SUBSCRIBE's 200, RFC 6665 §4.2.1.2).

use std::future::Future;
use std::pin::Pin;

pub type FollowUp = Pin<Box<dyn Future<Output = ()> + Send>>;

pub struct Reply {
    pub code: u16,
    pub reason: Option<String>,
    pub headers: Vec<(&'static str, String)>,
    pub body: Option<(&'static str, Vec<u8>)>,
    /// The To tag for a dialog-creating answer; a random one is used when `None`.
    pub to_tag: Option<String>,
    pub then: Option<FollowUp>,
}

impl Reply {
    pub fn new(code: u16) -> Reply {
        Reply {
            code,
            reason: None,
            headers: Vec::new(),
            body: None,
            to_tag: None,
            then: None,
        }
    }

    /// An error answer whose reason phrase says what was wrong.
    pub fn error(code: u16, reason: impl Into<String>) -> Reply {
        Reply {
            reason: Some(reason.into()),
            ..Reply::new(code)
        }
    }

    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Reply {
        self.headers.push((name, value.into()));
        self
    }

    pub fn to_tag(mut self, tag: &str) -> Reply {
        self.to_tag = Some(tag.to_string());
        self
    }

    pub fn then(mut self, f: impl Future<Output = ()> + Send + 'static) -> Reply {
        self.then = Some(Box::pin(f));
        self
    }

    /// 500 for a store failure: logged with its cause, the client told only that we failed.
    pub fn store_error(e: sqlx::Error) -> Reply {
        tracing::error!(error = %e, "store error");
        Reply::error(500, "Server Internal Error (store unavailable)")
    }
}

/// Why a handler stopped early: a bad request (400 with its reason) or the store (500).
pub enum HandlerError {
    Bad(corelab_sip::headers::BadRequest),
    Store(sqlx::Error),
}

impl From<corelab_sip::headers::BadRequest> for HandlerError {
    fn from(e: corelab_sip::headers::BadRequest) -> Self {
        HandlerError::Bad(e)
    }
}

impl From<sqlx::Error> for HandlerError {
    fn from(e: sqlx::Error) -> Self {
        HandlerError::Store(e)
    }
}

impl From<HandlerError> for Reply {
    fn from(e: HandlerError) -> Reply {
        match e {
            HandlerError::Bad(e) => Reply::error(400, e.0),
            HandlerError::Store(e) => Reply::store_error(e),
        }
    }
}
