//! REGISTER: a direct registrar (RFC 3261 §10.3), or the application server's side of the
//! S-CSCF's third-party REGISTER (TS 24.229 §5.4.1.7), accepted only from the trusted core.
//! Also signing a user out, which the recovery procedure and de-registration share.

use corelab_runtime::now_ms;
use corelab_sip::headers::{self, BadRequest};
use corelab_sip::rsipstack::sip::Request;

use crate::Presence;
use crate::config::RegistrarMode;
use crate::metrics;
use crate::reply::{HandlerError, Reply};

impl Presence {
    pub async fn handle_register(&self, req: &Request) -> Reply {
        self.register(req).await.unwrap_or_else(Reply::from)
    }

    async fn register(&self, req: &Request) -> Result<Reply, HandlerError> {
        let cfg = &self.cfg.registrar;
        let mode = match cfg.mode {
            RegistrarMode::ThirdParty => {
                let source = headers::source_ip(req);
                if !source.is_some_and(|ip| cfg.trusted_cores.contains(&ip)) {
                    tracing::warn!(?source, "third-party REGISTER from an untrusted address");
                    return Ok(Reply::error(
                        403,
                        "Forbidden (REGISTER accepted only from the IMS core)",
                    ));
                }
                "third_party"
            }
            RegistrarMode::Direct => "direct",
        };
        let (to_uri, _) = headers::to_uri_and_tag(req)?;
        let aor = headers::aor(&to_uri);
        // Only users of our domain register here: nobody may fill the store with AoRs (and
        // Contacts) of any domain.
        if !aor.ends_with(&format!("@{}", self.cfg.sip.domain.to_ascii_lowercase())) {
            metrics::refused("foreign_domain");
            tracing::info!(%aor, "REGISTER for another domain refused");
            return Ok(Reply::error(403, "Forbidden (not a user of this domain)"));
        }
        let call_id = headers::call_id(req)?;
        // One binding per AoR (docs/presence.md "Registrations"): a REGISTER that asks for
        // several is refused as a whole rather than stored in part (RFC 3261 §10.3 lets a
        // registrar refuse a request it will not carry out).
        if headers::all_values(req, "Contact").len() > 1 {
            metrics::refused("several_contacts");
            return Ok(Reply::error(
                403,
                "Forbidden (one Contact per registration)",
            ));
        }
        let contact_value = headers::value(req, "Contact");

        // Expires: the Contact's parameter wins over the header (RFC 3261 §10.3 step 6).
        let contact_expires = contact_value
            .as_deref()
            .and_then(|c| headers::param(c, "expires"))
            .map(|e| {
                e.parse::<u32>()
                    .map_err(|_| BadRequest(format!("Bad Contact expires {e:?}")))
            })
            .transpose()?;
        let requested = contact_expires.or(headers::expires(req)?);

        if self.store.is_barred(&aor).await? {
            tracing::warn!(%aor, "REGISTER of a barred user");
            return Ok(Reply::error(
                403,
                "Forbidden (login barred by the administrator)",
            ));
        }

        let Some(contact_value) = contact_value else {
            // A query (RFC 3261 §10.2.3): answer the current binding.
            let reply = match self.store.registration(&aor, now_ms()).await? {
                Some(r) => Reply::new(200).header("Contact", format!("<{}>", r.contact)),
                None => Reply::new(200),
            };
            return Ok(reply);
        };

        if requested == Some(0) {
            self.sign_out(&aor, "unregistered").await?;
            tracing::info!(%aor, mode, "de-registered");
            return Ok(Reply::new(200));
        }
        let expires = requested.unwrap_or(cfg.default_expires);
        if expires < cfg.min_expires {
            return Ok(Reply::error(423, "Interval Too Brief")
                .header("Min-Expires", cfg.min_expires.to_string()));
        }
        let expires = expires.min(cfg.max_expires);
        let contact = headers::uri_of(&contact_value)
            .ok_or_else(|| BadRequest(format!("Bad Contact header {contact_value:?}")))?;
        let now = now_ms();
        let Some(new) = self
            .store
            .upsert_registration(
                &aor,
                &contact,
                mode,
                &call_id,
                now + i64::from(expires) * 1000,
                now,
                cfg.max_registrations,
            )
            .await?
        else {
            metrics::refused("registration_limit");
            tracing::warn!(%aor, max = cfg.max_registrations, "REGISTER refused: registration limit reached");
            return Ok(
                Reply::error(503, "Service Unavailable (registration limit reached)")
                    .header("Retry-After", "60"),
            );
        };
        tracing::info!(%aor, %contact, expires, mode, new, "registered");
        let this = self.clone();
        let aor_then = aor.clone();
        Ok(Reply::new(200)
            .header("Contact", format!("<{contact}>;expires={expires}"))
            .header("Expires", expires.to_string())
            .then(async move {
                // RFC 3680: the registration's watchers learn of the change.
                this.notify_watchers(&aor_then, "reg").await;
            }))
    }

    /// Sign `aor` out: delete its registration, end every subscription it holds with a
    /// terminating NOTIFY (`reason`), and tell the `reg` watchers (RFC 3680). Used for
    /// de-registration, registration expiry, and the recovery procedure's threshold (step 8).
    pub async fn sign_out(&self, aor: &str, reason: &'static str) -> Result<(), sqlx::Error> {
        let registration = self.store.delete_registration(aor).await?;
        let ended = self.store.delete_subscriptions_of(aor).await?;
        tracing::info!(
            aor,
            reason,
            had_registration = registration.is_some(),
            subscriptions = ended.len(),
            "signed out"
        );
        let mut winfo_resources = Vec::new();
        for sub in ended {
            if sub.package == "presence" {
                winfo_resources.push(sub.resource.clone());
            }
            let this = self.clone();
            tokio::spawn(async move { this.notify_terminated(sub, reason).await });
        }
        self.notify_watchers(aor, "reg").await;
        winfo_resources.sort();
        winfo_resources.dedup();
        for resource in winfo_resources {
            self.notify_watchers(&resource, "presence.winfo").await;
        }
        Ok(())
    }
}
