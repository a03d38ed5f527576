//! The web admin for school staff (issue 6). So far: sign-in, sessions, two-factor and
//! CSRF (`auth.rs`), tested against both backends; the pages and routes come next.

pub mod activity;
pub mod auth;
pub mod codes;
pub mod consent;
pub mod conversations;
pub mod leave;
pub mod outbox;
pub mod web;
