//! How often, and after how long, something that failed for a fault of ours is tried again: a
//! NOTIFY whose body the store could not give, a MESSAGE the transport would not take.

use std::time::Duration;

/// Longest wait between two tries.
pub const MAX_DELAY: Duration = Duration::from_secs(60);

/// The wait before try `failures + 1`, after `failures` local failures in a row (1 or more), or
/// `None` when `retries` tries again have been spent: `first`, then doubling, capped at
/// [`MAX_DELAY`].
pub fn delay(retries: u32, first: Duration, failures: u32) -> Option<Duration> {
    if failures == 0 || failures > retries {
        return None;
    }
    let factor = 1u32.checked_shl(failures - 1).unwrap_or(u32::MAX);
    Some(first.saturating_mul(factor).min(MAX_DELAY))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_then_gives_up() {
        let first = Duration::from_millis(500);
        assert_eq!(delay(3, first, 1), Some(Duration::from_millis(500)));
        assert_eq!(delay(3, first, 2), Some(Duration::from_millis(1000)));
        assert_eq!(delay(3, first, 3), Some(Duration::from_millis(2000)));
        assert_eq!(delay(3, first, 4), None);
        assert_eq!(delay(0, first, 1), None);
        assert_eq!(delay(40, first, 40), Some(MAX_DELAY));
    }
}
