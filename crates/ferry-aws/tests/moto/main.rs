//! The AWS adapters against moto's server on 127.0.0.1: one server per test run, fresh resource
//! names per test.

mod cognito;
mod dynamodb;
mod harness;
mod s3;
mod ses;
mod sqs;
