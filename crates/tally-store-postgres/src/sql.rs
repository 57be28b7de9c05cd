//! Every SQL statement of the PostgreSQL store, in one place, so that a test can prepare
//! them all against a migrated schema. The export query is assembled from fixed pieces
//! by [`export`].

use std::fmt::Write as _;

use tally_store::{AuditQuery, ExportOrder, ExportQuery, PeriodFilter};

/// Run on every new connection: the session's staging table for bulk merges. A temp
/// table is private to the session and not WAL-logged.
pub const SESSION_SETUP: &str = "create temp table if not exists tally_stage (
    periodid               bigint  not null,
    sourceid               bigint  not null,
    dataelementid          bigint  not null,
    categoryoptioncomboid  bigint  not null,
    attributeoptioncomboid bigint  not null,
    value                  text,
    storedby               text,
    created                bigint  not null,
    lastupdated            bigint  not null,
    comment                text,
    followup               boolean not null,
    deleted                boolean not null,
    version                bigint  not null
)";

/// Serialises migrations of one schema across processes (released at commit). The
/// first key is tally's, the second the schema, so that separate schemas in one
/// database migrate independently.
pub const MIGRATION_LOCK: &str =
    "select pg_advisory_xact_lock(1952541817, hashtext(coalesce(current_schema(), '')))";
pub const CREATE_MIGRATIONS: &str = "create table if not exists schema_migrations (
    version    integer primary key,
    applied_at timestamptz not null default now()
)";
pub const MAX_MIGRATION: &str = "select coalesce(max(version), 0)::bigint from schema_migrations";
pub const RECORD_MIGRATION: &str =
    "insert into schema_migrations (version) values ($1::bigint::integer)";

pub const PERIOD_KEYS: &str = "select periodid from period";
pub const INSERT_PERIODS: &str =
    "insert into period (periodid, periodtype, startdate, enddate, iso)
    select k, t, s::date, e::date, i
    from unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[]) as p(k, t, s, e, i)
    on conflict (periodid) do nothing";

/// The stored rows of a batch, in one statement: one index range scan per
/// `(period, org unit, data element range)` of the batch (a batch is sorted forms, so
/// a few ranges cover thousands of keys); rows of the ranges that are not in the batch
/// are dropped by the caller. The `lateral … offset 0` subquery keeps the planner on
/// the primary key (a plain join may pick a hash join over the whole table).
pub const SELECT_EXISTING: &str = "select d.periodid, d.sourceid, d.dataelementid,
    d.categoryoptioncomboid, d.attributeoptioncomboid, d.value, d.comment, d.followup,
    d.deleted
    from unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[]) as r(pe, ou, lo, hi)
    cross join lateral (
      select * from datavalue d
      where d.periodid = r.pe and d.sourceid = r.ou
        and d.dataelementid between r.lo and r.hi
      offset 0
    ) d";
/// The first numbers of `$1` blocks of versions (the sequence increments by a block).
pub const NEXT_VERSIONS: &str =
    "select nextval('datavalue_version_seq') from generate_series(1, $1::bigint)";

pub const TRUNCATE_STAGE: &str = "truncate tally_stage";
pub const COPY_STAGE: &str = "copy tally_stage (periodid, sourceid, dataelementid,
    categoryoptioncomboid, attributeoptioncomboid, value, storedby, created, lastupdated,
    comment, followup, deleted, version) from stdin (format binary)";
/// The set-based merge of a staged batch (one row per key, all stored when read):
/// overwrites keeping `created`. `on conflict` rather than `update … from` keeps it
/// on the primary key row by row, whatever the planner thinks of the staging table;
/// and a key that is not there any more is inserted rather than lost.
pub const MERGE_STAGE: &str = "insert into datavalue (periodid, sourceid, dataelementid,
    categoryoptioncomboid, attributeoptioncomboid, value, storedby, created, lastupdated,
    comment, followup, deleted, version)
    select periodid, sourceid, dataelementid, categoryoptioncomboid, attributeoptioncomboid,
      value, storedby, created, lastupdated, comment, followup, deleted, version
    from tally_stage
    on conflict (periodid, sourceid, dataelementid, categoryoptioncomboid,
                 attributeoptioncomboid) do update set
      value = excluded.value, storedby = excluded.storedby,
      lastupdated = excluded.lastupdated, comment = excluded.comment,
      followup = excluded.followup, deleted = excluded.deleted, version = excluded.version";
