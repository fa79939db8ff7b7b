//! Options every command that reads custom resources shares, and reading the files they name.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use clap::Args;
use clap::builder::TypedValueParser;

use super::Failure;
use nauth_render::diagnostic::{Code, Diagnostic};
use nauth_render::input::{Contents, Inputs, nats_url};
use nauth_render::keys::SeedRoot;
use nauth_render::lock::Lock;
use nauth_render::render::Options;

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
    /// account, signing and user keys are derived when no Secret holds them. An empty value
    /// counts as unset, as an empty variable does in CI templates.
    #[arg(
        long,
        value_name = "FILE",
        env = "NAUTH_SEED_ROOT",
        value_parser = clap::builder::OsStringValueParser::new().map(PathBuf::from)
    )]
    pub seed_root: Option<PathBuf>,
    /// The lock file: public keys, claims hashes and issue times of the last render. Default:
    /// `nauth.lock` in the input directory when PATH is one directory, else in the current
    /// directory.
    #[arg(long, value_name = "FILE")]
    pub lock: Option<PathBuf>,
    #[command(flatten)]
    pub options: OptionArgs,
}

/// Render settings that are not in the custom resources, shared by every command that renders.
#[derive(Args, Debug, Clone)]
pub struct OptionArgs {
    /// The operator's NatsCluster `NAMESPACE/NAME`, as NAuth's NATS_CLUSTER_REF: it serves
    /// Accounts without `spec.natsClusterRef`, and an Account naming another cluster is an
    /// error (unless --nats-cluster-optional).
    #[arg(long, value_name = "NAMESPACE/NAME", env = "NATS_CLUSTER_REF")]
    pub nats_cluster: Option<String>,
    /// Let Accounts name a NatsCluster other than --nats-cluster, as NAuth's
    /// NATS_CLUSTER_REF_OPTIONAL (true/false, 1/0, t/f; empty is false).
    #[arg(
        long,
        env = "NATS_CLUSTER_REF_OPTIONAL",
        action = clap::ArgAction::SetTrue,
        value_parser = |v: &str| Ok::<_, String>(go_bool(v))
    )]
    pub nats_cluster_optional: Result<bool, String>,
    /// Turn every warning into an error (exit 1): for CI.
    #[arg(long)]
    pub strict: bool,
}

/// A boolean as Go's `strconv.ParseBool` reads it, which NAuth uses for its environment; an
/// empty value is unset, so false, NAuth's default. A value it refuses is kept as the error,
/// which `options()` reports as invalid input (exit 1), as it does a bad `--nats-cluster`,
/// rather than as a usage error.
fn go_bool(value: &str) -> Result<bool, String> {
    match value.trim() {
        "" => Ok(false),
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(false),
        other => Err(format!(
            "--nats-cluster-optional (env NATS_CLUSTER_REF_OPTIONAL) expected true or false, \
             got {other:?}"
        )),
    }
}

/// Everything read from disk for a render.
pub struct Loaded {
    pub inputs: Inputs,
    pub warnings: Vec<Diagnostic>,
    pub seed_root: Option<SeedRoot>,
    /// The lock, or an empty one when the file does not exist yet.
    pub lock: Lock,
    pub lock_exists: bool,
    /// Where the lock was read from, and is written to.
    pub lock_path: PathBuf,
    pub options: Options,
}

impl Loaded {
    /// Whether anything can sign: a seed root, or Secrets (which may hold keys) among the inputs.
    /// Without, commands that only need claims rebuild them from the lock's public keys.
    pub fn has_keys(&self) -> bool {
        self.seed_root.is_some() || !self.inputs.secrets.is_empty()
    }
}

impl Loaded {
    /// Lets the Secrets of NAuth's deprecated NATS_URL mode among the inputs stand in for the
    /// operator cluster (see [`nats_url::use_stand_in`]), adding its warning; once every input
    /// is read, as the decision depends on all of them.
    pub fn use_nats_url_stand_in(&mut self) -> Result<(), Vec<Diagnostic>> {
        let warnings = nats_url::use_stand_in(&mut self.inputs, &mut self.options)?;
        // With --strict its warning is an error.
        if warnings.iter().any(Diagnostic::is_error) {
            return Err(warnings);
        }
        self.warnings.extend(warnings);
        Ok(())
    }
}

impl InputArgs {
    /// Reads every input ([`InputArgs::read`]) and lets NAuth's NATS_URL mode's Secrets stand in
    /// for the operator cluster.
    pub fn load(&self) -> Result<Loaded, Failure> {
        let mut loaded = self.read()?;
        loaded.use_nats_url_stand_in().map_err(Failure::Invalid)?;
        Ok(loaded)
    }

