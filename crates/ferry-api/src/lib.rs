//! Ferry's HTTP API v1 as one axum router. ferry-local serves it directly; each Lambda function
//! serves it (or the part of it its route needs) through lambda_http, so both run the same code.

mod clients;
mod drop_folder;
mod extract;
mod problem;
mod routes;
pub mod views;
mod whole;

pub use extract::{ClientIp, SourceIp};
pub use problem::{ApiError, problem};

use axum::Router;
use ferry_core::services::Ferry;
use std::sync::Arc;

#[derive(Clone)]
pub struct AppState {
    pub ferry: Arc<Ferry>,
}

/// Every JSON body of the API fits in this; a route that needed more would raise its own.
pub const MAX_JSON_BODY: usize = 64 * 1024;
/// The body of `.../complete`, which lists every part of an upload.
pub const MAX_COMPLETE_BODY: usize = 1024 * 1024;

/// The whole API under `/api/v1`, with problem+json for unknown routes and methods.
pub fn router(ferry: Arc<Ferry>) -> Router {
    routes::router().with_state(AppState { ferry })
}
