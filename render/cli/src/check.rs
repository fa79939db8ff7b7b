//! `nauth-render check`: the pull-request gate. Compares the committed lock, and the committed
//! output directory, with what a render would write. Without `--out-dir` nothing is signed: the
//! claims are built with the keys at hand (a seed root, key Secrets) and, for every key those
//! do not hold, the lock's public keys, so a job without any key (a pull request from a fork)
//! runs it. Secret data is never shown: a changed creds Secret shows its changed annotations
//! (public key, claims hash, iat) and `<redacted>` in place of the data.
//!
//! Exit codes, so CI tells "run render" from "fix the input": 0 up to date, 1 stale (the lock or
//! output differs, or an object is not in the lock yet), 2 the input cannot be checked (invalid
//! input, a key neither a source nor the lock holds, I/O).

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args as ClapArgs;
use serde_json::Value;
use similar::TextDiff;

use super::files;
use super::inputs::{AllowEmpty, InputArgs, Loaded, io, without_lock};
use super::render::{IssuedAt, epoch, render_loaded, stale_files};
use super::{Failure, fail};
use nauth_render::diagnostic::{Code, Diagnostic};
use nauth_render::keys::{KeySources, UNRECORDED};
use nauth_render::lock::Lock;
use nauth_render::output::{self, Manifest};

/// Options of `check`.
#[derive(ClapArgs, Debug)]
pub struct Args {
    #[command(flatten)]
    input: InputArgs,
    #[command(flatten)]
    issued_at: IssuedAt,
    #[command(flatten)]
    allow_empty: AllowEmpty,
    /// Also compare the committed output of `render --out-dir DIR` (signs, so needs the keys).
    #[arg(long, value_name = "DIR")]
    out_dir: Option<PathBuf>,
}

/// How a stale report ends.
const RUN_RENDER: &str = "error: the committed lock or output is out of date; run `nauth-render \
                          render` on the same paths with the keys (--seed-root or --keys) and \
                          commit the result";

/// Runs `check` and returns its exit code: 0 up to date, 1 stale, 2 not checkable.
pub fn run(args: Args) -> ExitCode {
    match compare(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Changed(report)) => {
            eprintln!("{report}");
            ExitCode::from(1)
        }
        Err(failure) => {
            fail(failure, "nothing was checked");
            ExitCode::from(2)
        }
    }
}

