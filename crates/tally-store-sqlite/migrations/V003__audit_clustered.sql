-- The audit trail clustered on the data value key: a re-import appends audit rows in the
-- same key order as it updates `datavalue`, so both B-trees are written sequentially
-- (measured: the rowid table plus a secondary index cost a random index insert per row).
-- Rows are ordered within a key by the version of the write that produced them; rows
-- from before this migration get negative numbers in their old order.
create table datavalueaudit_clustered (
    periodid               integer not null,
    sourceid               integer not null,
    dataelementid          integer not null,
    categoryoptioncomboid  integer not null,
    attributeoptioncomboid integer not null,
    version                integer not null,
    value                  text,
    created                integer not null,
    modifiedby             text,
    audittype              text    not null,
    primary key (periodid, sourceid, dataelementid, categoryoptioncomboid,
                 attributeoptioncomboid, version)
) without rowid;
insert into datavalueaudit_clustered
    select periodid, sourceid, dataelementid, categoryoptioncomboid, attributeoptioncomboid,
           datavalueauditid - (select coalesce(max(datavalueauditid), 0) + 1 from datavalueaudit),
           value, created, modifiedby, audittype
    from datavalueaudit;
drop table datavalueaudit;
alter table datavalueaudit_clustered rename to datavalueaudit;
