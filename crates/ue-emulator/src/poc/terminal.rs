//! One PoC terminal, free of IO (seed 002, fig. 3: the terminal's side of steps 301-313): its
//! Conversation-ID and Contribution-ID, the join INVITE it writes (multipart SDP + message/cpim,
//! [`corelab_sip::body::poc_join`]), what it does with the answer — **a 200's ids replace its
//! own (step 313)**, the answer's SDP says where its RTP goes, the dialog (RFC 3261 §12.1.2: Call-ID,
//! tags, remote target from Contact, route set from Record-Route reversed) — and the ACK and BYE
//! it writes in that dialog. The async shell ([`super::client`]) sends what this returns.

use std::net::{IpAddr, SocketAddr};

use corelab_sip::body::poc_join::{self, Ids};
use corelab_sip::body::sdp::{AudioSdp, Direction};
use corelab_sip::headers;

/// A request for the shell to send: method, Request-URI, headers (without Via, Max-Forwards and
/// Content-Length), an optional body, and where it goes first (`None`: the outbound proxy).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    pub method: &'static str,
    pub uri: String,
    pub headers: Vec<(&'static str, String)>,
    pub body: Option<(String, Vec<u8>)>,
    pub next_hop: Option<String>,
}

/// The dialog a 2xx to our INVITE set up (RFC 3261 §12.1.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dialog {
    pub group: String,
    pub call_id: String,
    /// Our From header value (with our tag).
    pub local: String,
    /// The To of the 2xx (with the remote tag).
    pub remote: String,
    /// The 2xx's Contact URI.
    pub remote_target: String,
    /// The 2xx's Record-Route, reversed: the Route headers of our requests in the dialog.
    pub route_set: Vec<String>,
    pub invite_cseq: u32,
    pub local_cseq: u32,
}

/// A join sent and not answered yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingJoin {
    pub group: String,
    pub call_id: String,
    pub local: String,
    pub sent_ids: Ids,
}

/// What the shell read from the final response to the INVITE.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub reason: String,
    pub to: String,
    pub contact: Option<String>,
    pub record_route: Vec<String>,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
}

/// How a join ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Joined {
    pub ids: Ids,
    /// The 200 carried other ids than the request: ours were replaced (step 313).
    pub replaced: bool,
    pub media_target: SocketAddr,
}

/// A PoC terminal.
#[derive(Debug, Clone)]
pub struct Terminal {
    /// Our public user identity (`sip:alice@a.lab`).
    pub user: String,
    /// The group joined when a command names none.
    pub group: String,
    /// The ids we send: our own, until a 200 gives the group session's.
    pub ids: Ids,
    pub dialog: Option<Dialog>,
    pub media_target: Option<SocketAddr>,
    pub joins: u32,
    pub byes_received: u32,
    pub last_status: u16,
}

impl Terminal {
    pub fn new(user: &str, group: &str, ids: Ids) -> Terminal {
        Terminal {
            user: user.to_string(),
            group: group.to_string(),
            ids,
            dialog: None,
            media_target: None,
            joins: 0,
            byes_received: 0,
            last_status: 0,
        }
    }

    /// Seed step 301: the INVITE to `group` (Request-URI), P-Asserted-Identity our user, the
    /// multipart body with our SDP offer (`rtp`, PCMU) and our ids. `call_id` and `tag` are fresh
    /// tokens from the shell; `contact` is our Contact URI.
    pub fn invite(
        &self,
        group: &str,
        contact: &str,
        rtp: SocketAddr,
        call_id: &str,
        tag: &str,
    ) -> (Outgoing, PendingJoin) {
        let offer = AudioSdp {
            address: rtp.ip(),
            port: rtp.port(),
            formats: vec![0],
            rtpmaps: vec![(0, "PCMU/8000".into())],
            direction: Direction::SendRecv,
        };
        let body = poc_join::write(&offer.write(1, 1), &self.ids, &self.user, group);
        let local = format!("<{}>;tag={tag}", self.user);
        let out = Outgoing {
            method: "INVITE",
            uri: group.to_string(),
            headers: vec![
                ("From", local.clone()),
                ("To", format!("<{group}>")),
                ("Call-ID", call_id.to_string()),
                ("CSeq", "1 INVITE".into()),
                ("Contact", format!("<{contact}>")),
                ("P-Asserted-Identity", format!("<{}>", self.user)),
                ("Accept", "multipart/mixed, application/sdp".into()),
            ],
            body: Some(body),
            next_hop: None,
        };
        let pending = PendingJoin {
            group: group.to_string(),
            call_id: call_id.to_string(),
            local,
            sent_ids: self.ids.clone(),
        };
        (out, pending)
    }

