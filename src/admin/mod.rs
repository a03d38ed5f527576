//! The web admin for school staff: sign-in, sessions, two-factor and CSRF (`auth.rs`),
//! routes, shared page helpers and security headers (`web.rs`), and one module per
//! area of pages.

pub mod activity;
pub mod attendance;
pub mod auth;
pub mod channels;
pub mod codes;
pub mod consent;
pub mod conversations;
pub mod error;
pub mod fees;
pub mod i18n;
mod imports;
pub mod leave;
pub mod outbox;
pub mod reset;
pub mod roster;
pub mod web;
