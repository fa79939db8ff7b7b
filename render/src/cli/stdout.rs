//! Printing results. A reader that stops early (`nauth-render render | head -1`) ends the
//! command quietly; any other write error (a full disk) is an I/O failure, exit 2. Nothing here
//! panics, unlike `print!`.

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
