//! The full-state document a subscription gets, per event package.

use corelab_runtime::now_ms;
use corelab_sip::body::pidf::Presence as Pidf;
use corelab_sip::body::{reginfo, watcherinfo};

use crate::Presence;
use crate::packages::Package;
use crate::store::Subscription;

impl Presence {
    /// The body of a NOTIFY for `sub` (its content type and text), from the store's current state.
    pub async fn document(
        &self,
        sub: &Subscription,
    ) -> Result<(&'static str, String), sqlx::Error> {
        let now = now_ms();
        let package = Package::from_name(&sub.package).unwrap_or(Package::Presence);
        let xml = match package {
            Package::Presence => self.presence_of(&sub.resource).await?.to_xml(),
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

    /// The composed presence of a presentity from its current publications (RFC 3903).
    pub async fn presence_of(&self, resource: &str) -> Result<Pidf, sqlx::Error> {
        let publications = self.store.publications_of(resource, now_ms()).await?;
        let parsed: Vec<Pidf> = publications
            .iter()
            .filter_map(|p| Pidf::parse(&p.document).ok())
            .collect();
        Ok(Pidf::compose(resource, &parsed))
    }
}
