//! An account's credit balance over HTTP (SPEC 11.4), on both backends: admin adjustments up and
//! down with their transactions, a correction below zero and bad input refused with nothing
//! recorded, an Idempotency-Key replayed, account keys limited to their own balance, the
//! movements on the timeline and in the event catalog, and the read model verified afterwards.

mod support;

use infrastructure::testing::{Backend, TestDatabase};
use serde_json::{json, Value};
use support::client::Reply;
use support::{Api, Server};

const ACCOUNT: &str = "acct_balance";

async fn adjust(api: &Api, account: &str, body: Value) -> Reply {
    api.post(&format!("/v1/accounts/{account}/balance/adjust"), body)
        .await
}

/// The balance once the read model holds `position`.
async fn balance(api: &Api, account: &str, position: i64) -> Value {
    let reply = api
        .get(&format!(
            "/v1/accounts/{account}/balance?min_position={position}"
        ))
        .await;
    reply.assert_status(200);
    reply.body
}

/// The kinds and signed amounts of a balance's transactions.
fn transactions(balance: &Value) -> Vec<(String, i64, i64)> {
    balance["transactions"]["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|t| {
            (
                t["kind"].as_str().expect("kind").to_owned(),
                t["amount"].as_i64().expect("amount"),
                t["balance_after"].as_i64().expect("balance_after"),
            )
        })
        .collect()
}

