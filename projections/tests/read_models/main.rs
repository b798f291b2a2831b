//! Contract tests of the read models and their runtime, against real SQLite and Postgres. One
//! test binary: linking is the slow part of a build on this machine.

mod fixtures;

mod feature_access;
mod summary;
