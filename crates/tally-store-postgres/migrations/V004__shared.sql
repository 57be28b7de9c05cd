-- Several tally processes on one database.

-- Bumped by every metadata save: the other processes poll it and reload.
create table metadata_version (
    id      integer primary key check (id = 1),
    version bigint  not null
);
insert into metadata_version (id, version) values (1, 0);

-- One row per job that a process ever tried to run: the running process holds it
-- `for update` for the whole job (`skip locked` lets the others pass it by), so a job
-- runs in one process at a time and is free again when that process dies.
create table job_claim (
    id text primary key references job (id) on delete cascade
);

-- Login sessions, so that a session made through one process works through all.
create table session (
    digest   text   primary key,
    userid   text   not null,
    lastseen bigint not null
);
create index session_by_user on session (userid);
