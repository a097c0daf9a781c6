//! The PCRF's Diameter application: Gx, Gxx and Rx as server, S9 as server (hPCRF) and, for a
//! roaming UE at the vPCRF, the S9 side of every client session. Reads top to bottom as the
//! procedures of docs/pcrf.md:
//!
//! - Gx / Gxx CCR-I: (roaming) attach to the UE's S9 session as a subsession, then CCA-I with
//!   the policy ([`crate::policy`]); CCR-U: 2001; CCR-T: the fan-out ([`crate::fanout`]), the
//!   loss of bearer towards the AF sessions of an ending IP-CAN session, then CCA-T.
//! - Rx AAR: bind to the Gx session by Framed-IP-Address, (roaming) attach as a subsession,
//!   AAA, then a Gx RAR installing the media component's rule; STR: the fan-out, a RAR
//!   removing the rule, STA.
//! - S9 CCR (hPCRF): subsessions established, modified, terminated; CCR-T ends the S9 session.
//! - A Session-Id we do not hold: 5002 DIAMETER_UNKNOWN_SESSION_ID.

use corelab_diameter::codes::{VENDOR_3GPP, app, avp, cmd};
use corelab_diameter::{AvpBuf, DiameterError, MessageBuilder, ResultCode};
use corelab_diameter_node::{Application, Refusal, Request};
use tracing::{info, warn};

use crate::Pcrf;
use crate::fanout::{self, S9Action, S9Link};
use crate::metrics::{self, count};
use crate::policy;
use crate::request::{
    CC_REQUEST_NUMBER, CC_REQUEST_TYPE, CcRequestType, Interface, PcrfRequest,
    SUBSESSION_DECISION_INFO, SUBSESSION_ID, SubsessionOperation,
};
use crate::s9::{self, S9Kind, S9Request};
use crate::store::SessionRow;

/// Re-Auth-Request-Type AUTHORIZE_ONLY (RFC 6733 §8.12).
const RE_AUTH_REQUEST_TYPE: u32 = 285;
/// Specific-Action (TS 29.214 §5.3.16) INDICATION_OF_LOSS_OF_BEARER.
const SPECIFIC_ACTION: u32 = 513;
const INDICATION_OF_LOSS_OF_BEARER: i32 = 2;
/// Experimental-Result-Code IP-CAN_SESSION_NOT_AVAILABLE (TS 29.214 §5.5.3).
const IP_CAN_SESSION_NOT_AVAILABLE: u32 = 5065;

fn refuse(code: ResultCode, reason: impl Into<String>) -> Refusal {
    count(metrics::REJECTED, "result_code", code.0.to_string());
    Refusal::Result(DiameterError::new(code, reason))
}

fn store_error(e: sqlx::Error) -> Refusal {
    warn!(error = %e, "store error: 3004");
    refuse(ResultCode::DIAMETER_TOO_BUSY, format!("store: {e}"))
}

fn unknown(session_id: &str) -> Refusal {
    refuse(
        ResultCode::DIAMETER_UNKNOWN_SESSION_ID,
        format!("no session {session_id}"),
    )
}

/// The start of a CCA: Auth-Application-Id, CC-Request-Type and -Number of the request.
fn cca(req: &Request<'_>, r: &PcrfRequest) -> MessageBuilder {
    let avps = req.message.avps();
    let mut b = req
        .answer(ResultCode::DIAMETER_SUCCESS)
        .avp(AvpBuf::u32(avp::AUTH_APPLICATION_ID, r.interface.application_id()).mandatory());
    for code in [CC_REQUEST_TYPE, CC_REQUEST_NUMBER] {
        if let Some(a) = avps.get(code, 0) {
            b.push(AvpBuf::from_avp(&a));
        }
    }
    b
}

#[async_trait::async_trait]
impl Application for Pcrf {
    async fn request(&self, req: &Request<'_>) -> Result<MessageBuilder, Refusal> {
        let Some(r) = PcrfRequest::read(&req.message) else {
            return Err(refuse(
                ResultCode::DIAMETER_APPLICATION_UNSUPPORTED,
                "not Gx, Gxx, Rx or S9",
            ));
        };
        let command = req.message.header().command_code;
        match (r.interface, command) {
            (Interface::S9, cmd::CREDIT_CONTROL) => self.s9_server(req, &r).await,
            (Interface::Gx | Interface::Gxx, cmd::CREDIT_CONTROL) => match r.cc_request_type {
                Some(CcRequestType::Initial) => self.client_initial(req, &r).await,
                Some(CcRequestType::Termination) => self.client_termination(req, &r).await,
                _ => self.client_update(req, &r).await,
            },
            (Interface::Rx, cmd::AA) => self.aar(req, &r).await,
            (Interface::Rx, cmd::SESSION_TERMINATION) => self.str_(req, &r).await,
            _ => Err(refuse(
                ResultCode::DIAMETER_COMMAND_UNSUPPORTED,
                "command not served by the PCRF",
            )),
        }
    }
}

