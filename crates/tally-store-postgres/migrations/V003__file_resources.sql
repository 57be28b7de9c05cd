-- File resources (DHIS2's fileresource): metadata of uploaded files; the content lives
-- on disk next to the server, named by its SHA-256 (storagekey), so equal files share it.
create table fileresource (
    uid           text    primary key,
    name          text    not null,
    contenttype   text    not null,
    contentlength bigint  not null,
    contentmd5    text    not null,
    storagekey    text    not null,
    domain        text    not null,
    assigned      boolean not null,
    created       bigint  not null,
    lastupdated   bigint  not null,
    createdby     text    not null
);
create index fileresource_storagekey on fileresource (storagekey);
