//! The NATS JetStream sink (SPEC 9.3), on both backends against the local NATS server: every
//! integration event lands in the stream once, on `<prefix>.<type>` with its event id
//! as `Nats-Msg-Id`; a sink that loses its checkpoint (as a crash before the checkpoint commits
//! would) publishes everything again after a restart, and the stream still holds each event once.

mod support;

use std::time::{Duration, Instant};

use async_nats::jetstream;
use infrastructure::portable;
use infrastructure::testing::{Backend, TestDatabase};
use serde_json::{json, Value};
use support::{Api, Server};

const NATS_URL: &str = "nats://127.0.0.1:4222";

/// A server publishing to the stream `name` on subjects `<name>.<type>`: test streams on the one
/// NATS server must not share subjects.
fn serve(db: &TestDatabase, name: &str) -> Server {
    Server::on(
        &db.url,
        &[
            "--events-nats-url",
            NATS_URL,
            "--events-nats-stream",
            name,
            "--events-nats-subject-prefix",
            name,
        ],
    )
}

/// The sink's position, as the admin projections list shows it.
async fn sink_position(api: &Api) -> i64 {
    let list = api.get("/v1/admin/projections").await;
    list.assert_status(200);
    list.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|item| item["name"] == "nats_sink")
        .and_then(|item| item["position"].as_i64())
        .expect("the nats_sink consumer runs")
}

async fn wait_for_sink(api: &Api, position: i64) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while sink_position(api).await < position {
        assert!(Instant::now() < deadline, "the sink reaches {position}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn messages(stream: &mut jetstream::stream::Stream) -> u64 {
    stream.info().await.expect("stream info").state.messages
}

async fn events_reach_the_stream_once_even_when_published_again(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let name = format!(
        "LL_TEST_{}",
        chrono::Utc::now().timestamp_nanos_opt().expect("a time")
    );
    let server = serve(&db, &name);
    let api = Api::admin(&server.base_url);
    let id = api.start_trial("acct_nats", "starter").await;
    let seats = api
        .post(
            &format!("/v1/subscriptions/{id}/add-seats"),
            json!({"count": 2}),
        )
        .await;
    seats.assert_status(200);
    let head = seats.body["position"].as_i64().expect("a position");
    // The entitlements policy enables access after the trial started, asynchronously.
    let deadline = Instant::now() + Duration::from_secs(30);
    let events = loop {
        let events = api.catalog(head).await;
        if events.iter().any(|e| e["type"] == "entitlements.updated") {
            break events;
        }
        assert!(
            Instant::now() < deadline,
            "entitlements enabled: {events:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let last = events.last().expect("events")["position"]
        .as_i64()
        .expect("a position");
    wait_for_sink(&api, last).await;

    let client = async_nats::connect(NATS_URL).await.expect("NATS runs");
    let js = jetstream::new(client);
    let mut stream = js
        .get_stream(&name)
        .await
        .expect("the sink made the stream");
    assert_eq!(messages(&mut stream).await, events.len() as u64);
    for (seq, event) in events.iter().enumerate() {
        let message = stream
            .get_raw_message(seq as u64 + 1)
            .await
            .expect("a message");
        let kind = event["type"].as_str().expect("a type");
        assert_eq!(message.subject.as_str(), format!("{name}.{kind}"));
        let id = message
            .headers
            .get("Nats-Msg-Id")
            .expect("a message id")
            .as_str();
        assert_eq!(id, event["id"].as_str().expect("an id"));
        let body: Value = serde_json::from_slice(&message.payload).expect("JSON");
        assert_eq!(&body, event, "the message is the catalog's event");
    }

    // As if the process died after publishing, before its checkpoint committed.
    server.kill();
    let store = db.store().await;
    // Policies store their checkpoint lazily: it may not have committed at all, which is the
    // same case.
    portable::query("DELETE FROM projection_checkpoints WHERE name = $1")
        .bind("nats_sink")
        .execute(store.writer())
        .await
        .expect("the checkpoint is removed");
    let server = serve(&db, &name);
    let api = Api::admin(&server.base_url);
    wait_for_sink(&api, last).await;
    let metrics = api.get("/metrics").await;
    let published = metrics
        .body
        .as_str()
        .expect("the metrics text")
        .lines()
        .find_map(|line| line.strip_prefix("ledgerline_nats_published_total "))
        .expect("the sink counts what it publishes");
    assert_eq!(
        published,
        events.len().to_string(),
        "everything was published again"
    );
    assert_eq!(
        messages(&mut stream).await,
        events.len() as u64,
        "publishing again added nothing"
    );
    js.delete_stream(&name)
        .await
        .expect("the stream is removed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_events_reach_the_stream_once_even_when_published_again() {
    events_reach_the_stream_once_even_when_published_again(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_events_reach_the_stream_once_even_when_published_again() {
    events_reach_the_stream_once_even_when_published_again(Backend::Postgres).await;
}
