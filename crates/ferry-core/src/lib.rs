//! Ferry's domain and application services. No cloud SDK, no HTTP server, no file-system layout:
//! everything outside the process is reached through the traits in [`ports`].

pub mod audit;
pub mod auth;
pub mod cached_users;
pub mod config;
pub mod disposition;
pub mod error;
pub mod extract;
pub mod ids;
pub mod inbox;
pub mod limits;
pub mod memory;
pub mod model;
pub mod native;
pub mod ports;
pub mod scan;
pub mod services;
pub mod tokens;
pub mod validation;
pub mod values;

pub use error::{Error, Result};
