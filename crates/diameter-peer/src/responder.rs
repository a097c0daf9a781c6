//! The request handler of `server` (and of `client --wait-requests`): answers
//! each application request from the answers file, prints what it receives and
//! sends, and for `--send-after-answer` sends a request of its own (RAR, ASR)
//! back over the same connection once the answer is out.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, bail};
use corelab_diameter::codes::avp;
use corelab_diameter::{DiameterError, ResultCode};
use corelab_diameter::{Dictionary, Header, Message, error_answer};
use corelab_diameter_node::{PeerHandle, PeerId, RequestHandler};
use tokio::sync::Notify;
use tracing::{info, warn};

use crate::answers::{self, outcome};
use crate::checks::{Validation, check_request, has_m_bit_violation};
use crate::files::{self, AnswerTemplate, RequestTemplate, Vars, command_matches};
use crate::print;

/// Which requests a `--send-after-answer` rule follows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommandMatch {
    /// Command Code.
    pub code: u32,
    /// For `CCR-I`/`CCR-U`/`CCR-T`/`CCR-E`: the CC-Request-Type (RFC 4006 §8.3).
    pub cc_request_type: Option<i32>,
}

impl CommandMatch {
    /// Parses `Credit-Control`, `CCR`, `272`, or `CCR-I` (also `-U`, `-T`, `-E`).
    pub fn parse(s: &str) -> anyhow::Result<CommandMatch> {
        let dict = Dictionary::standard();
        let upper = s.to_ascii_uppercase();
        let typed = [("-I", 1), ("-U", 2), ("-T", 3), ("-E", 4)]
            .iter()
            .find_map(|(suffix, t)| {
                upper
                    .strip_suffix(suffix)
                    .map(|base| (base.to_string(), *t))
            });
        if let Some((base, t)) = typed {
            if base == "CCR" || base == "CREDIT-CONTROL" {
                return Ok(CommandMatch {
                    code: 272,
                    cc_request_type: Some(t),
                });
            }
        }
        let code = match s.parse::<u32>() {
            Ok(n) => n,
            Err(_) => match command_matches(dict, s).first() {
                Some((c, _)) => *c,
                None => bail!("{s:?} is not a command (e.g. Credit-Control, CCR, CCR-I, AA, 272)"),
            },
        };
        Ok(CommandMatch {
            code,
            cc_request_type: None,
        })
    }

    fn matches(&self, msg: &Message<'_>) -> bool {
        msg.header().command_code == self.code
            && self
                .cc_request_type
                .is_none_or(|t| msg.find(416, 0).and_then(|a| a.as_i32().ok()) == Some(t))
    }
}

/// A `--send-after-answer CMD=FILE` rule.
#[derive(Clone, Debug)]
pub struct AfterAnswer {
    /// After answering these requests...
    pub when: CommandMatch,
    /// ...send these (in order, each after the previous one's answer).
    pub requests: Vec<RequestTemplate>,
}

impl AfterAnswer {
    /// Parses `CMD=FILE` and loads FILE.
    pub fn parse(s: &str) -> anyhow::Result<AfterAnswer> {
        let (cmd, file) = s
            .split_once('=')
            .with_context(|| format!("--send-after-answer {s:?}: expected CMD=FILE"))?;
        let when = CommandMatch::parse(cmd).context("--send-after-answer")?;
        let requests = files::load_requests(Path::new(file), Dictionary::standard())?;
        Ok(AfterAnswer { when, requests })
    }
}

/// How much the responder prints per message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Output {
    /// Nothing.
    Quiet,
    /// One summary line.
    Lines,
    /// The summary line and the message decoded by name.
    Full,
}

impl Output {
    fn message(self, prefix: &str, bytes: &[u8]) {
        match self {
            Output::Quiet => {}
            Output::Lines => print::message(prefix, bytes, false),
            Output::Full => print::message(prefix, bytes, true),
        }
    }
}

/// The `--send-after-answer` rules (by index) one answered request matched.
type FollowUps = Vec<(usize, RequestOrigin)>;

/// Answers application requests; counts them.
pub struct Responder {
    answers: Vec<AnswerTemplate>,
    after: Vec<AfterAnswer>,
    origin_host: String,
    origin_realm: String,
    output: Output,
    validation: Validation,
    answered: AtomicU64,
    pending_after: AtomicU64,
    after_failed: AtomicU64,
    /// `--send-after-answer` rules matched by a request whose answer is not
    /// yet queued, by connection and Hop-by-Hop id; sent from
    /// [`RequestHandler::answer_queued`] so they follow the answer.
    follow_ups: Mutex<HashMap<(PeerId, u32), FollowUps>>,
    /// Woken after every answer sent and every after-answer exchange done.
    pub changed: Notify,
}

