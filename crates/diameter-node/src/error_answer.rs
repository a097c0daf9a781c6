//! The answer-message this node sends for a request it answers itself with
//! an error (RFC 6733 §7.2-7.3): used by dispatch (routing failures,
//! redirects) and by the connection task (3004 when too busy, §7.1.3).

use corelab_diameter::{AvpBuf, DiameterError, ResultCode};

use crate::avps;
use crate::node::Inner;

/// An answer-message from this node with `code` (E bit for 3xxx) and
/// Error-Reporting-Host naming us (RFC 6733 §7.3).
pub(crate) fn error_answer(
    inner: &Inner,
    request: &[u8],
    code: ResultCode,
    reason: &str,
) -> Vec<u8> {
    let local = &inner.cfg.local;
    let err = DiameterError::new(code, reason);
    match corelab_diameter::error_answer(request, &err, &local.origin_host, &local.origin_realm) {
        Some(Ok(a)) => avps::append(
            a,
            &[AvpBuf::identity(
                avps::ERROR_REPORTING_HOST,
                &local.origin_host,
            )],
        ),
        _ => Vec::new(),
    }
}
