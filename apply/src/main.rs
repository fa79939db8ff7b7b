//! `nauth-apply` binary. The reconcilers are not written yet (the NATS side lives in the
//! `nauth_apply` library); until they are, the binary says so and fails, so that nobody mistakes
//! it for a working controller.

fn main() -> std::process::ExitCode {
    eprintln!(
        "nauth-apply: the controller is not implemented yet; use nauth-render (see README.md)"
    );
    std::process::ExitCode::from(2)
}
