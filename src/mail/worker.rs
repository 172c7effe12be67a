//! The outbox worker: sends queued mail, retries with back-off, never sends a mail twice.

use std::sync::Arc;
use std::time::Duration;

use lettre::message::Mailbox;
use time::OffsetDateTime;
use tokio::sync::{Notify, watch};

use super::Transport;
use crate::store::Store;

/// How the worker paces itself; tests shorten it.
#[derive(Debug, Clone, Copy)]
pub struct Pace {
    /// How often to look for due mail when nobody rang.
    pub poll: Duration,
    /// The first retry waits this long, each next one twice as long, up to `max_backoff`.
    pub first_backoff_secs: i64,
    pub max_backoff_secs: i64,
    /// How long a claimed mail stays reserved for this worker.
    pub lease_secs: i64,
}

impl Default for Pace {
    fn default() -> Self {
        Self { poll: Duration::from_secs(5), first_backoff_secs: 10, max_backoff_secs: 3600, lease_secs: 120 }
    }
}

impl Pace {
    pub fn backoff(&self, attempts: i32) -> i64 {
        let doublings = attempts.saturating_sub(1).clamp(0, 30) as u32;
        self.first_backoff_secs.saturating_mul(1_i64 << doublings).min(self.max_backoff_secs)
    }
}

/// Mails claimed at a time.
const BATCH: i64 = 10;

pub struct Worker {
    pub store: Arc<dyn Store>,
    pub transport: Transport,
    pub from: Mailbox,
    pub domain: String,
    pub pace: Pace,
    /// Rung when a mail is queued, so it leaves at once rather than at the next poll.
    pub wake: Arc<Notify>,
}

impl Worker {
    /// Runs until `stop` turns true; a send in progress is finished first.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        loop {
            let more_due = self.drain().await;
            if *stop.borrow() {
                return;
            }
            // A mail queued meanwhile has rung (`Notify` keeps the ring for the next wait), so
            // a short batch needs no second look: one statement less per mail.
            if !more_due {
                tokio::select! {
                    () = self.wake.notified() => {}
                    () = tokio::time::sleep(self.pace.poll) => {}
                    _ = stop.changed() => return,
                }
            }
        }
    }

    /// Sends what is due; true when it claimed a full batch, so more may be due.
    async fn drain(&self) -> bool {
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let claimed = match self.store.claim_mail(now, self.pace.lease_secs, BATCH).await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "outbox: cannot claim mail");
                return false;
            }
        };
        for mail in &claimed {
            match self.transport.send(&self.from, mail, &self.domain).await {
                Ok(()) => {
                    tracing::info!(outbox_id = mail.id, attempts = mail.attempts, "outbox: mail sent");
                    metrics::counter!("sesame_mails_sent_total").increment(1);
                    if let Err(e) = self.store.mail_sent(mail.id, OffsetDateTime::now_utc()).await {
                        tracing::error!(outbox_id = mail.id, error = %e, "outbox: sent but not marked; it may go twice");
                    }
                }
                Err(error) => {
                    metrics::counter!("sesame_outbox_failures_total").increment(1);
                    let retry_at = OffsetDateTime::now_utc().unix_timestamp() + self.pace.backoff(mail.attempts);
                    tracing::warn!(outbox_id = mail.id, attempts = mail.attempts, %error, "outbox: send failed, will retry");
                    if let Err(e) = self.store.mail_failed(mail.id, &error, retry_at).await {
                        tracing::error!(outbox_id = mail.id, error = %e, "outbox: cannot record the failure");
                    }
                }
            }
        }
        claimed.len() == BATCH as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let pace = Pace::default();
        assert_eq!((1..=4).map(|a| pace.backoff(a)).collect::<Vec<_>>(), vec![10, 20, 40, 80]);
        assert_eq!(pace.backoff(40), 3600);
        assert_eq!(pace.backoff(0), 10);
    }
}
