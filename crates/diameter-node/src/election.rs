//! Election (RFC 6733 §5.6.4): when both peers connect to each other at once,
//! each ends up with two open connections to the same Origin-Host. The side
//! with the higher Origin-Host wins and keeps the connection the other side
//! initiated; the loser keeps the one it initiated, so both keep the same
//! connection. The other connection is closed; requests pending on it fail
//! over to the kept one.

use std::sync::Arc;

use corelab_diameter::peer::election_won;
use tracing::info;

use crate::handle::PeerHandle;
use crate::node::Inner;

/// Called when `new` is open: closes the connection the election rule says.
pub(crate) fn check(inner: &Arc<Inner>, new: &PeerHandle) {
    let won = election_won(&inner.cfg.local.origin_host, new.origin_host());
    for other in inner.open_peers() {
        if other.id() == new.id()
            || !other.origin_host().eq_ignore_ascii_case(new.origin_host())
            || other.is_initiator() == new.is_initiator()
        {
            continue;
        }
        // The winner drops the connection it initiated; the loser the one it
        // accepted.
        let drop = if won == new.is_initiator() {
            new
        } else {
            &other
        };
        info!(
            peer = new.origin_host(),
            won,
            closing_initiated = drop.is_initiator(),
            "election (RFC 6733 §5.6.4): two connections to one peer"
        );
        inner.remove_peer(drop.id());
        drop.close();
        return;
    }
}
