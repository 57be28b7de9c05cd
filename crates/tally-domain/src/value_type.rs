//! DHIS2 value types and the rules a data value must pass (spec §3.5 and §4.4).
//!
//! Every data element has a [`ValueType`]. Before a value is stored, DHIS2:
//!
//! 1. normalises boolean spellings ([`normalize_boolean`]);
//! 2. checks the normalised, **untrimmed** value against the type ([`validate`]); a failure
//!    becomes conflict E7619 (bulk import) or E2030 (single-value API) carrying a
//!    [`ValueReason`];
//! 3. stores the value trimmed with Java's `String.trim` rules ([`java_trim`]).
//!
//! The zero rule ([`is_zero_insignificant`]), the comment limit ([`validate_comment`], E7620)
//! and the storedBy limit ([`validate_stored_by`], E7637) live here too.
//!
//! The checks are hand-written rather than regex-based: they run once per imported value,
//! so they must not allocate. Where DHIS2 leans on a Java library (Joda-Time for
//! DATETIME, Apache Commons for EMAIL and URL) the behaviour of that library is
//! reproduced; the few places where it is only approximated are documented on the
//! private helpers of the submodules.
//!
//! Lengths are counted like Java's `String.length()`, in UTF-16 code units, because that
//! is what DHIS2 compares with its limits.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

mod net;
mod numeric;
mod temporal;
mod text;

#[cfg(test)]
mod tests;

/// Longest accepted data value, in UTF-16 code units (`value_length_greater_than_max_length`).
pub const MAX_VALUE_LENGTH: usize = 50_000;

/// Longest accepted comment, in UTF-16 code units (E7620).
pub const MAX_COMMENT_LENGTH: usize = 50_000;

/// Longest accepted `storedBy`, in UTF-16 code units (E7637).
pub const MAX_STORED_BY_LENGTH: usize = 255;

/// The value type of a data element, named exactly as DHIS2 names it on the wire
/// (`NUMBER`, `TRUE_ONLY`, ...). The name is what metadata carries and what the
/// single-value API puts in E2030, so it is the only (de)serialised form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ValueType {
    /// `NUMBER`: a decimal number without exponent or leading zeros.
    Number,
    /// `INTEGER`: a 32-bit integer.
    Integer,
    /// `INTEGER_POSITIVE`: 1 to 2,147,483,647.
    IntegerPositive,
    /// `INTEGER_NEGATIVE`: -2,147,483,648 to -1.
    IntegerNegative,
    /// `INTEGER_ZERO_OR_POSITIVE`: 0 to 2,147,483,647.
    IntegerZeroOrPositive,
    /// `PERCENTAGE`: a NUMBER from 0 to 100.
    Percentage,
    /// `UNIT_INTERVAL`: a NUMBER from 0 to 1.
    UnitInterval,
    /// `BOOLEAN`: `true` or `false`.
    Boolean,
    /// `TRUE_ONLY`: only `true`; "false" is expressed by deleting the value.
    TrueOnly,
    /// `TEXT`: free text (not limited to 255 characters).
    Text,
    /// `LONG_TEXT`: free text.
    LongText,
    /// `MULTI_TEXT`: comma-separated option codes; needs an option set.
    MultiText,
    /// `LETTER`: a single letter.
    Letter,
    /// `PHONE_NUMBER`: digits and a few punctuation characters.
    PhoneNumber,
    /// `EMAIL`: an e-mail address.
    Email,
    /// `DATE`: `yyyy-MM-dd` (anything may follow, see [`validate`]).
    Date,
    /// `DATETIME`: a date and a time of day.
    Datetime,
    /// `TIME`: `HH:mm`.
    Time,
    /// `AGE`: stored as a date of birth, validated like DATE.
    Age,
    /// `COORDINATE`: `[longitude,latitude]`.
    Coordinate,
    /// `URL`: an http, https or ftp URL.
    Url,
    /// `USERNAME`: a DHIS2 user name.
    Username,
    /// `ORGANISATION_UNIT`: an organisation unit UID.
    OrganisationUnit,
    /// `FILE_RESOURCE`: a file resource UID.
    FileResource,
    /// `IMAGE`: a file resource UID holding an image.
    Image,
    /// `TRACKER_ASSOCIATE`: tracker only; not checked.
    TrackerAssociate,
    /// `REFERENCE`: tracker only; not checked.
    Reference,
    /// `GEOJSON`: a GeoJSON geometry; not checked.
    Geojson,
}

