//! Handlers, in a tree that mirrors DHIS2's URLs.

pub mod auth;
pub mod data_value_sets;
pub mod metadata;
pub mod registrations;
pub mod system;
