//! The XML form of the import summary (spec §2.2).

use std::fmt::Write as _;

use tally_core::import::Summary;

use crate::web_message::xml_escape;

/// Renders the summary's XML. `root` gives the standalone document (`<importSummary …>`,
/// for `/api/37` and older); otherwise the inner elements for a WebMessage `response`.
#[must_use]
pub fn import_summary_xml(s: &Summary, root: bool) -> String {
    let mut out = String::new();
    if root {
        out.push_str(r#"<importSummary xmlns="http://dhis2.org/schema/dxf/2.0" responseType="ImportSummary">"#);
    }
    let _ = write!(out, "<status>{}</status>", s.status.name());
    let _ = write!(
        out,
        "<description>{}</description>",
        xml_escape(&s.description)
    );
    let c = &s.import_count;
    let _ = write!(
        out,
        r#"<importCount imported="{}" updated="{}" ignored="{}" deleted="{}"/>"#,
        c.imported, c.updated, c.ignored, c.deleted
    );
    out.push_str("<conflicts>");
    for conflict in &s.conflicts {
        out.push_str("<conflict");
        if let Some(code) = conflict.error_code {
            let _ = write!(out, r#" errorCode="{}""#, code.code());
        }
        let object = conflict
            .object
            .as_deref()
            .or_else(|| conflict.objects.first().map(|(_, v)| v.as_str()));
        if let Some(o) = object {
            let _ = write!(out, r#" object="{}""#, xml_escape(o));
        }
        let _ = write!(out, r#" value="{}""#, xml_escape(&conflict.value));
        if let Some(p) = &conflict.property {
            let _ = write!(out, r#" property="{}""#, xml_escape(p));
        }
        if let Some(ix) = &conflict.indexes {
            let list: Vec<String> = ix.iter().map(ToString::to_string).collect();
            let _ = write!(out, r#" indexes="{}""#, list.join(","));
        }
        if conflict.objects.is_empty() {
            out.push_str("/>");
        } else {
            out.push_str("><objects>");
            for (k, v) in &conflict.objects {
                let _ = write!(out, "<{k}>{}</{k}>", xml_escape(v));
            }
            out.push_str("</objects></conflict>");
        }
    }
    out.push_str("</conflicts><rejectedIndexes>");
    for i in &s.rejected_indexes {
        let _ = write!(out, "<rejectedIndex>{i}</rejectedIndex>");
    }
    out.push_str("</rejectedIndexes>");
    if let Some(d) = &s.data_set_complete {
        let _ = write!(out, "<dataSetComplete>{}</dataSetComplete>", xml_escape(d));
    }
    if root {
        out.push_str("</importSummary>");
    }
    out
}
