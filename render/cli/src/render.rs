//! `nauth-render render`.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use clap::Args as ClapArgs;

use super::files::{self, Access};
use super::inputs::{AllowEmpty, InputArgs, Loaded, io, listed, lock_entries};
use super::{Failure, stdout};
use nauth_render::diagnostic::{Code, Diagnostic};
use nauth_render::keys::KeySources;
use nauth_render::lock::Lock;
use nauth_render::output::{self, Manifest};
use nauth_render::render::Rendered;

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
    /// printing a stream; files of the lock's previous objects that this command wrote and no
    /// longer produces are removed, each named on stderr.
    #[arg(long, value_name = "DIR")]
    out_dir: Option<PathBuf>,
    /// Forget the removed Account NAMESPACE/NAME that the lock keeps (repeatable): its
    /// revocations are dropped and its deletion request is no longer rendered. Only once NATS
    /// no longer has the account, and its users' creds are gone.
    #[arg(long, value_name = "NAMESPACE/NAME")]
    forget_removed: Vec<String>,
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
/// arrived: a lock never records JWTs that were not delivered. Whether the lock can be written
/// is found out before any output, and runs sharing the lock's or the output's directory wait
/// for each other.
pub fn run(args: Args) -> Result<(), Failure> {
    if args.out_dir.is_none() {
        stdout::ensure_open()?;
    }
    let lock_path = args.input.lock_path();
    let lock_dir = lock_path.parent().unwrap_or(Path::new("."));
    let out_dir = args.out_dir.as_deref();
    if let Some(dir) = out_dir {
        usable_out_dir(dir)?;
    }
    let _held = files::hold_exclusive(&[lock_dir, out_dir.map_or(lock_dir, existing)])?;
    let mut loaded = args.input.load()?;
    loaded.options.forget_removed = args.forget_removed.iter().cloned().collect();
    (args.allow_empty.check(&loaded)).map_err(|d| Failure::Invalid(vec![d]))?;
    let rendered = render_loaded(&loaded, args.issued_at)?;
    let lock_changed = rendered.lock != loaded.lock || !loaded.lock_exists;
    if lock_changed && args.locked {
        return Err(Failure::Changed(format!(
            "error: {} needs to be updated but --locked was passed (claims changed for: {})",
            lock_path.display(),
            changed_entries(&loaded.lock, &rendered.lock).join(", ")
        )));
    }
    let manifests = output::manifests(&rendered);
    let wanted: BTreeSet<PathBuf> = match out_dir {
        Some(dir) => manifests.iter().map(|m| dir.join(m.path())).collect(),
        None => BTreeSet::new(),
    };
    let lock_dest = files::resolved(&lock_path);
    remove_leftovers(
        wanted
            .iter()
            .map(PathBuf::as_path)
            .chain([lock_dest.as_path()]),
    )?;
    let lock_file = if lock_changed {
        Some(
            files::open(&lock_dest, Access::Kept).map_err(|failure| match failure {
                Failure::Io(e) => Failure::Io(format!(
                    "cannot write the lock {} ({e}); nothing was changed",
                    lock_path.display()
                )),
                other => other,
            })?,
        )
    } else {
        None
    };
    match out_dir {
        None => stdout::print(&output::stream(&manifests))?,
        Some(dir) => write_dir(dir, &manifests, &wanted, &loaded.lock)?,
    }
    if let Some(mut file) = lock_file {
        file.write(rendered.lock.to_yaml().as_bytes())?;
        file.commit()?;
        if !loaded.lock_exists {
            eprintln!(
                "note: created the lock file {}; commit it next to the resources",
                lock_path.display()
            );
        }
        let removed = removed_entries(&loaded.lock, &rendered.lock);
        if !removed.is_empty() {
            eprintln!(
                "note: {} lock entries removed (their objects are no longer in the input): {}",
                removed.len(),
                listed(&removed, 5)
            );
        }
        for note in removed_account_notes(&loaded.lock, &rendered.lock) {
            eprintln!("note: {note}");
        }
    }
    Ok(())
}

/// `dir`, or where it will be created: its nearest existing ancestor.
fn existing(dir: &Path) -> &Path {
    dir.ancestors()
        .find(|d| d.as_os_str().is_empty() || d.is_dir())
        .unwrap_or(dir)
}

/// Refuses an `--out-dir` that is, or lies below, a regular file, before anything is read or
/// written: writing would otherwise fail midway with the OS's bare "Not a directory".
fn usable_out_dir(dir: &Path) -> Result<(), Failure> {
    let found = dir
        .ancestors()
        .filter(|d| !d.as_os_str().is_empty())
        .find(|d| d.exists());
    match found {
        Some(file) if !file.is_dir() => Err(Failure::Io(format!(
            "--out-dir {}: {} is a file, not a directory; give a directory (it is created if \
             missing)",
            dir.display(),
            file.display()
        ))),
        _ => Ok(()),
    }
}

