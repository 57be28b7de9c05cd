//! Table tests for the value type rules. Expected results come from the spec (§3.5,
//! §4.4) and, where the spec names a Java library, from that library's documented
//! behaviour; none were produced by running this code.

use super::*;
use proptest::prelude::*;

/// Asserts every `ok` value passes and every `bad` value fails with the type's reason.
fn check(value_type: ValueType, ok: &[&str], bad: &[&str]) {
    for v in ok {
        assert_eq!(
            validate(value_type, v),
            Ok(()),
            "{value_type} should accept {v:?}"
        );
    }
    let reason = value_type.failure_reason().expect("type has a reason");
    for v in bad {
        assert_eq!(
            validate(value_type, v),
            Err(reason),
            "{value_type} should reject {v:?}"
        );
    }
}

// ---------------------------------------------------------------------------------
// Names, serde, predicates, reasons
// ---------------------------------------------------------------------------------

#[test]
fn names_round_trip_through_from_str_and_serde() {
    let expected = [
        "NUMBER",
        "INTEGER",
        "INTEGER_POSITIVE",
        "INTEGER_NEGATIVE",
        "INTEGER_ZERO_OR_POSITIVE",
        "PERCENTAGE",
        "UNIT_INTERVAL",
        "BOOLEAN",
        "TRUE_ONLY",
        "TEXT",
        "LONG_TEXT",
        "MULTI_TEXT",
        "LETTER",
        "PHONE_NUMBER",
        "EMAIL",
        "DATE",
        "DATETIME",
        "TIME",
        "AGE",
        "COORDINATE",
        "URL",
        "USERNAME",
        "ORGANISATION_UNIT",
        "FILE_RESOURCE",
        "IMAGE",
        "TRACKER_ASSOCIATE",
        "REFERENCE",
        "GEOJSON",
    ];
    assert_eq!(ValueType::ALL.len(), expected.len());
    for (t, name) in ValueType::ALL.into_iter().zip(expected) {
        assert_eq!(t.name(), name);
        assert_eq!(t.to_string(), name);
        assert_eq!(name.parse::<ValueType>(), Ok(t));
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(json, format!("\"{name}\""));
        assert_eq!(serde_json::from_str::<ValueType>(&json).unwrap(), t);
    }
}

#[test]
fn unknown_names_are_rejected() {
    for bad in [
        "",
        "number",
        "Number",
        "NUMERIC",
        "INT",
        "TRUE ONLY",
        " NUMBER",
    ] {
        assert_eq!(
            bad.parse::<ValueType>(),
            Err(UnknownValueType(bad.to_owned()))
        );
    }
    assert!(serde_json::from_str::<ValueType>("\"DATE_TIME\"").is_err());
}

#[test]
fn numeric_types_are_exactly_the_seven_of_the_zero_rule() {
    let numeric: Vec<_> = ValueType::ALL
        .into_iter()
        .filter(|t| t.is_numeric())
        .collect();
    assert_eq!(
        numeric,
        [
            ValueType::Number,
            ValueType::Integer,
            ValueType::IntegerPositive,
            ValueType::IntegerNegative,
            ValueType::IntegerZeroOrPositive,
            ValueType::Percentage,
            ValueType::UnitInterval,
        ]
    );
}

#[test]
fn other_predicates() {
    let with = |p: fn(ValueType) -> bool| -> Vec<ValueType> {
        ValueType::ALL.into_iter().filter(|&t| p(t)).collect()
    };
    assert_eq!(
        with(ValueType::is_boolean),
        [ValueType::Boolean, ValueType::TrueOnly]
    );
    assert_eq!(
        with(ValueType::is_file),
        [ValueType::FileResource, ValueType::Image]
    );
    assert_eq!(
        with(ValueType::is_date),
        [ValueType::Date, ValueType::Datetime, ValueType::Age]
    );
    assert_eq!(
        with(ValueType::is_geo),
        [ValueType::Coordinate, ValueType::Geojson]
    );
    assert_eq!(with(ValueType::is_multi_text), [ValueType::MultiText]);
    assert_eq!(with(ValueType::is_integer).len(), 4);
    assert_eq!(
        with(ValueType::is_decimal),
        [
            ValueType::Number,
            ValueType::Percentage,
            ValueType::UnitInterval
        ]
    );
    let text = with(ValueType::is_text);
    for t in [
        ValueType::Text,
        ValueType::LongText,
        ValueType::Letter,
        ValueType::Email,
    ] {
        assert!(text.contains(&t), "{t} is text");
    }
    for t in [
        ValueType::Number,
        ValueType::Boolean,
        ValueType::Date,
        ValueType::Image,
    ] {
        assert!(!text.contains(&t), "{t} is not text");
    }
}

