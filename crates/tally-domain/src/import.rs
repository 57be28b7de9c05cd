//! Import vocabulary: strategies, options, error codes, the summary with grouped
//! conflicts, and [`decide`], the per-value create/update/delete rule of DHIS2 2.41.
//!
//! Import problems are data, not errors: a rejected value becomes a [`Conflict`] in the
//! [`ImportSummary`], and the import goes on.

mod change;
mod error_code;
mod summary;

pub use change::{
    Change, ChangeDecision, ChangeOutcome, ElementRule, NewRow, Versioned, base_matches,
    decide_change,
};
pub use error_code::ErrorCode;
pub use summary::{
    Conflict, ConflictKey, Conflicts, ImportCount, ImportStatus, ImportSummary,
    import_summary_failed,
};

use std::fmt;
use std::str::FromStr;

/// How an import treats values that exist or don't exist yet (spec §3.4).
///
/// DHIS2 has aliases (`NEW_AND_UPDATES` = `CREATE_AND_UPDATE` and so on); the name the
/// client used is kept so it can be echoed back unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ImportStrategy {
    #[default]
    CreateAndUpdate,
    NewAndUpdates,
    Create,
    New,
    Update,
    Updates,
    Delete,
    Deletes,
    Sync,
}

impl ImportStrategy {
    const ALL: [ImportStrategy; 9] = [
        Self::CreateAndUpdate,
        Self::NewAndUpdates,
        Self::Create,
        Self::New,
        Self::Update,
        Self::Updates,
        Self::Delete,
        Self::Deletes,
        Self::Sync,
    ];

    /// The DHIS2 enum constant name.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::CreateAndUpdate => "CREATE_AND_UPDATE",
            Self::NewAndUpdates => "NEW_AND_UPDATES",
            Self::Create => "CREATE",
            Self::New => "NEW",
            Self::Update => "UPDATE",
            Self::Updates => "UPDATES",
            Self::Delete => "DELETE",
            Self::Deletes => "DELETES",
            Self::Sync => "SYNC",
        }
    }

    /// Exact, case-sensitive match, as Java's `Enum.valueOf` does for payload values.
    #[must_use]
    pub fn parse_exact(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|st| st.name() == s)
    }

    /// New values are created.
    #[must_use]
    pub fn creates(self) -> bool {
        matches!(
            self,
            Self::CreateAndUpdate | Self::NewAndUpdates | Self::Create | Self::New
        )
    }

    /// Existing values are updated (and deleted by blank, zero or `deleted=true`).
    #[must_use]
    pub fn updates(self) -> bool {
        matches!(
            self,
            Self::CreateAndUpdate | Self::NewAndUpdates | Self::Update | Self::Updates
        )
    }

    /// Existing values are deleted whatever the payload value.
    #[must_use]
    pub fn deletes(self) -> bool {
        matches!(self, Self::Delete | Self::Deletes)
    }

    /// Only creation is allowed (the zero rule ignores zeros even over a stored row).
    #[must_use]
    pub fn create_only(self) -> bool {
        matches!(self, Self::Create | Self::New)
    }
}

impl fmt::Display for ImportStrategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Query-string binding: DHIS2 matches enum values case-insensitively there.
impl FromStr for ImportStrategy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|st| st.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| {
                format!("No enum constant org.hisp.dhis.importexport.ImportStrategy.{s}")
            })
    }
}

impl serde::Serialize for ImportStrategy {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// Kinds of audit rows (DHIS2's `ChangeLogType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuditType {
    Create,
    Update,
    Delete,
}

impl AuditType {
    /// The DHIS2 name.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Create => "CREATE",
            Self::Update => "UPDATE",
            Self::Delete => "DELETE",
        }
    }

    /// Parses the DHIS2 name.
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "CREATE" => Some(Self::Create),
            "UPDATE" => Some(Self::Update),
            "DELETE" => Some(Self::Delete),
            _ => None,
        }
    }
}

/// The stored row a value is compared with (live or soft-deleted).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Existing<'a> {
    pub value: Option<&'a str>,
    pub comment: Option<&'a str>,
    pub followup: bool,
    pub deleted: bool,
}

/// A validated incoming value, already normalised: trimmed, blank meaning `None`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Incoming<'a> {
    pub value: Option<&'a str>,
    pub comment: Option<&'a str>,
    /// The payload flag, `false` when absent (a bulk update resets follow-up).
    pub followup: bool,
    /// The payload `deleted` flag.
    pub deleted: bool,
    /// The value is an insignificant zero for its data element (spec §3.5).
    pub zero_insignificant: bool,
}

