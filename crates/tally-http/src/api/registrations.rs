//! `GET/POST/DELETE /api/completeDataSetRegistrations` and
//! `POST /api/dataEntry/dataSetCompletion`.

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tally_core::data_value::attribute_option_combo;
use tally_core::registrations::{RegistrationInput, RegistrationQuery};
use tally_domain::metadata::{CategoryOptionComboId, LookupScheme};

use crate::AppState;
use crate::api::data_value_sets::{form_pairs, summary_response};
use crate::auth::CurrentUser;
use crate::error::ApiError;
use crate::path::ApiPath;

const BODY_LIMIT: usize = 16 << 20;

fn conflict(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::CONFLICT, message)
}

async fn json_body<T: serde::de::DeserializeOwned>(req: Request) -> Result<T, ApiError> {
    let bytes = axum::body::to_bytes(req.into_body(), BODY_LIMIT)
        .await
        .map_err(|_| ApiError::bad_request("The request body is too large"))?;
    serde_json::from_slice(&bytes).map_err(|e| ApiError::bad_request(format!("Invalid JSON: {e}")))
}

/// The attribute option combo of `cc` + `cp` (options separated by `;`), through the
/// core's resolver shared with `/api/dataValues`.
fn attribute_combo(
    state: &AppState,
    cc: Option<&str>,
    cp: Option<&str>,
) -> Result<Option<CategoryOptionComboId>, ApiError> {
    let options: Vec<&str> = cp.map(|p| p.split(';').collect()).unwrap_or_default();
    Ok(attribute_option_combo(&state.app.snapshot(), cc, &options)?)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RegistrationsBody {
    #[serde(default)]
    complete_data_set_registrations: Option<Vec<RegistrationInput>>,
}

/// `POST /api/completeDataSetRegistrations` (JSON): an ImportSummary as for data values.
pub async fn import(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    req: Request,
) -> Result<Response, ApiError> {
    crate::auth::require(&user, "F_DATAVALUE_ADD")?;
    let path = req
        .extensions()
        .get::<ApiPath>()
        .copied()
        .unwrap_or_default();
    let body: RegistrationsBody = json_body(req).await?;
    let Some(items) = body.complete_data_set_registrations else {
        return Err(conflict(
            "The body must hold a completeDataSetRegistrations array",
        ));
    };
    let app = state.app.clone();
    let summary = tokio::task::spawn_blocking(move || app.import_registrations(&user, &items))
        .await
        .map_err(|e| ApiError::internal(&e))??;
    Ok(summary_response(&summary, &path, false))
}

/// `GET /api/completeDataSetRegistrations?dataSet&period|startDate&endDate&orgUnit[&children]`:
/// `{"completeDataSetRegistrations":[…]}`, or `{}` when there are none (as DHIS2).
pub async fn list(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    req: Request,
) -> Result<Response, ApiError> {
    let mut q = RegistrationQuery::default();
    for (k, v) in form_pairs(req.uri().query().unwrap_or("")) {
        let many = || {
            v.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        match k.as_str() {
            "dataSet" => q.data_sets.extend(many()),
            "period" => q.periods.extend(many()),
            "orgUnit" => q.org_units.extend(many()),
            "children" => q.children = v.eq_ignore_ascii_case("true"),
            "startDate" | "endDate" => {
                let date = v
                    .get(..10)
                    .and_then(|d| d.parse().ok())
                    .ok_or_else(|| conflict(format!("Invalid date: {v}")))?;
                if k == "startDate" {
                    q.start_date = Some(date);
                } else {
                    q.end_date = Some(date);
                }
            }
            _ => {}
        }
    }
    let app = state.app.clone();
    let rows = tokio::task::spawn_blocking(move || app.registrations(&user, &q))
        .await
        .map_err(|e| ApiError::internal(&e))??;
    if rows.is_empty() {
        return Ok(axum::Json(serde_json::json!({})).into_response());
    }
    Ok(axum::Json(serde_json::json!({ "completeDataSetRegistrations": rows })).into_response())
}

/// `DELETE /api/completeDataSetRegistrations?ds&pe&ou[&cc&cp][&multiOu]`: un-completes
/// (with `multiOu=true`, also for the org unit's children). 204.
pub async fn delete(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    req: Request,
) -> Result<Response, ApiError> {
    crate::auth::require(&user, "F_DATAVALUE_ADD")?;
    let pairs = form_pairs(req.uri().query().unwrap_or(""));
    let get = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let (Some(ds), Some(pe), Some(ou)) = (get("ds"), get("pe"), get("ou")) else {
        return Err(conflict("Parameters ds, pe and ou are required"));
    };
    let aoc = attribute_combo(&state, get("cc"), get("cp"))?;
    let multi = get("multiOu").is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let (ds, pe, ou) = (ds.to_owned(), pe.to_owned(), ou.to_owned());
    let app = state.app.clone();
    tokio::task::spawn_blocking(move || {
        let snap = app.snapshot();
        let mut units = vec![ou.clone()];
        if multi && let Some(id) = snap.org_unit_id(LookupScheme::Uid, &ou) {
            units.extend(
                snap.org_unit_children(id)
                    .iter()
                    .filter_map(|c| {
                        snap.identifier(
                            tally_domain::metadata::ObjectKind::OrganisationUnit,
                            c.0,
                            LookupScheme::Uid,
                        )
                    })
                    .map(|s| s.to_string()),
            );
        }
        for unit in units {
            let key = app
                .registration_key(&user, &ds, &pe, &unit, aoc)
                .map_err(|(_, m)| conflict(m))?;
            app.delete_registration(key)?;
        }
        Ok::<_, ApiError>(())
    })
    .await
    .map_err(|e| ApiError::internal(&e))??;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CompletionBody {
    data_set: String,
    period: String,
    org_unit: String,
    #[serde(default)]
    attribute: Option<AttributeBody>,
    #[serde(default)]
    completed: Option<bool>,
}

#[derive(Deserialize)]
struct AttributeBody {
    combo: Option<String>,
    #[serde(default)]
    options: Vec<String>,
}

/// `POST /api/dataEntry/dataSetCompletion`: completes (or with `completed: false`
/// un-completes) one form. 200 with an empty body.
pub async fn data_set_completion(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    req: Request,
) -> Result<Response, ApiError> {
    crate::auth::require(&user, "F_DATAVALUE_ADD")?;
    let body: CompletionBody = json_body(req).await?;
    let aoc = match &body.attribute {
        Some(a) if a.combo.is_some() || !a.options.is_empty() => {
            let options = a.options.join(";");
            attribute_combo(&state, a.combo.as_deref(), Some(&options))?
        }
        _ => None,
    };
    let app = state.app.clone();
    tokio::task::spawn_blocking(move || {
        let key = app
            .registration_key(&user, &body.data_set, &body.period, &body.org_unit, aoc)
            .map_err(|(_, m)| conflict(m))?;
        let completed = body.completed.unwrap_or(true);
        if completed {
            app.check_compulsory(key)?;
        }
        app.write_registration(&user, key, completed, None)?;
        Ok::<_, ApiError>(())
    })
    .await
    .map_err(|e| ApiError::internal(&e))??;
    Ok(StatusCode::OK.into_response())
}