#[test]
fn reason_keys_and_messages() {
    let table = [
        (
            ValueReason::ValueNotNumeric,
            "value_not_numeric",
            "Data value is not numeric",
        ),
        (
            ValueReason::ValueNotInteger,
            "value_not_integer",
            "Data value is not an integer",
        ),
        (
            ValueReason::ValueNotPositiveInteger,
            "value_not_positive_integer",
            "Data value is not a positive integer",
        ),
        (
            ValueReason::ValueNotNegativeInteger,
            "value_not_negative_integer",
            "Data value is not a negative integer",
        ),
        (
            ValueReason::ValueNotZeroOrPositiveInteger,
            "value_not_zero_or_positive_integer",
            "value_not_zero_or_positive_integer",
        ),
        (
            ValueReason::ValueNotPercentage,
            "value_not_percentage",
            "Data value is not a percentage",
        ),
        (
            ValueReason::ValueNotUnitInterval,
            "value_not_unit_interval",
            "Data value is not a unit interval",
        ),
        (
            ValueReason::ValueNotBool,
            "value_not_bool",
            "Data value is not a boolean",
        ),
        (
            ValueReason::ValueNotTrueOnly,
            "value_not_true_only",
            "Data value is not true",
        ),
        (
            ValueReason::ValueNotValidDate,
            "value_not_valid_date",
            "Data value is not a valid date",
        ),
        (
            ValueReason::ValueNotValidAge,
            "value_not_valid_age",
            "value_not_valid_age",
        ),
        (
            ValueReason::ValueNotValidDatetime,
            "value_not_valid_datetime",
            "value_not_valid_datetime",
        ),
        (
            ValueReason::ValueNotValidTime,
            "value_not_valid_time",
            "value_not_valid_time",
        ),
        (
            ValueReason::ValueNotValidLetter,
            "value_not_valid_letter",
            "Data value is not a valid letter",
        ),
        (
            ValueReason::ValueNotPhoneNumber,
            "value_not_phone_number",
            "value_not_phone_number",
        ),
        (
            ValueReason::ValueNotValidEmail,
            "value_not_valid_email",
            "value_not_valid_email",
        ),
        (ValueReason::ValueNotUrl, "value_not_url", "value_not_url"),
        (
            ValueReason::ValueNotCoordinate,
            "value_not_coordinate",
            "value_not_coordinate",
        ),
        (
            ValueReason::ValueNotValidUsername,
            "value_not_valid_username",
            "value_not_valid_username",
        ),
        (
            ValueReason::ValueNotValidOrgUnitUid,
            "value_not_valid_org_unit_uid",
            "value_not_valid_org_unit_uid",
        ),
        (
            ValueReason::ValueNotValidFileResourceUid,
            "value_not_valid_file_resource_uid",
            "value_not_valid_file_resource_uid",
        ),
        (
            ValueReason::ValueLengthGreaterThanMaxLength,
            "value_length_greater_than_max_length",
            "Data value is greater than max length",
        ),
        (
            ValueReason::DataElementLacksOptionSet,
            "data_element_lacks_option_set",
            "data_element_lacks_option_set",
        ),
        (
            ValueReason::CommentLengthGreaterThanMaxLength,
            "comment_length_greater_than_max_length",
            "comment_length_greater_than_max_length",
        ),
        (
            ValueReason::StoredByLengthGreaterThanMaxLength,
            "stored_by_length_greater_than_max_length",
            "stored_by_length_greater_than_max_length",
        ),
    ];
    assert_eq!(table.len(), ValueReason::ALL.len());
    for (reason, key, message) in table {
        assert_eq!(reason.key(), key);
        assert_eq!(reason.message(), message);
        assert_eq!(reason.to_string(), message);
        assert_eq!(
            serde_json::to_string(&reason).unwrap(),
            format!("\"{key}\"")
        );
    }
}

