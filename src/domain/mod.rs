//! Pure domain types and rules. No IO, no SQL, no HTTP: everything here can be
//! unit-tested without a runtime, and every other layer depends on it.

pub mod access_code;
pub mod activity;
pub mod attendance;
pub mod bidi;
pub mod fees;
pub mod ids;
pub mod job;
pub mod media;
pub mod message;
pub mod phone;
pub mod pii;
pub mod roster;
pub mod school;

pub use ids::*;
pub use pii::{Pii, Secret};
