//! SDP (RFC 4566) for one audio stream offer/answer (RFC 3264): the session's connection
//! address, the first `m=audio` line (port, RTP/AVP, formats), its `a=rtpmap` lines and its
//! direction. What a node needs to answer an offer and to send media back. Errors carry a
//! reason: a body that does not parse is a `400`, one with no usable audio stream a `488`.

use std::net::IpAddr;

use super::BodyError;

/// Most lines an SDP body may have.
pub const MAX_LINES: usize = 256;

/// Media direction attribute (RFC 4566 §6, RFC 3264 §6.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    SendRecv,
    SendOnly,
    RecvOnly,
    Inactive,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::SendRecv => "sendrecv",
            Direction::SendOnly => "sendonly",
            Direction::RecvOnly => "recvonly",
            Direction::Inactive => "inactive",
        }
    }

    /// The direction of the answer to an offer with this direction (RFC 3264 §6.1).
    pub fn answer(self) -> Direction {
        match self {
            Direction::SendOnly => Direction::RecvOnly,
            Direction::RecvOnly => Direction::SendOnly,
            d => d,
        }
    }
}

/// The audio stream of an offer or answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AudioSdp {
    /// The connection address of the stream (media-level `c=`, else session-level).
    pub address: IpAddr,
    /// RTP port; 0 means the stream is refused.
    pub port: u16,
    /// RTP payload type numbers, in preference order.
    pub formats: Vec<u8>,
    /// `a=rtpmap` values by payload type, e.g. `(0, "PCMU/8000")`.
    pub rtpmaps: Vec<(u8, String)>,
    pub direction: Direction,
}