/// Bulk inserts of keys that were not stored (all keys with `skipExistingCheck`): an
/// existing key is a unique violation.
pub const COPY_VALUES: &str = "copy datavalue (periodid, sourceid, dataelementid,
    categoryoptioncomboid, attributeoptioncomboid, value, storedby, created, lastupdated,
    comment, followup, deleted, version) from stdin (format binary)";
pub const COPY_AUDITS: &str = "copy datavalueaudit (periodid, sourceid, dataelementid,
    categoryoptioncomboid, attributeoptioncomboid, version, value, created, modifiedby,
    audittype) from stdin (format binary)";

pub const GET_VALUE: &str = "select value, storedby, created, lastupdated, comment, followup,
    deleted, version from datavalue
    where periodid = $1 and sourceid = $2 and dataelementid = $3
      and categoryoptioncomboid = $4 and attributeoptioncomboid = $5";
/// The stored row of a single-value change, locked until the transaction ends.
pub const GET_VALUE_FOR_UPDATE: &str = "select value, storedby, created, lastupdated, comment,
    followup, deleted, version from datavalue
    where periodid = $1 and sourceid = $2 and dataelementid = $3
      and categoryoptioncomboid = $4 and attributeoptioncomboid = $5
    for update";
/// A single-value insert; no row when another transaction inserted the key first.
pub const INSERT_VALUE: &str = "insert into datavalue (periodid, sourceid, dataelementid,
    categoryoptioncomboid, attributeoptioncomboid, value, storedby, created, lastupdated,
    comment, followup, deleted, version)
    values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
    on conflict do nothing";
pub const OVERWRITE_VALUE: &str = "update datavalue set value = $1, storedby = $2,
    lastupdated = $3, comment = $4, followup = $5, deleted = $6, version = $7
    where periodid = $8 and sourceid = $9 and dataelementid = $10
      and categoryoptioncomboid = $11 and attributeoptioncomboid = $12";
pub const INSERT_AUDIT: &str = "insert into datavalueaudit (periodid, sourceid, dataelementid,
    categoryoptioncomboid, attributeoptioncomboid, version, value, created, modifiedby,
    audittype)
    values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";
pub const AUDITS: &str = "select value, created, modifiedby, audittype from datavalueaudit
    where periodid = $1 and sourceid = $2 and dataelementid = $3
      and categoryoptioncomboid = $4 and attributeoptioncomboid = $5
    order by version desc";
pub const COUNT_VALUES: &str = "select count(*) from datavalue";
/// Bases of the audit query; [`audits`] appends the filters.
pub const AUDIT_SELECT: &str = "select periodid, sourceid, dataelementid,
    categoryoptioncomboid, attributeoptioncomboid, value, created, modifiedby, audittype
    from datavalueaudit where true";
pub const AUDIT_COUNT: &str = "select count(*) from datavalueaudit where true";

/// Base of the export query; [`export`] appends the filters.
pub const EXPORT_SELECT: &str = "select periodid, sourceid, dataelementid,
    categoryoptioncomboid, attributeoptioncomboid, value, storedby, created, lastupdated,
    comment, followup, deleted, version from datavalue
    where dataelementid = any($1::bigint[]) and sourceid = any($2::bigint[])";
/// Rows fetched from the export cursor per round trip.
pub const EXPORT_CHUNK: usize = 2048;
pub const EXPORT_CURSOR: &str = "tally_export";
pub const BEGIN_EXPORT: &str = "begin isolation level repeatable read read only";
pub const FETCH_EXPORT: &str = "fetch forward 2048 from tally_export";

pub const UPSERT_REGISTRATION: &str = "insert into completedatasetregistration (datasetid,
    periodid, sourceid, attributeoptioncomboid, date, storedby, created, lastupdated,
    lastupdatedby, completed)
    values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
    on conflict (datasetid, periodid, sourceid, attributeoptioncomboid) do update set
      date = excluded.date, storedby = excluded.storedby, lastupdated = excluded.lastupdated,
      lastupdatedby = excluded.lastupdatedby, completed = excluded.completed";
pub const GET_REGISTRATION: &str = "select date, storedby, created, lastupdated, lastupdatedby,
    completed from completedatasetregistration
    where datasetid = $1 and periodid = $2 and sourceid = $3 and attributeoptioncomboid = $4";

