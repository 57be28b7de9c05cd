//! `/api/dataValues`: one value at a time (spec §6.1–§6.5).
//!
//! * `POST` takes its fields as query or form parameters (`application/x-www-form-urlencoded`
//!   or `multipart/form-data`, as the DHIS2 web app sends them; query parameters come
//!   first) or as a JSON body (`application/json`, DHIS2's `DataValueDto`).
//! * `GET` answers `["<value>"]`, `DELETE` soft-deletes, `PUT …/followup(s)` sets flags.
//!
//! Versions (tally extension, backwards compatible): every response about a stored value
//! carries `ETag: "<version>"`; a write may send `If-Match: "<version>"` (or the
//! `baseVersion` parameter / JSON field) and is refused with 409 and the current value
//! when the value changed since. `"0"` stands for "there was no value".

use axum::body::Body;
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::Value;
use tally_core::data_value::{FollowUpRequest, SaveRequest, ValueRef, Written};
use tally_core::users::User;

use super::blocking;
use crate::AppState;
use crate::auth::{CurrentUser, require};
use crate::error::ApiError;
use crate::web_message::WebMessage;

use super::data_value_sets::form_pairs;

/// Largest body read for one value (a value and a comment are at most 50,000
/// characters each).
const MAX_BODY: usize = 1 << 20;

/// The `errorCode` of a write refused because its base version is not current.
pub const VERSION_CONFLICT: &str = "VERSION_CONFLICT";

const NO_STORE: &str = "no-cache, no-store, max-age=0, must-revalidate";

/// Request parameters, first occurrence wins (query before form, as servlet
/// containers list them).
struct Params(Vec<(String, String)>);

impl Params {
    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn owned(&self, name: &str) -> Option<String> {
        self.get(name).map(str::to_owned)
    }

    /// Spring's `Boolean` binding: empty is null, otherwise true/false/on/off/yes/no/1/0.
    fn flag(&self, name: &str) -> Result<Option<bool>, ApiError> {
        match self.get(name).map(str::trim) {
            None | Some("") => Ok(None),
            Some(v) => tally_core::import::options::parse_bool(name, v)
                .map(Some)
                .map_err(ApiError::bad_request),
        }
    }

    fn target(&self) -> ValueRef {
        ValueRef {
            data_element: self.owned("de"),
            period: self.owned("pe"),
            org_unit: self.owned("ou"),
            category_option_combo: self.owned("co"),
            attribute_combo: self.owned("cc"),
            attribute_options: self
                .get("cp")
                .map(|cp| cp.split(';').map(str::to_owned).collect()),
            attribute_option_combo: None,
            data_set: self.owned("ds"),
        }
    }
}

fn query_params(req: &Request) -> Vec<(String, String)> {
    form_pairs(req.uri().query().unwrap_or(""))
}

fn mime(headers: &HeaderMap) -> String {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

async fn body_bytes(body: Body) -> Result<bytes::Bytes, ApiError> {
    axum::body::to_bytes(body, MAX_BODY).await.map_err(|e| {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("The request body could not be read: {e}"),
        )
    })
}

/// The version a write is based on: `If-Match` (`"12"`, `W/"12"` or `12`; `*` means
/// none), else the `baseVersion` parameter.
fn base_version(headers: &HeaderMap, param: Option<&str>) -> Result<Option<i64>, ApiError> {
    let parse = |text: &str, what: &str| -> Result<i64, ApiError> {
        let t = text.trim();
        let t = t.strip_prefix("W/").unwrap_or(t);
        let t = t.trim_matches('"');
        t.parse::<i64>().ok().filter(|v| *v >= 0).ok_or_else(|| {
            ApiError::bad_request(format!(
                "{what} must be one data value version, e.g. \"12\" (\"0\": no value): {text}"
            ))
        })
    };
    if let Some(h) = headers.get(header::IF_MATCH) {
        let text = h
            .to_str()
            .map_err(|_| ApiError::bad_request("If-Match is not readable text"))?;
        if text.trim() == "*" {
            return Ok(None);
        }
        return parse(text, "If-Match").map(Some);
    }
    match param.map(str::trim).filter(|p| !p.is_empty()) {
        Some(p) => parse(p, "baseVersion").map(Some),
        None => Ok(None),
    }
}

fn etag(version: i64) -> HeaderValue {
    HeaderValue::from_str(&format!("\"{version}\"")).unwrap_or(HeaderValue::from_static("\"0\""))
}

fn with_etag(status: StatusCode, version: i64) -> Response {
    let mut resp = status.into_response();
    resp.headers_mut().insert(header::ETAG, etag(version));
    resp
}

