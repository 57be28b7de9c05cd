//! Every SQL statement of the SQLite store, in one place, so that a test can prepare
//! them all against a migrated database.

pub const CREATE_MIGRATIONS: &str = "create table if not exists schema_migrations (
    version integer primary key,
    applied_at text not null default (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
)";
pub const MAX_MIGRATION: &str = "select coalesce(max(version), 0) from schema_migrations";
pub const RECORD_MIGRATION: &str = "insert into schema_migrations (version) values (?1)";

pub const MAX_VERSION: &str = "select max(coalesce((select max(version) from datavalue), 0),
    coalesce((select max(version) from datavalueaudit), 0))";
pub const PERIOD_KEYS: &str = "select periodid from period";
pub const INSERT_PERIOD: &str =
    "insert or ignore into period (periodid, periodtype, startdate, enddate, iso)
    values (?1, ?2, ?3, ?4, ?5)";

pub const SELECT_EXISTING: &str = "select value, comment, followup, deleted from datavalue
    where periodid = ?1 and sourceid = ?2 and dataelementid = ?3
      and categoryoptioncomboid = ?4 and attributeoptioncomboid = ?5";
pub const INSERT_VALUE: &str = "insert into datavalue (periodid, sourceid, dataelementid,
    categoryoptioncomboid, attributeoptioncomboid, value, storedby, created, lastupdated,
    comment, followup, deleted, version)
    values (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)";
pub const OVERWRITE_VALUE: &str = "update datavalue set value = ?1, storedby = ?2,
    lastupdated = ?3, comment = ?4, followup = ?5, deleted = ?6, version = ?7
    where periodid = ?8 and sourceid = ?9 and dataelementid = ?10
      and categoryoptioncomboid = ?11 and attributeoptioncomboid = ?12";
pub const INSERT_AUDIT: &str = "insert into datavalueaudit (periodid, sourceid, dataelementid,
    categoryoptioncomboid, attributeoptioncomboid, version, value, created, modifiedby,
    audittype)
    values (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)";
pub const GET_VALUE: &str = "select value, storedby, created, lastupdated, comment, followup,
    deleted, version from datavalue
    where periodid = ?1 and sourceid = ?2 and dataelementid = ?3
      and categoryoptioncomboid = ?4 and attributeoptioncomboid = ?5";
pub const AUDITS: &str = "select value, created, modifiedby, audittype from datavalueaudit
    where periodid = ?1 and sourceid = ?2 and dataelementid = ?3
      and categoryoptioncomboid = ?4 and attributeoptioncomboid = ?5
    order by version desc";
pub const COUNT_VALUES: &str = "select count(*) from datavalue";
/// Bases of the audit query; filters are appended as `and …` clauses.
pub const AUDIT_SELECT: &str = "select periodid, sourceid, dataelementid,
    categoryoptioncomboid, attributeoptioncomboid, value, created, modifiedby, audittype
    from datavalueaudit where 1 = 1";
pub const AUDIT_COUNT: &str = "select count(*) from datavalueaudit where 1 = 1";

/// Base of the export query; filters are appended as `and …` clauses.
pub const EXPORT_SELECT: &str = "select periodid, sourceid, dataelementid, categoryoptioncomboid,
    attributeoptioncomboid, value, storedby, created, lastupdated, comment, followup, deleted,
    version from datavalue where 1 = 1";

pub const UPSERT_REGISTRATION: &str = "insert into completedatasetregistration (datasetid,
    periodid, sourceid, attributeoptioncomboid, date, storedby, created, lastupdated,
    lastupdatedby, completed)
    values (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
    on conflict (datasetid, periodid, sourceid, attributeoptioncomboid) do update set
      date = excluded.date, storedby = excluded.storedby, lastupdated = excluded.lastupdated,
      lastupdatedby = excluded.lastupdatedby, completed = excluded.completed";
pub const GET_REGISTRATION: &str = "select date, storedby, created, lastupdated, lastupdatedby,
    completed from completedatasetregistration
    where datasetid = ?1 and periodid = ?2 and sourceid = ?3 and attributeoptioncomboid = ?4";

pub const DELETE_REGISTRATION: &str = "delete from completedatasetregistration
    where datasetid = ?1 and periodid = ?2 and sourceid = ?3 and attributeoptioncomboid = ?4";

pub const INSERT_FILE_RESOURCE: &str = "insert into fileresource (uid, name, contenttype,
    contentlength, contentmd5, storagekey, domain, assigned, created, lastupdated, createdby)
    values (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)";
pub const GET_FILE_RESOURCE: &str = "select uid, name, contenttype, contentlength, contentmd5,
    storagekey, domain, assigned, created, lastupdated, createdby
    from fileresource where uid = ?1";
