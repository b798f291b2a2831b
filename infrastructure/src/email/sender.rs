//! The email sender: a worker that finds notifications without a delivery, claims the pending
//! ones that are due, renders and sends each through SMTP and records the outcome. Time comes
//! from the injected clock (the test clock moves retries); claim leases from the database's
//! clock, as the timers' do, so that with several replicas one sends each email.
//!
//! At least once: an email is recorded sent after the SMTP server accepted it. A crash between
//! the two sends that one email again once its claim expires (with the same Message-ID).

use std::sync::Arc;
use std::time::Duration;

use domain::Clock;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use uuid::Uuid;

use super::deliveries::{self, Claimed, Outcome};
use super::smtp::{SendError, SmtpMailer};
use crate::store::Store;

/// How the sender paces itself.
#[derive(Debug, Clone)]
pub struct EmailOptions {
    /// How often it looks for new notifications and due retries.
    pub poll_interval: Duration,
    /// Emails claimed per round.
    pub batch_size: u32,
    /// How long a claim holds: longer than a round can take (`batch_size` × the SMTP timeout).
    pub lease: Duration,
    /// The wait after the first failed attempt; it doubles with each attempt, up to `max_retry`.
    pub first_retry: chrono::Duration,
    pub max_retry: chrono::Duration,
    /// A notification still unsent this long after it was first seen is given up (`failed`).
    pub give_up_after: chrono::Duration,
}

impl Default for EmailOptions {
    fn default() -> Self {
        Self {
            poll_interval: Duration::from_secs(1),
            batch_size: 20,
            lease: Duration::from_secs(300),
            first_retry: chrono::Duration::seconds(30),
            max_retry: chrono::Duration::hours(1),
            give_up_after: chrono::Duration::days(3),
        }
    }
}

/// Notifications created per round, at most.
const DISCOVER_PER_ROUND: u32 = 500;

pub struct EmailSender {
    store: Arc<Store>,
    clock: Arc<dyn Clock>,
    mailer: SmtpMailer,
    options: EmailOptions,
    /// This sender's name on its claims.
    claimer: String,
    /// When this database started sending email, read once.
    since: tokio::sync::OnceCell<String>,
}

/// What one round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Round {
    pub sent: usize,
    pub retrying: usize,
    pub failed: usize,
}

impl EmailSender {
    pub fn new(
        store: Arc<Store>,
        clock: Arc<dyn Clock>,
        mailer: SmtpMailer,
        options: EmailOptions,
    ) -> Self {
        Self {
            store,
            clock,
            mailer,
            options,
            claimer: Uuid::new_v4().to_string(),
            since: tokio::sync::OnceCell::new(),
        }
    }

    /// One round: new notifications get a delivery, due ones are sent.
    pub async fn round(&self) -> Result<Round, sqlx::Error> {
        let now = self.clock.now();
        let since = self
            .since
            .get_or_try_init(|| deliveries::enabled_since(&self.store, now))
            .await?;
        deliveries::discover(&self.store, now, since, DISCOVER_PER_ROUND).await?;
        let claimed = deliveries::claim(
            &self.store,
            now,
            self.options.batch_size,
            self.options.lease,
            &self.claimer,
        )
        .await?;
        let mut round = Round::default();
        for delivery in claimed {
            let outcome = self.attempt(&delivery).await;
            let kind = delivery.kind.clone();
            match &outcome {
                Outcome::Sent { .. } => {
                    round.sent += 1;
                    metrics::counter!("ledgerline_emails_sent_total", "kind" => kind).increment(1);
                }
                Outcome::Retry { error, .. } => {
                    round.retrying += 1;
                    tracing::warn!(dedupe_key = %delivery.dedupe_key, %error, "email not sent; will retry");
                    metrics::counter!("ledgerline_email_attempts_failed_total", "kind" => kind)
                        .increment(1);
                }
                Outcome::Failed { error } => {
                    round.failed += 1;
                    tracing::error!(dedupe_key = %delivery.dedupe_key, %error, "email given up");
                    metrics::counter!("ledgerline_emails_failed_total", "kind" => kind)
                        .increment(1);
                }
            }
            let recorded =
                deliveries::record(&self.store, &delivery.dedupe_key, &self.claimer, outcome)
                    .await?;
            if !recorded {
                tracing::warn!(
                    dedupe_key = %delivery.dedupe_key,
                    "email claim expired before its outcome was recorded"
                );
            }
        }
        let pending = deliveries::pending(&self.store).await?;
        metrics::gauge!("ledgerline_emails_pending").set(pending as f64);
        Ok(round)
    }

    async fn attempt(&self, delivery: &Claimed) -> Outcome {
        let Some(to) = delivery.recipient.as_deref() else {
            return Outcome::Failed {
                error: "no recipient".to_owned(),
            };
        };
        let email = match super::render(&delivery.kind, &delivery.account_id, &delivery.payload) {
            Ok(email) => email,
            Err(error) => {
                return Outcome::Failed {
                    error: error.to_string(),
                }
            }
        };
        let result = self
            .mailer
            .send(to, &delivery.notification_id, &email)
            .await;
        // The time of the outcome: sending may have taken a while.
        let now = self.clock.now();
        match result {
            Ok(()) => Outcome::Sent { at: now },
            Err(SendError::Permanent(error)) => Outcome::Failed { error },
            Err(SendError::Transient(error))
                if now - delivery.created_at >= self.options.give_up_after =>
            {
                Outcome::Failed {
                    error: format!("gave up after {} attempts: {error}", delivery.attempts + 1),
                }
            }
            Err(SendError::Transient(error)) => Outcome::Retry {
                error,
                next_attempt_at: now + self.backoff(delivery.attempts),
            },
        }
    }

    /// The wait after the attempt that follows `attempts` earlier ones.
    fn backoff(&self, attempts: i64) -> chrono::Duration {
        let doublings = attempts.clamp(0, 20) as i32;
        let wait = self.options.first_retry * 2_i32.pow(doublings as u32);
        wait.min(self.options.max_retry)
    }

    /// Runs rounds until stopped. Must be called inside a Tokio runtime.
    pub fn spawn(self) -> EmailSenderHandle {
        let shutdown = watch::channel(false).0;
        let mut stop = shutdown.subscribe();
        let task = tokio::spawn(async move {
            loop {
                if let Err(error) = self.round().await {
                    tracing::warn!(%error, "email round failed; retrying");
                }
                tokio::select! {
                    _ = stop.wait_for(|stop| *stop) => return,
                    _ = tokio::time::sleep(self.options.poll_interval) => {}
                }
            }
        });
        EmailSenderHandle { shutdown, task }
    }
}

/// The running sender.
pub struct EmailSenderHandle {
    shutdown: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl EmailSenderHandle {
    /// Stops after the current round and waits for it.
    pub async fn stop(self) {
        self.shutdown.send_replace(true);
        if let Err(error) = self.task.await {
            tracing::error!(%error, "the email sender panicked");
        }
    }
}