/// The answer to a write: `status` with the new `ETag`, or the 409 of a stale base.
fn written(result: Written, status: StatusCode) -> Response {
    match result {
        Written::Done { version, .. } => with_etag(status, version),
        Written::Stale(current) => {
            let mut msg: WebMessage<&tally_core::data_value::CurrentValue> = WebMessage::new(
                409,
                "ERROR",
                format!(
                    "Data value was changed after version {}: the current version is {}",
                    current.base_version, current.version
                ),
            );
            msg.error_code = Some(VERSION_CONFLICT.to_owned());
            msg.response = Some(&current);
            let mut resp = (StatusCode::CONFLICT, axum::Json(msg)).into_response();
            let h = resp.headers_mut();
            h.insert(header::ETAG, etag(current.version));
            h.insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("no-cache, private"),
            );
            resp
        }
    }
}

/// A JSON scalar as Jackson binds it to a `String` field.
fn text(v: Option<Value>, field: &str) -> Result<Option<String>, ApiError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(Value::Bool(b)) => Ok(Some(b.to_string())),
        Some(_) => Err(ApiError::bad_request(format!(
            "JSON field `{field}` must be a string"
        ))),
    }
}

/// A JSON boolean as Jackson binds it to a `Boolean` field (strings coerced).
fn boolean(v: Option<Value>, field: &str) -> Result<Option<bool>, ApiError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(b)),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => tally_core::import::options::parse_bool(field, &s)
            .map(Some)
            .map_err(ApiError::bad_request),
        Some(_) => Err(ApiError::bad_request(format!(
            "JSON field `{field}` must be a boolean"
        ))),
    }
}

fn version_field(v: Option<Value>) -> Result<Option<String>, ApiError> {
    text(v, "baseVersion")
}

/// `attribute: {combo, options}` of the JSON bodies.
#[derive(Debug, Default, Deserialize)]
struct AttributeDto {
    combo: Option<Value>,
    options: Option<Vec<Value>>,
}

impl AttributeDto {
    fn into_parts(self) -> Result<(Option<String>, Option<Vec<String>>), ApiError> {
        let combo = text(self.combo, "attribute.combo")?;
        let options = match self.options {
            None => None,
            Some(list) => Some(
                list.into_iter()
                    .map(|o| text(Some(o), "attribute.options").map(Option::unwrap_or_default))
                    .collect::<Result<Vec<_>, _>>()?,
            ),
        };
        Ok((combo, options))
    }
}

/// DHIS2's `DataValueDto` (`storedBy`, `created`, `lastUpdated` are ignored), plus
/// tally's `baseVersion`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DataValueDto {
    data_element: Option<Value>,
    period: Option<Value>,
    org_unit: Option<Value>,
    category_option_combo: Option<Value>,
    attribute: Option<AttributeDto>,
    data_set: Option<Value>,
    value: Option<Value>,
    comment: Option<Value>,
    follow_up: Option<Value>,
    force: Option<Value>,
    base_version: Option<Value>,
}

impl DataValueDto {
    fn into_request(self, headers: &HeaderMap) -> Result<SaveRequest, ApiError> {
        let (attribute_combo, attribute_options) =
            self.attribute.unwrap_or_default().into_parts()?;
        let base = version_field(self.base_version)?;
        Ok(SaveRequest {
            target: ValueRef {
                data_element: text(self.data_element, "dataElement")?,
                period: text(self.period, "period")?,
                org_unit: text(self.org_unit, "orgUnit")?,
                category_option_combo: text(self.category_option_combo, "categoryOptionCombo")?,
                attribute_combo,
                attribute_options,
                attribute_option_combo: None,
                data_set: text(self.data_set, "dataSet")?,
            },
            value: text(self.value, "value")?,
            comment: text(self.comment, "comment")?,
            follow_up: boolean(self.follow_up, "followUp")?,
            force: boolean(self.force, "force")?.unwrap_or(false),
            base_version: base_version(headers, base.as_deref())?,
        })
    }
}

fn json<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(bytes)
        .map_err(|e| ApiError::bad_request(format!("The JSON body could not be read: {e}")))
}

/// The text fields of a multipart body (file parts are skipped).
async fn multipart_pairs(
    req: Request,
    state: &AppState,
) -> Result<Vec<(String, String)>, ApiError> {
    let mut multipart = Multipart::from_request(req, state)
        .await
        .map_err(|e| ApiError::bad_request(e.body_text()))?;
    let mut pairs = Vec::new();
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|e| ApiError::bad_request(e.body_text()))?
    {
        if field.file_name().is_some() {
            continue;
        }
        let Some(name) = field.name().map(str::to_owned) else {
            continue;
        };
        let value = field
            .text()
            .await
            .map_err(|e| ApiError::bad_request(e.body_text()))?;
        pairs.push((name, value));
    }
    Ok(pairs)
}