pub const LOCK_EXCEPTIONS: &str = "select datasetid, periodid, sourceid, created, createdby
    from lockexception order by datasetid, periodid, sourceid";
pub const INSERT_LOCK_EXCEPTION: &str = "insert into lockexception (datasetid, periodid,
    sourceid, created, createdby) values ($1, $2, $3, $4, $5)
    on conflict (datasetid, periodid, sourceid) do nothing";
/// `$2` (period) and `$3` (org unit) null match any.
pub const DELETE_LOCK_EXCEPTIONS: &str = "delete from lockexception where datasetid = $1
    and ($2::bigint is null or periodid = $2) and ($3::bigint is null or sourceid = $3)";
pub const MIN_MAX_OF_ORG_UNIT: &str = "select dataelementid, categoryoptioncomboid,
    minimumvalue, maximumvalue, generated from minmaxdataelement where sourceid = $1
    order by dataelementid, categoryoptioncomboid";
pub const UPSERT_MIN_MAX: &str = "insert into minmaxdataelement (sourceid, dataelementid,
    categoryoptioncomboid, minimumvalue, maximumvalue, generated)
    values ($1, $2, $3, $4, $5, $6)
    on conflict (sourceid, dataelementid, categoryoptioncomboid) do update set
      minimumvalue = excluded.minimumvalue, maximumvalue = excluded.maximumvalue,
      generated = excluded.generated";
pub const DELETE_MIN_MAX: &str = "delete from minmaxdataelement
    where sourceid = $1 and dataelementid = $2 and categoryoptioncomboid = $3";
pub const DELETE_REGISTRATION: &str = "delete from completedatasetregistration
    where datasetid = $1 and periodid = $2 and sourceid = $3 and attributeoptioncomboid = $4";

pub const INSERT_FILE_RESOURCE: &str = "insert into fileresource (uid, name, contenttype,
    contentlength, contentmd5, storagekey, domain, assigned, created, lastupdated, createdby)
    values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)";
pub const GET_FILE_RESOURCE: &str = "select uid, name, contenttype, contentlength, contentmd5,
    storagekey, domain, assigned, created, lastupdated, createdby
    from fileresource where uid = $1";
pub const ASSIGN_FILE_RESOURCE: &str = "update fileresource set assigned = true, lastupdated = $2
    where uid = $1 and not assigned";
pub const UNASSIGN_FILE_RESOURCE: &str = "update fileresource set assigned = false,
    lastupdated = $2 where uid = $1 and assigned";
pub const DELETE_FILE_RESOURCE: &str = "delete from fileresource where uid = $1";
pub const COUNT_STORAGE_KEY: &str = "select count(*) from fileresource where storagekey = $1";

pub const LOAD_METADATA: &str = "select id, kind, uid, body from metadata_object order by id";
/// Creates or updates objects by `(kind, uid)` in one statement (input without
/// duplicates). Existing objects are updated in place, so ids are drawn from the identity
/// only for new objects; `on conflict` covers another process inserting the same object
/// at the same time. `bump` tells the other processes to reload.
pub const SAVE_METADATA: &str = "with input (kind, uid, body) as (
      select * from unnest($1::text[], $2::text[], $3::text[])
    ), upd as (
      update metadata_object m set body = i.body from input i
      where m.kind = i.kind and m.uid = i.uid
      returning m.id, m.kind, m.uid
    ), ins as (
      insert into metadata_object (kind, uid, body)
      select i.kind, i.uid, i.body from input i
      where not exists (select 1 from metadata_object m where m.kind = i.kind and m.uid = i.uid)
      on conflict (kind, uid) do update set body = excluded.body
      returning id, kind, uid
    ), bump as (
      update metadata_version set version = version + 1
    )
    select id, kind, uid from upd union all select id, kind, uid from ins";
pub const METADATA_VERSION: &str = "select version from metadata_version where id = 1";

pub const SAVE_JOB: &str = "insert into job (id, jobtype, status, created, updated, username,
    params, bodypath, notifications, summary)
    values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
    on conflict (id) do update set status = excluded.status, updated = excluded.updated,
      bodypath = excluded.bodypath, notifications = excluded.notifications,
      summary = excluded.summary";
pub const GET_JOB: &str = "select id, jobtype, status, created, updated, username, params,
    bodypath, notifications, summary from job where id = $1";
pub const JOBS_OF_TYPE: &str = "select id, jobtype, status, created, updated, username, params,
    bodypath, notifications, summary from job where jobtype = $1 order by created desc";
