//! The bundled quickstart (`examples/quickstart`) as tests without keys use it.

use std::path::{Path, PathBuf};

/// The quickstart directory: manifests, throwaway keys and the committed lock.
pub fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/quickstart")
}

/// Copies the quickstart's manifests and lock into `to`, without its keys (the repository of a
/// team that keeps keys out of git).
pub fn copy_manifests(to: &Path) {
    for file in [
        "accounts.yaml",
        "exports-imports.yaml",
        "nats-cluster.yaml",
        "users.yaml",
        "nauth.lock",
    ] {
        std::fs::copy(dir().join(file), to.join(file)).unwrap();
    }
}
