//! PUBLISH (RFC 3903): initial, refresh, modify and remove, keyed by entity-tag; 412 for an
//! unknown one. A change of state NOTIFYs the presentity's watchers.

use corelab_runtime::now_ms;
use corelab_sip::body::pidf::{CONTENT_TYPE, Presence as Pidf};
use corelab_sip::headers::{self, BadRequest};
use corelab_sip::random_token;
use corelab_sip::rsipstack::sip::Request;

use std::net::IpAddr;

use corelab_sip::node::destination_of;

use crate::Presence;
use crate::config::RegistrarMode;
use crate::metrics;
use crate::reply::{HandlerError, Reply};
use crate::store::Publication;
use crate::subscribe::granted_expires;

impl Presence {
    pub async fn handle_publish(&self, req: &Request) -> Reply {
        self.publish(req).await.unwrap_or_else(Reply::from)
    }

    async fn publish(&self, req: &Request) -> Result<Reply, HandlerError> {
        let cfg = &self.cfg.subscription;
        let event =
            headers::event(req)?.ok_or_else(|| BadRequest("Missing Event header".into()))?;
        if event.package != "presence" {
            return Ok(Reply::error(489, "Bad Event").header("Allow-Events", "presence"));
        }
        let (to_uri, _) = headers::to_uri_and_tag(req)?;
        let (from_uri, _) = headers::from_uri_and_tag(req)?;
        let resource = headers::aor(&to_uri);
        if let Some(refusal) = self.may_not_publish(req, &from_uri, &resource).await? {
            return Ok(refusal);
        }
        let expires = match granted_expires(cfg, headers::expires(req)?) {
            Ok(e) => e,
            Err(reply) => return Ok(*reply),
        };
        let document = match self.publication_body(req) {
            Ok(doc) => doc,
            Err(reply) => return Ok(*reply),
        };
        let if_match = headers::value(req, "SIP-If-Match");
        let now = now_ms();
        let expires_at = now + i64::from(expires) * 1000;
        let new_etag = random_token(16);

        let changed = match (if_match, expires, document) {
            (None, 0, _) => return Err(BadRequest("Expires 0 without SIP-If-Match".into()).into()),
            (None, _, None) => {
                return Err(BadRequest("Missing body in initial PUBLISH".into()).into());
            }
            (None, _, Some(doc)) => {
                let publication = Publication {
                    etag: new_etag.clone(),
                    resource: resource.clone(),
                    document: doc,
                    expires_at,
                    updated_at: now,
                };
                let max = self.cfg.publish.max_per_presentity;
                if !self.store.insert_publication(&publication, max).await? {
                    metrics::refused("publication_limit");
                    tracing::warn!(%resource, max, "PUBLISH refused: publication limit reached");
                    return Ok(Reply::error(403, "Forbidden (publication limit reached)"));
                }
                true
            }
            (Some(etag), 0, _) => {
                if !self.store.delete_publication(&etag, &resource).await? {
                    return Ok(Reply::error(412, "Conditional Request Failed"));
                }
                tracing::info!(%resource, %etag, "publication removed");
                let this = self.clone();
                return Ok(Reply::new(200).header("Expires", "0").then(async move {
                    this.notify_watchers(&resource, "presence").await;
                }));
            }
            (Some(etag), _, doc) => {
                let modified = doc.is_some();
                let replaced = self
                    .store
                    .replace_publication(
                        &etag,
                        &resource,
                        &new_etag,
                        doc.as_deref(),
                        expires_at,
                        now,
                    )
                    .await?;
                if replaced.is_none() {
                    return Ok(Reply::error(412, "Conditional Request Failed"));
                }
                modified
            }
        };
        tracing::info!(%resource, etag = %new_etag, expires, changed, "published");
        let this = self.clone();
        let reply = Reply::new(200)
            .header("SIP-ETag", new_etag)
            .header("Expires", expires.to_string());
        Ok(if changed {
            reply.then(async move { this.notify_watchers(&resource, "presence").await })
        } else {
            reply
        })
    }

    /// RFC 3903 §6 leaves authorization to the presence server: only the presentity itself may
    /// publish its state — the sender (P-Asserted-Identity from a trusted core, else From) must
    /// be the presentity and registered, and in direct mode the request must come from the
    /// address it registered (when that is an IP address). `Some(403)` otherwise.
    async fn may_not_publish(
        &self,
        req: &Request,
        from_uri: &str,
        resource: &str,
    ) -> Result<Option<Reply>, HandlerError> {
        let publisher = self.watcher_identity(req, from_uri);
        let refuse = |reason: &'static str, why: &'static str| {
            metrics::refused(reason);
            tracing::info!(%publisher, %resource, why, "PUBLISH refused");
            Some(Reply::error(403, why))
        };
        if publisher != resource {
            return Ok(refuse(
                "publish_other",
                "Forbidden (a user may publish only its own presence)",
            ));
        }
        let Some(registration) = self.store.registration(&publisher, now_ms()).await? else {
            return Ok(refuse("publish_unregistered", "Forbidden (not registered)"));
        };
        let from_core = headers::source_ip(req)
            .is_some_and(|ip| self.cfg.registrar.trusted_cores.contains(&ip));
        if self.cfg.registrar.mode == RegistrarMode::Direct && !from_core {
            let registered_ip = destination_of(&registration.contact)
                .and_then(|d| d.addr.host.to_string().parse::<IpAddr>().ok());
            if let Some(registered_ip) = registered_ip
                && headers::source_ip(req) != Some(registered_ip)
            {
                return Ok(refuse(
                    "publish_wrong_source",
                    "Forbidden (not sent from the registered contact)",
                ));
            }
        }
        Ok(None)
    }

    /// The PIDF body of a PUBLISH, checked and within `[publish]`'s bounds; `None` when there
    /// is no body (a refresh).
    fn publication_body(&self, req: &Request) -> Result<Option<String>, Box<Reply>> {
        if req.body.is_empty() {
            return Ok(None);
        }
        let bounds = &self.cfg.publish;
        if req.body.len() > bounds.max_document_bytes {
            metrics::refused("publish_too_large");
            return Err(Box::new(Reply::error(
                413,
                format!(
                    "Request Entity Too Large (PIDF over {} bytes)",
                    bounds.max_document_bytes
                ),
            )));
        }
        match headers::content_type(req) {
            Some(ct) if ct == CONTENT_TYPE => {}
            other => {
                return Err(Box::new(
                    Reply::error(
                        415,
                        format!("Unsupported Media Type {}", other.unwrap_or_default()),
                    )
                    .header("Accept", CONTENT_TYPE),
                ));
            }
        }
        let text =
            std::str::from_utf8(&req.body).map_err(|_| Reply::error(400, "PIDF is not UTF-8"))?;
        let pidf = Pidf::parse(text).map_err(|e| Reply::error(400, e))?;
        if pidf.tuples.len() > bounds.max_tuples {
            metrics::refused("publish_too_many_tuples");
            return Err(Box::new(Reply::error(
                413,
                format!(
                    "Request Entity Too Large (more than {} tuples)",
                    bounds.max_tuples
                ),
            )));
        }
        Ok(Some(text.to_string()))
    }
}
