use cqrs_es::test::TestFramework;

use super::*;
use crate::testing::{services, t0};

fn payment_succeeded() -> ReceivedEvent {
    ReceivedEvent {
        processor: "stripe".into(),
        event_id: "evt_1".into(),
        event_type: "payment_intent.succeeded".into(),
        object_id: Some("pi_1".into()),
        object: r#"{"id":"pi_1"}"#.into(),
        invoice_id: None,
    }
}

fn received() -> ProcessorEventEvent {
    ProcessorEventEvent::ProcessorEventReceived {
        event: payment_succeeded(),
        received_at: t0(),
    }
}

#[test]
fn an_event_is_received_once() {
    TestFramework::<ProcessorEvent>::with(services())
        .given_no_previous_events()
        .when(ProcessorEventCommand::ReceiveProcessorEvent {
            event: payment_succeeded(),
        })
        .then_expect_events(vec![received()]);
    TestFramework::<ProcessorEvent>::with(services())
        .given(vec![received()])
        .when(ProcessorEventCommand::ReceiveProcessorEvent {
            event: payment_succeeded(),
        })
        .then_expect_events(vec![]);
}

#[test]
fn its_effect_is_recorded_once_and_only_on_a_received_event() {
    let effect = || ProcessorEventCommand::RecordProcessorEffect {
        effect: "payment_recorded".into(),
    };
    let acted = ProcessorEventEvent::ProcessorEventActedOn {
        effect: "payment_recorded".into(),
        at: t0(),
    };
    TestFramework::<ProcessorEvent>::with(services())
        .given(vec![received()])
        .when(effect())
        .then_expect_events(vec![acted.clone()]);
    TestFramework::<ProcessorEvent>::with(services())
        .given(vec![received(), acted])
        .when(effect())
        .then_expect_events(vec![]);
    TestFramework::<ProcessorEvent>::with(services())
        .given_no_previous_events()
        .when(effect())
        .then_expect_error(DomainError::NotFound {
            aggregate: "processor_event",
        });
}
