//! Test helpers shared by the workspace's integration tests. `runtime_api` is a minimal AWS
//! Lambda Runtime API on 127.0.0.1, enough to run a function binary as Lambda would: hand it
//! events, collect its responses and errors, see its init error.

pub mod contract;
pub mod function;
pub mod moto;
pub mod runtime_api;
