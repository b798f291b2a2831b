//! Credentials on every route (SPEC 6, Auth), on both backends: a request that presents a wrong,
//! revoked or non-Bearer credential is answered 401 on the public routes too (the plan catalog,
//! health, readiness, metrics, the OpenAPI document and the docs), while the same routes keep
//! serving a request that presents none, and one with a valid key of any role.

mod support;

use infrastructure::testing::{Backend, TestDatabase};
use serde_json::json;
use support::{Api, Server};

/// The routes anyone may call without a key.
const PUBLIC: &[&str] = &[
    "/v1/plans",
    "/healthz",
    "/readyz",
    "/metrics",
    "/openapi.json",
    "/docs",
    "/docs/assets/swagger-ui.css",
];

async fn presented_credentials_are_checked_on_public_routes(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let server = Server::on(&db.url, &[]);
    let admin = Api::admin(&server.base_url);
    let created = admin
        .post(
            "/v1/admin/api-keys",
            json!({"role": "account", "account_id": "acct_1"}),
        )
        .await;
    created.assert_status(201);
    let (secret, key_id) = (created.str("secret"), created.str("key_id"));
    let valid = Api::with_key(&server.base_url, Some(&secret));
    let anonymous = Api::with_key(&server.base_url, None);
    let unknown = Api::with_key(
        &server.base_url,
        Some("ll_0000000000000000000000000000000000000000"),
    );

    for path in PUBLIC {
        anonymous.get(path).await.assert_status(200);
        valid.get(path).await.assert_status(200);
        unknown.get(path).await.assert_problem(401, "unauthorized");
        let basic = anonymous
            .get_with_header(path, "authorization", &format!("Basic {secret}"))
            .await;
        basic.assert_problem(401, "unauthorized");
        let empty = anonymous
            .get_with_header(path, "authorization", "Bearer ")
            .await;
        empty.assert_problem(401, "unauthorized");
    }

    admin
        .post(&format!("/v1/admin/api-keys/{key_id}/revoke"), json!({}))
        .await
        .assert_status(204);
    for path in PUBLIC {
        valid.get(path).await.assert_problem(401, "unauthorized");
        anonymous.get(path).await.assert_status(200);
    }
}

infrastructure::on_both_backends!(presented_credentials_are_checked_on_public_routes);
