//! The streaming formatter: a byte-level tokenizer and printer in one pass,
//! with an explicit stack of open containers instead of recursion, so depth
//! costs a byte per level and never the call stack. Where the structural
//! index serves the options, a fast lane ([`indexed`]) takes the tokens it
//! can from it and leaves the rest, and every error, to the byte level.
//!
//! Input is scanned straight out of [`Source`]'s buffer; output is built in a
//! `Vec` and written out in large pieces — before every read (so a pipe
//! reader sees each value as soon as it is complete) and whenever it grows
//! past [`FLUSH_AT`]. Values already written stay written when a later error
//! stops the stream; fresh indentation is held back from the write before a
//! read, so an error can take it back.
//!
//! Two things hold output longer: a sorted object (`-S`) stays in the
//! buffer until it closes (see [`super::keys`]; deep indentation in it is a
//! [`MARK`] and a width, expanded when written), and in records mode
//! (`--lines`, `--seq`, [`format_records`]) only whole records leave, so a
//! bad record is dropped unseen and the stream goes on.

use std::io::{Read, Write};

use super::ahead::Ahead;
use super::error::{Error, Snippet, SyntaxError, describe};
use super::index::Index;
use super::keys::Sorter;
use super::number;
use super::out::{Out, SHORT, pad};
use super::simd::{self, Level};
use super::source::Source;
use super::style::{Class, Indent, Layout, Options, RESET, Records};
use super::text;

mod indexed;
use indexed::{Breaks, Ink, Stop};

/// How many levels of nesting remember where they opened (8 bytes each),
/// for "the '[' opened at 3:7" in messages.
const OPENINGS: usize = 1 << 16;

/// Output is written out once it reaches this size.
const FLUSH_AT: usize = 128 * 1024;
/// Indentation is copied from a prepared run of this many characters.
const INDENT_RUN: usize = 1024;
/// The colon after a key, with the space pretty layouts add.
const COLON: [u8; SHORT] = pad(b": ");
/// [`RESET`] laid out for one fixed-size copy.
const RESET_BLOCK: [u8; SHORT] = pad(RESET);
/// Indentation wider than this is written out as it is made.
const LONG_INDENT: usize = 1 << 20;

/// Errors travel boxed inside the formatter: a one-word `Result` keeps the
/// hot paths' returns in registers.
type Fallible<T> = Result<T, Box<Error>>;

#[cold]
fn read_error(e: std::io::Error) -> Box<Error> {
    Box::new(Error::Read(e))
}

#[cold]
fn write_error(e: std::io::Error) -> Box<Error> {
    Box::new(Error::Write(e))
}

/// Kinds of open container on the stack.
const ARRAY: u8 = 0;
const OBJECT: u8 = 1;
/// An object whose members are reordered by key when it closes.
const SORTED: u8 = 2;
/// The painted class is unknown: the next token must set its colour.
const UNPAINTED: u8 = u8::MAX;

const BOM: &[u8] = b"\xEF\xBB\xBF";
/// RFC 7464's record separator.
const RS: u8 = 0x1E;

/// Reformats every JSON value in `input` into `output`.
///
/// On an error, what was formatted before it has been written (ended by a
/// newline) and the error says where the input went wrong.
pub fn format_stream<R: Read, W: Write + ?Sized>(
    input: R,
    output: &mut W,
    options: &Options,
) -> Result<(), Error> {
    run(Source::new(input), output, options, None)
}

/// Reformats every record of `input` (JSON Lines or an RFC 7464 sequence,
/// as `options.records` says) into `output`. A bad record is handed to
/// `on_error` and skipped, none of it written; the rest go on.
pub fn format_records<R: Read, W: Write + ?Sized>(
    input: R,
    output: &mut W,
    options: &Options,
    on_error: &mut dyn FnMut(SyntaxError),
) -> Result<(), Error> {
    run(Source::new(input), output, options, Some(on_error))
}

/// [`format_stream`] over a file: a regular file is read and indexed
/// ahead on a second thread ([`format_ahead`]).
pub fn format_file<W: Write + ?Sized>(
    file: std::fs::File,
    output: &mut W,
    options: &Options,
) -> Result<(), Error> {
    if file.metadata().is_ok_and(|m| m.file_type().is_file()) {
        format_ahead(file, output, options)
    } else {
        format_stream(file, output, options)
    }
}

/// [`format_stream`] with `input` read and indexed ahead on a second
/// thread ([`super::ahead`]), where the structural index is used at all.
/// `input`'s reads must not block for long: the thread is waited for when
/// formatting stops, even at an error.
pub fn format_ahead<R: Read + Send, W: Write + ?Sized>(
    input: R,
    output: &mut W,
    options: &Options,
) -> Result<(), Error> {
    let level = options.simd.map_or_else(Level::detect, Level::supported);
    if level == Level::Portable || !indexes(options) {
        return format_stream(input, output, options);
    }
    std::thread::scope(|scope| match Ahead::start(scope, input, level) {
        Ok(ahead) => run(Source::ahead(ahead), output, options, None),
        Err(input) => run(Source::new(input), output, options, None),
    })
}

