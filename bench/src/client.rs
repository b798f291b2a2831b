//! The HTTP client of the benchmarks: one keep-alive connection pool shared by every simulated
//! client, the admin key, and any answer that is not a success turned into an error.

use reqwest::{Client, RequestBuilder};
use serde_json::Value;

use crate::Result;

#[derive(Clone)]
pub struct Api {
    client: Client,
    base_url: String,
    key: &'static str,
}

impl Api {
    pub fn new(base_url: String, key: &'static str) -> Self {
        let client = Client::builder()
            .pool_max_idle_per_host(256)
            .tcp_nodelay(true)
            .build()
            .unwrap_or_default();
        Self {
            client,
            base_url,
            key,
        }
    }

    pub async fn get_ok(&self, path: &str) -> Result<Value> {
        self.send(self.client.get(self.url(path))).await
    }

    pub async fn post_ok(&self, path: &str, body: &Value) -> Result<Value> {
        self.send(self.client.post(self.url(path)).json(body)).await
    }

    /// POSTs a command and returns the global position of its last event.
    pub async fn command(&self, path: &str, body: &Value) -> Result<i64> {
        let reply = self.post_ok(path, body).await?;
        reply["position"]
            .as_i64()
            .ok_or_else(|| format!("POST {path} answered no position: {reply}").into())
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.base_url, path)
    }

    async fn send(&self, request: RequestBuilder) -> Result<Value> {
        let response = request.bearer_auth(self.key).send().await?;
        let status = response.status();
        let text = response.text().await?;
        if !status.is_success() {
            return Err(format!("HTTP {status}: {text}").into());
        }
        Ok(if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text)?
        })
    }
}
