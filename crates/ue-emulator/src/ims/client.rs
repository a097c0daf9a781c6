//! Requests the IMS client sends: REGISTER, SUBSCRIBE (new and in-dialog), PUBLISH. Every
//! request goes to the configured proxy (the P-CSCF, or the presence server in direct mode).

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use corelab_sip::body::pidf::{self, Basic, Presence, Tuple};
use corelab_sip::build;
use corelab_sip::headers;
use corelab_sip::node::{SendOutcome, SipNode};
use corelab_sip::random_token;
use corelab_sip::rsipstack::sip::Transport;
use corelab_sip::rsipstack::transport::SipAddr;
use tokio_util::sync::CancellationToken;

use super::printable::printable;
use super::report_sources::ReportSources;
use super::state::{ClientState, Dialog, DialogLimits};

#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Public user identity, e.g. `sip:alice@lab.example`.
    pub aor: String,
    /// Outbound proxy / registrar address, e.g. `sip:127.0.0.1:5060`.
    pub proxy: SipAddr,
    pub transport: Transport,
    pub register_expires: u32,
    pub subscribe_expires: u32,
    /// Resources to subscribe to with `presence`.
    pub buddies: Vec<String>,
    /// Also subscribe to our own registration state (`reg`).
    pub watch_reg: bool,
    /// A short name for the lines printed on stdout.
    pub name: String,
    /// Who may send a subscription-failure report: the proxy, and `--report-from`.
    pub report_sources: ReportSources,
    /// How long and how many terminated dialogs are kept.
    pub dialog_limits: DialogLimits,
}

#[derive(Clone)]
pub struct ImsClient {
    pub cfg: Arc<ClientConfig>,
    pub sip: SipNode,
    pub state: Arc<Mutex<ClientState>>,
}

impl ImsClient {
    pub fn new(cfg: ClientConfig, sip: SipNode) -> ImsClient {
        let state = ClientState {
            limits: cfg.dialog_limits,
            ..Default::default()
        };
        ImsClient {
            cfg: Arc::new(cfg),
            sip,
            state: Arc::new(Mutex::new(state)),
        }
    }

    pub fn state(&self) -> MutexGuard<'_, ClientState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A line for the person watching the emulator, on stdout, and in the log; text from the
    /// network in it is shown escaped ([`printable`]), never sent raw to the terminal.
    pub fn say(&self, line: impl AsRef<str>) {
        let line = printable(line.as_ref());
        println!("[{}] {}", self.cfg.name, line);
        tracing::info!(ue = %self.cfg.name, "{}", line);
    }

    fn domain(&self) -> String {
        self.cfg
            .aor
            .split('@')
            .nth(1)
            .unwrap_or("lab.example")
            .to_string()
    }

    fn contact(&self) -> String {
        let user = self
            .cfg
            .aor
            .trim_start_matches("sip:")
            .split('@')
            .next()
            .unwrap_or("ue");
        self.sip.contact(user, self.cfg.transport)
    }

    async fn send(&self, req: build::RequestBuilder) -> SendOutcome {
        match req.build(&self.sip.via(self.cfg.transport)) {
            Ok(req) => self.sip.send(req, self.cfg.proxy.clone()).await,
            Err(e) => SendOutcome::Error(format!("request not buildable: {e}")),
        }
    }

    /// REGISTER with `expires` (0 de-registers); returns the final status (0 on timeout).
    pub async fn register(&self, expires: u32) -> u16 {
        let req = build::request("REGISTER", &format!("sip:{}", self.domain()))
            .header(
                "From",
                format!("<{}>;tag={}", self.cfg.aor, random_token(8)),
            )
            .header("To", format!("<{}>", self.cfg.aor))
            .header("Call-ID", format!("reg-{}", random_token(16)))
            .header("CSeq", "1 REGISTER")
            .header("Contact", format!("<{}>", self.contact()))
            .header("Expires", expires.to_string());
        let outcome = self.send(req).await;
        let status = status_of(&outcome);
        {
            let mut s = self.state();
            s.last_register_status = status;
            s.registered = outcome.is_success() && expires > 0;
        }
        self.say(format!("REGISTER expires={expires} -> {}", outcome.label()));
        status
    }

    /// Open a new subscription dialog to `resource` for `event`.
    pub async fn subscribe(&self, resource: &str, event: &str) -> u16 {
        let call_id = format!("sub-{}@{}", random_token(16), self.domain());
        let local_tag = random_token(8);
        self.state().dialogs.insert(
            call_id.clone(),
            Dialog::pending(resource, event, &call_id, &local_tag),
        );
        let req = build::request("SUBSCRIBE", resource)
            .header("From", format!("<{}>;tag={local_tag}", self.cfg.aor))
            .header("To", format!("<{resource}>"))
            .header("Call-ID", call_id.clone())
            .header("CSeq", "1 SUBSCRIBE")
            .header("Contact", format!("<{}>", self.contact()))
            .header("Event", event)
            .header("Expires", self.cfg.subscribe_expires.to_string());
        let outcome = self.send(req).await;
        self.on_subscribe_answer(&call_id, &outcome);
        self.say(format!(
            "SUBSCRIBE {event} {resource} -> {}",
            outcome.label()
        ));
        status_of(&outcome)
    }

