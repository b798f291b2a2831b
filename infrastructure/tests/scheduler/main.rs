//! The scheduler's contract test suite: every promise of `application::scheduler::Scheduler`,
//! checked against real SQLite and real Postgres. Each test runs once per backend, as
//! `<module>::sqlite::<test>` and `<module>::postgres::<test>`.

mod backlog;
mod claiming;
mod concurrency;
mod durability;
mod scheduling;
mod support;
