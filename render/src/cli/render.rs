//! `nauth-render render`.

use std::fs;
use std::path::{Path, PathBuf};

use clap::Args as ClapArgs;

use super::files::{self, Access};
use super::inputs::{AllowEmpty, InputArgs, Loaded, io};
use super::{Failure, stdout};
use crate::diagnostic::Diagnostic;
use crate::keys::KeySources;
use crate::output::{self, Manifest};
use crate::render::Rendered;

/// Options of `render`.
#[derive(ClapArgs, Debug)]
pub struct Args {
    #[command(flatten)]
    input: InputArgs,
    #[command(flatten)]
    issued_at: IssuedAt,
    #[command(flatten)]
    allow_empty: AllowEmpty,
    /// Fail (exit 1) instead of changing the lock file, like `cargo --locked`.
    #[arg(long)]
    locked: bool,
    /// Write one file per object (`<namespace>/<kind>-<name>.yaml`) into DIR instead of
    /// printing a stream; files this command wrote before and no longer produces are removed.
    #[arg(long, value_name = "DIR")]
    out_dir: Option<PathBuf>,
}

/// The epoch option of every command that signs.
#[derive(ClapArgs, Debug, Clone, Copy)]
pub struct IssuedAt {
    /// Unix time for JWTs whose claims changed (else SOURCE_DATE_EPOCH, else the clock).
    /// Unchanged claims keep the lock's time whatever this says.
    #[arg(long = "issued-at", value_name = "SECS")]
    pub(super) secs: Option<i64>,
}

/// Runs `render`. The output is written first and the lock last, only once the output has
/// arrived: a lock never records JWTs that were not delivered.
pub fn run(args: Args) -> Result<(), Failure> {
    let loaded = args.input.load()?;
    (args.allow_empty.check(&loaded)).map_err(|d| Failure::Invalid(vec![d]))?;
    let rendered = render_loaded(&loaded, args.issued_at)?;
    let lock_path = &loaded.lock_path;
    let lock_changed = rendered.lock != loaded.lock || !loaded.lock_exists;
    if lock_changed && args.locked {
        return Err(Failure::Changed(format!(
            "error: {} needs to be updated but --locked was passed (claims changed for: {})",
            lock_path.display(),
            changed_entries(&loaded.lock, &rendered.lock).join(", ")
        )));
    }
    let manifests = output::manifests(&rendered);
    match &args.out_dir {
        None => stdout::print(&output::stream(&manifests))?,
        Some(dir) => write_dir(dir, &manifests)?,
    }
    if lock_changed {
        files::replace(
            lock_path,
            rendered.lock.to_yaml().as_bytes(),
            Access::Everyone,
        )?;
        if !loaded.lock_exists {
            eprintln!(
                "note: created the lock file {}; commit it next to the resources",
                lock_path.display()
            );
        }
    }
    Ok(())
}

/// Renders what [`InputArgs::load`] read, printing warnings to stderr.
pub(super) fn render_loaded(loaded: &Loaded, issued_at: IssuedAt) -> Result<Rendered, Failure> {
    let epoch = epoch(issued_at.secs)?;
    let keys = KeySources {
        secrets: &loaded.inputs.secrets,
        seed_root: loaded.seed_root.as_ref(),
    };
    let rendered =
        crate::render::render(&loaded.inputs, keys, &loaded.lock, epoch, &loaded.options).map_err(
            |mut errors| {
                errors.extend(loaded.warnings.iter().cloned());
                errors.extend(loaded.inputs.encrypted.iter().cloned());
                Failure::Invalid(errors)
            },
        )?;
    for w in (loaded.warnings.iter())
        .chain(&loaded.inputs.encrypted)
        .chain(&rendered.warnings)
    {
        eprintln!("{w}");
    }
    Ok(rendered)
}

/// `--issued-at`, else `SOURCE_DATE_EPOCH`, else the clock: the only place the clock is read.
pub(super) fn epoch(issued_at: Option<i64>) -> Result<i64, Failure> {
    let env = std::env::var("SOURCE_DATE_EPOCH").ok();
    if let Some(secs) = super::epoch::chosen(issued_at, env.as_deref())
        .map_err(|message| Failure::Invalid(vec![Diagnostic::error(message)]))?
    {
        return Ok(secs);
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|e| Failure::Io(format!("system clock: {e}")))?;
    Ok(now.as_secs() as i64)
}

