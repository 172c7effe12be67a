//! The outbox worker: sends queued mail, retries with back-off, never sends a mail twice.

use std::sync::Arc;

use lettre::message::Mailbox;
use time::OffsetDateTime;
use tokio::sync::{Notify, watch};

use super::Transport;
use crate::outbox::Pace;
use crate::store::Store;

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
