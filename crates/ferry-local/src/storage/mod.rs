//! ferry-local's object store: documents on disk, behaving like the S3 bucket of the AWS
//! deployment. Browsers upload and download through presigned URLs served at `/_storage/{key}`
//! (single PUTs and multipart uploads, each with a signed Content-MD5), and every uploaded
//! document is announced on the work queue as S3's ObjectCreated notification would be.

mod disk;
mod error;
mod keyfile;
mod keys;
mod routes;
mod signing;
mod store;
#[cfg(test)]
mod tests;

pub use keyfile::load_or_create_signing_key;
pub use routes::router;
pub use store::DiskObjectStore;