#[test]
fn every_type_maps_to_its_reason() {
    use ValueReason as R;
    use ValueType as T;
    let table = [
        (T::Number, Some(R::ValueNotNumeric)),
        (T::Integer, Some(R::ValueNotInteger)),
        (T::IntegerPositive, Some(R::ValueNotPositiveInteger)),
        (T::IntegerNegative, Some(R::ValueNotNegativeInteger)),
        (
            T::IntegerZeroOrPositive,
            Some(R::ValueNotZeroOrPositiveInteger),
        ),
        (T::Percentage, Some(R::ValueNotPercentage)),
        (T::UnitInterval, Some(R::ValueNotUnitInterval)),
        (T::Boolean, Some(R::ValueNotBool)),
        (T::TrueOnly, Some(R::ValueNotTrueOnly)),
        (T::Text, None),
        (T::LongText, None),
        (T::MultiText, None),
        (T::Letter, Some(R::ValueNotValidLetter)),
        (T::PhoneNumber, Some(R::ValueNotPhoneNumber)),
        (T::Email, Some(R::ValueNotValidEmail)),
        (T::Date, Some(R::ValueNotValidDate)),
        (T::Datetime, Some(R::ValueNotValidDatetime)),
        (T::Time, Some(R::ValueNotValidTime)),
        (T::Age, Some(R::ValueNotValidAge)),
        (T::Coordinate, Some(R::ValueNotCoordinate)),
        (T::Url, Some(R::ValueNotUrl)),
        (T::Username, Some(R::ValueNotValidUsername)),
        (T::OrganisationUnit, Some(R::ValueNotValidOrgUnitUid)),
        (T::FileResource, Some(R::ValueNotValidFileResourceUid)),
        (T::Image, Some(R::ValueNotValidFileResourceUid)),
        (T::TrackerAssociate, None),
        (T::Reference, None),
        (T::Geojson, None),
    ];
    assert_eq!(table.len(), ValueType::ALL.len());
    for (t, reason) in table {
        assert_eq!(t.failure_reason(), reason, "{t}");
    }
}

// ---------------------------------------------------------------------------------
// Blank values and the length limit
// ---------------------------------------------------------------------------------

#[test]
fn blank_values_always_pass() {
    for t in ValueType::ALL {
        for blank in ["", " ", "   ", "\t", "\n", " \r\n ", "\u{1}"] {
            assert_eq!(validate(t, blank), Ok(()), "{t} {blank:?}");
        }
    }
    // U+00A0 is not blank under Java's trim, so it is checked (and is not a number).
    assert_eq!(
        validate(ValueType::Number, "\u{A0}"),
        Err(ValueReason::ValueNotNumeric)
    );
}

#[test]
fn length_limit_is_50000_utf16_units_for_every_type() {
    let at_limit = "a".repeat(MAX_VALUE_LENGTH);
    let over = "a".repeat(MAX_VALUE_LENGTH + 1);
    assert_eq!(validate(ValueType::Text, &at_limit), Ok(()));
    assert_eq!(validate(ValueType::LongText, &at_limit), Ok(()));
    for t in ValueType::ALL {
        assert_eq!(
            validate(t, &over),
            Err(ValueReason::ValueLengthGreaterThanMaxLength),
            "{t}"
        );
    }
    // TEXT is not limited to 255.
    assert_eq!(validate(ValueType::Text, &"x".repeat(256)), Ok(()));
    // 'é' is two bytes but one UTF-16 unit; '😀' is four bytes and two units.
    assert_eq!(
        validate(ValueType::Text, &"é".repeat(MAX_VALUE_LENGTH)),
        Ok(())
    );
    assert_eq!(
        validate(ValueType::Text, &"😀".repeat(MAX_VALUE_LENGTH / 2)),
        Ok(())
    );
    assert_eq!(
        validate(
            ValueType::Text,
            &format!("{}a", "😀".repeat(MAX_VALUE_LENGTH / 2))
        ),
        Err(ValueReason::ValueLengthGreaterThanMaxLength)
    );
}

#[test]
fn untyped_types_accept_anything_within_the_length() {
    for t in [
        ValueType::Text,
        ValueType::LongText,
        ValueType::MultiText,
        ValueType::TrackerAssociate,
        ValueType::Reference,
        ValueType::Geojson,
    ] {
        for v in [
            "anything",
            " padded ",
            "{\"type\":\"Point\"}",
            "A,B",
            "ünïcødé",
        ] {
            assert_eq!(validate(t, v), Ok(()), "{t} {v:?}");
        }
    }
}

// ---------------------------------------------------------------------------------
// Numbers
// ---------------------------------------------------------------------------------

#[test]
fn number() {
    let long_ok = format!("1{}", "0".repeat(248)); // 249 characters
    let long_bad = format!("1{}", "0".repeat(249)); // 250 characters
    let long_frac_bad = format!("0.{}", "1".repeat(248)); // 250 characters
    check(
        ValueType::Number,
        &[
            "0",
            "-0",
            "1",
            "-1",
            "10",
            "123456789012345678901234567890",
            "0.5",
            "-0.5",
            "1.25",
            "-0.0",
            "0.000",
            "3.14159",
            &long_ok,
        ],
        &[
            "01",
            "-01",
            "00",
            ".5",
            "-.5",
            "5.",
            "+1",
            "1e5",
            "1E5",
            "1.5e3",
            " 1",
            "1 ",
            "1,5",
            "1.2.3",
            "-",
            "--1",
            "abc",
            "NaN",
            "Infinity",
            "0x10",
            "١",
            "1_000",
            &long_bad,
            &long_frac_bad,
        ],
    );
}

