//! `POST /api/metadata`: DHIS2 metadata import (create and update by UID).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use tally_domain::metadata::ReportStatus;

use crate::AppState;
use crate::auth::CurrentUser;
use crate::error::ApiError;
use crate::web_message::WebMessage;

/// Imports a metadata document; answers DHIS2's WebMessage with the import report.
pub async fn import_metadata(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    body: String,
) -> Result<Response, ApiError> {
    crate::auth::require(&user, "F_METADATA_IMPORT")?;
    let app = state.app.clone();
    let report = tokio::task::spawn_blocking(move || app.import_metadata_as(&body, &user))
        .await
        .map_err(|e| ApiError::internal(&e))??;
    let (code, status) = match report.status {
        ReportStatus::Error => (409, "ERROR"),
        ReportStatus::Warning => (200, "WARNING"),
        ReportStatus::Ok => (200, "OK"),
    };
    let mut msg = WebMessage::new(
        code,
        status,
        if code == 409 {
            "One or more errors occurred, please see full details in import report."
        } else {
            "Import was successful."
        },
    );
    msg.message = (code == 409).then(|| msg.message.take()).flatten();
    msg.response = Some(report);
    Ok((
        StatusCode::from_u16(code).unwrap_or(StatusCode::OK),
        axum::Json(msg),
    )
        .into_response())
}
