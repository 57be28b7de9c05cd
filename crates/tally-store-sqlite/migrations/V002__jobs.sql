-- Background jobs (async imports), stored so that a restart resumes or fails them.
create table job (
    id            text    primary key,
    jobtype       text    not null,
    status        text    not null,
    created       integer not null,
    updated       integer not null,
    username      text    not null,
    params        text    not null,
    bodypath      text,
    notifications text    not null,
    summary       text
);
create index job_type_created on job (jobtype, created);
