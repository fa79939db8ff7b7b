//! Where keys come from: input Secrets (NAuth's names and labels) and a seed root.

pub mod seed_root;
