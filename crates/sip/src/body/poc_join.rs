//! The PoC join body (OMA PoC / CPM shape; seed 002 step 301, lab choice for 306/313,
//! docs/poc.md "Where the ids ride"): a multipart/mixed body (RFC 2046 §5.1, RFC 5621) with an
//! `application/sdp` part (the offer, or the answer) and a `message/cpim` part (RFC 3862)
//! carrying a Conversation-ID and a Contribution-ID. The terminal's INVITE and the controlling
//! function's 200 OK carry the same shape, so both sides read and write it here.

use super::BodyError;
use super::cpim::Cpim;
use super::multipart::{self, Part};
use super::sdp::AudioSdp;

/// The CPM name space the ids are written in (OMA CPM; RFC 3862 §3.2 `NS`).
pub const CPM_NS: &str = "cpm <http://www.openmobilealliance.org/cpm/>";

/// Longest id accepted (as the group document's, docs/group-server.md).
pub const MAX_ID_LEN: usize = 128;

/// A group session's identity (seed: "Conversation id", "Contribution id").
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Ids {
    pub conversation_id: String,
    pub contribution_id: String,
}

/// A join body read back: the SDP (offer in a request, answer in a 200) and the ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinBody {
    pub sdp: AudioSdp,
    pub ids: Ids,
}

/// Read a join body: multipart/mixed with exactly one SDP and one CPIM part, the CPIM carrying
/// both ids (1-[`MAX_ID_LEN`] visible ASCII characters each). Malformed → 400, an SDP with no
/// usable audio stream → 488 ([`BodyError::status`]).
pub fn parse(content_type: Option<&str>, body: &[u8]) -> Result<JoinBody, BodyError> {
    let ct = content_type.ok_or_else(|| BodyError::new("join request without a body"))?;
    if multipart::media_type(ct) != "multipart/mixed" {
        return Err(BodyError::new(
            "join request body must be multipart/mixed (SDP and CPIM)",
        ));
    }
    let parts = multipart::parse(ct, body)?;
    let one = |media: &str| {
        let mut it = parts.iter().filter(|p| p.media_type() == media);
        match (it.next(), it.next()) {
            (Some(p), None) => Ok(p),
            (None, _) => Err(BodyError::new(format!("no {media} part"))),
            (Some(_), Some(_)) => Err(BodyError::new(format!("more than one {media} part"))),
        }
    };
    let cpim = Cpim::parse(&one("message/cpim")?.content)?;
    let id = |name: &str| {
        let v = cpim
            .header(name)
            .ok_or_else(|| BodyError::new(format!("CPIM without {name}")))?;
        if v.is_empty() || v.len() > MAX_ID_LEN || !v.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(BodyError::new(format!("bad CPIM {name}")));
        }
        Ok(v.to_string())
    };
    let ids = Ids {
        conversation_id: id("Conversation-ID")?,
        contribution_id: id("Contribution-ID")?,
    };
    let sdp = AudioSdp::parse(&one("application/sdp")?.content)?;
    Ok(JoinBody { sdp, ids })
}

/// Write a join body: `sdp` and a CPIM part `From: <from>`, `To: <to>` with the ids in the CPM
/// name space. Returns the Content-Type (with its boundary) and the body.
pub fn write(sdp: &str, ids: &Ids, from: &str, to: &str) -> (String, Vec<u8>) {
    let cpim = Cpim {
        headers: vec![
            ("From".into(), format!("<{from}>")),
            ("To".into(), format!("<{to}>")),
            ("NS".into(), CPM_NS.into()),
            ("cpm.Conversation-ID".into(), ids.conversation_id.clone()),
            ("cpm.Contribution-ID".into(), ids.contribution_id.clone()),
        ],
        ..Cpim::default()
    };
    multipart::write(&[
        Part::new("application/sdp", sdp.as_bytes()),
        Part::new("message/cpim", cpim.write()),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    const SDP: &str = "v=0\r\no=a 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n";

    fn body(cpim: &str) -> (String, Vec<u8>) {
        multipart::write(&[
            Part::new("application/sdp", SDP),
            Part::new("message/cpim", cpim),
        ])
    }

    #[test]
    fn written_body_reads_back() {
        let ids = Ids {
            conversation_id: "c1".into(),
            contribution_id: "k1".into(),
        };
        let (ct, b) = write(SDP, &ids, "sip:g@x", "sip:a@x");
        let got = parse(Some(&ct), &b).unwrap();
        assert_eq!(got.ids, ids);
        assert_eq!(got.sdp.port, 4000);
    }

    #[test]
    fn bad_bodies_say_what() {
        let (ct, b) = body("From: <sip:a@x>\r\nConversation-ID: c\r\n\r\n");
        assert!(
            parse(Some(&ct), &b)
                .unwrap_err()
                .reason
                .contains("Contribution-ID")
        );
        let (ct, b) = body("garbage without colon\r\n\r\n");
        assert_eq!(parse(Some(&ct), &b).unwrap_err().status(), 400);
        assert!(parse(Some("application/sdp"), SDP.as_bytes()).is_err());
        assert!(parse(None, b"").is_err());
        let (ct, b) = body("Conversation-ID: c c\r\nContribution-ID: k\r\n\r\n");
        assert!(
            parse(Some(&ct), &b)
                .unwrap_err()
                .reason
                .contains("bad CPIM")
        );
    }
}
