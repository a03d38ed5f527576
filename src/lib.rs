//! Raabta: a chat-first service for schools. See ARCHITECTURE.md for the map.

pub mod admin;
pub mod app;
pub mod application;
pub mod channel;
pub mod codes;
pub mod config;
pub mod console;
pub mod domain;
pub mod flow;
pub mod fsutil;
pub mod import;
pub mod mail;
pub mod metrics;
pub mod models;
pub mod nlu;
pub mod outbound;
pub mod password;
pub mod redact;
pub mod routing;
pub mod seed;
pub mod spool;
pub mod store;
pub mod templates;
pub mod triage;
pub mod webhooks;
pub mod worker;
