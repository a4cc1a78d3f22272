//! End-to-end tests of the `tally` binary: one test binary, one temporary folder per test.

// Test code fails by panicking.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

mod support;

mod allocation;
mod bad_input;
mod browser;
mod cloud;
mod fetch;
mod incremental;
mod ingest;
mod reports;
