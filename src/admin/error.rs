//! The web admin's one error type, and the extractors that check a request's session,
//! role and form token before a handler runs. Handlers take [`Staff`], [`Administrator`],
//! [`StaffForm`], [`AdminForm`], [`StaffPairs`] or (the CSV imports) [`AdminUpload`] and
//! return `Result<Response, AdminError>`; `?` turns a store error into a logged 500
//! whose page says nothing of the cause.
//!
//! A posted form is read first, as axum's `Form` reads it (too large 413, not a form 415,
//! a field missing 422, with axum's own text); then the session (not signed in, or
//! two-factor not done: 303), this session's form token (403 for anyone), and for an
//! administrators' form the role (404). Pages that work before sign-in or before
//! two-factor (sign-in, two-factor, enrolment, sign-out, password reset) keep their own
//! rules in `web.rs` and `reset.rs`, and answer through [`AdminError`] too.

use super::auth::ActiveSession;
use super::AdminState;
use crate::domain::roster::StaffRole;
use crate::store::tenancy::School;
use crate::store::StoreError;
use axum::body::Bytes;
use axum::extract::multipart::MultipartRejection;
use axum::extract::rejection::{BytesRejection, PathRejection, RawFormRejection};
use axum::extract::{FromRequest, FromRequestParts, Multipart, Path, RawForm, Request};
use axum::http::header::LOCATION;
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use std::marker::PhantomData;

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
    /// Any other refusal, with its status and the message shown: a body that cannot be
    /// read (axum's own answer: 413, 415, 422, 400 for a broken upload), or a page's own
    /// (409, 422, 429 …).
    #[error("{1}")]
    Refused(StatusCode, String),
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

    /// A refusal with its status and message (see [`AdminError::Refused`]).
    pub fn refused(status: StatusCode, message: impl Into<String>) -> Self {
        AdminError::Refused(status, message.into())
    }
}

