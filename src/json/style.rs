//! How output looks: layout (pretty or compact, indent), and the colour
//! palette with its `JQ_COLORS`-style override.

/// Indentation of pretty output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Indent {
    /// N spaces per level; 0 puts every token on its own line, unindented.
    Spaces(u8),
    /// One tab per level.
    Tab,
}

/// Pretty (one token per line, indented) or compact (one line per value).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// Indented, `"key": value`, empty containers as `{}` and `[]`.
    Pretty(Indent),
    /// Minified: no whitespace at all inside a value.
    Compact,
}

/// Everything that shapes the formatter's output.
#[derive(Clone, Debug)]
pub struct Options {
    pub layout: Layout,
    /// Sort object keys (recursively); buffers the object being sorted.
    pub sort_keys: bool,
    /// Escape non-ASCII characters as `\uXXXX`.
    pub ascii: bool,
    /// Exactly one value: empty input and trailing data are errors.
    pub strict: bool,
    /// Colour, if any.
    pub palette: Option<Palette>,
    /// How values are framed: a plain stream, JSON Lines or RFC 7464.
    pub records: Records,
    /// Decode escapes to the characters they stand for, where those can
    /// be printed as they are (`\u00e9` as `é`, `\/` as `/`).
    pub unescape: bool,
    /// How wide the scans go; `None`: the widest the CPU has (or what
    /// `FLEETKIT_SIMD` says). The fuzzer compares them.
    pub simd: Option<super::simd::Level>,
}

/// How the input's values are framed, and the output's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Records {
    /// Values one after another, separated by whitespace where needed.
    Stream,
    /// JSON Lines: one value per line; a bad line is reported and skipped.
    Lines,
    /// RFC 7464 JSON text sequences: each value after a record separator
    /// (U+001E); a bad record is reported and skipped.
    Seq,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            layout: Layout::Pretty(Indent::Spaces(2)),
            sort_keys: false,
            ascii: false,
            strict: false,
            palette: None,
            records: Records::Stream,
            unescape: false,
            simd: None,
        }
    }
}

/// The kinds of token that get their own colour, in `JQ_COLORS` field
/// order (with jq 1.7's eighth field for object keys).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Class {
    Null = 0,
    False,
    True,
    Number,
    String,
    Array,
    Object,
    Key,
}

impl Class {
    /// Every class, in `JQ_COLORS` order.
    pub const ALL: [Class; 8] = [
        Class::Null,
        Class::False,
        Class::True,
        Class::Number,
        Class::String,
        Class::Array,
        Class::Object,
        Class::Key,
    ];
}

/// The SGR parameters of each class: readable on dark and light terminals
/// alike (null is magenta, not jq 1.6's invisible dark grey), keys distinct
/// from string values.
pub const DEFAULT_COLORS: &str = "0;35:0;39:0;39:0;39:0;32:1;39:1;39:1;34";

/// Ends any colour.
pub const RESET: &[u8] = b"\x1b[0m";

/// Escape sequences per [`Class`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Palette {
    sequences: [Vec<u8>; 8],
    /// For each class, the first class with the same sequence: switching
    /// between classes that look alike (arrays, objects) writes nothing.
    look: [u8; 8],
}

impl Default for Palette {
    fn default() -> Palette {
        Palette::parse(DEFAULT_COLORS).expect("the default colours parse")
    }
}

impl Palette {
    /// Parses a colon-separated list of SGR parameter strings, as jq's
    /// `JQ_COLORS` (`null:false:true:numbers:strings:arrays:objects:keys`).
    /// Fields left out keep the default; an empty field means no colour.
    pub fn parse(spec: &str) -> Result<Palette, String> {
        let mut sequences: [Vec<u8>; 8] = Default::default();
        let defaults: Vec<&str> = DEFAULT_COLORS.split(':').collect();
        let given: Vec<&str> = if spec.is_empty() {
            Vec::new()
        } else {
            spec.split(':').collect()
        };
        if given.len() > 8 {
            return Err(format!(
                "{} fields, at most 8 (null:false:true:numbers:strings:arrays:objects:keys)",
                given.len()
            ));
        }
        for (i, seq) in sequences.iter_mut().enumerate() {
            let field = given.get(i).copied().unwrap_or(defaults[i]);
            if field.len() > 16 || !field.bytes().all(|b| b.is_ascii_digit() || b == b';') {
                return Err(format!(
                    "field {} '{field}' is not an SGR parameter list such as '1;31'",
                    i + 1
                ));
            }
            *seq = format!("\x1b[{field}m").into_bytes();
        }
        let mut look = [0u8; 8];
        for (i, l) in look.iter_mut().enumerate() {
            *l = sequences
                .iter()
                .position(|s| *s == sequences[i])
                .unwrap_or(i) as u8;
        }
        Ok(Palette { sequences, look })
    }

    /// Which look `class` has: equal for classes with the same sequence.
    #[inline]
    pub fn look(&self, class: Class) -> u8 {
        self.look[class as usize]
    }

    /// The escape sequence that starts `class`.
    #[inline]
    pub fn sequence(&self, class: Class) -> &[u8] {
        &self.sequences[class as usize]
    }
}
