//! An error at a line of a text the user gave: a host list, an ssh_config.
//! Shown as `ORIGIN:LINE: message`, the way editors and compilers do.

use std::fmt;

/// Something wrong at a line of a named input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    /// Where: a file name, `<stdin>` or an option such as `-H`.
    pub origin: String,
    /// 1-based line number (0 when the whole input is at fault).
    pub line: usize,
    pub message: String,
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.origin, self.message)
        } else {
            write!(f, "{}:{}: {}", self.origin, self.line, self.message)
        }
    }
}