/// Nothing when the committed lock and output are up to date; else `Failure::Changed` with the
/// report, or why they cannot be checked.
fn compare(args: &Args) -> Result<(), Failure> {
    let loaded = args.input.load()?;
    (args.allow_empty.check(&loaded)).map_err(|d| Failure::Invalid(vec![d]))?;
    let (lock, rendered) = match &args.out_dir {
        Some(_) if !loaded.has_keys() => {
            return Err(Failure::Invalid(vec![Diagnostic::error(
                "--out-dir compares signed output, which needs keys: pass --seed-root or --keys",
            )
            .with_code(Code::InvalidArgument)]));
        }
        Some(dir) => {
            let rendered = render_loaded(&loaded, args.issued_at)?;
            committed_dir(dir)?;
            (rendered.lock.clone(), Some(rendered))
        }
        None => (previewed(&loaded, args)?, None),
    };
    let mut report = String::new();
    // Stale encrypted files, which only deleting fixes.
    let mut delete = String::new();
    let lock_path = &loaded.lock_path;
    let committed = match fs::read_to_string(lock_path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(io(lock_path, e)),
    };
    report.push_str(&diff(
        &lock_path.display().to_string(),
        &committed,
        &lock.to_yaml(),
    ));

    if let (Some(dir), Some(rendered)) = (&args.out_dir, &rendered) {
        let manifests = output::manifests(rendered);
        let wanted: BTreeSet<PathBuf> = manifests.iter().map(|m| dir.join(m.path())).collect();
        for m in &manifests {
            let path = dir.join(m.path());
            let old = fs::read_to_string(&path).unwrap_or_default();
            if old == m.yaml {
                continue;
            }
            let name = path.display().to_string();
            let (old_shown, new_shown) = (shown(m, &old), shown(m, &m.yaml));
            // A SOPS-encrypted Secret is up to date when its plaintext public parts (the
            // annotations that determine the creds) are.
            if old_shown == new_shown && nauth_render::input::is_sops_encrypted_text(&old) {
                continue;
            }
            match diff(&name, &old_shown, &new_shown) {
                d if d.is_empty() => {
                    report.push_str(&format!("{name}: Secret data differs (not shown)\n"))
                }
                d => report.push_str(&d),
            }
        }
        for path in stale_files(dir, &loaded.lock, &wanted) {
            // render leaves an encrypted file alone (see the Flux recipe): deleting it is the fix.
            let encrypted = fs::read_to_string(&path)
                .is_ok_and(|t| nauth_render::input::is_sops_encrypted_text(&t));
            let (into, advice) = if encrypted {
                (
                    &mut delete,
                    "SOPS-encrypted, so render leaves it: delete it",
                )
            } else {
                (&mut report, "remove it")
            };
            into.push_str(&format!(
                "{}: no longer rendered; {advice}\n",
                path.display()
            ));
        }
        let lock_dest = files::resolved(lock_path);
        let dests = wanted
            .iter()
            .map(PathBuf::as_path)
            .chain([lock_dest.as_path()]);
        for path in files::leftovers(dests)? {
            report.push_str(&format!(
                "{}: temporary file of an interrupted render (may hold creds); remove it\n",
                path.display()
            ));
        }
    }
    match (report.is_empty(), delete.is_empty()) {
        (true, true) => Ok(()),
        (true, false) => Err(Failure::Changed(format!(
            "{delete}error: the committed output holds files of objects no longer rendered; \
             delete them and commit"
        ))),
        _ => Err(Failure::Changed(format!("{report}{delete}{RUN_RENDER}"))),
    }
}

/// Nothing when `dir` is a directory. A missing one is stale output as a whole (exit 1), said
/// once rather than as every file it should hold; a file there cannot be checked (exit 2).
fn committed_dir(dir: &Path) -> Result<(), Failure> {
    if dir.is_dir() {
        Ok(())
    } else if dir.exists() {
        Err(Failure::Io(format!(
            "--out-dir {}: a file, not a directory",
            dir.display()
        )))
    } else {
        Err(Failure::Changed(format!(
            "error: --out-dir {dir} does not exist, so no rendered output is committed there; run \
             `nauth-render render --out-dir {dir}` on the same paths with the keys (--seed-root \
             or --keys) and commit the result, or correct the path",
            dir = dir.display()
        )))
    }
}

/// The lock a render would write, from claims built without signing: keys from the sources
/// where they hold them, else the lock's public keys. An object the lock does not record and no
/// source has a key for is new since the last render: the lock is stale, and that is the report.
fn previewed(loaded: &Loaded, args: &Args) -> Result<Lock, Failure> {
    let epoch = epoch(args.issued_at.secs)?;
    let keys = KeySources {
        secrets: &loaded.inputs.secrets,
        seed_root: loaded.seed_root.as_ref(),
    };
    let inputs = &loaded.inputs;
    match nauth_render::render::preview_with_keys(
        inputs,
        keys,
        &loaded.lock,
        epoch,
        &loaded.options,
    ) {
        Ok(preview) => {
            for w in loaded.warnings.iter().chain(&preview.warnings) {
                eprintln!("{w}");
            }
            Ok(preview.lock)
        }
        Err(errors) if !loaded.lock_exists => {
            let errors = without_lock(errors, &loaded.lock_path.display().to_string());
            stale_or_invalid(errors, loaded)
        }
        Err(errors) => stale_or_invalid(errors, loaded),
    }
}