/// The name given to [`ValueType::from_str`] is not a DHIS2 value type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown value type: `{0}`")]
pub struct UnknownValueType(pub String);

impl ValueType {
    /// Every value type, in declaration order. Handy for exhaustive tests and for listing
    /// the accepted names in error messages.
    pub const ALL: [ValueType; 28] = [
        ValueType::Number,
        ValueType::Integer,
        ValueType::IntegerPositive,
        ValueType::IntegerNegative,
        ValueType::IntegerZeroOrPositive,
        ValueType::Percentage,
        ValueType::UnitInterval,
        ValueType::Boolean,
        ValueType::TrueOnly,
        ValueType::Text,
        ValueType::LongText,
        ValueType::MultiText,
        ValueType::Letter,
        ValueType::PhoneNumber,
        ValueType::Email,
        ValueType::Date,
        ValueType::Datetime,
        ValueType::Time,
        ValueType::Age,
        ValueType::Coordinate,
        ValueType::Url,
        ValueType::Username,
        ValueType::OrganisationUnit,
        ValueType::FileResource,
        ValueType::Image,
        ValueType::TrackerAssociate,
        ValueType::Reference,
        ValueType::Geojson,
    ];

    /// The DHIS2 name, such as `INTEGER_ZERO_OR_POSITIVE`. This is the metadata and
    /// wire form, and the argument of the single-value API's E2030 message.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            ValueType::Number => "NUMBER",
            ValueType::Integer => "INTEGER",
            ValueType::IntegerPositive => "INTEGER_POSITIVE",
            ValueType::IntegerNegative => "INTEGER_NEGATIVE",
            ValueType::IntegerZeroOrPositive => "INTEGER_ZERO_OR_POSITIVE",
            ValueType::Percentage => "PERCENTAGE",
            ValueType::UnitInterval => "UNIT_INTERVAL",
            ValueType::Boolean => "BOOLEAN",
            ValueType::TrueOnly => "TRUE_ONLY",
            ValueType::Text => "TEXT",
            ValueType::LongText => "LONG_TEXT",
            ValueType::MultiText => "MULTI_TEXT",
            ValueType::Letter => "LETTER",
            ValueType::PhoneNumber => "PHONE_NUMBER",
            ValueType::Email => "EMAIL",
            ValueType::Date => "DATE",
            ValueType::Datetime => "DATETIME",
            ValueType::Time => "TIME",
            ValueType::Age => "AGE",
            ValueType::Coordinate => "COORDINATE",
            ValueType::Url => "URL",
            ValueType::Username => "USERNAME",
            ValueType::OrganisationUnit => "ORGANISATION_UNIT",
            ValueType::FileResource => "FILE_RESOURCE",
            ValueType::Image => "IMAGE",
            ValueType::TrackerAssociate => "TRACKER_ASSOCIATE",
            ValueType::Reference => "REFERENCE",
            ValueType::Geojson => "GEOJSON",
        }
    }

    /// The seven numeric types. Only these are subject to the zero rule (§3.5), and
    /// only these may be sent as a bare `value` in ADX (others need an `<annotation>`).
    #[must_use]
    pub const fn is_numeric(self) -> bool {
        self.is_integer() || self.is_decimal()
    }

    /// The four integer types (INTEGER and its signed variants).
    #[must_use]
    pub const fn is_integer(self) -> bool {
        matches!(
            self,
            ValueType::Integer
                | ValueType::IntegerPositive
                | ValueType::IntegerNegative
                | ValueType::IntegerZeroOrPositive
        )
    }

    /// The decimal types: NUMBER, PERCENTAGE and UNIT_INTERVAL.
    #[must_use]
    pub const fn is_decimal(self) -> bool {
        matches!(
            self,
            ValueType::Number | ValueType::Percentage | ValueType::UnitInterval
        )
    }

    /// BOOLEAN and TRUE_ONLY: the types whose values go through [`normalize_boolean`].
    #[must_use]
    pub const fn is_boolean(self) -> bool {
        matches!(self, ValueType::Boolean | ValueType::TrueOnly)
    }

    /// Types whose value is text for the user, as opposed to a number, a date, a
    /// boolean, a reference or a geometry: TEXT, LONG_TEXT, MULTI_TEXT, LETTER, TIME,
    /// USERNAME, EMAIL, PHONE_NUMBER and URL (DHIS2's text group plus MULTI_TEXT).
    #[must_use]
    pub const fn is_text(self) -> bool {
        matches!(
            self,
            ValueType::Text
                | ValueType::LongText
                | ValueType::MultiText
                | ValueType::Letter
                | ValueType::Time
                | ValueType::Username
                | ValueType::Email
                | ValueType::PhoneNumber
                | ValueType::Url
        )
    }

    /// DATE, DATETIME and AGE.
    #[must_use]
    pub const fn is_date(self) -> bool {
        matches!(self, ValueType::Date | ValueType::Datetime | ValueType::Age)
    }

    /// FILE_RESOURCE and IMAGE: the value is a file resource UID, and storing or
    /// deleting the value assigns or removes that file (§3.3, E7645).
    #[must_use]
    pub const fn is_file(self) -> bool {
        matches!(self, ValueType::FileResource | ValueType::Image)
    }

    /// COORDINATE and GEOJSON.
    #[must_use]
    pub const fn is_geo(self) -> bool {
        matches!(self, ValueType::Coordinate | ValueType::Geojson)
    }

    /// MULTI_TEXT: its value is split on `,` for the option check (E7621), and the
    /// element must have an option set (`data_element_lacks_option_set`).
    #[must_use]
    pub const fn is_multi_text(self) -> bool {
        matches!(self, ValueType::MultiText)
    }

    /// The reason a value of this type fails its type check, or `None` for types whose
    /// only check is the length (TEXT, LONG_TEXT, MULTI_TEXT, TRACKER_ASSOCIATE,
    /// REFERENCE, GEOJSON).
    #[must_use]
    pub const fn failure_reason(self) -> Option<ValueReason> {
        Some(match self {
            ValueType::Number => ValueReason::ValueNotNumeric,
            ValueType::Integer => ValueReason::ValueNotInteger,
            ValueType::IntegerPositive => ValueReason::ValueNotPositiveInteger,
            ValueType::IntegerNegative => ValueReason::ValueNotNegativeInteger,
            ValueType::IntegerZeroOrPositive => ValueReason::ValueNotZeroOrPositiveInteger,
            ValueType::Percentage => ValueReason::ValueNotPercentage,
            ValueType::UnitInterval => ValueReason::ValueNotUnitInterval,
            ValueType::Boolean => ValueReason::ValueNotBool,
            ValueType::TrueOnly => ValueReason::ValueNotTrueOnly,
            ValueType::Letter => ValueReason::ValueNotValidLetter,
            ValueType::PhoneNumber => ValueReason::ValueNotPhoneNumber,
            ValueType::Email => ValueReason::ValueNotValidEmail,
            ValueType::Date => ValueReason::ValueNotValidDate,
            ValueType::Datetime => ValueReason::ValueNotValidDatetime,
            ValueType::Time => ValueReason::ValueNotValidTime,
            ValueType::Age => ValueReason::ValueNotValidAge,
            ValueType::Coordinate => ValueReason::ValueNotCoordinate,
            ValueType::Url => ValueReason::ValueNotUrl,
            ValueType::Username => ValueReason::ValueNotValidUsername,
            ValueType::OrganisationUnit => ValueReason::ValueNotValidOrgUnitUid,
            ValueType::FileResource | ValueType::Image => ValueReason::ValueNotValidFileResourceUid,
            ValueType::Text
            | ValueType::LongText
            | ValueType::MultiText
            | ValueType::TrackerAssociate
            | ValueType::Reference
            | ValueType::Geojson => return None,
        })
    }
}

