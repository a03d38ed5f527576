//! The web admin for school staff: sign-in, sessions, two-factor and CSRF (`auth.rs`),
//! routes, shared page helpers and security headers (`web.rs`), and one module per
//! area of pages.

/// Declares the store port of a group of pages: `Port`, made of exactly the store
/// traits named (in `crate::store`), and `port(school)`, the school's store seen through it (`trait ...`:
/// the port alone, for code handed a store). A page reaches the store only through its
/// module's port, so it can call nothing else.
macro_rules! store_port {
    (trait $($t:ident),+ $(,)?) => {
        $(#[allow(unused_imports)] use crate::store::$t as _;)+
        /// What these pages use of a school's store.
        pub trait Port: $(crate::store::$t +)+ Send + Sync {}
        impl<T: $(crate::store::$t +)+ Send + Sync + ?Sized> Port for T {}
    };
    ($($t:ident),+ $(,)?) => {
        store_port!(trait $($t),+);
        /// The school's store, seen through this module's port.
        pub fn port(school: &crate::store::tenancy::School) -> &(impl Port + ?Sized) {
            school.store.as_ref()
        }
    };
}

pub mod activity;
pub mod attendance;
pub mod auth;
pub mod channels;
pub mod codes;
pub mod complaints;
pub mod consent;
pub mod conversations;
pub mod error;
pub mod face;
pub mod faq;
pub mod fees;
pub mod i18n;
mod imports;
pub mod leads;
pub mod leave;
pub mod outbox;
pub mod privacy;
pub mod reset;
pub mod roster;
pub mod settings;
pub mod web;

use crate::app::App;
use axum::extract::FromRef;
use std::sync::Arc;

/// The admin's state: the shared [`App`] and staff sign-in (sessions, the per-address
/// limiter, the Argon2 gate it shares with the chat). Handlers that need only the
/// shared part take `State<App>` (through `FromRef`).
#[derive(Clone)]
pub struct AdminState {
    pub app: App,
    pub auth: Arc<auth::Auth>,
}

impl AdminState {
    pub fn new(app: App) -> Self {
        let auth = Arc::new(auth::Auth::with_gate(app.hash_gate.clone()));
        AdminState { app, auth }
    }
}

impl FromRef<AdminState> for App {
    fn from_ref(admin: &AdminState) -> App {
        admin.app.clone()
    }
}