/// Whether the fast lane serves these options: nothing asks for a
/// byte-level look at every string (`-a`, `-U`), line (records) or member
/// (`-S`).
fn indexes(options: &Options) -> bool {
    options.records == Records::Stream && !options.ascii && !options.unescape && !options.sort_keys
}

fn run<R: Read, W: Write + ?Sized>(
    src: Source<R>,
    output: &mut W,
    options: &Options,
    records: Option<&mut dyn FnMut(SyntaxError)>,
) -> Result<(), Error> {
    let mut formatter = Formatter::new(src, output, options);
    let result = match records {
        Some(on_error) => formatter.records(on_error),
        None => formatter.stream(),
    };
    let flushed = formatter.finish(result.is_err());
    result.and(flushed).map_err(|e| *e)
}

/// [`format_stream`] over a byte slice, returning what was written.
pub fn format_slice(input: &[u8], options: &Options) -> (Vec<u8>, Result<(), Error>) {
    let mut out = Vec::new();
    let result = format_stream(input, &mut out, options);
    (out, result)
}

/// Writes a block of the output buffer: straight to the sink when the
/// BufWriter in front of it (there for the small pieces of sorted objects)
/// holds nothing, not copied through it first (3% of the formatter's
/// instructions, on blocks written before a read).
fn emit<W: Write + ?Sized>(
    sink: &mut std::io::BufWriter<&mut W>,
    bytes: &[u8],
) -> std::io::Result<()> {
    if sink.buffer().is_empty() {
        sink.get_mut().write_all(bytes)
    } else {
        sink.write_all(bytes)
    }
}

struct Formatter<'a, R, W: Write + ?Sized> {
    src: Source<R>,
    /// Buffered: a sorted object is written out in many small pieces.
    sink: std::io::BufWriter<&'a mut W>,
    out: Out,
    options: &'a Options,
    /// Open containers, innermost last.
    stack: Vec<u8>,
    compact: bool,
    /// Characters of indentation per level.
    unit: usize,
    /// A newline followed by [`INDENT_RUN`] indentation characters.
    indent: Vec<u8>,
    /// What follows an object key: `": "` or `":"` ([`COLON`]'s length).
    colon: usize,
    /// Whether there is a palette (a copy of the test kept at hand).
    colour: bool,
    /// Each class's escape sequence in a [`SHORT`] block, its length and its
    /// look: the palette laid out for one fixed-size copy per paint.
    paints: [([u8; SHORT], usize, u8); 8],
    /// The look (see `Palette::look`) in effect in the output.
    painted: u8,
    /// The palette's sequences joined with the punctuation they go with,
    /// for the fast lane.
    ink: Ink,
    /// The fast lane's line breaks.
    breaks: Breaks,
    sorter: Sorter,
    /// Where the outermost [`OPENINGS`] open containers opened (offsets
    /// from the start of input), for messages.
    openings: Vec<u64>,
    /// What separates sorted members (the comma, in the object's colour).
    sorted_comma: Vec<u8>,
    /// Whether the output written to the sink so far ends inside a line.
    sink_mid_line: bool,
    /// Records mode: where the record being formatted starts in `out`;
    /// nothing from there on is written until the record is complete.
    record_start: usize,
    /// JSON Lines: a value is being formatted, so a newline is an error.
    in_line_value: bool,
    /// How wide the scans of string text and whitespace go.
    simd: Level,
    /// The structural index for the fast lane ([`indexed`]), where there
    /// is a SIMD level and nothing asks for a byte-level look at every
    /// string (`-a`, `-U`), line (records) or member (`-S`).
    /// Boxed: the lane takes it out and puts it back at every entry.
    index: Option<Box<Index>>,
    /// Where the latest newline and indentation start and end in `out`
    /// (`usize::MAX`: written out since): a value cut short by an error
    /// loses them, and they are held back from a write before a read.
    indent_start: usize,
    indent_end: usize,
}

impl<'a, R: Read, W: Write + ?Sized> Formatter<'a, R, W> {
    fn new(mut src: Source<R>, sink: &'a mut W, options: &'a Options) -> Self {
        let (compact, unit, fill) = match options.layout {
            Layout::Compact => (true, 0, b' '),
            Layout::Pretty(Indent::Spaces(n)) => (false, n as usize, b' '),
            Layout::Pretty(Indent::Tab) => (false, 1, b'\t'),
        };
        let mut indent = vec![fill; INDENT_RUN + 1];
        indent[0] = b'\n';
        let mut sorted_comma = Vec::new();
        if let Some(p) = &options.palette {
            sorted_comma.extend_from_slice(p.sequence(Class::Object));
        }
        sorted_comma.push(b',');
        if options.palette.is_some() {
            // The comma may end a line: reset, as every coloured line does.
            sorted_comma.extend_from_slice(RESET);
        }
        let mut paints = [([0u8; SHORT], 0, 0); 8];
        if let Some(p) = &options.palette {
            for (i, class) in Class::ALL.into_iter().enumerate() {
                let seq = p.sequence(class);
                paints[i].0[..seq.len()].copy_from_slice(seq);
                paints[i].1 = seq.len();
                paints[i].2 = p.look(class);
            }
        }
        let simd = options.simd.map_or_else(Level::detect, Level::supported);
        let index = match (indexes(options), src.is_ahead()) {
            (true, true) => Some(Box::new(Index::ahead())),
            (true, false) => Index::new(simd).map(Box::new),
            (false, _) => None,
        };
        if simd != Level::Portable {
            src = src.check_utf8_by_reads();
        }
        Formatter {
            src,
            sink: std::io::BufWriter::with_capacity(FLUSH_AT, sink),
            out: Out::with_capacity(FLUSH_AT * 2),
            options,
            stack: Vec::new(),
            compact,
            unit,
            indent,
            colon: if compact { 1 } else { 2 },
            colour: options.palette.is_some(),
            ink: Ink::new(&paints, if compact { 1 } else { 2 }, compact, fill),
            breaks: Breaks::new(fill),
            paints,
            painted: UNPAINTED,
            sorter: Sorter::default(),
            openings: Vec::new(),
            sorted_comma,
            sink_mid_line: false,
            record_start: 0,
            in_line_value: false,
            simd,
            index,
            indent_start: usize::MAX,
            indent_end: usize::MAX,
        }
    }

