//! testenv-bootstrap: the throwaway NATS trust chain `tests/testenv.sh` starts nats-server with.
//!
//! Writes into `--out DIR`: a random operator with one signing key, a system account (signed by
//! the operator signing key, with a signing key of its own) and a system user issued by that
//! account signing key, so its JWT carries `issuer_account` the way the controller's users do.
//! Keys are random on every run: this is test scaffolding, not rendering.

use std::fs;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use clap::Parser;
use nauth_render::bootstrap::{self, NewKeys};

/// Command line of the bootstrap binary.
#[derive(Parser)]
#[command(
    about = "Generate the throwaway NATS operator, system account and user for tests/testenv.sh"
)]
struct Args {
    /// Directory to write the JWTs, seeds and creds into (created if missing).
    #[arg(long)]
    out: PathBuf,
}

/// File names inside `--out`, read by tests/testenv.sh.
const OPERATOR_JWT: &str = "operator.jwt";
const OPERATOR_SIGNING_SEED: &str = "operator-signing.seed";
const SYSTEM_ACCOUNT_PUB: &str = "system-account.pub";
const SYSTEM_ACCOUNT_JWT: &str = "system-account.jwt";
const SYSTEM_USER_CREDS: &str = "system-user.creds";

fn main() -> ExitCode {
    let args = Args::parse();
    match bootstrap(&args.out) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("testenv-bootstrap: {e}");
            ExitCode::FAILURE
        }
    }
}

fn bootstrap(out: &Path) -> Result<(), String> {
    let iat = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|e| format!("system clock before 1970: {e}"))?
        .as_secs() as i64;
    let keys = NewKeys::random();
    let identity = bootstrap::create(&keys, "nauth-testenv", iat)
        .map_err(|e| format!("signing the trust chain: {e}"))?;
    fs::create_dir_all(out).map_err(|e| format!("creating {}: {e}", out.display()))?;
    write(out, OPERATOR_JWT, &identity.operator_jwt)?;
    write(out, OPERATOR_SIGNING_SEED, &identity.operator_signing_key)?;
    write(out, SYSTEM_ACCOUNT_PUB, &keys.system_account.public_key())?;
    write(out, SYSTEM_ACCOUNT_JWT, &identity.system_account_jwt)?;
    write(out, SYSTEM_USER_CREDS, &identity.system_user_creds)
}

/// Writes `name` in `dir` readable by the owner only (some files hold seeds).
fn write(dir: &Path, name: &str, contents: &str) -> Result<(), String> {
    let path = dir.join(name);
    fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&path)
        .and_then(|mut f| f.write_all(contents.as_bytes()))
        .map_err(|e| format!("writing {}: {e}", path.display()))
}
