//! The contract between `tests/testenv.sh` and the tests: the variables it exports.

/// Set to `1` by `tests/testenv.sh`; cluster tests refuse to run without it.
pub const MARKER: &str = "NAUTH_TESTENV";

/// Panics unless the test runs under `tests/testenv.sh`.
///
/// Cluster tests are `#[ignore]`d, but `--include-ignored` on a developer machine would otherwise
/// let them talk to whatever cluster `~/.kube/config` points at.
pub fn require() {
    match std::env::var(MARKER) {
        Ok(v) if v == "1" => {}
        _ => panic!(
            "{MARKER}=1 is not set: run cluster tests through `tests/testenv.sh run -- cargo test ...` \
             so they never touch another cluster"
        ),
    }
}

/// The value of a variable `tests/testenv.sh` exports, after [`require`].
pub fn var(name: &str) -> String {
    require();
    std::env::var(name).unwrap_or_else(|_| panic!("tests/testenv.sh did not export {name}"))
}
