//! Writing output files whole or not at all: each file is written beside its destination and
//! renamed into place, so a reader (or a failed run) never sees half a file, and creds are
//! readable by their owner only from the first byte.
//!
//! A temporary file is named `.<file>.<pid>.nauth-tmp`. A run stopped by a signal leaves its
//! temporary files behind (they may hold creds); the next render removes those of the files it
//! writes, and `check --out-dir` reports them, see [`leftovers`].

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::Failure;
use super::inputs::io;

/// Who may read a written file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Mode 0600: files holding keys or creds.
    Owner,
    /// Mode 0666 less the umask: public files.
    Everyone,
    /// The mode the destination has (a lock made read-only or group-only stays so), else as
    /// [`Access::Everyone`].
    Kept,
}

/// The suffix of temporary files; older versions used `.tmp`.
const TEMP_SUFFIX: &str = ".nauth-tmp";

/// A file written next to its destination under a hidden temporary name, not yet in place.
/// Dropping it without [`Staged::commit`] removes the temporary file.
pub struct Staged {
    temp: Option<PathBuf>,
    dest: PathBuf,
    file: fs::File,
}

/// Creates the empty temporary file beside `dest` (hidden, so directory walks skip it): a
/// caller that must write `dest` last learns first whether it can.
pub fn open(dest: &Path, access: Access) -> Result<Staged, Failure> {
    let name = dest
        .file_name()
        .ok_or_else(|| Failure::Io(format!("{}: not a file name", dest.display())))?;
    let temp = dest.with_file_name(format!(
        ".{}.{}{TEMP_SUFFIX}",
        name.to_string_lossy(),
        std::process::id()
    ));
    // Renaming over a directory would fail only after other files were put in place.
    if dest.is_dir() {
        return Err(Failure::Io(format!("{}: is a directory", dest.display())));
    }
    // A leftover of an earlier run with the same process id.
    let _ = fs::remove_file(&temp);
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(
        &mut options,
        match access {
            Access::Owner => 0o600,
            Access::Everyone | Access::Kept => 0o666,
        },
    );
    let file = options.open(&temp).map_err(|e| io(&temp, e))?;
    let staged = Staged {
        temp: Some(temp.clone()),
        dest: dest.to_path_buf(),
        file,
    };
    if access == Access::Kept
        && let Ok(meta) = fs::metadata(dest)
    {
        fs::set_permissions(&temp, meta.permissions()).map_err(|e| io(&temp, e))?;
    }
    Ok(staged)
}

/// Writes `bytes` to a temporary file beside `dest`; see [`open`].
pub fn stage(dest: &Path, bytes: &[u8], access: Access) -> Result<Staged, Failure> {
    let mut staged = open(dest, access)?;
    staged.write(bytes)?;
    Ok(staged)
}

impl Staged {
    /// Writes `bytes` to the temporary file.
    pub fn write(&mut self, bytes: &[u8]) -> Result<(), Failure> {
        (self.file.write_all(bytes))
            .and_then(|()| self.file.flush())
            .map_err(|e| io(&self.dest, e))
    }

    /// Renames the temporary file over the destination.
    pub fn commit(mut self) -> Result<(), Failure> {
        let temp = self.temp.take().expect("a staged file is committed once");
        fs::rename(&temp, &self.dest).map_err(|e| {
            let _ = fs::remove_file(&temp);
            io(&self.dest, e)
        })
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if let Some(temp) = &self.temp {
            let _ = fs::remove_file(temp);
        }
    }
}

/// Where writing `path` should go: the file a symbolic link points to (so a linked lock is
/// updated, not replaced by a regular file), else `path` itself.
pub fn resolved(path: &Path) -> PathBuf {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => {
            fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
        }
        _ => path.to_path_buf(),
    }
}

