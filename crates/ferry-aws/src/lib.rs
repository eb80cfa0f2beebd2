//! Ferry's ports on AWS, over the AWS SDK for Rust. The Lambda functions and
//! `ferry-local --backend aws` wire these adapters to the same services ferry-local runs.

pub mod cognito;
mod cognito_clients;
pub mod consume;
pub mod dynamodb;
pub mod provision;
pub mod s3;
pub mod s3_inbox;
pub mod ses;
pub mod sqs;
pub mod textract;
