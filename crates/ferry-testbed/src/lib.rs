//! What the functions' tests and the benchmarks run Ferry's Lambda binaries against: the
//! Lambda Runtime API, an OIDC issuer and a fresh stack of AWS resources in moto.

pub mod issuer;
pub mod runtime_api;
pub mod stack;
