//! `/api/dataEntry/*` (the DHIS2 aggregate data entry app's API), `/api/lockExceptions`
//! and `GET /api/dataSets/{id}/dataValueSet` (the template). The rules live in
//! `tally_core::data_entry`; this module reads parameters and writes the shapes.

use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tally_core::data_entry::{MinMaxInput, TemplateLine, TemplateParams};

use crate::AppState;
use crate::auth::{CurrentUser, require};
use crate::error::ApiError;
use crate::path::{ApiPath, Extension};
use crate::web_message::WebMessage;

use super::data_value_sets::form_pairs;

const MAX_BODY: usize = 1 << 20;

/// Query parameters, first occurrence wins.
struct Query(Vec<(String, String)>);

impl Query {
    fn of(req: &Request) -> Self {
        Self(form_pairs(req.uri().query().unwrap_or("")))
    }

    fn get(&self, name: &str) -> Option<String> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    }

    fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .flat_map(|(_, v)| v.split(','))
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
            .collect()
    }
}

/// [`super::blocking`] for closures that answer with API errors (`Ok(x?)` keeps their
/// error type open otherwise).
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    super::blocking(f).await
}

fn no_store(mut resp: Response) -> Response {
    resp.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache, private"),
    );
    resp
}

/// Whether `If-None-Match` names `tag` (any of a list, weak or strong, or `*`).
fn matches(headers: &HeaderMap, tag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .any(|t| t == "*" || t.strip_prefix("W/").unwrap_or(t).trim_matches('"') == tag)
}

/// `GET /api/dataEntry/metadata`: the metadata bundle, with an `ETag`; a matching
/// `If-None-Match` is a 304 without a body.
pub async fn metadata(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let app = state.app.clone();
    let (body, tag) = blocking(move || Ok(app.data_entry_metadata_tagged(&user)?)).await?;
    let etag = HeaderValue::from_str(&format!("\"{tag}\"")).map_err(|e| ApiError::internal(&e))?;
    let mut resp = if matches(&headers, &tag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut r = Response::new(Body::from(body));
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        r
    };
    resp.headers_mut().insert(header::ETAG, etag);
    resp.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache, private"),
    );
    Ok(resp)
}

/// `GET /api/dataEntry/dataValues?ds&pe&ou[&cc&cp]`.
pub async fn data_values(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    req: Request,
) -> Result<Response, ApiError> {
    let q = Query::of(&req);
    let app = state.app.clone();
    let form = blocking(move || {
        Ok(app.form_values(
            &user,
            q.get("ds").as_deref(),
            q.get("pe").as_deref(),
            q.get("ou").as_deref(),
            q.get("cc").as_deref(),
            q.get("cp").as_deref(),
        )?)
    })
    .await?;
    Ok(no_store(axum::Json(form).into_response()))
}

/// `GET /api/dataEntry/dataValueContext?de&pe&ou&co[&cc&cp]`.
pub async fn data_value_context(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    req: Request,
) -> Result<Response, ApiError> {
    let q = Query::of(&req);
    let app = state.app.clone();
    let context = blocking(move || {
        Ok(app.value_context(
            &user,
            q.get("de").as_deref(),
            q.get("pe").as_deref(),
            q.get("ou").as_deref(),
            q.get("co").as_deref(),
            q.get("cc").as_deref(),
            q.get("cp").as_deref(),
        )?)
    })
    .await?;
    Ok(no_store(axum::Json(context).into_response()))
}

/// `GET /api/dataEntry/lockExceptions`.
pub async fn lock_exceptions(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
) -> Result<Response, ApiError> {
    let app = state.app.clone();
    let list = blocking(move || Ok(app.lock_exception_views(&user)?)).await?;
    #[derive(serde::Serialize)]
    #[serde(rename_all = "camelCase")]
    struct List {
        lock_exceptions: Vec<tally_core::data_entry::LockExceptionView>,
    }
    Ok(no_store(
        axum::Json(List {
            lock_exceptions: list,
        })
        .into_response(),
    ))
}

/// `POST /api/lockExceptions?ou&pe&ds`: 201 WebMessage. Needs `F_DATASET_PUBLIC_ADD`
/// (DHIS2 asks for write sharing on the data set, which tally does not model).
pub async fn add_lock_exception(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    req: Request,
) -> Result<Response, ApiError> {
    require(&user, "F_DATASET_PUBLIC_ADD")?;
    let q = Query::of(&req);
    let app = state.app.clone();
    blocking(move || {
        Ok(app.add_lock_exceptions(
            &user,
            q.get("ds").as_deref(),
            q.get("pe").as_deref(),
            q.get("ou").as_deref(),
        )?)
    })
    .await?;
    let msg: WebMessage = WebMessage::new(201, "OK", "LockException created successfully.");
    Ok((StatusCode::CREATED, axum::Json(msg)).into_response())
}

/// `DELETE /api/lockExceptions?ds&pe[&ou]`: 204. Needs `F_DATASET_PUBLIC_ADD`.
pub async fn delete_lock_exception(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    req: Request,
) -> Result<Response, ApiError> {
    require(&user, "F_DATASET_PUBLIC_ADD")?;
    let q = Query::of(&req);
    let app = state.app.clone();
    blocking(move || {
        Ok(app.delete_lock_exceptions(
            q.get("ds").as_deref(),
            q.get("pe").as_deref(),
            q.get("ou").as_deref(),
        )?)
    })
    .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn min_max_body(req: Request) -> Result<MinMaxInput, ApiError> {
    let bytes = axum::body::to_bytes(req.into_body(), MAX_BODY)
        .await
        .map_err(|_| ApiError::bad_request("The request body is too large"))?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(MinMaxInput::default());
    }
    serde_json::from_slice(&bytes).map_err(|e| ApiError::bad_request(format!("Invalid JSON: {e}")))
}

