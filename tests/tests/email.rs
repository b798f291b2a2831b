//! Email to customers (SPEC 9.4) from the real binary, on both backends, to a real SMTP server on
//! loopback (aiosmtpd, `tests/smtp_recorder.py`) that records every message it accepts: each
//! notification goes out once, to the billing email, with its subject and amount; while the SMTP
//! server is down the email stays pending and is retried, and it goes out once the server is
//! back; without `--smtp-url` nothing is sent and the list says so.

mod support;

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use infrastructure::testing::{Backend, TestDatabase};
use serde_json::{json, Value};
use support::{workspace_root, Api, Server};

const DAY: i64 = 24 * 60 * 60;
const FROM: &str = "Ledgerline Billing <billing@ledgerline.test>";
/// Long enough for a loaded CI machine; a test that waits this long has failed anyway.
const PATIENCE: Duration = Duration::from_secs(60);

/// `tests/smtp_recorder.py` on a port, recording into a file; killed when dropped.
struct SmtpRecorder {
    child: Child,
    out: PathBuf,
}

impl SmtpRecorder {
    /// Starts the recorder on `port` and waits until it accepts connections. The Python comes
    /// from `LEDGERLINE_TEST_PYTHON` (scripts/test points it at a virtualenv with aiosmtpd).
    fn start(port: u16, out: &Path) -> Self {
        let python = std::env::var("LEDGERLINE_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
        let mut child = Command::new(&python)
            .arg(workspace_root().join("tests/smtp_recorder.py"))
            .arg(port.to_string())
            .arg(out)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("{python} runs: {e}"));
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("the recorder writes a line");
        assert!(
            line.starts_with("listening on"),
            "the SMTP recorder did not start (is aiosmtpd installed? `pip install aiosmtpd`, \
             or run scripts/test): {line:?}"
        );
        Self {
            child,
            out: out.to_owned(),
        }
    }

    /// Every message received so far, in order.
    fn messages(&self) -> Vec<Value> {
        match std::fs::read_to_string(&self.out) {
            Ok(text) => text
                .lines()
                .map(|line| serde_json::from_str(line).expect("a JSON line"))
                .collect(),
            Err(_) => Vec::new(),
        }
    }
}

impl Drop for SmtpRecorder {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port nothing listens on right now.
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().unwrap().port()
}

/// A fresh file for one recorder.
fn recorder_file() -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let name = format!("ledgerline-smtp-{}-{nanos}.jsonl", std::process::id());
    std::env::temp_dir().join(name)
}

fn serve_with_smtp(db: &TestDatabase, port: u16) -> Server {
    let url = format!("smtp://127.0.0.1:{port}");
    Server::on(
        &db.url,
        &["--test-clock", "--smtp-url", &url, "--email-from", FROM],
    )
}

async fn advance(api: &Api, seconds: i64) {
    api.post("/v1/test-clock/advance", json!({"seconds": seconds}))
        .await
        .assert_status(200);
}

async fn get(api: &Api, path: &str) -> Value {
    let reply = api.get(path).await;
    reply.assert_status(200);
    reply.body
}

async fn notifications(api: &Api, account: &str) -> Vec<Value> {
    let path = format!("/v1/accounts/{account}/notifications?limit=100");
    get(api, &path).await["items"]
        .as_array()
        .expect("items")
        .clone()
}