    /// Reads every input; invalid documents fail with all their diagnostics at once.
    pub fn read(&self) -> Result<Loaded, Failure> {
        let mut inputs = Inputs::default();
        let mut problems = Vec::new();
        for (paths, contents) in [
            (&self.paths, Contents::Everything),
            (&self.keys, Contents::SecretsOnly),
        ] {
            for path in paths {
                for (name, text) in read_path(path, &mut problems)? {
                    problems.extend(inputs.add_yaml(&name, &text, contents));
                }
            }
        }
        if self.options.strict {
            problems = nauth_render::render::strict(problems);
        }
        if problems.iter().any(Diagnostic::is_error) {
            return Err(Failure::Invalid(problems));
        }
        let seed_root = match self
            .seed_root
            .as_ref()
            .filter(|p| !p.as_os_str().is_empty())
        {
            None => None,
            Some(path) => {
                // Name the option: a bare path reads like one of the inputs.
                let option = match std::env::var_os("NAUTH_SEED_ROOT") {
                    Some(env) if *path == env => "NAUTH_SEED_ROOT",
                    _ => "--seed-root",
                };
                let bytes = fs::read(path)
                    .map_err(|e| Failure::Io(format!("{option} {}: {e}", path.display())))?;
                Some(SeedRoot::new(&bytes).map_err(|e| {
                    Failure::Invalid(vec![
                        Diagnostic::error(e.to_string())
                            .in_file(path.display().to_string())
                            .with_code(Code::InvalidArgument),
                    ])
                })?)
            }
        };
        let lock_path = self.lock_path();
        let (lock, lock_exists) = match fs::read(&lock_path) {
            Ok(bytes) => (
                Lock::parse(&utf8(&lock_path.display().to_string(), bytes)?).map_err(|e| {
                    Failure::Invalid(vec![
                        Diagnostic::error(e.to_string())
                            .in_file(lock_path.display().to_string())
                            .with_code(Code::InvalidLock),
                    ])
                })?,
                true,
            ),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => (Lock::new(), false),
            Err(e) => return Err(io(&lock_path, e)),
        };
        Ok(Loaded {
            inputs,
            warnings: problems,
            seed_root,
            lock,
            lock_exists,
            lock_path,
            options: self.options.options()?,
        })
    }

    /// `--lock`, else `nauth.lock` next to the resources when PATH is one directory (as `diff`
    /// finds each side's lock), else `nauth.lock` in the current directory: a tree rendered from
    /// elsewhere keeps its own lock instead of starting a new one where the command runs.
    pub fn lock_path(&self) -> PathBuf {
        match (&self.lock, self.paths.as_slice()) {
            (Some(lock), _) => lock.clone(),
            (None, [dir]) if dir.is_dir() => dir.join(LOCK_FILE),
            (None, _) => PathBuf::from(LOCK_FILE),
        }
    }
}

/// A preview's errors when the lock it read (`lock`) does not exist: every key no source holds
/// is missing from it, so their errors become one that names the lock and says it is absent.
pub fn without_lock(errors: Vec<Diagnostic>, lock: &str) -> Vec<Diagnostic> {
    let (unrecorded, mut rest): (Vec<_>, Vec<_>) = errors
        .into_iter()
        .partition(|d| d.message.starts_with(nauth_render::keys::UNRECORDED));
    if !unrecorded.is_empty() {
        rest.insert(
            0,
            Diagnostic::error(format!(
                "{} {} objects: this lock file does not exist; render with the keys \
                 (--seed-root or --keys) to create it, or name the lock with --lock",
                nauth_render::keys::UNRECORDED,
                unrecorded.len()
            ))
            .in_file(lock)
            .with_code(Code::MissingKey),
        );
    }
    rest
}

/// The lock's file name, where no `--lock` names another.
const LOCK_FILE: &str = "nauth.lock";

/// `--allow-empty`, for the commands that write or check a lock.
#[derive(Args, Debug, Clone, Copy)]
pub struct AllowEmpty {
    /// Accept inputs that share no Account or User with the lock although it has entries (they
    /// hold no NAuth object, or only others): every Account and User of the lock is removed
    /// (the Accounts are kept in it as removed, see `render --forget-removed`).
    /// Without it that is an error, as a wrong path or a wrong --lock would otherwise wipe the
    /// lock and the rendered output.
    #[arg(long)]
    pub allow_empty: bool,
}

impl AllowEmpty {
    /// Refuses inputs that share no Account or User with a lock that has entries (inputs
    /// without any NAuth object, or a lock of another tree), naming the entries that would be
    /// removed, unless `--allow-empty` was passed. With an empty lock and no object either, a
    /// note on stderr says nothing was found, since a wrong path would otherwise pass unnoticed.
    pub fn check(self, loaded: &Loaded) -> Result<(), Diagnostic> {
        let i = &loaded.inputs;
        let empty = i.accounts.is_empty()
            && i.users.is_empty()
            && i.exports.is_empty()
            && i.imports.is_empty()
            && i.signing_keys.is_empty()
            && i.clusters.is_empty();
        let lock = &loaded.lock;
        let entries = lock_entries(lock);
        if empty && entries.is_empty() {
            eprintln!("note: the inputs hold no NAuth object: nothing to render (check the paths)");
        }
        let shared = i
            .accounts
            .iter()
            .any(|a| lock.accounts.contains_key(&a.key()))
            || i.users.iter().any(|u| lock.users.contains_key(&u.key()));
        if self.allow_empty || shared || entries.is_empty() {
            return Ok(());
        }
        let (count, named) = (entries.len(), listed(&entries, 20));
        let message = if empty {
            format!(
                "the inputs hold no NAuth object, so every entry of the lock would be removed \
                 ({count}): {named}; check the paths, or pass --allow-empty to remove them on \
                 purpose"
            )
        } else {
            format!(
                "the inputs share no Account or User with this lock, so every entry of it would \
                 be removed ({count}): {named}; check the paths and --lock (is this the lock of \
                 another tree?), or pass --allow-empty to replace them on purpose"
            )
        };
        Err(Diagnostic::error(message).in_file(loaded.lock_path.display().to_string()))
    }
}

