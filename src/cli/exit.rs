//! Exit codes and error reporting shared by every tool.
//!
//! Errors go to stderr as `<tool>: <what went wrong and what to do>`. A write
//! to a closed pipe (`jpretty big.json | head -1`) is not an error: the tool
//! stops quietly with exit 0, as the reader has all it wanted.

use std::io::{self, Write};

/// Everything went as asked.
pub const SUCCESS: i32 = 0;
/// Usage errors (bad flags or values) and local errors.
pub const USAGE: i32 = 2;
/// Interrupted by Ctrl-C (128 + SIGINT).
pub const INTERRUPTED: i32 = 130;

/// Whether an I/O error means the reader of our output went away.
pub fn is_broken_pipe(err: &io::Error) -> bool {
    err.kind() == io::ErrorKind::BrokenPipe
}

/// Prints `tool: message` on stderr. Failure to write stderr is ignored:
/// there is nowhere left to report it.
pub fn report(tool: &str, message: impl std::fmt::Display) {
    let _ = writeln!(io::stderr().lock(), "{tool}: {message}");
}

/// Whether standard descriptor `fd` was closed when the program started
/// (`>&-`, `<&-`), where output would vanish with exit 0 and input read
/// as empty; a tool asks first and says so instead.
///
/// Rust's runtime opens `/dev/null` read-write on a closed 0, 1 or 2
/// before `main`; a shell opens it read-only or write-only
/// (`</dev/null`, `>/dev/null`). So `/dev/null` open read-write on a
/// standard descriptor is taken as one that was closed.
pub fn is_closed(fd: i32) -> bool {
    // SAFETY: fcntl and fstat only inspect the descriptor.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        if flags == -1 {
            return true;
        }
        let mut st: libc::stat = std::mem::zeroed();
        flags & libc::O_ACCMODE == libc::O_RDWR
            && libc::fstat(fd, &mut st) == 0
            && st.st_mode & libc::S_IFMT == libc::S_IFCHR
            && st.st_rdev == libc::makedev(1, 3)
    }
}

/// Writes `text` to standard output and flushes it: `Ok` when it was
/// written or the reader went away (a closed pipe), else what went wrong,
/// in words (a closed descriptor, a full disk).
pub fn write_stdout(text: &[u8]) -> Result<(), String> {
    if is_closed(1) {
        return Err("cannot write output: standard output is closed".to_string());
    }
    let mut out = io::stdout().lock();
    match out.write_all(text).and_then(|()| out.flush()) {
        Err(e) if !is_broken_pipe(&e) => Err(format!(
            "cannot write output: {}",
            crate::ssh::session::plain_error(&e)
        )),
        _ => Ok(()),
    }
}
