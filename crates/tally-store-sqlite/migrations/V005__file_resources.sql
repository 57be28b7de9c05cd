-- File resources (DHIS2's fileresource): metadata of uploaded files; the content lives
-- next to the database, named by its SHA-256 (storagekey), so equal files share a blob.
create table fileresource (
    uid           text    primary key,
    name          text    not null,
    contenttype   text    not null,
    contentlength integer not null,
    contentmd5    text    not null,
    storagekey    text    not null,
    domain        text    not null,
    assigned      integer not null,
    created       integer not null,
    lastupdated   integer not null,
    createdby     text    not null
);
create index fileresource_storagekey on fileresource (storagekey);
