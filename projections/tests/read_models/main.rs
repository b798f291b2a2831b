//! Contract tests of the read models and their runtime, against real SQLite and Postgres. One
//! test binary: linking is the slow part of a build on this machine.

mod fixtures;
mod instrumented;

mod accepted_histories;
mod access_cache;
mod customer_balance;
mod dunning_queue;
mod exactly_once;
mod feature_access;
mod fencing;
mod freshness;
mod invoices;
mod notifications;
mod rebuild;
mod recovery;
mod single_worker;
mod summary;
mod timeline;
mod verify;