pub const ASSIGN_FILE_RESOURCE: &str = "update fileresource set assigned = true, lastupdated = ?2
    where uid = ?1 and not assigned";
pub const UNASSIGN_FILE_RESOURCE: &str = "update fileresource set assigned = false,
    lastupdated = ?2 where uid = ?1 and assigned";
pub const DELETE_FILE_RESOURCE: &str = "delete from fileresource where uid = ?1";
pub const COUNT_STORAGE_KEY: &str = "select count(*) from fileresource where storagekey = ?1";

pub const LOAD_METADATA: &str = "select id, kind, uid, body from metadata_object order by id";
pub const UPSERT_METADATA: &str =
    "insert into metadata_object (kind, uid, body) values (?1, ?2, ?3)
    on conflict (kind, uid) do update set body = excluded.body
    returning id";

pub const SAVE_JOB: &str = "insert into job (id, jobtype, status, created, updated, username,
    params, bodypath, notifications, summary)
    values (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
    on conflict (id) do update set status = excluded.status, updated = excluded.updated,
      bodypath = excluded.bodypath, notifications = excluded.notifications,
      summary = excluded.summary";
pub const JOB_COLUMNS: &str = "select id, jobtype, status, created, updated, username, params,
    bodypath, notifications, summary from job";
pub const GET_JOB: &str = "select id, jobtype, status, created, updated, username, params,
    bodypath, notifications, summary from job where id = ?1";
pub const JOBS_OF_TYPE: &str = "select id, jobtype, status, created, updated, username, params,
    bodypath, notifications, summary from job where jobtype = ?1 order by created desc";
pub const UNFINISHED_JOBS: &str = "select id, jobtype, status, created, updated, username, params,
    bodypath, notifications, summary from job where status not in ('COMPLETED', 'FAILED')
    order by created";

pub const LOCK_EXCEPTIONS: &str = "select datasetid, periodid, sourceid, created, createdby
    from lockexception order by datasetid, periodid, sourceid";
pub const INSERT_LOCK_EXCEPTION: &str = "insert into lockexception (datasetid, periodid,
    sourceid, created, createdby) values (?1, ?2, ?3, ?4, ?5)
    on conflict (datasetid, periodid, sourceid) do nothing";
/// `?2` (period) and `?3` (org unit) null match any.
pub const DELETE_LOCK_EXCEPTIONS: &str = "delete from lockexception where datasetid = ?1
    and (?2 is null or periodid = ?2) and (?3 is null or sourceid = ?3)";
pub const MIN_MAX_OF_ORG_UNIT: &str = "select dataelementid, categoryoptioncomboid,
    minimumvalue, maximumvalue, generated from minmaxdataelement where sourceid = ?1
    order by dataelementid, categoryoptioncomboid";
pub const UPSERT_MIN_MAX: &str = "insert into minmaxdataelement (sourceid, dataelementid,
    categoryoptioncomboid, minimumvalue, maximumvalue, generated)
    values (?1, ?2, ?3, ?4, ?5, ?6)
    on conflict (sourceid, dataelementid, categoryoptioncomboid) do update set
      minimumvalue = excluded.minimumvalue, maximumvalue = excluded.maximumvalue,
      generated = excluded.generated";
pub const DELETE_MIN_MAX: &str = "delete from minmaxdataelement
    where sourceid = ?1 and dataelementid = ?2 and categoryoptioncomboid = ?3";

/// Statements with fixed text, for the prepare-everything test.
pub const ALL: &[&str] = &[
    MAX_MIGRATION,
    RECORD_MIGRATION,
    MAX_VERSION,
    PERIOD_KEYS,
    INSERT_PERIOD,
    SELECT_EXISTING,
    INSERT_VALUE,
    OVERWRITE_VALUE,
    INSERT_AUDIT,
    GET_VALUE,
    AUDITS,
    COUNT_VALUES,
    AUDIT_SELECT,
    AUDIT_COUNT,
    EXPORT_SELECT,
    UPSERT_REGISTRATION,
    GET_REGISTRATION,
    DELETE_REGISTRATION,
    INSERT_FILE_RESOURCE,
    GET_FILE_RESOURCE,
    ASSIGN_FILE_RESOURCE,
    UNASSIGN_FILE_RESOURCE,
    DELETE_FILE_RESOURCE,
    COUNT_STORAGE_KEY,
    LOAD_METADATA,
    UPSERT_METADATA,
    SAVE_JOB,
    JOB_COLUMNS,
    GET_JOB,
    JOBS_OF_TYPE,
    UNFINISHED_JOBS,
    LOCK_EXCEPTIONS,
    INSERT_LOCK_EXCEPTION,
    DELETE_LOCK_EXCEPTIONS,
    MIN_MAX_OF_ORG_UNIT,
    UPSERT_MIN_MAX,
    DELETE_MIN_MAX,
];
