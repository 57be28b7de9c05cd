-- Data entry tables: lock exceptions (writes after expiry) and min-max ranges.
create table lockexception (
    datasetid  bigint not null,
    periodid   bigint not null,
    sourceid   bigint not null,
    created    bigint not null,
    createdby  text   not null,
    primary key (datasetid, periodid, sourceid)
);

create table minmaxdataelement (
    sourceid              bigint  not null,
    dataelementid         bigint  not null,
    categoryoptioncomboid bigint  not null,
    minimumvalue          bigint  not null,
    maximumvalue          bigint  not null,
    generated             boolean not null,
    primary key (sourceid, dataelementid, categoryoptioncomboid)
);