impl Pcrf {
    fn client_row(&self, r: &PcrfRequest) -> SessionRow {
        SessionRow {
            session_id: r.session_id.clone(),
            interface: r.interface.name().into(),
            origin_host: r.origin_host.clone(),
            origin_realm: r.origin_realm.clone(),
            nai: r.keys.nai.clone(),
            ipv4: r.keys.ipv4.clone(),
            apn: r.keys.apn.clone(),
            created_ms: corelab_runtime::now_ms(),
            ..SessionRow::default()
        }
    }

    /// Gx / Gxx CCR-I (TS 29.212 §4.5.1, §4a.5.1).
    async fn client_initial(
        &self,
        req: &Request<'_>,
        r: &PcrfRequest,
    ) -> Result<MessageBuilder, Refusal> {
        if self
            .store
            .get(&r.session_id)
            .await
            .map_err(store_error)?
            .is_none()
        {
            let mut row = self.client_row(r);
            if self.cfg.is_roaming(&row.nai) {
                let (s2, sub) = self.attach_to_s9(&row).await?;
                row.s9_session_id = s2;
                row.subsession_id = sub.into();
            }
            self.store.insert(&row).await.map_err(store_error)?;
            count(metrics::ESTABLISHED, "interface", row.interface.clone());
            info!(session_id = %r.session_id, interface = %row.interface, nai = %row.nai,
                  ipv4 = %row.ipv4, s9_session_id = %row.s9_session_id, "session established");
        }
        let mut b = cca(req, r);
        for a in policy::establishment(&self.cfg.policy, r.interface == Interface::Gx) {
            b.push(a);
        }
        Ok(b)
    }

    /// Gx / Gxx CCR-U (and CCR-E): 2001 for a session we hold.
    async fn client_update(
        &self,
        req: &Request<'_>,
        r: &PcrfRequest,
    ) -> Result<MessageBuilder, Refusal> {
        match self.store.get(&r.session_id).await.map_err(store_error)? {
            Some(_) => Ok(cca(req, r)),
            None => Err(unknown(&r.session_id)),
        }
    }

    /// Gx / Gxx CCR-T: home first (the fan-out), then, for an IP-CAN session, the loss of
    /// bearer to every AF session bound to it; the client is answered after home acknowledged.
    async fn client_termination(
        &self,
        req: &Request<'_>,
        r: &PcrfRequest,
    ) -> Result<MessageBuilder, Refusal> {
        let Some(row) = self.store.get(&r.session_id).await.map_err(store_error)? else {
            return Err(unknown(&r.session_id));
        };
        self.terminate_client(&row).await?;
        if r.interface == Interface::Gx {
            let rx: Vec<(String, String)> = self
                .store
                .rx_of_gx(&row.session_id)
                .await
                .map_err(store_error)?
                .into_iter()
                .map(|s| (s.session_id, s.gx_session_id))
                .collect();
            for af in fanout::loss_of_bearer(&row.session_id, &rx) {
                self.spawn_loss_of_bearer(af.to_string());
            }
        }
        Ok(cca(req, r))
    }

    /// Rx AAR (TS 29.214 §4.4.1): bound to the IP-CAN session of its Framed-IP-Address; the
    /// media component's rule is installed on the PCEF by a Gx RAR.
    async fn aar(&self, req: &Request<'_>, r: &PcrfRequest) -> Result<MessageBuilder, Refusal> {
        let answer = || {
            req.answer(ResultCode::DIAMETER_SUCCESS)
                .avp(AvpBuf::u32(avp::AUTH_APPLICATION_ID, app::RX).mandatory())
        };
        if self
            .store
            .get(&r.session_id)
            .await
            .map_err(store_error)?
            .is_some()
        {
            return Ok(answer()); // a modification of the AF session, or a retransmission
        }
        let Some(gx) = self
            .store
            .gx_of_ipv4(&r.keys.ipv4)
            .await
            .map_err(store_error)?
        else {
            count(
                metrics::REJECTED,
                "result_code",
                IP_CAN_SESSION_NOT_AVAILABLE.to_string(),
            );
            return Err(Refusal::Experimental {
                vendor_id: VENDOR_3GPP,
                code: IP_CAN_SESSION_NOT_AVAILABLE,
                reason: format!("no IP-CAN session for {:?}", r.keys.ipv4),
            });
        };
        let mut row = self.client_row(r);
        row.gx_session_id = gx.session_id.clone();
        if row.nai.is_empty() {
            row.nai = gx.nai.clone();
        }
        if row.apn.is_empty() {
            row.apn = gx.apn.clone();
        }
        if !gx.s9_session_id.is_empty() {
            let (s2, sub) = self.attach_to_s9(&row).await?;
            row.s9_session_id = s2;
            row.subsession_id = sub.into();
        }
        self.store.insert(&row).await.map_err(store_error)?;
        count(metrics::ESTABLISHED, "interface", "rx".into());
        info!(session_id = %r.session_id, gx_session_id = %gx.session_id, "AF session bound to its IP-CAN session");
        let rule = policy::media_rule_install(&self.cfg.policy, &r.session_id);
        self.spawn_gx_rar(gx, rule, "media_rule_install");
        Ok(answer())
    }

