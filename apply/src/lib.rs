//! `nauth-apply`: the in-cluster controller that performs the side effects of rendering, pushing
//! account JWTs to the NATS resolver and writing Secrets and status. Every decision about what a
//! JWT or Secret contains stays in `nauth_render`; this crate only talks to the outside world.
//!
//! - [`controller`]: one kube-rs controller per kind, started together by [`run`];
//! - [`nats`]: the NATS side (one connection per NatsCluster, push, lookup, delete);
//! - `closure`: the render inputs of one object, read from the cluster;
//! - `writes`: every Kubernetes write, by server-side apply with one field manager;
//! - `keys`: the only randomness of the product, new nkeys stored in NAuth's Secrets;
//! - `endpoints` and `metrics`: `/healthz`, `/readyz` and Prometheus `/metrics`;
//! - [`leader`]: leader election on a Lease, so one of several replicas runs the controllers.

mod closure;
pub mod controller;
mod endpoints;
mod keys;
pub mod leader;
mod metrics;
pub mod nats;
mod writes;

pub use closure::NatsUrl;
pub use controller::{Config, run};