impl Responder {
    /// A responder printing per `output`; requests are checked per `validation`
    /// first (RFC 6733 §7 errors answered as such).
    pub fn new(
        answers: Vec<AnswerTemplate>,
        after: Vec<AfterAnswer>,
        origin_host: &str,
        origin_realm: &str,
        output: Output,
        validation: Validation,
    ) -> Arc<Responder> {
        Arc::new(Responder {
            validation,
            answers,
            after,
            origin_host: origin_host.to_string(),
            origin_realm: origin_realm.to_string(),
            output,
            answered: AtomicU64::new(0),
            pending_after: AtomicU64::new(0),
            after_failed: AtomicU64::new(0),
            follow_ups: Mutex::new(HashMap::new()),
            changed: Notify::new(),
        })
    }

    /// Application requests answered so far.
    pub fn answered(&self) -> u64 {
        self.answered.load(Ordering::SeqCst)
    }

    /// `--send-after-answer` requests still waiting for their answer.
    pub fn pending_after(&self) -> u64 {
        self.pending_after.load(Ordering::SeqCst)
    }

    /// `--send-after-answer` requests that got no answer or a non-2xxx one.
    pub fn after_failed(&self) -> u64 {
        self.after_failed.load(Ordering::SeqCst)
    }

    /// Waits until `cond` holds (checked after each change) or `limit` passes.
    pub async fn wait_until(&self, limit: Duration, cond: impl Fn(&Responder) -> bool) -> bool {
        let now = tokio::time::Instant::now();
        let deadline = now
            .checked_add(limit)
            .unwrap_or(now + Duration::from_secs(365 * 86_400));
        loop {
            let notified = self.changed.notified();
            if cond(self) {
                return true;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return cond(self);
            }
        }
    }

    /// The answer, and whether the request was valid (not answered with an error).
    fn answer(&self, request: &[u8]) -> Option<(Vec<u8>, bool)> {
        let msg = Message::decode(request).ok()?;
        // --validate (adapter, see checks.rs): the RFC 6733 §7 error answer.
        if self.validation != Validation::Off
            && let Err(e) = check_request(&msg, self.validation == Validation::Strict)
        {
            warn!(
                result_code = e.code.0,
                reason = %e.reason,
                session_id = msg.session_id().unwrap_or(""),
                "invalid request: answered with its error"
            );
            let a = error_answer(request, &e, &self.origin_host, &self.origin_realm)?.ok()?;
            return Some((a, false));
        }
        if self.validation == Validation::Tolerant && has_m_bit_violation(&msg) {
            info!(
                session_id = msg.session_id().unwrap_or(""),
                "an AVP's M bit is against its dictionary rule (tolerated; --strict-flags answers 3009)"
            );
        }
        let t = answers::select(&self.answers, &msg);
        match answers::build(&msg, t, &self.origin_host, &self.origin_realm) {
            Ok(a) => Some((a, true)),
            Err(e) => {
                warn!(error = %e, "cannot build the configured answer: 5012");
                let err = DiameterError::new(ResultCode::DIAMETER_UNABLE_TO_COMPLY, e);
                let a = error_answer(request, &err, &self.origin_host, &self.origin_realm)?.ok()?;
                Some((a, false))
            }
        }
    }

