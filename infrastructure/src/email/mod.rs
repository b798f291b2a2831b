//! Email to customers (SPEC 9.4): every notification of the outbox (the `notifications` read
//! model) goes to the account's billing email through SMTP, once per dedupe key, with retries
//! while the server is unreachable. What was sent is kept in `email_deliveries`, which is not a
//! read model: rebuilding the outbox sends nothing again. See docs/email.md.
//!
//! The sender reads the outbox's `notifications` table directly (by name, like the migrations
//! define it): the read model's crate depends on this one, not the other way round.

mod deliveries;
mod render;
mod sender;
mod smtp;

pub use deliveries::{deliveries, DeliveryStatus, EmailDelivery};
pub use render::{format_amount, render, Facts, RenderError, RenderedEmail, KINDS};
pub use sender::{EmailOptions, EmailSender, EmailSenderHandle, Round};
pub use smtp::{EmailConfigError, SendError, SmtpMailer};

#[cfg(test)]
mod tests;
