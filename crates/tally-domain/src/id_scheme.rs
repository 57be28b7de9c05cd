//! Id schemes: how the identifiers in a request or payload are matched to metadata
//! (spec §3.2 for import, §5.1 for export).
//!
//! An [`IdScheme`] says which property an identifier is: the UID, the code, the name,
//! the internal id, a UUID, or the value of a unique metadata attribute. Schemes come
//! from several places at once, so this module also fixes which one wins:
//!
//! * import: [`ImportIdSchemes`] combines the URL and payload [`IdSchemes`] with the
//!   precedence payload specific > payload general > URL specific > URL general >
//!   default (UID, or CODE for ADX);
//! * export: [`OutputIdSchemes`] picks the scheme identifiers are *written* with, and
//!   [`InputIdSchemes`] the scheme the request's own identifiers are *read* with.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use crate::uid::{UID_LEN, Uid};

/// The prefix of an attribute scheme, matched case-insensitively.
const ATTRIBUTE_PREFIX: &str = "ATTRIBUTE:";

/// Which property of a metadata object an identifier refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IdScheme {
    /// `UID`: the 11-character DHIS2 identifier (the default).
    Uid,
    /// `CODE`: the object's code (the ADX default).
    Code,
    /// `NAME`: the object's name.
    Name,
    /// `ID`: the internal id; DHIS2 treats it much like UID in lookups.
    Id,
    /// `UUID`: the object's UUID, where it has one.
    Uuid,
    /// `ATTRIBUTE:<uid>`: the value of the unique metadata attribute with that UID.
    Attribute(Uid),
}

/// A scheme string that is not one of the accepted forms. It keeps the input so the
/// HTTP layer can answer 400 and the import can report it in its ERROR summary.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid id scheme: `{input}`")]
pub struct IdSchemeError {
    input: String,
}

impl IdSchemeError {
    fn new(input: &str) -> Self {
        IdSchemeError {
            input: input.to_owned(),
        }
    }

    /// The string that failed to parse, exactly as given.
    #[must_use]
    pub fn input(&self) -> &str {
        &self.input
    }
}

impl IdScheme {
    /// Parses `UID`, `CODE`, `NAME`, `ID`, `UUID` (any letter case) or
    /// `ATTRIBUTE:<uid>`, whose prefix is case-insensitive and whose whole length must
    /// be exactly 21 characters, the last 11 forming a UID.
    ///
    /// Nothing is trimmed. DHIS2 also accepts a bare `ATTRIBUTE` and an attribute id
    /// that is not UID-shaped, but both can only ever match nothing; they are refused
    /// here so that the mistake is reported instead of producing "not found" conflicts.
    ///
    /// # Errors
    /// [`IdSchemeError`] carrying the input for anything else.
    pub fn parse(s: &str) -> Result<Self, IdSchemeError> {
        let simple = [
            ("UID", IdScheme::Uid),
            ("CODE", IdScheme::Code),
            ("NAME", IdScheme::Name),
            ("ID", IdScheme::Id),
            ("UUID", IdScheme::Uuid),
        ];
        if let Some((_, scheme)) = simple.iter().find(|(name, _)| s.eq_ignore_ascii_case(name)) {
            return Ok(*scheme);
        }
        if s.len() == ATTRIBUTE_PREFIX.len() + UID_LEN
            && let Some((prefix, uid)) = s.split_at_checked(ATTRIBUTE_PREFIX.len())
            && prefix.eq_ignore_ascii_case(ATTRIBUTE_PREFIX)
            && let Ok(uid) = Uid::parse(uid)
        {
            return Ok(IdScheme::Attribute(uid));
        }
        Err(IdSchemeError::new(s))
    }

    /// The attribute UID of an `ATTRIBUTE:` scheme.
    #[must_use]
    pub const fn attribute(self) -> Option<Uid> {
        match self {
            IdScheme::Attribute(uid) => Some(uid),
            _ => None,
        }
    }
}

impl fmt::Display for IdScheme {
    /// The canonical form: `UID`, `CODE`, `NAME`, `ID`, `UUID` or `ATTRIBUTE:<uid>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IdScheme::Uid => f.write_str("UID"),
            IdScheme::Code => f.write_str("CODE"),
            IdScheme::Name => f.write_str("NAME"),
            IdScheme::Id => f.write_str("ID"),
            IdScheme::Uuid => f.write_str("UUID"),
            IdScheme::Attribute(uid) => write!(f, "{ATTRIBUTE_PREFIX}{uid}"),
        }
    }
}

impl FromStr for IdScheme {
    type Err = IdSchemeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        IdScheme::parse(s)
    }
}

