//! Writers: the endpoint's JSON, the rollup tables (Parquet and CSV), the
//! report's HTML page, the rejects file, all written whole or not at all.

pub mod atomic;
pub mod guard;
pub mod html;
pub mod json;
pub mod layout;
pub mod rejects;
pub mod staging;
pub mod tables;
