//! The SMS outbox worker: opens each sealed message, sends it, retries with back-off, never
//! sends one twice; a message whose code expired meanwhile is dropped unsent.

use std::sync::Arc;

use time::OffsetDateTime;
use tokio::sync::{Notify, watch};

use super::Transport;
use crate::outbox::{DROPPED, Pace};
use crate::sealing::SealingKey;
use crate::store::{OutboxSms, Store};

pub struct Worker {
    pub store: Arc<dyn Store>,
    pub transport: Transport,
    /// Opens what `web` sealed.
    pub sealing: SealingKey,
    pub pace: Pace,
    /// Rung when an SMS is queued, so it leaves at once rather than at the next poll.
    pub wake: Arc<Notify>,
}

/// The sealing context of an SMS: bound to its id, so that a box moved to another row does not open.
pub fn context(message_id: &str) -> Vec<u8> {
    format!("sms:{message_id}").into_bytes()
}

impl Worker {
    /// Runs until `stop` turns true; a send in progress is finished first (bounded by the
    /// gateway's time-out).
    pub async fn run(self, stop: watch::Receiver<bool>) {
        crate::outbox::run(|| self.send_next(), &self.wake, self.pace.poll, stop).await;
    }

    /// Claims and sends the next due SMS; true when there was one (more may be due).
    async fn send_next(&self) -> bool {
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let sms = match self.store.claim_sms(now, self.pace.lease_secs).await {
            Ok(Some(sms)) => sms,
            Ok(None) => return false,
            Err(e) => {
                tracing::warn!(error = %e, "sms outbox: cannot claim a message");
                return false;
            }
        };
        let outcome = match self.deliver(&sms, now).await {
            Ok(()) => "sent",
            Err(Failure::Dropped(why)) => {
                tracing::warn!(sms_id = sms.id, why, "sms outbox: message dropped unsent");
                // Never due again; the row stays for the help desk.
                self.record_failure(&sms, why, DROPPED).await;
                "dropped"
            }
            Err(Failure::Retry(error)) => {
                let retry_at = OffsetDateTime::now_utc().unix_timestamp() + self.pace.backoff(sms.attempts);
                tracing::warn!(sms_id = sms.id, attempts = sms.attempts, %error, "sms outbox: send failed, will retry");
                self.record_failure(&sms, &error, retry_at).await;
                "failed"
            }
        };
        metrics::counter!("sesame_sms_deliveries_total", "outcome" => outcome).increment(1);
        true
    }

    async fn deliver(&self, sms: &OutboxSms, now: i64) -> Result<(), Failure> {
        if now >= sms.expires_at {
            return Err(Failure::Dropped("the code expired before it could be sent"));
        }
        let message = self
            .sealing
            .open(&sms.message_sealed, &context(&sms.message_id))
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .ok_or(Failure::Dropped("the message does not open with this key"))?;
        self.transport.send(&sms.phone, &message, &sms.message_id).await.map_err(Failure::Retry)?;
        tracing::info!(sms_id = sms.id, attempts = sms.attempts, "sms outbox: message sent");
        // Its own statement, right after the gateway's answer: the window in which a crash
        // sends it again is one round trip.
        if let Err(e) = self.store.sms_sent(sms.id, OffsetDateTime::now_utc()).await {
            tracing::error!(sms_id = sms.id, error = %e, "sms outbox: sent but not marked; it may go twice");
        }
        Ok(())
    }

    async fn record_failure(&self, sms: &OutboxSms, error: &str, retry_at: i64) {
        if let Err(e) = self.store.sms_failed(sms.id, error, retry_at).await {
            tracing::error!(sms_id = sms.id, error = %e, "sms outbox: cannot record the failure");
        }
    }
}

enum Failure {
    Dropped(&'static str),
    Retry(String),
}