/// Polls `check` until it answers `Ok`, or fails the test after [`PATIENCE`] with what it last
/// saw.
async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, String>>,
{
    let started = Instant::now();
    loop {
        match check().await {
            Ok(found) => return found,
            Err(seen) => assert!(
                started.elapsed() < PATIENCE,
                "waited {PATIENCE:?} for {what}; last saw {seen}"
            ),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The account's notification of `kind`, as `Err` when there is none yet.
async fn notification(api: &Api, account: &str, kind: &str) -> Result<Value, String> {
    let all = notifications(api, account).await;
    all.iter()
        .find(|n| n["kind"] == kind)
        .cloned()
        .ok_or_else(|| format!("{all:#?}"))
}

/// Starts a subscription of `account` with a billing email and card and activates it: its first
/// invoice (19.00 USD, the starter plan) is paid. Returns the subscription id.
async fn activated(api: &Api, account: &str, email: &str) -> String {
    let body = json!({"account_id": account, "plan_id": "starter",
                      "billing_email": email, "payment_method": "pm_card_visa"});
    let reply = api.post("/v1/subscriptions", body).await;
    reply.assert_status(201);
    let subscription = reply.str("aggregate_id");
    api.post(
        &format!("/v1/subscriptions/{subscription}/activate"),
        json!({}),
    )
    .await
    .assert_status(200);
    advance(api, 0).await;
    subscription
}

async fn every_notification_is_emailed_once_to_the_billing_email(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let port = free_port();
    let smtp = SmtpRecorder::start(port, &recorder_file());
    let server = serve_with_smtp(&db, port);
    let api = Api::admin(&server.base_url);

    // A trial with a billing email: told three days before it ends, then charged at its end.
    let body = json!({"account_id": "acct_trial", "plan_id": "starter",
                      "billing_email": "trial@example.com", "payment_method": "pm_card_visa"});
    api.post("/v1/subscriptions", body).await.assert_status(201);
    // Paid at once (a receipt); then a declining card, and its renewal fails (payment_failed).
    let subscription = activated(&api, "acct_paying", "paying@example.com").await;
    let sub_path = format!("/v1/subscriptions/{subscription}");
    let attach = json!({"email": "paying@example.com", "payment_method": "pm_card_chargeDeclined"});
    api.post(&format!("{sub_path}/attach-billing-account"), attach)
        .await
        .assert_status(200);
    let period_end = get(&api, &sub_path).await["current_period_end"].clone();
    api.post("/v1/test-clock/advance", json!({"to": period_end}))
        .await
        .assert_status(200);

    let expected = [
        (
            "acct_trial",
            "trial@example.com",
            vec!["trial_will_end", "invoice_receipt"],
        ),
        (
            "acct_paying",
            "paying@example.com",
            vec!["invoice_receipt", "payment_failed"],
        ),
    ];
    let mut told = Vec::new();
    for (account, recipient, kinds) in &expected {
        let all = eventually(&format!("{account}'s emails sent"), || async {
            let all = notifications(&api, account).await;
            let sent = all.iter().all(|n| n["email"]["status"] == "sent");
            if all.len() == kinds.len() && sent {
                Ok(all)
            } else {
                Err(format!("{all:#?}"))
            }
        })
        .await;
        let listed: Vec<&str> = all.iter().map(|n| n["kind"].as_str().unwrap()).collect();
        assert_eq!(&listed, kinds, "{all:#?}");
        for notification in &all {
            assert_eq!(notification["recipient"], *recipient, "{notification}");
            assert_eq!(notification["email"]["attempts"], 1, "{notification}");
            assert!(
                notification["email"]["sent_at"].is_string(),
                "{notification}"
            );
            told.push(notification.clone());
        }
    }

    let messages = smtp.messages();
    assert_eq!(
        messages.len(),
        told.len(),
        "one message per notification: {messages:#?}"
    );
    for notification in &told {
        let id = format!("<{}@ledgerline>", notification["id"].as_str().unwrap());
        let sent: Vec<&Value> = messages.iter().filter(|m| m["message_id"] == id).collect();
        assert_eq!(sent.len(), 1, "{notification} was sent once: {messages:#?}");
        let message = sent[0];
        assert_eq!(message["rcpt_tos"], json!([notification["recipient"]]));
        assert_eq!(message["mail_from"], "billing@ledgerline.test");
        let subject = message["subject"].as_str().unwrap();
        let text = message["text"].as_str().expect("a plain-text part");
        let html = message["html"].as_str().expect("an HTML part");
        match notification["kind"].as_str().unwrap() {
            "invoice_receipt" => {
                assert_eq!(subject, "Your receipt for 19.00 USD");
                let invoice = notification["payload"]["invoice_id"].as_str().unwrap();
                assert!(
                    text.contains(invoice) && text.contains("19.00 USD"),
                    "{text}"
                );
                assert!(
                    html.contains(invoice) && html.contains("19.00 USD"),
                    "{html}"
                );
            }
            "payment_failed" => {
                assert_eq!(subject, "Your payment of 19.00 USD failed");
                let invoice = notification["payload"]["invoice_id"].as_str().unwrap();
                assert!(text.contains(invoice), "{text}");
                assert!(text.contains("retry"), "what happens next: {text}");
            }
            "trial_will_end" => {
                let ends = &notification["payload"]["trial_ends_at"].as_str().unwrap()[..10];
                assert_eq!(subject, format!("Your trial ends on {ends}"));
                assert!(html.contains(ends), "{html}");
            }
            other => panic!("unexpected kind {other}"),
        }
    }

    // The gauge is set at the end of the round that sent the last one.
    eventually("the email metrics", || async {
        let metrics = api.get("/metrics").await.body;
        let metrics = metrics.as_str().expect("the text format");
        let expected = [
            r#"ledgerline_emails_sent_total{kind="invoice_receipt"} 2"#,
            r#"ledgerline_emails_sent_total{kind="payment_failed"} 1"#,
            r#"ledgerline_emails_sent_total{kind="trial_will_end"} 1"#,
            "ledgerline_emails_pending 0",
        ];
        if expected
            .iter()
            .all(|line| metrics.lines().any(|l| l == *line))
        {
            Ok(())
        } else {
            Err(metrics.to_owned())
        }
    })
    .await;

    // Later rounds send nothing again, and neither does a rebuild of the outbox.
    api.post("/v1/admin/projections/notifications/rebuild", json!({}))
        .await
        .assert_status(202);
    eventually("the rebuild done", || async {
        let items = get(&api, "/v1/admin/projections").await["items"].clone();
        let items = items.as_array().unwrap();
        let rebuilt = items
            .iter()
            .any(|item| item["name"] == "notifications" && item["status"] != "rebuilding");
        if rebuilt {
            Ok(())
        } else {
            Err(format!("{items:#?}"))
        }
    })
    .await;
    let listed = notifications(&api, "acct_paying").await;
    assert!(
        listed.iter().all(|n| n["email"]["status"] == "sent"),
        "the rebuilt outbox still knows what was sent: {listed:#?}"
    );
    advance(&api, DAY).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let after = smtp.messages().len();
    assert_eq!(after, told.len(), "nothing is sent twice");
}

async fn while_the_smtp_server_is_down_the_email_waits_then_goes_out(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let port = free_port();
    let server = serve_with_smtp(&db, port);
    let api = Api::admin(&server.base_url);
    activated(&api, "acct_down", "down@example.com").await;

    let receipt = |minimum_attempts: i64| {
        let api = &api;
        move || async move {
            let receipt = notification(api, "acct_down", "invoice_receipt").await?;
            let attempts = receipt["email"]["attempts"].as_i64().unwrap();
            if attempts >= minimum_attempts {
                Ok(receipt)
            } else {
                Err(receipt.to_string())
            }
        }
    };
    let first = eventually("a first failed attempt", receipt(1)).await;
    assert_eq!(first["email"]["status"], "pending", "{first}");
    assert!(first["email"]["last_error"].is_string(), "{first}");
    assert!(first["email"]["next_attempt_at"].is_string(), "{first}");
    // The next attempt waits for its backoff, on the service's clock.
    advance(&api, 60).await;
    let second = eventually("a second failed attempt", receipt(2)).await;
    assert_eq!(second["email"]["status"], "pending", "{second}");
    let metrics = api.get("/metrics").await;
    let metrics = metrics.body.as_str().expect("the text format");
    assert!(
        metrics.lines().any(|l| l == "ledgerline_emails_pending 1"),
        "{metrics}"
    );

    let smtp = SmtpRecorder::start(port, &recorder_file());
    assert!(smtp.messages().is_empty());
    advance(&api, 600).await;
    let sent = eventually("the email sent once the server is back", || async {
        let receipt = notification(&api, "acct_down", "invoice_receipt").await?;
        if receipt["email"]["status"] == "sent" {
            Ok(receipt)
        } else {
            Err(receipt.to_string())
        }
    })
    .await;
    assert!(sent["email"]["attempts"].as_i64().unwrap() >= 3, "{sent}");
    assert_eq!(sent["email"]["last_error"], Value::Null, "{sent}");
    let messages = smtp.messages();
    assert_eq!(messages.len(), 1, "{messages:#?}");
    assert_eq!(messages[0]["rcpt_tos"], json!(["down@example.com"]));
    assert_eq!(messages[0]["subject"], "Your receipt for 19.00 USD");
}

async fn without_smtp_notifications_are_only_recorded(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let server = Server::on(&db.url, &["--test-clock"]);
    let api = Api::admin(&server.base_url);
    activated(&api, "acct_quiet", "quiet@example.com").await;
    let receipt = eventually("the receipt recorded", || {
        notification(&api, "acct_quiet", "invoice_receipt")
    })
    .await;
    assert_eq!(receipt["recipient"], "quiet@example.com");
    assert_eq!(
        receipt["email"],
        json!({"status": "not_configured", "attempts": 0, "last_error": null,
               "next_attempt_at": null, "sent_at": null})
    );
}

/// A URL that does not parse stops the server, and neither that error nor the one for a missing
/// `--email-from` shows the password it holds.
#[test]
fn a_bad_smtp_configuration_stops_the_server_without_showing_the_url() {
    let database = std::env::temp_dir().join(format!("{}.db", recorder_file().display()));
    let database_url = format!("sqlite://{}", database.display());
    for extra in [
        vec![
            "--smtp-url",
            "smtp://user:hunter2@bad host:x",
            "--email-from",
            FROM,
        ],
        vec!["--smtp-url", "smtp://user:hunter2@127.0.0.1:25"],
    ] {
        let output = support::ledgerline()
            .env("DATABASE_URL", &database_url)
            .args(["serve", "--bind", "127.0.0.1:0"])
            .args(&extra)
            .output()
            .expect("ledgerline runs");
        let printed = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(
            !output.status.success(),
            "{extra:?} must not start: {printed}"
        );
        assert!(!printed.contains("listening on"), "{printed}");
        assert!(!printed.contains("hunter2"), "{printed}");
        assert!(
            printed.contains("--smtp-url") || printed.contains("--email-from"),
            "names the flag: {printed}"
        );
    }
    let _ = std::fs::remove_file(&database);
}

infrastructure::on_both_backends!(
    every_notification_is_emailed_once_to_the_billing_email,
    while_the_smtp_server_is_down_the_email_waits_then_goes_out,
    without_smtp_notifications_are_only_recorded,
);