#[test]
fn integer() {
    check(
        ValueType::Integer,
        &[
            "0",
            "1",
            "-1",
            "42",
            "2147483647",
            "-2147483648",
            "1000000000",
        ],
        &[
            "-0",
            "01",
            "00",
            "+1",
            "1.0",
            "1.",
            "2147483648",
            "-2147483649",
            "99999999999",
            "12345678901234567890",
            "1e3",
            " 1",
            "a",
        ],
    );
}

#[test]
fn integer_positive() {
    check(
        ValueType::IntegerPositive,
        &["1", "9", "10", "2147483647"],
        &["0", "-1", "01", "+1", "2147483648", "1.0", "-0"],
    );
}

#[test]
fn integer_negative() {
    check(
        ValueType::IntegerNegative,
        &["-1", "-10", "-2147483648"],
        &["0", "-0", "1", "-01", "-2147483649", "--1", "-1.0", "-"],
    );
}

#[test]
fn integer_zero_or_positive() {
    check(
        ValueType::IntegerZeroOrPositive,
        &["0", "1", "2147483647"],
        &["-1", "-0", "00", "01", "2147483648", "0.0"],
    );
}

#[test]
fn percentage() {
    check(
        ValueType::Percentage,
        &[
            "0",
            "-0",
            "0.0",
            "50",
            "99.9",
            "100",
            "100.0",
            "100.00000000000000000001",
        ],
        &["-1", "-0.1", "100.1", "101", "1e2", "50%", "01", ".5"],
    );
}

#[test]
fn unit_interval() {
    check(
        ValueType::UnitInterval,
        &["0", "-0", "0.5", "1", "1.0", "0.999999"],
        &["1.1", "2", "-0.5", ".5", "1.", "0,5"],
    );
}

// ---------------------------------------------------------------------------------
// Booleans
// ---------------------------------------------------------------------------------

#[test]
fn boolean_normalisation_spellings() {
    for spelling in ["true", "True", "TRUE", "t", "T", "1"] {
        assert_eq!(normalize_boolean(ValueType::Boolean, spelling), "true");
        assert_eq!(normalize_boolean(ValueType::TrueOnly, spelling), "true");
    }
    for spelling in ["false", "False", "FALSE", "f", "F", "0"] {
        assert_eq!(normalize_boolean(ValueType::Boolean, spelling), "false");
        // TRUE_ONLY leaves false spellings alone, so they then fail validation.
        assert_eq!(normalize_boolean(ValueType::TrueOnly, spelling), spelling);
    }
    // Exact matches only: other casings and padded values are left as typed.
    for other in [
        "tRuE", "fALSE", "yes", " true", "true ", "TRUE\n", "2", "tt", "",
    ] {
        assert_eq!(normalize_boolean(ValueType::Boolean, other), other);
        assert_eq!(normalize_boolean(ValueType::TrueOnly, other), other);
    }
    // Non-boolean types are never rewritten.
    for t in ValueType::ALL.into_iter().filter(|t| !t.is_boolean()) {
        for v in ["1", "0", "t", "True"] {
            assert_eq!(normalize_boolean(t, v), v, "{t}");
        }
    }
}

#[test]
fn boolean_validation() {
    check(
        ValueType::Boolean,
        &["true", "false", "TRUE", "FALSE", "tRuE", "fAlSe"],
        &[
            "t", "f", "1", "0", "yes", "no", " true", "true ", "test", "not true", "truee",
        ],
    );
    // The quirk: `tRuE` passes but normalisation does not rewrite it.
    assert_eq!(normalize_boolean(ValueType::Boolean, "tRuE"), "tRuE");
}

#[test]
fn true_only_validation() {
    check(
        ValueType::TrueOnly,
        &["true", "TRUE", "True", "tRUE"],
        &["false", "FALSE", "0", "f", "1", "t", "yes", " true", "test"],
    );
    // After normalisation `1` and `t` pass, while `false`, `0` and `f` still fail.
    for v in ["1", "t", "T", "True"] {
        let n = normalize_boolean(ValueType::TrueOnly, v);
        assert_eq!(validate(ValueType::TrueOnly, &n), Ok(()), "{v}");
    }
    for v in ["false", "0", "f"] {
        let n = normalize_boolean(ValueType::TrueOnly, v);
        assert_eq!(
            validate(ValueType::TrueOnly, &n),
            Err(ValueReason::ValueNotTrueOnly),
            "{v}"
        );
    }
}