/// Removes the temporary files interrupted runs left beside `dests` (they may hold creds),
/// naming each on stderr.
fn remove_leftovers<'a>(dests: impl IntoIterator<Item = &'a Path>) -> Result<(), Failure> {
    for path in files::leftovers(dests)? {
        fs::remove_file(&path).map_err(|e| io(&path, e))?;
        eprintln!("removed {}: left by an interrupted render", path.display());
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
        nauth_render::render::render(&loaded.inputs, keys, &loaded.lock, epoch, &loaded.options)
            .map_err(|mut errors| {
                errors.extend(loaded.warnings.iter().cloned());
                errors.extend(loaded.inputs.encrypted.iter().cloned());
                Failure::Invalid(errors)
            })?;
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
    if let Some(secs) = super::epoch::chosen(issued_at, env.as_deref()).map_err(|message| {
        Failure::Invalid(vec![
            Diagnostic::error(message).with_code(Code::InvalidArgument),
        ])
    })? {
        return Ok(secs);
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|e| Failure::Io(format!("system clock: {e}")))?;
    Ok(now.as_secs() as i64)
}

/// `Kind namespace/name` of every lock entry that differs between two locks.
pub(super) fn changed_entries(
    old: &nauth_render::lock::Lock,
    new: &nauth_render::lock::Lock,
) -> Vec<String> {
    /// `kind key` of the keys whose entries differ between `a` and `b`.
    fn differing<T: PartialEq>(
        kind: &str,
        a: &BTreeMap<String, T>,
        b: &BTreeMap<String, T>,
    ) -> Vec<String> {
        let keys: BTreeSet<_> = a.keys().chain(b.keys()).collect();
        (keys.into_iter())
            .filter(|k| a.get(*k) != b.get(*k))
            .map(|k| format!("{kind} {k}"))
            .collect()
    }
    let mut changed = differing("Account", &old.accounts, &new.accounts);
    changed.extend(differing("User", &old.users, &new.users));
    changed.extend(differing(
        "removed Account",
        &old.removed_accounts,
        &new.removed_accounts,
    ));
    if changed.is_empty() {
        changed.push("none; the lock file does not exist yet".into());
    }
    changed
}

/// `Kind namespace/name` of the Account and User entries of `old` that `new` no longer holds
/// (an Account it keeps as removed is said by [`removed_account_notes`]): a render of part of a
/// tree with the whole tree's lock drops the rest, which must be said.
fn removed_entries(old: &Lock, new: &Lock) -> Vec<String> {
    let kept: BTreeSet<String> = (lock_entries(new).into_iter())
        .chain(new.removed_accounts.keys().map(|k| format!("Account {k}")))
        .collect();
    lock_entries(old)
        .into_iter()
        .filter(|e| !kept.contains(e))
        .collect()
}

/// What became of removed Accounts between two locks: newly kept as removed, forgotten, or
/// added back (with the same account ID, whose revocations it keeps, or another).
fn removed_account_notes(old: &Lock, new: &Lock) -> Vec<String> {
    let mut notes = Vec::new();
    for (key, t) in &new.removed_accounts {
        if !old.removed_accounts.contains_key(key) {
            notes.push(format!(
                "Account {key} is no longer in the input: kept in the lock as removed (account \
                 {}, its revocations and those of its users; its deletion request is rendered \
                 when the operator key is at hand); `--forget-removed {key}` forgets it",
                t.public_key
            ));
        }
    }
    for (key, t) in &old.removed_accounts {
        if new.removed_accounts.contains_key(key) {
            continue;
        }
        notes.push(match new.accounts.get(key) {
            Some(e) if e.public_key == t.public_key => format!(
                "Account {key} is back with its account ID {}: the revocations it had are kept",
                t.public_key
            ),
            Some(e) => format!(
                "Account {key} is back with another account ID {} (it had {}): the removed \
                 account is forgotten and does not concern it",
                e.public_key, t.public_key
            ),
            None => format!(
                "forgot the removed Account {key} (account {})",
                t.public_key
            ),
        });
    }
    notes
}

/// Writes one file per object into `dir` (`wanted` are their paths): every file is staged
/// first and renamed into place only when all were written, so an error leaves the directory as
/// it was; creds Secrets get mode 0600. Committed SOPS-encrypted files are never replaced by
/// plaintext. Files the render recorded in `previous` wrote and no longer produces go.
fn write_dir(
    dir: &Path,
    manifests: &[Manifest],
    wanted: &BTreeSet<PathBuf>,
    previous: &Lock,
) -> Result<(), Failure> {
    refuse_encrypted(wanted)?;
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
    for path in stale_files(dir, previous, wanted) {
        fs::remove_file(&path).map_err(|e| io(&path, e))?;
        eprintln!("removed {}: no longer rendered", path.display());
    }
    Ok(())
}

/// Fails, naming them, when files a render would replace are SOPS-encrypted: replacing them
/// would commit the plaintext creds they protect.
fn refuse_encrypted(paths: &BTreeSet<PathBuf>) -> Result<(), Failure> {
    let encrypted: Vec<Diagnostic> = paths
        .iter()
        .filter(|path| {
            fs::read_to_string(path)
                .is_ok_and(|text| nauth_render::input::is_sops_encrypted_text(&text))
        })
        .map(|path| {
            Diagnostic::error(
                "SOPS-encrypted; render would replace it with plaintext. Render into a \
                 directory outside git (or to stdout) and encrypt each Secret with `sops \
                 --encrypt` into the committed directory (see the README, Flux and SOPS)",
            )
            .in_file(path.display().to_string())
            .with_code(Code::Encrypted)
        })
        .collect();
    if encrypted.is_empty() {
        Ok(())
    } else {
        Err(Failure::Invalid(encrypted))
    }
}

/// The files under `dir` a render that recorded `previous` wrote (at the paths of its
/// entries, still carrying this command's managed-by label) that are not in `wanted`, sorted.
/// Nothing else under `dir` is ever stale: other trees' output, hand-written files.
pub(super) fn stale_files(dir: &Path, previous: &Lock, wanted: &BTreeSet<PathBuf>) -> Vec<PathBuf> {
    let mut stale: Vec<PathBuf> = output::lock_paths(previous)
        .into_iter()
        .map(|path| dir.join(path))
        .filter(|path| !wanted.contains(path))
        .filter(|path| {
            fs::read_to_string(path).is_ok_and(|text| {
                text.lines()
                    .any(|l| l.trim() == "app.kubernetes.io/managed-by: nauth-render")
            })
        })
        .collect();
    stale.sort();
    stale
}
