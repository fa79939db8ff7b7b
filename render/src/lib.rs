//! nauth-render: turns NAuth custom resources plus keys into NATS JWTs and creds.
//!
//! Everything that decides what a JWT or a Secret contains lives in this crate, and none of it
//! performs I/O: the command line (`render/cli`, binary `nauth-render`) reads and writes the
//! files, and the in-cluster controller (`nauth-apply`) asks this crate what to write and only
//! carries it out. Neither needs the other's dependencies.

pub mod api;
pub mod bootstrap;
pub mod claims;
pub mod diagnostic;
pub mod diff;
pub mod explain;
pub mod input;
pub mod inspect;
pub mod keys;
pub mod lock;
pub mod output;
pub mod render;
pub mod requests;
pub mod status;

/// The NATS JWT crate render signs with, re-exported because render's results carry its claims.
pub use nauth_jwt as jwt;
