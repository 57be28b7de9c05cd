//! DHIS2 URL conventions, applied before routing: an optional API version segment
//! (`/api/41/...`) and a format extension on the last segment (`.json`, `.xml`, `.csv`,
//! `.adx.xml`, and their `.zip`/`.gz` forms). The router then only sees `/api/<resource>`;
//! handlers read what was stripped from [`ApiPath`].

use axum::extract::Request;
use axum::http::Uri;

/// What the URL said besides the resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ApiPath {
    /// `Some(37)` for `/api/37/...`.
    pub version: Option<u32>,
    /// The format extension, without compression suffix.
    pub extension: Option<Extension>,
}

/// A format named by the path extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Extension {
    Json,
    Xml,
    Csv,
    Adx,
}

impl ApiPath {
    /// Versions below 38 get the plain (unwrapped) import summary with HTTP 200.
    #[must_use]
    pub fn plain_summary(&self) -> bool {
        self.version.is_some_and(|v| v < 38)
    }
}

const EXTENSIONS: &[(&str, Extension)] = &[
    (".adx.xml", Extension::Adx),
    (".json", Extension::Json),
    (".xml", Extension::Xml),
    (".csv", Extension::Csv),
];

/// Splits `/api/[NN/]rest[.ext]` into the normalised path and [`ApiPath`].
#[must_use]
pub fn split(path: &str) -> (String, ApiPath) {
    let mut info = ApiPath::default();
    let Some(rest) = path.strip_prefix("/api/") else {
        return (path.to_owned(), info);
    };
    let mut rest = rest;
    if let Some((first, tail)) = rest.split_once('/')
        && !first.is_empty()
        && first.len() <= 3
        && first.bytes().all(|b| b.is_ascii_digit())
        && let Ok(v) = first.parse::<u32>()
    {
        info.version = Some(v);
        rest = tail;
    }
    let mut normalised = format!("/api/{rest}");
    for (ext, kind) in EXTENSIONS {
        if let Some(stripped) = normalised.strip_suffix(ext) {
            info.extension = Some(*kind);
            normalised = stripped.to_owned();
            break;
        }
    }
    (normalised, info)
}

/// Rewrites the request URI and records [`ApiPath`] in its extensions.
pub fn normalise(mut req: Request) -> Request {
    let (path, info) = split(req.uri().path());
    if path != req.uri().path() {
        let pq = match req.uri().query() {
            Some(q) => format!("{path}?{q}"),
            None => path,
        };
        let mut parts = req.uri().clone().into_parts();
        if let Ok(pq) = pq.parse() {
            parts.path_and_query = Some(pq);
            if let Ok(uri) = Uri::from_parts(parts) {
                *req.uri_mut() = uri;
            }
        }
    }
    req.extensions_mut().insert(info);
    req
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_and_extensions_are_stripped() {
        let cases = [
            ("/api/dataValueSets", "/api/dataValueSets", None, None),
            (
                "/api/37/dataValueSets",
                "/api/dataValueSets",
                Some(37),
                None,
            ),
            (
                "/api/dataValueSets.json",
                "/api/dataValueSets",
                None,
                Some(Extension::Json),
            ),
            (
                "/api/41/dataValueSets.adx.xml",
                "/api/dataValueSets",
                Some(41),
                Some(Extension::Adx),
            ),
            (
                "/api/system/tasks/DATAVALUE_IMPORT/abc",
                "/api/system/tasks/DATAVALUE_IMPORT/abc",
                None,
                None,
            ),
            ("/api/me.json", "/api/me", None, Some(Extension::Json)),
            ("/other", "/other", None, None),
        ];
        for (input, path, version, ext) in cases {
            let (p, info) = split(input);
            assert_eq!(p, path, "{input}");
            assert_eq!(info.version, version, "{input}");
            assert_eq!(info.extension, ext, "{input}");
        }
        assert!(split("/api/37/x").1.plain_summary());
        assert!(!split("/api/38/x").1.plain_summary());
        assert!(!split("/api/x").1.plain_summary());
    }
}
