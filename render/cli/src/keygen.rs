//! `nauth-render keygen`: new key material, written only to files that did not exist.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand, ValueEnum};
use data_encoding::{BASE64, HEXLOWER};
use nkeys::{KeyPair, KeyPairType};

use super::Failure;
use super::inputs::io;

/// What `keygen` makes.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// A new seed root (32 random bytes) for `render --seed-root`.
    SeedRoot(SeedRootArgs),
}

/// Options of `keygen seed-root`.
#[derive(Args, Debug)]
pub struct SeedRootArgs {
    /// File to create (mode 0600); an existing file is never overwritten.
    #[arg(long, value_name = "FILE", default_value = "seed-root")]
    out: PathBuf,
    /// Text encoding of the 32 bytes.
    #[arg(long, value_enum, default_value = "base64")]
    encoding: Encoding,
}

/// How the seed root's bytes are written.
#[derive(Clone, Copy, Debug, ValueEnum)]
enum Encoding {
    /// Standard base64 (44 characters).
    Base64,
    /// Lower-case hex (64 characters).
    Hex,
}

/// Runs `keygen`.
pub fn run(command: Command) -> Result<(), Failure> {
    match command {
        Command::SeedRoot(args) => {
            let bytes = random_bytes()?;
            let text = match args.encoding {
                Encoding::Base64 => BASE64.encode(&bytes),
                Encoding::Hex => HEXLOWER.encode(&bytes),
            };
            write_secret(&args.out, format!("{text}\n").as_bytes())?;
            eprintln!(
                "wrote a new seed root to {} (mode 0600); keep it secret and backed up: it \
                 determines every key derived from it",
                args.out.display()
            );
            Ok(())
        }
    }
}

/// 32 bytes from the operating system's random source, taken the way `nkeys` makes new keys
/// (an Ed25519 seed is 32 uniformly random bytes), so no second RNG enters the build.
fn random_bytes() -> Result<[u8; 32], Failure> {
    let seed = KeyPair::new(KeyPairType::User)
        .seed()
        .map_err(|e| Failure::Io(format!("random key: {e}")))?;
    let (_, raw) =
        nkeys::decode_seed(&seed).map_err(|e| Failure::Io(format!("random key: {e}")))?;
    Ok(raw)
}

/// Creates `path` with mode 0600 (owner only) and writes `bytes`; refuses to replace a file.
pub fn write_secret(path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            Failure::Io(format!(
                "{}: already exists; refusing to overwrite",
                path.display()
            ))
        } else {
            io(path, e)
        }
    })?;
    file.write_all(bytes).map_err(|e| io(path, e))
}
