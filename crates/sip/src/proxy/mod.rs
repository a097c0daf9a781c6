//! RFC 3261 §16: a stateful proxy's decisions, free of IO.
//!
//! - [`check_max_forwards`]: §16.3 step 3 (483 at zero).
//! - [`pop_own_routes`]: §16.4, our own Route entries taken off the top (loose routing).
//! - [`forward`]: §16.6 — the copy we send: Request-URI (step 2), Max-Forwards decremented
//!   (step 3), Record-Route (step 4, two entries when the transport changes, RFC 5658), strict
//!   routes rewritten (step 6), our Via with a branch derived from the request (step 8), and the
//!   next hop (step 7: the top Route, else the Request-URI).
//! - [`upstream`]: §16.7 step 3 and 9 — a response with our Via taken off, or nothing for a 100
//!   (hop-by-hop, §16.7 step 5) or a response that was ours.
//! - [`BestResponse`]: §16.7 step 6, the final response chosen among a context's branches.
//! - [`cancel_of`]: §16.10 / §9.1, the CANCEL of a request we forwarded.
//!
//! The async part that sends and relays on rsipstack transactions is [`relay`].

pub mod relay;

use rsipstack::sip::headers::{make_header, untyped};
use rsipstack::sip::{Header, Method, Request, Response, Transport};

use crate::headers;

/// A request refused by the proxy, with the status it is answered with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub code: u16,
    pub reason: String,
}

impl Refusal {
    pub fn new(code: u16, reason: impl Into<String>) -> Refusal {
        Refusal {
            code,
            reason: reason.into(),
        }
    }
}

/// Max-Forwards a request gets when it has none (RFC 3261 §16.6 step 3).
pub const DEFAULT_MAX_FORWARDS: u32 = 70;

/// RFC 3261 §16.3 step 3: the request's Max-Forwards (70 when absent); zero is `483 Too Many
/// Hops`, a value that is not a number `400`.
pub fn check_max_forwards(req: &Request) -> Result<u32, Refusal> {
    match headers::value(req, "Max-Forwards") {
        None => Ok(DEFAULT_MAX_FORWARDS),
        Some(v) => match v.trim().parse::<u32>() {
            Ok(0) => Err(Refusal::new(483, "Too Many Hops")),
            Ok(n) => Ok(n),
            Err(_) => Err(Refusal::new(400, format!("Bad Max-Forwards header {v:?}"))),
        },
    }
}

/// The Route entries of a request, top first (lists split).
pub fn routes(req: &Request) -> Vec<String> {
    headers::all_values(req, "Route")
}

fn set_routes(req: &mut Request, routes: &[String]) {
    req.headers.retain(|h| !matches!(h, Header::Route(_)));
    // After Via, Max-Forwards: the Route headers go right after the Max-Forwards line if any,
    // else at the end; their order among themselves is what matters (§20.34).
    let at = req
        .headers
        .iter()
        .position(|h| matches!(h, Header::MaxForwards(_)))
        .map(|i| i + 1)
        .unwrap_or(req.headers.len());
    for (i, r) in routes.iter().enumerate() {
        req.headers
            .0
            .insert(at + i, Header::Route(untyped::Route::new(r.clone())));
    }
}

/// `host:port` of a SIP URI (the port 5060 when absent, 5061 for sips), lower-cased.
pub fn host_port(uri: &str) -> Option<String> {
    let uri = headers::uri_of(uri)?;
    let (scheme, rest) = uri.split_once(':')?;
    let rest = rest.split([';', '?']).next()?;
    let hostport = rest.rsplit_once('@').map(|(_, h)| h).unwrap_or(rest);
    let default = if scheme.eq_ignore_ascii_case("sips") {
        5061
    } else {
        5060
    };
    let with_port = match hostport.strip_prefix('[') {
        Some(v6) => match v6.split_once(']') {
            Some((_, "")) => format!("{hostport}:{default}"),
            Some(_) => hostport.to_string(),
            None => return None,
        },
        None if hostport.contains(':') => hostport.to_string(),
        None => format!("{hostport}:{default}"),
    };
    Some(with_port.to_ascii_lowercase())
}

/// RFC 3261 §16.4: take every Route entry at the top that names us (`is_ours` on its
/// `host:port`) off the request; how many were taken. Two in a row are ours when we
/// double-record-routed (RFC 5658).
pub fn pop_own_routes(req: &mut Request, is_ours: impl Fn(&str) -> bool) -> usize {
    let mut all = routes(req);
    let own = all
        .iter()
        .take_while(|r| host_port(r).is_some_and(|hp| is_ours(&hp)))
        .count();
    if own > 0 {
        all.drain(..own);
        set_routes(req, &all);
    }
    own
}

/// Put `entry` on top of the request's route set (a route we choose for it, e.g. the
/// controlling server, RFC 3261 §16.6 step 7 "pre-loaded" by the proxy).
pub fn push_route(req: &mut Request, entry: &str) {
    let mut all = routes(req);
    all.insert(0, entry.to_string());
    set_routes(req, &all);
}

