//! The role × route matrix (issue #6): every operation the server's own `/openapi.json` lists —
//! the document is built from the router's route registration, so a route added later is in it —
//! called with every identity: admin, service, support, an account key on its own account and on
//! another, no key, an unknown key and a revoked key. `ACCESS` names the rule of each route; a
//! listed route without an entry fails the test, so no route can escape the matrix, and a route
//! of `ACCESS` that is served without being listed fails it too.

mod support;

use infrastructure::testing::{Backend, TestDatabase};
use serde_json::{json, Value};
use support::client::Reply;
use support::{Api, Server};

/// Who may call a route (SPEC 6, Auth).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Access {
    /// No key needed: health, readiness, metrics, the plan catalog. A key that is sent must
    /// be valid all the same (401 otherwise).
    Public,
    /// Admin keys only: `/v1/admin/*` and the test clock.
    Admin,
    /// Commands: admin and service keys.
    Command,
    /// Collecting and dunning-case actions: admin, service and support keys.
    Support,
    /// Queries not bound to one account: admin, service and support; account keys get 403.
    GlobalRead,
    /// One account's data: an account key sees its own; another account answers 404.
    AccountRead,
    /// A feed of every account (the event catalog): every key may read it, an account key only
    /// its own account's items (`tests/tests/events.rs` checks the filtering).
    AccountScoped,
    /// A resource by id (an invoice, a case): an account key sees only its account's; a
    /// resource of another account answers 404 as an unknown one does.
    ResourceOfAccount,
    /// A processor's webhook: authenticated by its signature, not by an API key, so every
    /// caller without a valid signature (all of the matrix's) gets 400 `invalid_signature`,
    /// except that a key presented is checked as everywhere (401 when unknown or revoked).
    Signed,
}

