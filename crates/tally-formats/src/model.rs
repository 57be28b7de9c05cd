//! Format-neutral records passed between the readers/writers and the import/export core.
//!
//! Readers produce *raw* strings: nothing is resolved or validated here, because resolving
//! identifiers needs metadata and id schemes that only the import core has. What the readers do
//! guarantee is the per-format normalisation DHIS2 applies while parsing (which fields exist,
//! empty-means-absent in XML, boolean spellings, JSON scalar coercion).

use crate::error::Stop;

/// Header of a data value set (the attributes of the XML root or the top-level keys of the
/// JSON object). Every field is optional.
///
/// Empty strings: XML attributes that are empty are reported as `None` (DHIS2 treats them as
/// absent). JSON strings are reported verbatim, so `"dataSet": ""` is `Some("")`; `null` is
/// `None`. CSV has no header: [`crate::read_csv`] always reports `RawHeader::default()`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawHeader {
    /// Data set id, resolved by the core with the data set id scheme.
    pub data_set: Option<String>,
    /// `yyyy-MM-dd`, `true` or `false` (interpreted by the core).
    pub complete_date: Option<String>,
    /// ISO period that overrides each value's period.
    pub period: Option<String>,
    /// Org unit that overrides each value's org unit.
    pub org_unit: Option<String>,
    /// Attribute option combo that overrides each value's AOC.
    pub attribute_option_combo: Option<String>,
    /// JSON only: category options forming the AOC (used when `dataSet` is present and
    /// `attributeOptionCombo` is absent). XML never reads it.
    pub attribute_category_options: Option<Vec<String>>,
    /// General payload id scheme.
    pub id_scheme: Option<String>,
    /// Payload data element id scheme.
    pub data_element_id_scheme: Option<String>,
    /// Payload org unit id scheme.
    pub org_unit_id_scheme: Option<String>,
    /// Payload category option combo id scheme.
    pub category_option_combo_id_scheme: Option<String>,
    /// Payload data set id scheme.
    pub data_set_id_scheme: Option<String>,
    /// JSON: `true`/`false` both override the URL; XML: only `Some(true)` when the attribute is
    /// exactly `true`, otherwise `None` so the URL value applies.
    pub dry_run: Option<bool>,
    /// Import strategy name as sent (JSON key `strategy`, XML attribute `importStrategy`);
    /// case-sensitive enum name, validated by the core.
    pub strategy: Option<String>,
}

/// One data value as sent. `None` means "not sent" (or, in XML, sent empty); CSV cells are
/// always `Some`, possibly `Some("")`, which matters for DHIS2's "value defined" rule.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawDataValue {
    /// Data element id.
    pub data_element: Option<String>,
    /// ISO period.
    pub period: Option<String>,
    /// Org unit id.
    pub org_unit: Option<String>,
    /// Category option combo id.
    pub category_option_combo: Option<String>,
    /// Attribute option combo id.
    pub attribute_option_combo: Option<String>,
    /// The value.
    pub value: Option<String>,
    /// User name the value is stored by.
    pub stored_by: Option<String>,
    /// Ignored by DHIS2 2.41 on import, reported for completeness.
    pub created: Option<String>,
    /// Ignored by DHIS2 2.41 on import, reported for completeness.
    pub last_updated: Option<String>,
    /// Comment.
    pub comment: Option<String>,
    /// Follow-up flag (JSON `followup`, XML `followUp`, CSV column 9).
    pub followup: Option<bool>,
    /// Soft-delete flag.
    pub deleted: Option<bool>,
}

/// Receiver of a DXF2 data value set (JSON, XML or CSV). The readers push into it so that the
/// import core can process values in batches while the document streams, in constant memory.
pub trait DataValueSink {
    /// Called exactly once, before any value, even for documents without values. For JSON the
    /// header is complete even when its keys come after `dataValues` in the document.
    fn header(&mut self, header: RawHeader) -> Result<(), Stop>;
    /// Called once per data value, in document order.
    fn value(&mut self, value: RawDataValue) -> Result<(), Stop>;
}

/// Receiver of an ADX document. ADX category attributes can only be resolved with metadata, so
/// the reader reports raw attributes and leaves the conversion to the core.
pub trait AdxSink {
    /// A `<group>` starts. `index` is 0-based (DHIS2 reports "failed within group number: n").
    /// `attributes` are all attributes of the element in document order, by local name,
    /// without namespace declarations; values are unescaped and may be empty.
    fn group(&mut self, index: usize, attributes: Vec<(String, String)>) -> Result<(), Stop>;
    /// A `<dataValue>` inside the current group, with its attributes (as for `group`) and the
    /// text of its first `<annotation>` child, if there is one.
    fn value(
        &mut self,
        attributes: Vec<(String, String)>,
        annotation: Option<String>,
    ) -> Result<(), Stop>;
    /// The current group ended.
    fn group_end(&mut self) -> Result<(), Stop>;
}

/// Header of an exported data value set. Either all fields are `None` (multi-set export: no
/// header keys at all) or at least one is `Some` (the single data set / period / org unit case
/// of spec §5.5, where JSON writes all four keys, with `null` for the missing ones).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExportHeader<'a> {
    /// Data set id in the output id scheme.
    pub data_set: Option<&'a str>,
    /// Completion timestamp, already formatted (see [`crate::format_epoch_millis`]).
    pub complete_date: Option<&'a str>,
    /// ISO period.
    pub period: Option<&'a str>,
    /// Org unit id in the output id scheme.
    pub org_unit: Option<&'a str>,
}

impl ExportHeader<'_> {
    /// True for the multi-set case (no header keys are written).
    pub fn is_empty(&self) -> bool {
        self.data_set.is_none()
            && self.complete_date.is_none()
            && self.period.is_none()
            && self.org_unit.is_none()
    }
}

/// One exported data value. Identifiers are `Option` because an output id scheme (CODE, NAME,
/// ATTRIBUTE) may have no identifier for an object; DHIS2 then writes null.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExportValue<'a> {
    /// Data element id.
    pub data_element: Option<&'a str>,
    /// ISO period.
    pub period: Option<&'a str>,
    /// Org unit id.
    pub org_unit: Option<&'a str>,
    /// Category option combo id.
    pub category_option_combo: Option<&'a str>,
    /// Attribute option combo id.
    pub attribute_option_combo: Option<&'a str>,
    /// The value (`None` for comment-only rows).
    pub value: Option<&'a str>,
    /// Stored by.
    pub stored_by: Option<&'a str>,
    /// Already formatted as `yyyy-MM-dd'T'HH:mm:ss.SSS+0000` (not written to CSV).
    pub created: &'a str,
    /// Already formatted as `yyyy-MM-dd'T'HH:mm:ss.SSS+0000`.
    pub last_updated: &'a str,
    /// Comment.
    pub comment: Option<&'a str>,
    /// Follow-up flag, always written.
    pub followup: bool,
    /// Written only when true (CSV: `true`, else the text `null`).
    pub deleted: bool,
}
