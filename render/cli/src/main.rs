//! The `nauth-render` command line: argument parsing, files and exit codes around the pure
//! `nauth_render` library, kept out of it so the controller does not build clap.
//!
//! Exit codes: 0 success; 1 invalid input, or a lock that `--locked` forbids changing;
//! 2 I/O or internal error. `check`, `diff` and `explain` answer a question with 0 and 1 and
//! keep 2 for "no answer" (invalid input included), so scripts can tell the answers apart. Output objects go to stdout, everything else to stderr, so stdout
//! can feed `kubectl apply -f -` or an Argo CD plugin directly.

mod bootstrap;
mod check;
mod diff;
mod epoch;
mod explain;
mod files;
mod inputs;
mod inspect;
mod keygen;
mod krm;
mod progress;
mod render;
mod stdout;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use nauth_render::diagnostic::Diagnostic;

/// Render NAuth custom resources into NATS account JWTs and user creds, deterministically.
#[derive(Parser, Debug)]
#[command(name = "nauth-render", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Render account JWT ConfigMaps and user creds Secrets (multi-document YAML on stdout).
    Render(render::Args),
    /// Exit 1 with a readable diff when the committed lock (or --out-dir output) is stale, 2 when
    /// the input cannot be checked.
    Check(check::Args),
    /// Show what changes between two trees in who may do what (exit 0 same, 1 changed, 2 error).
    Diff(diff::Args),
    /// Run as a kustomize KRM function: a ResourceList on stdin, rendered items appended on
    /// stdout, problems as results.
    Krm(krm::Args),
    /// Print the CustomResourceDefinitions of nauth.io/v1alpha1, generated from the Rust types.
    Crds,
    /// May a user publish, subscribe or make a request on a subject, and why (exit 0 allowed,
    /// 1 denied, 2 error).
    Explain(explain::Args),
    /// Decode and verify JWTs, creds files, Secrets and ConfigMaps (seeds are never shown).
    Inspect(inspect::Args),
    /// Create a new operator, system account and system user, or import them from nsc.
    Bootstrap(bootstrap::Args),
    /// Generate key material.
    #[command(subcommand)]
    Keygen(keygen::Command),
}

/// Why a command failed, and so which exit code it ends with.
#[derive(Debug)]
pub enum Failure {
    /// The input breaks rules; each diagnostic says where and which (exit 1).
    Invalid(Vec<Diagnostic>),
    /// The result differs from what is committed, with `--locked` or a check (exit 1).
    Changed(String),
    /// Reading or writing failed, or a bug (exit 2).
    Io(String),
    /// Whoever read standard output stopped early (`| head`): the command stops quietly,
    /// exit 0, without recording anything (no lock) after the output it could not deliver.
    Closed,
}

/// Runs the command line and returns the process exit code.
fn main() -> ExitCode {
    let cli = Cli::parse();
    // What a failed command did not do: bootstrap and keygen write files, the rest render.
    let outcome = match cli.command {
        Command::Bootstrap(_) | Command::Keygen(_) => "nothing was written",
        _ => "nothing was rendered",
    };
    let result = match cli.command {
        Command::Render(args) => render::run(args),
        Command::Check(args) => return check::run(args),
        Command::Krm(args) => krm::run(args),
        Command::Crds => stdout::print(&nauth_render::api::crds_yaml()),
        Command::Explain(args) => return explain::run(args),
        Command::Inspect(args) => inspect::run(args),
        Command::Bootstrap(args) => bootstrap::run(args),
        Command::Keygen(command) => keygen::run(command),
        Command::Diff(args) => return diff::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => fail(failure, outcome),
    }
}

/// Prints why a command failed, ending invalid input with `outcome` (what the command did not
/// do), and returns the exit code that says so.
fn fail(failure: Failure, outcome: &str) -> ExitCode {
    match failure {
        Failure::Invalid(diagnostics) => {
            let errors = diagnostics.iter().filter(|d| d.is_error()).count();
            for d in diagnostics {
                eprintln!("{d}");
            }
            eprintln!("error: {errors} problem(s) in the input; {outcome}");
            ExitCode::from(1)
        }
        Failure::Changed(message) => {
            eprintln!("{message}");
            ExitCode::from(1)
        }
        Failure::Io(message) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
        Failure::Closed => ExitCode::SUCCESS,
    }
}
