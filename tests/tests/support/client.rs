//! A thin HTTP client for the black-box tests: every call returns status, headers and JSON.

use reqwest::header::HeaderMap;
use serde_json::Value;

use super::ADMIN_KEY;

pub struct Api {
    client: reqwest::Client,
    base_url: String,
    key: Option<String>,
}

/// One response, read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Reply {
    /// Asserts a problem+json error with this status and code.
    pub fn assert_problem(&self, status: u16, code: &str) {
        assert_eq!(self.status, status, "{self:?}");
        assert_eq!(
            self.headers["content-type"], "application/problem+json",
            "{self:?}"
        );
        assert_eq!(self.body["code"], code, "{self:?}");
        assert_eq!(self.body["status"], status, "{self:?}");
    }

    pub fn assert_status(&self, status: u16) -> &Self {
        assert_eq!(self.status, status, "{self:?}");
        self
    }

    pub fn str(&self, field: &str) -> String {
        self.body[field]
            .as_str()
            .unwrap_or_else(|| panic!("{field} missing in {self:?}"))
            .to_owned()
    }
}

impl Api {
    /// A client using the admin key.
    pub fn admin(base_url: &str) -> Self {
        Self::with_key(base_url, Some(ADMIN_KEY))
    }

    pub fn with_key(base_url: &str, key: Option<&str>) -> Self {
        Self {
            client: reqwest::Client::new(),
            base_url: base_url.to_owned(),
            key: key.map(str::to_owned),
        }
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send(self.client.get(self.url(path))).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Reply {
        self.send(self.client.post(self.url(path)).json(&body))
            .await
    }

    pub async fn delete(&self, path: &str) -> Reply {
        self.send(self.client.delete(self.url(path))).await
    }

    /// Starts a trial of `plan` for `account`; returns the subscription id.
    pub async fn start_trial(&self, account: &str, plan: &str) -> String {
        let started = self
            .post(
                "/v1/subscriptions",
                serde_json::json!({"account_id": account, "plan_id": plan}),
            )
            .await;
        started.assert_status(201);
        started.str("aggregate_id")
    }

    /// A subscription of `account` to `plan`, paying with `card` (billing overage seats when
    /// `overage`), activated at once: its activation invoice is charged with the card. Returns
    /// the subscription id.
    pub async fn activated(&self, account: &str, plan: &str, card: &str, overage: bool) -> String {
        let body = serde_json::json!({
            "account_id": account, "plan_id": plan, "overage_billing": overage,
            "billing_email": "billing@example.com", "payment_method": card,
        });
        let reply = self.post("/v1/subscriptions", body).await;
        reply.assert_status(201);
        let id = reply.str("aggregate_id");
        self.post(
            &format!("/v1/subscriptions/{id}/activate"),
            serde_json::json!({}),
        )
        .await
        .assert_status(200);
        id
    }

    /// The account's invoices (`GET /v1/accounts/{account}/invoices`), newest first.
    pub async fn invoices(&self, account: &str) -> Vec<Value> {
        let reply = self.get(&format!("/v1/accounts/{account}/invoices")).await;
        reply.assert_status(200);
        reply.body["items"].as_array().expect("items").clone()
    }

    /// The event types of one stream (`GET /v1/audit/streams/{aggregate_type}/{id}`), in order.
    pub async fn event_types(&self, aggregate_type: &str, id: &str) -> Vec<String> {
        let stream = self
            .get(&format!(
                "/v1/audit/streams/{aggregate_type}/{id}?limit=1000"
            ))
            .await;
        stream.assert_status(200);
        stream.body["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|event| event["event_type"].as_str().expect("a type").to_owned())
            .collect()
    }

    /// Every event of the catalog (`GET /v1/events`), in order, once it holds `position`. A
    /// `stale_read` (the catalog had not caught up within the server's bounded wait, as on a
    /// loaded machine) is asked again, as its `detail` says, for up to a minute.
    pub async fn catalog(&self, position: i64) -> Vec<Value> {
        let mut events = Vec::new();
        let mut after = 0;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            let path = format!("/v1/events?after={after}&limit=100&min_position={position}");
            let page = self.get(&path).await;
            if page.status == 503 && std::time::Instant::now() < deadline {
                page.assert_problem(503, "stale_read");
                continue;
            }
            page.assert_status(200);
            events.extend(page.body["items"].as_array().expect("items").clone());
            match page.body["next_cursor"].as_str() {
                Some(cursor) => after = cursor.parse().expect("a position"),
                None => return events,
            }
        }
    }

    /// POST with an `Idempotency-Key`.
    pub async fn post_once(&self, path: &str, key: &str, body: Value) -> Reply {
        let request = self
            .client
            .post(self.url(path))
            .header("idempotency-key", key)
            .json(&body);
        self.send(request).await
    }

    /// POST a raw body (for malformed-JSON tests).
    pub async fn post_raw(&self, path: &str, body: &'static str) -> Reply {
        let request = self
            .client
            .post(self.url(path))
            .header("content-type", "application/json")
            .body(body);
        self.send(request).await
    }

    /// POST `body` with this `Content-Type` (none when empty).
    pub async fn post_typed(&self, path: &str, content_type: &str, body: &'static str) -> Reply {
        let mut request = self.client.post(self.url(path)).body(body);
        if !content_type.is_empty() {
            request = request.header("content-type", content_type);
        }
        self.send(request).await
    }

    /// GET with one extra header.
    pub async fn get_with_header(&self, path: &str, name: &str, value: &str) -> Reply {
        let request = self.client.get(self.url(path)).header(name, value);
        self.send(request).await
    }

    /// Issues a manual invoice for `account` in usd with one line; returns its id.
    pub async fn issue_manual_invoice(
        &self,
        account: &str,
        description: &str,
        quantity: u32,
        unit_amount: i64,
    ) -> String {
        let line = serde_json::json!({
            "description": description, "quantity": quantity, "unit_amount": unit_amount,
        });
        let body = serde_json::json!({"account_id": account, "currency": "usd", "lines": [line]});
        let issued = self.post("/v1/invoices", body).await;
        issued.assert_status(201);
        issued.str("aggregate_id")
    }

    /// A client with a new account key of `account`.
    pub async fn account_key(&self, account: &str) -> Api {
        let created = self
            .post(
                "/v1/admin/api-keys",
                serde_json::json!({"role": "account", "account_id": account}),
            )
            .await;
        created.assert_status(201);
        Api::with_key(&self.base_url, Some(&created.str("secret")))
    }

    /// The number of invoice `id`, once the numbering policy assigned it (within 30 s).
    pub async fn invoice_number(&self, id: &str) -> String {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let reply = self.get(&format!("/v1/invoices/{id}")).await;
            reply.assert_status(200);
            if let Some(number) = reply.body["number"].as_str() {
                return number.to_owned();
            }
            assert!(reply.body["number"].is_null(), "{reply:?}");
            assert!(
                std::time::Instant::now() < deadline,
                "invoice {id} got no number"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    /// GET with this `Accept`, the body as bytes (a PDF is not text).
    pub async fn get_bytes(&self, path: &str, accept: &str) -> (u16, HeaderMap, Vec<u8>) {
        let mut request = self.client.get(self.url(path)).header("accept", accept);
        if let Some(key) = &self.key {
            request = request.bearer_auth(key);
        }
        let response = request.send().await.expect("the server answers");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.bytes().await.expect("a body").to_vec();
        (status, headers, body)
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.base_url, path)
    }

    async fn send(&self, mut request: reqwest::RequestBuilder) -> Reply {
        if let Some(key) = &self.key {
            request = request.bearer_auth(key);
        }
        let response = request.send().await.expect("the server answers");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.expect("a body");
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Reply {
            status,
            headers,
            body,
        }
    }
}

/// The first line of `kind` of an invoice as the API renders it.
pub fn line_of<'a>(invoice: &'a Value, kind: &str) -> &'a Value {
    invoice["lines"]
        .as_array()
        .expect("lines")
        .iter()
        .find(|line| line["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} line in {invoice}"))
}
