//! `nauth-render check`: the pull-request gate. Renders in memory and fails (exit 1) with a
//! readable diff when the committed lock, or the committed output directory, is stale.
//! Secret data is never shown: a changed creds Secret shows its changed annotations (public key,
//! claims hash, iat) and `<redacted>` in place of the data.

use std::collections::BTreeSet;
use std::fs;
use std::path::PathBuf;

use clap::Args as ClapArgs;
use similar::TextDiff;

use super::Failure;
use super::inputs::{InputArgs, Loaded, io};
use super::render::{IssuedAt, epoch, render_loaded, stale_files};
use crate::diagnostic::Diagnostic;
use crate::lock::Lock;
use crate::output::{self, Manifest};

/// Options of `check`.
#[derive(ClapArgs, Debug)]
pub struct Args {
    #[command(flatten)]
    input: InputArgs,
    #[command(flatten)]
    issued_at: IssuedAt,
    /// Also compare the committed output of `render --out-dir DIR`.
    #[arg(long, value_name = "DIR")]
    out_dir: Option<PathBuf>,
}

/// Runs `check`.
pub fn run(args: Args) -> Result<(), Failure> {
    let loaded = args.input.load()?;
    let (lock, rendered) = if loaded.has_keys() {
        let rendered = render_loaded(&loaded, args.issued_at)?;
        (rendered.lock.clone(), Some(rendered))
    } else {
        (checked_without_keys(&loaded, &args)?, None)
    };
    let mut report = String::new();
    let lock_path = &args.input.lock;
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
            match diff(&name, &shown(m, &old), &shown(m, &m.yaml)) {
                d if d.is_empty() => {
                    report.push_str(&format!("{name}: Secret data differs (not shown)\n"))
                }
                d => report.push_str(&d),
            }
        }
        for path in stale_files(dir, &wanted)? {
            report.push_str(&format!(
                "{}: no longer rendered; remove it\n",
                path.display()
            ));
        }
    }
    if report.is_empty() {
        return Ok(());
    }
    Err(Failure::Changed(format!(
        "{report}error: the committed lock or output is out of date; run `nauth-render render` \
         with the same arguments and commit the result"
    )))
}

/// The lock a render would write, built from the committed lock's public keys: a pull request
/// without access to keys can still be checked, and a missing entry is named.
fn checked_without_keys(loaded: &Loaded, args: &Args) -> Result<Lock, Failure> {
    if args.out_dir.is_some() {
        return Err(Failure::Invalid(vec![Diagnostic::error(
            "--out-dir compares signed output, which needs keys: pass --seed-root or --keys",
        )]));
    }
    let epoch = epoch(args.issued_at.secs)?;
    let preview = crate::render::preview(&loaded.inputs, &loaded.lock, epoch, &loaded.options)
        .map_err(Failure::Invalid)?;
    for w in loaded.warnings.iter().chain(&preview.warnings) {
        eprintln!("{w}");
    }
    Ok(preview.lock)
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

/// The text of an output file as `check` may show it: Secrets with their data redacted.
fn shown(m: &Manifest, text: &str) -> String {
    if m.kind != "Secret" {
        return text.to_string();
    }
    let mut in_data = false;
    text.lines()
        .map(|line| {
            if !line.starts_with(' ') {
                in_data = line == "data:" || line == "stringData:";
                return format!("{line}\n");
            }
            match line.split_once(": ") {
                Some((key, _)) if in_data => format!("{key}: <redacted>\n"),
                _ if in_data => String::new(),
                _ => format!("{line}\n"),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_data_is_redacted_everywhere_else_is_kept() {
        let m = Manifest {
            kind: "Secret",
            namespace: "n".into(),
            name: "s".into(),
            yaml: String::new(),
        };
        let text = "apiVersion: v1\ndata:\n  user.creds: U0VDUkVU\n  other: |-\n    line\nmetadata:\n  name: s\n";
        assert_eq!(
            shown(&m, text),
            "apiVersion: v1\ndata:\n  user.creds: <redacted>\n  other: <redacted>\nmetadata:\n  name: s\n"
        );
    }

    #[test]
    fn equal_texts_have_no_diff() {
        assert_eq!(diff("f", "a\n", "a\n"), "");
        assert!(diff("f", "a\n", "b\n").contains("-a\n+b\n"));
    }
}