impl fmt::Display for ValueType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ValueType {
    type Err = UnknownValueType;

    /// Parses the exact DHIS2 name (case-sensitive, as in DHIS2 metadata).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ValueType::ALL
            .into_iter()
            .find(|t| t.name() == s)
            .ok_or_else(|| UnknownValueType(s.to_owned()))
    }
}

impl serde::Serialize for ValueType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> serde::Deserialize<'de> for ValueType {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Why a value, comment or storedBy was refused. DHIS2 reports these as i18n keys:
/// the key goes into the conflict's `objects` map (`"value": "value_not_numeric"`), so
/// different keys give different conflict groups, and the English text goes into the
/// message (`... data element `x`: `Data value is not numeric``).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ValueReason {
    /// `value_not_numeric` (NUMBER).
    ValueNotNumeric,
    /// `value_not_integer` (INTEGER).
    ValueNotInteger,
    /// `value_not_positive_integer` (INTEGER_POSITIVE).
    ValueNotPositiveInteger,
    /// `value_not_negative_integer` (INTEGER_NEGATIVE).
    ValueNotNegativeInteger,
    /// `value_not_zero_or_positive_integer` (INTEGER_ZERO_OR_POSITIVE).
    ValueNotZeroOrPositiveInteger,
    /// `value_not_percentage` (PERCENTAGE).
    ValueNotPercentage,
    /// `value_not_unit_interval` (UNIT_INTERVAL).
    ValueNotUnitInterval,
    /// `value_not_bool` (BOOLEAN).
    ValueNotBool,
    /// `value_not_true_only` (TRUE_ONLY).
    ValueNotTrueOnly,
    /// `value_not_valid_date` (DATE).
    ValueNotValidDate,
    /// `value_not_valid_age` (AGE).
    ValueNotValidAge,
    /// `value_not_valid_datetime` (DATETIME).
    ValueNotValidDatetime,
    /// `value_not_valid_time` (TIME).
    ValueNotValidTime,
    /// `value_not_valid_letter` (LETTER).
    ValueNotValidLetter,
    /// `value_not_phone_number` (PHONE_NUMBER).
    ValueNotPhoneNumber,
    /// `value_not_valid_email` (EMAIL).
    ValueNotValidEmail,
    /// `value_not_url` (URL).
    ValueNotUrl,
    /// `value_not_coordinate` (COORDINATE).
    ValueNotCoordinate,
    /// `value_not_valid_username` (USERNAME).
    ValueNotValidUsername,
    /// `value_not_valid_org_unit_uid` (ORGANISATION_UNIT).
    ValueNotValidOrgUnitUid,
    /// `value_not_valid_file_resource_uid` (FILE_RESOURCE, IMAGE).
    ValueNotValidFileResourceUid,
    /// `value_length_greater_than_max_length`: any type, over 50,000 characters.
    ValueLengthGreaterThanMaxLength,
    /// `data_element_lacks_option_set`: a MULTI_TEXT element without an option set.
    DataElementLacksOptionSet,
    /// `comment_length_greater_than_max_length`: E7620.
    CommentLengthGreaterThanMaxLength,
    /// `stored_by_length_greater_than_max_length`: E7637.
    StoredByLengthGreaterThanMaxLength,
}

