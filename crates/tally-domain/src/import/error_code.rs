//! DHIS2 error codes used by the data value APIs, with their message templates.
//!
//! Templates follow Java's `MessageFormat`: `{0}`, `{1}` … are replaced by arguments; the
//! backquotes are literal. A missing argument renders as `null`, as in DHIS2.

use std::fmt;

macro_rules! error_codes {
    ($($code:ident => $template:literal,)*) => {
        /// A DHIS2 error code (`E7610`, `E2006`, …).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum ErrorCode { $($code,)* }

        impl ErrorCode {
            /// The code as DHIS2 writes it, e.g. `E7610`.
            #[must_use]
            pub fn code(self) -> &'static str {
                match self { $(Self::$code => stringify!($code),)* }
            }

            /// The English message template.
            #[must_use]
            pub fn template(self) -> &'static str {
                match self { $(Self::$code => $template,)* }
            }
        }
    };
}

error_codes! {
    E1100 => "Data element not found or not accessible: `{0}`",
    E1101 => "Period is invalid: `{0}`",
    E1102 => "Organisation unit not found or not accessible: `{0}`",
    E1103 => "Category option combo not found or not accessible: `{0}`",
    E1104 => "Attribute option combo not found or not accessible: `{0}`",
    E1105 => "Data set not found or not accessible: `{0}`",
    E1110 => "Category combo not found or not accessible: `{0}`",
    E1111 => "Category option not found or not accessible: `{0}`",
    E2001 => "At least one data element, data set or data element group must be specified",
    E2002 => "At least one period, start/end dates, last updated or last updated duration must be specified",
    E2003 => "Both periods and start/end date cannot be specified",
    E2004 => "Start date must be before end date",
    E2005 => "Duration is not valid: `{0}`",
    E2006 => "At least one organisation unit or organisation unit group must be specified",
    E2007 => "Organisation unit children cannot be included for organisation unit groups",
    E2008 => "At least one organisation unit must be specified when children are included",
    E2009 => "Limit cannot be less than zero: `{0}`",
    E2010 => "User is not allowed to read data for data set: `{0}`",
    E2011 => "User is not allowed to read data for attribute option combo: `{0}`",
    E2012 => "User is not allowed to view org unit: `{0}`",
    E2017 => "Data set is locked",
    E2018 => "Category option combo is required but not specified",
    E2019 => "Organisation unit is closed for the selected period: `{0}`",
    E2020 => "Organisation unit is not in the hierarchy of the current user: `{0}`",
    E2021 => "Data set: `{0}` does not contain data element: `{1}`",
    E2022 => "Period: `{0}` is after latest open future period: `{1}` for data element: `{2}`",
    E2023 => "Period: `{0}` is before start date: {1} for attribute option: `{2}`",
    E2024 => "Period: `{0}` is after start date: {1} for attribute option: `{2}`",
    E2025 => "Period: `{0}` is not open for data set: `{1}`",
    E2026 => "File resource already assigned or linked to a data value",
    E2027 => "File resource is invalid: `{0}`",
    E2028 => "Comment is invalid: `{0}`",
    E2029 => "Data value is not a valid option of the data element option set: `{0}`",
    E2030 => "Data value must match data element value type: `{0}`",
    E2031 => "User does not have write access to category option combo: `{0}`",
    E2032 => "Data value not found or not accessible",
    E2033 => "Follow-up must be specified",
    E2040 => "Both category combination and category options must be specified",
    E2041 => "Attribute option combo does not exist for given category combo and category options",
    E2042 => "Min value must be specified",
    E2043 => "Max value must be specified",
    E2044 => "Max value must be greater than min value",
    E7600 => "Data set not found or not accessible: `{0}`",
    E7601 => "User does not have write access for DataSet: `{0}`",
    E7602 => "A valid dataset is required",
    E7603 => "Org unit not found or not accessible: `{0}`",
    E7604 => "Attribute option combo not found or not accessible: `{0}`",
    E7605 => "All compulsory data element operands need to be filled: [{0}]",
    E7610 => "Data element not found or not accessible: `{0}`",
    E7611 => "Period not valid: `{0}`",
    E7612 => "Organisation unit not found or not accessible: `{0}`",
    E7613 => "Category option combo not found or not accessible for writing data: `{0}`",
    E7614 => "Category option combo: `{0}` option not accessible: `{1}`",
    E7615 => "Attribute option combo not found or not accessible for writing data: `{0}`",
    E7616 => "Attribute option combo: `{0}` option not accessible: `{1}`",
    E7617 => "Organisation unit: `{0}` not in hierarchy of current user: `{1}`",
    E7618 => "Data value or comment not specified for data element: `{0}`",
    E7619 => "Value must match value type of data element `{0}`: `{1}`",
    E7620 => "Invalid comment: {0}",
    E7621 => "Data value is not a valid option of the data element option set: `{0}`",
    E7622 => "Current user `{0}` has no access to any organisation unit data",
    E7630 => "Category option combo is required but is not specified",
    E7631 => "Attribute option combo is required but is not specified",
    E7632 => "Period type of period: `{0}` not valid for data element: `{1}`",
    E7633 => "Data element: `{0}` is not part of dataset(s): `{1}`",
    E7634 => "Category option combo: `{0}` must be part of category combo of data element: `{1}`",
    E7635 => "Attribute option combo: `{0}` must be part of category combo of data sets of data element: `{1}`",
    E7636 => "Data element: `{1}` must be assigned through data sets to organisation unit: `{0}`",
    E7637 => "Invalid storedBy: {0}",
    E7638 => "Period: `{0}` is not within date range of attribute option combo: `{1}`",
    E7639 => "Organisation unit: `{0}` is not valid for attribute option combo: `{1}`",
    E7640 => "Current date is past expiry days for period: `{0}`  and data set: `{1}`",
    E7641 => "Period: `{0}` is after latest open future period: `{3}` for data element: `{1}` and data set: `{2}`",
    E7642 => "Data already approved for data set: `{3}` period: `{1}` org unit: `{0}` attribute option combo: `{2}`",
    E7643 => "Period: `{0}` is not open for this data set at this time: `{1}`",
    E7644 => "Period: `{0}` does not conform to the open periods of associated data sets",
    E7645 => "No data value for file resource exist for the given combination for data element: `{0}`",
}

