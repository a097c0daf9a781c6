//! Group sessions in memory: each group's participants (one per dialog), with their dialog
//! state ([`InviteServerDialog`]) and media leg. Joining reserves a place atomically (under the
//! table's lock), so a full group is decided once. The ids are not here: they are in the store.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use corelab_sip::dialog::InviteServerDialog;

use crate::rtp::Leg;

/// A dialog as we see it: Call-ID and the peer's (From) tag.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DialogKey {
    pub call_id: String,
    pub remote_tag: String,
}

pub struct Participant {
    pub group_uri: String,
    pub user: String,
    pub local_tag: String,
    /// The peer's From header value and Contact URI: the To and Request-URI of our BYE.
    pub remote_from: String,
    pub remote_target: String,
    /// The Record-Route values of the INVITE, in order: our route set (RFC 3261 §12.1.1).
    pub route_set: Vec<String>,
    pub transport_tcp: bool,
    /// Our To header value (with our tag): the From of our BYE.
    pub local_to: String,
    pub dialog: InviteServerDialog,
    pub leg: Arc<Leg>,
    /// The current SDP answer (a re-INVITE is answered with it).
    pub answer_sdp: String,
    pub last_request: Instant,
}

#[derive(Default)]
struct Table {
    participants: HashMap<DialogKey, Participant>,
    /// Places taken per group (participants plus joins in progress).
    taken: HashMap<String, u32>,
}

#[derive(Default, Clone)]
pub struct Sessions {
    table: Arc<Mutex<Table>>,
}

/// A participant as reported (admin, gRPC).
#[derive(Debug, Clone, serde::Serialize)]
pub struct ParticipantView {
    pub uri: String,
    pub call_id: String,
    pub media_port: u16,
    pub remote_rtp: String,
    pub confirmed: bool,
}

impl Sessions {
    fn table(&self) -> MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Take a place in `group_uri`'s session if fewer than `limit` are taken.
    pub fn reserve(&self, group_uri: &str, limit: u32) -> bool {
        let mut t = self.table();
        let taken = t.taken.entry(group_uri.to_string()).or_default();
        if *taken >= limit {
            return false;
        }
        *taken += 1;
        true
    }

    /// Give back a place taken by [`reserve`](Self::reserve).
    pub fn release(&self, group_uri: &str) {
        let mut t = self.table();
        if let Some(n) = t.taken.get_mut(group_uri) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                t.taken.remove(group_uri);
            }
        }
    }

    /// Add a participant whose place is reserved.
    pub fn insert(&self, key: DialogKey, p: Participant) {
        self.table().participants.insert(key, p);
    }

    /// Remove a participant (BYE, expiry, failed dialog), stop its leg, free its place.
    pub fn remove(&self, key: &DialogKey) -> Option<Participant> {
        let p = self.table().participants.remove(key)?;
        p.leg.cancel.cancel();
        self.release(&p.group_uri);
        Some(p)
    }

    /// How many participants there are, in every group.
    pub fn len(&self) -> usize {
        self.table().participants.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Run `f` on a participant.
    pub fn with<T>(&self, key: &DialogKey, f: impl FnOnce(&mut Participant) -> T) -> Option<T> {
        self.table().participants.get_mut(key).map(f)
    }

    /// The media legs of a group's participants.
    pub fn legs(&self, group_uri: &str) -> Vec<Arc<Leg>> {
        self.table()
            .participants
            .values()
            .filter(|p| p.group_uri == group_uri)
            .map(|p| p.leg.clone())
            .collect()
    }

    /// Participants silent (no RTP, no request) since before `before_ms` / `before`.
    pub fn silent(&self, before_ms: i64, before: Instant) -> Vec<DialogKey> {
        self.table()
            .participants
            .iter()
            .filter(|(_, p)| {
                p.last_request < before
                    && p.leg.last_rx_ms.load(std::sync::atomic::Ordering::Relaxed) < before_ms
            })
            .map(|(k, _)| k.clone())
            .collect()
    }

    /// Every group with participants, each with its participants.
    pub fn view(&self) -> HashMap<String, Vec<ParticipantView>> {
        let mut out: HashMap<String, Vec<ParticipantView>> = HashMap::new();
        for (k, p) in &self.table().participants {
            out.entry(p.group_uri.clone())
                .or_default()
                .push(ParticipantView {
                    uri: p.user.clone(),
                    call_id: k.call_id.clone(),
                    media_port: p.leg.port,
                    remote_rtp: p.leg.remote().to_string(),
                    confirmed: p.dialog.state() == corelab_sip::dialog::State::Confirmed,
                });
        }
        for v in out.values_mut() {
            v.sort_by(|a, b| (&a.uri, &a.call_id).cmp(&(&b.uri, &b.call_id)));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservations_are_bounded_and_released() {
        let s = Sessions::default();
        assert!(s.reserve("g", 2) && s.reserve("g", 2));
        assert!(!s.reserve("g", 2));
        s.release("g");
        assert!(s.reserve("g", 2));
    }
}
