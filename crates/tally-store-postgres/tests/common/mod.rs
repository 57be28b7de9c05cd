//! Test helpers: see [`tally_store_postgres::testkit`].

#![allow(dead_code)]

pub use tally_store_postgres::testkit::*;