    /// Skips a UTF-8 byte order mark at the start of input.
    fn skip_bom(&mut self) -> Fallible<()> {
        if self.src.ensure(BOM.len()).map_err(read_error)?
            && self.src.buf[self.src.pos..].starts_with(BOM)
        {
            self.src.drop_uncounted(BOM.len());
        }
        Ok(())
    }

    /// Formats every record of the input (JSON Lines or RFC 7464).
    fn records(&mut self, on_error: &mut dyn FnMut(SyntaxError)) -> Fallible<()> {
        self.skip_bom()?;
        let seq = self.options.records == Records::Seq;
        loop {
            self.record_start = self.out.len();
            let Some(first) = self.skip_ws()? else {
                return Ok(());
            };
            if seq && first == RS {
                self.src.pos += 1;
                continue;
            }
            if seq {
                self.out.push(RS);
            }
            self.in_line_value = !seq;
            let done = self.document(first).and_then(|()| self.end_record(first));
            self.in_line_value = false;
            match done {
                Ok(()) => self.end_document()?,
                Err(e) => match *e {
                    Error::Syntax(e) => {
                        on_error(e);
                        self.skip_record(seq)?;
                    }
                    other => return Err(Box::new(other)),
                },
            }
        }
    }

    /// After a record's value: the end of its line (JSON Lines), or
    /// whitespace then the next record separator (RFC 7464, where a
    /// number or literal not followed by whitespace was cut short).
    fn end_record(&mut self, first: u8) -> Fallible<()> {
        let seq = self.options.records == Records::Seq;
        let mut spaced = false;
        loop {
            if !self.src.ensure(1).map_err(read_error)? {
                return Ok(());
            }
            match self.src.buf[self.src.pos] {
                b'\n' if !seq => {
                    self.src.pos += 1;
                    return Ok(());
                }
                b' ' | b'\t' | b'\r' | b'\n' => {
                    self.src.pos += 1;
                    spaced = true;
                }
                RS if seq
                    && (spaced || !matches!(first, b'-' | b'0'..=b'9' | b't' | b'f' | b'n')) =>
                {
                    return Ok(());
                }
                RS if seq => {
                    return Err(self.error_here(
                        "whitespace after a number or literal that ends a record (RFC 7464: without it the record was cut short)",
                    ));
                }
                _ if seq => {
                    return Err(self.error_here(
                        "whitespace, then a record separator (U+001E), after the value",
                    ));
                }
                _ => {
                    return Err(self.error_here(
                        "the end of the line after the value (JSON Lines: one value per line)",
                    ));
                }
            }
        }
    }

    /// Drops a bad record: its output, and its input up to the next line
    /// (JSON Lines) or record separator (RFC 7464).
    fn skip_record(&mut self, seq: bool) -> Fallible<()> {
        self.out.truncate(self.record_start);
        self.stack.clear();
        self.openings.clear();
        self.sorter = Sorter::default();
        self.painted = UNPAINTED;
        let end = if seq { RS } else { b'\n' };
        loop {
            let unread = &self.src.buf[self.src.pos..self.src.end];
            if let Some(i) = memchr::memchr(end, unread) {
                // A separator starts the next record; a newline ends this one.
                self.src.pos += i + usize::from(!seq);
                return Ok(());
            }
            self.src.pos = self.src.end;
            if !self.fill()? {
                return Ok(());
            }
        }
    }

    /// Formats every value of the input.
    fn stream(&mut self) -> Fallible<()> {
        self.skip_bom()?;
        let mut documents = 0u64;
        loop {
            let next = self.skip_ws()?;
            if self.options.strict {
                match (next, documents) {
                    (None, 0) => return Err(self.error_here("a JSON value")),
                    (Some(_), 1) => {
                        return Err(self.error_here("the end of input after the value"));
                    }
                    _ => {}
                }
            }
            let Some(first) = next else {
                return Ok(());
            };
            self.document(first)?;
            self.end_document()?;
            documents += 1;
            // `1 2` is two values, `1x` or `truefalse` is a mistake.
            if matches!(first, b'-' | b'0'..=b'9' | b't' | b'f' | b'n')
                && self.src.ensure(1).map_err(read_error)?
                && !matches!(
                    self.src.buf[self.src.pos],
                    b' ' | b'\t' | b'\n' | b'\r' | b'[' | b'{' | b'"'
                )
                && !self.options.strict
            {
                return Err(self.error_here("whitespace between values"));
            }
        }
    }

