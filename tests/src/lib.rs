//! What the black-box tests and the reliability harness share beyond the tests themselves: the
//! fake Stripe, used in-process by `tests/tests/stripe*.rs` and as a process (`fake-stripe`) by
//! `scripts/crash-test --gateway stripe`. Never shipped with `ledgerline`.

pub mod fake_stripe;
