//! `nauth-apply`: the in-cluster controller that performs the side effects of rendering, pushing
//! account JWTs to the NATS resolver and writing Secrets and status. Every decision about what a
//! JWT or Secret contains stays in `nauth_render`; this crate only talks to the outside world.
//!
//! So far it holds the NATS side ([`nats`]); the Kubernetes reconcilers build on it.

pub mod nats;
