//! `/api/dataValueSets`: bulk import (POST) and streamed export (GET).

use std::io::Write;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures_util::StreamExt;
use tally_core::export::{ExportFormat, ExportParams};
use tally_core::import::{Body as ImportBody, Format, ImportOptions, Summary};
use tally_domain::import::ImportStatus;

use crate::AppState;
use crate::auth::CurrentUser;
use crate::error::ApiError;
use crate::path::{ApiPath, Extension};
use crate::summary_xml::import_summary_xml;
use crate::web_message::{WebMessage, web_message_xml};

/// Bodies up to this size stay in memory; larger ones are spooled to a temp file.
const IN_MEMORY_BODY: usize = 8 << 20;

fn query_pairs(req: &Request) -> Vec<(String, String)> {
    form_pairs(req.uri().query().unwrap_or(""))
}

/// Decodes a query string (`+` as space, percent escapes); malformed input yields what
/// could be decoded, as servlet containers do.
pub(crate) fn form_pairs(q: &str) -> Vec<(String, String)> {
    serde_urlencoded::from_str(q).unwrap_or_default()
}

fn wants_xml(headers: &HeaderMap, path: &ApiPath) -> bool {
    if let Some(ext) = path.extension {
        return ext == Extension::Xml || ext == Extension::Adx;
    }
    headers
        .get(header::ACCEPT)
        .and_then(|a| a.to_str().ok())
        .is_some_and(|a| a.contains("xml") && !a.contains("json"))
}

async fn spool(body: Body) -> Result<ImportBody, ApiError> {
    let mut stream = body.into_data_stream();
    let mut memory: Vec<u8> = Vec::new();
    let mut file: Option<std::fs::File> = None;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| ApiError::bad_request(format!("reading the body: {e}")))?;
        if let Some(f) = file.as_mut() {
            f.write_all(&chunk).map_err(|e| ApiError::internal(&e))?;
        } else if memory.len() + chunk.len() > IN_MEMORY_BODY {
            let mut f = tempfile::tempfile().map_err(|e| ApiError::internal(&e))?;
            f.write_all(&memory).map_err(|e| ApiError::internal(&e))?;
            f.write_all(&chunk).map_err(|e| ApiError::internal(&e))?;
            memory = Vec::new();
            file = Some(f);
        } else {
            memory.extend_from_slice(&chunk);
        }
    }
    Ok(match file {
        Some(mut f) => {
            use std::io::Seek;
            f.seek(std::io::SeekFrom::Start(0))
                .map_err(|e| ApiError::internal(&e))?;
            ImportBody::File(f)
        }
        None => ImportBody::Bytes(memory),
    })
}

fn import_format(headers: &HeaderMap) -> Result<Format, ApiError> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mime = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match mime.as_str() {
        "application/json" => Ok(Format::Json),
        "application/xml" => Ok(Format::Xml),
        "application/csv" => Ok(Format::Csv),
        "application/adx+xml" => Ok(Format::Adx),
        _ => Err(ApiError::unsupported_media_type(format!(
            "Content type '{ct}' not supported"
        ))),
    }
}

/// `POST /api/dataValueSets`.
pub async fn import_data_value_sets(
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
    let pairs = query_pairs(&req);
    let options = ImportOptions::from_query(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .map_err(ApiError::bad_request)?;
    let format = import_format(req.headers())?;
    let xml = wants_xml(req.headers(), &path);
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost")
        .to_owned();
    let body = spool(req.into_body()).await?;
    if options.is_async {
        return submit_async(&state, format, pairs, options, &user, body, &host).await;
    }
    let app = state.app.clone();
    let summary =
        tokio::task::spawn_blocking(move || app.import_data_values(format, options, &user, body))
            .await
            .map_err(|e| ApiError::internal(&e))?;
    Ok(summary_response(&summary, &path, xml))
}

/// `async=true`: store the job durably, answer "Initiated DATAVALUE_IMPORT (…)" at once.
async fn submit_async(
    state: &AppState,
    format: Format,
    query: Vec<(String, String)>,
    options: ImportOptions,
    user: &tally_core::users::User,
    body: ImportBody,
    host: &str,
) -> Result<Response, ApiError> {
    let app = state.app.clone();
    let user = user.clone();
    let job = tokio::task::spawn_blocking(move || app.submit_import(format, query, &user, body))
        .await
        .map_err(|e| ApiError::internal(&e))??;
    let job_type = tally_core::jobs::DATAVALUE_IMPORT;
    let mut msg = WebMessage::new(200, "OK", format!("Initiated {}", job.name));
    msg.response = Some(serde_json::json!({
        "name": job.name,
        "id": job.id,
        "created": job.created,
        "jobType": job_type,
        "jobStatus": "NOT_STARTED",
        "jobParameters": options,
        "relativeNotifierEndpoint": format!("/api/system/tasks/{job_type}/{}", job.id),
    }));
    let mut resp = (StatusCode::OK, axum::Json(msg)).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("http://{host}/api/system/tasks/{job_type}")) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    Ok(resp)
}