/// `Kind namespace/name` of every Account and User entry of `lock`, Accounts first.
pub fn lock_entries(lock: &Lock) -> Vec<String> {
    (lock.accounts.keys().map(|k| format!("Account {k}")))
        .chain(lock.users.keys().map(|k| format!("User {k}")))
        .collect()
}

/// The first `shown` of `names`, comma-separated, with how many more there are.
pub fn listed(names: &[String], shown: usize) -> String {
    let mut list = names[..names.len().min(shown)].join(", ");
    if names.len() > shown {
        list.push_str(&format!(" and {} more", names.len() - shown));
    }
    list
}

impl OptionArgs {
    /// The render options these arguments ask for.
    pub fn options(&self) -> Result<Options, Failure> {
        // clap takes the variable only when the option is absent; the same value from both
        // names either correctly.
        let from_env = std::env::var("NATS_CLUSTER_REF").ok() == self.nats_cluster;
        let source = if from_env {
            "NATS_CLUSTER_REF"
        } else {
            "--nats-cluster"
        };
        let default_cluster = match self.nats_cluster.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(r) => Some(
                r.split_once('/')
                    .filter(|(ns, name)| is_label(ns) && is_label(name))
                    .map(|(ns, name)| (ns.to_string(), name.to_string()))
                    .ok_or_else(|| {
                        Failure::Invalid(vec![
                            Diagnostic::error(format!(
                                "{source} must be NAMESPACE/NAME, got {r:?}: one '/' between \
                                 two DNS-1123 labels (lowercase letters, digits and '-', at \
                                 most 63 characters)"
                            ))
                            .with_code(Code::InvalidArgument),
                        ])
                    })?,
            ),
        };
        let cluster_optional = (self.nats_cluster_optional.clone()).map_err(|e| {
            Failure::Invalid(vec![Diagnostic::error(e).with_code(Code::InvalidArgument)])
        })?;
        Ok(Options {
            default_cluster,
            default_cluster_from_env: from_env,
            cluster_optional,
            strict: self.strict,
            progress: super::progress::terminal("rendering"),
            forget_removed: Default::default(),
        })
    }
}

/// Whether `s` can be the namespace or the name of a NatsCluster reference: a DNS-1123 label
/// (so no second `/`), as NAuth's CRDs require of `spec.natsClusterRef`.
fn is_label(s: &str) -> bool {
    s.len() <= 63 && nauth_render::api::is_dns_label(s)
}

/// `(name, text)` of every manifest file at `path`, in a fixed order; entries of a directory
/// that are skipped although named like manifests are noted in `warnings`.
pub fn read_path(
    path: &Path,
    warnings: &mut Vec<Diagnostic>,
) -> Result<Vec<(String, String)>, Failure> {
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
    walk(path, &mut files, warnings)?;
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

/// Collects the manifest files below `dir`. Symbolic links to files are read; links to
/// directories are not followed (a link to `..` would read a tree twice, or forever), nor is
/// anything but a regular file read (a FIFO would block, a dangling link fail).
fn walk(
    dir: &Path,
    files: &mut Vec<PathBuf>,
    warnings: &mut Vec<Diagnostic>,
) -> Result<(), Failure> {
    for entry in fs::read_dir(dir).map_err(|e| io(dir, e))? {
        let entry = entry.map_err(|e| io(dir, e))?;
        let path = entry.path();
        let hidden = path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with('.'));
        if hidden {
            continue;
        }
        let kind = entry.file_type().map_err(|e| io(&path, e))?;
        if kind.is_dir() {
            walk(&path, files, warnings)?;
            continue;
        }
        let skipped = |why: &str| {
            let d = Diagnostic::warning(why).in_file(path.display().to_string());
            d.with_code(Code::Ignored)
        };
        // Where a link points; a link that cannot be followed for another reason than a missing
        // target is read and reported as unreadable.
        match fs::metadata(&path) {
            Ok(target) if target.is_dir() => warnings.push(skipped(
                "a symbolic link to a directory, not followed; pass the directory itself",
            )),
            _ if !is_manifest(&path) => {}
            Err(e) if kind.is_symlink() && e.kind() == std::io::ErrorKind::NotFound => warnings
                .push(skipped(
                    "a symbolic link to nothing (its target does not exist); not read",
                )),
            Ok(target) if !target.is_file() => {
                warnings.push(skipped("not a regular file (a FIFO or socket?); not read"))
            }
            _ => files.push(path),
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
