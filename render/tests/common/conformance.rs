//! Where NAuth's conformance data lives (its approval cases, example manifests and CRDs), which
//! sits outside the repository, and what a test does when it is missing.
//!
//! `NAUTH_CONFORMANCE_DIR` names the directory (a relative path is taken from the workspace
//! root); by default it is `shared/conformance` next to the repository. When it is absent, a
//! plain `cargo test` skips the tests that need it and says so in one line on stderr;
//! `NAUTH_CONFORMANCE_REQUIRED=1` (set by `tests/run.sh`, as in CI) makes that a failure.
//!
//! One file, included with `#[path]` by every test that reads the data (library unit tests,
//! render's integration tests and the cluster suite), since they live in different crates.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Once;

/// Variable naming the conformance directory.
pub const DIR_VAR: &str = "NAUTH_CONFORMANCE_DIR";
/// Variable that makes missing conformance data a failure instead of a skip.
pub const REQUIRED_VAR: &str = "NAUTH_CONFORMANCE_REQUIRED";

/// The conformance subdirectory `name` (`nauth-approvals`, `nauth-examples`, `nauth-crds`), or
/// `None` after one line on stderr when the data is missing and not required.
pub fn dir(name: &str) -> Option<PathBuf> {
    // Every crate that includes this file sits one level below the workspace root.
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let workspace = manifest_dir.parent().unwrap_or(manifest_dir);
    let base = match std::env::var_os(DIR_VAR) {
        Some(dir) => workspace.join(dir),
        None => workspace
            .parent()
            .unwrap_or(workspace)
            .join("shared/conformance"),
    };
    let dir = base.join(name);
    if dir.is_dir() {
        return Some(dir);
    }
    let why = format!(
        "{} is not a directory (set {DIR_VAR} to the directory that holds nauth-approvals/, \
         nauth-examples/ and nauth-crds/)",
        dir.display()
    );
    assert!(
        std::env::var_os(REQUIRED_VAR).is_none_or(|v| v != "1"),
        "NAuth's conformance data is required ({REQUIRED_VAR}=1): {why}"
    );
    static SAID: Once = Once::new();
    SAID.call_once(|| {
        // Straight to the process's stderr: the test harness captures `eprintln!` of tests
        // that pass, and this line is for whoever runs `cargo test`.
        let _ = writeln!(
            std::io::stderr(),
            "note: skipping the tests that need NAuth's conformance data: {why}"
        );
    });
    None
}
