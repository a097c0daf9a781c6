//! XCAP refusals: the HTTP status each one gets and, for 409, the `application/xcap-error+xml`
//! body of RFC 4825 §11.

use quick_xml::escape::escape;

use crate::document::Invalid;

/// The `<xcap-error>` namespace (RFC 4825 §11.2).
pub const ERROR_NAMESPACE: &str = "urn:ietf:params:xml:ns:xcap-error";
pub const ERROR_MIME: &str = "application/xcap-error+xml";

/// A refused request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum XcapError {
    /// 400: the request URI or a header does not parse.
    BadRequest(String),
    /// 403: no trusted identity, or one not allowed this document.
    Forbidden(String),
    /// 404: no such document, element or attribute.
    NotFound(String),
    /// 405.
    MethodNotAllowed,
    /// 409 with the RFC 4825 §11.2 condition.
    Conflict(Conflict),
    /// 408: the body did not arrive in time.
    RequestTimeout,
    /// 412: If-Match / If-None-Match not met.
    PreconditionFailed,
    /// 413: the body is larger than `xcap.max_body_bytes`.
    PayloadTooLarge,
    /// 415: the Content-Type is not the one the target takes (RFC 4825 §8.2.1).
    UnsupportedMediaType { expected: &'static str },
    /// 500: the store failed.
    Internal(String),
}

/// RFC 4825 §11.2 error conditions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Conflict {
    NotWellFormed,
    NotXmlFrag,
    NotXmlAttValue,
    NotUtf8,
    /// The parent of the element or attribute to create does not exist; `ancestor` is the URI
    /// of the closest one that does.
    NoParent {
        ancestor: String,
    },
    SchemaValidation(String),
    Uniqueness {
        field: String,
        value: String,
    },
    Constraint(String),
    CannotInsert,
    CannotDelete,
}

impl From<Invalid> for XcapError {
    fn from(i: Invalid) -> Self {
        XcapError::Conflict(match i {
            Invalid::Schema(m) => Conflict::SchemaValidation(m),
            Invalid::NotUnique { field, value } => Conflict::Uniqueness { field, value },
            Invalid::Constraint(m) => Conflict::Constraint(m),
        })
    }
}

impl XcapError {
    pub fn status(&self) -> u16 {
        match self {
            XcapError::BadRequest(_) => 400,
            XcapError::Forbidden(_) => 403,
            XcapError::NotFound(_) => 404,
            XcapError::MethodNotAllowed => 405,
            XcapError::Conflict(_) => 409,
            XcapError::RequestTimeout => 408,
            XcapError::PreconditionFailed => 412,
            XcapError::PayloadTooLarge => 413,
            XcapError::UnsupportedMediaType { .. } => 415,
            XcapError::Internal(_) => 500,
        }
    }

    /// The response body: an `<xcap-error>` document for 409, a line of text otherwise.
    pub fn body(&self) -> (&'static str, String) {
        match self {
            XcapError::Conflict(c) => (ERROR_MIME, c.document()),
            XcapError::UnsupportedMediaType { expected } => {
                ("text/plain", format!("Content-Type must be {expected}\n"))
            }
            XcapError::BadRequest(m) | XcapError::Forbidden(m) | XcapError::NotFound(m) => {
                ("text/plain", format!("{m}\n"))
            }
            XcapError::Internal(_) => ("text/plain", "internal error\n".into()),
            XcapError::MethodNotAllowed => ("text/plain", "use GET, PUT or DELETE\n".into()),
            XcapError::PreconditionFailed => ("text/plain", "precondition failed\n".into()),
            XcapError::PayloadTooLarge => ("text/plain", "body too large\n".into()),
            XcapError::RequestTimeout => ("text/plain", "body not received in time\n".into()),
        }
    }
}

impl Conflict {
    /// The RFC 4825 §11.2 body.
    pub fn document(&self) -> String {
        let phrase = |tag: &str, m: &str| format!("<{tag} phrase=\"{}\"/>", escape(m));
        let inner = match self {
            Conflict::NotWellFormed => "<not-well-formed/>".to_string(),
            Conflict::NotXmlFrag => "<not-xml-frag/>".to_string(),
            Conflict::NotXmlAttValue => "<not-xml-att-value/>".to_string(),
            Conflict::NotUtf8 => "<not-utf-8/>".to_string(),
            Conflict::NoParent { ancestor } => format!(
                "<no-parent><ancestor>{}</ancestor></no-parent>",
                escape(ancestor)
            ),
            Conflict::SchemaValidation(m) => phrase("schema-validation-error", m),
            Conflict::Uniqueness { field, value } => format!(
                "<uniqueness-failure phrase=\"{} is already there\"><exists field=\"{}\"/></uniqueness-failure>",
                escape(value),
                escape(field)
            ),
            Conflict::Constraint(m) => phrase("constraint-failure", m),
            Conflict::CannotInsert => "<cannot-insert/>".to_string(),
            Conflict::CannotDelete => "<cannot-delete/>".to_string(),
        };
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<xcap-error xmlns=\"{ERROR_NAMESPACE}\">{inner}</xcap-error>\n"
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies_are_well_formed_and_in_the_xcap_error_namespace() {
        for c in [
            Conflict::NotWellFormed,
            Conflict::NoParent {
                ancestor: "http://h/xcap/a&b".into(),
            },
            Conflict::SchemaValidation("<bad> \"x\"".into()),
            Conflict::Uniqueness {
                field: "a/@uri".into(),
                value: "sip:x--y".into(),
            },
            Conflict::CannotDelete,
        ] {
            let body = c.document();
            let doc = roxmltree::Document::parse(&body).unwrap();
            assert_eq!(doc.root_element().tag_name().name(), "xcap-error");
            assert_eq!(
                doc.root_element().tag_name().namespace(),
                Some(ERROR_NAMESPACE)
            );
            assert!(doc.root_element().first_element_child().is_some());
        }
    }
}