/// axum's refusals of a body it cannot read, answered exactly as axum answers them.
macro_rules! refused_as_axum_does {
    ($($rejection:ty),*) => {$(
        impl From<$rejection> for AdminError {
            fn from(r: $rejection) -> Self {
                AdminError::Refused(r.status(), r.body_text())
            }
        }
    )*};
}
refused_as_axum_does!(
    BytesRejection,
    RawFormRejection,
    MultipartRejection,
    PathRejection
);

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        match self {
            AdminError::NotFound => (StatusCode::NOT_FOUND, "Not found.").into_response(),
            AdminError::FormExpired => {
                (StatusCode::FORBIDDEN, "The form expired; reload the page.").into_response()
            }
            AdminError::Redirect(to) => (StatusCode::SEE_OTHER, [(LOCATION, to)]).into_response(),
            AdminError::BadRequest(m) => (StatusCode::BAD_REQUEST, m).into_response(),
            AdminError::Refused(status, m) => (status, m).into_response(),
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

impl Staff {
    /// This staff member, if an administrator (anyone else: 404).
    fn administrator(self) -> Result<Staff, AdminError> {
        if self.session.staff.role != StaffRole::Admin {
            return Err(AdminError::NotFound);
        }
        Ok(self)
    }
}

impl FromRequestParts<AdminState> for Staff {
    type Rejection = AdminError;

    async fn from_request_parts(parts: &mut Parts, admin: &AdminState) -> Result<Self, AdminError> {
        let (school, session, _) = super::web::signed_in(admin, &parts.headers).await?;
        Ok(Staff { school, session })
    }
}

/// The same, for administrators only (anyone else: 404).
pub struct Administrator(pub Staff);

impl FromRequestParts<AdminState> for Administrator {
    type Rejection = AdminError;

    async fn from_request_parts(parts: &mut Parts, admin: &AdminState) -> Result<Self, AdminError> {
        let staff = Staff::from_request_parts(parts, admin).await?;
        Ok(Administrator(staff.administrator()?))
    }
}

/// A form with nothing but its token (checked by the extractor).
#[derive(Deserialize)]
pub struct Empty {}

/// The form token every state-changing form carries (a required field: without it the
/// form is refused with 422, as axum's `Form` refused it).
#[derive(Deserialize)]
struct Token {
    csrf: String,
}

/// A form body deserialised as axum's `Form` deserialises it, with its answer when the
/// body does not fit (422 "Failed to deserialize form body: missing field `…`").
fn deserialize<T: DeserializeOwned>(body: &[u8]) -> Result<T, AdminError> {
    serde_urlencoded::from_bytes(body).map_err(|e| {
        AdminError::Refused(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("Failed to deserialize form body: {e}"),
        )
    })
}

/// A posted form read as axum's `Form` reads it: its token, its fields and the
/// request's headers.
struct Posted<T> {
    headers: axum::http::HeaderMap,
    csrf: String,
    form: T,
}

impl<T: DeserializeOwned> Posted<T> {
    async fn read(req: Request, admin: &AdminState) -> Result<Self, AdminError> {
        let headers = req.headers().clone();
        let RawForm(body) = RawForm::from_request(req, admin).await?;
        let Token { csrf } = deserialize(&body)?;
        let form = deserialize(&body)?;
        Ok(Posted {
            headers,
            csrf,
            form,
        })
    }
}

/// The signed-in staff member of a posted form (303 if none), if the form carries this
/// session's token (else 403).
async fn with_token(
    admin: &AdminState,
    headers: &axum::http::HeaderMap,
    csrf: &str,
) -> Result<Staff, AdminError> {
    let (school, session, _) = super::web::signed_in(admin, headers).await?;
    if !session.csrf_ok(csrf) {
        return Err(AdminError::FormExpired);
    }
    Ok(Staff { school, session })
}

/// A posted form of any signed-in staff member, with this session's form token checked.
/// The body is read first, within the route's body limit (64 KiB for admin forms, the
/// service-wide limit for the CSV imports; see `web::routes`), with axum's answers;
/// then the session, then the token. Role and scope checks are the handler's (a
/// `?`-returned [`AdminError::NotFound`]), after the token: a wrong token is 403 for
/// anyone.
pub struct StaffForm<T> {
    pub staff: Staff,
    pub form: T,
}

impl<T: DeserializeOwned + Send> FromRequest<AdminState> for StaffForm<T> {
    type Rejection = AdminError;

    async fn from_request(req: Request, admin: &AdminState) -> Result<Self, AdminError> {
        let posted = Posted::read(req, admin).await?;
        let staff = with_token(admin, &posted.headers, &posted.csrf).await?;
        Ok(StaffForm {
            staff,
            form: posted.form,
        })
    }
}

/// A posted form of an administrator, with this session's form token checked (in that
/// order: a wrong token is 403 for anyone, a right one from a non-administrator 404).
pub struct AdminForm<T> {
    pub staff: Staff,
    pub form: T,
}

impl<T: DeserializeOwned + Send> FromRequest<AdminState> for AdminForm<T> {
    type Rejection = AdminError;

    async fn from_request(req: Request, admin: &AdminState) -> Result<Self, AdminError> {
        let StaffForm { staff, form } = StaffForm::from_request(req, admin).await?;
        Ok(AdminForm {
            staff: staff.administrator()?,
            form,
        })
    }
}

/// A form about one thing, its id the path's (`/…/{id}/…`), with what `F` extracts (an
/// [`AdminForm`], say): the path is read first, then `F` (body, session, form token,
/// role), then the id, which is 404 if it is not one (like anything not there).
pub struct On<F>(pub uuid::Uuid, pub F);

impl<F> FromRequest<AdminState> for On<F>
where
    F: FromRequest<AdminState, Rejection = AdminError> + Send,
{
    type Rejection = AdminError;

    async fn from_request(req: Request, admin: &AdminState) -> Result<Self, AdminError> {
        let (mut parts, body) = req.into_parts();
        let Path(id) = Path::<String>::from_request_parts(&mut parts, admin).await?;
        let inner = F::from_request(Request::from_parts(parts, body), admin).await?;
        Ok(On(super::web::path_id(&id)?, inner))
    }
}

/// How a [`StaffPairs`] body is read: raw [`Bytes`] (any content type) or [`RawForm`]
/// (`application/x-www-form-urlencoded` required, else 415). Both keep the route's body
/// limit.
pub trait FormBody: FromRequest<AdminState> {
    fn into_bytes(self) -> Bytes;
}

impl FormBody for Bytes {
    fn into_bytes(self) -> Bytes {
        self
    }
}

impl FormBody for RawForm {
    fn into_bytes(self) -> Bytes {
        self.0
    }
}

/// A posted form read as name/value pairs in order (repeated names, e.g. checkbox
/// lists, are all kept), of any signed-in staff member, with this session's form token
/// (the first `csrf` field; none is 403) checked: the body first, then the session,
/// then the token. Role and scope checks are the handler's, as for [`StaffForm`].
pub struct StaffPairs<B = Bytes> {
    pub staff: Staff,
    pub pairs: Vec<(String, String)>,
    body: PhantomData<B>,
}

impl<B> FromRequest<AdminState> for StaffPairs<B>
where
    B: FormBody + Send,
    AdminError: From<B::Rejection>,
{
    type Rejection = AdminError;

    async fn from_request(req: Request, admin: &AdminState) -> Result<Self, AdminError> {
        let headers = req.headers().clone();
        let body = B::from_request(req, admin).await?.into_bytes();
        let pairs = super::web::form_pairs(&body);
        let staff = with_token(admin, &headers, super::web::field(&pairs, "csrf")).await?;
        Ok(StaffPairs {
            staff,
            pairs,
            body: PhantomData,
        })
    }
}

/// A posted form before sign-in (sign-in, password reset), read as axum's `Form` reads
/// it, with the double-submit form token checked (403), and the client's address.
pub struct PreSessionForm<T> {
    pub address: std::net::IpAddr,
    pub form: T,
}

impl<T: DeserializeOwned + Send> FromRequest<AdminState> for PreSessionForm<T> {
    type Rejection = AdminError;

    async fn from_request(req: Request, admin: &AdminState) -> Result<Self, AdminError> {
        let extensions = req.extensions().clone();
        let Posted {
            headers,
            csrf,
            form,
        } = Posted::read(req, admin).await?;
        if !super::web::pre_session_ok(&headers, &csrf) {
            return Err(AdminError::FormExpired);
        }
        let address = crate::app::client_address(&admin.app, &headers, &extensions);
        Ok(PreSessionForm { address, form })
    }
}

/// An administrator's uploaded file (a multipart form, within the imports' body limit):
/// the form is opened first (axum's answer if it is not multipart), then the session,
/// the fields (400 if the upload is cut off or too large), this session's form token
/// (403) and the role (404), in that order.
pub struct AdminUpload {
    pub staff: Staff,
    pub file: Vec<u8>,
}

impl FromRequest<AdminState> for AdminUpload {
    type Rejection = AdminError;

    async fn from_request(req: Request, admin: &AdminState) -> Result<Self, AdminError> {
        let headers = req.headers().clone();
        let form = Multipart::from_request(req, admin).await?;
        let (school, session, _) = super::web::signed_in(admin, &headers).await?;
        let (csrf, file) = read_upload(form).await?;
        if !session.csrf_ok(&csrf) {
            return Err(AdminError::FormExpired);
        }
        Ok(AdminUpload {
            staff: Staff { school, session }.administrator()?,
            file,
        })
    }
}

/// The uploaded file and the form token from a multipart form.
async fn read_upload(mut form: Multipart) -> Result<(String, Vec<u8>), AdminError> {
    let (mut csrf, mut file) = (String::new(), Vec::new());
    loop {
        match form.next_field().await {
            Ok(Some(field)) => {
                let name = field.name().unwrap_or_default().to_string();
                let bytes = field.bytes().await.map_err(|_| {
                    AdminError::BadRequest("The upload was cut off; try again.".into())
                })?;
                match name.as_str() {
                    "csrf" => csrf = String::from_utf8_lossy(&bytes).into_owned(),
                    "file" => file = bytes.to_vec(),
                    _ => {}
                }
            }
            Ok(None) => break,
            Err(_) => {
                return Err(AdminError::BadRequest(
                    "The upload could not be read (it may be larger than this form takes).".into(),
                ))
            }
        }
    }
    Ok((csrf, file))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::extract::Form;
    use axum::http::header::CONTENT_TYPE;

    #[derive(Deserialize, Debug)]
    #[allow(dead_code)]
    struct Decide {
        csrf: String,
        decision: String,
    }

    #[derive(Deserialize)]
    #[allow(dead_code)]
    struct DecideFields {
        decision: String,
    }

    /// The extractors' form answers are axum's `Form`'s, word for word (the handlers
    /// took `Form<T>` with a `csrf` field before).
    #[tokio::test]
    async fn form_refusals_are_axums() {
        for body in [
            "",
            "csrf=x",
            "decision=approve",
            "csrf=x&decision=approve",
            "csrf=x&csrf=y&decision=approve",
            "csrf=x&decision=a&decision=b",
        ] {
            let req = Request::builder()
                .method("POST")
                .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(axum::body::Body::from(body))
                .unwrap();
            let axum_answer = match Form::<Decide>::from_request(req, &()).await {
                Ok(_) => None,
                Err(r) => Some((r.status(), r.body_text())),
            };
            let ours = match deserialize::<Token>(body.as_bytes())
                .and_then(|_| deserialize::<DecideFields>(body.as_bytes()))
            {
                Ok(_) => None,
                Err(AdminError::Refused(status, text)) => Some((status, text)),
                Err(other) => panic!("{other}"),
            };
            assert_eq!(ours, axum_answer, "{body:?}");
        }
    }
}