/// `POST /api/dataEntry/minMaxValues` (JSON): 200, empty body. Needs
/// `F_MINMAX_DATAELEMENT_ADD`.
pub async fn save_min_max(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    req: Request,
) -> Result<Response, ApiError> {
    require(&user, "F_MINMAX_DATAELEMENT_ADD")?;
    let input = min_max_body(req).await?;
    let app = state.app.clone();
    blocking(move || Ok(app.save_min_max(&user, &input)?)).await?;
    Ok(StatusCode::OK.into_response())
}

/// `DELETE /api/dataEntry/minMaxValues?de&ou&co` (or the key as a JSON body): 204.
/// Needs `F_MINMAX_DATAELEMENT_ADD`.
pub async fn delete_min_max(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    req: Request,
) -> Result<Response, ApiError> {
    require(&user, "F_MINMAX_DATAELEMENT_ADD")?;
    let q = Query::of(&req);
    let mut input = min_max_body(req).await?;
    input.data_element = q.get("de").or(input.data_element);
    input.org_unit = q.get("ou").or(input.org_unit);
    input.category_option_combo = q.get("co").or(input.category_option_combo);
    let app = state.app.clone();
    blocking(move || Ok(app.delete_min_max(&user, &input)?)).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /api/dataEntry/customForms/{id}`.
pub async fn custom_form(
    State(state): State<AppState>,
    CurrentUser(_user): CurrentUser,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let app = state.app.clone();
    let form = blocking(move || Ok(app.custom_form(&id)?)).await?;
    Ok(axum::Json(form).into_response())
}

/// One empty value of the JSON template, keys in DHIS2's order.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct TemplateValue<'a> {
    data_element: &'a str,
    category_option_combo: &'a str,
    period: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    org_unit: Option<&'a str>,
    value: &'a str,
}

fn xml_escape(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
}

/// `GET /api/dataSets/{id}/dataValueSet[.json|.xml]?period&orgUnit&comment&orgUnitIdScheme&dataElementIdScheme`:
/// an empty data value set to fill in (spec §7). XML unless JSON is asked for (by
/// extension or `Accept`).
pub async fn data_value_set_template(
    State(state): State<AppState>,
    CurrentUser(_user): CurrentUser,
    Path(id): Path<String>,
    req: Request,
) -> Result<Response, ApiError> {
    let path = req
        .extensions()
        .get::<ApiPath>()
        .copied()
        .unwrap_or_default();
    let json = match path.extension {
        Some(Extension::Json) => true,
        Some(_) => false,
        None => req
            .headers()
            .get(header::ACCEPT)
            .and_then(|a| a.to_str().ok())
            .is_some_and(|a| a.contains("json")),
    };
    let q = Query::of(&req);
    let code = |name: &str| q.get(name).is_some_and(|s| s.eq_ignore_ascii_case("CODE"));
    let params = TemplateParams {
        period: q.get("period"),
        org_units: q.all("orgUnit"),
        comment: q
            .get("comment")
            .is_none_or(|c| !c.eq_ignore_ascii_case("false")),
        org_unit_code: code("orgUnitIdScheme"),
        data_element_code: code("dataElementIdScheme"),
    };
    let app = state.app.clone();
    let lines = blocking(move || Ok(app.data_value_set_template(&id, &params)?)).await?;
    if json {
        let values: Vec<TemplateValue<'_>> = lines
            .iter()
            .filter_map(|l| match l {
                TemplateLine::Comment(_) => None,
                TemplateLine::Value {
                    data_element,
                    category_option_combo,
                    period,
                    org_unit,
                } => Some(TemplateValue {
                    data_element,
                    category_option_combo,
                    period,
                    org_unit: org_unit.as_deref(),
                    value: "",
                }),
            })
            .collect();
        #[derive(serde::Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Template<'a> {
            data_values: Vec<TemplateValue<'a>>,
        }
        return Ok(axum::Json(Template {
            data_values: values,
        })
        .into_response());
    }
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<dataValueSet xmlns=\"http://dhis2.org/schema/dxf/2.0\">\n",
    );
    for l in &lines {
        match l {
            TemplateLine::Comment(c) => {
                out.push_str("  <!-- ");
                out.push_str(&c.replace("--", "- -"));
                out.push_str(" -->\n");
            }
            TemplateLine::Value {
                data_element,
                category_option_combo,
                period,
                org_unit,
            } => {
                out.push_str("  <dataValue dataElement=\"");
                xml_escape(&mut out, data_element);
                out.push_str("\" categoryOptionCombo=\"");
                xml_escape(&mut out, category_option_combo);
                out.push_str("\" period=\"");
                xml_escape(&mut out, period);
                out.push('"');
                if let Some(ou) = org_unit {
                    out.push_str(" orgUnit=\"");
                    xml_escape(&mut out, ou);
                    out.push('"');
                }
                out.push_str(" value=\"\"/>\n");
            }
        }
    }
    out.push_str("</dataValueSet>\n");
    let mut resp = Response::new(Body::from(out));
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/xml"),
    );
    Ok(resp)
}
