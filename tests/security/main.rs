//! The attack suite of THREAT_MODEL.md: one test per threat, each against a fresh ferry-local
//! with its log kept, so that every test also checks the log for the secrets it handled.
//! Each test is named after its threat id (`t01_…`), so the model and the suite can be read
//! side by side.

#[allow(dead_code)]
#[path = "../../crates/ferry-local/tests/local/helpers.rs"]
mod helpers;

mod abuse;
mod access;
mod authz;
mod content;
mod idp;
mod input;
mod outbound;
mod tokens;
mod uploads;
mod web;