impl serde::Serialize for IdScheme {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for IdScheme {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <Cow<'de, str>>::deserialize(d)?;
        IdScheme::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// The kinds of object an id scheme can be specific to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ObjectKind {
    /// Data elements (`dataElementIdScheme`).
    DataElement,
    /// Organisation units (`orgUnitIdScheme`).
    OrgUnit,
    /// Category option combos (`categoryOptionComboIdScheme`).
    CategoryOptionCombo,
    /// Attribute option combos (`attributeOptionComboIdScheme`, export only; the import
    /// resolves them with the category option combo scheme).
    AttributeOptionCombo,
    /// Data sets (`dataSetIdScheme`).
    DataSet,
    /// Categories (`categoryIdScheme`, ADX only).
    Category,
    /// Category options (`categoryOptionIdScheme`, ADX only).
    CategoryOption,
}

/// The id scheme parameters of one source (the URL query, or the payload root), any of
/// which may be absent. Field names follow DHIS2's parameter names, so the struct
/// (de)serialises from and to a query string or a JSON root directly; absent schemes are
/// not serialised.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct IdSchemes {
    /// `idScheme`: the general scheme, the fallback for every object kind.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_scheme: Option<IdScheme>,
    /// `dataElementIdScheme`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_element_id_scheme: Option<IdScheme>,
    /// `orgUnitIdScheme`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub org_unit_id_scheme: Option<IdScheme>,
    /// `categoryOptionComboIdScheme`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category_option_combo_id_scheme: Option<IdScheme>,
    /// `attributeOptionComboIdScheme` (honoured by export only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attribute_option_combo_id_scheme: Option<IdScheme>,
    /// `dataSetIdScheme`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_set_id_scheme: Option<IdScheme>,
    /// `categoryIdScheme` (ADX only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category_id_scheme: Option<IdScheme>,
    /// `categoryOptionIdScheme` (ADX only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category_option_id_scheme: Option<IdScheme>,
}

impl IdSchemes {
    /// No scheme given anywhere.
    pub const NONE: IdSchemes = IdSchemes {
        id_scheme: None,
        data_element_id_scheme: None,
        org_unit_id_scheme: None,
        category_option_combo_id_scheme: None,
        attribute_option_combo_id_scheme: None,
        data_set_id_scheme: None,
        category_id_scheme: None,
        category_option_id_scheme: None,
    };

    /// Only the general `idScheme`, a common case worth a shorthand.
    #[must_use]
    pub const fn general(scheme: IdScheme) -> Self {
        IdSchemes {
            id_scheme: Some(scheme),
            ..IdSchemes::NONE
        }
    }

    /// The scheme given specifically for `kind`, without any fallback.
    #[must_use]
    pub const fn specific(&self, kind: ObjectKind) -> Option<IdScheme> {
        match kind {
            ObjectKind::DataElement => self.data_element_id_scheme,
            ObjectKind::OrgUnit => self.org_unit_id_scheme,
            ObjectKind::CategoryOptionCombo => self.category_option_combo_id_scheme,
            ObjectKind::AttributeOptionCombo => self.attribute_option_combo_id_scheme,
            ObjectKind::DataSet => self.data_set_id_scheme,
            ObjectKind::Category => self.category_id_scheme,
            ObjectKind::CategoryOption => self.category_option_id_scheme,
        }
    }

    /// Sets the scheme specific to `kind` (builder style, for tests and readers).
    #[must_use]
    pub const fn with(mut self, kind: ObjectKind, scheme: IdScheme) -> Self {
        let slot = match kind {
            ObjectKind::DataElement => &mut self.data_element_id_scheme,
            ObjectKind::OrgUnit => &mut self.org_unit_id_scheme,
            ObjectKind::CategoryOptionCombo => &mut self.category_option_combo_id_scheme,
            ObjectKind::AttributeOptionCombo => &mut self.attribute_option_combo_id_scheme,
            ObjectKind::DataSet => &mut self.data_set_id_scheme,
            ObjectKind::Category => &mut self.category_id_scheme,
            ObjectKind::CategoryOption => &mut self.category_option_id_scheme,
        };
        *slot = Some(scheme);
        self
    }

    /// True when no scheme at all was given.
    #[must_use]
    pub const fn is_empty(&self) -> bool {
        self.id_scheme.is_none()
            && self.data_element_id_scheme.is_none()
            && self.org_unit_id_scheme.is_none()
            && self.category_option_combo_id_scheme.is_none()
            && self.attribute_option_combo_id_scheme.is_none()
            && self.data_set_id_scheme.is_none()
            && self.category_id_scheme.is_none()
            && self.category_option_id_scheme.is_none()
    }
}

