//! The test clock of a server started with `--test-clock`, as the billing tests move it.

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::Api;

/// A time field of a reply.
pub fn time(value: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(value.as_str().expect("a time"))
        .expect("RFC 3339")
        .to_utc()
}

/// Moves the test clock to `to` (or not at all) and returns once every policy has caught up.
pub async fn advance_to(api: &Api, to: DateTime<Utc>) {
    api.post("/v1/test-clock/advance", json!({"to": to.to_rfc3339()}))
        .await
        .assert_status(200);
}

/// Lets the policies catch up with what the last commands caused, without moving the clock.
pub async fn settle(api: &Api) {
    api.post("/v1/test-clock/advance", json!({"seconds": 0}))
        .await
        .assert_status(200);
}

pub async fn now(api: &Api) -> DateTime<Utc> {
    time(&api.get("/v1/test-clock").await.body["now"])
}
