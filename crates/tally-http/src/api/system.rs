//! `/api/system/info`, `/api/me`, `/api/ping`: what clients probe on connect.

use axum::extract::{Path, RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tally_domain::metadata::schemas;
use tally_domain::query::{SelectOptions, parse_fields, select};

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

/// `GET /api/me`. With `fields`, the query engine renders them (nested fields expand
/// org units, roles and groups: `organisationUnits[id,level,path]`); without, the
/// shape clients probe on connect.
pub async fn me(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let record = state.app.users().record_by_id(user.uid).cloned();
    // DHIS2's `name` is "firstName surname" (the username when the user has neither).
    let name = record
        .as_ref()
        .map(|r| format!("{} {}", r.first_name, r.surname).trim().to_owned())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| user.username.clone());
    let base = json!({
        "id": user.uid,
        "username": user.username,
        "name": name,
        "authorities": user.authorities,
        "organisationUnits": user.capture_org_units.iter().map(|u| json!({"id": u})).collect::<Vec<_>>(),
        "dataViewOrganisationUnits": user.view_units().iter().map(|u| json!({"id": u})).collect::<Vec<_>>(),
        "settings": {},
    });
    let pairs = crate::api::data_value_sets::form_pairs(query.as_deref().unwrap_or_default());
    let fields = pairs
        .iter()
        .filter(|(k, _)| k == "fields")
        .map(|(_, v)| v.as_str())
        .collect::<Vec<_>>()
        .join(",");
    if fields.trim().is_empty() {
        return Ok(axum::Json(base).into_response());
    }
    let fields = parse_fields(&fields).map_err(|e| ApiError::bad_request(e.to_string()))?;
    let Value::Object(mut view) = base else {
        return Err(ApiError::internal(&"the /api/me view is not an object"));
    };
    view.insert("displayName".into(), json!(name));
    if let Some(record) = &record {
        let refs = |ids: &[tally_domain::uid::Uid]| {
            Value::Array(ids.iter().map(|id| json!({ "id": id })).collect())
        };
        view.insert("firstName".into(), json!(record.first_name));
        view.insert("surname".into(), json!(record.surname));
        view.insert("userRoles".into(), refs(&record.user_roles));
        view.insert("userGroups".into(), refs(&record.user_groups));
    }
    let catalog = state.app.catalog();
    let selected = select(
        &crate::api::metadata_read::Visible::new(&catalog, &user),
        &schemas::ME,
        &view,
        &fields,
        SelectOptions::default(),
    );
    Ok(axum::Json(Value::Object(selected)).into_response())
}

/// `GET /api/system/tasks/{jobType}/{id}`: notifications, newest first; `[]` when unknown
/// (or submitted by someone else, unless the caller is a superuser).
pub async fn task(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path((job_type, id)): Path<(String, String)>,
) -> Result<impl IntoResponse, ApiError> {
    let list = state
        .app
        .task_notifications(&job_type, &id, &user)?
        .unwrap_or_default();
    Ok(axum::Json(list))
}

/// `GET /api/system/taskSummaries/{jobType}/{id}`: the bare ImportSummary, or an empty
/// body while there is none.
pub async fn task_summary(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path((job_type, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    Ok(match state.app.task_summary(&job_type, &id, &user)? {
        Some(json) => ([(header::CONTENT_TYPE, "application/json")], json).into_response(),
        None => StatusCode::OK.into_response(),
    })
}

/// `GET /api/ping`: liveness, no authentication (as DHIS2).
pub async fn ping() -> &'static str {
    "pong"
}
