//! The shells' clock: tokio's, handed to the sans-IO state machines as a `std::time::Instant`.
//!
//! In service it is the system's monotonic clock. On paused tokio time
//! (`#[tokio::test(start_paused = true)]`) it moves only when tokio's does, so the watchdog
//! (RFC 3539 Tw), request timeouts, duplicate detection and the redirect cache run at the
//! service values without the test waiting for them. A deadline the state machine computes
//! from this clock is the same instant tokio's timers see (`tokio::time::Instant::from_std`).

/// Now, on tokio's clock.
pub(crate) fn now() -> std::time::Instant {
    tokio::time::Instant::now().into_std()
}