/// The schemes in force for one data value import (§3.2).
///
/// For each object kind the first scheme found wins:
///
/// 1. the specific scheme in the payload;
/// 2. the general `idScheme` in the payload, which beats a specific URL scheme (quirk);
/// 3. the specific scheme in the URL;
/// 4. the general `idScheme` in the URL;
/// 5. the default: UID, or CODE for ADX ([`ImportIdSchemes::adx`]). Only the general
///    default changes for ADX, so specific URL schemes still apply there.
///
/// Attribute option combos are resolved with the *category option combo* scheme on
/// import; `attributeOptionComboIdScheme` is ignored (quirk).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImportIdSchemes {
    url: IdSchemes,
    payload: IdSchemes,
    default: IdScheme,
}

impl ImportIdSchemes {
    /// Schemes from the URL of a DXF2, JSON or CSV import; the default is UID.
    #[must_use]
    pub const fn new(url: IdSchemes) -> Self {
        ImportIdSchemes {
            url,
            payload: IdSchemes::NONE,
            default: IdScheme::Uid,
        }
    }

    /// Schemes from the URL of an ADX import; the general default is CODE.
    #[must_use]
    pub const fn adx(url: IdSchemes) -> Self {
        ImportIdSchemes {
            url,
            payload: IdSchemes::NONE,
            default: IdScheme::Code,
        }
    }

    /// Adds the schemes read from the payload root (`<dataValueSet idScheme=...>` or
    /// the JSON root), which outrank the URL.
    #[must_use]
    pub const fn with_payload(mut self, payload: IdSchemes) -> Self {
        self.payload = payload;
        self
    }

    /// The URL schemes.
    #[must_use]
    pub const fn url(&self) -> &IdSchemes {
        &self.url
    }

    /// The payload schemes.
    #[must_use]
    pub const fn payload(&self) -> &IdSchemes {
        &self.payload
    }

    /// The effective general scheme: payload `idScheme`, else URL `idScheme`, else the
    /// default. It resolves the JSON header `attributeCategoryOptions`.
    #[must_use]
    pub fn general(&self) -> IdScheme {
        self.payload
            .id_scheme
            .or(self.url.id_scheme)
            .unwrap_or(self.default)
    }

    /// The effective scheme for identifiers of `kind`, by the precedence above.
    #[must_use]
    pub fn scheme_for(&self, kind: ObjectKind) -> IdScheme {
        let kind = match kind {
            ObjectKind::AttributeOptionCombo => ObjectKind::CategoryOptionCombo,
            other => other,
        };
        self.payload
            .specific(kind)
            .or(self.payload.id_scheme)
            .or(self.url.specific(kind))
            .or(self.url.id_scheme)
            .unwrap_or(self.default)
    }

    /// Scheme for data elements.
    #[must_use]
    pub fn data_element(&self) -> IdScheme {
        self.scheme_for(ObjectKind::DataElement)
    }

    /// Scheme for organisation units.
    #[must_use]
    pub fn org_unit(&self) -> IdScheme {
        self.scheme_for(ObjectKind::OrgUnit)
    }

    /// Scheme for category option combos.
    #[must_use]
    pub fn category_option_combo(&self) -> IdScheme {
        self.scheme_for(ObjectKind::CategoryOptionCombo)
    }

    /// Scheme for attribute option combos: the category option combo scheme (quirk).
    #[must_use]
    pub fn attribute_option_combo(&self) -> IdScheme {
        self.scheme_for(ObjectKind::AttributeOptionCombo)
    }

    /// Scheme for data sets.
    #[must_use]
    pub fn data_set(&self) -> IdScheme {
        self.scheme_for(ObjectKind::DataSet)
    }

    /// Scheme for categories (ADX).
    #[must_use]
    pub fn category(&self) -> IdScheme {
        self.scheme_for(ObjectKind::Category)
    }

    /// Scheme for category options (ADX).
    #[must_use]
    pub fn category_option(&self) -> IdScheme {
        self.scheme_for(ObjectKind::CategoryOption)
    }
}

/// The schemes an export writes identifiers with (§5.1): the specific scheme if given,
/// else `idScheme`, else the default (UID, or CODE for ADX). Unlike import, the
/// attribute option combo has its own `attributeOptionComboIdScheme`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutputIdSchemes {
    schemes: IdSchemes,
    default: IdScheme,
}

impl OutputIdSchemes {
    /// Output schemes of a JSON, XML or CSV export; the default is UID.
    #[must_use]
    pub const fn new(schemes: IdSchemes) -> Self {
        OutputIdSchemes {
            schemes,
            default: IdScheme::Uid,
        }
    }

    /// Output schemes of an ADX export; the general default is CODE.
    #[must_use]
    pub const fn adx(schemes: IdSchemes) -> Self {
        OutputIdSchemes {
            schemes,
            default: IdScheme::Code,
        }
    }