/// The summary as the client's API version expects it (spec §2.3).
pub(crate) fn summary_response(summary: &Summary, path: &ApiPath, xml: bool) -> Response {
    if path.plain_summary() {
        return if xml {
            xml_response(StatusCode::OK, import_summary_xml(summary, true))
        } else {
            (StatusCode::OK, axum::Json(summary)).into_response()
        };
    }
    let (code, status, message) = match summary.status {
        ImportStatus::Success => (200, "OK", "Import was successful."),
        ImportStatus::Warning => (
            409,
            "WARNING",
            "One more conflicts encountered, please check import summary.",
        ),
        ImportStatus::Error => (
            409,
            "ERROR",
            "An error occurred, please check import summary.",
        ),
    };
    let status_code = StatusCode::from_u16(code).unwrap_or(StatusCode::OK);
    let mut msg: WebMessage<&Summary> = WebMessage::new(code, status, message);
    if xml {
        let inner = import_summary_xml(summary, false);
        let body = web_message_xml(&msg, Some(("ImportSummary", &inner)));
        return xml_response(status_code, body);
    }
    msg.response = Some(summary);
    let mut resp = (status_code, axum::Json(msg)).into_response();
    if code >= 400 {
        resp.headers_mut().insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-cache, private"),
        );
    }
    resp
}

fn xml_response(status: StatusCode, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/xml; charset=UTF-8")],
        body,
    )
        .into_response()
}

/// A `Write` that sends chunks into the response body.
struct ChannelWriter {
    tx: tokio::sync::mpsc::Sender<Result<Bytes, std::io::Error>>,
    buf: Vec<u8>,
}

const CHUNK: usize = 64 << 10;

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            self.flush()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK)));
        self.tx
            .blocking_send(Ok(chunk))
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "client went away"))
    }
}

fn export_format(params: &ExportParams, path: &ApiPath, headers: &HeaderMap) -> ExportFormat {
    if let Some(f) = params.format.as_deref() {
        return match f.to_ascii_lowercase().as_str() {
            "xml" => ExportFormat::Xml,
            "csv" => ExportFormat::Csv,
            _ => ExportFormat::Json,
        };
    }
    match path.extension {
        Some(Extension::Xml) => return ExportFormat::Xml,
        Some(Extension::Csv) => return ExportFormat::Csv,
        Some(Extension::Json) => return ExportFormat::Json,
        _ => {}
    }
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|a| a.to_str().ok())
        .unwrap_or("");
    if accept.contains("application/json") {
        ExportFormat::Json
    } else if accept.contains("application/xml") {
        ExportFormat::Xml
    } else if accept.contains("csv") {
        ExportFormat::Csv
    } else {
        ExportFormat::Json
    }
}

