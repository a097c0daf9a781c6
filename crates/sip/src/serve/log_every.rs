//! Log an event that may repeat thousands of times a second at most once per interval, with the
//! count since the last line (issue 13: no input may produce more log than a small multiple of
//! its size). Free of IO: the caller passes the time and writes the line.

use std::time::{Duration, Instant};

#[derive(Debug)]
pub struct LogEvery {
    interval: Duration,
    last: Option<Instant>,
    unlogged: u64,
}

impl LogEvery {
    pub fn new(interval: Duration) -> LogEvery {
        LogEvery {
            interval,
            last: None,
            unlogged: 0,
        }
    }

    /// One more event at `now`: `Some(n)` when a line is due, `n` events since the last line
    /// (this one included); `None` while the interval runs.
    pub fn hit(&mut self, now: Instant) -> Option<u64> {
        self.unlogged += 1;
        let due = self
            .last
            .is_none_or(|last| now.saturating_duration_since(last) >= self.interval);
        if !due {
            return None;
        }
        self.last = Some(now);
        Some(std::mem::take(&mut self.unlogged))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_event_logs_then_one_line_per_interval_with_the_count() {
        let t0 = Instant::now();
        let mut log = LogEvery::new(Duration::from_secs(10));
        assert_eq!(log.hit(t0), Some(1));
        for i in 1..1000 {
            assert_eq!(log.hit(t0 + Duration::from_millis(i)), None);
        }
        assert_eq!(log.hit(t0 + Duration::from_secs(10)), Some(1000));
        assert_eq!(log.hit(t0 + Duration::from_secs(11)), None);
        assert_eq!(log.hit(t0 + Duration::from_secs(30)), Some(2));
    }
}
