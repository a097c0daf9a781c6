//! PUBLISH (RFC 3903): initial, refresh, modify and remove, keyed by entity-tag; 412 for an
//! unknown one. A change of state NOTIFYs the presentity's watchers.

use corelab_runtime::now_ms;
use corelab_sip::body::pidf::{CONTENT_TYPE, Presence as Pidf};
use corelab_sip::headers::{self, BadRequest};
use corelab_sip::random_token;
use corelab_sip::rsipstack::sip::Request;

use crate::Presence;
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
        if headers::aor(&from_uri) != resource {
            return Ok(Reply::error(
                403,
                "Forbidden (a user may publish only its own presence)",
            ));
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
                self.store
                    .insert_publication(&Publication {
                        etag: new_etag.clone(),
                        resource: resource.clone(),
                        document: doc,
                        expires_at,
                        updated_at: now,
                    })
                    .await?;
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

    /// The PIDF body of a PUBLISH, checked; `None` when there is no body (a refresh).
    fn publication_body(&self, req: &Request) -> Result<Option<String>, Box<Reply>> {
        if req.body.is_empty() {
            return Ok(None);
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
        Pidf::parse(text).map_err(|e| Reply::error(400, e))?;
        Ok(Some(text.to_string()))
    }
}
