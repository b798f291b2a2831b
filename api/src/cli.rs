//! The command line: every option has an environment variable and shows in `--help`.

use std::net::SocketAddr;
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use clap::{Args, Parser, Subcommand, ValueEnum};

/// Ledgerline: event-sourced subscription billing.
#[derive(Debug, Parser)]
#[command(
    name = "ledgerline",
    version,
    after_help = "Environment: LEDGERLINE_LOG sets which log lines are written (tracing's filter \
                  syntax, e.g. `info` (the default), `debug`, or `info,sqlx=warn`)."
)]
pub struct Cli {
    /// Log line format.
    #[arg(long, global = true, env = "LEDGERLINE_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, for log shippers.
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP service (migrates the database first).
    Serve(Box<ServeArgs>),
    /// Apply pending database migrations and exit.
    Migrate(DatabaseArgs),
    /// Create, list and revoke API keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Webhook endpoints: create, list, rotate a secret, delete (as /v1/webhook-endpoints does).
    #[command(subcommand)]
    Webhooks(WebhooksCommand),
    /// Rebuild one read model, or every one, from the event log (with a progress bar).
    Replay(ReplayArgs),
    /// Inspect the event log and check the read models against it.
    #[command(subcommand)]
    Audit(AuditCommand),
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Print one aggregate's events in order (time, sequence, position, type, actor, command,
    /// cause, key facts); with `--at`, only those recorded up to T, then its state as of T.
    Stream(AuditStreamArgs),
    /// Replay the whole log into fresh read models and compare them row by row with the live
    /// ones. Exits 1 on any mismatch, 2 when verification itself fails.
    Verify(ReadModelArgs),
}

#[derive(Debug, Args)]
pub struct AuditStreamArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// subscription, entitlements, invoice, dunning_case, processor_event, processor_customer,
    /// webhook_endpoint, invoice_numbering or customer_balance.
    pub aggregate_type: String,
    /// The stream's id: the `aggregate_id` a command answered (a subscription's or an invoice's
    /// UUID, an account id for entitlements and a customer balance).
    pub aggregate_id: String,
    /// An RFC 3339 instant: show the longest prefix of the stream recorded at or before it.
    #[arg(long, value_parser = parse_instant)]
    pub at: Option<DateTime<Utc>>,
}

fn parse_instant(text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text)
        .map(|at| at.to_utc())
        .map_err(|e| format!("not an RFC 3339 instant (e.g. 2026-03-01T12:00:00Z): {e}"))
}

#[derive(Debug, Args)]
pub struct ReplayArgs {
    #[command(flatten)]
    pub read_models: ReadModelArgs,
    /// The read model to rebuild; every one when absent.
    #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(projections::READ_MODEL_NAMES))]
    pub projection: Option<String>,
}