/// The rule of every route, by `METHOD path` as the OpenAPI document spells it. Includes routes
/// other branches are adding, so they are checked as soon as they are served.
const ACCESS: &[(&str, Access)] = &[
    ("GET /healthz", Access::Public),
    ("GET /readyz", Access::Public),
    ("GET /metrics", Access::Public),
    ("GET /v1/plans", Access::Public),
    ("POST /v1/subscriptions", Access::Command),
    ("GET /v1/subscriptions/{id}", Access::GlobalRead),
    (
        "POST /v1/subscriptions/{id}/attach-billing-account",
        Access::Command,
    ),
    ("POST /v1/subscriptions/{id}/activate", Access::Command),
    ("POST /v1/subscriptions/{id}/add-seats", Access::Command),
    ("POST /v1/subscriptions/{id}/remove-seats", Access::Command),
    (
        "POST /v1/subscriptions/{id}/set-overage-billing",
        Access::Command,
    ),
    ("POST /v1/subscriptions/{id}/change-plan", Access::Command),
    (
        "POST /v1/subscriptions/{id}/change-plan/preview",
        Access::GlobalRead,
    ),
    (
        "GET /v1/subscriptions/{id}/upcoming-invoice",
        Access::GlobalRead,
    ),
    ("POST /v1/subscriptions/{id}/cancel", Access::Command),
    ("POST /v1/subscriptions/{id}/apply-coupon", Access::Command),
    (
        "POST /v1/subscriptions/{id}/remove-discount",
        Access::Command,
    ),
    ("POST /v1/coupons", Access::Admin),
    ("GET /v1/coupons", Access::GlobalRead),
    ("GET /v1/coupons/{id}", Access::GlobalRead),
    ("POST /v1/coupons/{id}/archive", Access::Admin),
    ("POST /v1/invoices", Access::Command),
    ("GET /v1/invoices/{id}", Access::ResourceOfAccount),
    ("GET /v1/invoices/{id}/document", Access::ResourceOfAccount),
    ("POST /v1/invoices/{id}/attempt-payment", Access::Support),
    ("POST /v1/invoices/{id}/record-payment", Access::Command),
    (
        "POST /v1/invoices/{id}/record-payment-failure",
        Access::Command,
    ),
    ("POST /v1/invoices/{id}/refund", Access::Command),
    ("POST /v1/invoices/{id}/credit-notes", Access::Command),
    ("POST /v1/invoices/{id}/void", Access::Command),
    ("GET /v1/dunning-cases/{id}", Access::ResourceOfAccount),
    ("POST /v1/dunning-cases/{id}/assign", Access::Support),
    ("POST /v1/dunning-cases/{id}/notes", Access::Support),
    ("POST /v1/dunning-cases/{id}/extend-window", Access::Support),
    ("POST /v1/dunning-cases/{id}/resolve", Access::Support),
    ("GET /v1/dunning/queue", Access::GlobalRead),
    ("GET /v1/accounts/{account_id}/summary", Access::AccountRead),
    (
        "GET /v1/accounts/{account_id}/timeline",
        Access::AccountRead,
    ),
    (
        "GET /v1/accounts/{account_id}/features",
        Access::AccountRead,
    ),
    (
        "GET /v1/accounts/{account_id}/features/{feature}",
        Access::AccountRead,
    ),
    (
        "GET /v1/accounts/{account_id}/invoices",
        Access::AccountRead,
    ),
    (
        "GET /v1/accounts/{account_id}/notifications",
        Access::AccountRead,
    ),
    ("POST /v1/accounts/{account_id}/usage", Access::Command),
    (
        "POST /v1/accounts/{account_id}/commitments",
        Access::Command,
    ),
    (
        "DELETE /v1/accounts/{account_id}/commitments/{feature}",
        Access::Command,
    ),
    (
        "POST /v1/accounts/{account_id}/entitlements/suspend",
        Access::Admin,
    ),
    ("GET /v1/accounts/{account_id}/balance", Access::AccountRead),
    (
        "POST /v1/accounts/{account_id}/balance/adjust",
        Access::Admin,
    ),
    ("GET /v1/audit/streams/{type}/{id}", Access::GlobalRead),
    (
        "GET /v1/audit/streams/{type}/{id}/state",
        Access::GlobalRead,
    ),
    ("GET /v1/audit/events", Access::GlobalRead),
    ("GET /v1/events", Access::AccountScoped),
    ("GET /v1/admin/projections", Access::Admin),
    ("POST /v1/admin/projections/{name}/rebuild", Access::Admin),
    ("POST /v1/admin/audit/verify", Access::Admin),
    ("GET /v1/admin/api-keys", Access::Admin),
    ("POST /v1/admin/api-keys", Access::Admin),
    ("POST /v1/admin/api-keys/{key_id}/revoke", Access::Admin),
    ("GET /v1/webhook-endpoints", Access::Admin),
    ("POST /v1/webhook-endpoints", Access::Admin),
    ("GET /v1/webhook-endpoints/{id}", Access::Admin),
    ("DELETE /v1/webhook-endpoints/{id}", Access::Admin),
    ("POST /v1/webhook-endpoints/{id}/update", Access::Admin),
    (
        "POST /v1/webhook-endpoints/{id}/rotate-secret",
        Access::Admin,
    ),
    ("GET /v1/webhook-endpoints/{id}/deliveries", Access::Admin),
    ("POST /v1/webhook-endpoints/{id}/replay", Access::Admin),
    ("POST /v1/webhooks/stripe", Access::Signed),
    ("GET /v1/processor-events", Access::Admin),
    ("GET /v1/test-clock", Access::Admin),
    ("POST /v1/test-clock/advance", Access::Admin),
];

const OWN: &str = "acct_matrix_own";
const OTHER: &str = "acct_matrix_other";

/// The callers of the matrix.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Caller {
    Admin,
    Service,
    Support,
    /// An account key on its own account's data.
    AccountOwn,
    /// The same account key on another account's data.
    AccountOther,
    NoKey,
    UnknownKey,
    RevokedKey,
}

