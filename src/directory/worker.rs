//! Delivers the directory outbox: one change at a time, at least once, never two of one person
//! at once. A delivery is one search and one modify by replace, so a change sent again after a
//! crash between "modified" and "marked" leaves the entry as it was.

use std::sync::Arc;

use time::OffsetDateTime;
use tokio::sync::{Notify, watch};

use super::{Connection, DeliveryError, Settings};
use crate::domain::directory::{Current, modifications};
use crate::outbox::Pace;
use crate::sealing::SealingKey;
use crate::store::{DirectoryJob, Store};

/// What binds a sealed NT hash to its person, so that a box moved to another row does not open.
pub fn nt_context(person_id: i64) -> Vec<u8> {
    format!("sesame/nt-hash/{person_id}").into_bytes()
}

/// What one step did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Nothing was due.
    Idle,
    Delivered,
    /// The directory refused this change; it waits for `sesame directory retry`.
    Refused(String),
    /// Not delivered now; due again later.
    Postponed(String),
}

pub struct Worker {
    pub store: Arc<dyn Store>,
    pub settings: Settings,
    pub sealing: Option<SealingKey>,
    pub pace: Pace,
    /// Rung by the store after each commit that queued a change.
    pub wake: Arc<Notify>,
    connection: Option<Connection>,
}

impl Worker {
    pub fn new(store: Arc<dyn Store>, settings: Settings, sealing: Option<SealingKey>, pace: Pace) -> Self {
        let wake = store.directory_wake().unwrap_or_default();
        Self { store, settings, sealing, pace, wake, connection: None }
    }

    /// Runs until `stop` turns true; a delivery in progress is finished first.
    pub async fn run(mut self, mut stop: watch::Receiver<bool>) {
        loop {
            // After a failure, wait: the directory is down or refusing, and every change waits its turn.
            let delivered = self.step().await == Step::Delivered;
            if *stop.borrow() {
                break;
            }
            if !delivered {
                tokio::select! {
                    () = self.wake.notified() => {}
                    () = tokio::time::sleep(self.pace.poll) => {}
                    _ = stop.changed() => break,
                }
            }
        }
        if let Some(conn) = self.connection.take() {
            conn.close().await;
        }
    }

    /// Claims the next due change and tries it once.
    pub async fn step(&mut self) -> Step {
        let now = OffsetDateTime::now_utc();
        let job = match self.store.claim_directory(now.unix_timestamp(), self.pace.lease_secs).await {
            Ok(Some(job)) => job,
            Ok(None) => return Step::Idle,
            Err(e) => {
                tracing::warn!(error = %e, "directory: cannot claim a change");
                return Step::Postponed(e.to_string());
            }
        };
        let outcome = self.deliver(&job).await;
        let now = OffsetDateTime::now_utc();
        let (step, recorded) = match outcome {
            Ok(()) => {
                let latency = (now - job.since).as_seconds_f64().max(0.0);
                metrics::counter!("sesame_directory_delivered_total").increment(1);
                metrics::histogram!("sesame_directory_delivery_seconds").record(latency);
                tracing::info!(uid = %job.uid, attempts = job.attempts, latency_s = latency, "directory: change delivered");
                (Step::Delivered, self.store.directory_delivered(job.person_id, job.version).await.map(drop))
            }
            Err(DeliveryError::Refused(why)) => {
                metrics::counter!("sesame_directory_failures_total", "kind" => "refused").increment(1);
                tracing::error!(uid = %job.uid, error = %why, "directory: change refused; see sesame directory status");
                let recorded = self.store.directory_failed(job.person_id, job.version, &why, 0, Some(now)).await;
                (Step::Refused(why), recorded)
            }
            Err(DeliveryError::Transient(why)) => {
                // The connection may be what failed: the next try opens a new one.
                self.connection = None;
                metrics::counter!("sesame_directory_failures_total", "kind" => "transient").increment(1);
                let wait = self.pace.jittered_backoff(job.attempts, rand::random::<f64>());
                tracing::warn!(uid = %job.uid, attempts = job.attempts, retry_in_s = wait, error = %why, "directory: unreachable, will retry");
                let retry_at = now.unix_timestamp() + wait;
                (
                    Step::Postponed(why.clone()),
                    self.store.directory_failed(job.person_id, job.version, &why, retry_at, None).await,
                )
            }
        };
        if let Err(e) = recorded {
            // The lease runs out and the change goes again: by replace, so the entry ends the same.
            tracing::error!(uid = %job.uid, error = %e, "directory: cannot record the outcome; it will be sent again");
        }
        step
    }

    async fn deliver(&mut self, job: &DirectoryJob) -> Result<(), DeliveryError> {
        let nt_hash = match (&job.nt_sealed, &self.sealing) {
            (Some(sealed), Some(key)) => {
                let opened = key.open(sealed, &nt_context(job.person_id)).and_then(|b| String::from_utf8(b).ok());
                if opened.is_none() {
                    tracing::warn!(uid = %job.uid, "directory: the NT hash does not open with SESAME_SECRET_KEY; it is cleared instead");
                }
                opened
            }
            _ => None,
        };
        let current = Current {
            password_hash: job.password_hash.as_deref(),
            nt_hash: nt_hash.as_deref(),
            directory_visible: job.directory_visible.unwrap_or(true),
            at: OffsetDateTime::now_utc(),
        };
        if self.connection.as_mut().is_none_or(Connection::is_closed) {
            self.connection = Some(Connection::open(&self.settings).await?);
        }
        let conn = self.connection.as_mut().expect("opened above");
        let entry = conn.find(&job.uid).await?;
        let mods = modifications(job.pending(), entry.classes, &current, self.settings.nt_hash);
        if mods.is_empty() {
            return Ok(());
        }
        conn.modify(&entry.dn, &mods).await
    }
}

/// The directory outbox's gauges, refreshed when `/metrics` is read.
pub async fn record_backlog(store: &dyn Store) {
    match store.directory_backlog().await {
        Ok(b) => {
            let oldest = b.oldest.map_or(0.0, |at| (OffsetDateTime::now_utc() - at).as_seconds_f64().max(0.0));
            metrics::gauge!("sesame_directory_backlog").set(b.waiting as f64);
            metrics::gauge!("sesame_directory_refused").set(b.refused as f64);
            metrics::gauge!("sesame_directory_oldest_seconds").set(oldest);
        }
        Err(e) => tracing::warn!(error = %e, "metrics: directory backlog unavailable"),
    }
}
