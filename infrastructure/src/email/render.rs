//! A notification as an email: its subject and its plain-text and HTML parts, from the templates
//! in `infrastructure/templates/email/` (checked at compile time by askama; the HTML part escapes
//! every value it prints).

use askama::Template;
use chrono::{DateTime, Utc};
use serde::Deserialize;

/// What an email shows, as text: the templates only print these.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    pub account_id: String,
    /// The amount due, or paid, e.g. `19.00 USD`.
    pub amount: String,
    pub invoice_id: String,
    /// Dates, e.g. `2026-03-01`.
    pub due_date: Option<String>,
    pub suspend_date: Option<String>,
    pub cancel_date: Option<String>,
    pub paid_date: Option<String>,
    pub trial_end_date: String,
}

/// An email ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedEmail {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// Why a notification cannot become an email: a kind without templates, or a payload without
/// what its templates print. Either is a defect: the delivery is marked failed, not retried.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("no email templates for notification kind `{0}`")]
    UnknownKind(String),
    #[error("notification payload: {0}")]
    Payload(#[from] serde_json::Error),
    #[error("template: {0}")]
    Template(#[from] askama::Error),
}

macro_rules! templates {
    ($($kind:literal => $text:ident($text_path:literal), $html:ident($html_path:literal);)*) => {
        $(
            #[derive(Template)]
            #[template(path = $text_path)]
            struct $text<'a> {
                facts: &'a Facts,
            }

            #[derive(Template)]
            #[template(path = $html_path)]
            struct $html<'a> {
                facts: &'a Facts,
                subject: &'a str,
            }
        )*

        /// The kinds that have templates.
        pub const KINDS: &[&str] = &[$($kind),*];

        fn parts(kind: &str, facts: &Facts, subject: &str) -> Result<(String, String), RenderError> {
            match kind {
                $($kind => Ok(($text { facts }.render()?, $html { facts, subject }.render()?)),)*
                other => Err(RenderError::UnknownKind(other.to_owned())),
            }
        }
    };
}

templates! {
    "payment_failed" =>
        PaymentFailedText("email/payment_failed.txt"), PaymentFailedHtml("email/payment_failed.html");
    "access_suspended" =>
        AccessSuspendedText("email/access_suspended.txt"), AccessSuspendedHtml("email/access_suspended.html");
    "payment_recovered" =>
        PaymentRecoveredText("email/payment_recovered.txt"), PaymentRecoveredHtml("email/payment_recovered.html");
    "retry_failed" =>
        RetryFailedText("email/retry_failed.txt"), RetryFailedHtml("email/retry_failed.html");
    "suspension_warning" =>
        SuspensionWarningText("email/suspension_warning.txt"),
        SuspensionWarningHtml("email/suspension_warning.html");
    "subscription_cancelled" =>
        SubscriptionCancelledText("email/subscription_cancelled.txt"),
        SubscriptionCancelledHtml("email/subscription_cancelled.html");
    "trial_will_end" =>
        TrialWillEndText("email/trial_will_end.txt"), TrialWillEndHtml("email/trial_will_end.html");
    "invoice_receipt" =>
        InvoiceReceiptText("email/invoice_receipt.txt"), InvoiceReceiptHtml("email/invoice_receipt.html");
}

/// The notification `kind` of `account_id` with `payload` (the outbox's JSON), as an email.
pub fn render(kind: &str, account_id: &str, payload: &str) -> Result<RenderedEmail, RenderError> {
    let payload: Payload = serde_json::from_str(payload)?;
    let facts = payload.facts(account_id);
    let subject = match kind {
        "payment_failed" => format!("Your payment of {} failed", facts.amount),
        "access_suspended" => "Your access has been suspended".to_owned(),
        "payment_recovered" => format!("Payment of {} received, thank you", facts.amount),
        "retry_failed" => format!("We could not collect {} again", facts.amount),
        "suspension_warning" => match &facts.suspend_date {
            Some(date) => format!("Your access will be suspended on {date}"),
            None => "Your access will be suspended soon".to_owned(),
        },
        "subscription_cancelled" => "Your subscription has been cancelled".to_owned(),
        "trial_will_end" => format!("Your trial ends on {}", facts.trial_end_date),
        "invoice_receipt" => format!("Your receipt for {}", facts.amount),
        other => return Err(RenderError::UnknownKind(other.to_owned())),
    };
    let (text, html) = parts(kind, &facts, &subject)?;
    Ok(RenderedEmail {
        subject,
        text,
        html,
    })
}

/// The outbox payload of every kind (each names some of these).
#[derive(Debug, Deserialize)]
struct Payload {
    invoice_id: Option<String>,
    amount_due: Option<Amount>,
    amount_paid: Option<Amount>,
    invoice_due_at: Option<DateTime<Utc>>,
    access_suspended_at: Option<DateTime<Utc>>,
    cancel_at: Option<DateTime<Utc>>,
    paid_at: Option<DateTime<Utc>>,
    trial_ends_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Deserialize)]
struct Amount {
    amount: i64,
    currency: String,
}

