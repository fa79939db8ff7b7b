//! Running the `nauth-render` binary from integration tests.

use std::io::Write;
use std::process::{Command, Output, Stdio};

/// Runs `nauth-render ARGS` with `stdin` as its standard input, in an environment without the
/// variables that would change its behaviour.
pub fn nauth_render(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_nauth-render"))
        .args(args)
        .env_remove("SOURCE_DATE_EPOCH")
        .env_remove("NAUTH_SEED_ROOT")
        .env_remove("NATS_CLUSTER_REF")
        .env_remove("NATS_CLUSTER_REF_OPTIONAL")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// Output bytes as text.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}
