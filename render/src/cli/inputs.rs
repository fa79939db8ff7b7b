//! Options every command that reads custom resources shares, and reading the files they name.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use clap::Args;

use super::Failure;
use crate::diagnostic::Diagnostic;
use crate::input::{Contents, Inputs};
use crate::keys::SeedRoot;
use crate::lock::Lock;
use crate::render::Options;

/// Where the custom resources, keys and lock come from.
#[derive(Args, Debug, Clone)]
pub struct InputArgs {
    /// Files or directories of manifests (read recursively: *.yaml, *.yml, *.json), or `-` for
    /// standard input. Secrets among them are used as keys and never printed.
    #[arg(value_name = "PATH", default_value = ".")]
    pub paths: Vec<PathBuf>,
    /// More Secrets to take keys from (for example the output of `sops -d`); other objects in
    /// these paths are ignored.
    #[arg(long = "keys", value_name = "PATH")]
    pub keys: Vec<PathBuf>,
    /// File whose content (whitespace trimmed, at least 32 bytes) is the root secret from which
    /// account, signing and user keys are derived when no Secret holds them.
    #[arg(long, value_name = "FILE", env = "NAUTH_SEED_ROOT")]
    pub seed_root: Option<PathBuf>,
    /// The lock file: public keys, claims hashes and issue times of the last render.
    #[arg(long, value_name = "FILE", default_value = "nauth.lock")]
    pub lock: PathBuf,
    /// NatsCluster `NAMESPACE/NAME` for Accounts without `spec.natsClusterRef`.
    #[arg(long, value_name = "NAMESPACE/NAME", env = "NATS_CLUSTER_REF")]
    pub nats_cluster: Option<String>,
}

/// Everything read from disk for a render.
pub struct Loaded {
    pub inputs: Inputs,
    pub warnings: Vec<Diagnostic>,
    pub seed_root: Option<SeedRoot>,
    /// The lock, or an empty one when the file does not exist yet.
    pub lock: Lock,
    pub lock_exists: bool,
    pub options: Options,
}

impl Loaded {
    /// Whether anything can sign: a seed root, or Secrets (which may hold keys) among the inputs.
    /// Without, commands that only need claims rebuild them from the lock's public keys.
    pub fn has_keys(&self) -> bool {
        self.seed_root.is_some() || !self.inputs.secrets.is_empty()
    }
}

impl InputArgs {
    /// Reads every input; invalid documents fail with all their diagnostics at once.
    pub fn load(&self) -> Result<Loaded, Failure> {
        let mut inputs = Inputs::default();
        let mut problems = Vec::new();
        for (paths, contents) in [
            (&self.paths, Contents::Everything),
            (&self.keys, Contents::SecretsOnly),
        ] {
            for path in paths {
                for (name, text) in read_path(path)? {
                    problems.extend(inputs.add_yaml(&name, &text, contents));
                }
            }
        }
        if problems.iter().any(Diagnostic::is_error) {
            return Err(Failure::Invalid(problems));
        }
        let seed_root = match &self.seed_root {
            None => None,
            Some(path) => {
                let bytes = fs::read(path).map_err(|e| io(path, e))?;
                Some(SeedRoot::new(&bytes).map_err(|e| {
                    Failure::Invalid(vec![
                        Diagnostic::error(e.to_string()).in_file(path.display().to_string()),
                    ])
                })?)
            }
        };
        let (lock, lock_exists) = match fs::read(&self.lock) {
            Ok(bytes) => (
                Lock::parse(&utf8(&self.lock.display().to_string(), bytes)?).map_err(|e| {
                    Failure::Invalid(vec![
                        Diagnostic::error(e.to_string()).in_file(self.lock.display().to_string()),
                    ])
                })?,
                true,
            ),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => (Lock::new(), false),
            Err(e) => return Err(io(&self.lock, e)),
        };
        Ok(Loaded {
            inputs,
            warnings: problems,
            seed_root,
            lock,
            lock_exists,
            options: options(self.nats_cluster.as_deref())?,
        })
    }
}

/// Render options from `--nats-cluster`.
pub fn options(nats_cluster: Option<&str>) -> Result<Options, Failure> {
    let default_cluster = match nats_cluster {
        None => None,
        Some(r) => Some(
            r.split_once('/')
                .filter(|(ns, name)| !ns.is_empty() && !name.is_empty())
                .map(|(ns, name)| (ns.to_string(), name.to_string()))
                .ok_or_else(|| {
                    Failure::Invalid(vec![Diagnostic::error(format!(
                        "--nats-cluster must be NAMESPACE/NAME, got {r:?}"
                    ))])
                })?,
        ),
    };
    Ok(Options {
        default_cluster,
        progress: super::progress::terminal("rendering"),
    })
}

/// `(name, text)` of every manifest file at `path`, in a fixed order.
pub fn read_path(path: &Path) -> Result<Vec<(String, String)>, Failure> {
    if path.as_os_str() == "-" {
        let mut bytes = Vec::new();
        std::io::stdin()
            .read_to_end(&mut bytes)
            .map_err(|e| io(path, e))?;
        return Ok(vec![("-".to_string(), utf8("-", bytes)?)]);
    }
    let meta = fs::metadata(path).map_err(|e| io(path, e))?;
    if meta.is_file() {
        return Ok(vec![(path.display().to_string(), read_text(path)?)]);
    }
    let mut files = Vec::new();
    walk(path, &mut files)?;
    files.sort();
    files
        .into_iter()
        .map(|f| Ok((f.display().to_string(), read_text(&f)?)))
        .collect()
}

/// A file's text; see [`utf8`].
fn read_text(path: &Path) -> Result<String, Failure> {
    let bytes = fs::read(path).map_err(|e| io(path, e))?;
    utf8(&path.display().to_string(), bytes)
}

/// `bytes` read from `file` as text. Anything but UTF-8 is invalid input (exit 1), located by
/// line and column of the first bad byte; the bytes themselves are never shown.
pub fn utf8(file: &str, bytes: Vec<u8>) -> Result<String, Failure> {
    String::from_utf8(bytes).map_err(|e| {
        let before = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let line = before.iter().filter(|b| **b == b'\n').count() + 1;
        let column = before.len()
            - before
                .iter()
                .rposition(|b| *b == b'\n')
                .map_or(0, |i| i + 1);
        Failure::Invalid(vec![
            Diagnostic::error(format!(
                "not UTF-8 text (line {line}, byte {} of the line); save it as UTF-8",
                column + 1
            ))
            .in_file(file),
        ])
    })
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>) -> Result<(), Failure> {
    for entry in fs::read_dir(dir).map_err(|e| io(dir, e))? {
        let path = entry.map_err(|e| io(dir, e))?.path();
        let hidden = path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with('.'));
        if hidden {
            continue;
        }
        if path.is_dir() {
            walk(&path, files)?;
        } else if is_manifest(&path) {
            files.push(path);
        }
    }
    Ok(())
}

/// Whether a file found in a directory is read as manifests: `*.yaml`, `*.yml` or `*.json`.
pub fn is_manifest(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e == "yaml" || e == "yml" || e == "json")
}

/// An I/O failure naming the path.
pub fn io(path: &Path, e: impl std::fmt::Display) -> Failure {
    Failure::Io(format!("{}: {e}", path.display()))
}
