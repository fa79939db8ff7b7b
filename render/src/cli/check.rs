//! `nauth-render check`: the pull-request gate. Renders in memory and fails (exit 1) with a
//! readable diff when the committed lock, or the committed output directory, is stale.
//! Secret data is never shown: a changed creds Secret shows its changed annotations (public key,
//! claims hash, iat) and `<redacted>` in place of the data.

use std::collections::BTreeSet;
use std::fs;
use std::path::PathBuf;

use clap::Args as ClapArgs;
use serde_json::Value;
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
            let (old_shown, new_shown) = (shown(m, &old), shown(m, &m.yaml));
            // A SOPS-encrypted Secret is up to date when its plaintext public parts (the
            // annotations that determine the creds) are.
            if old_shown == new_shown && crate::input::is_sops_encrypted_text(&old) {
                continue;
            }
            match diff(&name, &old_shown, &new_shown) {
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

/// The text of an output file as `check` may show it. A Secret is parsed and written back
/// with every value of `data` and `stringData` replaced by `<redacted>`, whatever its YAML style
/// (block scalars, multi-line quoted, flow), and without its SOPS block; a Secret that cannot be
/// parsed is not shown at all.
fn shown(m: &Manifest, text: &str) -> String {
    if m.kind != "Secret" {
        return text.to_string();
    }
    let Ok(docs) = crate::input::documents(text) else {
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
