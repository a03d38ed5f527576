//! Integration tests: one binary. The conformance suite runs every story on SQLite
//! and on PostgreSQL (see `support.rs` for how each test gets a fresh database).

mod admin_auth;
mod admin_office;
mod admin_web;
mod application;
mod attacks;
mod backup;
mod browser;
mod cli;
mod complaints;
mod conformance;
mod crash;
mod enquiry_admin;
mod face;
mod face_attendance;
mod fake;
mod fixture_parse;
mod http;
mod isolation;
mod jobs;
mod nlu;
mod pii;
mod pipeline;
mod plaintext;
mod privacy;
mod support;
mod tidy;
mod transcripts;
mod triage;
mod webchat;
mod webhooks;
