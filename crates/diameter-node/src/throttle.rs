//! "Log such an event once per interval, not per occurrence": a counter that
//! says when to log and how many events the line stands for. (The SIP
//! transport has the same helper in `crates/sip/src/transport/throttle.rs`;
//! both belong in a shared crate.)

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How often a throttled event is logged at most.
pub(crate) const LOG_INTERVAL: Duration = Duration::from_secs(10);

pub(crate) struct Throttle {
    interval: Duration,
    state: Mutex<(Option<Instant>, u64)>,
}

impl Throttle {
    /// Counts one event at `now`; `Some(n)` when it is time to log: `n`
    /// events (this one included) since the last line.
    pub(crate) fn hit(&self, now: Instant) -> Option<u64> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let (last, count) = &mut *state;
        *count += 1;
        match last {
            Some(t) if now.duration_since(*t) < self.interval => None,
            _ => {
                *last = Some(now);
                Some(std::mem::take(count))
            }
        }
    }
}

impl Default for Throttle {
    fn default() -> Throttle {
        Throttle {
            interval: LOG_INTERVAL,
            state: Mutex::new((None, 0)),
        }
    }
}