    /// Rx STR (TS 29.214 §4.4.4): home first, then the media rule removed from the PCEF.
    async fn str_(&self, req: &Request<'_>, r: &PcrfRequest) -> Result<MessageBuilder, Refusal> {
        let Some(row) = self.store.get(&r.session_id).await.map_err(store_error)? else {
            return Err(unknown(&r.session_id));
        };
        self.terminate_client(&row).await?;
        if let Ok(Some(gx)) = self.store.get(&row.gx_session_id).await {
            self.spawn_gx_rar(
                gx,
                policy::media_rule_remove(&row.session_id),
                "media_rule_remove",
            );
        }
        Ok(req.answer(ResultCode::DIAMETER_SUCCESS))
    }

    /// A client session (Gx, Gxx, Rx) ends: the seed's fan-out towards home
    /// ([`fanout::on_client_termination`]), then its row (and with the last one the S9 session)
    /// deleted. Home's failure is logged and counted; the client's session ends all the same.
    async fn terminate_client(&self, row: &SessionRow) -> Result<(), Refusal> {
        let link = S9Link {
            s9_session_id: row.s9_session_id.clone(),
            subsession_id: u32::try_from(row.subsession_id).unwrap_or(0),
        };
        let others = if link.s9_session_id.is_empty() {
            0
        } else {
            self.store
                .clients_of(&link.s9_session_id)
                .await
                .map_err(store_error)?
                .iter()
                .filter(|s| s.session_id != row.session_id)
                .count()
        };
        let action = fanout::on_client_termination(&link, others);
        let (kind, s2, sub) = match &action {
            S9Action::None => (None, String::new(), 0),
            S9Action::TerminateSubsession {
                s9_session_id,
                subsession_id,
            } => (
                Some(S9Kind::SubsessionTermination),
                s9_session_id.clone(),
                *subsession_id,
            ),
            S9Action::TerminateS9 {
                s9_session_id,
                subsession_id,
            } => (
                Some(S9Kind::Termination),
                s9_session_id.clone(),
                *subsession_id,
            ),
        };
        if let Some(kind) = kind {
            let s9row = self.store.get(&s2).await.map_err(store_error)?;
            let number = self.store.next_subsession_id(&s2).await.unwrap_or(0);
            let request = S9Request {
                kind,
                s9_session_id: s2.clone(),
                request_number: number,
                subsession_id: sub,
                keys: Default::default(),
                client_session_ids: vec![row.session_id.clone()],
            };
            let hpcrf = s9row.as_ref().map_or("", |s| s.hpcrf_host.as_str());
            self.s9_exchange(&request, hpcrf).await.ok();
            if kind == S9Kind::Termination {
                self.store.delete(&s2).await.map_err(store_error)?;
                count(metrics::TERMINATED, "interface", "s9".into());
            }
        }
        self.store
            .delete(&row.session_id)
            .await
            .map_err(store_error)?;
        count(metrics::TERMINATED, "interface", row.interface.clone());
        info!(session_id = %row.session_id, interface = %row.interface, action = ?action, "session terminated");
        Ok(())
    }

