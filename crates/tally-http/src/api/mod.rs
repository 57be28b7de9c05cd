//! Handlers, in a tree that mirrors DHIS2's URLs.

pub mod audits;
pub mod auth;
pub mod data_entry;
pub mod data_value_sets;
pub mod data_values;
pub mod file_resources;
pub mod metadata;
pub mod metadata_read;
pub mod registrations;
pub mod system;
