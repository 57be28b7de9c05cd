//! DHIS2's `WebMessage` envelope, in JSON and XML.

use serde::Serialize;

/// The envelope DHIS2 wraps responses and errors in. Null fields are omitted.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WebMessage<R: Serialize = serde_json::Value> {
    /// Reason phrase, e.g. `Conflict`.
    pub http_status: &'static str,
    pub http_status_code: u16,
    /// `OK`, `WARNING` or `ERROR`.
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dev_message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response: Option<R>,
}

/// Reason phrase of a status code, as DHIS2 writes it (Spring's `HttpStatus` names).
#[must_use]
pub fn reason_phrase(code: u16) -> &'static str {
    match code {
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        304 => "Not Modified",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        409 => "Conflict",
        413 => "Payload Too Large",
        415 => "Unsupported Media Type",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Unknown",
    }
}

impl<R: Serialize> WebMessage<R> {
    /// A message with status code, WebMessage status and text.
    pub fn new(code: u16, status: &'static str, message: impl Into<String>) -> Self {
        Self {
            http_status: reason_phrase(code),
            http_status_code: code,
            status,
            message: Some(message.into()),
            dev_message: None,
            error_code: None,
            response: None,
        }
    }
}

/// Escapes text for XML attribute values and character data.
#[must_use]
pub fn xml_escape(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.contains(['<', '>', '&', '"', '\'', '\n', '\r', '\t']) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' => out.push_str("&#9;"),
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Writes the XML form of a WebMessage around an already-rendered `response` element body.
/// `response` is `(responseType, inner XML)`.
#[must_use]
pub fn web_message_xml<R: Serialize>(
    msg: &WebMessage<R>,
    response: Option<(&str, &str)>,
) -> String {
    let mut out = String::from(r#"<?xml version="1.0" encoding="UTF-8"?>"#);
    out.push_str(&format!(
        r#"<webMessage xmlns="http://dhis2.org/schema/dxf/2.0" httpStatus="{}" httpStatusCode="{}" status="{}""#,
        msg.http_status, msg.http_status_code, msg.status
    ));
    if let Some(code) = &msg.error_code {
        out.push_str(&format!(r#" errorCode="{}""#, xml_escape(code)));
    }
    out.push('>');
    if let Some(m) = &msg.message {
        out.push_str(&format!("<message>{}</message>", xml_escape(m)));
    }
    if let Some(d) = &msg.dev_message {
        out.push_str(&format!("<devMessage>{}</devMessage>", xml_escape(d)));
    }
    if let Some((kind, inner)) = response {
        out.push_str(&format!(
            r#"<response responseType="{kind}">{inner}</response>"#
        ));
    }
    out.push_str("</webMessage>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn null_fields_are_omitted_and_order_is_dhis2s() {
        let m: WebMessage = WebMessage::new(409, "ERROR", "x");
        assert_eq!(
            serde_json::to_string(&m).unwrap(),
            r#"{"httpStatus":"Conflict","httpStatusCode":409,"status":"ERROR","message":"x"}"#
        );
    }

    #[test]
    fn xml_form_has_attributes() {
        let m: WebMessage = WebMessage::new(200, "OK", "Import was successful.");
        let xml = web_message_xml(&m, None);
        assert!(xml.contains(r#"httpStatusCode="200""#), "{xml}");
        assert!(xml.contains("<message>Import was successful.</message>"));
    }

    #[test]
    fn escaping() {
        assert_eq!(xml_escape(r#"a<"b">&"#), "a&lt;&quot;b&quot;&gt;&amp;");
        assert!(matches!(xml_escape("plain"), std::borrow::Cow::Borrowed(_)));
    }
}
