//! The subscription-failure MESSAGE (RFC 3428) of the recovery procedure (spec step 5).

use corelab_recovery::MessageOutcome;
use corelab_sip::body::failure_report::{CONTENT_TYPE, FailureReport};
use corelab_sip::build;
use corelab_sip::node::{SendOutcome, destination_of};
use corelab_sip::random_token;
use corelab_sip::rsipstack::sip::Transport;

use crate::Presence;
use crate::config::RegistrarMode;

impl Presence {
    /// Send `report` to `user`: through the IMS core (Request-URI the user's public identity, a
    /// loose Route to `registrar.core_uri`) in `third_party` mode; to the registered contact in
    /// `direct` mode. A fault of ours (store, destination, building, transport) is
    /// [`MessageOutcome::Local`], never the client's failure.
    pub async fn send_failure_message(&self, user: &str, report: &FailureReport) -> MessageOutcome {
        let registration = match self
            .store
            .registration(user, corelab_runtime::now_ms())
            .await
        {
            Ok(Some(r)) => r,
            Ok(None) => return MessageOutcome::NotRegistered,
            Err(e) => return MessageOutcome::Local(format!("store: {e}")),
        };
        let (request_uri, route, next_hop) = match self.cfg.registrar.mode {
            RegistrarMode::ThirdParty => {
                let core = self.cfg.registrar.core_uri.clone();
                (user.to_string(), Some(format!("<{core};lr>")), core)
            }
            RegistrarMode::Direct => (registration.contact.clone(), None, registration.contact),
        };
        let Some(destination) = destination_of(&next_hop) else {
            return MessageOutcome::Local(format!("no destination in {next_hop:?}"));
        };
        let transport = destination.r#type.unwrap_or(Transport::Udp);
        let request = build::request("MESSAGE", &request_uri)
            .header_opt("Route", route)
            .header(
                "From",
                format!("<{}>;tag={}", self.server_uri(), random_token(10)),
            )
            .header("To", format!("<{user}>"))
            .header(
                "Call-ID",
                format!("{}@{}", random_token(20), self.cfg.sip.domain),
            )
            .header("CSeq", "1 MESSAGE")
            .body(CONTENT_TYPE, report.to_json())
            .build(&self.sip.via(transport));
        let outcome = match request {
            Ok(req) => self.sip.send(req, destination).await,
            Err(e) => return MessageOutcome::Local(format!("MESSAGE not buildable: {e}")),
        };
        match outcome {
            SendOutcome::Final(r) if r.status_code.code() < 300 => MessageOutcome::Delivered,
            SendOutcome::Final(r) => MessageOutcome::Rejected(r.status_code.code()),
            SendOutcome::Timeout => MessageOutcome::Timeout,
            SendOutcome::Error(e) => MessageOutcome::Local(e),
        }
    }
}
