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
use nauth_render::jwt::{self, Account, ClaimBody, Claims, Operator, User};
use nkeys::KeyPair;

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
    let operator = KeyPair::new_operator();
    let operator_signing = KeyPair::new_operator();
    let system = KeyPair::new_account();
    let system_signing = KeyPair::new_account();
    let system_user = KeyPair::new_user();

    let mut operator_claims = Claims::new(
        operator.public_key(),
        Operator {
            signing_keys: vec![operator_signing.public_key()],
            system_account: system.public_key(),
            ..Operator::default()
        },
    );
    operator_claims.data.name = "nauth-testenv".into();
    let operator_jwt = encode("operator", &mut operator_claims, &operator, iat)?;

    // Account::new() carries Go's defaults: unlimited connections, JetStream disabled.
    let mut account = Account::new();
    account.signing_keys.add(system_signing.public_key());
    let mut account_claims = Claims::new(system.public_key(), account);
    account_claims.data.name = "SYS".into();
    let account_jwt = encode(
        "system account",
        &mut account_claims,
        &operator_signing,
        iat,
    )?;

    let mut user = User::new();
    user.issuer_account = system.public_key();
    let mut user_claims = Claims::new(system_user.public_key(), user);
    user_claims.data.name = "sys".into();
    let user_jwt = encode("system user", &mut user_claims, &system_signing, iat)?;

    fs::create_dir_all(out).map_err(|e| format!("creating {}: {e}", out.display()))?;
    write(out, OPERATOR_JWT, &operator_jwt)?;
    write(
        out,
        OPERATOR_SIGNING_SEED,
        &seed("operator signing key", &operator_signing)?,
    )?;
    write(out, SYSTEM_ACCOUNT_PUB, &system.public_key())?;
    write(out, SYSTEM_ACCOUNT_JWT, &account_jwt)?;
    let creds = jwt::creds::format_user_creds(&user_jwt, &seed("system user", &system_user)?);
    write(out, SYSTEM_USER_CREDS, &creds)
}

/// Signs `claims` with `signer`; the error names which JWT failed.
fn encode<T: ClaimBody>(
    what: &str,
    claims: &mut Claims<T>,
    signer: &KeyPair,
    iat: i64,
) -> Result<String, String> {
    jwt::encode(claims, signer, iat).map_err(|e| format!("encoding the {what} JWT: {e}"))
}

/// The seed of `key`; the error names the key only, never the seed.
fn seed(what: &str, key: &KeyPair) -> Result<String, String> {
    key.seed()
        .map_err(|e| format!("no seed for the {what}: {e}"))
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
