//! `/api/fileResources` (spec §6.6): upload (multipart `file`), metadata, content; and
//! the multipart and content helpers of the file value endpoints
//! (`POST /api/dataValues/file`, `GET /api/dataValues/files`).

use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tally_core::files::{FileContent, FileResourceView, MAX_FILE_UPLOAD_SIZE, Upload};

use super::blocking;
use crate::AppState;
use crate::auth::CurrentUser;
use crate::error::ApiError;
use crate::web_message::{WebMessage, reason_phrase};

use super::data_value_sets::form_pairs;

/// Largest request body of an upload: over DHIS2's 10,000,000-byte file limit, so that
/// a too-big file still gets DHIS2's 409 with its size; beyond this, 413.
pub const UPLOAD_BODY_LIMIT: usize = 32 << 20;

/// `{"responseType":"FileResource","fileResource":{…}}`.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct FileResourceResponse<'a> {
    response_type: &'static str,
    file_resource: &'a FileResourceView,
}

/// 202 Accepted, status OK, with the resource if there is one (DHIS2's answer to an
/// upload).
pub fn accepted(resource: Option<&FileResourceView>) -> Response {
    let msg = WebMessage {
        http_status: reason_phrase(202),
        http_status_code: 202,
        status: "OK",
        message: None,
        dev_message: None,
        error_code: None,
        response: resource.map(|r| FileResourceResponse {
            response_type: "FileResource",
            file_resource: r,
        }),
    };
    (StatusCode::ACCEPTED, axum::Json(msg)).into_response()
}

/// The query parameters, the text parts and the `file` part of a multipart request
/// (any other body: the query parameters only, no file). A part without a file name
/// and bytes counts as no file.
///
/// # Errors
/// 400 for a broken multipart body, 413 beyond [`UPLOAD_BODY_LIMIT`], 409 for a file
/// over DHIS2's limit.
pub async fn read_upload(
    req: Request,
    state: &AppState,
) -> Result<(Vec<(String, String)>, Option<Upload>), ApiError> {
    let mut pairs = form_pairs(req.uri().query().unwrap_or(""));
    let is_multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/form-data"));
    if !is_multipart {
        return Ok((pairs, None));
    }
    let broken = |e: axum::extract::multipart::MultipartError| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("File size can't be bigger than {MAX_FILE_UPLOAD_SIZE}"),
            )
        } else {
            ApiError::bad_request(e.body_text())
        }
    };
    let mut multipart = Multipart::from_request(req, state)
        .await
        .map_err(|e| ApiError::bad_request(e.body_text()))?;
    let mut upload = None;
    while let Some(mut field) = multipart.next_field().await.map_err(broken)? {
        let name = field.name().unwrap_or_default().to_owned();
        let file_name = field.file_name().map(str::to_owned);
        if name != "file" && file_name.is_none() {
            let value = field.text().await.map_err(broken)?;
            pairs.push((name, value));
            continue;
        }
        let content_type = field.content_type().map(str::to_owned).unwrap_or_default();
        let mut bytes = Vec::new();
        let mut size = 0u64;
        while let Some(chunk) = field.chunk().await.map_err(broken)? {
            size += chunk.len() as u64;
            if size <= MAX_FILE_UPLOAD_SIZE {
                bytes.extend_from_slice(&chunk);
            }
        }
        if size > MAX_FILE_UPLOAD_SIZE {
            return Err(ApiError {
                status: StatusCode::CONFLICT,
                message: format!(
                    "File size can't be bigger than {MAX_FILE_UPLOAD_SIZE}, current file size {size}"
                ),
                error_code: None,
            });
        }
        let name = file_name.unwrap_or_default();
        if upload.is_none() && !(bytes.is_empty() && name.is_empty()) {
            upload = Some(Upload {
                name,
                content_type,
                bytes,
            });
        }
    }
    Ok((pairs, upload))
}

/// The content of a file resource with DHIS2's headers.
///
/// # Errors
/// The content file cannot be read (500).
pub async fn content_response(content: FileContent) -> Result<Response, ApiError> {
    let bytes = tokio::fs::read(&content.path)
        .await
        .map_err(|e| ApiError::internal(&e))?;
    let r = &content.resource;
    let mut resp = bytes.into_response();
    let h = resp.headers_mut();
    let text = |s: &str| {
        HeaderValue::from_str(s)
            .unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"))
    };
    h.insert(header::CONTENT_TYPE, text(&r.content_type));
    // DHIS2 writes the name unquoted; characters a header cannot carry are replaced.
    let name: String = r
        .name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if let Ok(v) = HeaderValue::from_str(&format!("filename={name}")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache, no-store, max-age=0, must-revalidate"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::X_XSS_PROTECTION,
        HeaderValue::from_static("1; mode=block"),
    );
    Ok(resp)
}

/// `POST /api/fileResources` (multipart `file`; `domain`, `uid` as parameters or parts):
/// 202 with the new resource.
pub async fn upload(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    req: Request,
) -> Result<Response, ApiError> {
    let (pairs, upload) = read_upload(req, &state).await?;
    let get = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let Some(upload) = upload else {
        return Err(ApiError::bad_request(
            "Required request part 'file' is not present",
        ));
    };
    let (domain, uid) = (get("domain"), get("uid"));
    let app = state.app.clone();
    let resource =
        blocking(move || app.save_file_resource(&user, &upload, domain.as_deref(), uid.as_deref()))
            .await?;
    Ok(accepted(Some(&resource)))
}

/// `GET /api/fileResources/{id}`.
pub async fn get(
    State(state): State<AppState>,
    CurrentUser(_user): CurrentUser,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let app = state.app.clone();
    let resource = blocking(move || app.file_resource(&id)).await?;
    Ok(axum::Json(resource).into_response())
}

/// `GET /api/fileResources/{id}/data`: the content (403 for `DATA_VALUE` resources).
pub async fn data(
    State(state): State<AppState>,
    CurrentUser(_user): CurrentUser,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let app = state.app.clone();
    let content = blocking(move || app.file_resource_content(&id)).await?;
    content_response(content).await
}
