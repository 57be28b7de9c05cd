//! `/api/system/info`, `/api/me`, `/api/ping`: what clients probe on connect.

use axum::extract::State;
use axum::response::IntoResponse;
use serde_json::json;

use crate::AppState;
use crate::auth::CurrentUser;

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

/// `GET /api/ping`: liveness, no authentication (as DHIS2).
pub async fn ping() -> &'static str {
    "pong"
}
