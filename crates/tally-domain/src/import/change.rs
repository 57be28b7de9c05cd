//! The single-value rule: what `POST`/`DELETE /api/dataValues` and the follow-up `PUT`s
//! do to one stored row (spec §6.1, §6.4, §6.5, §11.2), plus tally's optional version
//! check (a write based on a version that is no longer current is refused).
//!
//! Like [`super::decide`] for bulk imports, every store backend calls [`decide_change`]
//! inside its write transaction, so the backends cannot drift and the version check
//! cannot race a concurrent write.

use super::{AuditType, Existing};
use crate::value_type::{self, ValueType};

/// What a single-value request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change<'a> {
    /// `POST /api/dataValues`. For `value` and `comment`, `None` keeps what is stored and
    /// `Some(None)` clears it (an empty parameter); texts are validated, normalised and
    /// trimmed already.
    Save {
        value: Option<Option<&'a str>>,
        comment: Option<Option<&'a str>>,
        /// `followUp` was sent: it sets the flag of a new value and **toggles** the flag
        /// of a stored one, whatever its text (DHIS2 quirk).
        follow_up: Option<bool>,
    },
    /// `DELETE /api/dataValues`: soft-deletes the live row.
    Delete,
    /// `PUT /api/dataValues/followup(s)`: sets the flag of the live row.
    FollowUp(bool),
}

/// The data element facts the rule needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ElementRule {
    pub value_type: ValueType,
    pub zero_is_significant: bool,
    /// Aggregation type AVERAGE or AVERAGE_SUM_ORG_UNIT.
    pub average: bool,
}

impl ElementRule {
    fn zero(self, value: Option<&str>) -> bool {
        value.is_some_and(|v| {
            value_type::is_zero_insignificant(
                self.value_type,
                self.zero_is_significant,
                self.average,
                v,
            )
        })
    }
}

/// The stored row (live or soft-deleted) and its version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Versioned<'a> {
    pub row: Existing<'a>,
    pub version: i64,
}

/// What came of a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeOutcome {
    /// A new live row (inserted, or a soft-deleted one revived).
    Created,
    /// The live row changed.
    Updated,
    /// The live row was soft-deleted.
    Deleted,
    /// The stored row already is what the request asks for: nothing is written, not
    /// even `lastUpdated` (identical replays are idempotent).
    Unchanged,
    /// A new value that DHIS2 does not store (blank, or an insignificant zero); the
    /// request still succeeds.
    NotStored,
    /// There is no live row to delete or flag.
    Missing,
    /// The request was based on a version that is no longer current; nothing is
    /// written.
    Stale,
}

impl ChangeOutcome {
    /// Whether the request fails (and, in a batch, rolls everything back).
    #[must_use]
    pub fn is_failure(self) -> bool {
        matches!(self, Self::Missing | Self::Stale)
    }
}

/// The row to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewRow<'a> {
    pub value: Option<&'a str>,
    pub comment: Option<&'a str>,
    pub followup: bool,
    pub deleted: bool,
    /// Insert a row (there is none); otherwise overwrite the stored one, keeping its
    /// `created`.
    pub insert: bool,
    /// Set `storedBy` to the current user; `false` keeps the stored one (follow-up).
    pub set_stored_by: bool,
}

/// The decision for one change: its outcome, the row to write (if any) and the audit
/// row (type and the value it records: the new value for CREATE, the previous one for
/// UPDATE and DELETE).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChangeDecision<'a> {
    pub outcome: ChangeOutcome,
    pub write: Option<NewRow<'a>>,
    pub audit: Option<(AuditType, Option<&'a str>)>,
}

impl<'a> ChangeDecision<'a> {
    const fn nothing(outcome: ChangeOutcome) -> Self {
        Self {
            outcome,
            write: None,
            audit: None,
        }
    }
}

