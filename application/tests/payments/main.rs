//! The payment use cases on the real stores of both backends: attempts, races with payments
//! recorded from outside, and the refund of overpayments.

mod attempt;
mod races;
mod support;
