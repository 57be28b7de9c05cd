-- The audit trail is only ever looked up by (part of) the data value key, and a version
-- is unique by construction (one sequence hands them out). The six-column primary key
-- cost every audit row a 48-byte index entry: for 2M audit rows the key index was
-- 197 MB against 30 MB for this three-column index, whose repeated prefixes (the COCs
-- and versions of one data element, org unit and period) PostgreSQL folds together.
-- Audit inserts of a re-import were the second biggest cost after the merge itself.
alter table datavalueaudit drop constraint datavalueaudit_pkey;
create index datavalueaudit_key on datavalueaudit (periodid, sourceid, dataelementid);