pub const UNFINISHED_JOBS: &str = "select id, jobtype, status, created, updated, username, params,
    bodypath, notifications, summary from job where status not in ('COMPLETED', 'FAILED')
    order by created";
/// Makes the claim row of a job exist (committed on its own, before the claim).
pub const ADD_JOB_CLAIM: &str = "insert into job_claim (id) select id from job where id = $1
    on conflict do nothing";
/// Locks the claim row of an unfinished job for the claiming transaction; no row when
/// another process holds it or the job finished.
pub const CLAIM_JOB: &str = "select c.id from job_claim c join job j on j.id = c.id
    where c.id = $1 and j.status not in ('COMPLETED', 'FAILED')
    for update of c skip locked";

pub const SAVE_JOB_BODY: &str = "insert into job_body (id, chunk, data) values ($1, $2, $3)";
/// The next chunks of a job body from `$2` on, a few at a time (bounded memory).
pub const JOB_BODY_CHUNKS: &str =
    "select chunk, data from job_body where id = $1 and chunk >= $2 order by chunk limit 8";
pub const DELETE_JOB_BODY: &str = "delete from job_body where id = $1";

pub const SAVE_SESSION: &str = "insert into session (digest, userid, lastseen) values ($1, $2, $3)
    on conflict (digest) do update set lastseen = excluded.lastseen";
pub const GET_SESSION: &str = "select userid, lastseen from session where digest = $1";
pub const DELETE_SESSION: &str = "delete from session where digest = $1";
pub const DELETE_SESSIONS: &str = "delete from session where userid = $1 or lastseen < $2";

/// After a whole-database copy (`tally migrate`): the version sequence and the metadata
/// identity continue after the copied rows, and other processes reload metadata.
pub const COPY_VERSIONS: &str = "select setval('datavalue_version_seq', m) from (
    select greatest((select coalesce(max(version), 0) from datavalue),
                    (select coalesce(max(version), 0) from datavalueaudit)) as m) x
    where m > 0";
pub const COPY_METADATA_IDS: &str =
    "select setval(pg_get_serial_sequence('metadata_object', 'id'), m) from (
    select max(id) as m from metadata_object) x where m is not null";
pub const COPY_BUMP_METADATA: &str = "update metadata_version set version = version + 1";

/// Statements with fixed text, for the prepare-everything test. They need a migrated
/// schema and, for the staging statements, a session that ran [`SESSION_SETUP`].
pub const ALL: &[&str] = &[
    MIGRATION_LOCK,
    CREATE_MIGRATIONS,
    MAX_MIGRATION,
    RECORD_MIGRATION,
    PERIOD_KEYS,
    INSERT_PERIODS,
    SELECT_EXISTING,
    NEXT_VERSIONS,
    TRUNCATE_STAGE,
    COPY_STAGE,
    MERGE_STAGE,
    COPY_VALUES,
    COPY_AUDITS,
    GET_VALUE,
    GET_VALUE_FOR_UPDATE,
    INSERT_VALUE,
    OVERWRITE_VALUE,
    INSERT_AUDIT,
    AUDITS,
    COUNT_VALUES,
    AUDIT_SELECT,
    AUDIT_COUNT,
    EXPORT_SELECT,
    BEGIN_EXPORT,
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
    SAVE_METADATA,
    SAVE_JOB,
    GET_JOB,
    JOBS_OF_TYPE,
    UNFINISHED_JOBS,
    LOCK_EXCEPTIONS,
    INSERT_LOCK_EXCEPTION,
    DELETE_LOCK_EXCEPTIONS,
    MIN_MAX_OF_ORG_UNIT,
    UPSERT_MIN_MAX,
    DELETE_MIN_MAX,
    METADATA_VERSION,
    ADD_JOB_CLAIM,
    CLAIM_JOB,
    SAVE_SESSION,
    GET_SESSION,
    DELETE_SESSION,
    DELETE_SESSIONS,
    SAVE_JOB_BODY,
    JOB_BODY_CHUNKS,
    DELETE_JOB_BODY,
    COPY_VERSIONS,
    COPY_METADATA_IDS,
    COPY_BUMP_METADATA,
];

/// A parameter of a query assembled at run time, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SqlParam {
    Ids(Vec<i64>),
    Texts(Vec<String>),
    Date(String),
    Int(i64),
    /// `NULL` for `limit`: no limit.
    OptInt(Option<i64>),
}