    fn on_subscribe_answer(&self, call_id: &str, outcome: &SendOutcome) {
        let mut s = self.state();
        let Some(dialog) = s.dialogs.get_mut(call_id) else {
            return;
        };
        match outcome {
            SendOutcome::Final(resp) if resp.status_code.code() < 300 => {
                if let Some(to) = headers::value(resp.as_ref(), "To") {
                    dialog.remote_tag = headers::param(&to, "tag").or(dialog.remote_tag.take());
                }
                if let Some(target) = headers::contact_uri(resp.as_ref()) {
                    dialog.remote_target = Some(target);
                }
                let mut routes = headers::all_values(resp.as_ref(), "Record-Route");
                routes.reverse();
                dialog.route_set = routes;
                if dialog.state == "pending" {
                    dialog.state = "active".into();
                }
            }
            _ => {
                let reason = format!("SUBSCRIBE {}", outcome.label());
                s.end_dialog(call_id, &reason, Instant::now());
            }
        }
    }

    /// Refresh an active dialog; a 481 means the server lost it: subscribe anew (RFC 6665
    /// §4.1.2.2).
    pub async fn refresh(&self, call_id: &str) {
        let Some(dialog) = self.state().dialogs.get_mut(call_id).map(|d| {
            d.cseq += 1;
            d.clone()
        }) else {
            return;
        };
        let (Some(remote_tag), Some(target)) = (&dialog.remote_tag, &dialog.remote_target) else {
            return;
        };
        let req = build::request("SUBSCRIBE", target)
            .header_opt(
                "Route",
                (!dialog.route_set.is_empty()).then(|| dialog.route_set.join(", ")),
            )
            .header(
                "From",
                format!("<{}>;tag={}", self.cfg.aor, dialog.local_tag),
            )
            .header("To", format!("<{}>;tag={remote_tag}", dialog.resource))
            .header("Call-ID", call_id.to_string())
            .header("CSeq", format!("{} SUBSCRIBE", dialog.cseq))
            .header("Contact", format!("<{}>", self.contact()))
            .header("Event", dialog.event.clone())
            .header("Expires", self.cfg.subscribe_expires.to_string());
        let outcome = self.send(req).await;
        if status_of(&outcome) == 481 {
            self.say(format!(
                "refresh of {} {} got 481: subscribing anew",
                dialog.event, dialog.resource
            ));
            self.state()
                .end_dialog(call_id, "refresh got 481", Instant::now());
            self.subscribe(&dialog.resource, &dialog.event).await;
        }
    }

    /// PUBLISH our presence (RFC 3903): initial, or modify with SIP-If-Match.
    pub async fn publish(&self, basic: Basic, note: &str) -> u16 {
        let doc = Presence {
            entity: self.cfg.aor.clone(),
            tuples: vec![Tuple {
                id: "ue".into(),
                basic,
                note: (!note.is_empty()).then(|| note.to_string()),
            }],
        };
        let etag = self.state().publish_etag.clone();
        let req = build::request("PUBLISH", &self.cfg.aor)
            .header(
                "From",
                format!("<{}>;tag={}", self.cfg.aor, random_token(8)),
            )
            .header("To", format!("<{}>", self.cfg.aor))
            .header("Call-ID", format!("pub-{}", random_token(16)))
            .header("CSeq", "1 PUBLISH")
            .header("Event", "presence")
            .header("Expires", self.cfg.register_expires.to_string())
            .header_opt("SIP-If-Match", etag)
            .body(pidf::CONTENT_TYPE, doc.to_xml());
        let outcome = self.send(req).await;
        if let SendOutcome::Final(resp) = &outcome {
            let mut s = self.state();
            if resp.status_code.code() < 300 {
                s.publish_etag = headers::value(resp.as_ref(), "SIP-ETag");
            } else if resp.status_code.code() == 412 {
                s.publish_etag = None;
            }
        }
        self.say(format!("PUBLISH {} -> {}", basic.as_str(), outcome.label()));
        status_of(&outcome)
    }

    /// Register, then subscribe to every buddy (and our own `reg` if asked).
    pub async fn start(&self) {
        self.register(self.cfg.register_expires).await;
        if self.cfg.watch_reg {
            self.subscribe(&self.cfg.aor.clone(), "reg").await;
        }
        for buddy in self.cfg.buddies.clone() {
            self.state().buddies.entry(buddy.clone()).or_default().basic = "unknown".into();
            self.subscribe(&buddy, "presence").await;
        }
    }

    /// Refresh the registration and active subscriptions at ~80 % of their lifetime.
    pub async fn refresh_loop(&self, cancel: CancellationToken) {
        let period = |secs: u32| Duration::from_millis(u64::from(secs.max(2)) * 800);
        let mut reg = tokio::time::interval(period(self.cfg.register_expires));
        let mut sub = tokio::time::interval(period(self.cfg.subscribe_expires));
        // Terminated dialogs are also dropped on every incoming request; this covers a quiet UE.
        let mut prune = tokio::time::interval(
            (self.cfg.dialog_limits.linger / 2)
                .clamp(Duration::from_millis(100), Duration::from_secs(5)),
        );
        reg.tick().await;
        sub.tick().await;
        loop {
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = prune.tick() => self.state().prune(Instant::now()),
                _ = reg.tick() => {
                    if self.state().registered {
                        self.register(self.cfg.register_expires).await;
                    }
                }
                _ = sub.tick() => {
                    let active: Vec<String> = self.state().dialogs.values()
                        .filter(|d| d.state == "active").map(|d| d.call_id.clone()).collect();
                    for call_id in active {
                        self.refresh(&call_id).await;
                    }
                }
            }
        }
    }
}

fn status_of(outcome: &SendOutcome) -> u16 {
    match outcome {
        SendOutcome::Final(r) => r.status_code.code(),
        _ => 0,
    }
}
