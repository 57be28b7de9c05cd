//! Sessions and tokens: `POST /api/auth/login`, `POST /api/auth/logout`,
//! `GET /api/loginConfig`, `/api/apiToken` (also `/api/apiTokens`), `/api/me/authorization`.

use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use tally_core::users::tokens::TokenRecord;
use tally_domain::uid::Uid;

use crate::AppState;
use crate::auth::{CurrentUser, SESSION_COOKIE, client_address, refused, session_cookie};
use crate::error::ApiError;
use crate::web_message::WebMessage;

#[derive(Deserialize)]
struct LoginRequest {
    username: String,
    password: String,
}

fn session_cookie_header(value: &str, max_age: Option<u32>) -> Result<HeaderValue, ApiError> {
    let age = max_age.map_or_else(String::new, |a| format!("; Max-Age={a}"));
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax{age}"
    ))
    .map_err(|e| ApiError::internal(&e))
}

/// `POST /api/auth/login` with `{"username","password"}`: starts a cookie session.
pub async fn login(State(state): State<AppState>, req: Request) -> Result<Response, ApiError> {
    let (parts, body) = req.into_parts();
    let address = client_address(&parts);
    let bytes = axum::body::to_bytes(body, 64 * 1024)
        .await
        .map_err(|_| ApiError::bad_request("The login body is too large"))?;
    let form: LoginRequest = serde_json::from_slice(&bytes)
        .map_err(|_| ApiError::bad_request("Expected a JSON body with username and password"))?;
    // An earlier session of this browser ends.
    if let Some(old) = session_cookie(&parts) {
        state.app.logout(&old);
    }
    let app = state.app.clone();
    let (_, session) = tokio::task::spawn_blocking(move || {
        app.login(&form.username, &form.password, address.as_deref())
    })
    .await
    .map_err(|e| ApiError::internal(&e))?
    .map_err(|e| {
        let mut err = refused(e);
        if err.message == "Unauthorized" {
            err.message = "Bad credentials".into();
        }
        err
    })?;
    let mut resp = axum::Json(json!({
        "loginStatus": "SUCCESS",
        "redirectUrl": "/",
    }))
    .into_response();
    resp.headers_mut()
        .insert(header::SET_COOKIE, session_cookie_header(&session, None)?);
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(resp)
}

/// `POST /api/auth/logout` (and DHIS2's old `GET /dhis-web-commons-security/logout.action`):
/// ends the session and clears the cookie. Answers 200 whether or not there was one.
pub async fn logout(State(state): State<AppState>, req: Request) -> Result<Response, ApiError> {
    let (parts, _) = req.into_parts();
    if let Some(session) = session_cookie(&parts) {
        state.app.logout(&session);
    }
    let mut resp = axum::Json(WebMessage::<()>::new(200, "OK", "Logged out")).into_response();
    resp.headers_mut()
        .insert(header::SET_COOKIE, session_cookie_header("", Some(0))?);
    Ok(resp)
}

/// `GET /api/loginConfig`: its presence tells DHIS2 apps to use `POST /api/auth/login`.
pub async fn login_config() -> impl IntoResponse {
    axum::Json(json!({
        "applicationTitle": "tally",
        "applicationDescription": "DHIS2-compatible aggregate data server",
        "loginPageLayout": "DEFAULT",
        "allowAccountRecovery": false,
        "selfRegistrationEnabled": false,
        "emailConfigured": false,
        "minPasswordLength": 8,
        "maxPasswordLength": 72,
        "apiVersion": crate::api::system::DHIS2_VERSION,
    }))
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct TokenRequest {
    /// Expiry, epoch milliseconds.
    expire: Option<i64>,
}

fn token_json(t: &TokenRecord) -> serde_json::Value {
    let ms = tally_formats::epoch_millis_to_string;
    json!({
        "id": t.id,
        "version": 1,
        "type": "PERSONAL_ACCESS_TOKEN_V1",
        "created": ms(t.created_ms),
        "expire": t.expire_ms,
        "expired": t.expire_ms.map(ms),
    })
}

/// `POST /api/apiToken`: a personal access token for the current user; the key is in
/// the answer once and never again.
pub async fn create_token(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let request: TokenRequest = if body.iter().all(u8::is_ascii_whitespace) {
        TokenRequest::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::bad_request(format!("Invalid token request: {e}")))?
    };
    let app = state.app.clone();
    let (record, key) =
        tokio::task::spawn_blocking(move || app.create_token(&user, request.expire))
            .await
            .map_err(|e| ApiError::internal(&e))??;
    let mut msg = WebMessage::new(201, "OK", "");
    msg.message = None;
    msg.response = Some(json!({
        "responseType": "ApiTokenCreationResponse",
        "uid": record.id,
        "key": key,
    }));
    let mut resp = (StatusCode::CREATED, axum::Json(msg)).into_response();
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(resp)
}

/// `GET /api/apiToken`: the current user's tokens (never their keys).
pub async fn list_tokens(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
) -> impl IntoResponse {
    let tokens: Vec<_> = state.app.tokens_of(&user).iter().map(token_json).collect();
    axum::Json(json!({ "apiToken": tokens }))
}

/// `DELETE /api/apiToken/{id}`: revokes one of the current user's tokens.
pub async fn delete_token(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let missing = || ApiError::not_found(format!("ApiToken with id {id} could not be found."));
    let uid = Uid::parse(&id).map_err(|_| missing())?;
    let app = state.app.clone();
    let revoked = tokio::task::spawn_blocking(move || app.revoke_token(&user, uid))
        .await
        .map_err(|e| ApiError::internal(&e))??;
    if !revoked {
        return Err(missing());
    }
    Ok(axum::Json(WebMessage::<()>::new(
        200,
        "OK",
        format!("Object '{id}' deleted."),
    ))
    .into_response())
}

/// `GET /api/me/authorization`: the current user's authorities.
pub async fn my_authorities(CurrentUser(user): CurrentUser) -> impl IntoResponse {
    axum::Json(user.authorities)
}

/// `GET /api/me/authorization/{authority}`: `true` or `false`.
pub async fn has_authority(
    CurrentUser(user): CurrentUser,
    Path(authority): Path<String>,
) -> impl IntoResponse {
    axum::Json(user.has(&authority))
}
