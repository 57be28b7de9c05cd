-- Async import bodies kept in the database too (in 1 MiB chunks), so that any process
-- sharing it can run a job whose submitting process died, on whatever host.
create table job_body (
    id    text    not null,
    chunk integer not null,
    data  bytea   not null,
    primary key (id, chunk)
);
