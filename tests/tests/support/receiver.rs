//! A real webhook receiver on loopback: an axum server that records every request it gets
//! (path, Standard Webhooks headers, body) and answers with scripted statuses, 200 once the
//! script runs out.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};

/// One request as it arrived.
#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub id: String,
    pub timestamp: i64,
    pub signature: String,
    pub body: String,
}

impl Received {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).expect("a JSON body")
    }
}

#[derive(Clone, Default)]
struct Shared {
    received: Arc<Mutex<Vec<Received>>>,
    script: Arc<Mutex<VecDeque<u16>>>,
    /// How long each answer takes.
    delay: Duration,
}

pub struct Receiver {
    pub base_url: String,
    shared: Shared,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn header(headers: &HeaderMap, name: &str) -> String {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

async fn receive(
    State(shared): State<Shared>,
    uri: Uri,
    headers: HeaderMap,
    body: String,
) -> StatusCode {
    let received = Received {
        path: uri.path().to_owned(),
        id: header(&headers, "webhook-id"),
        timestamp: header(&headers, "webhook-timestamp").parse().unwrap_or(-1),
        signature: header(&headers, "webhook-signature"),
        body,
    };
    shared.received.lock().unwrap().push(received);
    tokio::time::sleep(shared.delay).await;
    let status = shared.script.lock().unwrap().pop_front().unwrap_or(200);
    StatusCode::from_u16(status).unwrap_or(StatusCode::OK)
}

impl Receiver {
    /// Starts on 127.0.0.1 on a free port, answering `script` in order, then 200.
    pub async fn start(script: &[u16]) -> Receiver {
        Self::start_slow(script, Duration::ZERO).await
    }

    /// [`Self::start`], answering each request only after `delay`.
    pub async fn start_slow(script: &[u16], delay: Duration) -> Receiver {
        let shared = Shared {
            delay,
            ..Shared::default()
        };
        shared.script.lock().unwrap().extend(script);
        let app = axum::Router::new()
            .fallback(receive)
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the receiver");
        let addr = listener.local_addr().expect("an address");
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Receiver {
            base_url: format!("http://{addr}"),
            shared,
            task,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    pub fn received(&self) -> Vec<Received> {
        self.shared.received.lock().unwrap().clone()
    }

    /// Waits until at least `count` requests arrived (at most 30 s) and answers all of them.
    pub async fn wait_for(&self, count: usize) -> Vec<Received> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let received = self.received();
            if received.len() >= count {
                return received;
            }
            assert!(
                Instant::now() < deadline,
                "expected {count} webhooks within 30 s, got {}: {received:?}",
                received.len()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}