/// The save request of a `POST`, from whichever shape the client used.
async fn save_request(req: Request, state: &AppState) -> Result<SaveRequest, ApiError> {
    let headers = req.headers().clone();
    let mut pairs = query_params(&req);
    match mime(&headers).as_str() {
        "application/json" => {
            let bytes = body_bytes(req.into_body()).await?;
            // A JSON content type with an empty body and the fields in the query string
            // (some HTTP clients set the type by default) is the parameter form.
            if !bytes.iter().all(u8::is_ascii_whitespace) {
                let dto: Option<DataValueDto> = json(&bytes)?;
                return dto.unwrap_or_default().into_request(&headers);
            }
        }
        "application/x-www-form-urlencoded" => {
            let bytes = body_bytes(req.into_body()).await?;
            pairs.extend(form_pairs(&String::from_utf8_lossy(&bytes)));
        }
        "multipart/form-data" => pairs.extend(multipart_pairs(req, state).await?),
        _ => {}
    }
    let p = Params(pairs);
    let missing: Vec<&str> = ["de", "pe", "ou"]
        .into_iter()
        .filter(|name| p.get(name).is_none())
        .collect();
    if !missing.is_empty() {
        return Err(ApiError::bad_request(format!(
            "Parameter conditions \"de, pe, ou\" not met for actual request parameters: missing {}",
            missing.join(", ")
        )));
    }
    Ok(SaveRequest {
        target: p.target(),
        value: p.owned("value"),
        comment: p.owned("comment"),
        follow_up: p.flag("followUp")?,
        force: p.flag("force")?.unwrap_or(false),
        base_version: base_version(&headers, p.get("baseVersion"))?,
    })
}

/// `POST /api/dataValues`: 201 with an empty body and the new `ETag`.
pub async fn save_data_value(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    req: Request,
) -> Result<Response, ApiError> {
    require(&user, "F_DATAVALUE_ADD")?;
    let request = save_request(req, &state).await?;
    let app = state.app.clone();
    let result = blocking(move || app.save_data_value(&request, &user)).await?;
    Ok(written(result, StatusCode::CREATED))
}

/// `GET /api/dataValues`: `["<value>"]` with the `ETag` of the stored version.
pub async fn get_data_value(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    req: Request,
) -> Result<Response, ApiError> {
    let target = Params(query_params(&req)).target();
    let app = state.app.clone();
    let read = blocking(move || app.data_value(&target, &user)).await?;
    let mut resp = axum::Json([read.value]).into_response();
    let h = resp.headers_mut();
    h.insert(header::ETAG, etag(read.version));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(NO_STORE));
    Ok(resp)
}

/// `DELETE /api/dataValues`: 204 and the `ETag` of the deleted row.
pub async fn delete_data_value(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    req: Request,
) -> Result<Response, ApiError> {
    require(&user, "F_DATAVALUE_ADD")?;
    let p = Params(query_params(&req));
    let target = p.target();
    // Bound as DHIS2 binds it (400 when not a boolean); see `App::delete_data_value`.
    p.flag("force")?;
    let base = base_version(req.headers(), p.get("baseVersion"))?;
    let app = state.app.clone();
    let result = blocking(move || app.delete_data_value(&target, base, &user)).await?;
    Ok(written(result, StatusCode::NO_CONTENT))
}

/// One follow-up item (`DataValueFollowUpRequest`: note `followup`, lower case).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct FollowUpDto {
    data_element: Option<Value>,
    period: Option<Value>,
    org_unit: Option<Value>,
    category_option_combo: Option<Value>,
    attribute_option_combo: Option<Value>,
    attribute: Option<AttributeDto>,
    followup: Option<Value>,
}

impl FollowUpDto {
    fn into_request(self) -> Result<FollowUpRequest, ApiError> {
        let (attribute_combo, attribute_options) =
            self.attribute.unwrap_or_default().into_parts()?;
        Ok(FollowUpRequest {
            target: ValueRef {
                data_element: text(self.data_element, "dataElement")?,
                period: text(self.period, "period")?,
                org_unit: text(self.org_unit, "orgUnit")?,
                category_option_combo: text(self.category_option_combo, "categoryOptionCombo")?,
                attribute_combo,
                attribute_options,
                attribute_option_combo: text(self.attribute_option_combo, "attributeOptionCombo")?,
                data_set: None,
            },
            followup: boolean(self.followup, "followup")?,
        })
    }
}

#[derive(Debug, Default, Deserialize)]
struct FollowUpsDto {
    values: Option<Vec<FollowUpDto>>,
}