    /// The final response to the join INVITE. A 2xx: its body must be a join body (its ids
    /// replace ours, step 313; its SDP gives the media target), the dialog is kept. Anything
    /// else: `Err` with the status's reason, nothing kept.
    pub fn on_answer(&mut self, pending: PendingJoin, answer: &Answer) -> Result<Joined, String> {
        self.last_status = answer.status;
        if !(200..300).contains(&answer.status) {
            return Err(format!("{} {}", answer.status, answer.reason));
        }
        let body = poc_join::parse(answer.content_type.as_deref(), &answer.body)
            .map_err(|e| format!("{} with an unusable body: {e}", answer.status))?;
        let media_target = SocketAddr::new(body.sdp.address, body.sdp.port);
        if body.sdp.port == 0 || media_target.ip() == IpAddr::from([0, 0, 0, 0]) {
            return Err(format!("{} without a media port", answer.status));
        }
        let remote_target = answer
            .contact
            .clone()
            .ok_or_else(|| format!("{} without Contact", answer.status))?;
        let replaced = body.ids != pending.sent_ids;
        self.ids = body.ids.clone();
        self.media_target = Some(media_target);
        self.joins += 1;
        self.dialog = Some(Dialog {
            group: pending.group,
            call_id: pending.call_id,
            local: pending.local,
            remote: answer.to.clone(),
            remote_target,
            route_set: answer.record_route.iter().rev().cloned().collect(),
            invite_cseq: 1,
            local_cseq: 1,
        });
        Ok(Joined {
            ids: body.ids,
            replaced,
            media_target,
        })
    }

    /// A request in the dialog (RFC 3261 §12.2.1.1): Request-URI the remote target, Route the
    /// route set, sent to its first entry (loose routing) or to the remote target.
    fn in_dialog(dialog: &Dialog, method: &'static str, cseq: u32) -> Outgoing {
        let mut headers = vec![
            ("From", dialog.local.clone()),
            ("To", dialog.remote.clone()),
            ("Call-ID", dialog.call_id.clone()),
            ("CSeq", format!("{cseq} {method}")),
        ];
        for route in &dialog.route_set {
            headers.push(("Route", route.clone()));
        }
        let next_hop = dialog
            .route_set
            .first()
            .and_then(|r| headers::uri_of(r))
            .unwrap_or_else(|| dialog.remote_target.clone());
        Outgoing {
            method,
            uri: dialog.remote_target.clone(),
            headers,
            body: None,
            next_hop: Some(next_hop),
        }
    }

    /// The ACK of the 2xx (RFC 3261 §13.2.2.4: the INVITE's CSeq number).
    pub fn ack(&self) -> Option<Outgoing> {
        let d = self.dialog.as_ref()?;
        Some(Self::in_dialog(d, "ACK", d.invite_cseq))
    }

    /// Leave: a BYE in the dialog (the next CSeq). The dialog ends whatever the answer.
    pub fn bye(&mut self) -> Option<Outgoing> {
        let d = self.dialog.as_mut()?;
        d.local_cseq += 1;
        let out = Self::in_dialog(d, "BYE", d.local_cseq);
        self.ended();
        Some(out)
    }

    /// A BYE from the network with this Call-ID: `true` (answer 200) if it is our dialog's.
    pub fn on_bye(&mut self, call_id: &str) -> bool {
        match &self.dialog {
            Some(d) if d.call_id == call_id => {
                self.byes_received += 1;
                self.ended();
                true
            }
            _ => false,
        }
    }

