//! The functions on moto: the built binaries under a Runtime API emulator, and the whole
//! transfer flow through the functions' handlers with moto delivering S3's notifications.

mod binaries;
mod flow;
