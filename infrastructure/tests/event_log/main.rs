//! The event log's contract test suite: every promise of `application::event_log::EventLog`, and
//! of the command bus built on it, checked against real SQLite and real Postgres. Each test runs
//! once per backend, as `<module>::sqlite::<test>` and `<module>::postgres::<test>`.

mod appends;
mod claims;
mod exactly_once;
mod global_order;
mod open_invoices;
mod optimistic;
mod past_states;
mod reading;
mod retention;
mod snapshots;
mod support;
mod upcasting;