/// What replaying read models needs: the database, and the plan catalog the summary reads.
#[derive(Debug, Args)]
pub struct ReadModelArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// The plan catalog file.
    #[arg(long, env = "LEDGERLINE_PLANS", default_value = "config/plans.toml")]
    pub plans: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create a key and print its secret (shown once, stored only as a digest).
    Create {
        #[command(flatten)]
        database: DatabaseArgs,
        /// What the key may do (docs/operations.md, "API keys").
        #[arg(long, value_parser = ["admin", "service", "support", "account"])]
        role: String,
        /// The account an `account` key is bound to (required with `--role account`).
        #[arg(long = "account-id", alias = "account")]
        account_id: Option<String>,
    },
    /// List keys (never their secrets).
    List {
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Revoke a key by its id: it is refused at once by every server.
    Revoke {
        #[command(flatten)]
        database: DatabaseArgs,
        /// The key's id, as `keys create` printed it and `keys list` shows it (`key_…`).
        key_id: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum WebhooksCommand {
    /// Creates an endpoint and prints its signing secret, once.
    Create {
        #[command(flatten)]
        database: DatabaseArgs,
        #[command(flatten)]
        webhooks: WebhookArgs,
        url: String,
        /// Event types (`invoice.paid`, `invoice.*`), comma-separated; `*` for all.
        #[arg(long, value_delimiter = ',', default_value = "*")]
        events: Vec<String>,
        #[arg(long)]
        description: Option<String>,
    },
    /// Lists the endpoints (never their secrets).
    List {
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Gives an endpoint a new secret and prints it, once; the old one signs beside it for 24 h.
    RotateSecret {
        #[command(flatten)]
        database: DatabaseArgs,
        #[command(flatten)]
        webhooks: WebhookArgs,
        id: String,
    },
    /// Deletes an endpoint and its delivery records.
    Delete {
        #[command(flatten)]
        database: DatabaseArgs,
        id: String,
    },
}

#[derive(Debug, Args)]
pub struct DatabaseArgs {
    /// Where events are stored: `sqlite://FILE` (embedded, the default) or `postgres://…`.
    #[arg(long, env = "DATABASE_URL", default_value = infrastructure::DEFAULT_DATABASE_URL)]
    pub database_url: String,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,

    /// Address to listen on. Port 0 picks a free port (the chosen address is logged).
    #[arg(long, env = "LEDGERLINE_BIND", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,

    /// The plan catalog file.
    #[arg(long, env = "LEDGERLINE_PLANS", default_value = "config/plans.toml")]
    pub plans: PathBuf,

    /// An admin API key installed at start (keep it secret; it is never logged).
    #[arg(long, env = "LEDGERLINE_ADMIN_KEY", hide_env_values = true)]
    pub admin_key: Option<infrastructure::Secret>,

    /// Serve the test clock (/v1/test-clock): time starts now and moves only when told to.
    /// Never in production.
    #[arg(long, env = "LEDGERLINE_TEST_CLOCK")]
    pub test_clock: bool,

    #[command(flatten)]
    pub dunning: DunningArgs,

    /// How long an `Idempotency-Key` replays its first response, in hours (at least 24). Older
    /// request records are purged hourly; a retry after that executes again.
    #[arg(
        long,
        env = "LEDGERLINE_IDEMPOTENCY_RETENTION_HOURS",
        default_value_t = 24,
        value_parser = clap::value_parser!(u32).range(24..=MAX_RETENTION_HOURS)
    )]
    pub idempotency_retention_hours: u32,

    #[command(flatten)]
    pub connections: ConnectionArgs,

    #[command(flatten)]
    pub event_sinks: EventSinkArgs,

    #[command(flatten)]
    pub webhooks: WebhookArgs,

    #[command(flatten)]
    pub email: EmailArgs,

    #[command(flatten)]
    pub payments: PaymentGatewayArgs,

    #[command(flatten)]
    pub invoicing: crate::invoicing::InvoicingArgs,
}

/// Email to customers (SPEC 9.4, docs/email.md).
#[derive(Debug, Args)]
pub struct EmailArgs {
    /// Send every notification to the account's billing email through this SMTP server:
    /// `smtp://host:port` (add `?tls=required` for STARTTLS), `smtps://host:465`, with
    /// `user:password@` when it asks for a login. It holds credentials: it is never logged.
    /// Without it notifications are only recorded.
    #[arg(
        long,
        env = "LEDGERLINE_SMTP_URL",
        hide_env_values = true,
        requires = "email_from"
    )]
    pub smtp_url: Option<infrastructure::Secret>,

    /// The From address of customer emails, e.g. `Example Billing <billing@example.com>`.
    #[arg(long, env = "LEDGERLINE_EMAIL_FROM")]
    pub email_from: Option<String>,
}

/// Which payment processor charges the cards (SPEC 4 and 10, docs/stripe.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum GatewayKind {
    /// Decides by Stripe's test tokens and moves no money.
    Sandbox,
    /// Charges through Stripe's API (test or live mode, as the API key says).
    Stripe,
}

#[derive(Debug, Args)]
pub struct PaymentGatewayArgs {
    /// The payment gateway: `sandbox` (default) or `stripe`.
    #[arg(long, env = "LEDGERLINE_PAYMENT_GATEWAY", value_enum, default_value_t = GatewayKind::Sandbox)]
    pub payment_gateway: GatewayKind,

    /// Stripe's secret API key (`sk_test_…` or `sk_live_…`); required with `--payment-gateway
    /// stripe`. Never logged.
    #[arg(long, env = "STRIPE_API_KEY", hide_env_values = true)]
    pub stripe_api_key: Option<infrastructure::Secret>,