/// Errors that all name objects the lock does not record yet mean a stale lock; others mean
/// input that cannot be checked.
fn stale_or_invalid(mut errors: Vec<Diagnostic>, loaded: &Loaded) -> Result<Lock, Failure> {
    if errors.iter().all(|d| d.message.starts_with(UNRECORDED)) {
        let report: String = errors.iter().map(|d| format!("{d}\n")).collect();
        return Err(Failure::Changed(format!("{report}{RUN_RENDER}")));
    }
    errors.extend(loaded.warnings.iter().cloned());
    Err(Failure::Invalid(errors))
}

/// A unified diff of `old` → `new` under `name`, or nothing when they are equal.
fn diff(name: &str, old: &str, new: &str) -> String {
    if old == new {
        return String::new();
    }
    TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(
            &format!("{name} (committed)"),
            &format!("{name} (rendered)"),
        )
        .to_string()
}

/// The text of an output file as `check` may show it. A Secret is parsed and written back
/// with every value of `data` and `stringData` replaced by `<redacted>`, whatever its YAML style
/// (block scalars, multi-line quoted, flow), and without its SOPS block; a Secret that cannot be
/// parsed is not shown at all.
fn shown(m: &Manifest, text: &str) -> String {
    if m.kind != "Secret" {
        return text.to_string();
    }
    let Ok(docs) = nauth_render::input::documents(text) else {
        return "<not valid YAML; not shown>\n".to_string();
    };
    docs.into_iter()
        .map(|doc| {
            let redacted = redact_secret(doc);
            serde_saphyr::to_string(&redacted).unwrap_or_else(|_| "<not shown>\n".to_string())
        })
        .collect::<Vec<_>>()
        .join("---\n")
}

/// A Secret document with its values replaced by `<redacted>`; anything but a mapping is
/// replaced whole.
fn redact_secret(doc: Value) -> Value {
    let redacted = || Value::from("<redacted>");
    let Value::Object(mut map) = doc else {
        return redacted();
    };
    map.remove("sops");
    for section in ["data", "stringData"] {
        match map.get_mut(section) {
            Some(Value::Object(values)) => values.values_mut().for_each(|v| *v = redacted()),
            Some(value) => *value = redacted(),
            None => {}
        }
    }
    Value::Object(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_values_are_redacted_whole_in_every_yaml_style() {
        let m = Manifest {
            kind: "Secret",
            namespace: "n".into(),
            name: "s".into(),
            yaml: String::new(),
        };
        let seed = "SUAIBDPBAUTWCWBKIO6XHQNINK5FWJW4OHLXC3HQ2KFE4PEJUA44CNHTC4";
        for text in [
            format!("apiVersion: v1\ndata:\n  user.creds: {seed}\nkind: Secret\n"),
            format!(
                "kind: Secret\nstringData:\n  user.creds: |\n    -----BEGIN-----\n\n    {seed}\n"
            ),
            format!("kind: Secret\nstringData:\n  user.creds: \"a\n\n    {seed}\"\n"),
            format!("kind: Secret\nstringData: {{user.creds: '{seed}', other: x}}\n"),
            format!("kind: Secret\nstringData: [{seed}]\n"),
            format!("- {seed}\n"),
            format!("kind: Secret\nstringData:\n  a: >\n    x\n\n    {seed}\n  b: 'y"),
            format!("kind: Secret\ndata:\n  k: {seed}\nsops:\n  mac: ENC[x]\n"),
        ] {
            let shown = shown(&m, &text);
            assert!(!shown.contains(seed), "{text:?} shown as {shown:?}");
        }
        assert_eq!(
            shown(
                &m,
                "apiVersion: v1\ndata:\n  user.creds: U0VDUkVU\n  other: |-\n    line\nmetadata:\n  name: s\n"
            ),
            "apiVersion: v1\ndata:\n  other: <redacted>\n  user.creds: <redacted>\nmetadata:\n  name: s\n"
        );
    }

    #[test]
    fn equal_texts_have_no_diff() {
        assert_eq!(diff("f", "a\n", "a\n"), "");
        assert!(diff("f", "a\n", "b\n").contains("-a\n+b\n"));
    }
}