    /// The schemes as given in the request.
    #[must_use]
    pub const fn given(&self) -> &IdSchemes {
        &self.schemes
    }

    /// The effective general scheme.
    #[must_use]
    pub fn general(&self) -> IdScheme {
        self.schemes.id_scheme.unwrap_or(self.default)
    }

    /// The scheme to write identifiers of `kind` with.
    #[must_use]
    pub fn scheme_for(&self, kind: ObjectKind) -> IdScheme {
        self.schemes
            .specific(kind)
            .unwrap_or_else(|| self.general())
    }
}

/// The schemes an export *request's* identifiers are given in (`inputIdScheme` and
/// friends, §5.1). Only UID, ID, CODE and NAME are accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InputIdScheme {
    /// `UID` (the default).
    Uid,
    /// `ID`.
    Id,
    /// `CODE`.
    Code,
    /// `NAME`.
    Name,
}

impl InputIdScheme {
    /// Parses `UID`, `ID`, `CODE` or `NAME` in any letter case.
    ///
    /// # Errors
    /// [`IdSchemeError`] carrying the input for anything else (including `UUID` and
    /// `ATTRIBUTE:...`, which are output-only here).
    pub fn parse(s: &str) -> Result<Self, IdSchemeError> {
        [
            ("UID", InputIdScheme::Uid),
            ("ID", InputIdScheme::Id),
            ("CODE", InputIdScheme::Code),
            ("NAME", InputIdScheme::Name),
        ]
        .into_iter()
        .find(|(name, _)| s.eq_ignore_ascii_case(name))
        .map(|(_, scheme)| scheme)
        .ok_or_else(|| IdSchemeError::new(s))
    }

    /// The same scheme as a general [`IdScheme`], for lookups shared with import.
    #[must_use]
    pub const fn id_scheme(self) -> IdScheme {
        match self {
            InputIdScheme::Uid => IdScheme::Uid,
            InputIdScheme::Id => IdScheme::Id,
            InputIdScheme::Code => IdScheme::Code,
            InputIdScheme::Name => IdScheme::Name,
        }
    }
}

impl From<InputIdScheme> for IdScheme {
    fn from(scheme: InputIdScheme) -> Self {
        scheme.id_scheme()
    }
}

impl fmt::Display for InputIdScheme {
    /// The canonical upper-case name.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.id_scheme().fmt(f)
    }
}

impl FromStr for InputIdScheme {
    type Err = IdSchemeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        InputIdScheme::parse(s)
    }
}

impl serde::Serialize for InputIdScheme {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for InputIdScheme {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <Cow<'de, str>>::deserialize(d)?;
        InputIdScheme::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// The input scheme parameters of an export request. Each specific scheme falls back
/// to `inputIdScheme`, then to UID. Field names follow the DHIS2 parameters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct InputIdSchemes {
    /// `inputIdScheme`: the fallback for every input identifier; it alone governs
    /// `attributeOptionCombo` filters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_id_scheme: Option<InputIdScheme>,
    /// `inputOrgUnitIdScheme`, for `orgUnit`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_org_unit_id_scheme: Option<InputIdScheme>,
    /// `inputDataSetIdScheme`, for `dataSet`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_data_set_id_scheme: Option<InputIdScheme>,
    /// `inputDataElementGroupIdScheme`, for `dataElementGroup`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_data_element_group_id_scheme: Option<InputIdScheme>,
    /// `inputDataElementIdScheme`, for `dataElement`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_data_element_id_scheme: Option<InputIdScheme>,
}

impl InputIdSchemes {
    fn or_general(&self, specific: Option<InputIdScheme>) -> InputIdScheme {
        specific.unwrap_or_else(|| self.general())
    }

    /// `inputIdScheme`, else UID.
    #[must_use]
    pub fn general(&self) -> InputIdScheme {
        self.input_id_scheme.unwrap_or(InputIdScheme::Uid)
    }

    /// Scheme of the `orgUnit` parameters.
    #[must_use]
    pub fn org_unit(&self) -> InputIdScheme {
        self.or_general(self.input_org_unit_id_scheme)
    }

    /// Scheme of the `dataSet` parameters.
    #[must_use]
    pub fn data_set(&self) -> InputIdScheme {
        self.or_general(self.input_data_set_id_scheme)
    }

    /// Scheme of the `dataElementGroup` parameters.
    #[must_use]
    pub fn data_element_group(&self) -> InputIdScheme {
        self.or_general(self.input_data_element_group_id_scheme)
    }

    /// Scheme of the `dataElement` parameters.
    #[must_use]
    pub fn data_element(&self) -> InputIdScheme {
        self.or_general(self.input_data_element_id_scheme)
    }

