//! The SMTP side: lettre's async transport on tokio, built from a URL that may hold credentials
//! (`smtp://user:password@host:587?tls=required`, `smtps://…`). The URL is a [`Secret`]: it is
//! never logged, and neither `Debug` nor any error here prints it.

use std::fmt;
use std::time::Duration;

use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::RenderedEmail;
use crate::Secret;

/// Sends emails from one address through one SMTP server.
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

/// A configuration the server refuses to start with.
#[derive(Debug, thiserror::Error)]
pub enum EmailConfigError {
    /// The URL itself is left out: it may hold a password.
    #[error(
        "--smtp-url is not a valid SMTP URL (smtp://host:port or smtps://host:port, \
         optionally with user:password@ and ?tls=required)"
    )]
    SmtpUrl,
    #[error(
        "--email-from `{0}` is not an email address (`billing@example.com` or \
         `Example Billing <billing@example.com>`)"
    )]
    From(String),
}

/// Why one email did not go out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// The server refused it for good (a 5xx reply), or it cannot be built: retrying changes
    /// nothing.
    Permanent(String),
    /// The server was unreachable or answered 4xx: try again later.
    Transient(String),
}

impl SmtpMailer {
    /// `timeout`: for each SMTP command, connecting included.
    pub fn new(url: &Secret, from: &str, timeout: Duration) -> Result<Self, EmailConfigError> {
        let from: Mailbox = from
            .parse()
            .map_err(|_| EmailConfigError::From(from.to_owned()))?;
        // lettre's error names what is wrong with the URL, and may quote it: it is dropped.
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose())
            .map_err(|_| EmailConfigError::SmtpUrl)?
            .timeout(Some(timeout))
            .build();
        Ok(Self { transport, from })
    }

    /// Sends `email` to `to`, with `Message-ID: <{notification_id}@ledgerline>`: a message sent
    /// twice (a crash between the send and its record) carries the same id both times.
    pub async fn send(
        &self,
        to: &str,
        notification_id: &str,
        email: &RenderedEmail,
    ) -> Result<(), SendError> {
        let to: Mailbox = to
            .parse()
            .map_err(|e| SendError::Permanent(format!("recipient `{to}`: {e}")))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(email.subject.clone())
            .message_id(Some(format!("<{notification_id}@ledgerline>")))
            .multipart(MultiPart::alternative_plain_html(
                email.text.clone(),
                email.html.clone(),
            ))
            .map_err(|e| SendError::Permanent(format!("message: {e}")))?;
        match self.transport.send(message).await {
            Ok(_) => Ok(()),
            Err(error) if error.is_permanent() => Err(SendError::Permanent(error.to_string())),
            Err(error) => Err(SendError::Transient(error.to_string())),
        }
    }
}

impl fmt::Debug for SmtpMailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpMailer")
            .field("from", &self.from.to_string())
            .field("url", &"[redacted]")
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neither_errors_nor_debug_show_the_url() {
        let bad = Secret::new("smtp://user:hunter2@exa mple.com:bad");
        let error = SmtpMailer::new(&bad, "billing@example.com", Duration::from_secs(1))
            .unwrap_err()
            .to_string();
        assert!(!error.contains("hunter2"), "{error}");
        let good = Secret::new("smtp://user:hunter2@127.0.0.1:2525");
        let mailer = SmtpMailer::new(&good, "billing@example.com", Duration::from_secs(1)).unwrap();
        let shown = format!("{mailer:?}");
        assert!(
            !shown.contains("hunter2") && shown.contains("redacted"),
            "{shown}"
        );
    }

    #[test]
    fn a_bad_sender_address_is_refused() {
        let url = Secret::new("smtp://127.0.0.1:2525");
        assert!(matches!(
            SmtpMailer::new(&url, "not an address", Duration::from_secs(1)),
            Err(EmailConfigError::From(_))
        ));
    }
}
