//! The web admin's one error type, and the extractors that check a request's session,
//! role and form token before a handler runs. Handlers take [`Staff`], [`Administrator`]
//! or [`AdminForm`] and return `Result<Response, AdminError>`; `?` turns a store error
//! into a logged 500 whose page says nothing of the cause.
//!
//! (Pages are moving onto these; the older `web::full_session` / `admin_form` helpers
//! answer the same responses through [`AdminError`].)

use super::auth::ActiveSession;
use crate::app::App;
use crate::domain::roster::StaffRole;
use crate::store::tenancy::School;
use crate::store::StoreError;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::LOCATION;
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde::Deserialize;

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// Outside the person's scope, or not there: answered alike.
    #[error("not found")]
    NotFound,
    /// A state-changing form without this session's token.
    #[error("the form expired")]
    FormExpired,
    /// Not signed in, or two-factor not done: where to go.
    #[error("redirect to {0}")]
    Redirect(&'static str),
    /// A request the page cannot take (the message is shown).
    #[error("{0}")]
    BadRequest(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Auth(#[from] super::auth::AuthError),
    /// Anything else that went wrong on our side (logged, never shown).
    #[error("{0}")]
    Internal(String),
}

impl AdminError {
    pub fn internal(e: impl std::fmt::Display) -> Self {
        AdminError::Internal(e.to_string())
    }
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        match self {
            AdminError::NotFound => (StatusCode::NOT_FOUND, "Not found.").into_response(),
            AdminError::FormExpired => {
                (StatusCode::FORBIDDEN, "The form expired; reload the page.").into_response()
            }
            AdminError::Redirect(to) => (StatusCode::SEE_OTHER, [(LOCATION, to)]).into_response(),
            AdminError::BadRequest(m) => (StatusCode::BAD_REQUEST, m).into_response(),
            AdminError::Store(e) => internal(&e),
            AdminError::Auth(e) => internal(&e),
            AdminError::Internal(e) => internal(&e),
        }
    }
}

fn internal(e: &dyn std::fmt::Display) -> Response {
    tracing::error!(error = %e, "admin request failed");
    (StatusCode::INTERNAL_SERVER_ERROR, "Something went wrong.").into_response()
}

/// A signed-in staff member with two-factor done, and their school.
pub struct Staff {
    pub school: School,
    pub session: ActiveSession,
}

impl FromRequestParts<App> for Staff {
    type Rejection = AdminError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, AdminError> {
        let (school, session, _) = super::web::signed_in(app, &parts.headers).await?;
        Ok(Staff { school, session })
    }
}

/// The same, for administrators only (anyone else: 404).
pub struct Administrator(pub Staff);

impl FromRequestParts<App> for Administrator {
    type Rejection = AdminError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, AdminError> {
        let staff = Staff::from_request_parts(parts, app).await?;
        if staff.session.staff.role != StaffRole::Admin {
            return Err(AdminError::NotFound);
        }
        Ok(Administrator(staff))
    }
}

#[derive(Deserialize)]
struct Token {
    #[serde(default)]
    csrf: String,
}

/// A posted form of an administrator, with this session's form token checked (in that
/// order: a wrong token is 403 for anyone, a right one from a non-administrator 404).
pub struct AdminForm<T> {
    pub staff: Staff,
    pub form: T,
}

impl<T: DeserializeOwned> FromRequest<App> for AdminForm<T> {
    type Rejection = AdminError;

    async fn from_request(req: Request, app: &App) -> Result<Self, AdminError> {
        let (mut parts, body) = req.into_parts();
        let staff = Staff::from_request_parts(&mut parts, app).await?;
        let bytes = Bytes::from_request(Request::from_parts(parts, body), app)
            .await
            .map_err(|_| AdminError::BadRequest("The form is too large.".into()))?;
        let token: Token =
            serde_urlencoded::from_bytes(&bytes).map_err(|_| AdminError::FormExpired)?;
        if !staff.session.csrf_ok(&token.csrf) {
            return Err(AdminError::FormExpired);
        }
        if staff.session.staff.role != StaffRole::Admin {
            return Err(AdminError::NotFound);
        }
        let form = serde_urlencoded::from_bytes(&bytes)
            .map_err(|e| AdminError::BadRequest(format!("The form is not valid: {e}")))?;
        Ok(AdminForm { staff, form })
    }
}