/// The audit query for `q`: the count of all matching rows, the page (newest first),
/// and their parameters (the page's are the count's plus limit and offset).
#[must_use]
pub fn audits(q: &AuditQuery) -> (String, String, Vec<SqlParam>) {
    fn ids<T: Copy + Into<i64>>(v: &[T]) -> SqlParam {
        SqlParam::Ids(v.iter().map(|&x| x.into()).collect())
    }
    let mut filter = String::new();
    let mut params = Vec::new();
    let mut list = |column: &str, p: SqlParam, cast: &str| {
        params.push(p);
        let _ = write!(filter, " and {column} = any(${}::{cast}[])", params.len());
    };
    if !q.data_elements.is_empty() {
        list("dataelementid", ids(&q.data_elements), "bigint");
    }
    if !q.periods.is_empty() {
        list("periodid", ids(&q.periods), "bigint");
    }
    if !q.org_units.is_empty() {
        list("sourceid", ids(&q.org_units), "bigint");
    }
    if let Some(coc) = q.category_option_combo {
        list("categoryoptioncomboid", ids(&[coc]), "bigint");
    }
    if let Some(aoc) = q.attribute_option_combo {
        list("attributeoptioncomboid", ids(&[aoc]), "bigint");
    }
    if !q.audit_types.is_empty() {
        let names = q.audit_types.iter().map(|t| t.name().to_owned()).collect();
        list("audittype", SqlParam::Texts(names), "text");
    }
    let count = format!("{AUDIT_COUNT}{filter}");
    let n = params.len();
    let select = format!(
        "{AUDIT_SELECT}{filter} order by created desc, version desc limit ${}::bigint offset ${}::bigint",
        n + 1,
        n + 2
    );
    params.push(SqlParam::OptInt(
        q.limit.map(|l| i64::try_from(l).unwrap_or(i64::MAX)),
    ));
    params.push(SqlParam::Int(i64::try_from(q.offset).unwrap_or(i64::MAX)));
    (count, select, params)
}

/// The export query for `q` and its parameters. Rows come in key order (the SQLite
/// store's storage order) unless `q.order` asks for org unit, period, AOC order; the key
/// breaks ties there too, so exports are deterministic.
#[must_use]
pub fn export(q: &ExportQuery) -> (String, Vec<SqlParam>) {
    fn ids<T: Copy + Into<i64>>(v: &[T]) -> SqlParam {
        SqlParam::Ids(v.iter().map(|&x| x.into()).collect())
    }
    let mut sql = String::from(EXPORT_SELECT);
    let mut params = vec![ids(&q.data_elements), ids(&q.org_units)];
    match &q.periods {
        PeriodFilter::Any => {}
        PeriodFilter::Keys(keys) => {
            params.push(SqlParam::Ids(keys.clone()));
            let _ = write!(sql, " and periodid = any(${}::bigint[])", params.len());
        }
        PeriodFilter::Within { start, end } => {
            params.push(SqlParam::Date(start.to_string()));
            params.push(SqlParam::Date(end.to_string()));
            let _ = write!(
                sql,
                " and periodid in (select periodid from period \
                 where startdate >= ${}::text::date and enddate <= ${}::text::date)",
                params.len() - 1,
                params.len()
            );
        }
    }
    if let Some(aocs) = &q.attribute_option_combos {
        params.push(ids(aocs));
        let _ = write!(
            sql,
            " and attributeoptioncomboid = any(${}::bigint[])",
            params.len()
        );
    }
    if !q.include_deleted {
        sql.push_str(" and not deleted");
    }
    if let Some(since) = q.last_updated_since_ms {
        params.push(SqlParam::Int(since));
        let _ = write!(sql, " and lastupdated >= ${}::bigint", params.len());
    }
    sql.push_str(match q.order {
        ExportOrder::Storage => {
            " order by periodid, sourceid, dataelementid, categoryoptioncomboid, \
             attributeoptioncomboid"
        }
        ExportOrder::OrgUnitPeriod => {
            " order by sourceid, periodid, attributeoptioncomboid, dataelementid, \
             categoryoptioncomboid"
        }
    });
    if let Some(limit) = q.limit {
        params.push(SqlParam::Int(i64::try_from(limit).unwrap_or(i64::MAX)));
        let _ = write!(sql, " limit ${}::bigint", params.len());
    }
    (sql, params)
}