    /// Sends an S9 request, counting and logging; `Err` when home did not answer 2xxx.
    async fn s9_exchange(&self, r: &S9Request, hpcrf: &str) -> Result<s9::S9Answer, Refusal> {
        match s9::send(self, r, hpcrf).await {
            Ok(a) if a.is_success() => {
                ::metrics::counter!(metrics::S9_REQUESTS, "kind" => r.kind.name(), "path" => a.hdra_mode)
                    .increment(1);
                Ok(a)
            }
            Ok(a) => {
                ::metrics::counter!(metrics::S9_FAILURES).increment(1);
                warn!(session_id = %r.s9_session_id, kind = r.kind.name(), result_code = a.result_code, "S9 request refused by home");
                Err(refuse(
                    ResultCode::DIAMETER_UNABLE_TO_COMPLY,
                    format!("S9 {}: home answered {}", r.kind.name(), a.result_code),
                ))
            }
            Err(e) => {
                ::metrics::counter!(metrics::S9_FAILURES).increment(1);
                warn!(session_id = %r.s9_session_id, kind = r.kind.name(), error = %e, "S9 request failed");
                Err(refuse(
                    ResultCode::DIAMETER_UNABLE_TO_COMPLY,
                    format!("S9 {}: {e}", r.kind.name()),
                ))
            }
        }
    }

    /// A roaming UE's client session joins the UE's S9 session as a subsession (TS 29.215
    /// §4.5.1.1): S9 CCR-I when the UE has none (S1 → S2 recorded with the hPCRF and the hDRA's
    /// behaviour), else CCR-U with subsession ESTABLISHMENT. (S2, Subsession-Id).
    async fn attach_to_s9(&self, client: &SessionRow) -> Result<(String, u32), Refusal> {
        let existing = self
            .store
            .s9_of_nai(&client.nai)
            .await
            .map_err(store_error)?;
        let mut request = S9Request {
            kind: S9Kind::Initial,
            s9_session_id: String::new(),
            request_number: 0,
            subsession_id: 1,
            keys: crate::request::UeKeys {
                nai: client.nai.clone(),
                ipv4: client.ipv4.clone(),
                apn: client.apn.clone(),
            },
            client_session_ids: vec![client.session_id.clone()],
        };
        match existing {
            Some(s9row) => {
                let sub = self
                    .store
                    .next_subsession_id(&s9row.session_id)
                    .await
                    .map_err(store_error)?;
                request.kind = S9Kind::SubsessionEstablishment;
                request.s9_session_id = s9row.session_id.clone();
                request.request_number = sub;
                request.subsession_id = sub;
                self.s9_exchange(&request, &s9row.hpcrf_host).await?;
                Ok((s9row.session_id, sub))
            }
            None => {
                request.s9_session_id = s9::new_session_id(&self.cfg.diameter.origin_host);
                let a = self.s9_exchange(&request, "").await?;
                let s9row = SessionRow {
                    session_id: request.s9_session_id.clone(),
                    interface: "s9".into(),
                    origin_host: self.cfg.diameter.origin_host.clone(),
                    origin_realm: self.cfg.diameter.origin_realm.clone(),
                    nai: client.nai.clone(),
                    ipv4: client.ipv4.clone(),
                    apn: client.apn.clone(),
                    subsession_id: 1,
                    hpcrf_host: a.origin_host.clone(),
                    hdra_mode: a.hdra_mode.into(),
                    created_ms: corelab_runtime::now_ms(),
                    ..SessionRow::default()
                };
                self.store.insert(&s9row).await.map_err(store_error)?;
                count(metrics::ESTABLISHED, "interface", "s9".into());
                info!(s9_session_id = %s9row.session_id, client_session_id = %client.session_id,
                      hpcrf = %a.origin_host, hdra_mode = a.hdra_mode, "S9 session established (S1 -> S2)");
                Ok((request.s9_session_id, 1))
            }
        }
    }

