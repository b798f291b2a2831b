use cqrs_es::test::TestFramework;

use super::*;
use crate::testing::{services, t0};

fn prefix() -> InvoicePrefix {
    InvoicePrefix::parse("LL").unwrap()
}

fn assign(invoice_id: Uuid) -> InvoiceNumberingCommand {
    InvoiceNumberingCommand::AssignInvoiceNumber {
        prefix: prefix(),
        invoice_id,
    }
}

fn assigned(invoice_id: Uuid, sequence: u64, number: &str) -> InvoiceNumberingEvent {
    InvoiceNumberingEvent::InvoiceNumberAssigned {
        invoice_id,
        sequence,
        number: number.into(),
        at: t0(),
    }
}

#[test]
fn the_first_invoice_of_a_prefix_is_number_one() {
    let invoice = Uuid::new_v4();
    TestFramework::<InvoiceNumbering>::with(services())
        .given_no_previous_events()
        .when(assign(invoice))
        .then_expect_events(vec![assigned(invoice, 1, "LL-000001")]);
}

#[test]
fn each_next_invoice_takes_the_number_after_the_last() {
    let (first, second, third) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    TestFramework::<InvoiceNumbering>::with(services())
        .given(vec![
            assigned(first, 1, "LL-000001"),
            assigned(second, 2, "LL-000002"),
        ])
        .when(assign(third))
        .then_expect_events(vec![assigned(third, 3, "LL-000003")]);
}

#[test]
fn the_state_counts_the_numbers_handed_out() {
    let mut numbering = InvoiceNumbering::default();
    assert_eq!(numbering.assigned(), 0);
    numbering.apply(assigned(Uuid::new_v4(), 1, "LL-000001"));
    numbering.apply(assigned(Uuid::new_v4(), 2, "LL-000002"));
    assert_eq!(numbering.assigned(), 2);
    assert_eq!(InvoiceNumbering::stream_id(&prefix()), "LL");
}

#[test]
fn numbers_keep_six_digits_and_grow_past_them() {
    assert_eq!(format_number(&prefix(), 42), "LL-000042");
    assert_eq!(format_number(&prefix(), 1_000_000), "LL-1000000");
}
