//! `/api/system/info`, `/api/me`, `/api/ping`: what clients probe on connect.

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::AppState;
use crate::auth::CurrentUser;
use crate::error::ApiError;

/// The DHIS2 version tally answers as.
pub const DHIS2_VERSION: &str = "2.41.0";

/// `GET /api/system/info`.
pub async fn system_info(
    State(state): State<AppState>,
    CurrentUser(_user): CurrentUser,
) -> impl IntoResponse {
    let now = state.app.clock().now();
    axum::Json(json!({
        "version": DHIS2_VERSION,
        "revision": env!("CARGO_PKG_VERSION"),
        "buildTime": "",
        "serverTime": now.strftime("%Y-%m-%dT%H:%M:%S%.3f").to_string(),
        "serverTimeZoneId": "Etc/UTC",
        "serverTimeZoneDisplayName": "Coordinated Universal Time",
        "calendar": "iso8601",
        "dateFormat": "yyyy-mm-dd",
        "systemName": "tally",
        "systemId": "tally",
        "databaseInfo": {"name": "tally", "spatialSupport": false},
    }))
}

/// `GET /api/me`.
pub async fn me(CurrentUser(user): CurrentUser) -> impl IntoResponse {
    axum::Json(json!({
        "id": user.uid,
        "username": user.username,
        "name": user.username,
        "authorities": user.authorities,
        "organisationUnits": user.capture_org_units.iter().map(|u| json!({"id": u})).collect::<Vec<_>>(),
        "dataViewOrganisationUnits": user.view_units().iter().map(|u| json!({"id": u})).collect::<Vec<_>>(),
        "settings": {},
    }))
}

/// `GET /api/system/tasks/{jobType}/{id}`: notifications, newest first; `[]` when unknown.
pub async fn task(
    State(state): State<AppState>,
    CurrentUser(_user): CurrentUser,
    Path((job_type, id)): Path<(String, String)>,
) -> Result<impl IntoResponse, ApiError> {
    let list = state
        .app
        .task_notifications(&job_type, &id)?
        .unwrap_or_default();
    Ok(axum::Json(list))
}

/// `GET /api/system/taskSummaries/{jobType}/{id}`: the bare ImportSummary, or an empty
/// body while there is none.
pub async fn task_summary(
    State(state): State<AppState>,
    CurrentUser(_user): CurrentUser,
    Path((job_type, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    Ok(match state.app.task_summary(&job_type, &id)? {
        Some(json) => ([(header::CONTENT_TYPE, "application/json")], json).into_response(),
        None => StatusCode::OK.into_response(),
    })
}

/// `GET /api/ping`: liveness, no authentication (as DHIS2).
pub async fn ping() -> &'static str {
    "pong"
}