impl ValueReason {
    /// Every reason, in declaration order.
    pub const ALL: [ValueReason; 25] = [
        ValueReason::ValueNotNumeric,
        ValueReason::ValueNotInteger,
        ValueReason::ValueNotPositiveInteger,
        ValueReason::ValueNotNegativeInteger,
        ValueReason::ValueNotZeroOrPositiveInteger,
        ValueReason::ValueNotPercentage,
        ValueReason::ValueNotUnitInterval,
        ValueReason::ValueNotBool,
        ValueReason::ValueNotTrueOnly,
        ValueReason::ValueNotValidDate,
        ValueReason::ValueNotValidAge,
        ValueReason::ValueNotValidDatetime,
        ValueReason::ValueNotValidTime,
        ValueReason::ValueNotValidLetter,
        ValueReason::ValueNotPhoneNumber,
        ValueReason::ValueNotValidEmail,
        ValueReason::ValueNotUrl,
        ValueReason::ValueNotCoordinate,
        ValueReason::ValueNotValidUsername,
        ValueReason::ValueNotValidOrgUnitUid,
        ValueReason::ValueNotValidFileResourceUid,
        ValueReason::ValueLengthGreaterThanMaxLength,
        ValueReason::DataElementLacksOptionSet,
        ValueReason::CommentLengthGreaterThanMaxLength,
        ValueReason::StoredByLengthGreaterThanMaxLength,
    ];