    /// Formats one value, whose first byte is `first`.
    fn document(&mut self, first: u8) -> Fallible<()> {
        let mut next = Some(first);
        'value: loop {
            // The fast lane takes what it can; this loop, what it leaves.
            let mut after_value = false;
            if self.index.is_some() {
                match self.indexed()? {
                    Stop::Value => next = self.skip_ws()?,
                    Stop::Key => {
                        let b = self.skip_ws()?;
                        next = self.member_key(b)?;
                    }
                    Stop::After => after_value = true,
                }
            }
            if !after_value {
                match next {
                    Some(b'{') => {
                        self.paint(Class::Object);
                        self.out.push(b'{');
                        let opened = self.src.base + self.src.pos as u64;
                        self.src.pos += 1;
                        let b = self.skip_ws()?;
                        if b == Some(b'}') {
                            self.src.pos += 1;
                            self.out.push(b'}');
                        } else {
                            self.note_open(opened);
                            if self.options.sort_keys {
                                // Members start in the default colour.
                                self.reset_colour();
                                self.stack.push(SORTED);
                                self.sorter.open(self.out.len());
                            } else {
                                self.stack.push(OBJECT);
                            }
                            self.newline_indent()?;
                            next = self.member_key(b)?;
                            continue 'value;
                        }
                    }
                    Some(b'[') => {
                        self.paint(Class::Array);
                        self.out.push(b'[');
                        let opened = self.src.base + self.src.pos as u64;
                        self.src.pos += 1;
                        let b = self.skip_ws()?;
                        if b == Some(b']') {
                            self.src.pos += 1;
                            self.out.push(b']');
                        } else {
                            self.note_open(opened);
                            self.stack.push(ARRAY);
                            self.newline_indent()?;
                            next = b;
                            continue 'value;
                        }
                    }
                    Some(b'"') => self.string(Class::String)?,
                    Some(b'-' | b'0'..=b'9') => self.number()?,
                    Some(b't') => self.literal(b"true", Class::True)?,
                    Some(b'f') => self.literal(b"false", Class::False)?,
                    Some(b'n') => self.literal(b"null", Class::Null)?,
                    _ => return Err(self.error_here("a JSON value")),
                }
            }
            // A value is complete: close containers until one wants more.
            loop {
                let Some(&top) = self.stack.last() else {
                    return Ok(());
                };
                let b = self.skip_ws()?;
                if top == ARRAY {
                    match b {
                        Some(b',') => {
                            self.src.pos += 1;
                            self.paint(Class::Array);
                            self.out.push(b',');
                            self.newline_indent()?;
                            next = self.skip_ws()?;
                            continue 'value;
                        }
                        Some(b']') => {
                            self.src.pos += 1;
                            self.stack.pop();
                            self.note_close();
                            self.newline_indent()?;
                            self.paint(Class::Array);
                            self.out.push(b']');
                        }
                        _ => return Err(self.error_here("',' or ']' after array element")),
                    }
                } else {
                    match b {
                        Some(b',') => {
                            self.src.pos += 1;
                            if top == SORTED {
                                // Commas are placed when the members are
                                // reordered; each member ends in the
                                // terminal's default colour.
                                self.reset_colour();
                                self.sorter.member(self.out.len());
                            } else {
                                self.paint(Class::Object);
                                self.out.push(b',');
                            }
                            self.newline_indent()?;
                            let b = self.skip_ws()?;
                            next = self.member_key(b)?;
                            continue 'value;
                        }
                        Some(b'}') => {
                            self.src.pos += 1;
                            self.stack.pop();
                            self.note_close();
                            if top == SORTED {
                                self.reset_colour();
                                if let Some(closed) = self.sorter.close(self.out.len(), true) {
                                    self.write_sorted(closed)?;
                                }
                            }
                            self.newline_indent()?;
                            self.paint(Class::Object);
                            self.out.push(b'}');
                        }
                        _ => return Err(self.error_here("',' or '}' after object member")),
                    }
                }
            }
        }
    }

    /// Formats `"key": ` given the first byte of the key; returns the first
    /// byte of the member's value.
    fn member_key(&mut self, first: Option<u8>) -> Fallible<Option<u8>> {
        if first != Some(b'"') {
            return Err(self.error_here("'\"' to begin an object key"));
        }
        self.paint(Class::Key);
        let raw_start = self.out.len() + 1;
        self.string(Class::Key)?;
        if self.options.sort_keys {
            self.sorter
                .key(&self.out.as_slice()[raw_start..self.out.len() - 1]);
        }
        if self.skip_ws()? != Some(b':') {
            return Err(self.error_here("':' after an object key"));
        }
        self.src.pos += 1;
        self.paint(Class::Object);
        self.out.padded(&COLON, self.colon);
        self.skip_ws()
    }

    /// Copies a string (at its opening quote), checking escapes, control
    /// characters and UTF-8 on the way. Checked text is copied in whole
    /// runs: the whole string at once when it lies in the buffer.
    #[inline(always)]
    fn string(&mut self, class: Class) -> Fallible<()> {
        self.paint(class);
        let ascii = self.options.ascii;
        // buf[start..i] is checked and not yet copied.
        let mut start = self.src.pos;
        let mut i = start + 1;
        loop {
            let buf = &self.src.buf[..self.src.end];
            let (stop, non_ascii) = simd::plain_run(self.simd, buf, i);
            // A UTF-8 error or a character cut by the buffer's edge.
            let mut broken = None;
            if non_ascii {
                // Checked as the read arrived up to `utf8_end` (a
                // character boundary), the rest here.
                let from = i.max(self.src.utf8_end).min(stop);
                let checked = match text::check_utf8(&buf[from..stop]) {
                    Ok(()) => stop,
                    Err(text::Utf8Error::Cut(at)) if stop == buf.len() => {
                        broken = Some((buf.len(), "UTF-8 text in the string"));
                        from + at
                    }
                    Err(text::Utf8Error::Cut(at) | text::Utf8Error::Invalid(at)) => {
                        broken = Some((from + at, "UTF-8 text in the string"));
                        from + at
                    }
                };
                if ascii {
                    self.out.extend(&buf[start..i]);
                    let text = std::str::from_utf8(&buf[i..checked]).unwrap_or_default();
                    text::push_ascii_escaped(&mut self.out, text);
                    start = checked;
                }
                i = checked;
            } else {
                i = stop;
            }
            let step = match (broken, buf.get(i)) {
                (Some(broken), _) => Err(broken),
                (None, Some(b'"')) => {
                    self.out.copy(buf, start, i + 1);
                    self.src.pos = i + 1;
                    return Ok(());
                }
                (None, Some(b'\\')) => match text::escape(&buf[i..]) {
                    Ok(len) if self.options.unescape => {
                        if let Some((c, n)) = text::decoded(&buf[i..]) {
                            self.out.extend(&buf[start..i]);
                            self.out.extend(c.encode_utf8(&mut [0; 4]).as_bytes());
                            start = i + n;
                            i += n;
                            continue;
                        }
                        // A surrogate pair's second half may be in input
                        // not read yet: read on and look again.
                        if buf.len() - i < 12 && !self.src.at_end() {
                            self.out.extend(&buf[start..i]);
                            self.src.pos = i;
                            self.fill()?;
                            start = self.src.pos;
                            i = start;
                            continue;
                        }
                        Ok(len)
                    }
                    checked => checked.map_err(|(at, expected)| (i + at, expected)),
                },
                (None, Some(_)) => Err((
                    i,
                    "a string character (control characters must be escaped, e.g. \\n)",
                )),
                (None, None) => Err((i, "'\"' to end the string")),
            };
            match step {
                Ok(len) => i += len,
                Err((at, expected)) => {
                    let cut = at == buf.len();
                    self.out.extend(&buf[start..i]);
                    self.src.pos = i;
                    // Cut by the buffer's edge: read on (the buffer keeps
                    // buf[i..], moved to the front) and scan it again.
                    if cut && self.fill()? {
                        start = self.src.pos;
                        i = start;
                        continue;
                    }
                    self.src.pos += at - i;
                    return Err(self.error_here(expected));
                }
            }
        }
    }

    /// Copies a number as written once its text is checked.
    fn number(&mut self) -> Fallible<()> {
        let mut last_pass = false;
        loop {
            let avail = &self.src.buf[self.src.pos..self.src.end];
            let result = number::scan(avail);
            let cut = match result {
                Ok(n) | Err((n, _)) => n == avail.len(),
            };
            if cut && !last_pass {
                // The number may go on past the buffer: read more, scan again.
                last_pass = !self.fill()?;
                continue;
            }
            match result {
                Ok(n) => {
                    self.paint(Class::Number);
                    let at = self.src.pos;
                    self.out.copy(&self.src.buf[..self.src.end], at, at + n);
                    self.src.pos += n;
                    return Ok(());
                }
                Err((at, expected)) => {
                    self.src.pos += at;
                    return Err(self.error_here(expected));
                }
            }
        }
    }

    /// Copies `true`, `false` or `null`.
    fn literal(&mut self, word: &'static [u8], class: Class) -> Fallible<()> {
        self.src.ensure(word.len()).map_err(read_error)?;
        let avail = &self.src.buf[self.src.pos..self.src.end];
        if let Some(bad) = (0..word.len()).find(|&i| avail.get(i) != Some(&word[i])) {
            let expected = format!(
                "'{}' (in '{}')",
                word[bad] as char,
                std::str::from_utf8(word).unwrap_or_default()
            );
            self.src.pos += bad;
            return Err(self.error_here(&expected));
        }
        self.paint(class);
        self.out.extend(word);
        self.src.pos += word.len();
        Ok(())
    }

    /// Skips whitespace; returns the next byte without consuming it.
    ///
    /// Inlined for the common cases (no whitespace, or the one space of
    /// `", "` and `": "`); runs of whitespace take the loop.
    #[inline(always)]
    fn skip_ws(&mut self) -> Fallible<Option<u8>> {
        let buf = &self.src.buf[..self.src.end];
        let pos = self.src.pos;
        match buf.get(pos) {
            Some(&b) if !is_ws(b) => return Ok(Some(b)),
            Some(b' ') => match buf.get(pos + 1) {
                Some(&b) if !is_ws(b) => {
                    self.src.pos = pos + 1;
                    return Ok(Some(b));
                }
                _ => {}
            },
            _ => {}
        }
        self.skip_ws_run()
    }

    fn skip_ws_run(&mut self) -> Fallible<Option<u8>> {
        const SPACES: u64 = u64::from_ne_bytes([b' '; 8]);
        loop {
            let buf = &self.src.buf[..self.src.end];
            let mut pos = self.src.pos;
            if !self.in_line_value {
                pos = simd::skip_ws(self.simd, buf, pos);
            }
            loop {
                // Indentation comes in runs of spaces: eight at a time.
                while let Some(word) = buf.get(pos..pos + 8) {
                    if u64::from_ne_bytes(word.try_into().expect("eight bytes")) != SPACES {
                        break;
                    }
                    pos += 8;
                }
                match buf.get(pos) {
                    Some(b'\n') if self.in_line_value => {
                        self.src.pos = pos;
                        return Err(self.error_here(
                            "the rest of the value on this line (JSON Lines: one value per line)",
                        ));
                    }
                    Some(&b) if is_ws(b) => pos += 1,
                    Some(&b) => {
                        self.src.pos = pos;
                        return Ok(Some(b));
                    }
                    None => break,
                }
            }
            self.src.pos = pos;
            if !self.fill()? {
                return Ok(None);
            }
        }
    }

    /// Starts a new line indented to the current depth (pretty layouts).
    /// A coloured line ends with a reset, so a pager or grep showing any
    /// line alone shows it in the right colours.
    #[inline(always)]
    fn newline_indent(&mut self) -> Fallible<()> {
        if self.compact {
            return Ok(());
        }
        self.reset_colour();
        self.indent_start = self.out.len();
        let width = self.stack.len() * self.unit;
        if width < SHORT && self.out.len() < FLUSH_AT {
            self.out.copy(&self.indent, 0, 1 + width);
        } else if self.sorter.is_open() {
            // Held for sorting: the width, not the indentation, so what is
            // held grows with the input, not with the square of its depth.
            self.out.push(b'\n');
            self.out.push(MARK);
            self.out.extend(&(width as u64).to_le_bytes());
        } else {
            self.newline_indent_long(width)?;
        }
        // A flush on the way leaves nothing to take back.
        if self.indent_start != usize::MAX {
            self.indent_end = self.out.len();
        }
        Ok(())
    }

    /// Indentation of any width. The buffer is written out first if it is
    /// due, so the indentation is held whole and an error right after it
    /// can take it back, whatever sizes the input came in; only
    /// indentation wider than [`LONG_INDENT`] goes out in pieces as it is
    /// made, to keep the buffer small.
    fn newline_indent_long(&mut self, mut width: usize) -> Fallible<()> {
        if self.out.len() >= FLUSH_AT {
            self.flush_out()?;
            self.indent_start = self.out.len();
        }
        self.out.push(b'\n');
        while width > 0 {
            if self.out.len() >= FLUSH_AT + LONG_INDENT {
                self.flush_out()?;
            }
            let piece = width.min(INDENT_RUN);
            self.out.extend(&self.indent[1..1 + piece]);
            width -= piece;
        }
        Ok(())
    }

    /// Switches the output colour to `class`'s, if colouring and not
    /// already there.
    #[inline(always)]
    fn paint(&mut self, class: Class) {
        if !self.colour {
            return;
        }
        let (block, len, look) = &self.paints[class as usize];
        if self.painted != *look {
            self.out.copy(block, 0, *len);
            self.painted = *look;
        }
    }

    /// Back to the terminal's default colour, if painted.
    #[inline(always)]
    fn reset_colour(&mut self) {
        if self.colour && self.painted != UNPAINTED {
            self.out.padded(&RESET_BLOCK, RESET.len());
            self.painted = UNPAINTED;
        }
    }

    /// Writes out everything before and in the outermost sorted object,
    /// which has just closed (or was cut short), its members in order.
    fn write_sorted(&mut self, closed: super::keys::Closed) -> Fallible<()> {
        let text = self.out.as_slice();
        let records = self.options.records != Records::Stream;
        // In records mode a record may yet turn out bad: nothing leaves
        // before its end, so the sorted text goes back into the buffer
        // (records are lines, small as a rule).
        let mut sorted = Vec::new();
        let sink = &mut self.sink;
        let indent = &self.indent;
        let mut last = None;
        let mut put = |piece: &[u8]| {
            if records {
                sorted.extend_from_slice(piece);
                return Ok(());
            }
            if let Some(&b) = piece.last() {
                last = Some(b);
            }
            sink.write_all(piece)
        };
        expand_marks(&text[..closed.start], indent, &mut put).map_err(write_error)?;
        self.sorter
            .write(closed, text, &self.sorted_comma, |piece| {
                expand_marks(piece, indent, &mut put)
            })
            .map_err(write_error)?;
        if last.is_some() {
            self.sink_mid_line = last != Some(b'\n');
        }
        self.out.clear();
        self.out.extend(&sorted);
        self.forget_indent();
        Ok(())
    }

    /// The latest indentation has left the buffer: nothing to take back.
    fn forget_indent(&mut self) {
        self.indent_start = usize::MAX;
        self.indent_end = usize::MAX;
    }

    /// Ends a value: colour reset, newline.
    fn end_document(&mut self) -> Fallible<()> {
        self.reset_colour();
        self.out.push(b'\n');
        if self.out.len() >= FLUSH_AT {
            self.flush_out()?;
        }
        Ok(())
    }

    /// Reads more input, first handing finished output to the sink so a
    /// reader of our output is never kept waiting on our input.
    fn fill(&mut self) -> Fallible<bool> {
        if self.out.len() == self.indent_end
            && self.options.records == Records::Stream
            && !self.sorter.is_open()
        {
            // Fresh indentation stays behind: if an error comes next, it
            // is taken back rather than left as a line of spaces.
            let start = self.indent_start;
            if start > 0 {
                emit(&mut self.sink, &self.out.as_slice()[..start]).map_err(write_error)?;
                self.sink_mid_line = self.out.as_slice()[start - 1] != b'\n';
                self.out.drain_front(start);
                self.indent_start = 0;
                self.indent_end = self.out.len();
            }
        } else {
            self.flush_out()?;
        }
        self.sink.flush().map_err(write_error)?;
        self.src.fill().map_err(read_error)
    }

    /// Writes the output buffer, unless a sorted object is still open (its
    /// members may yet move).
    fn flush_out(&mut self) -> Fallible<()> {
        if self.out.is_empty() || self.sorter.is_open() {
            return Ok(());
        }
        if self.options.records != Records::Stream {
            // Only whole records leave; what was done of this one moves
            // to the front, when that costs less than what is written.
            let done = self.record_start;
            if done == 0 || done < self.out.len() - done {
                return Ok(());
            }
            emit(&mut self.sink, &self.out.as_slice()[..done]).map_err(write_error)?;
            self.sink_mid_line = false;
            self.out.drain_front(done);
            self.record_start = 0;
            self.forget_indent();
            return Ok(());
        }
        emit(&mut self.sink, self.out.as_slice()).map_err(write_error)?;
        self.sink_mid_line = self.out.last() != Some(b'\n');
        self.out.clear();
        self.forget_indent();
        Ok(())
    }

    /// Writes out everything. A value cut short by an error loses its
    /// dangling indentation and gets a colour reset and a newline, so the
    /// next output starts clean on a line of its own.
    fn finish(&mut self, failed: bool) -> Fallible<()> {
        if failed {
            // A value cut short loses its dangling indentation (never the
            // text of a string cut short).
            if self.out.len() == self.indent_end {
                self.out.truncate(self.indent_start);
            }
            // Sorted objects cut short: what they hold, in input order,
            // commas included.
            self.reset_colour();
            if let Some(closed) = self.sorter.close_all(self.out.len()) {
                self.write_sorted(closed)?;
            }
            let mid_line = match self.out.last() {
                Some(b) => b != b'\n',
                None => self.sink_mid_line,
            };
            if self.painted != UNPAINTED {
                self.out.padded(&RESET_BLOCK, RESET.len());
                self.painted = UNPAINTED;
            }
            if mid_line {
                self.out.push(b'\n');
            }
        }
        emit(&mut self.sink, self.out.as_slice()).map_err(write_error)?;
        self.out.clear();
        self.sink.flush().map_err(write_error)
    }

    /// A container opens at input offset `at` (before its level is
    /// pushed).
    #[inline(always)]
    fn note_open(&mut self, at: u64) {
        if self.stack.len() < OPENINGS {
            self.openings.push(at);
        }
    }

    /// A container closed (its level popped).
    #[inline(always)]
    fn note_close(&mut self) {
        if self.stack.len() < OPENINGS {
            self.openings.pop();
        }
    }

    /// A syntax error at the current position: `expected …, found …`,
    /// what the mistake probably was, and the line it is on.
    #[cold]
    fn error_here(&mut self, expected: &str) -> Box<Error> {
        // Make the found character whole for the message, and the rest of
        // its line (as much as a snippet shows) there for the snippet,
        // however the input came in reads; a read error here would only
        // shorten the message.
        let _ = self.src.ensure(4);
        while self.src.end - self.src.pos < 4 * Snippet::WIDTH
            && memchr::memchr(b'\n', &self.src.buf[self.src.pos..self.src.end]).is_none()
            && self.src.fill().unwrap_or(false)
        {}
        let rest = &self.src.buf[self.src.pos..self.src.end];
        let found = describe(rest);
        let message = match self.hint(expected, rest) {
            Some(hint) => format!("expected {expected}, found {found}: {hint}"),
            None => format!("expected {expected}, found {found}"),
        };
        let (line, column) = self.src.position_of(self.src.pos);
        let (text, at, cut) = self.src.line_around(self.src.pos);
        // An empty line shows nothing.
        let snippet = (!text.iter().all(|&b| is_ws(b))).then(|| Snippet::new(text, at, cut));
        Box::new(Error::Syntax(SyntaxError {
            line,
            column,
            message,
            snippet,
        }))
    }

    /// The common mistake an error most likely is, in words.
    #[cold]
    fn hint(&self, expected: &str, rest: &[u8]) -> Option<String> {
        let pos = self.src.pos;
        let offset = self.src.base + pos as u64;
        let before = self
            .src
            .before(pos)
            .iter()
            .rev()
            .find(|&&b| !is_ws(b))
            .copied();
        let open = self
            .stack
            .last()
            .map(|&k| if k == ARRAY { '[' } else { '{' });
        let opened_at = || {
            let at = *self.openings.get(self.stack.len().checked_sub(1)?)?;
            Some(match self.src.position_at(at) {
                Some((l, c)) => format!("{l}:{c}"),
                None => format!("byte {}", at + 1),
            })
        };
        let value_start = |b: u8| {
            matches!(
                b,
                b'"' | b'-' | b'0'..=b'9' | b'{' | b'[' | b't' | b'f' | b'n'
            )
        };
        let Some(&b) = rest.first() else {
            let open = open?;
            let depth = self.stack.len();
            let what = if depth == 1 { "bracket" } else { "brackets" };
            return Some(match opened_at() {
                Some(at) => format!(
                    "the input ends with {depth} {what} open; the innermost, '{open}', opened at {at}"
                ),
                None => format!("the input ends with {depth} {what} open"),
            });
        };
        let word = |w: &[u8]| rest.starts_with(w);
        Some(match b {
            0 | 0xFE | 0xFF if b == 0 || offset == 0 => {
                "the input looks like UTF-16; convert it to UTF-8 first (iconv -f UTF-16 -t UTF-8)"
                    .to_string()
            }
            b']' | b'}' if before == Some(b',') => {
                "a trailing comma: JSON allows none after the last element or member".to_string()
            }
            b']' | b'}' if open.is_none() => {
                format!("nothing is open for this '{}' to close", b as char)
            }
            b']' | b'}' if open.is_some_and(|o| (o == '[') != (b == b']')) => {
                let at = opened_at()
                    .map(|at| format!(" opened at {at}"))
                    .unwrap_or_default();
                format!(
                    "'{}' cannot close the '{}'{at}",
                    b as char,
                    open.unwrap_or('[')
                )
            }
            b'\'' => "single quotes: JSON strings take double quotes".to_string(),
            b'/' if word(b"//") || word(b"/*") => "a comment: JSON has none".to_string(),
            b'#' => "a comment: JSON has none".to_string(),
            b'N' | b'I' if word(b"NaN") || word(b"Infinity") => {
                "NaN and Infinity are not JSON numbers (null or a string can stand for them)"
                    .to_string()
            }
            b'T' | b'F' | b'N' if word(b"True") || word(b"False") || word(b"None") => {
                "True, False and None are Python's; JSON has true, false and null".to_string()
            }
            _ if expected.starts_with("'\"' to begin an object key")
                && (b.is_ascii_alphanumeric() || b == b'_' || b == b'$') =>
            {
                "an unquoted key: keys are strings in double quotes".to_string()
            }
            _ if expected.starts_with("':'") && value_start(b) => {
                "a ':' is missing after the key".to_string()
            }
            _ if expected.starts_with("',' or") && (value_start(b) || b == b'\'') => {
                "a ',' is missing before it".to_string()
            }
            _ => return None,
        })
    }
}

