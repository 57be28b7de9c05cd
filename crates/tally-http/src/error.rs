//! The one HTTP error type: every failure becomes a DHIS2 WebMessage.
//!
//! Handlers return `Result<_, ApiError>` and use `?`. Server-side failures are logged
//! here with their cause and answered with a generic message.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tally_domain::import::ErrorCode;

use crate::web_message::WebMessage;

/// An error answered as a WebMessage with `status: ERROR`.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
    pub error_code: Option<ErrorCode>,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            error_code: None,
        }
    }

    /// 409 with a DHIS2 error code and its formatted message.
    pub fn conflict(code: ErrorCode, args: &[&str]) -> Self {
        Self {
            status: StatusCode::CONFLICT,
            message: code.message(args),
            error_code: Some(code),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, message)
    }

    pub fn unsupported_media_type(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, message)
    }

    /// A server-side failure: logged with its cause, answered generically.
    pub fn internal(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "request failed");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "An internal error occurred, see the server log",
        )
    }
}

impl From<tally_core::CoreError> for ApiError {
    fn from(e: tally_core::CoreError) -> Self {
        use tally_core::CoreError as E;
        match e {
            E::BadRequest(m) => Self::bad_request(m),
            E::Forbidden(m) => Self::forbidden(m),
            E::NotFound(m) => Self::not_found(m),
            E::Conflict { code, message } => Self {
                status: StatusCode::CONFLICT,
                message,
                error_code: code,
            },
            other => Self::internal(&other),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let code = self.status.as_u16();
        let mut msg: WebMessage = WebMessage::new(code, "ERROR", self.message);
        msg.error_code = self.error_code.map(|c| c.code().to_owned());
        let mut resp = (self.status, axum::Json(msg)).into_response();
        resp.headers_mut().insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-cache, private"),
        );
        if code == 401 {
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(r#"Basic realm="DHIS2""#),
            );
        }
        resp
    }
}