/// Fixture `dataValueSetBooleanTest.csv` (spec §3.5, §13.1): element `jH26dja2f30` is
/// BOOLEAN and `jH26dja2f31` TRUE_ONLY; rows 10 and 11 fail for BOOLEAN, 16 and 17 for
/// TRUE_ONLY, and every other row is stored as `true` or `false`.
#[test]
fn boolean_fixture_csv() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/conformance/dhis2-core/dataValueSetBooleanTest.csv"
    );
    let csv = std::fs::read_to_string(path).expect("the shared conformance fixtures are present");
    let rows: Vec<Vec<&str>> = csv
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.trim_matches('"').split("\",\"").collect())
        .collect();
    assert_eq!(rows.len(), 18);
    let mut failures = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        let value_type = match row[0] {
            "jH26dja2f30" => ValueType::Boolean,
            "jH26dja2f31" => ValueType::TrueOnly,
            other => panic!("unexpected element {other}"),
        };
        let raw = row[5];
        let normalised = normalize_boolean(value_type, raw);
        match validate(value_type, &normalised) {
            Ok(()) => {
                let expected = if ["true", "True", "TRUE", "t", "T", "1"].contains(&raw) {
                    "true"
                } else {
                    "false"
                };
                assert_eq!(java_trim(&normalised), expected, "row {i} {raw:?}");
            }
            Err(reason) => {
                let expected = match value_type {
                    ValueType::Boolean => ValueReason::ValueNotBool,
                    _ => ValueReason::ValueNotTrueOnly,
                };
                assert_eq!(reason, expected, "row {i}");
                failures.push(i);
            }
        }
    }
    assert_eq!(failures, [10, 11, 16, 17]);
}

// ---------------------------------------------------------------------------------
// Dates and times
// ---------------------------------------------------------------------------------

#[test]
fn date() {
    check(
        ValueType::Date,
        &[
            "2024-01-01",
            "2024-12-31",
            "2024-02-29",
            "2000-02-29",
            "1900-02-28",
            "0000-02-29",
            "9999-12-31",
            // The time-suffix quirk: anything after the day, ending in a word character.
            "2024-01-01T10:00",
            "2024-01-01T10:00:00.000Z",
            "2024-01-01 10:00:00",
            "2024-01-01abc",
            "2024-01-011",
            "2024-01-01_",
            "2024-01-01é",
        ],
        &[
            "2023-02-29",
            "1900-02-29",
            "2024-04-31",
            "2024-01-32",
            "2024-01-00",
            "2024-00-10",
            "2024-13-01",
            "2024-1-01",
            "2024-01-1",
            "24-01-01",
            "20240101",
            "2024/01/01",
            "+2024-01-01",
            " 2024-01-01",
            "2024-01-01 ",
            "2024-01-01.",
            "2024-01-01T10:00+01:00)",
            "2024-01-01\nx",
            "2024-01-01\u{2028}x",
            "٢٠٢٤-01-01",
            "01-01-2024",
        ],
    );
}

#[test]
fn age_follows_date_with_its_own_reason() {
    assert_eq!(validate(ValueType::Age, "1990-05-17"), Ok(()));
    assert_eq!(validate(ValueType::Age, "2024-01-01T10:00"), Ok(()));
    assert_eq!(
        validate(ValueType::Age, "2023-02-29"),
        Err(ValueReason::ValueNotValidAge)
    );
    assert_eq!(
        validate(ValueType::Age, "35"),
        Err(ValueReason::ValueNotValidAge)
    );
}

#[test]
fn datetime() {
    check(
        ValueType::Datetime,
        &[
            // One example per accepted pattern.
            "2024-01-01T10:00:00.123456789Z",
            "2024-01-01T10:00:00.123456+01:00",
            "2024-01-01T10:00:00.123456",
            "2024-01-01T10:00:00.1234-0530",
            "2024-01-01T10:00:00.1234",
            "2024-01-01T10:00:00.123+0000",
            "2024-01-01T10:00:00.123",
            "2024-01-01T10:00:00Z",
            "2024-01-01T10:00:00",
            "2024-01-01T10:00+05",
            "2024-01-01T10:00",
            "2024-01-01T10Z",
            "2024-01-01T10",
            "2024-01-01 10:00:00+0100",
            // Joda details: short fractions, lower-case literals, offset forms.
            "2024-01-01T10:00:00.1",
            "2024-01-01T10:00:00.1234567Z",
            "2024-01-01t10:00:00z",
            "2024-01-01T23:59:59.999-23:59",
            "2024-01-01T10:00:00+05:30:15",
            "2024-01-01T10:00:00+053015",
            "2024-01-01T10:00:00+05:30:15.123",
            "2024-01-01 10:00:00Z",
            "2024-02-29T00:00",
            // Joda parses numbers without padding and years with a sign.
            "2024-1-5T9:5",
            "+2024-01-01T10:00",
            "-0044-03-15T12:00",
        ],
        &[
            "2024-01-01",
            "2024-01-01T",
            "2024-01-01 10:00",
            "2024-01-01 10:00:00",
            "2024-01-01 10",
            "2024-01-01T10:",
            "2024-01-01T10:00:",
            "2024-01-01T10:00:00.",
            "2024-01-01T10:00:00.1234567",
            "2024-01-01T10:00:00.1234567890Z",
            "2024-01-01T24:00",
            "2024-01-01T10:60",
            "2024-01-01T10:00:60",
            "2023-02-29T10:00",
            "2024-13-01T10:00",
            "2024-00-01T10:00",
            "2024-01-00T10:00",
            "2024-01-01T10:00+24:00",
            "2024-01-01T10:00+05:60",
            "2024-01-01T10:00+5",
            "2024-01-01T10:00+053",
            "2024-01-01T10:00+05:",
            "2024-01-01T10:00UTC",
            "2024-01-01T10:00:00Z ",
            " 2024-01-01T10:00",
            "2024-01-01X10:00",
            "2024/01/01T10:00",
            "1234567890-01-01T10:00",
            "2024-001-01T10:00",
            "yesterday",
        ],
    );
}

