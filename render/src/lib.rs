//! nauth-render: turns NAuth custom resources plus keys into NATS JWTs and creds.
//!
//! Everything that decides what a JWT or a Secret contains lives in this crate, and none of it
//! performs I/O beyond reading the files the CLI is pointed at: the in-cluster controller
//! (`nauth-apply`) asks this crate what to write and only carries it out.

pub mod api;
pub mod bootstrap;
pub mod claims;
pub mod cli;
pub mod diagnostic;
pub mod diff;
pub mod explain;
pub mod input;
pub mod inspect;
pub mod jwt;
pub mod keys;
pub mod lock;
pub mod output;
pub mod render;
pub mod status;