/// How a value is counted in the summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Imported,
    Updated,
    Deleted,
    /// Ignored without a conflict (unchanged value, blank new value, zero).
    Ignored,
    /// Ignored because the strategy forbids the action; the index goes to
    /// `rejectedIndexes`.
    Rejected,
}

/// What to write for a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Write {
    /// Nothing.
    None,
    /// Insert a new row with this `deleted` flag.
    Insert { deleted: bool },
    /// Overwrite the existing row (value, comment, follow-up, storedBy, lastUpdated and
    /// this `deleted` flag), keeping its `created`.
    Overwrite { deleted: bool },
}

/// The decision for one value: its count, its write and its audit row (which holds the
/// previous value).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub outcome: Outcome,
    pub write: Write,
    pub audit: Option<AuditType>,
}

impl Decision {
    const fn new(outcome: Outcome, write: Write, audit: Option<AuditType>) -> Self {
        Self {
            outcome,
            write,
            audit,
        }
    }
}

/// The bulk import's per-value branch (spec §3.3 steps 5–6, DHIS2 2.41): given the
/// stored row (live or soft-deleted, `None` when absent) and the incoming value, decide
/// the count, the write and the audit.
///
/// Every store backend calls this one function, so SQLite and PostgreSQL cannot drift.
#[must_use]
pub fn decide(
    existing: Option<Existing<'_>>,
    incoming: &Incoming<'_>,
    strategy: ImportStrategy,
) -> Decision {
    use Outcome::{Deleted, Ignored, Imported, Rejected, Updated};
    // Step 5: the zero rule, before the strategy branch.
    if incoming.zero_insignificant && (existing.is_none() || strategy.create_only()) {
        return Decision::new(Ignored, Write::None, None);
    }
    match existing {
        Some(row) if !row.deleted => {
            if strategy.updates() {
                let value_changed = incoming.value != row.value;
                if (incoming.value.is_none() && incoming.comment.is_none())
                    || incoming.deleted
                    || incoming.zero_insignificant
                {
                    let audit = value_changed.then_some(AuditType::Delete);
                    Decision::new(Deleted, Write::Overwrite { deleted: true }, audit)
                } else if !value_changed
                    && incoming.comment == row.comment
                    && incoming.followup == row.followup
                {
                    Decision::new(Ignored, Write::None, None)
                } else {
                    let audit = value_changed.then_some(AuditType::Update);
                    Decision::new(Updated, Write::Overwrite { deleted: false }, audit)
                }
            } else if strategy.deletes() {
                Decision::new(
                    Deleted,
                    Write::Overwrite { deleted: true },
                    Some(AuditType::Delete),
                )
            } else {
                Decision::new(Rejected, Write::None, None)
            }
        }
        _ if strategy.creates() => {
            if incoming.value.is_none() && incoming.comment.is_none() {
                Decision::new(Ignored, Write::None, None)
            } else if existing.is_some() {
                Decision::new(
                    Imported,
                    Write::Overwrite {
                        deleted: incoming.deleted,
                    },
                    None,
                )
            } else {
                Decision::new(
                    Imported,
                    Write::Insert {
                        deleted: incoming.deleted,
                    },
                    None,
                )
            }
        }
        _ => Decision::new(Rejected, Write::None, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn live(value: &str) -> Existing<'_> {
        Existing {
            value: Some(value),
            comment: None,
            followup: false,
            deleted: false,
        }
    }

    fn inc(value: Option<&str>) -> Incoming<'_> {
        Incoming {
            value,
            comment: None,
            followup: false,
            deleted: false,
            zero_insignificant: false,
        }
    }

    use ImportStrategy as S;
    use Outcome::*;

    #[test]
    fn new_value_is_inserted_and_not_audited() {
        let d = decide(None, &inc(Some("10")), S::CreateAndUpdate);
        assert_eq!(d.outcome, Imported);
        assert_eq!(d.write, Write::Insert { deleted: false });
        assert_eq!(d.audit, None);
    }

    #[test]
    fn deleted_flag_on_a_new_value_is_imported_as_soft_deleted_row() {
        let mut v = inc(Some("10"));
        v.deleted = true;
        let d = decide(None, &v, S::CreateAndUpdate);
        assert_eq!(
            (d.outcome, d.write),
            (Imported, Write::Insert { deleted: true })
        );
    }

    #[test]
    fn unchanged_value_is_ignored() {
        let d = decide(Some(live("10")), &inc(Some("10")), S::CreateAndUpdate);
        assert_eq!((d.outcome, d.write), (Ignored, Write::None));
    }

    #[test]
    fn changed_value_updates_with_audit_comment_only_change_without() {
        let d = decide(Some(live("10")), &inc(Some("11")), S::CreateAndUpdate);
        assert_eq!(d.outcome, Updated);
        assert_eq!(d.audit, Some(AuditType::Update));
        let mut v = inc(Some("10"));
        v.comment = Some("c");
        let d = decide(Some(live("10")), &v, S::CreateAndUpdate);
        assert_eq!((d.outcome, d.audit), (Updated, None));
    }

    #[test]
    fn followup_reset_counts_as_update() {
        let mut row = live("10");
        row.followup = true;
        let d = decide(Some(row), &inc(Some("10")), S::CreateAndUpdate);
        assert_eq!((d.outcome, d.audit), (Updated, None));
    }

    #[test]
    fn blank_zero_and_deleted_flag_delete_a_live_row() {
        let d = decide(Some(live("10")), &inc(None), S::CreateAndUpdate);
        assert_eq!(
            (d.outcome, d.write, d.audit),
            (
                Deleted,
                Write::Overwrite { deleted: true },
                Some(AuditType::Delete)
            )
        );
        let mut zero = inc(Some("0"));
        zero.zero_insignificant = true;
        assert_eq!(
            decide(Some(live("10")), &zero, S::CreateAndUpdate).outcome,
            Deleted
        );
        let mut del = inc(Some("10"));
        del.deleted = true;
        let d = decide(Some(live("10")), &del, S::CreateAndUpdate);
        // Same value text: deleted, but no audit (only changed text is audited).
        assert_eq!((d.outcome, d.audit), (Deleted, None));
    }

    #[test]
    fn zero_is_ignored_when_new_and_revives_a_soft_deleted_row() {
        let mut zero = inc(Some("0"));
        zero.zero_insignificant = true;
        assert_eq!(decide(None, &zero, S::CreateAndUpdate).outcome, Ignored);
        let mut gone = live("5");
        gone.deleted = true;
        let d = decide(Some(gone), &zero, S::CreateAndUpdate);
        assert_eq!(
            (d.outcome, d.write),
            (Imported, Write::Overwrite { deleted: false })
        );
        // CREATE ignores a zero even over a live row.
        assert_eq!(decide(Some(live("5")), &zero, S::Create).outcome, Ignored);
    }

    #[test]
    fn blank_new_value_is_ignored_without_rejection() {
        assert_eq!(
            decide(None, &inc(None), S::CreateAndUpdate).outcome,
            Ignored
        );
    }

    #[test]
    fn delete_strategy_deletes_whatever_the_value_and_rejects_absent_rows() {
        for v in [None, Some("10"), Some("9")] {
            let d = decide(Some(live("10")), &inc(v), S::Delete);
            assert_eq!((d.outcome, d.audit), (Deleted, Some(AuditType::Delete)));
        }
        assert_eq!(decide(None, &inc(Some("1")), S::Delete).outcome, Rejected);
        let mut gone = live("5");
        gone.deleted = true;
        assert_eq!(
            decide(Some(gone), &inc(Some("1")), S::Deletes).outcome,
            Rejected
        );
    }

    #[test]
    fn strategy_mismatches_are_rejected() {
        assert_eq!(
            decide(Some(live("1")), &inc(Some("2")), S::Create).outcome,
            Rejected
        );
        assert_eq!(decide(None, &inc(Some("2")), S::Update).outcome, Rejected);
        assert_eq!(
            decide(Some(live("1")), &inc(Some("2")), S::Sync).outcome,
            Rejected
        );
        assert_eq!(decide(None, &inc(Some("2")), S::Sync).outcome, Rejected);
    }

    #[test]
    fn strategy_parsing_is_case_insensitive_in_urls_and_exact_in_payloads() {
        assert_eq!("new_and_updates".parse::<S>().unwrap(), S::NewAndUpdates);
        assert!("CREATE_OR_UPDATE".parse::<S>().is_err());
        assert_eq!(S::parse_exact("DELETE"), Some(S::Delete));
        assert_eq!(S::parse_exact("delete"), None);
    }
}
