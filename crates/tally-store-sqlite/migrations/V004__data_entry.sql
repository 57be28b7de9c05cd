-- Data entry tables: lock exceptions (writes after expiry) and min-max ranges.
create table lockexception (
    datasetid  integer not null,
    periodid   integer not null,
    sourceid   integer not null,
    created    integer not null,
    createdby  text    not null,
    primary key (datasetid, periodid, sourceid)
) without rowid;

create table minmaxdataelement (
    sourceid             integer not null,
    dataelementid        integer not null,
    categoryoptioncomboid integer not null,
    minimumvalue         integer not null,
    maximumvalue         integer not null,
    generated            integer not null,
    primary key (sourceid, dataelementid, categoryoptioncomboid)
) without rowid;