    /// A signing secret (`whsec_…`) of Stripe's webhooks to `POST /v1/webhooks/stripe`; repeat
    /// the flag, or separate with commas in the variable, to accept several during a rotation.
    /// Without one, every Stripe webhook is refused. Never logged.
    #[arg(
        long,
        env = "STRIPE_WEBHOOK_SECRETS",
        hide_env_values = true,
        value_delimiter = ','
    )]
    pub stripe_webhook_secret: Vec<infrastructure::Secret>,

    /// Where Stripe's API is; tests point it at a local fake.
    #[arg(long, env = "LEDGERLINE_STRIPE_API_BASE", default_value = infrastructure::StripeConfig::DEFAULT_API_BASE)]
    pub stripe_api_base: String,
}

/// Where integration events go besides `GET /v1/events` and webhooks (SPEC 9.3).
#[derive(Debug, Args)]
pub struct EventSinkArgs {
    /// Also publish every integration event to NATS JetStream here (`nats://host:4222`). The
    /// server does not start while it cannot reach it.
    #[arg(long, env = "LEDGERLINE_EVENTS_NATS_URL", hide_env_values = true)]
    pub events_nats_url: Option<String>,

    /// The JetStream stream events are published to (subjects `ledgerline.events.>`); created
    /// when missing.
    #[arg(
        long,
        env = "LEDGERLINE_EVENTS_NATS_STREAM",
        default_value = "LEDGERLINE_EVENTS"
    )]
    pub events_nats_stream: String,

    /// Events are published on `<prefix>.<type>`. Two streams on one NATS server cannot share
    /// subjects: give each deployment its own prefix.
    #[arg(
        long,
        env = "LEDGERLINE_EVENTS_NATS_SUBJECT_PREFIX",
        default_value = "ledgerline.events"
    )]
    pub events_nats_subject_prefix: String,
}

impl EventSinkArgs {
    pub fn nats(&self) -> Option<infrastructure::events_sink::NatsSinkOptions> {
        self.events_nats_url
            .clone()
            .map(|url| infrastructure::events_sink::NatsSinkOptions {
                url,
                stream: self.events_nats_stream.clone(),
                subject_prefix: self.events_nats_subject_prefix.clone(),
            })
    }
}

/// Webhook delivery (SPEC 9.2).
#[derive(Debug, Args)]
pub struct WebhookArgs {
    /// Allow webhook endpoints on loopback and private addresses, and plain http to them (tests
    /// and local development). Without it such endpoints are refused.
    #[arg(long, env = "LEDGERLINE_WEBHOOK_ALLOW_PRIVATE")]
    pub webhook_allow_private: bool,

    /// Encrypts webhook signing secrets at rest (XChaCha20-Poly1305 under a key derived from
    /// this value). Without it they are stored as they are. Keep the same value across restarts.
    #[arg(long, env = "LEDGERLINE_SECRETS_KEY", hide_env_values = true)]
    pub secrets_key: Option<infrastructure::Secret>,
}

impl WebhookArgs {
    pub fn sealer(&self) -> infrastructure::webhooks::SecretSealer {
        infrastructure::webhooks::SecretSealer::new(self.secrets_key.as_ref())
    }

    pub fn settings(&self) -> crate::state::WebhookSettings {
        crate::state::WebhookSettings {
            sealer: self.sealer(),
            url_policy: infrastructure::webhooks::UrlPolicy {
                allow_private: self.webhook_allow_private,
            },
        }
    }
}

/// How long and how many connections a client may hold (docs/operations.md).
#[derive(Debug, Args)]
pub struct ConnectionArgs {
    /// Seconds a connection may take to send a request's headers, counted from when it starts
    /// waiting for the request: an idle keep-alive connection is closed after this long too.
    #[arg(
        long,
        env = "LEDGERLINE_HEADER_READ_TIMEOUT_SECS",
        default_value_t = 10,
        value_parser = clap::value_parser!(u64).range(1..=3600)
    )]
    pub header_read_timeout_secs: u64,

    /// Seconds a request body may take to arrive once the server reads it (408 after).
    #[arg(
        long,
        env = "LEDGERLINE_BODY_READ_TIMEOUT_SECS",
        default_value_t = 30,
        value_parser = clap::value_parser!(u64).range(1..=3600)
    )]
    pub body_read_timeout_secs: u64,

    /// Connections served at once; more wait until one closes.
    #[arg(
        long,
        env = "LEDGERLINE_MAX_CONNECTIONS",
        default_value_t = 1024,
        value_parser = clap::value_parser!(u32).range(1..=1_000_000)
    )]
    pub max_connections: u32,
}

