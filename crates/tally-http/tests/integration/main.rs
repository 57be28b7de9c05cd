//! HTTP integration tests: the real router in-process, a real SQLite file per test, the
//! metadata DHIS2's own fixtures assume (spec §13.1), and the fixtures themselves.

mod adx;
mod auth;
mod data_entry;
mod data_value_sets_export;
mod data_value_sets_import;
mod data_values;
mod file_values;
mod group_commit;
mod harness;
mod metadata_read;
mod permissions;
mod registrations;
mod shared_store;
mod tasks;
mod transcript;
