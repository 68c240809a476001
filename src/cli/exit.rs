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