#[test]
fn time() {
    check(
        ValueType::Time,
        &["0:00", "9:59", "00:00", "09:30", "12:00", "19:45", "23:59"],
        &[
            "24:00",
            "23:60",
            "9:5",
            "12:5",
            "123:00",
            "12:00:00",
            "12h00",
            " 12:00",
            "12:00 ",
            "25:00",
            "1200",
            "-1:00",
            "١٢:٠٠",
        ],
    );
}

// ---------------------------------------------------------------------------------
// Text shapes
// ---------------------------------------------------------------------------------

#[test]
fn letter() {
    check(
        ValueType::Letter,
        &["a", "Z", "é", "ß", "Ж", "中", "ا"],
        &["ab", "1", "-", " a", "a ", "٣", "Ⅻ", "𝐀", "😀"],
    );
}

#[test]
fn phone_number() {
    check(
        ValueType::PhoneNumber,
        &[
            "123456",
            "+47 22 12 34 56",
            "(555) 123-4567",
            "555.123.4567 ext 12",
            "#123#123",
            "+1/555/1234567",
            &"1".repeat(50),
        ],
        &[
            "12345",
            &"1".repeat(51),
            "555-CALL-NOW",
            "+47 22 12 34 56 x*",
            "١٢٣٤٥٦",
        ],
    );
}

#[test]
fn email() {
    check(
        ValueType::Email,
        &[
            "john@example.com",
            "john.doe@example.co.uk",
            "john+tag@example.org",
            "o'brien@example.ie",
            "a_b-c@sub-domain.example.com",
            "\"john doe\"@example.com",
            "\"john\\\"doe\"@example.com",
            "john\\@doe@example.com",
            "user@[192.168.0.1]",
            "user@[2001:db8::1]",
            "üser@example.com",
            "user@bücher.de",
            "user@xn--bcher-kva.de",
            &format!("{}@example.com", "a".repeat(64)),
        ],
        &[
            "plainaddress",
            "@example.com",
            "john@",
            "john@example",
            "john@localhost",
            "john@example.c",
            "john@example.123",
            "john@example.com.",
            "john.@example.com",
            ".john@example.com",
            "jo..hn@example.com",
            "jo hn@example.com",
            "john@exa mple.com",
            "john@-example.com",
            "john@example-.com",
            "john@exa_mple.com",
            "jo(hn@example.com",
            "john@example..com",
            "a@b@example.com",
            "user@[192.168.0.256]",
            "user@[192.168.0.01]",
            "user@[1.2.3]",
            &format!("{}@example.com", "a".repeat(65)),
        ],
    );
}

#[test]
fn url() {
    check(
        ValueType::Url,
        &[
            "http://example.com",
            "https://example.com/",
            "ftp://ftp.example.org/pub/file.txt",
            "HTTP://EXAMPLE.COM",
            "https://www.example.com:8080/path/to/page.html?x=1&y=2#top",
            "https://example.com/a/b/../c",
            "http://user:pass@example.com/",
            "http://user@example.com",
            "http://192.168.0.1/",
            "http://[2001:db8::1]:80/",
            "http://[::FFFF:127.0.0.1]/",
            "https://example.com:/",
            "https://example.com/%20space",
            "https://example.com/?q=a/b?c",
            "https://example.com#frag/with?chars",
            "https://bücher.de/",
        ],
        &[
            "example.com",
            "www.example.com/page",
            "mailto:john@example.com",
            "file:///etc/passwd",
            "gopher://example.com",
            "http:example.com",
            "http:/example.com",
            "http://",
            "http:///path",
            "http://localhost/",
            "http://localhost:8080/",
            "http://example/",
            "http://exa_mple.com/",
            "http://example.com:65536/",
            "http://example.com:port/",
            "http://example.com//double",
            "http://example.com/a//b",
            "http://example.com/../up",
            "http://example.com/a/../../up",
            "http://example.com/sp ace",
            "http://example.com/%zz",
            "http://example.com/ü",
            "http://example.com/a[1]",
            "http://example.com/?q=a b",
            "http://example.com/#a#b",
            "http://example.com/<tag>",
            "http://[2001:db8::g]/",
            "http://[2001:db8::1/",
            "http://a@b@example.com/",
            "http://256.1.1.1/",
        ],
    );
}

