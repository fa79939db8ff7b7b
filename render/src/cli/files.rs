//! Writing output files whole or not at all: each file is written beside its destination and
//! renamed into place, so a reader (or a failed run) never sees half a file, and creds are
//! readable by their owner only from the first byte.

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
}

/// A file written next to its destination under a hidden temporary name, not yet in place.
/// Dropping it without [`Staged::commit`] removes the temporary file.
pub struct Staged {
    temp: Option<PathBuf>,
    dest: PathBuf,
}

/// Writes `bytes` to a temporary file beside `dest` (hidden, so directory walks skip it).
pub fn stage(dest: &Path, bytes: &[u8], access: Access) -> Result<Staged, Failure> {
    let name = dest
        .file_name()
        .ok_or_else(|| Failure::Io(format!("{}: not a file name", dest.display())))?;
    let temp = dest.with_file_name(format!(
        ".{}.{}.tmp",
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
            Access::Everyone => 0o666,
        },
    );
    let staged = Staged {
        temp: Some(temp.clone()),
        dest: dest.to_path_buf(),
    };
    let mut file = options.open(&temp).map_err(|e| io(&temp, e))?;
    file.write_all(bytes)
        .and_then(|()| file.flush())
        .map_err(|e| io(dest, e))?;
    Ok(staged)
}

impl Staged {
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

/// Replaces `dest` with `bytes` in one step.
pub fn replace(dest: &Path, bytes: &[u8], access: Access) -> Result<(), Failure> {
    stage(dest, bytes, access)?.commit()
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
        replace(&dest, b"new", Access::Owner).unwrap();
        assert_eq!(fs::read_to_string(&dest).unwrap(), "new");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&dest).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
