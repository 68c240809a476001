//! Streaming JSON: strict RFC 8259 validation and reformatting with no
//! document tree, so memory stays constant whatever the input's size (and a
//! byte per level of nesting).
//!
//! [`format_stream`] reads a stream of JSON values and writes each one
//! reformatted per [`Options`]: pretty, compact, coloured, keys sorted,
//! non-ASCII escaped or escapes decoded. Numbers and strings are copied as
//! written. [`format_records`] does the same for JSON Lines and RFC 7464
//! sequences, skipping bad records. Syntax errors carry the line and a
//! caret for it ([`Snippet`]) and name the common mistake.
//!
//! Speed: a structural index (`index`, simdjson's stage 1) takes the
//! formatter's fast lane (`format/indexed.rs`) from token to token, and
//! [`format_file`] reads and indexes a regular file a chunk ahead on a
//! second thread (`ahead`).

mod ahead;
mod error;
mod format;
mod index;
mod keys;
mod number;
mod out;
mod simd;
mod source;
mod style;
mod text;

pub use error::Snippet;
pub use error::{Error, SyntaxError};
pub use format::{format_ahead, format_file, format_records, format_slice, format_stream};
pub use simd::Level;
pub use style::{Class, Indent, Layout, Options, Palette, Records};