    /// The DHIS2 i18n key, such as `value_not_numeric`. This is the value of the
    /// conflict's `objects` entry, and therefore part of the conflict grouping key.
    #[must_use]
    pub const fn key(self) -> &'static str {
        match self {
            ValueReason::ValueNotNumeric => "value_not_numeric",
            ValueReason::ValueNotInteger => "value_not_integer",
            ValueReason::ValueNotPositiveInteger => "value_not_positive_integer",
            ValueReason::ValueNotNegativeInteger => "value_not_negative_integer",
            ValueReason::ValueNotZeroOrPositiveInteger => "value_not_zero_or_positive_integer",
            ValueReason::ValueNotPercentage => "value_not_percentage",
            ValueReason::ValueNotUnitInterval => "value_not_unit_interval",
            ValueReason::ValueNotBool => "value_not_bool",
            ValueReason::ValueNotTrueOnly => "value_not_true_only",
            ValueReason::ValueNotValidDate => "value_not_valid_date",
            ValueReason::ValueNotValidAge => "value_not_valid_age",
            ValueReason::ValueNotValidDatetime => "value_not_valid_datetime",
            ValueReason::ValueNotValidTime => "value_not_valid_time",
            ValueReason::ValueNotValidLetter => "value_not_valid_letter",
            ValueReason::ValueNotPhoneNumber => "value_not_phone_number",
            ValueReason::ValueNotValidEmail => "value_not_valid_email",
            ValueReason::ValueNotUrl => "value_not_url",
            ValueReason::ValueNotCoordinate => "value_not_coordinate",
            ValueReason::ValueNotValidUsername => "value_not_valid_username",
            ValueReason::ValueNotValidOrgUnitUid => "value_not_valid_org_unit_uid",
            ValueReason::ValueNotValidFileResourceUid => "value_not_valid_file_resource_uid",
            ValueReason::ValueLengthGreaterThanMaxLength => "value_length_greater_than_max_length",
            ValueReason::DataElementLacksOptionSet => "data_element_lacks_option_set",
            ValueReason::CommentLengthGreaterThanMaxLength => {
                "comment_length_greater_than_max_length"
            }
            ValueReason::StoredByLengthGreaterThanMaxLength => {
                "stored_by_length_greater_than_max_length"
            }
        }
    }

    /// The English text DHIS2 puts in the conflict message. Where DHIS2 has no
    /// translation for the key it shows the key itself, and so does this (spec §4.4:
    /// for example `value_not_valid_datetime` and `value_not_zero_or_positive_integer`).
    /// Keys for which the spec gives no English text are treated the same way.
    #[must_use]
    pub const fn message(self) -> &'static str {
        match self {
            ValueReason::ValueNotNumeric => "Data value is not numeric",
            ValueReason::ValueNotInteger => "Data value is not an integer",
            ValueReason::ValueNotPositiveInteger => "Data value is not a positive integer",
            ValueReason::ValueNotNegativeInteger => "Data value is not a negative integer",
            ValueReason::ValueNotPercentage => "Data value is not a percentage",
            ValueReason::ValueNotUnitInterval => "Data value is not a unit interval",
            ValueReason::ValueNotBool => "Data value is not a boolean",
            ValueReason::ValueNotTrueOnly => "Data value is not true",
            ValueReason::ValueNotValidDate => "Data value is not a valid date",
            ValueReason::ValueNotValidLetter => "Data value is not a valid letter",
            ValueReason::ValueLengthGreaterThanMaxLength => "Data value is greater than max length",
            other => other.key(),
        }
    }
}