/// `Kind namespace/name` of every lock entry that differs between two locks.
pub(super) fn changed_entries(old: &crate::lock::Lock, new: &crate::lock::Lock) -> Vec<String> {
    let mut changed = Vec::new();
    for (kind, a, b) in [
        ("Account", &old.accounts, &new.accounts),
        ("User", &old.users, &new.users),
    ] {
        let keys: std::collections::BTreeSet<_> = a.keys().chain(b.keys()).collect();
        changed.extend(
            keys.into_iter()
                .filter(|k| a.get(*k) != b.get(*k))
                .map(|k| format!("{kind} {k}")),
        );
    }
    if changed.is_empty() {
        changed.push("none; the lock file does not exist yet".into());
    }
    changed
}

/// Writes one file per object into `dir`: every file is staged first and renamed into place
/// only when all were written, so an error leaves the directory as it was; creds Secrets get
/// mode 0600. Committed SOPS-encrypted files are never replaced by plaintext.
fn write_dir(dir: &Path, manifests: &[Manifest]) -> Result<(), Failure> {
    let wanted: std::collections::BTreeSet<PathBuf> =
        manifests.iter().map(|m| dir.join(m.path())).collect();
    refuse_encrypted(&wanted)?;
    let mut staged = Vec::with_capacity(manifests.len());
    for m in manifests {
        let path = dir.join(m.path());
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(|e| io(parent, e))?;
        }
        let access = match m.kind {
            "Secret" => Access::Owner,
            _ => Access::Everyone,
        };
        staged.push(files::stage(&path, m.yaml.as_bytes(), access)?);
    }
    for file in staged {
        file.commit()?;
    }
    remove_stale(dir, &wanted)
}

/// Fails, naming them, when files a render would replace are SOPS-encrypted: replacing them
/// would commit the plaintext creds they protect.
fn refuse_encrypted(paths: &std::collections::BTreeSet<PathBuf>) -> Result<(), Failure> {
    let encrypted: Vec<Diagnostic> = paths
        .iter()
        .filter(|path| {
            fs::read_to_string(path).is_ok_and(|text| crate::input::is_sops_encrypted_text(&text))
        })
        .map(|path| {
            Diagnostic::error(
                "SOPS-encrypted; render would replace it with plaintext. Render into a \
                 directory outside git (or to stdout) and encrypt each Secret with `sops \
                 --encrypt` into the committed directory (see the README, Flux and SOPS)",
            )
            .in_file(path.display().to_string())
        })
        .collect();
    if encrypted.is_empty() {
        Ok(())
    } else {
        Err(Failure::Invalid(encrypted))
    }
}

/// Removes files this command wrote earlier that the current render no longer produces (a
/// deleted User's Secret), and nothing else.
fn remove_stale(dir: &Path, wanted: &std::collections::BTreeSet<PathBuf>) -> Result<(), Failure> {
    for path in stale_files(dir, wanted)? {
        fs::remove_file(&path).map_err(|e| io(&path, e))?;
    }
    Ok(())
}

/// Files under `dir` this command wrote earlier (they carry its managed-by label) that are not
/// in `wanted`.
pub(super) fn stale_files(
    dir: &Path,
    wanted: &std::collections::BTreeSet<PathBuf>,
) -> Result<Vec<PathBuf>, Failure> {
    let mut stale = Vec::new();
    if !dir.exists() {
        return Ok(stale);
    }
    collect_stale(dir, wanted, &mut stale)?;
    stale.sort();
    Ok(stale)
}

fn collect_stale(
    dir: &Path,
    wanted: &std::collections::BTreeSet<PathBuf>,
    stale: &mut Vec<PathBuf>,
) -> Result<(), Failure> {
    for entry in fs::read_dir(dir).map_err(|e| io(dir, e))? {
        let path = entry.map_err(|e| io(dir, e))?.path();
        if path.is_dir() {
            collect_stale(&path, wanted, stale)?;
        } else if !wanted.contains(&path)
            && fs::read_to_string(&path)
                .is_ok_and(|t| t.contains("app.kubernetes.io/managed-by: nauth-render"))
        {
            stale.push(path);
        }
    }
    Ok(())
}