/// Does this request create a dialog (and so get our Record-Route)? An INVITE or SUBSCRIBE
/// (or REFER) without a To tag (RFC 3261 §12.1, RFC 6665 §4.1).
pub fn creates_dialog(req: &Request) -> bool {
    matches!(
        req.method,
        Method::Invite | Method::Subscribe | Method::Refer
    ) && !headers::to_uri_and_tag(req).is_ok_and(|(_, tag)| tag.is_some())
}

/// Who we are on the path of a request.
#[derive(Debug, Clone)]
pub struct Hop {
    /// Our Via sent-by (the advertised address, RFC 3261 §18.1.1).
    pub sent_by: String,
    /// The transport the request arrived on.
    pub inbound: Transport,
}

/// The copy to send and where it goes.
#[derive(Debug, Clone)]
pub struct Forwarded {
    pub request: Request,
    /// The URI the request is sent to (§16.6 step 7): the top Route, else the Request-URI.
    pub next_hop: String,
}

fn transport_token(t: Transport) -> &'static str {
    crate::node::transport_token(t)
}

/// A Record-Route entry for us on `transport` (loose, `lr`, RFC 3261 §16.6 step 4).
pub fn record_route_entry(sent_by: &str, transport: Transport) -> String {
    match transport {
        Transport::Tcp => format!("<sip:{sent_by};transport=tcp;lr>"),
        _ => format!("<sip:{sent_by};lr>"),
    }
}

/// RFC 3261 §16.6 step 8: a branch derived from the request, so that a retransmission gets the
/// same one and the CANCEL of an INVITE gets the INVITE's (§16.10: the CANCEL we send matches
/// the INVITE's client transaction), while the ACK of a 2xx (a new transaction upstream, with its
/// own branch) gets another. Built from the received top Via, Call-ID, From and To tags, CSeq
/// number and the Request-URI (not the method), plus the target.
pub fn branch(req: &Request, target: &str) -> String {
    let top_via = headers::all_values(req, "Via")
        .into_iter()
        .next()
        .unwrap_or_default();
    let from_tag = headers::value(req, "From")
        .and_then(|f| headers::param(&f, "tag"))
        .unwrap_or_default();
    let to_tag = headers::value(req, "To")
        .and_then(|t| headers::param(&t, "tag"))
        .unwrap_or_default();
    let call_id = headers::value(req, "Call-ID").unwrap_or_default();
    let cseq = headers::cseq(req).map(|(n, _)| n).unwrap_or(0);
    let input = format!(
        "{top_via}\n{call_id}\n{from_tag}\n{to_tag}\n{cseq}\n{}\n{target}",
        req.uri
    );
    format!(
        "z9hG4bK{:016x}{:016x}",
        fnv1a(input.as_bytes(), 0xcbf2_9ce4_8422_2325),
        fnv1a(input.as_bytes(), 0x8422_2325_cbf2_9ce4)
    )
}

