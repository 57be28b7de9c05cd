//! Authentication of every request: HTTP Basic (sent preemptively by DHIS2 clients),
//! personal access tokens (`Authorization: ApiToken d2pat_…`) and the `JSESSIONID`
//! cookie of `POST /api/auth/login`.
//!
//! An empty `Authorization` header counts as absent (the DHIS2 app runtime sends one).
//! Cookie-authenticated requests that change something must carry
//! `X-Requested-With: XMLHttpRequest` (as DHIS2's apps do) or an `Origin` matching the
//! `Host`: a cross-site form cannot set either, which is the CSRF protection; the cookie
//! is also `SameSite=Lax` and `HttpOnly`.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header::{AUTHORIZATION, COOKIE, HOST, ORIGIN};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode};
use base64::Engine as _;
use tally_core::auth::AuthError;
use tally_core::users::User;

use crate::AppState;
use crate::error::ApiError;

/// Name of the session cookie (DHIS2's, so apps and proxies treat it the same).
pub const SESSION_COOKIE: &str = "JSESSIONID";

/// The authenticated user of a request. Extracting it answers 401 when credentials are
/// missing or wrong.
pub struct CurrentUser(pub User);

fn unauthorized() -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "Unauthorized")
}

/// 403 unless the user holds `authority` (or `ALL`), with DHIS2's message.
///
/// # Errors
/// The 403.
pub fn require(user: &User, authority: &str) -> Result<(), ApiError> {
    if user.has(authority) {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "You don't have the proper permissions to access this page.",
        ))
    }
}

/// The error for refused credentials.
pub fn refused(e: AuthError) -> ApiError {
    match e {
        AuthError::Invalid => unauthorized(),
        AuthError::Locked => ApiError::new(
            StatusCode::UNAUTHORIZED,
            "Too many failed login attempts; try again in 15 minutes",
        ),
    }
}

/// The client address, when the server was started with connection info.
pub fn client_address(parts: &Parts) -> Option<String> {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string())
}

fn strip_scheme<'a>(header: &'a str, scheme: &str) -> Option<&'a str> {
    let (head, rest) = header.split_at_checked(scheme.len())?;
    (head.eq_ignore_ascii_case(scheme) && rest.starts_with(' ')).then(|| rest.trim())
}

/// `username:password` of a Basic header value.
pub fn basic_credentials(encoded: &str) -> Option<(String, String)> {
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (username, password) = text.split_once(':')?;
    Some((username.to_owned(), password.to_owned()))
}

/// The session id of the request's cookie.
pub fn session_cookie(parts: &Parts) -> Option<String> {
    parts
        .headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|h| h.to_str().ok())
        .flat_map(|h| h.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.trim_matches('"').to_owned())
        .filter(|v| !v.is_empty())
}

/// Whether a cookie-authenticated request may change state (see the module docs).
fn passes_csrf(parts: &Parts) -> bool {
    if matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return true;
    }
    let header = |name| parts.headers.get(name).and_then(|h| h.to_str().ok());
    if header("x-requested-with").is_some_and(|v| v.eq_ignore_ascii_case("XMLHttpRequest")) {
        return true;
    }
    match (header(ORIGIN.as_str()), header(HOST.as_str())) {
        (Some(origin), Some(host)) => origin
            .split_once("://")
            .is_some_and(|(_, authority)| authority.eq_ignore_ascii_case(host)),
        _ => false,
    }
}

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .map(|h| h.to_str().map(str::trim))
            .transpose()
            .map_err(|_| unauthorized())?
            .filter(|h| !h.is_empty());
        let app = state.app.clone();
        if let Some(header) = header {
            if let Some(encoded) = strip_scheme(header, "Basic") {
                let (username, password) = basic_credentials(encoded).ok_or_else(unauthorized)?;
                let address = client_address(parts);
                // bcrypt is slow on a miss; keep it off the async executor.
                let user = tokio::task::spawn_blocking(move || {
                    app.authenticate_password(&username, &password, address.as_deref())
                })
                .await
                .map_err(|e| ApiError::internal(&e))?
                .map_err(refused)?;
                return Ok(CurrentUser(user));
            }
            if let Some(key) = strip_scheme(header, "ApiToken") {
                return app
                    .authenticate_token(key)
                    .map(CurrentUser)
                    .map_err(refused);
            }
            return Err(unauthorized());
        }
        let session = session_cookie(parts).ok_or_else(unauthorized)?;
        let user = app.session_user(&session).ok_or_else(unauthorized)?;
        if !passes_csrf(parts) {
            return Err(ApiError::forbidden(
                "Cookie-authenticated requests that change data need the header \
                 X-Requested-With: XMLHttpRequest or a same-origin Origin header",
            ));
        }
        Ok(CurrentUser(user))
    }
}
