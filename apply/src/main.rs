//! `nauth-apply`: the in-cluster controller that will push rendered JWTs to the NATS resolver
//! and write Secrets and status. Not implemented yet; until then it says so and fails, so that
//! nobody mistakes it for a working controller.

fn main() -> std::process::ExitCode {
    eprintln!(
        "nauth-apply: the controller is not implemented yet; use nauth-render (see README.md)"
    );
    std::process::ExitCode::from(2)
}