    /// Scheme of the `attributeOptionCombo` parameters: there is no specific input
    /// parameter, so this is the general one.
    #[must_use]
    pub fn attribute_option_combo(&self) -> InputIdScheme {
        self.general()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn uid(s: &str) -> Uid {
        Uid::parse(s).unwrap()
    }

    const ATTR: &str = "uh6H2ff562G";

    #[test]
    fn parses_every_spelling_case_insensitively() {
        let table = [
            ("UID", IdScheme::Uid),
            ("uid", IdScheme::Uid),
            ("Uid", IdScheme::Uid),
            ("CODE", IdScheme::Code),
            ("code", IdScheme::Code),
            ("cOdE", IdScheme::Code),
            ("NAME", IdScheme::Name),
            ("name", IdScheme::Name),
            ("ID", IdScheme::Id),
            ("id", IdScheme::Id),
            ("UUID", IdScheme::Uuid),
            ("uuid", IdScheme::Uuid),
            ("ATTRIBUTE:uh6H2ff562G", IdScheme::Attribute(uid(ATTR))),
            ("attribute:uh6H2ff562G", IdScheme::Attribute(uid(ATTR))),
            ("Attribute:uh6H2ff562G", IdScheme::Attribute(uid(ATTR))),
        ];
        for (input, expected) in table {
            assert_eq!(IdScheme::parse(input), Ok(expected), "{input}");
            assert_eq!(input.parse::<IdScheme>(), Ok(expected), "{input}");
        }
    }

    #[test]
    fn attribute_uid_keeps_its_case() {
        let scheme = IdScheme::parse("attribute:uh6H2ff562G").unwrap();
        assert_eq!(
            scheme.attribute().map(|u| u.as_str().to_owned()),
            Some(ATTR.to_owned())
        );
        assert_eq!(scheme.to_string(), "ATTRIBUTE:uh6H2ff562G");
        assert_eq!(IdScheme::Code.attribute(), None);
    }

    #[test]
    fn rejects_bad_spellings_and_keeps_the_input() {
        for bad in [
            "",
            "foo",
            "UIDS",
            " UID",
            "UID ",
            "CO DE",
            "ATTRIBUTE",
            "ATTRIBUTE:",
            "ATTRIBUTE:short",
            "ATTRIBUTE:uh6H2ff562GX",
            "ATTRIBUTE:uh6H2ff562",
            "ATTRIBUTE: uh6H2ff562G",
            "ATTRIBUTE:uh6H2ff562G ",
            "ATTRIBUTE:1h6H2ff562G",
            "ATTRIBUTE:uh6H2ff-62G",
            "ATTRIBUTES:h6H2ff562G",
            "ATTRIBUTE;uh6H2ff562G",
            "ÄTTRIBUTE:uh6H2ff562G",
            "uh6H2ff562G",
        ] {
            let err = IdScheme::parse(bad).unwrap_err();
            assert_eq!(err.input(), bad);
            assert_eq!(err.to_string(), format!("invalid id scheme: `{bad}`"));
        }
    }

    #[test]
    fn display_is_canonical() {
        let table = [
            (IdScheme::Uid, "UID"),
            (IdScheme::Code, "CODE"),
            (IdScheme::Name, "NAME"),
            (IdScheme::Id, "ID"),
            (IdScheme::Uuid, "UUID"),
            (IdScheme::Attribute(uid(ATTR)), "ATTRIBUTE:uh6H2ff562G"),
        ];
        for (scheme, text) in table {
            assert_eq!(scheme.to_string(), text);
            assert_eq!(
                serde_json::to_string(&scheme).unwrap(),
                format!("\"{text}\"")
            );
            assert_eq!(
                serde_json::from_str::<IdScheme>(&format!("\"{text}\"")).unwrap(),
                scheme
            );
        }
        assert!(serde_json::from_str::<IdScheme>("\"foo\"").is_err());
        assert!(serde_json::from_str::<IdScheme>("1").is_err());
    }

    #[test]
    fn id_schemes_serde_uses_dhis2_names_and_omits_absent_ones() {
        let schemes = IdSchemes::general(IdScheme::Code)
            .with(ObjectKind::DataElement, IdScheme::Name)
            .with(
                ObjectKind::AttributeOptionCombo,
                IdScheme::Attribute(uid(ATTR)),
            );
        let json = serde_json::to_value(schemes).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "idScheme": "CODE",
                "dataElementIdScheme": "NAME",
                "attributeOptionComboIdScheme": "ATTRIBUTE:uh6H2ff562G",
            })
        );
        let back: IdSchemes = serde_json::from_value(json).unwrap();
        assert_eq!(back, schemes);
        let all: IdSchemes = serde_json::from_value(serde_json::json!({
            "idScheme": "uid",
            "dataElementIdScheme": "code",
            "orgUnitIdScheme": "name",
            "categoryOptionComboIdScheme": "id",
            "attributeOptionComboIdScheme": "uuid",
            "dataSetIdScheme": "CODE",
            "categoryIdScheme": "NAME",
            "categoryOptionIdScheme": "attribute:uh6H2ff562G",
            "somethingElse": 1,
        }))
        .unwrap();
        assert_eq!(all.id_scheme, Some(IdScheme::Uid));
        assert_eq!(all.specific(ObjectKind::DataElement), Some(IdScheme::Code));
        assert_eq!(all.specific(ObjectKind::OrgUnit), Some(IdScheme::Name));
        assert_eq!(
            all.specific(ObjectKind::CategoryOptionCombo),
            Some(IdScheme::Id)
        );
        assert_eq!(
            all.specific(ObjectKind::AttributeOptionCombo),
            Some(IdScheme::Uuid)
        );
        assert_eq!(all.specific(ObjectKind::DataSet), Some(IdScheme::Code));
        assert_eq!(all.specific(ObjectKind::Category), Some(IdScheme::Name));
        assert_eq!(
            all.specific(ObjectKind::CategoryOption),
            Some(IdScheme::Attribute(uid(ATTR)))
        );
        assert!(
            serde_json::from_value::<IdSchemes>(serde_json::json!({"idScheme": "foo"})).is_err()
        );
        assert!(IdSchemes::NONE.is_empty());
        assert!(!all.is_empty());
        assert_eq!(serde_json::to_string(&IdSchemes::NONE).unwrap(), "{}");
    }

    /// The import kinds and their own slot (AOC shares the COC slot).
    const IMPORT_KINDS: [ObjectKind; 6] = [
        ObjectKind::DataElement,
        ObjectKind::OrgUnit,
        ObjectKind::CategoryOptionCombo,
        ObjectKind::DataSet,
        ObjectKind::Category,
        ObjectKind::CategoryOption,
    ];

    #[test]
    fn import_defaults() {
        let plain = ImportIdSchemes::new(IdSchemes::NONE);
        let adx = ImportIdSchemes::adx(IdSchemes::NONE);
        assert_eq!(plain.general(), IdScheme::Uid);
        assert_eq!(adx.general(), IdScheme::Code);
        for kind in IMPORT_KINDS {
            assert_eq!(plain.scheme_for(kind), IdScheme::Uid);
            assert_eq!(adx.scheme_for(kind), IdScheme::Code);
        }
    }

    #[test]
    fn import_precedence_every_level_beats_the_ones_below() {
        // Distinct schemes per level, highest first.
        let payload_specific = IdScheme::Attribute(uid(ATTR));
        let payload_general = IdScheme::Name;
        let url_specific = IdScheme::Code;
        let url_general = IdScheme::Id;
        for kind in IMPORT_KINDS {
            let url_full = IdSchemes::general(url_general).with(kind, url_specific);
            let payload_full = IdSchemes::general(payload_general).with(kind, payload_specific);
            let payload_general_only = IdSchemes::general(payload_general);
            let payload_specific_only = IdSchemes::NONE.with(kind, payload_specific);

            let all = ImportIdSchemes::new(url_full).with_payload(payload_full);
            assert_eq!(
                all.scheme_for(kind),
                payload_specific,
                "{kind:?}: payload specific wins"
            );

            let no_payload_specific =
                ImportIdSchemes::new(url_full).with_payload(payload_general_only);
            assert_eq!(
                no_payload_specific.scheme_for(kind),
                payload_general,
                "{kind:?}: payload general beats URL specific"
            );

            let specific_only = ImportIdSchemes::new(url_full).with_payload(payload_specific_only);
            assert_eq!(specific_only.scheme_for(kind), payload_specific, "{kind:?}");

            let url_only = ImportIdSchemes::new(url_full);
            assert_eq!(
                url_only.scheme_for(kind),
                url_specific,
                "{kind:?}: URL specific beats URL general"
            );

            let url_general_only = ImportIdSchemes::new(IdSchemes::general(url_general));
            assert_eq!(url_general_only.scheme_for(kind), url_general, "{kind:?}");

            let url_specific_only = ImportIdSchemes::new(IdSchemes::NONE.with(kind, url_specific));
            assert_eq!(url_specific_only.scheme_for(kind), url_specific, "{kind:?}");
            assert_eq!(url_specific_only.general(), IdScheme::Uid);

            // A specific scheme for another kind never leaks.
            for other in IMPORT_KINDS.into_iter().filter(|&o| o != kind) {
                assert_eq!(
                    all.scheme_for(other),
                    payload_general,
                    "{kind:?} -> {other:?}"
                );
                assert_eq!(
                    url_only.scheme_for(other),
                    url_general,
                    "{kind:?} -> {other:?}"
                );
            }
        }
    }

    #[test]
    fn general_scheme_uses_payload_then_url_then_default() {
        let url = IdSchemes::general(IdScheme::Code);
        assert_eq!(ImportIdSchemes::new(url).general(), IdScheme::Code);
        assert_eq!(
            ImportIdSchemes::new(url)
                .with_payload(IdSchemes::general(IdScheme::Name))
                .general(),
            IdScheme::Name
        );
        // Specific schemes do not affect the general one.
        let specific = IdSchemes::NONE.with(ObjectKind::DataElement, IdScheme::Code);
        assert_eq!(
            ImportIdSchemes::new(specific)
                .with_payload(specific)
                .general(),
            IdScheme::Uid
        );
    }

    #[test]
    fn aoc_uses_the_coc_scheme_on_import() {
        let url = IdSchemes::NONE
            .with(ObjectKind::CategoryOptionCombo, IdScheme::Code)
            .with(ObjectKind::AttributeOptionCombo, IdScheme::Name);
        let schemes = ImportIdSchemes::new(url);
        assert_eq!(schemes.attribute_option_combo(), IdScheme::Code);
        assert_eq!(schemes.category_option_combo(), IdScheme::Code);
        let only_aoc = ImportIdSchemes::new(
            IdSchemes::NONE.with(ObjectKind::AttributeOptionCombo, IdScheme::Name),
        );
        assert_eq!(only_aoc.attribute_option_combo(), IdScheme::Uid);
        let payload = ImportIdSchemes::new(IdSchemes::NONE)
            .with_payload(IdSchemes::NONE.with(ObjectKind::CategoryOptionCombo, IdScheme::Name));
        assert_eq!(payload.attribute_option_combo(), IdScheme::Name);
    }

    #[test]
    fn adx_default_is_code_but_url_specific_still_applies() {
        let url = IdSchemes::NONE.with(ObjectKind::DataElement, IdScheme::Uid);
        let schemes = ImportIdSchemes::adx(url);
        assert_eq!(schemes.data_element(), IdScheme::Uid);
        assert_eq!(schemes.org_unit(), IdScheme::Code);
        assert_eq!(schemes.data_set(), IdScheme::Code);
        assert_eq!(schemes.category(), IdScheme::Code);
        assert_eq!(schemes.category_option(), IdScheme::Code);
        assert_eq!(schemes.general(), IdScheme::Code);
        // An explicit general URL scheme replaces the ADX default.
        let explicit = ImportIdSchemes::adx(
            IdSchemes::general(IdScheme::Name).with(ObjectKind::CategoryOption, IdScheme::Uid),
        );
        assert_eq!(explicit.general(), IdScheme::Name);
        assert_eq!(explicit.category(), IdScheme::Name);
        assert_eq!(explicit.category_option(), IdScheme::Uid);
    }

    #[test]
    fn output_schemes_fall_back_to_the_general_one() {
        let kinds = [
            ObjectKind::DataElement,
            ObjectKind::OrgUnit,
            ObjectKind::CategoryOptionCombo,
            ObjectKind::AttributeOptionCombo,
            ObjectKind::DataSet,
            ObjectKind::Category,
            ObjectKind::CategoryOption,
        ];
        for kind in kinds {
            assert_eq!(
                OutputIdSchemes::new(IdSchemes::NONE).scheme_for(kind),
                IdScheme::Uid
            );
            assert_eq!(
                OutputIdSchemes::adx(IdSchemes::NONE).scheme_for(kind),
                IdScheme::Code
            );
            let general = IdSchemes::general(IdScheme::Name);
            assert_eq!(
                OutputIdSchemes::new(general).scheme_for(kind),
                IdScheme::Name
            );
            let specific = general.with(kind, IdScheme::Attribute(uid(ATTR)));
            let out = OutputIdSchemes::new(specific);
            assert_eq!(out.scheme_for(kind), IdScheme::Attribute(uid(ATTR)));
            for other in kinds.into_iter().filter(|&o| o != kind) {
                assert_eq!(
                    out.scheme_for(other),
                    IdScheme::Name,
                    "{kind:?} -> {other:?}"
                );
            }
        }
        // On export the AOC has its own scheme, independent of the COC one.
        let out = OutputIdSchemes::new(
            IdSchemes::NONE
                .with(ObjectKind::CategoryOptionCombo, IdScheme::Code)
                .with(ObjectKind::AttributeOptionCombo, IdScheme::Name),
        );
        assert_eq!(
            out.scheme_for(ObjectKind::AttributeOptionCombo),
            IdScheme::Name
        );
        assert_eq!(
            out.scheme_for(ObjectKind::CategoryOptionCombo),
            IdScheme::Code
        );
        assert_eq!(out.general(), IdScheme::Uid);
    }

    #[test]
    fn input_schemes_parse_only_uid_id_code_name() {
        for (text, expected) in [
            ("UID", InputIdScheme::Uid),
            ("uid", InputIdScheme::Uid),
            ("ID", InputIdScheme::Id),
            ("Id", InputIdScheme::Id),
            ("CODE", InputIdScheme::Code),
            ("code", InputIdScheme::Code),
            ("NAME", InputIdScheme::Name),
            ("nAmE", InputIdScheme::Name),
        ] {
            assert_eq!(InputIdScheme::parse(text), Ok(expected));
            assert_eq!(expected.to_string(), text.to_uppercase());
            assert_eq!(IdScheme::from(expected).to_string(), text.to_uppercase());
        }
        for bad in ["", "UUID", "ATTRIBUTE:uh6H2ff562G", "foo", " CODE"] {
            assert_eq!(InputIdScheme::parse(bad).unwrap_err().input(), bad);
        }
    }

    #[test]
    fn input_schemes_fall_back_to_input_id_scheme_then_uid() {
        let none = InputIdSchemes::default();
        assert_eq!(none.org_unit(), InputIdScheme::Uid);
        assert_eq!(none.data_set(), InputIdScheme::Uid);
        assert_eq!(none.data_element_group(), InputIdScheme::Uid);
        assert_eq!(none.data_element(), InputIdScheme::Uid);
        assert_eq!(none.attribute_option_combo(), InputIdScheme::Uid);

        let general = InputIdSchemes {
            input_id_scheme: Some(InputIdScheme::Code),
            ..InputIdSchemes::default()
        };
        assert_eq!(general.org_unit(), InputIdScheme::Code);
        assert_eq!(general.data_set(), InputIdScheme::Code);
        assert_eq!(general.data_element_group(), InputIdScheme::Code);
        assert_eq!(general.data_element(), InputIdScheme::Code);
        assert_eq!(general.attribute_option_combo(), InputIdScheme::Code);

        let specific = InputIdSchemes {
            input_id_scheme: Some(InputIdScheme::Code),
            input_org_unit_id_scheme: Some(InputIdScheme::Name),
            input_data_set_id_scheme: Some(InputIdScheme::Id),
            input_data_element_group_id_scheme: Some(InputIdScheme::Uid),
            input_data_element_id_scheme: Some(InputIdScheme::Name),
        };
        assert_eq!(specific.org_unit(), InputIdScheme::Name);
        assert_eq!(specific.data_set(), InputIdScheme::Id);
        assert_eq!(specific.data_element_group(), InputIdScheme::Uid);
        assert_eq!(specific.data_element(), InputIdScheme::Name);
        assert_eq!(specific.attribute_option_combo(), InputIdScheme::Code);

        let parsed: InputIdSchemes = serde_json::from_value(serde_json::json!({
            "inputIdScheme": "code",
            "inputOrgUnitIdScheme": "name",
            "inputDataSetIdScheme": "id",
            "inputDataElementGroupIdScheme": "uid",
            "inputDataElementIdScheme": "NAME",
        }))
        .unwrap();
        assert_eq!(parsed, specific);
        assert!(
            serde_json::from_value::<InputIdSchemes>(serde_json::json!({"inputIdScheme": "UUID"}))
                .is_err()
        );
    }

    proptest! {
        #[test]
        fn attribute_schemes_round_trip(seed in any::<u64>(), mask in any::<u16>()) {
            let mut x = seed | 1;
            let attr = Uid::generate(|| { x ^= x << 13; x ^= x >> 7; x ^= x << 17; x });
            // Randomise the case of the prefix.
            let prefix: String = ATTRIBUTE_PREFIX
                .chars()
                .enumerate()
                .map(|(i, c)| if mask >> i & 1 == 1 { c.to_ascii_lowercase() } else { c })
                .collect();
            let text = format!("{prefix}{attr}");
            let scheme = IdScheme::parse(&text).unwrap();
            prop_assert_eq!(scheme, IdScheme::Attribute(attr));
            prop_assert_eq!(IdScheme::parse(&scheme.to_string()).unwrap(), scheme);
        }

        #[test]
        fn parse_never_panics_and_display_round_trips(s in "\\PC{0,24}") {
            if let Ok(scheme) = IdScheme::parse(&s) {
                prop_assert_eq!(IdScheme::parse(&scheme.to_string()).unwrap(), scheme);
                prop_assert!(scheme.to_string().eq_ignore_ascii_case(&s));
            }
        }
    }
}
