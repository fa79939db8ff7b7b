//! Shared helpers for the end-to-end suite.
//!
//! The suite runs against the real servers that `tests/testenv.sh` starts; these helpers only
//! connect to them, they never start processes (the script owns every PID, so nothing leaks
//! when a test binary panics).

pub mod cluster;
pub mod controller;
pub mod doc_commands;
pub mod examples;
pub mod manifests;
pub mod nats;
pub mod nats_servers;
pub mod testenv;
pub mod tools;
