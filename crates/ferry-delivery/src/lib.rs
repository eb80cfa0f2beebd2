//! Outbound deliveries to a recipient's target system: a streamed PUT of each document to an
//! S3 presigned URL, or a POST of a (core-signed) webhook. This crate only sends; what is sent
//! and how it is signed is the core's business.
//!
//! Every request first passes the guard against server-side request forgery: https only, no
//! credentials in the URL, and every address the host resolves to must be public. The
//! connection is then pinned to the addresses checked, and redirects are never followed.
//! `TargetPolicy::allow_private` turns all of that off, for local testing only.

mod deliverer;
mod guard;
#[cfg(test)]
mod tests;

pub use deliverer::{HttpDeliverer, TargetPolicy};
pub use guard::{Resolve, SystemResolver, is_forbidden};