    fn ended(&mut self) {
        self.dialog = None;
        self.media_target = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(c: &str, k: &str) -> Ids {
        Ids {
            conversation_id: c.into(),
            contribution_id: k.into(),
        }
    }

    fn ok_answer(group_ids: &Ids) -> Answer {
        let sdp = "v=0\r\no=cf 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\n";
        let (ct, body) = poc_join::write(sdp, group_ids, "sip:team@lab", "sip:bob@b.lab");
        Answer {
            status: 200,
            reason: "OK".into(),
            to: "<sip:team@lab>;tag=cf1".into(),
            contact: Some("sip:poc-controlling@127.0.0.1:5070".into()),
            record_route: vec![
                "<sip:127.0.0.1:5080;lr>".into(),
                "<sip:127.0.0.1:5090;lr>".into(),
            ],
            content_type: Some(ct),
            body,
        }
    }

    #[test]
    fn invite_carries_our_ids_and_the_answer_replaces_them() {
        let mut t = Terminal::new("sip:bob@b.lab", "sip:team@lab", ids("conv-B", "contrib-B"));
        let rtp: SocketAddr = "127.0.0.1:4000".parse().unwrap();
        let (out, pending) = t.invite("sip:team@lab", "sip:bob@127.0.0.1:5062", rtp, "c1", "t1");
        assert_eq!((out.method, out.uri.as_str()), ("INVITE", "sip:team@lab"));
        assert!(
            out.headers
                .contains(&("P-Asserted-Identity", "<sip:bob@b.lab>".into()))
        );
        let (ct, body) = out.body.clone().unwrap();
        let sent = poc_join::parse(Some(&ct), &body).unwrap();
        assert_eq!(sent.ids, ids("conv-B", "contrib-B"));
        assert_eq!(sent.sdp.port, 4000);

        // Step 313: the 200 carries A's ids; B replaces its own.
        let joined = t
            .on_answer(pending, &ok_answer(&ids("conv-A", "contrib-A")))
            .unwrap();
        assert!(joined.replaced);
        assert_eq!(t.ids, ids("conv-A", "contrib-A"));
        assert_eq!(joined.media_target, "127.0.0.1:40000".parse().unwrap());

        // ACK and BYE follow the route set (Record-Route reversed) to the remote target.
        let ack = t.ack().unwrap();
        assert_eq!(ack.uri, "sip:poc-controlling@127.0.0.1:5070");
        assert_eq!(ack.next_hop.as_deref(), Some("sip:127.0.0.1:5090;lr"));
        let routes: Vec<_> = ack.headers.iter().filter(|(n, _)| *n == "Route").collect();
        assert_eq!(routes[0].1, "<sip:127.0.0.1:5090;lr>");
        assert!(ack.headers.contains(&("CSeq", "1 ACK".into())));
        let bye = t.bye().unwrap();
        assert!(bye.headers.contains(&("CSeq", "2 BYE".into())));
        assert!(
            bye.headers
                .contains(&("To", "<sip:team@lab>;tag=cf1".into()))
        );
        assert!(t.dialog.is_none() && t.bye().is_none());
        // Later requests carry the updated ids.
        let (again, _) = t.invite("sip:team@lab", "sip:bob@x", rtp, "c2", "t2");
        let (ct, body) = again.body.unwrap();
        assert_eq!(
            poc_join::parse(Some(&ct), &body).unwrap().ids,
            ids("conv-A", "contrib-A")
        );
    }

    #[test]
    fn a_refusal_or_a_bad_answer_keeps_our_ids() {
        let mut t = Terminal::new("sip:eve@a.lab", "sip:team@lab", ids("e", "e"));
        let rtp: SocketAddr = "127.0.0.1:4000".parse().unwrap();
        let (_, pending) = t.invite("sip:team@lab", "sip:eve@x", rtp, "c1", "t1");
        let refused = Answer {
            status: 403,
            reason: "Not a member of the group".into(),
            ..Answer::default()
        };
        assert!(
            t.on_answer(pending.clone(), &refused)
                .unwrap_err()
                .contains("403")
        );
        let mut garbled = ok_answer(&ids("x", "y"));
        garbled.body.truncate(20);
        assert!(t.on_answer(pending, &garbled).is_err());
        assert_eq!((t.ids.clone(), t.dialog.is_none()), (ids("e", "e"), true));
        assert_eq!(t.last_status, 200);
    }

    #[test]
    fn a_bye_from_the_network_ends_our_dialog_only() {
        let mut t = Terminal::new("sip:a@a.lab", "sip:team@lab", ids("a", "a"));
        let rtp: SocketAddr = "127.0.0.1:4000".parse().unwrap();
        let (_, pending) = t.invite("sip:team@lab", "sip:a@x", rtp, "c1", "t1");
        t.on_answer(pending, &ok_answer(&ids("a", "a"))).unwrap();
        assert!(!t.on_bye("other"));
        assert!(t.on_bye("c1"));
        assert_eq!((t.byes_received, t.dialog.is_none()), (1, true));
    }
}