/// `GET /api/dataValueSets`.
pub async fn export_data_value_sets(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    req: Request,
) -> Result<Response, ApiError> {
    let path = req
        .extensions()
        .get::<ApiPath>()
        .copied()
        .unwrap_or_default();
    let pairs = query_pairs(&req);
    let params = ExportParams::from_query(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .map_err(ApiError::bad_request)?;
    let accept_adx = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|a| a.to_str().ok())
        .is_some_and(|a| a.contains("application/adx+xml"));
    let mut params = params;
    params.adx = match params.format.as_deref() {
        Some(f) => f.eq_ignore_ascii_case("adx+xml"),
        None => path.extension == Some(Extension::Adx) || accept_adx,
    };
    let format = export_format(&params, &path, req.headers());
    let plan = state.app.plan_export(&params, &user)?;
    let adx = params.adx;
    let (mime, ext) = match format {
        _ if adx => ("application/adx+xml; charset=UTF-8", "xml"),
        ExportFormat::Json => ("application/json; charset=UTF-8", "json"),
        ExportFormat::Xml => ("application/xml; charset=UTF-8", "xml"),
        ExportFormat::Csv => ("application/csv; charset=UTF-8", "csv"),
    };
    let compression = params
        .compression
        .as_deref()
        .map(str::to_ascii_lowercase)
        .filter(|c| c == "gzip" || c == "zip");
    let base = attachment_base(params.attachment.as_deref(), plan.dates);
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(8);
    let app = state.app;
    let entry = format!("{base}.{ext}");
    let compression_for_task = compression.clone();
    tokio::task::spawn_blocking(move || {
        let mut out = ChannelWriter {
            tx: tx.clone(),
            buf: Vec::with_capacity(CHUNK),
        };
        let run = |w: &mut dyn Write| {
            if adx {
                app.run_planned_adx(&plan, w)
            } else {
                app.run_export(&plan, format, w)
            }
        };
        let result = match compression_for_task.as_deref() {
            Some("gzip") => {
                let mut gz = tally_formats::gzip_writer(&mut out);
                run(&mut gz).and_then(|()| gz.finish().map(drop).map_err(|e| io_err(&e)))
            }
            Some(_) => match tally_formats::ZipStreamWriter::new(&mut out, &entry) {
                Ok(mut zip) => {
                    run(&mut zip).and_then(|()| zip.finish().map(drop).map_err(|e| io_err(&e)))
                }
                Err(e) => Err(io_err(&e)),
            },
            None => run(&mut out),
        };
        let flushed = match &result {
            Ok(()) => out.flush(),
            Err(_) => Ok(()),
        };
        if let Err(e) = result {
            tracing::warn!(error = %e, "export ended early");
            // A 409-type failure before the first byte becomes a WebMessage (below).
            let kind = if matches!(e, tally_core::CoreError::Conflict { .. }) {
                std::io::ErrorKind::InvalidData
            } else {
                std::io::ErrorKind::Other
            };
            let _ = tx.blocking_send(Err(std::io::Error::new(kind, e.to_string())));
        } else if let Err(e) = flushed {
            tracing::debug!(error = %e, "export client went away");
        }
    });
    // Wait for the first chunk: an error before any byte is answered as a WebMessage.
    let mut rx = rx;
    let first = match rx.recv().await {
        Some(Ok(chunk)) => Some(chunk),
        Some(Err(e)) if e.kind() == std::io::ErrorKind::InvalidData => {
            return Err(ApiError::new(StatusCode::CONFLICT, e.to_string()));
        }
        Some(Err(e)) => return Err(ApiError::internal(&e)),
        None => None,
    };
    let head = futures_util::stream::iter(first.map(Ok));
    let stream = head.chain(tokio_stream(rx));
    let mut resp = Response::new(Body::from_stream(stream));
    let h = resp.headers_mut();
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache, no-store, max-age=0, must-revalidate"),
    );
    match compression.as_deref() {
        Some("gzip") => {
            let name = format!("{base}.{ext}.gz");
            set_attachment(h, &name, "application/gzip");
        }
        Some(_) => {
            let name = format!("{base}.{ext}.zip");
            set_attachment(h, &name, "application/zip");
        }
        None => {
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
            if params.attachment.is_some() {
                let name = format!("{base}.{ext}");
                if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename={name}")) {
                    h.insert(header::CONTENT_DISPOSITION, v);
                }
            }
        }
    }
    Ok(resp)
}

fn io_err(e: &dyn std::fmt::Display) -> tally_core::CoreError {
    tally_core::CoreError::Internal(format!("writing the export: {e}"))
}

fn set_attachment(h: &mut HeaderMap, name: &str, mime: &'static str) {
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename={name}")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(
        "Content-Transfer-Encoding",
        HeaderValue::from_static("binary"),
    );
}

/// Attachment base name (spec §5.4): the `attachment` value or `dataValues`; with both
/// dates, cut at the first `.` and suffixed `_<start>_<end>`.
fn attachment_base(
    attachment: Option<&str>,
    dates: Option<(jiff::civil::Date, jiff::civil::Date)>,
) -> String {
    let base = attachment.unwrap_or("dataValues");
    match dates {
        Some((s, e)) => {
            let cut = base.split('.').next().unwrap_or(base);
            format!("{cut}_{s}_{e}")
        }
        None => base.to_owned(),
    }
}

fn tokio_stream(
    mut rx: tokio::sync::mpsc::Receiver<Result<Bytes, std::io::Error>>,
) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> {
    futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attachment_names_follow_dhis2() {
        let d = |s: &str| s.parse::<jiff::civil::Date>().unwrap();
        assert_eq!(attachment_base(None, None), "dataValues");
        assert_eq!(
            attachment_base(
                Some("dataValues.json.zip"),
                Some((d("2022-01-01"), d("2022-01-30")))
            ),
            "dataValues_2022-01-01_2022-01-30"
        );
        assert_eq!(attachment_base(Some("data.json"), None), "data.json");
    }

    #[test]
    fn query_decoding() {
        let pairs = form_pairs("a=1+2&b=%3Cx%3E&c&dataSet=x&dataSet=y");
        assert_eq!(pairs[0], ("a".into(), "1 2".into()));
        assert_eq!(pairs[1], ("b".into(), "<x>".into()));
        assert_eq!(pairs[2], ("c".into(), String::new()));
        assert_eq!(pairs.len(), 5, "repeated parameters are kept");
    }
}
