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
    /// `expected …, found …`, and what the mistake probably was.
    pub message: String,
    /// The line of input around the error, to show under the message.
    pub snippet: Option<Snippet>,
}

/// A line of input made safe to print (no control or invisible
/// characters), and the character under which to put a caret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snippet {
    pub text: String,
    pub caret: usize,
}

impl Snippet {
    /// At most this many characters of a long line are shown.
    pub const WIDTH: usize = 100;

    /// `line` with the error at byte `at`, cut around it when long;
    /// `cut`: the line began before `line` does.
    pub fn new(line: &[u8], at: usize, cut: bool) -> Snippet {
        let before = String::from_utf8_lossy(&line[..at.min(line.len())]);
        let after = String::from_utf8_lossy(&line[at.min(line.len())..]);
        let mut chars: Vec<char> = before.chars().chain(after.chars()).map(shown).collect();
        let mut caret = before.chars().count();
        let mut cut_left = cut;
        if caret > Self::WIDTH * 2 / 3 {
            let drop = caret - Self::WIDTH / 3;
            chars.drain(..drop);
            caret -= drop;
            cut_left = true;
        }
        let cut_right = chars.len() > Self::WIDTH;
        chars.truncate(Self::WIDTH);
        let mut text = String::new();
        if cut_left {
            text.push('…');
            caret += 1;
        }
        text.extend(chars);
        if cut_right {
            text.push('…');
        }
        Snippet { text, caret }
    }
}

/// A character as it can be shown on one line of a terminal: tabs as a
/// space, control and invisible characters as a middle dot (the message
/// names them by code point).
fn shown(c: char) -> char {
    match c {
        '\t' => ' ',
        c if c.is_control() || invisible(c).is_some() => '·',
        c => c,
    }
}

/// The name of a character that cannot be told from another, or seen, on
/// a terminal: it is shown by code point and name.
pub fn invisible(c: char) -> Option<&'static str> {
    Some(match c {
        '\u{00A0}' => "NO-BREAK SPACE",
        '\u{00AD}' => "SOFT HYPHEN",
        '\u{034F}' => "COMBINING GRAPHEME JOINER",
        '\u{061C}' => "ARABIC LETTER MARK",
        '\u{1680}' => "OGHAM SPACE MARK",
        '\u{180E}' => "MONGOLIAN VOWEL SEPARATOR",
        '\u{2000}'..='\u{200A}' => "SPACE",
        '\u{200B}' => "ZERO WIDTH SPACE",
        '\u{200C}' => "ZERO WIDTH NON-JOINER",
        '\u{200D}' => "ZERO WIDTH JOINER",
        '\u{200E}' => "LEFT-TO-RIGHT MARK",
        '\u{200F}' => "RIGHT-TO-LEFT MARK",
        '\u{2028}' => "LINE SEPARATOR",
        '\u{2029}' => "PARAGRAPH SEPARATOR",
        '\u{202A}'..='\u{202E}' => "BIDIRECTIONAL FORMATTING CHARACTER",
        '\u{202F}' => "NARROW NO-BREAK SPACE",
        '\u{205F}' => "MEDIUM MATHEMATICAL SPACE",
        '\u{2060}' => "WORD JOINER",
        '\u{2066}'..='\u{2069}' => "BIDIRECTIONAL ISOLATE",
        '\u{3000}' => "IDEOGRAPHIC SPACE",
        '\u{FEFF}' => "ZERO WIDTH NO-BREAK SPACE (byte order mark)",
        '\u{FFFD}' => "REPLACEMENT CHARACTER",
        _ => return None,
    })
}

/// Characters people paste in place of JSON's own: `“` for `"`.
fn confusable(c: char) -> Option<(&'static str, char)> {
    Some(match c {
        '\u{201C}' => ("LEFT DOUBLE QUOTATION MARK", '"'),
        '\u{201D}' => ("RIGHT DOUBLE QUOTATION MARK", '"'),
        '\u{201E}' => ("DOUBLE LOW-9 QUOTATION MARK", '"'),
        '\u{2018}' => ("LEFT SINGLE QUOTATION MARK", '\''),
        '\u{2019}' => ("RIGHT SINGLE QUOTATION MARK", '\''),
        '\u{00AB}' => ("LEFT-POINTING DOUBLE ANGLE QUOTATION MARK", '"'),
        '\u{00BB}' => ("RIGHT-POINTING DOUBLE ANGLE QUOTATION MARK", '"'),
        '\u{2212}' => ("MINUS SIGN", '-'),
        '\u{2013}' => ("EN DASH", '-'),
        '\u{2014}' => ("EM DASH", '-'),
        '\u{FF0C}' => ("FULLWIDTH COMMA", ','),
        '\u{FF1A}' => ("FULLWIDTH COLON", ':'),
        '\u{FF3B}' => ("FULLWIDTH LEFT SQUARE BRACKET", '['),
        '\u{FF3D}' => ("FULLWIDTH RIGHT SQUARE BRACKET", ']'),
        '\u{FF5B}' => ("FULLWIDTH LEFT CURLY BRACKET", '{'),
        '\u{FF5D}' => ("FULLWIDTH RIGHT CURLY BRACKET", '}'),
        _ => return None,
    })
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
        b'\n' => "the end of the line".to_string(),
        0x00..=0x1f | 0x7f => format!("control character U+{b:04X}"),
        _ => {
            let n = rest.len().min(4);
            let ch = (1..=n).find_map(|len| std::str::from_utf8(&rest[..len]).ok());
            match ch.and_then(|s| s.chars().next()) {
                Some(c) => match (invisible(c), confusable(c)) {
                    (Some(name), _) => format!("U+{:04X} {name}", c as u32),
                    (None, Some((name, ascii))) => {
                        format!("U+{:04X} {name} (not '{ascii}')", c as u32)
                    }
                    (None, None) if c.is_control() => {
                        format!("control character U+{:04X}", c as u32)
                    }
                    (None, None) => format!("'{c}'"),
                },
                None => format!("byte 0x{b:02X}"),
            }
        }
    }
}