impl fmt::Display for ValueReason {
    /// Writes the [`message`](ValueReason::message), the form used inside conflict texts.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for ValueReason {}

impl serde::Serialize for ValueReason {
    /// Serialises as the [`key`](ValueReason::key), the form of the conflict `objects` map.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.key())
    }
}

/// The spellings BOOLEAN and TRUE_ONLY turn into `true` (§3.5). Exact, case-sensitive.
const TRUE_SPELLINGS: [&str; 6] = ["true", "True", "TRUE", "t", "T", "1"];

/// The spellings BOOLEAN turns into `false` (§3.5). TRUE_ONLY keeps them as sent, so
/// they then fail with `value_not_true_only`.
const FALSE_SPELLINGS: [&str; 6] = ["false", "False", "FALSE", "f", "F", "0"];

/// Boolean normalisation, applied before validation and storage (§3.5).
///
/// For BOOLEAN, the six true spellings become `true` and the six false spellings become
/// `false`; for TRUE_ONLY only the true spellings are rewritten. Any other input,
/// including every value of a non-boolean type, comes back unchanged. The match is
/// exact: `tRuE` and ` true` are not rewritten (the first then passes BOOLEAN validation
/// and is stored as typed; the second fails it, because validation does not trim).
///
/// Never allocates; the `Cow` leaves room for callers that want an owned value.
#[must_use]
pub fn normalize_boolean(value_type: ValueType, value: &str) -> Cow<'_, str> {
    let normalised = match value_type {
        ValueType::Boolean if FALSE_SPELLINGS.contains(&value) => "false",
        ValueType::Boolean | ValueType::TrueOnly if TRUE_SPELLINGS.contains(&value) => "true",
        _ => value,
    };
    Cow::Borrowed(normalised)
}

/// Checks a data value against its value type (§4.4), returning the DHIS2 reason on
/// failure.
///
/// `value` must be the boolean-normalised ([`normalize_boolean`]) but **untrimmed**
/// value, as DHIS2 validates it: `" 5"` is not a NUMBER. A blank value (empty, or only
/// characters up to U+0020, Java's `trim` rule) always passes, since blank means "no
/// value". Next comes the 50,000-character limit, which applies to every type, and then
/// the type's own rule.
///
/// This does not check option sets; use [`validate_with_option_set`] for the MULTI_TEXT
/// requirement.
pub fn validate(value_type: ValueType, value: &str) -> Result<(), ValueReason> {
    if is_blank(value) {
        return Ok(());
    }
    if utf16_len_exceeds(value, MAX_VALUE_LENGTH) {
        return Err(ValueReason::ValueLengthGreaterThanMaxLength);
    }
    let valid = match value_type {
        ValueType::Number => numeric::is_number(value),
        ValueType::Integer => numeric::is_integer(value),
        ValueType::IntegerPositive => numeric::is_positive_integer(value),
        ValueType::IntegerNegative => numeric::is_negative_integer(value),
        ValueType::IntegerZeroOrPositive => numeric::is_zero_or_positive_integer(value),
        ValueType::Percentage => numeric::is_percentage(value),
        ValueType::UnitInterval => numeric::is_unit_interval(value),
        ValueType::Boolean => {
            value.eq_ignore_ascii_case("true") || value.eq_ignore_ascii_case("false")
        }
        ValueType::TrueOnly => value.eq_ignore_ascii_case("true"),
        ValueType::Date | ValueType::Age => temporal::is_date(value),
        ValueType::Datetime => temporal::is_datetime(value),
        ValueType::Time => temporal::is_time(value),
        ValueType::Letter => text::is_letter(value),
        ValueType::PhoneNumber => text::is_phone_number(value),
        ValueType::Email => net::is_email(value),
        ValueType::Url => net::is_url(value),
        ValueType::Coordinate => text::is_coordinate(value),
        ValueType::Username => text::is_username(value),
        ValueType::OrganisationUnit | ValueType::FileResource | ValueType::Image => {
            crate::uid::Uid::is_valid(value)
        }
        ValueType::Text
        | ValueType::LongText
        | ValueType::MultiText
        | ValueType::TrackerAssociate
        | ValueType::Reference
        | ValueType::Geojson => true,
    };
    match value_type.failure_reason() {
        Some(reason) if !valid => Err(reason),
        _ => Ok(()),
    }
}

