//! What the outboxes (mail, directory) share: how their workers poll, retry and hold a claim.

use std::time::Duration;

use tokio::sync::{Notify, watch};

/// The next attempt of an item no try can deliver (its sealed content no longer opens, or its
/// code expired): never due again, kept for the help desk, out of the backlog.
pub const DROPPED: i64 = i64::MAX;

/// How an outbox worker paces itself; tests shorten it.
#[derive(Debug, Clone, Copy)]
pub struct Pace {
    /// How often to look for due items when nobody rang.
    pub poll: Duration,
    /// The first retry waits this long, each next one twice as long, up to `max_backoff_secs`.
    pub first_backoff_secs: i64,
    pub max_backoff_secs: i64,
    /// How long a claimed item stays reserved for this worker.
    pub lease_secs: i64,
}

impl Pace {
    pub const MAIL: Self =
        Self { poll: Duration::from_secs(5), first_backoff_secs: 10, max_backoff_secs: 3600, lease_secs: 120 };

    /// The contract's waits growing to at most 60 s; the lease outlasts a connection, a bind, a
    /// search and a modify at their time-outs.
    pub const DIRECTORY: Self =
        Self { poll: Duration::from_secs(5), first_backoff_secs: 2, max_backoff_secs: 60, lease_secs: 60 };

    /// h22: a code is valid minutes only: quick retries, never a wait longer than a minute.
    pub const SMS: Self =
        Self { poll: Duration::from_secs(5), first_backoff_secs: 5, max_backoff_secs: 60, lease_secs: 60 };

    pub fn backoff(&self, attempts: i32) -> i64 {
        let doublings = attempts.saturating_sub(1).clamp(0, 30) as u32;
        self.first_backoff_secs.saturating_mul(1_i64 << doublings).min(self.max_backoff_secs)
    }

    /// The backoff scaled by `jitter` (0 to 1) into its upper half, so that instances that failed
    /// together spread out; at least a second.
    pub fn jittered_backoff(&self, attempts: i32, jitter: f64) -> i64 {
        let half = self.backoff(attempts) as f64 / 2.0;
        (half + half * jitter.clamp(0.0, 1.0)).round().max(1.0) as i64
    }
}

/// An outbox worker's loop: `send_next` (true when it handled an item) again at once after an
/// item, otherwise at the next ring of `wake` (`Notify` keeps a ring for the next wait) or poll;
/// until `stop` turns true, from when it claims nothing and the item in hand is finished first.
pub async fn run<F: Future<Output = bool>>(
    mut send_next: impl FnMut() -> F,
    wake: &Notify,
    poll: Duration,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let sent_one = send_next().await;
        if *stop.borrow() {
            return;
        }
        if !sent_one {
            tokio::select! {
                () = wake.notified() => {}
                () = tokio::time::sleep(poll) => {}
                _ = stop.changed() => return,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let pace = Pace::MAIL;
        assert_eq!((1..=4).map(|a| pace.backoff(a)).collect::<Vec<_>>(), vec![10, 20, 40, 80]);
        assert_eq!(pace.backoff(40), 3600);
        assert_eq!(pace.backoff(0), 10);
    }

    #[test]
    fn jittered_waits_stay_in_the_upper_half_up_to_the_cap() {
        let pace = Pace::DIRECTORY;
        assert_eq!(pace.jittered_backoff(1, 1.0), 2);
        assert_eq!(pace.jittered_backoff(3, 1.0), 8);
        assert_eq!(pace.jittered_backoff(30, 1.0), 60);
        assert_eq!(pace.jittered_backoff(30, 0.0), 30);
        assert_eq!(pace.jittered_backoff(1, 0.0), 1);
        for attempts in 0..40 {
            assert!((1..=60).contains(&pace.jittered_backoff(attempts, 0.5)));
        }
    }
}
