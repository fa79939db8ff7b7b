//! Running the `nauth-render` binary from integration tests.

use std::io::Write;
use std::process::{Command, Output, Stdio};

/// The `nauth-render` binary, in an environment without the variables that would change its
/// behaviour.
pub fn command() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_nauth-render"));
    command
        .env_remove("SOURCE_DATE_EPOCH")
        .env_remove("NAUTH_SEED_ROOT")
        .env_remove("NATS_CLUSTER_REF")
        .env_remove("NATS_CLUSTER_REF_OPTIONAL");
    command
}

/// Runs `nauth-render ARGS` with `stdin` as its standard input (see [`command`]).
pub fn nauth_render(args: &[&str], stdin: &str) -> Output {
    nauth_render_into(args, stdin, Stdio::piped())
}

/// [`nauth_render`] with its standard output going to `stdout`.
pub fn nauth_render_into(args: &[&str], stdin: &str, stdout: Stdio) -> Output {
    let mut child = command()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(stdout)
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
