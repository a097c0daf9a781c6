//! "Log such an event once per interval, not per occurrence" (issue 13 §4, §5): a counter that
//! says when to log and how many events the line stands for. Shared by the SIP transport and serve
//! loop, the ue-emulator and the Diameter node, so that no transport keeps a copy of its own.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How often a throttled event is logged at most.
pub const LOG_INTERVAL: Duration = Duration::from_secs(10);

pub struct Throttle {
    interval: Duration,
    state: Mutex<(Option<Instant>, u64)>,
}

impl Throttle {
    pub const fn new(interval: Duration) -> Throttle {
        Throttle {
            interval,
            state: Mutex::new((None, 0)),
        }
    }

    /// Count one event at `now`. `Some(n)` when it is time to log: `n` events (this one
    /// included) since the last line.
    pub fn hit(&self, now: Instant) -> Option<u64> {
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
        Throttle::new(LOG_INTERVAL)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logs_the_first_then_once_per_interval_with_the_count() {
        let t = Throttle::new(Duration::from_secs(10));
        let t0 = Instant::now();
        assert_eq!(t.hit(t0), Some(1));
        for i in 1..1000 {
            assert_eq!(t.hit(t0 + Duration::from_millis(i)), None);
        }
        assert_eq!(t.hit(t0 + Duration::from_secs(11)), Some(1000));
    }
}