/// Whether a write based on `base` may go ahead over `stored`: `0` stands for "there
/// was no live value", any other number must be the stored row's current version.
#[must_use]
pub fn base_matches(stored: Option<Versioned<'_>>, base: i64) -> bool {
    if base == 0 {
        stored.is_none_or(|s| s.row.deleted)
    } else {
        stored.is_some_and(|s| s.version == base)
    }
}

/// Decides one single-value change against the stored row (`None` when there is no
/// row at all). `base` is the version the client based the change on, if it sent one.
///
/// A change that leaves the row as stored is [`ChangeOutcome::Unchanged`] whatever
/// `base` says, so replaying a write after a lost response succeeds again; only a
/// change that would write is checked against `base`.
#[must_use]
pub fn decide_change<'a>(
    stored: Option<Versioned<'a>>,
    change: &Change<'a>,
    rule: ElementRule,
    base: Option<i64>,
) -> ChangeDecision<'a> {
    let live = stored.map(|s| s.row).filter(|r| !r.deleted);
    let decision = match (*change, live) {
        (
            Change::Save {
                value,
                comment,
                follow_up,
            },
            None,
        ) => {
            let value = value.flatten();
            let comment = comment.flatten();
            if (value.is_none() && comment.is_none()) || rule.zero(value) {
                return ChangeDecision::nothing(ChangeOutcome::NotStored);
            }
            let revive = stored.is_some();
            ChangeDecision {
                outcome: ChangeOutcome::Created,
                write: Some(NewRow {
                    value,
                    comment,
                    followup: follow_up.unwrap_or(false),
                    deleted: false,
                    insert: !revive,
                    set_stored_by: true,
                }),
                // Only the single-value API audits a revival, as CREATE (spec §11.2).
                audit: revive.then_some((AuditType::Create, value)),
            }
        }
        (
            Change::Save {
                value,
                comment,
                follow_up,
            },
            Some(row),
        ) => {
            let delete = |value, comment, followup| ChangeDecision {
                outcome: ChangeOutcome::Deleted,
                write: Some(NewRow {
                    value,
                    comment,
                    followup,
                    deleted: true,
                    insert: false,
                    set_stored_by: true,
                }),
                audit: Some((AuditType::Delete, row.value)),
            };
            if value.is_none()
                && comment.is_none()
                && follow_up.is_none()
                && rule.value_type == ValueType::TrueOnly
            {
                return guard(stored, base, delete(row.value, row.comment, row.followup));
            }
            let new_value = value.unwrap_or(row.value);
            let new_comment = comment.unwrap_or(row.comment);
            let followup = if follow_up.is_some() {
                !row.followup
            } else {
                row.followup
            };
            if (new_value.is_none() && new_comment.is_none()) || rule.zero(new_value) {
                delete(new_value, new_comment, followup)
            } else if new_value == row.value
                && new_comment == row.comment
                && followup == row.followup
            {
                return ChangeDecision::nothing(ChangeOutcome::Unchanged);
            } else {
                ChangeDecision {
                    outcome: ChangeOutcome::Updated,
                    write: Some(NewRow {
                        value: new_value,
                        comment: new_comment,
                        followup,
                        deleted: false,
                        insert: false,
                        set_stored_by: true,
                    }),
                    audit: (new_value != row.value).then_some((AuditType::Update, row.value)),
                }
            }
        }
        (Change::Delete, Some(row)) => ChangeDecision {
            outcome: ChangeOutcome::Deleted,
            write: Some(NewRow {
                value: row.value,
                comment: row.comment,
                followup: row.followup,
                deleted: true,
                insert: false,
                set_stored_by: true,
            }),
            audit: Some((AuditType::Delete, row.value)),
        },
        // A client that sends a base version gets an idempotent delete: the value is
        // gone, which is what it asked for. Without one, DHIS2's 409 stands.
        (Change::Delete, None) if base.is_some() => {
            return ChangeDecision::nothing(ChangeOutcome::Unchanged);
        }
        (Change::Delete | Change::FollowUp(_), None) => {
            return ChangeDecision::nothing(ChangeOutcome::Missing);
        }
        (Change::FollowUp(flag), Some(row)) => {
            if flag == row.followup {
                return ChangeDecision::nothing(ChangeOutcome::Unchanged);
            }
            ChangeDecision {
                outcome: ChangeOutcome::Updated,
                write: Some(NewRow {
                    value: row.value,
                    comment: row.comment,
                    followup: flag,
                    deleted: false,
                    insert: false,
                    set_stored_by: false,
                }),
                audit: None,
            }
        }
    };
    guard(stored, base, decision)
}

