-- tally SQLite schema, version 1. Never edit a shipped migration: add a new one.

-- Periods referenced by data values. periodid is computed from the period itself
-- (type and start date), so no import ever looks a period up; the table exists so that
-- SQL can filter by dates.
create table period (
    periodid   integer primary key,
    periodtype text    not null,
    startdate  text    not null,
    enddate    text    not null,
    iso        text    not null
);
create index period_dates on period (startdate, enddate);

-- One row per data value, keyed like DHIS2's datavalue table but clustered in arrival
-- order (period, org unit, data element, COC, AOC). Timestamps are epoch milliseconds.
-- version is a global monotonic sequence: a new one on every write, for conflict
-- detection by offline clients.
create table datavalue (
    periodid               integer not null,
    sourceid               integer not null,
    dataelementid          integer not null,
    categoryoptioncomboid  integer not null,
    attributeoptioncomboid integer not null,
    value                  text,
    storedby               text,
    created                integer not null,
    lastupdated            integer not null,
    comment                text,
    followup               integer not null default 0,
    deleted                integer not null default 0,
    version                integer not null,
    primary key (periodid, sourceid, dataelementid, categoryoptioncomboid, attributeoptioncomboid)
) without rowid;
create index datavalue_lastupdated on datavalue (lastupdated);

-- Audit trail: the previous value for UPDATE and DELETE.
create table datavalueaudit (
    datavalueauditid       integer primary key,
    periodid               integer not null,
    sourceid               integer not null,
    dataelementid          integer not null,
    categoryoptioncomboid  integer not null,
    attributeoptioncomboid integer not null,
    value                  text,
    created                integer not null,
    modifiedby             text,
    audittype              text    not null
);
create index datavalueaudit_key
    on datavalueaudit (dataelementid, periodid, sourceid, categoryoptioncomboid, attributeoptioncomboid);

create table completedatasetregistration (
    datasetid              integer not null,
    periodid               integer not null,
    sourceid               integer not null,
    attributeoptioncomboid integer not null,
    date                   integer not null,
    storedby               text    not null,
    created                integer not null,
    lastupdated            integer not null,
    lastupdatedby          text    not null,
    completed              integer not null,
    primary key (datasetid, periodid, sourceid, attributeoptioncomboid)
) without rowid;

-- Metadata objects as JSON; id is the internal id data values reference.
create table metadata_object (
    id   integer primary key,
    kind text not null,
    uid  text not null,
    body text not null,
    unique (kind, uid)
);
