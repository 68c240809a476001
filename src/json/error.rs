//! What can go wrong while formatting, and how a syntax error describes
//! itself: what was expected, what was found, and where.

use std::fmt;
use std::io;

/// A failure of [`format_stream`](super::format_stream).
#[derive(Debug)]
pub enum Error {
    /// The input is not valid JSON.
    Syntax(SyntaxError),
    /// Reading the input failed.
    Read(io::Error),
    /// Writing the output failed (a closed pipe among others).
    Write(io::Error),
}

/// Invalid JSON at a position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    /// 1-based line.
    pub line: u64,
    /// 1-based column, in characters.
    pub column: u64,
    /// `expected …, found …`.
    pub message: String,
}

impl fmt::Display for SyntaxError {
    /// `LINE:COLUMN: message`; the caller puts the file name in front.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.line, self.column, self.message)
    }
}

/// Names the input at an error position for a message: `'x'`,
/// `end of input`, `control character U+000A`, `byte 0xFF`.
pub fn describe(rest: &[u8]) -> String {
    let Some(&b) = rest.first() else {
        return "end of input".to_string();
    };
    match b {
        0x20..=0x7e => format!("'{}'", b as char),
        0x00..=0x1f | 0x7f => format!("control character U+{b:04X}"),
        _ => {
            let n = rest.len().min(4);
            let ch = (1..=n).find_map(|len| std::str::from_utf8(&rest[..len]).ok());
            match ch {
                Some(s) => format!("'{s}'"),
                None => format!("byte 0x{b:02X}"),
            }
        }
    }
}
