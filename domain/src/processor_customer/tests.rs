use cqrs_es::test::TestFramework;

use super::*;
use crate::testing::{services, t0};

fn account() -> AccountId {
    AccountId::parse("acct_1").unwrap()
}

fn remember(customer_id: &str) -> ProcessorCustomerCommand {
    ProcessorCustomerCommand::RememberProcessorCustomer {
        processor: "stripe".into(),
        account_id: account(),
        customer_id: customer_id.into(),
    }
}

fn created(customer_id: &str) -> ProcessorCustomerEvent {
    ProcessorCustomerEvent::ProcessorCustomerCreated {
        processor: "stripe".into(),
        account_id: account(),
        customer_id: customer_id.into(),
        at: t0(),
    }
}

#[test]
fn the_first_customer_is_remembered() {
    TestFramework::<ProcessorCustomer>::with(services())
        .given_no_previous_events()
        .when(remember("cus_1"))
        .then_expect_events(vec![created("cus_1")]);
}

#[test]
fn a_second_customer_changes_nothing_the_first_stays() {
    TestFramework::<ProcessorCustomer>::with(services())
        .given(vec![created("cus_1")])
        .when(remember("cus_2"))
        .then_expect_events(vec![]);
    let mut customer = ProcessorCustomer::default();
    customer.apply(created("cus_1"));
    assert_eq!(customer.customer_id(), Some("cus_1"));
    assert_eq!(
        ProcessorCustomer::stream_id("stripe", &account()),
        "stripe:acct_1"
    );
}
