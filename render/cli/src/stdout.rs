//! Printing results. A reader that stops early (`nauth-render render | head -1`) ends the
//! command quietly, when the output is more than the pipe holds; any other write error (a full
//! disk) is an I/O failure, exit 2. Nothing here panics, unlike `print!`.

use std::io::{ErrorKind, Write};

use super::Failure;

/// Writes `text` to standard output and flushes it, so a caller knows the output arrived
/// before it records anything (the lock) that depends on it.
pub fn print(text: &str) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| match e.kind() {
            ErrorKind::BrokenPipe => Failure::Closed,
            _ => Failure::Io(format!("standard output: {e}")),
        })
}

/// Fails when standard output was closed (`render >&-`): the Rust runtime then puts
/// `/dev/null` in its place, opened for reading and writing, and every write would "succeed"
/// with the output lost. `> /dev/null` from a shell opens it write-only and is accepted.
pub fn ensure_open() -> Result<(), Failure> {
    if closed() {
        return Err(Failure::Io(
            "standard output is closed; nothing was rendered".into(),
        ));
    }
    Ok(())
}

#[cfg(unix)]
fn closed() -> bool {
    use std::io::Read;
    use std::os::fd::AsFd;
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let Ok(fd) = std::io::stdout().as_fd().try_clone_to_owned() else {
        return true;
    };
    let mut file = std::fs::File::from(fd);
    let (Ok(meta), Ok(null)) = (file.metadata(), std::fs::metadata("/dev/null")) else {
        return false;
    };
    // Reading /dev/null returns nothing at once, and fails on a write-only descriptor.
    meta.file_type().is_char_device()
        && meta.rdev() == null.rdev()
        && file.read(&mut [0u8; 1]).is_ok()
}

#[cfg(not(unix))]
fn closed() -> bool {
    false
}
