//! `GET /api/audits/dataValue`: the data value audit trail, filtered and paged, within
//! the user's data view hierarchy.

use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use tally_core::data_value::AuditParams;
use tally_domain::import::AuditType;

use crate::AppState;
use crate::auth::CurrentUser;
use crate::error::ApiError;

use super::data_value_sets::form_pairs;

/// Every value of a list parameter, repeated or comma-separated (Spring's binding).
fn list(pairs: &[(String, String)], name: &str) -> Vec<String> {
    pairs
        .iter()
        .filter(|(k, _)| k == name)
        .flat_map(|(_, v)| v.split(','))
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
        .collect()
}

fn single(pairs: &[(String, String)], name: &str) -> Option<String> {
    pairs
        .iter()
        .find(|(k, v)| k == name && !v.trim().is_empty())
        .map(|(_, v)| v.trim().to_owned())
}

fn flag(pairs: &[(String, String)], name: &str) -> Result<Option<bool>, ApiError> {
    single(pairs, name)
        .map(|v| tally_core::import::options::parse_bool(name, &v).map_err(ApiError::bad_request))
        .transpose()
}

fn number(pairs: &[(String, String)], name: &str, default: u64) -> Result<u64, ApiError> {
    match single(pairs, name) {
        None => Ok(default),
        Some(v) => v
            .parse::<i64>()
            .map(|n| n.max(1).unsigned_abs())
            .map_err(|_| {
                ApiError::bad_request(format!(
                    "Value '{v}' is not valid for parameter {name}. It should be of type int"
                ))
            }),
    }
}

/// `GET /api/audits/dataValue?ds&de&pe&ou&co&cc&auditType&skipPaging&paging&page&pageSize`.
pub async fn data_value_audits(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    req: Request,
) -> Result<Response, ApiError> {
    let pairs = form_pairs(req.uri().query().unwrap_or(""));
    let audit_types = list(&pairs, "auditType")
        .into_iter()
        .map(|t| {
            AuditType::parse(&t.to_ascii_uppercase()).ok_or_else(|| {
                ApiError::bad_request(format!(
                    "Value '{t}' is not valid for parameter auditType: CREATE, UPDATE or DELETE"
                ))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let skip_paging =
        flag(&pairs, "skipPaging")? == Some(true) || flag(&pairs, "paging")? == Some(false);
    let paging = if skip_paging {
        None
    } else {
        Some((number(&pairs, "page", 1)?, number(&pairs, "pageSize", 50)?))
    };
    let params = AuditParams {
        data_sets: list(&pairs, "ds"),
        data_elements: list(&pairs, "de"),
        periods: list(&pairs, "pe"),
        org_units: list(&pairs, "ou"),
        category_option_combo: single(&pairs, "co"),
        attribute_option_combo: single(&pairs, "cc"),
        audit_types,
        paging,
    };
    let app = state.app.clone();
    let page = tokio::task::spawn_blocking(move || app.data_value_audits(&params, &user))
        .await
        .map_err(|e| ApiError::internal(&e))??;
    Ok(axum::Json(page).into_response())
}