/// Holds an exclusive advisory lock on each of `dirs` that exists (the directory itself, so no
/// lock file litters a git tree) until the returned handles are dropped: renders into the same
/// lock or output directory run one after the other. A second run waits, saying so on stderr.
/// Directories are locked in one order, so two runs never wait for each other.
pub fn hold_exclusive(dirs: &[&Path]) -> Result<Vec<fs::File>, Failure> {
    let dirs: BTreeSet<PathBuf> = dirs
        .iter()
        .map(|d| {
            if d.as_os_str().is_empty() {
                Path::new(".")
            } else {
                d
            }
        })
        .filter_map(|d| fs::canonicalize(d).ok())
        .filter(|d| d.is_dir())
        .collect();
    let mut held = Vec::with_capacity(dirs.len());
    for dir in dirs {
        let file = fs::File::open(&dir).map_err(|e| io(&dir, e))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => {
                eprintln!(
                    "note: waiting for another nauth-render writing to {}",
                    dir.display()
                );
                file.lock().map_err(|e| io(&dir, e))?;
            }
            Err(fs::TryLockError::Error(e)) => return Err(io(&dir, e)),
        }
        held.push(file);
    }
    Ok(held)
}

/// Temporary files that earlier runs, stopped before they renamed them, left beside any of
/// `dests`, sorted. Only a file named as [`open`] names one (or as older versions did,
/// `.<file>.<pid>.tmp`) for one of `dests` counts; nothing else in those directories does.
pub fn leftovers<'a>(dests: impl IntoIterator<Item = &'a Path>) -> Result<Vec<PathBuf>, Failure> {
    let mut by_dir: BTreeMap<&Path, BTreeSet<&std::ffi::OsStr>> = BTreeMap::new();
    for dest in dests {
        if let (Some(dir), Some(name)) = (dest.parent(), dest.file_name()) {
            by_dir.entry(dir).or_default().insert(name);
        }
    }
    let mut found = Vec::new();
    for (dir, names) in by_dir {
        let listed = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        let entries = match fs::read_dir(listed) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(io(listed, e)),
        };
        for entry in entries {
            let name = entry.map_err(|e| io(listed, e))?.file_name();
            if temp_of(&name.to_string_lossy())
                .is_some_and(|of| names.contains(std::ffi::OsStr::new(of)))
            {
                found.push(dir.join(name));
            }
        }
    }
    found.sort();
    Ok(found)
}

/// The destination name a temporary file name stands for.
fn temp_of(name: &str) -> Option<&str> {
    let rest = name.strip_prefix('.')?;
    let rest = (rest.strip_suffix(TEMP_SUFFIX)).or_else(|| rest.strip_suffix(".tmp"))?;
    let (of, pid) = rest.rsplit_once('.')?;
    (!of.is_empty() && !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit())).then_some(of)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_uncommitted_file_leaves_nothing_behind_and_a_committed_one_replaces() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("a.yaml");
        fs::write(&dest, "old").unwrap();
        drop(stage(&dest, b"new", Access::Everyone).unwrap());
        assert_eq!(fs::read_to_string(&dest).unwrap(), "old");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
        stage(&dest, b"new", Access::Owner)
            .unwrap()
            .commit()
            .unwrap();
        assert_eq!(fs::read_to_string(&dest).unwrap(), "new");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&dest).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn leftovers_are_the_temporary_files_of_the_named_destinations_only() {
        let dir = tempfile::tempdir().unwrap();
        for name in [
            ".a.yaml.12.nauth-tmp",
            ".a.yaml.7.tmp",
            ".b.yaml.12.nauth-tmp",
            ".a.yaml.x.nauth-tmp",
            ".a.yaml.nauth-tmp",
            "a.yaml",
        ] {
            fs::write(dir.path().join(name), "").unwrap();
        }
        let dest = dir.path().join("a.yaml");
        let found = leftovers([dest.as_path()]).unwrap();
        let names: Vec<_> = found.iter().map(|p| p.file_name().unwrap()).collect();
        assert_eq!(names, [".a.yaml.12.nauth-tmp", ".a.yaml.7.tmp"]);
        assert_eq!(temp_of(".a.yaml.12.nauth-tmp"), Some("a.yaml"));
    }
}