/// [`validate`] plus the data element's option-set requirement, as the bulk import runs
/// it for E7619.
///
/// A MULTI_TEXT element without an option set fails with
/// `data_element_lacks_option_set` **before** the blank check, as in DHIS2, so even a
/// comment-only value is refused; pass `""` for a missing value. Whether the value is
/// one of the options is a separate check (E7621) that needs the option set itself.
pub fn validate_with_option_set(
    value_type: ValueType,
    has_option_set: bool,
    value: &str,
) -> Result<(), ValueReason> {
    if value_type.is_multi_text() && !has_option_set {
        return Err(ValueReason::DataElementLacksOptionSet);
    }
    validate(value_type, value)
}

/// The zero rule of §3.5: true when a value is a zero that DHIS2 does not store.
///
/// All of these must hold: the type is numeric, the element is not `zeroIsSignificant`,
/// its aggregation type is neither AVERAGE nor AVERAGE_SUM_ORG_UNIT, and the **raw**
/// value matches `^0(\.0*)?$` (`0`, `0.`, `0.000`, but not `-0`, `00` or ` 0`). Such a
/// value is ignored when new and deletes an existing live value.
#[must_use]
pub fn is_zero_insignificant(
    value_type: ValueType,
    zero_is_significant: bool,
    aggregation_type_is_average: bool,
    raw: &str,
) -> bool {
    value_type.is_numeric()
        && !zero_is_significant
        && !aggregation_type_is_average
        && numeric::is_zero(raw)
}

/// Checks a comment (E7620): blank passes, otherwise at most 50,000 UTF-16 code units.
pub fn validate_comment(comment: &str) -> Result<(), ValueReason> {
    if !is_blank(comment) && utf16_len_exceeds(comment, MAX_COMMENT_LENGTH) {
        return Err(ValueReason::CommentLengthGreaterThanMaxLength);
    }
    Ok(())
}

/// Checks a payload `storedBy` (E7637): blank passes (the current user is stored
/// instead), otherwise at most 255 UTF-16 code units.
pub fn validate_stored_by(stored_by: &str) -> Result<(), ValueReason> {
    if !is_blank(stored_by) && utf16_len_exceeds(stored_by, MAX_STORED_BY_LENGTH) {
        return Err(ValueReason::StoredByLengthGreaterThanMaxLength);
    }
    Ok(())
}

/// True when `s` is empty after Java's `String.trim()`, i.e. it holds only characters
/// up to U+0020 (space and the ASCII controls). This is DHIS2's "blank" for values,
/// comments and storedBy; note that U+00A0 and other Unicode spaces are *not* blank.
#[must_use]
pub fn is_blank(s: &str) -> bool {
    // Bytes of multi-byte UTF-8 sequences are all >= 0x80, so a byte test is exact.
    s.bytes().all(|b| b <= b' ')
}

/// Java's `String.trim()`: strips leading and trailing characters up to U+0020. DHIS2
/// stores values and comments trimmed this way (§3.3 step 3); an empty result means
/// null.
#[must_use]
pub fn java_trim(s: &str) -> &str {
    s.trim_matches(|c: char| c <= ' ')
}

/// Java's `\s` without `UNICODE_CHARACTER_CLASS`: space, tab, LF, VT, FF, CR.
fn is_java_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\u{0B}' | '\u{0C}' | '\r')
}

/// Java's line terminators: the characters `.` does not match without `DOTALL`.
fn is_line_terminator(c: char) -> bool {
    matches!(c, '\n' | '\r' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

/// Whether `s` is longer than `max` UTF-16 code units (Java's `String.length()`),
/// counting only when the byte length leaves any doubt.
fn utf16_len_exceeds(s: &str, max: usize) -> bool {
    // A UTF-8 string never has more UTF-16 units than bytes.
    if s.len() <= max {
        return false;
    }
    s.encode_utf16().nth(max).is_some()
}
