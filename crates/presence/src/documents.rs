//! The full-state document a subscription gets, per event package.

use std::sync::Arc;

use corelab_runtime::now_ms;
use corelab_sip::body::pidf::Presence as Pidf;
use corelab_sip::body::{reginfo, watcherinfo};

use crate::Presence;
use crate::packages::Package;
use crate::store::{Publications, Subscription};

impl Presence {
    /// The body of a NOTIFY for `sub` (its content type and text), from the store's current state.
    pub async fn document(
        &self,
        sub: &Subscription,
    ) -> Result<(&'static str, String), sqlx::Error> {
        let now = now_ms();
        let package = Package::from_name(&sub.package).unwrap_or(Package::Presence);
        let xml = match package {
            Package::Presence => self.presence_xml(&sub.resource).await?.to_string(),
            Package::Reg => {
                let reg = self.store.registration(&sub.resource, now).await?;
                reginfo::RegInfo {
                    version: (sub.version - 1).max(0) as u64,
                    aor: sub.resource.clone(),
                    state: if reg.is_some() {
                        "active"
                    } else {
                        "terminated"
                    }
                    .into(),
                    contacts: reg
                        .map(|r| reginfo::Contact {
                            uri: r.contact,
                            state: "active".into(),
                            event: "registered".into(),
                        })
                        .into_iter()
                        .collect(),
                }
                .to_xml()
            }
            Package::PresenceWinfo => {
                let watchers = self
                    .store
                    .subscriptions_to(&sub.resource, "presence")
                    .await?;
                watcherinfo::WatcherInfo {
                    version: (sub.version - 1).max(0) as u64,
                    resource: sub.resource.clone(),
                    package: "presence".into(),
                    watchers: watchers
                        .into_iter()
                        .map(|w| watcherinfo::Watcher {
                            id: w.id,
                            uri: w.watcher,
                            status: "active".into(),
                            event: "subscribe".into(),
                        })
                        .collect(),
                }
                .to_xml()
            }
        };
        Ok((package.content_type(), xml))
    }

    /// The composed presence of a presentity from its current publications (RFC 3903), as the
    /// PIDF text every watcher of it gets: composed once per change of its publications (cached
    /// with them), and off the async workers when there is much to parse.
    pub async fn presence_xml(&self, resource: &str) -> Result<Arc<str>, sqlx::Error> {
        let publications = self.store.publications_of(resource, now_ms()).await?;
        if let Some(xml) = publications.composed.get() {
            return Ok(xml.clone());
        }
        let xml: Arc<str> = if publications.document_bytes() > OFF_REACTOR_BYTES {
            let (resource, publications) = (resource.to_string(), publications.clone());
            tokio::task::spawn_blocking(move || compose(&resource, &publications))
                .await
                .map_err(|e| sqlx::Error::Protocol(format!("PIDF composition failed: {e}")))?
        } else {
            compose(resource, &publications)
        };
        Ok(publications.composed.get_or_init(|| xml).clone())
    }
}

/// Above this many bytes of PIDF, composing runs on a blocking thread.
const OFF_REACTOR_BYTES: usize = 16 * 1024;

fn compose(resource: &str, publications: &Publications) -> Arc<str> {
    let parsed: Vec<Pidf> = publications
        .rows
        .iter()
        .filter_map(|p| Pidf::parse(&p.document).ok())
        .collect();
    Pidf::compose(resource, &parsed).to_xml().into()
}
