//! Black-box tests live in `tests/`; they drive the `ledgerline` binary that Cargo builds.
