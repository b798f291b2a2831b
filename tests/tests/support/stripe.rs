//! What the Stripe tests share: a server charging through the fake Stripe, and an invoice of a
//! trial that pays with a given card.

use blackbox_tests::fake_stripe::{FakeStripe, STRIPE_KEY};
use infrastructure::testing::{Backend, TestDatabase};
use serde_json::json;

use super::{Api, Server, ADMIN_KEY};

/// `ledgerline serve` on `db` with the test clock, charging through `fake`, with `extra` flags.
pub fn serve_on_fake(db: &TestDatabase, fake: &FakeStripe, extra: &[&str]) -> Server {
    let mut args = vec![
        "--test-clock",
        "--payment-gateway",
        "stripe",
        "--stripe-api-base",
        &fake.base_url,
    ];
    args.extend_from_slice(extra);
    Server::start_with(
        &[
            ("DATABASE_URL", db.url.as_str()),
            ("LEDGERLINE_ADMIN_KEY", ADMIN_KEY),
            ("STRIPE_API_KEY", STRIPE_KEY),
        ],
        &args,
    )
}

/// A fresh database, the fake Stripe, and a server charging through it, with an admin client.
pub struct StripeRun {
    /// Kept for the run: dropping it drops the database.
    pub db: TestDatabase,
    pub fake: FakeStripe,
    pub server: Server,
    pub api: Api,
}

impl StripeRun {
    /// A run on `backend`, its server started with `extra` flags.
    pub async fn start(backend: Backend, extra: &[&str]) -> Self {
        let db = TestDatabase::create(backend).await;
        let fake = FakeStripe::start();
        let server = serve_on_fake(&db, &fake, extra);
        let api = Api::admin(&server.base_url);
        Self {
            db,
            fake,
            server,
            api,
        }
    }
}

/// A trial for `account` paying with `card`, and a manual invoice of 2 × 1900 usd on it;
/// returns the invoice id.
pub async fn invoice_for(api: &Api, account: &str, card: &str) -> String {
    let body = json!({"account_id": account, "plan_id": "starter",
                      "billing_email": "billing@example.com", "payment_method": card});
    let reply = api.post("/v1/subscriptions", body).await;
    reply.assert_status(201);
    let subscription = reply.str("aggregate_id");
    let body = json!({"account_id": account, "subscription_id": subscription, "currency": "usd",
                      "lines": [{"description": "Onboarding", "quantity": 2, "unit_amount": 1900}]});
    let reply = api.post("/v1/invoices", body).await;
    reply.assert_status(201);
    reply.str("aggregate_id")
}

/// Charges `invoice` now (`attempt-payment`), expecting an answer.
pub async fn attempt_payment(api: &Api, invoice: &str) -> serde_json::Value {
    let reply = api
        .post(
            &format!("/v1/invoices/{invoice}/attempt-payment"),
            json!({}),
        )
        .await;
    reply.assert_status(200);
    reply.body["payment"].clone()
}
