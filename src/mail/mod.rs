//! Outgoing mail: rendered from templates, queued in the outbox, sent by SMTP or written to files.

pub mod messages;
pub mod worker;

use std::path::PathBuf;

use lettre::message::Mailbox;
use lettre::message::header::{ContentType, MessageId};
use lettre::transport::smtp::AsyncSmtpTransport;
use lettre::{AsyncFileTransport, AsyncTransport, Message, Tokio1Executor};

use crate::config::Config;
use crate::store::OutboxMail;

/// Where mail goes: an SMTP server, or `.eml` files in a folder when none is configured.
#[derive(Clone)]
pub enum Transport {
    /// With the time-out of one whole send: lettre's own bounds only the connection.
    Smtp(AsyncSmtpTransport<Tokio1Executor>, std::time::Duration),
    Files(AsyncFileTransport<Tokio1Executor>, PathBuf),
}

impl Transport {
    pub fn from_config(config: &Config) -> Result<Self, String> {
        match &config.smtp_url {
            Some(url) => AsyncSmtpTransport::<Tokio1Executor>::from_url(url.as_str())
                .map(|b| Self::Smtp(b.timeout(Some(config.smtp_timeout)).build(), config.smtp_timeout))
                .map_err(|e| format!("SESAME_SMTP_URL: {e}")),
            None => Ok(Self::Files(AsyncFileTransport::new(&config.mail_dir), config.mail_dir.clone())),
        }
    }

    /// Sends one outbox mail; the error text is kept in the outbox for the help desk.
    pub async fn send(&self, from: &Mailbox, mail: &OutboxMail, domain: &str) -> Result<(), String> {
        let to: Mailbox = mail.recipient.parse().map_err(|e| format!("bad recipient: {e}"))?;
        // The same id at every try of this mail, unique across deployments: a receiving server
        // can spot a mail sent again after a crash between "sent" and "marked".
        let message = Message::builder()
            .from(from.clone())
            .to(to)
            .subject(&mail.subject)
            .header(MessageId::from(format!("<{}@{domain}>", mail.message_id)))
            .header(ContentType::TEXT_PLAIN)
            .body(mail.body_text.clone())
            .map_err(|e| format!("cannot build the message: {e}"))?;
        match self {
            Self::Smtp(smtp, timeout) => match tokio::time::timeout(*timeout, smtp.send(message)).await {
                Ok(sent) => sent.map(drop).map_err(|e| e.to_string()),
                Err(_) => Err(format!("the relay did not answer within {} s", timeout.as_secs())),
            },
            Self::Files(files, dir) => {
                tokio::fs::create_dir_all(dir).await.map_err(|e| format!("{}: {e}", dir.display()))?;
                files.send(message).await.map(drop).map_err(|e| e.to_string())
            }
        }
    }
}
