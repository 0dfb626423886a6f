//! How every watch of the manager retries after an error.
//!
//! kube-runtime's default (800 ms doubling to 30 s, reset only after two minutes without an error)
//! is made for many controllers sharing an apiserver; for a queue manager it means blind spells:
//! after a 20 s apiserver outage a watch may sleep another 30 s, and the "resource version too
//! old" answer that follows a reconnect costs a second 30 s, so queued Jobs wait a minute for no
//! reason (measured with `e2e/tests/apiserver_restart.rs`). Here a retry waits 250 ms doubling to
//! 5 s, and the first event received resets it: during an outage each watch asks once per 5 s,
//! and it is back within 5 s of the apiserver.

use std::time::Duration;

use kube::runtime::utils::Backoff;

/// The first wait after an error.
const FIRST: Duration = Duration::from_millis(250);
/// The longest wait.
const MOST: Duration = Duration::from_secs(5);

/// Watch retry pacing: 250 ms doubling to 5 s, reset by any event received.
#[derive(Clone, Debug)]
pub struct WatchBackoff {
    next: Duration,
}

impl Default for WatchBackoff {
    fn default() -> Self {
        Self { next: FIRST }
    }
}

impl Iterator for WatchBackoff {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        let wait = self.next;
        self.next = (wait * 2).min(MOST);
        Some(wait)
    }
}

impl Backoff for WatchBackoff {
    fn reset(&mut self) {
        self.next = FIRST;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_to_five_seconds_and_resets() {
        let mut b = WatchBackoff::default();
        let waits: Vec<u128> = b.by_ref().take(8).map(|d| d.as_millis()).collect();
        assert_eq!(waits, [250, 500, 1000, 2000, 4000, 5000, 5000, 5000]);
        b.reset();
        assert_eq!(b.next(), Some(FIRST));
    }
}