async fn adjustments_move_the_balance_and_are_listed(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let server = Server::on(&db.url, &[]);
    let admin = Api::admin(&server.base_url);

    let never = balance(&admin, "acct_never_credited", 0).await;
    assert_eq!(never["balance"], json!({"amount": 0, "currency": null}));
    assert_eq!(never["transactions"]["items"], json!([]));

    let credit = json!({"amount": 500, "currency": "usd", "reason": "outage goodwill"});
    let first = adjust(&admin, ACCOUNT, credit).await;
    first.assert_status(200);
    assert_eq!(first.body["aggregate_type"], "customer_balance");
    assert_eq!(first.body["aggregate_id"], ACCOUNT);
    assert_eq!(first.body["version"], 1);
    assert_eq!(
        first.body["object"]["balance"],
        json!({"amount": 500, "currency": "usd"})
    );
    let correction = json!({"amount": -200, "currency": "usd", "reason": "credited twice"});
    let second = adjust(&admin, ACCOUNT, correction).await;
    second.assert_status(200);
    assert_eq!(second.body["object"]["balance"]["amount"], 300);
    let position = second.body["position"].as_i64().expect("a position");

    let shown = balance(&admin, ACCOUNT, position).await;
    assert_eq!(shown["account_id"], ACCOUNT);
    assert_eq!(shown["balance"], json!({"amount": 300, "currency": "usd"}));
    assert_eq!(
        transactions(&shown),
        vec![
            ("adjustment".to_owned(), 500, 500),
            ("adjustment".to_owned(), -200, 300),
        ]
    );
    // The command's object is the GET without the transactions list.
    let mut without_list = shown.clone();
    without_list.as_object_mut().unwrap().remove("transactions");
    assert_eq!(second.body["object"], without_list);
    let last = &shown["transactions"]["items"][1];
    assert_eq!(last["reason"], "credited twice");
    assert_eq!(last["position"], position);
    assert_eq!(last["currency"], "usd");

    // A page of one points at the next.
    let page = admin
        .get(&format!("/v1/accounts/{ACCOUNT}/balance?limit=1"))
        .await;
    page.assert_status(200);
    let cursor = page.body["transactions"]["next_cursor"]
        .as_str()
        .expect("a cursor");
    let next = admin
        .get(&format!(
            "/v1/accounts/{ACCOUNT}/balance?limit=1&cursor={cursor}"
        ))
        .await;
    assert_eq!(
        transactions(&next.body),
        vec![("adjustment".into(), -200, 300)]
    );
    assert!(next.body["transactions"]["next_cursor"].is_null());

    // Below zero: a rule, and nothing recorded.
    let below = json!({"amount": -1000, "currency": "usd", "reason": "too much"});
    let refused = adjust(&admin, ACCOUNT, below).await;
    refused.assert_problem(409, "rule_violation");
    // Bad input: 422 problems, nothing recorded.
    for bad in [
        json!({"amount": 0, "currency": "usd", "reason": "nothing"}),
        json!({"amount": 100, "currency": "dollars", "reason": "bad currency"}),
        json!({"amount": 100, "currency": "usd", "reason": ""}),
        json!({"amount": 100, "currency": "usd", "reason": "x".repeat(501)}),
        json!({"amount": 1_000_000_000_000_001i64, "currency": "usd", "reason": "too big"}),
    ] {
        let reply = adjust(&admin, ACCOUNT, bad.clone()).await;
        reply.assert_problem(422, "validation_failed");
        assert!(
            reply.headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/problem+json"),
            "{bad}: {reply:?}"
        );
    }
    let other_currency = json!({"amount": 100, "currency": "eur", "reason": "wrong"});
    adjust(&admin, ACCOUNT, other_currency)
        .await
        .assert_problem(409, "rule_violation");
    let stream = admin.event_types("customer_balance", ACCOUNT).await;
    assert_eq!(stream, vec!["BalanceAdjusted", "BalanceAdjusted"]);

    // The same Idempotency-Key replays; nothing more is recorded.
    let path = format!("/v1/accounts/{ACCOUNT}/balance/adjust");
    let once = json!({"amount": 50, "currency": "usd", "reason": "apology"});
    let applied = admin.post_once(&path, "adjust-1", once.clone()).await;
    applied.assert_status(200);
    let replayed = admin.post_once(&path, "adjust-1", once).await;
    replayed.assert_status(200);
    assert_eq!(replayed.headers["idempotent-replayed"], "true");
    assert_eq!(replayed.body, applied.body);
    let position = applied.body["position"].as_i64().unwrap();
    assert_eq!(
        balance(&admin, ACCOUNT, position).await["balance"]["amount"],
        350
    );

    // The timeline and the catalog tell every movement.
    let timeline = admin
        .get(&format!(
            "/v1/accounts/{ACCOUNT}/timeline?min_position={position}"
        ))
        .await;
    timeline.assert_status(200);
    let kinds: Vec<(&str, i64)> = timeline.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["kind"].as_str().unwrap(), e["amount"].as_i64().unwrap()))
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("balance_adjusted", 500),
            ("balance_adjusted", -200),
            ("balance_adjusted", 50)
        ]
    );
    let told: Vec<Value> = admin
        .catalog(position)
        .await
        .into_iter()
        .filter(|event| event["type"] == "customer_balance.updated")
        .collect();
    assert_eq!(told.len(), 3, "{told:?}");
    assert_eq!(
        told[2]["data"]["object"]["balance"],
        json!({"amount": 350, "currency": "usd"})
    );
    assert_eq!(
        told[2]["data"]["previous_attributes"]["balance"]["amount"],
        300
    );

    let state = admin
        .get(&format!(
            "/v1/audit/streams/customer_balance/{ACCOUNT}/state?version=2"
        ))
        .await;
    state.assert_status(200);

    let report = admin.post("/v1/admin/audit/verify", json!({})).await;
    report.assert_status(200);
    assert_eq!(report.body["mismatches"], 0, "{:#}", report.body);
    let verified = report.body["projections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "customer_balances")
        .expect("the balances are verified");
    assert_eq!(verified["rows"], 4, "{verified:#}");
}

async fn account_keys_see_only_their_own_balance(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let server = Server::on(&db.url, &[]);
    let admin = Api::admin(&server.base_url);
    let credit = json!({"amount": 700, "currency": "usd", "reason": "goodwill"});
    let adjusted = adjust(&admin, ACCOUNT, credit.clone()).await;
    adjusted.assert_status(200);
    let position = adjusted.body["position"].as_i64().unwrap();

    let own = admin.account_key(ACCOUNT).await;
    assert_eq!(
        balance(&own, ACCOUNT, position).await["balance"]["amount"],
        700
    );
    own.get("/v1/accounts/acct_someone_else/balance")
        .await
        .assert_problem(404, "not_found");
    adjust(&own, ACCOUNT, credit.clone())
        .await
        .assert_problem(403, "forbidden");

    let created = admin
        .post("/v1/admin/api-keys", json!({"role": "service"}))
        .await;
    created.assert_status(201);
    let service = Api::with_key(&server.base_url, Some(&created.str("secret")));
    adjust(&service, ACCOUNT, credit)
        .await
        .assert_problem(403, "forbidden");
    assert_eq!(
        admin.event_types("customer_balance", ACCOUNT).await.len(),
        1
    );
}

infrastructure::on_both_backends!(
    adjustments_move_the_balance_and_are_listed,
    account_keys_see_only_their_own_balance,
);