const CALLERS: [Caller; 8] = [
    Caller::Admin,
    Caller::Service,
    Caller::Support,
    Caller::AccountOwn,
    Caller::AccountOther,
    Caller::NoKey,
    Caller::UnknownKey,
    Caller::RevokedKey,
];

/// What the matrix expects of a call.
#[derive(Debug, PartialEq)]
enum Expect {
    /// Past the role check: any answer but 401 and 403.
    Allowed,
    Problem(u16, &'static str),
}

fn expect(access: Access, caller: Caller) -> Expect {
    use Caller::*;
    const FORBIDDEN: Expect = Expect::Problem(403, "forbidden");
    const NOT_FOUND: Expect = Expect::Problem(404, "not_found");
    match (access, caller) {
        (Access::Signed, NoKey) => Expect::Problem(400, "invalid_signature"),
        (Access::Public, NoKey) => Expect::Allowed,
        // Credentials that are presented are checked everywhere, on public routes too.
        (_, NoKey | UnknownKey | RevokedKey) => Expect::Problem(401, "unauthorized"),
        (Access::Signed, _) => Expect::Problem(400, "invalid_signature"),
        (Access::Public, _) | (_, Admin) => Expect::Allowed,
        (Access::Admin, _) => FORBIDDEN,
        (Access::Command, Service) => Expect::Allowed,
        (Access::Command, _) => FORBIDDEN,
        (_, Service | Support) => Expect::Allowed,
        (Access::Support | Access::GlobalRead, AccountOwn | AccountOther) => FORBIDDEN,
        (Access::AccountRead | Access::AccountScoped, AccountOwn) => Expect::Allowed,
        (Access::AccountScoped, AccountOther) => Expect::Allowed,
        (Access::AccountRead | Access::ResourceOfAccount, AccountOther) => NOT_FOUND,
        // The ids in the matrix name no resource of the account's own.
        (Access::ResourceOfAccount, AccountOwn) => NOT_FOUND,
    }
}

/// The path with its parameters filled in for `account`.
fn concrete(template: &str, account: &str, subscription: &str) -> String {
    let mut path = template.to_owned();
    for (name, value) in [
        ("{account_id}", account),
        ("{id}", subscription),
        ("{type}", "subscription"),
        ("{feature}", "projects"),
        ("{key_id}", "key_not_there"),
        ("{name}", "account_summary"),
    ] {
        path = path.replace(name, value);
    }
    assert!(
        !path.contains('{'),
        "{template}: give the matrix a value for this path parameter"
    );
    path
}

async fn call(api: &Api, method: &str, path: &str) -> Reply {
    match method {
        "GET" => api.get(path).await,
        "POST" => api.post(path, json!({})).await,
        "DELETE" => api.delete(path).await,
        other => panic!("the matrix does not send {other} yet: {path}"),
    }
}

async fn key(admin: &Api, body: Value) -> (String, String) {
    let created = admin.post("/v1/admin/api-keys", body).await;
    created.assert_status(201);
    (created.str("secret"), created.str("key_id"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_answers_every_role_as_its_rule_says() {
    let db = TestDatabase::create(Backend::Sqlite).await;
    let server = Server::on(&db.url, &["--test-clock"]);
    let admin = Api::admin(&server.base_url);
    let as_key = |secret: &str| Api::with_key(&server.base_url, Some(secret));

    // Two accounts alike, so an account key's view of its own equals the admin's of the other.
    let mut position = 0;
    let mut subscription_of_other = String::new();
    for account in [OWN, OTHER] {
        let started = admin
            .post(
                "/v1/subscriptions",
                json!({"account_id": account, "plan_id": "starter"}),
            )
            .await;
        started.assert_status(201);
        position = position.max(started.body["position"].as_i64().expect("a position"));
        subscription_of_other = started.str("aggregate_id");
    }
    let (service, _) = key(&admin, json!({"role": "service"})).await;
    let (support, _) = key(&admin, json!({"role": "support"})).await;
    let (account, _) = key(&admin, json!({"role": "account", "account_id": OWN})).await;
    let (revoked, revoked_id) = key(&admin, json!({"role": "admin"})).await;
    admin
        .post(
            &format!("/v1/admin/api-keys/{revoked_id}/revoke"),
            json!({}),
        )
        .await
        .assert_status(204);
    // One client per caller, built once: a client's TLS setup costs more than a call.
    let clients: Vec<(Caller, Api)> = CALLERS
        .into_iter()
        .map(|caller| {
            let api = match caller {
                Caller::Admin => Api::admin(&server.base_url),
                Caller::Service => as_key(&service),
                Caller::Support => as_key(&support),
                Caller::AccountOwn | Caller::AccountOther => as_key(&account),
                Caller::NoKey => Api::with_key(&server.base_url, None),
                Caller::UnknownKey => as_key("ll_0000000000000000000000000000000000000000"),
                Caller::RevokedKey => as_key(&revoked),
            };
            (caller, api)
        })
        .collect();

    let document = admin.get("/openapi.json").await;
    document.assert_status(200);
    let paths = document.body["paths"].as_object().expect("paths").clone();
    let mut operations = Vec::new();
    for (path, item) in &paths {
        for method in item.as_object().expect("a path item").keys() {
            let route = format!("{} {path}", method.to_uppercase());
            let access = ACCESS
                .iter()
                .find(|(known, _)| *known == route)
                .map(|(_, access)| *access)
                .unwrap_or_else(|| panic!("{route} has no entry in the role matrix (ACCESS)"));
            operations.push((method.to_uppercase(), path.clone(), access));
        }
    }
    assert!(operations.len() >= 39, "{} operations", operations.len());

    // A route of the table that is not in the document must not be served either: a route
    // mounted without its `routes!` registration would escape the document and this matrix.
    for (route, _) in ACCESS {
        let (method, template) = route.split_once(' ').expect("METHOD path");
        if operations
            .iter()
            .any(|(m, p, _)| m == method && p == template)
        {
            continue;
        }
        let path = concrete(template, OTHER, &subscription_of_other);
        let reply = call(&admin, method, &path).await;
        let unserved =
            (reply.status == 404 && reply.body["detail"] == "no such route") || reply.status == 405;
        assert!(
            unserved,
            "{route} is served but not in /openapi.json: {reply:?}"
        );
    }

    // Every account read caught up with the setup, for both accounts alike.
    for (method, template, access) in &operations {
        if method == "GET" && *access == Access::AccountRead {
            for account in [OWN, OTHER] {
                let path = concrete(template, account, &subscription_of_other);
                admin.get(&format!("{path}?min_position={position}")).await;
            }
        }
    }

    let mut checked = 0;
    for (method, template, access) in &operations {
        let mut seen_by_admin_on_other = None;
        for (caller, api) in &clients {
            let caller = *caller;
            let account = if caller == Caller::AccountOwn {
                OWN
            } else {
                OTHER
            };
            let path = concrete(template, account, &subscription_of_other);
            let reply = call(api, method, &path).await;
            let what = format!("{caller:?} {method} {path}: {reply:?}");
            match expect(*access, caller) {
                Expect::Allowed => {
                    assert!(![401, 403].contains(&reply.status), "{what}");
                    assert!(reply.status < 500, "{what}");
                }
                Expect::Problem(status, code) => {
                    reply.assert_problem(status, code);
                }
            }
            if *access == Access::AccountRead && method == "GET" {
                match caller {
                    Caller::Admin => seen_by_admin_on_other = Some(reply.status),
                    Caller::AccountOwn => assert_eq!(
                        Some(reply.status),
                        seen_by_admin_on_other,
                        "an account key sees its own account as an admin sees another: {what}"
                    ),
                    _ => {}
                }
            }
            checked += 1;
        }
    }
    assert_eq!(checked, operations.len() * CALLERS.len());
}