impl AudioSdp {
    /// Parse an SDP body and take its first audio stream.
    pub fn parse(body: &[u8]) -> Result<AudioSdp, BodyError> {
        let text = std::str::from_utf8(body).map_err(|_| BodyError::new("SDP not UTF-8"))?;
        let mut session_c = None;
        let mut version = false;
        let mut audio: Option<AudioSdp> = None;
        let mut in_audio = false;
        let mut seen_media = false;
        for (n, line) in text.lines().enumerate() {
            if n == MAX_LINES {
                return Err(BodyError::new("SDP too long"));
            }
            if line.is_empty() {
                continue;
            }
            let (kind, value) = line
                .split_once('=')
                .filter(|(k, _)| k.len() == 1)
                .ok_or_else(|| BodyError::new("bad SDP line"))?;
            match kind {
                "v" => {
                    if value != "0" {
                        return Err(BodyError::new("SDP version is not 0"));
                    }
                    version = true;
                }
                "c" => {
                    let addr = connection(value)?;
                    match (seen_media, in_audio, audio.as_mut()) {
                        (false, _, _) => session_c = Some(addr),
                        (true, true, Some(a)) => a.address = addr,
                        _ => {}
                    }
                }
                "m" => {
                    seen_media = true;
                    let mut it = value.split(' ');
                    let media = it.next().unwrap_or("");
                    in_audio = media == "audio" && audio.is_none();
                    if in_audio {
                        let port = it
                            .next()
                            .and_then(|p| p.split('/').next())
                            .and_then(|p| p.parse::<u16>().ok())
                            .ok_or_else(|| BodyError::new("bad SDP m= port"))?;
                        let proto = it.next().unwrap_or("");
                        if proto != "RTP/AVP" {
                            return Err(BodyError::unusable("SDP audio is not RTP/AVP"));
                        }
                        let formats = it
                            .map(|f| {
                                f.parse::<u8>()
                                    .map_err(|_| BodyError::new("bad SDP format"))
                            })
                            .collect::<Result<Vec<_>, _>>()?;
                        if formats.is_empty() {
                            return Err(BodyError::new("SDP m= line without formats"));
                        }
                        audio = Some(AudioSdp {
                            address: session_c.unwrap_or(IpAddr::from([0, 0, 0, 0])),
                            port,
                            formats,
                            rtpmaps: vec![],
                            direction: Direction::SendRecv,
                        });
                    }
                }
                "a" if in_audio => {
                    let Some(a) = audio.as_mut() else { continue };
                    match value {
                        "sendrecv" => a.direction = Direction::SendRecv,
                        "sendonly" => a.direction = Direction::SendOnly,
                        "recvonly" => a.direction = Direction::RecvOnly,
                        "inactive" => a.direction = Direction::Inactive,
                        _ => {
                            if let Some(map) = value.strip_prefix("rtpmap:") {
                                let (pt, enc) = map
                                    .split_once(' ')
                                    .ok_or_else(|| BodyError::new("bad SDP rtpmap"))?;
                                let pt = pt
                                    .parse::<u8>()
                                    .map_err(|_| BodyError::new("bad SDP rtpmap"))?;
                                a.rtpmaps.push((pt, enc.trim().to_string()));
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        if !version {
            return Err(BodyError::new("SDP without v= line"));
        }
        let audio = audio.ok_or_else(|| BodyError::unusable("SDP without an audio stream"))?;
        if audio.address.is_unspecified() && audio.port != 0 && session_c.is_none() {
            return Err(BodyError::new("SDP audio stream without c= line"));
        }
        Ok(audio)
    }

    /// Write a complete SDP body with this stream (`o=` and `s=` from `session_id`).
    pub fn write(&self, session_id: u64, version: u64) -> String {
        let ip = |a: &IpAddr| match a {
            IpAddr::V4(v) => format!("IN IP4 {v}"),
            IpAddr::V6(v) => format!("IN IP6 {v}"),
        };
        let fmts: Vec<String> = self.formats.iter().map(u8::to_string).collect();
        let mut out = format!(
            "v=0\r\no=corelab {session_id} {version} {addr}\r\ns=-\r\nc={addr}\r\nt=0 0\r\nm=audio {} RTP/AVP {}\r\n",
            self.port,
            fmts.join(" "),
            addr = ip(&self.address),
        );
        for (pt, enc) in &self.rtpmaps {
            out.push_str(&format!("a=rtpmap:{pt} {enc}\r\n"));
        }
        out.push_str(&format!("a={}\r\n", self.direction.as_str()));
        out
    }

    /// The answer to this offer (RFC 3264 §6.1): our address and port, the formats of the
    /// offer we support (`supported`, by payload type), the answering direction. An offer with
    /// none of them is unusable (488).
    pub fn answer(
        &self,
        address: IpAddr,
        port: u16,
        supported: &[u8],
    ) -> Result<AudioSdp, BodyError> {
        let formats: Vec<u8> = self
            .formats
            .iter()
            .copied()
            .filter(|f| supported.contains(f))
            .collect();
        if formats.is_empty() {
            return Err(BodyError::unusable("no common audio format"));
        }
        Ok(AudioSdp {
            address,
            port,
            rtpmaps: self
                .rtpmaps
                .iter()
                .filter(|(pt, _)| formats.contains(pt))
                .cloned()
                .collect(),
            formats,
            direction: self.direction.answer(),
        })
    }
}

fn connection(value: &str) -> Result<IpAddr, BodyError> {
    let mut it = value.split(' ');
    let (net, kind, addr) = (it.next(), it.next(), it.next());
    if net != Some("IN") || !matches!(kind, Some("IP4") | Some("IP6")) {
        return Err(BodyError::new("bad SDP c= line"));
    }
    // A multicast address may carry /ttl; we take the address.
    addr.and_then(|a| a.split('/').next())
        .and_then(|a| a.parse().ok())
        .ok_or_else(|| BodyError::new("bad SDP c= address"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const OFFER: &str = "v=0\r\no=alice 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=sendonly\r\n";

    #[test]
    fn offer_read_and_answered() {
        let o = AudioSdp::parse(OFFER.as_bytes()).unwrap();
        assert_eq!(o.address, IpAddr::from([127, 0, 0, 1]));
        assert_eq!((o.port, o.formats.clone()), (40000, vec![0, 8, 101]));
        assert_eq!(o.direction, Direction::SendOnly);
        let a = o
            .answer(IpAddr::from([10, 0, 0, 1]), 50000, &[0, 101])
            .unwrap();
        assert_eq!(a.formats, vec![0, 101]);
        assert_eq!(a.direction, Direction::RecvOnly);
        let text = a.write(7, 1);
        assert_eq!(AudioSdp::parse(text.as_bytes()).unwrap(), a);
        assert!(
            o.answer(IpAddr::from([10, 0, 0, 1]), 1, &[18])
                .unwrap_err()
                .unusable
        );
    }

    #[test]
    fn bad_and_unusable_bodies() {
        for (bad, unusable) in [
            ("", false),
            ("v=1\r\n", false),
            ("v=0\r\nc=IN IP4 nope\r\n", false),
            ("v=0\r\nm=audio x RTP/AVP 0\r\n", false),
            ("v=0\r\nc=IN IP4 1.2.3.4\r\nm=audio 1 RTP/AVP\r\n", false),
            ("v=0\r\nm=audio 1 RTP/AVP 0\r\n", false),
            ("v=0\r\nc=IN IP4 1.2.3.4\r\nm=video 1 RTP/AVP 0\r\n", true),
            ("v=0\r\nc=IN IP4 1.2.3.4\r\nm=audio 1 RTP/SAVP 0\r\n", true),
            ("garbage", false),
        ] {
            let e = AudioSdp::parse(bad.as_bytes()).unwrap_err();
            assert_eq!(e.unusable, unusable, "{bad:?}: {e}");
        }
        for cut in 0..OFFER.len() {
            let _ = AudioSdp::parse(&OFFER.as_bytes()[..cut]);
        }
    }
}
