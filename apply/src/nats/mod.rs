//! The NATS side of the controller: one long-lived connection per NatsCluster, as a
//! system-account user, and the account resolver requests on it.
//!
//! - [`Connections`] keeps one [`Connection`] per cluster and reuses it across calls.
//! - [`Connection::push`] sends an account JWT to `$SYS.REQ.CLAIMS.UPDATE` and gathers the reply
//!   of every resolver server (a cluster answers once per server), after checking the issuer
//!   chain against the operators the servers trust ([`TrustAnchors`]): a server answers 200
//!   even for a JWT it will not trust.
//! - [`Connection::lookup`], [`Connection::list`] and [`Connection::delete`] read and remove
//!   accounts the same way.
//!
//! How many replies to wait for comes from discovery ([`Membership`]): the servers' own count
//! of active servers (`$SYS.REQ.SERVER.PING.STATSZ`), then who answers `$SYS.REQ.CLAIMS.LIST`.
//! A request ends as soon as every resolver answered, or fails with a typed [`NatsError`] when
//! the reply window closes first.
//!
//! Nothing here builds account claims: the JWTs come from `nauth_render`. The only token made
//! here is the resolver's delete request, a generic JWT signed with the operator key.

mod config;
mod connection;
mod error;
mod gather;
mod pool;
mod reply;
mod resolver;
mod streams;
mod trust;

pub use config::{ClusterConfig, SystemCreds, Timeouts};
pub use connection::{Connection, Membership};
pub use error::NatsError;
pub use pool::Connections;
pub use reply::{Outcome, ServerId, ServerReply};
pub use resolver::{Accepted, Drift, Found, Holdings, Listing};
pub use streams::account_streams;
pub use trust::TrustAnchors;