    /// Sends rule `rule`'s requests back over `from`. `${peer_host}`/`${peer_realm}` are the
    /// answered request's Origin-Host/Realm (the client, even behind a relay), not the
    /// connection's peer.
    /// Runs once the answer is queued ([`RequestHandler::answer_queued`]),
    /// so the requests follow it on the wire.
    async fn send_after(self: Arc<Self>, rule: usize, origin: RequestOrigin, from: PeerHandle) {
        let vars = Vars {
            session: &origin.session,
            origin_host: &self.origin_host,
            origin_realm: &self.origin_realm,
            peer_host: &origin.host,
            peer_realm: &origin.realm,
        };
        for t in &self.after[rule].requests {
            let req = match t
                .build(&vars)
                .and_then(|b| b.encode().map_err(|e| e.to_string()))
            {
                Ok(r) => r,
                Err(e) => {
                    warn!(request = t.index, error = %e, "--send-after-answer: cannot build");
                    self.after_failed.fetch_add(1, Ordering::SeqCst);
                    continue;
                }
            };
            self.output.message(">> send", &req);
            match from.request_bytes(req).await {
                Ok(a) => {
                    self.output.message("<< recv", &a);
                    let ok = Message::decode(&a)
                        .ok()
                        .is_some_and(|m| answers::is_expected(outcome(&m), None));
                    if !ok {
                        self.after_failed.fetch_add(1, Ordering::SeqCst);
                    }
                }
                Err(e) => {
                    warn!(request = t.index, error = %e, "--send-after-answer: no answer");
                    print::out(&format!("!! no answer to {}: {e}", t.name));
                    self.after_failed.fetch_add(1, Ordering::SeqCst);
                }
            }
        }
        self.pending_after.fetch_sub(1, Ordering::SeqCst);
        self.changed.notify_waiters();
    }
}

/// Who sent an answered request: its Session-Id, Origin-Host and Origin-Realm (falling back to
/// the connection's peer when an AVP is missing).
#[derive(Clone)]
struct RequestOrigin {
    session: String,
    host: String,
    realm: String,
}

impl RequestOrigin {
    fn of(msg: &Message<'_>, from: &PeerHandle) -> RequestOrigin {
        let identity = |code| msg.find(code, 0).and_then(|a| a.as_identity().ok());
        RequestOrigin {
            session: msg.session_id().unwrap_or("").to_string(),
            host: identity(avp::ORIGIN_HOST)
                .unwrap_or(from.origin_host())
                .to_string(),
            realm: identity(avp::ORIGIN_REALM)
                .unwrap_or(from.origin_realm())
                .to_string(),
        }
    }
}

/// The handler the node calls; a newtype so the `Arc<Responder>` can spawn.
pub struct Handler(pub Arc<Responder>);

#[async_trait::async_trait]
impl RequestHandler for Handler {
    async fn handle(&self, request: Vec<u8>, from: PeerHandle) -> Option<Vec<u8>> {
        let r = &self.0;
        r.output.message("<< recv", &request);
        let (answer, valid) = r.answer(&request)?;
        r.output.message(">> sent", &answer);
        if valid && let Ok(msg) = Message::decode(&request) {
            let origin = RequestOrigin::of(&msg, &from);
            let rules: FollowUps = r
                .after
                .iter()
                .enumerate()
                .filter(|(_, rule)| rule.when.matches(&msg))
                .map(|(i, _)| (i, origin.clone()))
                .collect();
            if !rules.is_empty() {
                let key = (from.peer_id(), msg.header().hop_by_hop);
                r.pending_after
                    .fetch_add(rules.len() as u64, Ordering::SeqCst);
                lock(&r.follow_ups).insert(key, rules);
            }
        }
        Some(answer)
    }

    fn answer_queued(&self, answer: &Header, from: &PeerHandle) {
        let r = &self.0;
        let key = (from.peer_id(), answer.hop_by_hop);
        if let Some(rules) = lock(&r.follow_ups).remove(&key) {
            for (i, origin) in rules {
                info!(session = %origin.session, "--send-after-answer: sending {}", r.after[i].requests[0].name);
                tokio::spawn(r.clone().send_after(i, origin, from.clone()));
            }
        }
        r.answered.fetch_add(1, Ordering::SeqCst);
        r.changed.notify_waiters();
    }
}

/// The follow-ups table, even after a panic elsewhere poisoned its lock.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_match_forms() {
        let ccr_i = CommandMatch {
            code: 272,
            cc_request_type: Some(1),
        };
        assert_eq!(CommandMatch::parse("CCR-I").unwrap(), ccr_i);
        assert_eq!(
            CommandMatch::parse("credit-control-t")
                .unwrap()
                .cc_request_type,
            Some(3)
        );
        for s in [
            "Credit-Control",
            "CCR",
            "CCA",
            "272",
            "Credit-Control-Request",
        ] {
            assert_eq!(
                CommandMatch::parse(s).unwrap(),
                CommandMatch {
                    code: 272,
                    cc_request_type: None
                },
                "{s}"
            );
        }
        assert_eq!(CommandMatch::parse("AA").unwrap().code, 265);
        assert!(CommandMatch::parse("Credit").is_err());
    }
}
