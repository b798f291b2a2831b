//! The webhook delivery store's contract, against real SQLite and real Postgres: what is queued
//! for an endpoint, in which order it is offered, retried and given up, and that a crash or a
//! replay never skips an event nor changes its `webhook-id`. Each test runs once per backend, as
//! `<module>::sqlite::<test>` and `<module>::postgres::<test>`.

mod endpoints;
mod queueing;
mod retries;
mod support;
