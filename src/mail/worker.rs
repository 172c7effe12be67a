//! The outbox worker: sends queued mail, retries with back-off, never sends a mail twice.

use std::sync::Arc;

use lettre::message::Mailbox;
use time::OffsetDateTime;
use tokio::sync::{Notify, watch};

use super::Transport;
use crate::outbox::{DROPPED, Pace};
use crate::sealing::SealingKey;
use crate::store::{OutboxMail, Store};

pub struct Worker {
    pub store: Arc<dyn Store>,
    pub transport: Transport,
    pub from: Mailbox,
    pub domain: String,
    pub pace: Pace,
    /// Rung when a mail is queued, so it leaves at once rather than at the next poll.
    pub wake: Arc<Notify>,
    /// Opens the bodies that must not wait in clear (recovery codes).
    pub sealing: SealingKey,
}

/// The sealing context of a mail body: bound to its message id, so that a box moved to another
/// row does not open.
pub fn context(message_id: &str) -> Vec<u8> {
    format!("mail:{message_id}").into_bytes()
}

impl Worker {
    /// Runs until `stop` turns true: from then on it claims nothing, and a send in progress is
    /// finished first (bounded by the SMTP time-out).
    pub async fn run(self, stop: watch::Receiver<bool>) {
        crate::outbox::run(|| self.send_next(), &self.wake, self.pace.poll, stop).await;
    }

    /// Claims and sends the next due mail; true when there was one (more may be due).
    async fn send_next(&self) -> bool {
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let mail = match self.store.claim_mail(now, self.pace.lease_secs).await {
            Ok(Some(mail)) => mail,
            Ok(None) => return false,
            Err(e) => {
                tracing::warn!(error = %e, "outbox: cannot claim mail");
                return false;
            }
        };
        let opened = match self.opened(mail.clone()) {
            Ok(opened) => opened,
            Err(why) => {
                // Sealed by a process whose key is gone (no SESAME_SECRET_KEY, then a restart):
                // no try can open it. Never due again; the row stays for the help desk.
                tracing::warn!(outbox_id = mail.id, why, "outbox: mail dropped unsent");
                metrics::counter!("sesame_outbox_failures_total").increment(1);
                if let Err(e) = self.store.mail_failed(mail.id, why, DROPPED).await {
                    tracing::error!(outbox_id = mail.id, error = %e, "outbox: cannot record the failure");
                }
                return true;
            }
        };
        match self.transport.send(&self.from, &opened, &self.domain).await {
            Ok(()) => {
                tracing::info!(outbox_id = mail.id, attempts = mail.attempts, "outbox: mail sent");
                metrics::counter!("sesame_mails_sent_total").increment(1);
                // Its own statement, right after the relay's answer: the window in which a crash
                // sends it again is one round trip (and the Message-ID stays the same).
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
        true
    }

    /// The mail with its sealed body, if any, opened.
    fn opened(&self, mut mail: OutboxMail) -> Result<OutboxMail, &'static str> {
        if let Some(sealed) = mail.body_sealed.take() {
            mail.body_text = self
                .sealing
                .open(&sealed, &context(&mail.message_id))
                .and_then(|bytes| String::from_utf8(bytes).ok())
                .ok_or("the sealed body does not open with this key")?;
        }
        Ok(mail)
    }
}
