//! ferry-local driven over HTTP as a client would: one process per test, fresh data dir.

mod bad_input;
mod durability;
mod flows;
mod helpers;
mod users;
