//! The Billing Timeline and the Dunning Work Queue over HTTP with the test clock, on both
//! backends: a declined card's story from trial to suspension, the queue of the cases needing
//! support (sorted, filtered, paged), who may read them, and bad parameters answered with
//! problem+json.

mod support;

use infrastructure::testing::{Backend, TestDatabase};
use serde_json::{json, Value};
use support::{Api, Server};

const DAY: i64 = 24 * 60 * 60;

/// Advances the test clock; returns the position reached.
async fn advance(api: &Api, seconds: i64) -> i64 {
    let reply = api
        .post("/v1/test-clock/advance", json!({"seconds": seconds}))
        .await;
    reply.assert_status(200);
    reply.body["position"].as_i64().expect("a position")
}

/// Starts `plan` for `account` with `card` and activates it: the activation invoice is charged
/// with the card at once.
async fn subscribe(api: &Api, account: &str, plan: &str, card: &str) {
    api.activated(account, plan, card, false).await;
}

async fn get(api: &Api, path: &str) -> Value {
    let reply = api.get(path).await;
    reply.assert_status(200);
    reply.body
}

fn items(page: &Value) -> Vec<Value> {
    page["items"].as_array().expect("items").clone()
}

async fn timeline(api: &Api, account: &str) -> Vec<Value> {
    items(&get(api, &format!("/v1/accounts/{account}/timeline?limit=100")).await)
}

fn kinds(entries: &[Value]) -> Vec<&str> {
    entries
        .iter()
        .map(|entry| entry["kind"].as_str().expect("a kind"))
        .collect()
}

/// `expected` appears in `kinds` in this order (other entries may come in between: the
/// policies react concurrently).
fn assert_in_order(kinds: &[&str], expected: &[&str]) {
    let mut rest = kinds.iter();
    for kind in expected {
        assert!(
            rest.any(|k| k == kind),
            "{kind} missing or out of order in {kinds:?}"
        );
    }
}

/// The case ids of the queue page at `query`.
async fn queue(api: &Api, query: &str) -> Vec<Value> {
    let page = get(api, &format!("/v1/dunning/queue?{query}")).await;
    items(&page)
        .iter()
        .map(|item| item["case_id"].clone())
        .collect()
}

async fn a_declined_card_is_told_on_the_timeline_and_queued_once_suspended(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let server = Server::on(&db.url, &["--test-clock"]);
    let api = Api::admin(&server.base_url);
    let (declined, lost) = ("acct_tl_declined", "acct_tl_lost");

    subscribe(&api, declined, "starter", "pm_card_chargeDeclined").await;
    advance(&api, 0).await;
    let story = timeline(&api, declined).await;
    assert_in_order(
        &kinds(&story),
        &[
            "trial_started",
            "subscription_activated",
            "invoice_issued",
            "payment_failed",
            "dunning_started",
        ],
    );
    let failed = story
        .iter()
        .find(|entry| entry["kind"] == "payment_failed")
        .expect("a failed payment");
    assert_eq!(
        (&failed["amount"], &failed["currency"]),
        (&json!(1900), &json!("usd"))
    );
    assert_eq!(failed["details"]["decline_code"], "card_declined");
    for entry in &story {
        assert!(entry["position"].as_i64().is_some_and(|p| p > 0), "{entry}");
        assert!(entry["event_id"].is_string() && entry["causation_id"].is_string());
    }
    assert!(
        queue(&api, "").await.is_empty(),
        "a case still retrying needs no support"
    );

    // An hour later, so that the two cases do not tie on age.
    advance(&api, 3600).await;
    subscribe(&api, lost, "pro", "pm_card_chargeDeclinedLostCard").await;
    advance(&api, 0).await;
    let hard = queue(&api, "").await;
    assert_eq!(hard.len(), 1, "a hard decline is queued at once");

    // Retries on days 1, 3, 5 and 7 fail; the window expires on day 14 (an hour before the hard
    // decline's).
    for seconds in [DAY, 2 * DAY, 2 * DAY, 2 * DAY, 7 * DAY - 3600] {
        advance(&api, seconds).await;
    }
    let story = timeline(&api, declined).await;
    assert_in_order(
        &kinds(&story),
        &[
            "dunning_started",
            "dunning_retry_failed",
            "dunning_retry_failed",
            "dunning_retry_failed",
            "dunning_retry_failed",
            "dunning_escalated",
            "dunning_suspended",
        ],
    );
    assert!(kinds(&story).contains(&"entitlements_suspended"));
    let positions: Vec<i64> = story
        .iter()
        .map(|e| e["position"].as_i64().unwrap())
        .collect();
    assert!(
        positions.windows(2).all(|pair| pair[0] < pair[1]),
        "{positions:?}"
    );

    let by_age = get(&api, "/v1/dunning/queue").await;
    let by_age = items(&by_age);
    assert_eq!(by_age.len(), 2);
    let suspended = &by_age[0];
    assert_eq!(
        (&suspended["account_id"], &suspended["stage"]),
        (&json!(declined), &json!("suspended")),
        "oldest first"
    );
    assert_eq!(suspended["days_in_dunning"], 14);
    assert_eq!(suspended["next_action"]["kind"], "cancellation");
    assert_eq!(by_age[1]["case_id"], hard[0]);
    let case = suspended["case_id"].clone();
    assert_eq!(
        queue(&api, "sort=amount").await,
        [hard[0].clone(), case.clone()],
        "the pro invoice is larger"
    );
    assert_eq!(
        queue(&api, "stage=suspended").await,
        std::slice::from_ref(&case)
    );
    assert_eq!(queue(&api, "stage=escalated&sort=amount").await, hard);

    let first = get(&api, "/v1/dunning/queue?sort=amount&limit=1").await;
    assert_eq!(items(&first)[0]["case_id"], hard[0]);
    let cursor = first["next_cursor"].as_str().expect("a next page");
    let second = get(
        &api,
        &format!("/v1/dunning/queue?sort=amount&limit=1&cursor={cursor}"),
    )
    .await;
    assert_eq!(items(&second)[0]["case_id"], case);
    assert_eq!(second["next_cursor"], Value::Null);
    api.get(&format!("/v1/dunning/queue?sort=age&cursor={cursor}"))
        .await
        .assert_problem(400, "invalid_request");

    let paged = get(&api, &format!("/v1/accounts/{declined}/timeline?limit=3")).await;
    assert_eq!(items(&paged).len(), 3);
    let cursor = paged["next_cursor"].as_str().expect("a next page");
    let next = get(
        &api,
        &format!("/v1/accounts/{declined}/timeline?limit=3&cursor={cursor}"),
    )
    .await;
    assert_eq!(
        items(&next)[0],
        story[3],
        "the next page starts where the first ended"
    );
}