/// Stands for indentation in text held for sorting: a control byte, which
/// JSON text never holds raw, then the width as 8 bytes.
const MARK: u8 = 0x01;

/// Writes `piece` through `write`, each [`MARK`] expanded to its width of
/// `indent`'s fill (`indent` is a newline then a run of the fill).
fn expand_marks(
    piece: &[u8],
    indent: &[u8],
    write: &mut impl FnMut(&[u8]) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let mut rest = piece;
    while let Some(i) = memchr::memchr(MARK, rest) {
        write(&rest[..i])?;
        let width = u64::from_le_bytes(rest[i + 1..i + 9].try_into().expect("8 bytes")) as usize;
        let mut left = width;
        while left > 0 {
            let n = left.min(indent.len() - 1);
            write(&indent[1..1 + n])?;
            left -= n;
        }
        rest = &rest[i + 9..];
    }
    write(rest)
}

/// JSON's four whitespace bytes.
#[inline(always)]
fn is_ws(b: u8) -> bool {
    WHITESPACE[b as usize]
}

/// Bytes that may follow a number or literal: whitespace, structural
/// characters and the quote (`1"a"` is two values).
static ENDS_SCALAR: [bool; 256] = {
    let mut table = WHITESPACE;
    let mut i = 0;
    while i < 7 {
        table[b"{}[],:\""[i] as usize] = true;
        i += 1;
    }
    table
};

static WHITESPACE: [bool; 256] = {
    let mut table = [false; 256];
    table[b' ' as usize] = true;
    table[b'\n' as usize] = true;
    table[b'\t' as usize] = true;
    table[b'\r' as usize] = true;
    table
};