impl Payload {
    fn facts(self, account_id: &str) -> Facts {
        let amount = self.amount_paid.or(self.amount_due);
        Facts {
            account_id: account_id.to_owned(),
            amount: amount
                .map(|a| format_amount(a.amount, &a.currency))
                .unwrap_or_default(),
            invoice_id: self.invoice_id.unwrap_or_default(),
            due_date: self.invoice_due_at.map(date),
            suspend_date: self.access_suspended_at.map(date),
            cancel_date: self.cancel_at.map(date),
            paid_date: self.paid_at.map(date),
            trial_end_date: self.trial_ends_at.map(date).unwrap_or_default(),
        }
    }
}

fn date(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d").to_string()
}

/// Currencies whose minor unit is the major unit (ISO 4217 exponent 0).
const ZERO_DECIMAL: &[&str] = &[
    "bif", "clp", "djf", "gnf", "isk", "jpy", "kmf", "krw", "pyg", "rwf", "ugx", "vnd", "vuv",
    "xaf", "xof", "xpf",
];

/// `1900 usd` → `19.00 USD`; `500 jpy` → `500 JPY`.
pub fn format_amount(minor: i64, currency: &str) -> String {
    let code = currency.to_ascii_uppercase();
    if ZERO_DECIMAL.contains(&currency.to_ascii_lowercase().as_str()) {
        return format!("{minor} {code}");
    }
    let sign = if minor < 0 { "-" } else { "" };
    let abs = minor.unsigned_abs();
    format!("{sign}{}.{:02} {code}", abs / 100, abs % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_read_in_major_units() {
        assert_eq!(format_amount(1900, "usd"), "19.00 USD");
        assert_eq!(format_amount(5, "eur"), "0.05 EUR");
        assert_eq!(format_amount(-1234, "usd"), "-12.34 USD");
        assert_eq!(format_amount(500, "jpy"), "500 JPY");
    }

    #[test]
    fn every_kind_renders_both_parts_with_its_facts() {
        let payload = r#"{"invoice_id": "inv-1", "amount_due": {"amount": 1900, "currency": "usd"},
            "amount_paid": null, "invoice_due_at": "2026-03-01T00:00:00Z",
            "access_suspended_at": "2026-03-15T00:00:00Z", "cancel_at": "2026-03-31T00:00:00Z",
            "trial_ends_at": "2026-04-01T00:00:00Z"}"#;
        for kind in KINDS {
            let email = render(kind, "acct_1", payload).unwrap();
            assert!(email.text.contains("acct_1"), "{kind}: {}", email.text);
            assert!(email.html.contains("acct_1"), "{kind}: {}", email.html);
            assert!(email.html.contains("</html>"), "{kind}");
            assert!(!email.subject.is_empty());
        }
        let failed = render("payment_failed", "acct_1", payload).unwrap();
        assert_eq!(failed.subject, "Your payment of 19.00 USD failed");
        assert!(failed.text.contains("inv-1") && failed.text.contains("2026-03-01"));
        assert!(failed.text.contains("2026-03-15"), "{}", failed.text);
        let trial = render("trial_will_end", "acct_1", payload).unwrap();
        assert_eq!(trial.subject, "Your trial ends on 2026-04-01");
    }

    #[test]
    fn the_html_part_escapes_and_the_text_part_does_not() {
        let payload =
            r#"{"invoice_id": "<b>x</b>", "amount_paid": {"amount": 100, "currency": "usd"}}"#;
        let email = render("invoice_receipt", "acct_<1>", payload).unwrap();
        assert!(
            email.html.contains("&#60;b&#62;x&#60;/b&#62;"),
            "{}",
            email.html
        );
        assert!(!email.html.contains("<b>x</b>"));
        assert!(email.text.contains("<b>x</b>"));
        assert_eq!(email.subject, "Your receipt for 1.00 USD");
    }

    /// Every kind the dunning process manager can record has templates: a new variant that has
    /// none fails to compile here (the match) or fails this test.
    #[test]
    fn every_dunning_notification_kind_has_templates() {
        use domain::dunning::NotificationKind as K;
        let every = [
            K::PaymentFailed,
            K::RetryFailed,
            K::SuspensionWarning,
            K::AccessSuspended,
            K::PaymentRecovered,
            K::SubscriptionCancelled,
        ];
        for kind in every {
            match kind {
                K::PaymentFailed
                | K::RetryFailed
                | K::SuspensionWarning
                | K::AccessSuspended
                | K::PaymentRecovered
                | K::SubscriptionCancelled => {}
            }
            let name = serde_json::to_value(kind).unwrap();
            let name = name.as_str().unwrap();
            assert!(KINDS.contains(&name), "{name} has no templates");
            render(
                name,
                "acct_1",
                r#"{"amount_due": {"amount": 1, "currency": "usd"}}"#,
            )
            .unwrap();
        }
        for ours in ["trial_will_end", "invoice_receipt"] {
            assert!(KINDS.contains(&ours));
        }
    }

    #[test]
    fn an_unknown_kind_is_an_error() {
        assert!(matches!(
            render("sale", "acct_1", "{}"),
            Err(RenderError::UnknownKind(_))
        ));
    }
}