#[test]
fn coordinate() {
    check(
        ValueType::Coordinate,
        &[
            "[0,0]",
            "[-11.2,8.5]",
            "[ -11.2 , 8.5 ]",
            "[180,90]",
            "[-180,-90]",
            "[180.0,-90.0]",
            // Java float syntax.
            "[1.,.5]",
            "[+1,-1]",
            "[1e2,1E1]",
            "[1f,2d]",
            "[\t10.5,\n20.5]",
            // Compared as 32-bit floats: 180.000001 rounds to 180.
            "[180.000001,0]",
        ],
        &[
            "0,0",
            "[0,0",
            "0,0]",
            "[0]",
            "[0,0,0]",
            "[,0]",
            "[0,]",
            "[180.1,0]",
            "[-180.1,0]",
            "[0,90.1]",
            "[0,-91]",
            "[NaN,0]",
            "[Infinity,0]",
            "[a,b]",
            "(0,0)",
            "[0;0]",
            "[[0,0]]",
            "[1e,0]",
            "[1.2.3,0]",
        ],
    );
}

#[test]
fn username() {
    check(
        ValueType::Username,
        &[
            "admin",
            "john.doe",
            "john_doe",
            "john-doe",
            "john@example.com",
            "a1b2",
            "ABCD",
            &"a".repeat(255),
        ],
        &[
            "abc",
            &"a".repeat(256),
            ".john",
            "john.",
            "-john",
            "john@",
            "jo..hn",
            "jo._hn",
            "jo@-hn",
            "jo hn",
            "jöhn",
            "john!",
        ],
    );
}

#[test]
fn uid_types() {
    for t in [
        ValueType::OrganisationUnit,
        ValueType::FileResource,
        ValueType::Image,
    ] {
        check(
            t,
            &["DiszpKrYNg8", "a0000000000", "ZZZZZZZZZZZ"],
            &[
                "1iszpKrYNg8",
                "DiszpKrYNg",
                "DiszpKrYNg89",
                "Disz-KrYNg8",
                " DiszpKrYNg8",
            ],
        );
    }
}

// ---------------------------------------------------------------------------------
// Option sets, zero rule, comment and storedBy
// ---------------------------------------------------------------------------------

#[test]
fn multi_text_needs_an_option_set() {
    assert_eq!(
        validate_with_option_set(ValueType::MultiText, false, "A,B"),
        Err(ValueReason::DataElementLacksOptionSet)
    );
    // Checked before the blank rule, as in DHIS2.
    assert_eq!(
        validate_with_option_set(ValueType::MultiText, false, ""),
        Err(ValueReason::DataElementLacksOptionSet)
    );
    assert_eq!(
        validate_with_option_set(ValueType::MultiText, true, "A,B"),
        Ok(())
    );
    assert_eq!(
        validate_with_option_set(ValueType::Text, false, "A,B"),
        Ok(())
    );
    assert_eq!(
        validate_with_option_set(ValueType::Integer, true, "x"),
        Err(ValueReason::ValueNotInteger)
    );
}

#[test]
fn zero_rule() {
    for zero in ["0", "0.", "0.0", "0.000"] {
        for t in ValueType::ALL {
            assert_eq!(
                is_zero_insignificant(t, false, false, zero),
                t.is_numeric(),
                "{t} {zero:?}"
            );
        }
        assert!(!is_zero_insignificant(ValueType::Number, true, false, zero));
        assert!(!is_zero_insignificant(ValueType::Number, false, true, zero));
    }
    for not_zero in ["-0", "00", " 0", "0 ", "0.01", ".0", "1", "", "0,0", "0e0"] {
        assert!(
            !is_zero_insignificant(ValueType::Number, false, false, not_zero),
            "{not_zero:?}"
        );
    }
}

#[test]
fn comment_limit() {
    assert_eq!(validate_comment(""), Ok(()));
    assert_eq!(validate_comment("a comment"), Ok(()));
    assert_eq!(validate_comment(&"c".repeat(MAX_COMMENT_LENGTH)), Ok(()));
    assert_eq!(
        validate_comment(&"c".repeat(MAX_COMMENT_LENGTH + 1)),
        Err(ValueReason::CommentLengthGreaterThanMaxLength)
    );
    // A blank comment is never too long.
    assert_eq!(
        validate_comment(&" ".repeat(MAX_COMMENT_LENGTH + 1)),
        Ok(())
    );
}