async fn roles_and_bad_parameters(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let server = Server::on(&db.url, &["--test-clock"]);
    let admin = Api::admin(&server.base_url);
    subscribe(&admin, "acct_tl_own", "starter", "pm_card_chargeDeclined").await;
    subscribe(&admin, "acct_tl_other", "starter", "pm_card_visa").await;
    let position = advance(&admin, 0).await;

    let reply = admin
        .post(
            "/v1/admin/api-keys",
            json!({"role": "account", "account_id": "acct_tl_own"}),
        )
        .await;
    reply.assert_status(201);
    let own = Api::with_key(&server.base_url, Some(&reply.str("secret")));
    let mine = get(
        &own,
        &format!("/v1/accounts/acct_tl_own/timeline?min_position={position}"),
    )
    .await;
    assert!(kinds(&items(&mine)).contains(&"dunning_started"));
    own.get("/v1/accounts/acct_tl_other/timeline")
        .await
        .assert_problem(404, "not_found");
    own.get("/v1/dunning/queue")
        .await
        .assert_problem(403, "forbidden");

    let reply = admin
        .post("/v1/admin/api-keys", json!({"role": "support"}))
        .await;
    reply.assert_status(201);
    let support = Api::with_key(&server.base_url, Some(&reply.str("secret")));
    get(&support, "/v1/dunning/queue").await;
    get(&support, "/v1/accounts/acct_tl_other/timeline").await;

    for (path, status, code) in [
        ("/v1/dunning/queue?sort=size", 422, "validation_failed"),
        ("/v1/dunning/queue?stage=open", 422, "validation_failed"),
        ("/v1/dunning/queue?cursor=42", 400, "invalid_request"),
        ("/v1/dunning/queue?limit=0", 422, "validation_failed"),
        ("/v1/dunning/queue?colour=red", 400, "invalid_request"),
        (
            "/v1/accounts/acct_tl_own/timeline?cursor=abc",
            400,
            "invalid_request",
        ),
        (
            "/v1/accounts/acct_tl_own/timeline?cursor=-3",
            400,
            "invalid_request",
        ),
        (
            "/v1/accounts/acct_tl_own/timeline?limit=101",
            422,
            "validation_failed",
        ),
    ] {
        admin.get(path).await.assert_problem(status, code);
    }
}

infrastructure::on_both_backends!(
    a_declined_card_is_told_on_the_timeline_and_queued_once_suspended,
    roles_and_bad_parameters,
);