async fn follow_ups(
    state: AppState,
    user: User,
    items: Vec<FollowUpRequest>,
) -> Result<Response, ApiError> {
    let app = state.app.clone();
    blocking(move || app.set_follow_ups(&items, &user)).await?;
    Ok(StatusCode::OK.into_response())
}

/// `PUT /api/dataValues/followup`: sets one flag (200, empty body).
pub async fn put_follow_up(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    req: Request,
) -> Result<Response, ApiError> {
    let bytes = body_bytes(req.into_body()).await?;
    let item: Option<FollowUpDto> = if bytes.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        json(&bytes)?
    };
    let item = match item {
        Some(dto) => dto.into_request()?,
        // A null body: E2033, as a missing flag.
        None => FollowUpRequest::default(),
    };
    follow_ups(state, user, vec![item]).await
}

/// `PUT /api/dataValues/followups`: sets many flags, all or nothing (200, empty body).
pub async fn put_follow_ups(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    req: Request,
) -> Result<Response, ApiError> {
    let bytes = body_bytes(req.into_body()).await?;
    let dto: Option<FollowUpsDto> = if bytes.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        json(&bytes)?
    };
    let items = dto
        .and_then(|d| d.values)
        .unwrap_or_default()
        .into_iter()
        .map(FollowUpDto::into_request)
        .collect::<Result<Vec<_>, _>>()?;
    // An empty list is E2033 (checked by the core).
    follow_ups(state, user, items).await
}

/// `POST /api/dataValues/file` (multipart `file`, the value's parameters in the query or
/// as text parts): the upload becomes a `DATA_VALUE` file resource and the value;
/// 202 with the resource, or without `response` when no file was sent (the value is
/// cleared).
pub async fn save_file_value(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    req: Request,
) -> Result<Response, ApiError> {
    require(&user, "F_DATAVALUE_ADD")?;
    let headers = req.headers().clone();
    let (pairs, upload) = super::file_resources::read_upload(req, &state).await?;
    let p = Params(pairs);
    let request = SaveRequest {
        target: p.target(),
        value: None,
        comment: p.owned("comment"),
        follow_up: p.flag("followUp")?,
        force: p.flag("force")?.unwrap_or(false),
        base_version: base_version(&headers, p.get("baseVersion"))?,
    };
    let app = state.app.clone();
    let (result, resource) =
        blocking(move || app.save_file_value(&request, upload.as_ref(), &user)).await?;
    match result {
        Written::Done { version, .. } => {
            let mut resp = super::file_resources::accepted(resource.as_ref());
            resp.headers_mut().insert(header::ETAG, etag(version));
            Ok(resp)
        }
        stale @ Written::Stale(_) => Ok(written(stale, StatusCode::ACCEPTED)),
    }
}

/// `GET /api/dataValues/files`: the content of a file value (`dimension` is accepted;
/// images are served as uploaded).
pub async fn get_data_value_file(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    req: Request,
) -> Result<Response, ApiError> {
    let target = Params(query_params(&req)).target();
    let app = state.app.clone();
    let content = blocking(move || app.data_value_file(&target, &user)).await?;
    super::file_resources::content_response(content).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_versions_from_if_match_or_the_parameter() {
        let mut h = HeaderMap::new();
        assert_eq!(base_version(&h, None).unwrap(), None);
        assert_eq!(base_version(&h, Some("7")).unwrap(), Some(7));
        assert_eq!(base_version(&h, Some(" ")).unwrap(), None);
        assert!(base_version(&h, Some("x")).is_err());
        for (text, want) in [
            ("\"12\"", Some(12)),
            ("W/\"3\"", Some(3)),
            ("5", Some(5)),
            ("*", None),
        ] {
            h.insert(header::IF_MATCH, HeaderValue::from_static(text));
            assert_eq!(base_version(&h, Some("99")).unwrap(), want, "{text}");
        }
        h.insert(header::IF_MATCH, HeaderValue::from_static("\"1\", \"2\""));
        assert!(base_version(&h, None).is_err());
        h.insert(header::IF_MATCH, HeaderValue::from_static("\"-1\""));
        assert!(base_version(&h, None).is_err());
    }

    #[test]
    fn json_scalars_bind_like_jackson() {
        assert_eq!(
            text(Some(serde_json::json!(15)), "v").unwrap(),
            Some("15".into())
        );
        assert_eq!(text(Some(Value::Null), "v").unwrap(), None);
        assert!(text(Some(serde_json::json!([1])), "v").is_err());
        assert_eq!(
            boolean(Some(serde_json::json!("true")), "f").unwrap(),
            Some(true)
        );
        assert!(boolean(Some(serde_json::json!(1)), "f").is_err());
    }
}
