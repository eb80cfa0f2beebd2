//! ferry-local driven over HTTP as a client would: one process per test, fresh data dir.

#[cfg(feature = "aws")]
mod aws_backend;
mod bad_input;
mod drop_folders;
mod durability;
mod flows;
mod helpers;
mod malware;
mod portal;
mod users;
