//! Integration tests: one binary. The conformance suite runs every story on SQLite
//! and on PostgreSQL (see `support.rs` for how each test gets a fresh database).

mod cli;
mod conformance;
mod http;
mod isolation;
mod plaintext;
mod support;
mod webhooks;
