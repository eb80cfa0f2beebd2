//! ferry-local: the whole portal on one machine. Embedded adapters of the core's ports, a local
//! OIDC provider, a mail outbox, and the wiring that serves them with the shared HTTP API.

pub mod admin_cli;
pub mod app;
#[cfg(feature = "aws")]
mod aws;
pub mod catalog;
pub mod clients;
pub mod db;
pub mod html;
pub mod idp;
pub mod inbox;
pub mod outbox;
pub mod portal;
pub mod queue;
pub mod storage;
pub mod users;
