use chrono::Duration;
use cqrs_es::test::TestFramework;

use super::*;
use crate::testing::{services, t0};

fn endpoint() -> EndpointDescription {
    EndpointDescription {
        url: "https://hooks.example.com/ledgerline".into(),
        enabled_events: vec!["*".into()],
        description: None,
        created_at: t0() - Duration::days(10),
        starts_after_position: 0,
        previous_secret_expires_at: None,
    }
}

fn disable(failing_since: DateTime<Utc>) -> WebhookEndpointCommand {
    WebhookEndpointCommand::DisableFailingEndpoint {
        endpoint: endpoint(),
        failing_since,
    }
}

fn disabled(failing_since: DateTime<Utc>) -> WebhookEndpointEvent {
    WebhookEndpointEvent::WebhookEndpointDisabled {
        endpoint: endpoint(),
        failing_since,
        at: t0(),
    }
}

#[test]
fn a_failing_endpoint_is_disabled_once_per_failing_spell() {
    let since = t0() - Duration::days(3);
    TestFramework::<WebhookEndpoint>::with(services())
        .given_no_previous_events()
        .when(disable(since))
        .then_expect_events(vec![disabled(since)]);
    // A worker that resumes after a crash asks again: nothing more is recorded.
    TestFramework::<WebhookEndpoint>::with(services())
        .given(vec![disabled(since)])
        .when(disable(since))
        .then_expect_events(vec![]);
}

#[test]
fn an_endpoint_enabled_again_that_fails_again_is_disabled_again() {
    let first = t0() - Duration::days(20);
    let second = t0() - Duration::days(4);
    TestFramework::<WebhookEndpoint>::with(services())
        .given(vec![disabled(first)])
        .when(disable(second))
        .then_expect_events(vec![disabled(second)]);
}
