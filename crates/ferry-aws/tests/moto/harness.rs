//! moto and its clients come from the shared test support crate.

pub use ferry_moto::*;
