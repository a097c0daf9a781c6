//! The join request's and answer's bodies (seed step 301, lab choice for 306/313): the shared
//! PoC join body ([`corelab_sip::body::poc_join`]: multipart/mixed with SDP and a message/cpim
//! part carrying the ids), read from the INVITE and written into the 200 OK.

use corelab_sip::body::BodyError;
use corelab_sip::body::poc_join::{self, JoinBody};

use crate::store::Ids;

/// Read an INVITE's body: multipart/mixed with SDP and CPIM, both required. Malformed → 400,
/// an SDP we cannot use → 488 ([`BodyError::status`]).
pub fn parse(content_type: Option<&str>, body: &[u8]) -> Result<JoinBody, BodyError> {
    poc_join::parse(content_type, body)
}

/// The 200 OK's body: the SDP answer and a CPIM part (from the group to the user) with the
/// group session's ids.
pub fn answer_body(sdp: &str, ids: &Ids, group_uri: &str, user: &str) -> (String, Vec<u8>) {
    poc_join::write(sdp, ids, group_uri, user)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SDP: &str = "v=0\r\no=a 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n";

    #[test]
    fn answer_reads_back_as_a_request_would() {
        let ids = Ids {
            conversation_id: "c1".into(),
            contribution_id: "k1".into(),
        };
        let (ct, b) = answer_body(SDP, &ids, "sip:g@x", "sip:a@x");
        let got = parse(Some(&ct), &b).unwrap();
        assert_eq!(got.ids, ids);
        assert_eq!(got.sdp.port, 4000);
    }
}