    /// S9 CCR at the hPCRF (TS 29.215 §4.5.1): CCR-I records the S9 session and its
    /// subsessions; CCR-U establishes, modifies or terminates subsessions; CCR-T ends the S9
    /// session with its subsessions.
    async fn s9_server(
        &self,
        req: &Request<'_>,
        r: &PcrfRequest,
    ) -> Result<MessageBuilder, Refusal> {
        let s2 = &r.session_id;
        let known = self.store.get(s2).await.map_err(store_error)?;
        match r.cc_request_type {
            Some(CcRequestType::Initial) if known.is_none() => {
                let row = SessionRow {
                    interface: "s9".into(),
                    ..self.client_row(r)
                };
                self.store.insert(&row).await.map_err(store_error)?;
                count(metrics::ESTABLISHED, "interface", "s9".into());
            }
            Some(CcRequestType::Initial) => {}
            Some(CcRequestType::Termination) => {
                if known.is_none() {
                    return Err(unknown(s2));
                }
                let n = self.store.delete_s9(s2).await.map_err(store_error)?;
                count(metrics::TERMINATED, "interface", "s9".into());
                info!(s9_session_id = %s2, rows = n, "S9 session terminated");
                return Ok(cca(req, r));
            }
            _ if known.is_none() => return Err(unknown(s2)),
            _ => {}
        }
        let mut b = cca(req, r);
        for (i, sub) in r.subsessions.iter().enumerate() {
            let id = format!("{s2};sub={}", sub.id);
            match sub.operation {
                SubsessionOperation::Establishment => {
                    let row = SessionRow {
                        session_id: id,
                        interface: "s9-subsession".into(),
                        s9_session_id: s2.clone(),
                        subsession_id: sub.id.into(),
                        client_session_id: r
                            .client_session_ids
                            .get(i)
                            .or(r.client_session_ids.first())
                            .cloned()
                            .unwrap_or_default(),
                        ..self.client_row(r)
                    };
                    self.store.insert(&row).await.map_err(store_error)?;
                }
                SubsessionOperation::Termination => {
                    self.store.delete(&id).await.map_err(store_error)?;
                }
                SubsessionOperation::Modification => {}
            }
            info!(s9_session_id = %s2, subsession_id = sub.id, operation = ?sub.operation, "S9 subsession");
            let mut decision = vec![
                AvpBuf::u32(SUBSESSION_ID, sub.id)
                    .vendor(VENDOR_3GPP)
                    .mandatory(),
            ];
            if sub.operation == SubsessionOperation::Establishment {
                decision.push(policy::apn_ambr(&self.cfg.policy));
                decision.push(policy::default_bearer_qos(&self.cfg.policy));
            }
            b.push(
                AvpBuf::grouped(SUBSESSION_DECISION_INFO, decision)
                    .vendor(VENDOR_3GPP)
                    .mandatory(),
            );
        }
        Ok(b)
    }

    /// A Gx RAR to the PCEF of `gx` (TS 29.212 §4.5.2), sent in a task of its own.
    fn spawn_gx_rar(&self, gx: SessionRow, rule: AvpBuf, reason: &'static str) {
        let pcrf = self.clone();
        tokio::spawn(async move {
            let b = pcrf
                .rar_to(&gx, app::GX)
                .avp(AvpBuf::enumerated(RE_AUTH_REQUEST_TYPE, 0).mandatory())
                .avp(rule);
            pcrf.send_rar(b, &gx.session_id, reason).await;
        });
    }

    /// TS 29.214 §4.4.4 loss of bearer: an Rx RAR with Specific-Action
    /// INDICATION_OF_LOSS_OF_BEARER to the AF (embodiments 6 and 9); the AF then sends its STR.
    fn spawn_loss_of_bearer(&self, rx_session_id: String) {
        let pcrf = self.clone();
        tokio::spawn(async move {
            let Ok(Some(rx)) = pcrf.store.get(&rx_session_id).await else {
                return;
            };
            let b = pcrf.rar_to(&rx, app::RX).avp(
                AvpBuf::enumerated(SPECIFIC_ACTION, INDICATION_OF_LOSS_OF_BEARER)
                    .vendor(VENDOR_3GPP)
                    .mandatory(),
            );
            pcrf.send_rar(b, &rx.session_id, "loss_of_bearer").await;
        });
    }

    fn rar_to(&self, s: &SessionRow, application_id: u32) -> MessageBuilder {
        let d = &self.cfg.diameter;
        let realm = if s.origin_realm.is_empty() {
            &d.origin_realm
        } else {
            &s.origin_realm
        };
        MessageBuilder::request(cmd::RE_AUTH, application_id)
            .proxiable()
            .avp(AvpBuf::utf8(avp::SESSION_ID, &s.session_id).mandatory())
            .avp(AvpBuf::u32(avp::AUTH_APPLICATION_ID, application_id).mandatory())
            .avp(AvpBuf::identity(avp::ORIGIN_HOST, &d.origin_host).mandatory())
            .avp(AvpBuf::identity(avp::ORIGIN_REALM, &d.origin_realm).mandatory())
            .avp(AvpBuf::identity(avp::DESTINATION_REALM, realm).mandatory())
            .avp(AvpBuf::identity(avp::DESTINATION_HOST, &s.origin_host).mandatory())
    }

    async fn send_rar(&self, b: MessageBuilder, session_id: &str, reason: &'static str) {
        let Some(node) = self.node() else { return };
        match node.request(b).await {
            Ok(_) => {
                count(metrics::RAR_SENT, "reason", reason.into());
                info!(session_id, reason, "RAR sent and answered");
            }
            Err(e) => warn!(session_id, reason, error = %e, "RAR not delivered"),
        }
    }
}
