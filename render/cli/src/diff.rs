//! `nauth-render diff BASE HEAD`: what a change does to who may do what, for a pull request.
//! Each side is a directory, or a git revision of `--dir`; each is previewed from its own lock's
//! public keys, so no seed is read, needed or shown.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

use clap::{Args as ClapArgs, ValueEnum};

use super::inputs::{OptionArgs, io, is_manifest, read_path, utf8, without_lock};
use super::{Failure, fail};
use nauth_render::diagnostic::{Code, Diagnostic};
use nauth_render::diff::{self, Side, Style};
use nauth_render::input::shared::ParsedFiles;
use nauth_render::input::{Contents, Inputs, nats_url};
use nauth_render::lock::Lock;
use nauth_render::render::{Options, Preview, preview};

/// Options of `diff`.
#[derive(ClapArgs, Debug)]
pub struct Args {
    /// The old side: a directory of manifests, or a git revision (read at --dir).
    base: String,
    /// The new side: a directory of manifests, or a git revision (read at --dir).
    head: String,
    /// The directory whose content at a git revision is compared.
    #[arg(long = "dir", short = 'C', value_name = "DIR", default_value = ".")]
    dir: PathBuf,
    /// The lock file of each side, relative to it.
    #[arg(long, value_name = "FILE", default_value = "nauth.lock")]
    lock: PathBuf,
    #[command(flatten)]
    options: OptionArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Color text output: `auto` colors a terminal unless NO_COLOR is set.
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    color: Color,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Format {
    Text,
    Markdown,
    Json,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Color {
    Auto,
    Always,
    Never,
}

/// Runs `diff`: exit 0 without changes, 1 with changes, 2 on any error (like `diff(1)`).
pub fn run(args: Args) -> ExitCode {
    match compare(&args) {
        Ok(false) => ExitCode::SUCCESS,
        Ok(true) => ExitCode::from(1),
        Err(Failure::Closed) => ExitCode::SUCCESS,
        Err(failure) => {
            fail(failure, "nothing was compared");
            ExitCode::from(2)
        }
    }
}

fn compare(args: &Args) -> Result<bool, Failure> {
    let options = args.options.options()?;
    let (base, head) = (read(&args.base, args)?, read(&args.head, args)?);
    // The two sides usually share most files: each distinct text is parsed once.
    let texts = [&base, &head].map(|side| side.files.iter().map(|(_, text)| text.as_str()));
    let mut parsed = ParsedFiles::expecting(texts.into_iter().flatten(), Contents::Everything);
    let (base, base_lock) = load(&base, &options, &mut parsed)?;
    let (head, head_lock) = load(&head, &options, &mut parsed)?;
    let diffs = diff::diff(
        Side {
            preview: &base,
            lock: &base_lock,
        },
        Side {
            preview: &head,
            lock: &head_lock,
        },
    );
    let out = match args.format {
        Format::Text => {
            let color = match args.color {
                Color::Always => true,
                Color::Never => false,
                Color::Auto => {
                    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
                }
            };
            diff::text(&diffs, Style { color })
        }
        Format::Markdown => diff::markdown(&diffs),
        Format::Json => diff::json(&diffs),
    };
    super::stdout::print(&out)?;
    Ok(!diffs.is_empty())
}

/// One side as read: its manifest files, its lock (name and text) if it has one, the name of
/// its lock, and what reading found.
struct Read {
    files: Vec<(String, String)>,
    lock: Option<(String, String)>,
    lock_name: String,
    problems: Vec<Diagnostic>,
}

/// Reads one side, a directory or a git revision.
fn read(side: &str, args: &Args) -> Result<Read, Failure> {
    let path = Path::new(side);
    let mut problems = Vec::new();
    let (files, lock, lock_name) = if path.is_dir() {
        let lock_path = path.join(&args.lock);
        let lock = match std::fs::read(&lock_path) {
            Ok(bytes) => {
                let name = lock_path.display().to_string();
                Some((name.clone(), utf8(&name, bytes)?))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(io(&lock_path, e)),
        };
        (
            read_path(path, &mut problems)?,
            lock,
            lock_path.display().to_string(),
        )
    } else {
        git_side(side, &args.dir, &args.lock)?
    };
    Ok(Read {
        files,
        lock,
        lock_name,
        problems,
    })
}

/// One side's preview and lock.
fn load<'t>(
    side: &'t Read,
    options: &Options,
    parsed: &mut ParsedFiles<'t>,
) -> Result<(Preview, Lock), Failure> {
    let mut problems = side.problems.clone();
    let mut inputs = Inputs::default();
    for (name, text) in &side.files {
        problems.extend(parsed.add_yaml(&mut inputs, name, text, Contents::Everything));
    }
    if options.strict {
        problems = nauth_render::render::strict(problems);
    }
    // Each side decides on its own whether NAuth's NATS_URL mode's Secrets stand in.
    let mut options = options.clone();
    if !problems.iter().any(Diagnostic::is_error) {
        match nats_url::use_stand_in(&mut inputs, &mut options) {
            Ok(warnings) => problems.extend(warnings),
            Err(errors) => problems.extend(errors),
        }
    }
    let options = &options;
    if problems.iter().any(Diagnostic::is_error) {
        return Err(Failure::Invalid(problems));
    }
    let (lock, missing) = match &side.lock {
        None => (Lock::new(), Some(&side.lock_name)),
        Some((name, text)) => (
            Lock::parse(text).map_err(|e| {
                let d = Diagnostic::error(e.to_string()).in_file(name);
                Failure::Invalid(vec![d.with_code(Code::InvalidLock)])
            })?,
            None,
        ),
    };
    // diff compares no issue times, so the epoch does not matter.
    let preview = preview(&inputs, &lock, 0, options).map_err(|errors| {
        Failure::Invalid(match &missing {
            Some(lock) => without_lock(errors, lock),
            None => errors,
        })
    })?;
    for w in problems.iter().chain(&preview.warnings) {
        eprintln!("{w}");
    }
    Ok((preview, lock))
}

/// Manifest files (named `REV:path`), the lock (if any) and its name, of `dir` at git
/// revision `rev`.
type Files = (Vec<(String, String)>, Option<(String, String)>, String);

fn git_side(rev: &str, dir: &Path, lock: &Path) -> Result<Files, Failure> {
    // A directory the change adds or deletes is missing from the working tree or from `rev`:
    // git runs in its nearest existing ancestor, and a side without it is empty.
    let (root, below) = existing_ancestor(dir);
    let not_found = |why: String| {
        Failure::Io(format!(
            "{rev}: not a directory, and not a git revision of {}: {why}",
            root.display()
        ))
    };
    let commit = format!("{rev}^{{commit}}");
    git(&root, &["rev-parse", "--verify", "--quiet", &commit], None).map_err(not_found)?;
    let prefix = git(&root, &["rev-parse", "--show-prefix"], None).map_err(not_found)?;
    let prefix = format!("{}{below}", String::from_utf8_lossy(&prefix).trim());
    let scope = if below.is_empty() { "." } else { &below };
    let listing = git(
        &root,
        &["ls-tree", "-r", "-z", "--full-name", rev, "--", scope],
        None,
    )
    .map_err(not_found)?;
    if listing.is_empty() {
        eprintln!(
            "note: {} does not exist at {rev} (added or deleted by the change): that side is empty",
            dir.display()
        );
    }
    let lock_path = format!("{prefix}{}", lock.display());
    let mut wanted = Vec::new();
    for entry in listing.split(|b| *b == 0).filter(|e| !e.is_empty()) {
        let entry = String::from_utf8_lossy(entry);
        let Some((meta, path)) = entry.split_once('\t') else {
            continue;
        };
        let mut meta = meta.split(' ');
        let (kind, object) = (meta.nth(1), meta.next());
        let inside = path.strip_prefix(&prefix).unwrap_or(path);
        let hidden = inside.split('/').any(|c| c.starts_with('.'));
        if kind == Some("blob") && (path == lock_path || (!hidden && is_manifest(Path::new(path))))
        {
            wanted.push((path.to_string(), object.unwrap_or_default().to_string()));
        }
    }
    let batch: String = wanted.iter().map(|(_, o)| format!("{o}\n")).collect();
    let contents = git(&root, &["cat-file", "--batch"], Some(&batch)).map_err(not_found)?;
    let mut rest = contents.as_slice();
    let mut files = Vec::new();
    let mut lock_file = None;
    for (path, _) in wanted {
        let header_end = rest.iter().position(|b| *b == b'\n').unwrap_or(rest.len());
        let header = String::from_utf8_lossy(&rest[..header_end]).to_string();
        let size: usize = header
            .rsplit(' ')
            .next()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| Failure::Io(format!("git cat-file: unexpected header {header:?}")))?;
        let body = &rest[header_end + 1..header_end + 1 + size];
        rest = &rest[(header_end + 2 + size).min(rest.len())..];
        let name = format!("{rev}:{path}");
        let text = utf8(&name, body.to_vec())?;
        if path == lock_path {
            lock_file = Some((name, text));
        } else {
            files.push((name, text));
        }
    }
    Ok((files, lock_file, format!("{rev}:{lock_path}")))
}

/// The nearest ancestor of `dir` that exists (`.` at worst), and the rest of `dir` below it as
/// a git path prefix (`a/b/`, or empty when `dir` exists).
fn existing_ancestor(dir: &Path) -> (PathBuf, String) {
    let mut root = dir.to_path_buf();
    let mut below = Vec::new();
    while !root.is_dir() {
        let Some(name) = root.file_name() else { break };
        below.push(format!("{}/", name.to_string_lossy()));
        root.pop();
    }
    if root.as_os_str().is_empty() {
        root = PathBuf::from(".");
    }
    below.reverse();
    (root, below.concat())
}

/// Runs git in `dir`, feeding `stdin`; its stdout, or its stderr as the error.
fn git(dir: &Path, args: &[&str], stdin: Option<&str>) -> Result<Vec<u8>, String> {
    let mut child = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run git: {e}"))?;
    let input = stdin.unwrap_or_default().to_string();
    let mut pipe = child.stdin.take().expect("stdin is piped");
    let writer = std::thread::spawn(move || pipe.write_all(input.as_bytes()));
    let out = child.wait_with_output().map_err(|e| format!("git: {e}"))?;
    let _ = writer.join();
    if out.status.success() {
        Ok(out.stdout)
    } else {
        let err = String::from_utf8_lossy(&out.stderr).trim().to_string();
        Err(if err.is_empty() {
            "unknown revision".to_string()
        } else {
            err
        })
    }
}