impl ErrorCode {
    /// Fills the template with arguments, as `MessageFormat` would.
    #[must_use]
    pub fn message(self, args: &[&str]) -> String {
        let template = self.template();
        let mut out = String::with_capacity(template.len() + 16);
        let mut rest = template;
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let after = &rest[open + 1..];
            match after.find('}').and_then(|close| {
                after[..close]
                    .parse::<usize>()
                    .ok()
                    .map(|index| (index, close))
            }) {
                Some((index, close)) => {
                    out.push_str(args.get(index).copied().unwrap_or("null"));
                    rest = &after[close + 1..];
                }
                None => {
                    out.push('{');
                    rest = after;
                }
            }
        }
        out.push_str(rest);
        out
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl serde::Serialize for ErrorCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::ErrorCode;

    #[test]
    fn messages_fill_placeholders_in_any_order() {
        assert_eq!(
            ErrorCode::E7610.message(&["nonEx1sting"]),
            "Data element not found or not accessible: `nonEx1sting`"
        );
        assert_eq!(
            ErrorCode::E7636.message(&["ou", "de"]),
            "Data element: `de` must be assigned through data sets to organisation unit: `ou`"
        );
        assert_eq!(
            ErrorCode::E7641.message(&["p", "de", "ds", "latest"]),
            "Period: `p` is after latest open future period: `latest` for data element: `de` and data set: `ds`"
        );
        assert_eq!(ErrorCode::E7611.message(&[]), "Period not valid: `null`");
        assert_eq!(ErrorCode::E2006.code(), "E2006");
    }
}