#[test]
fn stored_by_limit() {
    assert_eq!(validate_stored_by(""), Ok(()));
    assert_eq!(validate_stored_by("john"), Ok(()));
    assert_eq!(validate_stored_by(&"u".repeat(255)), Ok(()));
    assert_eq!(
        validate_stored_by(&"u".repeat(256)),
        Err(ValueReason::StoredByLengthGreaterThanMaxLength)
    );
    assert_eq!(validate_stored_by(&"é".repeat(255)), Ok(()));
}

#[test]
fn java_trim_and_blank() {
    assert_eq!(java_trim("  5 \t\n"), "5");
    assert_eq!(java_trim("\u{1}x\u{1F}"), "x");
    assert_eq!(java_trim("\u{A0}x\u{A0}"), "\u{A0}x\u{A0}");
    assert_eq!(java_trim("   "), "");
    assert!(is_blank(""));
    assert!(is_blank(" \t\r\n\u{0}"));
    assert!(!is_blank("\u{A0}"));
    assert!(!is_blank(" a "));
}

// ---------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------

proptest! {
    #[test]
    fn every_i32_is_a_valid_integer(n in any::<i32>()) {
        let s = n.to_string();
        prop_assert_eq!(validate(ValueType::Integer, &s), Ok(()));
        prop_assert_eq!(validate(ValueType::Number, &s), Ok(()));
        prop_assert_eq!(validate(ValueType::IntegerPositive, &s).is_ok(), n > 0);
        prop_assert_eq!(validate(ValueType::IntegerNegative, &s).is_ok(), n < 0);
        prop_assert_eq!(validate(ValueType::IntegerZeroOrPositive, &s).is_ok(), n >= 0);
    }

    #[test]
    fn integers_just_outside_i32_are_invalid(n in (i64::from(i32::MAX) + 1)..=i64::MAX) {
        prop_assert!(validate(ValueType::Integer, &n.to_string()).is_err());
        prop_assert!(validate(ValueType::Integer, &(-n - 1).to_string()).is_err());
    }

    #[test]
    fn numbers_with_leading_zeros_are_never_valid(
        sign in "-?",
        zeros in "0{1,3}",
        digits in "[0-9]{1,10}",
        fraction in "(\\.[0-9]{1,5})?",
    ) {
        let s = format!("{sign}{zeros}{digits}{fraction}");
        prop_assert_eq!(validate(ValueType::Number, &s), Err(ValueReason::ValueNotNumeric));
    }

    #[test]
    fn plain_decimals_are_numbers(int in any::<u32>(), frac in "[0-9]{1,6}", negative: bool) {
        let s = format!("{}{int}.{frac}", if negative { "-" } else { "" });
        prop_assert_eq!(validate(ValueType::Number, &s), Ok(()));
    }

    #[test]
    fn normalisation_is_idempotent(value in "\\PC{0,6}|[tTfF01]|(?i:true|false)") {
        for t in ValueType::ALL {
            let once = normalize_boolean(t, &value).into_owned();
            let twice = normalize_boolean(t, &once).into_owned();
            prop_assert_eq!(&once, &twice);
        }
    }

    #[test]
    fn normalised_booleans_validate_iff_they_are_true_or_false(value in "\\PC{0,6}|[tTfF01]|(?i:true|false)") {
        let n = normalize_boolean(ValueType::Boolean, &value);
        let expected = is_blank(&n) || n.eq_ignore_ascii_case("true") || n.eq_ignore_ascii_case("false");
        prop_assert_eq!(validate(ValueType::Boolean, &n).is_ok(), expected);
    }

    #[test]
    fn real_dates_are_valid_dates_and_datetimes(
        date in (0i32..=9999, 1u8..=12, 1u8..=31)
            .prop_filter_map("real date", |(y, m, d)| jiff::civil::Date::new(y as i16, m as i8, d as i8).ok()),
        hour in 0u8..24,
        minute in 0u8..60,
    ) {
        let d = format!("{:04}-{:02}-{:02}", date.year(), date.month(), date.day());
        prop_assert_eq!(validate(ValueType::Date, &d), Ok(()));
        prop_assert_eq!(validate(ValueType::Datetime, &d), Err(ValueReason::ValueNotValidDatetime));
        let dt = format!("{d}T{hour:02}:{minute:02}");
        prop_assert_eq!(validate(ValueType::Datetime, &dt), Ok(()));
        prop_assert_eq!(validate(ValueType::Date, &dt), Ok(()));
        let t = format!("{hour:02}:{minute:02}");
        prop_assert_eq!(validate(ValueType::Time, &t), Ok(()));
    }

    #[test]
    fn validation_never_panics(t in 0usize..28, value in "\\PC{0,40}") {
        let _ = validate(ValueType::ALL[t], &value);
    }
}