/// Refuses a writing decision whose base version is not current.
fn guard<'a>(
    stored: Option<Versioned<'a>>,
    base: Option<i64>,
    decision: ChangeDecision<'a>,
) -> ChangeDecision<'a> {
    match base {
        Some(base) if decision.write.is_some() && !base_matches(stored, base) => {
            ChangeDecision::nothing(ChangeOutcome::Stale)
        }
        _ => decision,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NUMBER: ElementRule = ElementRule {
        value_type: ValueType::Number,
        zero_is_significant: false,
        average: false,
    };

    fn stored(value: Option<&str>, deleted: bool, version: i64) -> Option<Versioned<'_>> {
        Some(Versioned {
            row: Existing {
                value,
                comment: None,
                followup: false,
                deleted,
            },
            version,
        })
    }

    fn save<'a>(value: Option<&'a str>) -> Change<'a> {
        Change::Save {
            value: Some(value),
            comment: None,
            follow_up: None,
        }
    }

    #[test]
    fn new_values_are_created_without_audit_and_revivals_audit_create() {
        let d = decide_change(None, &save(Some("5")), NUMBER, None);
        assert_eq!(d.outcome, ChangeOutcome::Created);
        assert!(d.write.unwrap().insert);
        assert_eq!(d.audit, None);
        let d = decide_change(stored(Some("1"), true, 3), &save(Some("5")), NUMBER, None);
        assert_eq!(d.outcome, ChangeOutcome::Created);
        assert!(!d.write.unwrap().insert);
        assert_eq!(d.audit, Some((AuditType::Create, Some("5"))));
    }

    #[test]
    fn blank_and_insignificant_zero_are_not_stored_when_new() {
        for change in [save(None), save(Some("0"))] {
            let d = decide_change(None, &change, NUMBER, None);
            assert_eq!((d.outcome, d.write), (ChangeOutcome::NotStored, None));
        }
        let mut significant = NUMBER;
        significant.zero_is_significant = true;
        let d = decide_change(None, &save(Some("0")), significant, None);
        assert_eq!(d.outcome, ChangeOutcome::Created);
    }

    #[test]
    fn blank_or_zero_deletes_a_live_row_with_audit() {
        for change in [save(None), save(Some("0.0"))] {
            let d = decide_change(stored(Some("7"), false, 1), &change, NUMBER, None);
            assert_eq!(d.outcome, ChangeOutcome::Deleted);
            assert!(d.write.unwrap().deleted);
            assert_eq!(d.audit, Some((AuditType::Delete, Some("7"))));
        }
    }

    #[test]
    fn follow_up_toggles_on_post_and_sets_on_put() {
        let toggle = Change::Save {
            value: None,
            comment: None,
            follow_up: Some(false),
        };
        let d = decide_change(stored(Some("7"), false, 1), &toggle, NUMBER, None);
        assert_eq!(d.outcome, ChangeOutcome::Updated);
        assert!(d.write.unwrap().followup, "any followUp toggles");
        assert_eq!(d.audit, None);
        let d = decide_change(
            stored(Some("7"), false, 1),
            &Change::FollowUp(false),
            NUMBER,
            None,
        );
        assert_eq!(d.outcome, ChangeOutcome::Unchanged);
        let d = decide_change(
            stored(Some("7"), false, 1),
            &Change::FollowUp(true),
            NUMBER,
            None,
        );
        assert_eq!(d.outcome, ChangeOutcome::Updated);
        assert!(!d.write.unwrap().set_stored_by);
        let d = decide_change(
            stored(Some("7"), true, 1),
            &Change::FollowUp(true),
            NUMBER,
            None,
        );
        assert_eq!(d.outcome, ChangeOutcome::Missing);
    }

    #[test]
    fn true_only_without_anything_deletes() {
        let rule = ElementRule {
            value_type: ValueType::TrueOnly,
            zero_is_significant: false,
            average: false,
        };
        let nothing = Change::Save {
            value: None,
            comment: None,
            follow_up: None,
        };
        let d = decide_change(stored(Some("true"), false, 1), &nothing, rule, None);
        assert_eq!(d.outcome, ChangeOutcome::Deleted);
        let d = decide_change(stored(Some("7"), false, 1), &nothing, NUMBER, None);
        assert_eq!(d.outcome, ChangeOutcome::Unchanged);
    }

    #[test]
    fn identical_writes_are_unchanged_and_value_changes_audit_update() {
        let d = decide_change(stored(Some("7"), false, 1), &save(Some("7")), NUMBER, None);
        assert_eq!(d.outcome, ChangeOutcome::Unchanged);
        let d = decide_change(stored(Some("7"), false, 1), &save(Some("8")), NUMBER, None);
        assert_eq!(d.outcome, ChangeOutcome::Updated);
        assert_eq!(d.audit, Some((AuditType::Update, Some("7"))));
        let comment = Change::Save {
            value: None,
            comment: Some(Some("c")),
            follow_up: None,
        };
        let d = decide_change(stored(Some("7"), false, 1), &comment, NUMBER, None);
        assert_eq!((d.outcome, d.audit), (ChangeOutcome::Updated, None));
        assert_eq!(d.write.unwrap().value, Some("7"), "absent value is kept");
    }

    #[test]
    fn base_versions_guard_writes_but_not_replays() {
        let row = stored(Some("7"), false, 4);
        let d = decide_change(row, &save(Some("8")), NUMBER, Some(3));
        assert_eq!((d.outcome, d.write), (ChangeOutcome::Stale, None));
        let d = decide_change(row, &save(Some("8")), NUMBER, Some(4));
        assert_eq!(d.outcome, ChangeOutcome::Updated);
        // A replay of a write that already happened: unchanged, whatever the base.
        let d = decide_change(row, &save(Some("7")), NUMBER, Some(3));
        assert_eq!(d.outcome, ChangeOutcome::Unchanged);
        // 0 means "no live value".
        assert_eq!(
            decide_change(None, &save(Some("1")), NUMBER, Some(0)).outcome,
            ChangeOutcome::Created
        );
        assert_eq!(
            decide_change(
                stored(Some("1"), true, 9),
                &save(Some("2")),
                NUMBER,
                Some(0)
            )
            .outcome,
            ChangeOutcome::Created
        );
        assert_eq!(
            decide_change(row, &save(Some("2")), NUMBER, Some(0)).outcome,
            ChangeOutcome::Stale
        );
        assert_eq!(
            decide_change(row, &Change::Delete, NUMBER, Some(2)).outcome,
            ChangeOutcome::Stale
        );
    }

    #[test]
    fn delete_of_a_missing_value_is_missing_unless_versioned() {
        let gone = stored(Some("1"), true, 9);
        assert_eq!(
            decide_change(gone, &Change::Delete, NUMBER, None).outcome,
            ChangeOutcome::Missing
        );
        assert_eq!(
            decide_change(gone, &Change::Delete, NUMBER, Some(8)).outcome,
            ChangeOutcome::Unchanged
        );
        let d = decide_change(stored(Some("1"), false, 9), &Change::Delete, NUMBER, None);
        assert_eq!(d.outcome, ChangeOutcome::Deleted);
        assert_eq!(d.audit, Some((AuditType::Delete, Some("1"))));
        assert_eq!(d.write.unwrap().value, Some("1"), "the row keeps its value");
    }
}