impl ConnectionArgs {
    pub fn limits(&self) -> crate::connections::ConnectionLimits {
        crate::connections::ConnectionLimits {
            header_read_timeout: std::time::Duration::from_secs(self.header_read_timeout_secs),
            body_read_timeout: std::time::Duration::from_secs(self.body_read_timeout_secs),
            max_connections: self.max_connections as usize,
        }
    }
}

/// Ten years: a bound that keeps the cutoff arithmetic far from overflow.
const MAX_RETENTION_HOURS: i64 = 10 * 366 * 24;

/// The dunning timeline (SPEC 3.5), counted in days from a case's first failed payment. A case
/// keeps the dates it was opened with.
#[derive(Debug, Args)]
pub struct DunningArgs {
    /// Days after the first failure at which the payment is retried, comma-separated.
    #[arg(
        long,
        env = "LEDGERLINE_DUNNING_RETRY_DAYS",
        value_delimiter = ',',
        default_value = "1,3,5,7"
    )]
    pub dunning_retry_days: Vec<u32>,

    /// Days after the first failure after which access is suspended.
    #[arg(long, env = "LEDGERLINE_DUNNING_WINDOW_DAYS", default_value_t = 14)]
    pub dunning_window_days: u32,

    /// Days after the first failure at which the subscription is cancelled.
    #[arg(
        long,
        env = "LEDGERLINE_DUNNING_CANCEL_AFTER_DAYS",
        default_value_t = 30
    )]
    pub dunning_cancel_after_days: u32,
}

impl DunningArgs {
    pub fn policy(&self) -> domain::dunning::DunningPolicy {
        domain::dunning::DunningPolicy {
            retry_days: self.dunning_retry_days.clone(),
            window_days: self.dunning_window_days,
            cancel_after_days: self.dunning_cancel_after_days,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn serve(extra: &[&str]) -> Result<ServeArgs, clap::Error> {
        let args = ["ledgerline", "serve"].iter().chain(extra);
        match Cli::try_parse_from(args)?.command {
            Command::Serve(args) => Ok(*args),
            other => panic!("parsed as {other:?}"),
        }
    }

    #[test]
    fn the_admin_key_is_read_but_never_printed() {
        let args = serve(&["--admin-key", "ll_bootstrap_secret"]).unwrap();
        let key = args.admin_key.as_ref().expect("an admin key");
        assert_eq!(key.expose(), "ll_bootstrap_secret");
        assert!(!format!("{args:?}").contains("ll_bootstrap_secret"));
    }

    #[test]
    fn connection_limits_have_defaults_and_refuse_zero() {
        let limits = serve(&[]).unwrap().connections.limits();
        assert_eq!(limits.header_read_timeout.as_secs(), 10);
        assert_eq!(limits.body_read_timeout.as_secs(), 30);
        assert_eq!(limits.max_connections, 1024);
        for flag in [
            "--header-read-timeout-secs",
            "--body-read-timeout-secs",
            "--max-connections",
        ] {
            assert!(serve(&[flag, "0"]).is_err(), "{flag} 0 was accepted");
        }
    }

    #[test]
    fn idempotency_retention_defaults_to_a_day_and_refuses_less() {
        assert_eq!(serve(&[]).unwrap().idempotency_retention_hours, 24);
        let week = serve(&["--idempotency-retention-hours", "168"]).unwrap();
        assert_eq!(week.idempotency_retention_hours, 168);
        for refused in ["23", "0", "-1", "87841", "a day"] {
            assert!(
                serve(&["--idempotency-retention-hours", refused]).is_err(),
                "{refused} was accepted"
            );
        }
    }
}