fn fnv1a(bytes: &[u8], basis: u64) -> u64 {
    bytes.iter().fold(basis, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// RFC 3261 §16.6: the copy of `req` to send. `target` replaces the Request-URI (step 2, `None`
/// keeps it: in-dialog and loose-routed requests); `record_route` adds us to the route set of a
/// dialog-creating request (step 4). Max-Forwards must have been checked
/// ([`check_max_forwards`]) and our own Route entries popped ([`pop_own_routes`]).
pub fn forward(
    req: &Request,
    target: Option<&str>,
    record_route: bool,
    hop: &Hop,
) -> Result<Forwarded, Refusal> {
    let max_forwards = check_max_forwards(req)?;
    let mut out = req.clone();
    // Step 2: the Request-URI.
    if let Some(target) = target {
        out.uri = rsipstack::sip::Uri::try_from(target)
            .map_err(|_| Refusal::new(500, format!("Bad target URI {target:?}")))?;
    }
    // Step 3: Max-Forwards.
    out.headers
        .unique_push(Header::MaxForwards(untyped::MaxForwards::new(
            (max_forwards - 1).to_string(),
        )));
    // Step 6: a strict router on top (no `lr`): the Request-URI goes last in the route set and
    // the top Route becomes the Request-URI.
    let mut route_set = routes(&out);
    if let Some(top) = route_set.first()
        && headers::param(&format!(">{}", strip_brackets_params(top)), "lr").is_none()
    {
        let top = route_set.remove(0);
        let top_uri = headers::uri_of(&top)
            .ok_or_else(|| Refusal::new(400, format!("Bad Route header {top:?}")))?;
        route_set.push(format!("<{}>", out.uri));
        out.uri = rsipstack::sip::Uri::try_from(top_uri.as_str())
            .map_err(|_| Refusal::new(400, format!("Bad Route header {top:?}")))?;
        set_routes(&mut out, &route_set);
    }
    // Step 7: the next hop.
    let next_hop = match routes(&out).first() {
        Some(route) => headers::uri_of(route)
            .ok_or_else(|| Refusal::new(400, format!("Bad Route header {route:?}")))?,
        None => out.uri.to_string(),
    };
    // The transport it leaves on: the next hop's (`;transport=tcp`), UDP by default.
    let outbound = crate::node::destination_of(&next_hop)
        .and_then(|d| d.r#type)
        .unwrap_or(Transport::Udp);
    // Step 4: Record-Route, ours on top; two when the transport changes (RFC 5658 §3.2):
    // the upper one faces downstream, the lower one upstream.
    if record_route && creates_dialog(req) {
        let mut entries = vec![record_route_entry(&hop.sent_by, outbound)];
        if hop.inbound != outbound {
            entries.push(record_route_entry(&hop.sent_by, hop.inbound));
        }
        for entry in entries.into_iter().rev() {
            out.headers
                .push_front(Header::RecordRoute(untyped::RecordRoute::new(entry)));
        }
    }
    // Step 8: our Via on top.
    let via = format!(
        "SIP/2.0/{} {};branch={};rport",
        transport_token(outbound),
        hop.sent_by,
        branch(req, &next_hop)
    );
    out.headers.push_front(Header::Via(untyped::Via::new(via)));
    Ok(Forwarded {
        request: out,
        next_hop,
    })
}

/// The URI parameters of a Route entry, as `;a;b=c` text (for `lr`).
fn strip_brackets_params(entry: &str) -> String {
    let inner = match (entry.find('<'), entry.find('>')) {
        (Some(open), Some(close)) if close > open => &entry[open + 1..close],
        _ => entry,
    };
    inner
        .split_once(';')
        .map(|(_, params)| format!(";{params}"))
        .unwrap_or_default()
}

/// RFC 3261 §16.7: what to send upstream for a response received on our client transaction:
/// our top Via taken off (step 3). `None` for a 100 (hop by hop: we sent our own, §16.2) and for
/// a response with no Via left (it was ours, step 3).
pub fn upstream(resp: &Response) -> Option<Response> {
    if resp.status_code.code() == 100 {
        return None;
    }
    let mut vias = headers::all_values(resp, "Via");
    if vias.len() < 2 {
        return None;
    }
    vias.remove(0);
    let mut out = resp.clone();
    let at = out
        .headers
        .iter()
        .position(|h| matches!(h, Header::Via(_)))
        .unwrap_or(0);
    out.headers.retain(|h| !matches!(h, Header::Via(_)));
    for (i, v) in vias.into_iter().enumerate() {
        out.headers
            .0
            .insert(at + i, Header::Via(untyped::Via::new(v)));
    }
    Some(out)
}

/// RFC 3261 §16.7 step 6: the best final response of a response context. A 6xx wins over
/// everything after it (step 5 for 6xx on INVITE), else the lowest class seen (a 2xx is sent at
/// once by the caller and never waits here); a 503 is sent upstream as 500 (step 6: the
/// downstream's overload is not ours to report).
#[derive(Debug, Default, Clone)]
pub struct BestResponse {
    best: Option<Response>,
}

impl BestResponse {
    /// Offer a final response of one branch.
    pub fn offer(&mut self, resp: Response) {
        let code = resp.status_code.code();
        if code < 200 {
            return;
        }
        let better = match &self.best {
            None => true,
            Some(best) => {
                let held = best.status_code.code();
                match (held / 100, code / 100) {
                    (6, _) => false,
                    (_, 6) => true,
                    (h, c) => c < h,
                }
            }
        };
        if better {
            self.best = Some(resp);
        }
    }

    /// The response to send upstream once every branch has its final response.
    pub fn take(self) -> Option<Response> {
        self.best.map(|mut resp| {
            if resp.status_code.code() == 503 {
                resp.status_code = rsipstack::sip::StatusCode::ServerInternalError;
            }
            resp
        })
    }
}

/// RFC 3261 §9.1 / §16.10: the CANCEL of a request we forwarded: its Request-URI, Call-ID, To,
/// From, CSeq number and Route set; our top Via only (same branch), Max-Forwards 70.
pub fn cancel_of(forwarded: &Request) -> Request {
    let mut headers = Vec::new();
    if let Some(via) = headers::all_values(forwarded, "Via").into_iter().next() {
        headers.push(Header::Via(untyped::Via::new(via)));
    }
    headers.push(Header::MaxForwards(untyped::MaxForwards::new("70")));
    for route in routes(forwarded) {
        headers.push(Header::Route(untyped::Route::new(route)));
    }
    for name in ["From", "To", "Call-ID"] {
        if let Some(v) = headers::value(forwarded, name) {
            headers.push(make_header(name, v));
        }
    }
    let seq = headers::cseq(forwarded).map(|(n, _)| n).unwrap_or(1);
    headers.push(make_header("CSeq", format!("{seq} CANCEL")));
    headers.push(make_header("Content-Length", "0".to_string()));
    Request {
        method: Method::Cancel,
        uri: forwarded.uri.clone(),
        version: rsipstack::sip::Version::V2,
        headers: rsipstack::sip::Headers(headers),
        body: Vec::new(),
    }
}

#[cfg(test)]
mod tests;
