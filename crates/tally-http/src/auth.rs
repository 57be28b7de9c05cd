//! Authentication: HTTP Basic, sent preemptively by DHIS2 clients.

use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use base64::Engine as _;
use tally_core::users::User;

use crate::AppState;
use crate::error::ApiError;

/// The authenticated user of a request. Extracting it answers 401 when credentials are
/// missing or wrong.
pub struct CurrentUser(pub User);

fn unauthorized() -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "Unauthorized")
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
            .and_then(|h| h.to_str().ok())
            .ok_or_else(unauthorized)?;
        let encoded = header
            .strip_prefix("Basic ")
            .or_else(|| header.strip_prefix("basic "))
            .ok_or_else(unauthorized)?;
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .map_err(|_| unauthorized())?;
        let text = String::from_utf8(decoded).map_err(|_| unauthorized())?;
        let (username, password) = text.split_once(':').ok_or_else(unauthorized)?;
        let users = state.app.users();
        // bcrypt is slow on a miss; keep it off the async executor.
        let (username, password) = (username.to_owned(), password.to_owned());
        let user = tokio::task::spawn_blocking(move || users.authenticate(&username, &password))
            .await
            .map_err(|e| ApiError::internal(&e))?
            .ok_or_else(unauthorized)?;
        Ok(CurrentUser(user))
    }
}
