//! Buffered input that knows where it is: the formatter scans the buffer
//! directly, and line and column are worked out only when an error needs them.

use std::io::{self, Read};

use super::ahead::{Ahead, CHUNK as AHEAD, PREFIX, Pending};

const CHUNK: usize = 256 * 1024;
/// Bytes already read that stay in the buffer across a read, for errors.
const KEEP: usize = 4096;

/// A read buffer over `R` with position bookkeeping.
///
/// The formatter reads `buf[pos..end]` directly for speed. [`Source::fill`]
/// keeps the unread bytes (moving them to the front) and reads more, so a
/// token cut by the buffer's edge can be scanned again whole.
pub struct Source<R> {
    reader: R,
    pub buf: Vec<u8>,
    pub pos: usize,
    pub end: usize,
    eof: bool,
    /// Line number (1-based) of `buf[origin]`.
    line: u64,
    /// Characters between the last newline and `buf[origin]`.
    column: u64,
    /// Reading ahead: the line number of `buf[end]` (from the newlines
    /// the thread counted in each chunk).
    line_at_end: u64,
    /// Where the input in `buf` begins: 0 when read into it, further in
    /// when the buffer is a chunk read ahead (see `take_chunk`).
    origin: usize,
    /// The input offset of `buf[0]` (where `buf[origin..]` is input).
    pub base: u64,
    /// `buf[..utf8_end]` is known to be UTF-8 (checked a read at a time,
    /// when `checks_utf8`), so string text before it needs no check of
    /// its own.
    pub utf8_end: usize,
    checks_utf8: bool,
    /// Reading ahead on another thread (instead of from `reader`).
    ahead: Option<Ahead>,
    /// Windows of the index that came with the chunks, for the formatter's
    /// index to take.
    pub pending: Pending,
}

impl Source<io::Empty> {
    /// Input read and indexed ahead on another thread.
    pub fn ahead(ahead: Ahead) -> Source<io::Empty> {
        let mut src = Source::new(io::empty());
        src.buf = vec![0; 2 * CHUNK];
        src.ahead = Some(ahead);
        src
    }
}

impl<R: Read> Source<R> {
    pub fn new(reader: R) -> Source<R> {
        Source {
            reader,
            buf: vec![0; CHUNK],
            pos: 0,
            end: 0,
            eof: false,
            line: 1,
            column: 0,
            line_at_end: 1,
            origin: 0,
            base: 0,
            utf8_end: 0,
            checks_utf8: false,
            ahead: None,
            pending: Pending::new(),
        }
    }

    /// The input kept in the buffer before `pos`.
    pub fn before(&self, pos: usize) -> &[u8] {
        &self.buf[self.origin..pos]
    }

    /// Whether the end of input has been read.
    pub fn at_end(&self) -> bool {
        self.eof
    }

    /// Whether chunks come read and indexed ahead.
    pub fn is_ahead(&self) -> bool {
        self.ahead.is_some()
    }

    /// Checks each read's bytes as UTF-8 as they arrive (simdutf8, tens
    /// of bytes a cycle), so strings need no check of their own up to the
    /// first invalid or cut sequence.
    pub fn check_utf8_by_reads(mut self) -> Source<R> {
        self.checks_utf8 = true;
        self
    }

    /// Reads more input after the unread bytes. Returns `false` at end of
    /// input (nothing was added).
    pub fn fill(&mut self) -> io::Result<bool> {
        if self.eof {
            return Ok(false);
        }
        // Keep the last KEEP bytes read, so an error can show its line
        // and where a bracket still open there opened.
        let keep_from = self.pos.saturating_sub(KEEP);
        if self.ahead.is_some() {
            return self.take_chunk(keep_from);
        }
        self.account(keep_from);
        self.base += keep_from as u64;
        self.buf.copy_within(keep_from..self.end, 0);
        self.end -= keep_from;
        self.pos -= keep_from;
        self.utf8_end = self.utf8_end.saturating_sub(keep_from);
        if self.end == self.buf.len() {
            // One token (a number) longer than the buffer: grow to hold it.
            self.buf.resize(self.buf.len() * 2, 0);
        }
        loop {
            match self.reader.read(&mut self.buf[self.end..]) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(false);
                }
                Ok(n) => {
                    self.check_utf8(n);
                    self.end += n;
                    return Ok(true);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// Appends the next chunk read ahead (keeping `buf[keep_from..]`),
    /// and queues its window. Where the bytes kept fit in the room before
    /// the chunk's bytes, they go there and the chunk's buffer becomes
    /// this one (no copy of the chunk); otherwise (the start of input, or
    /// a token longer than the room) they move to the front of this
    /// buffer and the chunk is copied after them.
    fn take_chunk(&mut self, keep_from: usize) -> io::Result<bool> {
        let Some(chunk) = self.ahead.as_ref().and_then(Ahead::next) else {
            self.eof = true;
            return Ok(false);
        };
        self.account_ahead(keep_from);
        let kept = self.end - keep_from;
        let kept_at = self.base + keep_from as u64;
        let len = chunk.len;
        let start = if kept <= PREFIX && kept_at >= (PREFIX - kept) as u64 {
            let mut data = chunk.data;
            let start = PREFIX - kept;
            data[start..PREFIX].copy_from_slice(&self.buf[keep_from..self.end]);
            let spent = std::mem::replace(&mut self.buf, data);
            self.recycle(spent);
            start
        } else {
            self.buf.copy_within(keep_from..self.end, 0);
            if self.buf.len() < kept + len {
                self.buf.resize(kept + len.max(AHEAD), 0);
            }
            self.buf[kept..kept + len].copy_from_slice(&chunk.data[PREFIX..PREFIX + len]);
            self.recycle(chunk.data);
            0
        };
        // Everything kept moved by this much.
        let by = start as isize - keep_from as isize;
        self.origin = start;
        self.base = kept_at - start as u64;
        self.pos = (self.pos as isize + by) as usize;
        self.end = start + kept;
        self.utf8_end = self.utf8_end.max(keep_from) - keep_from + start;
        for w in &mut self.pending {
            w.start += by;
        }
        let mut window = chunk.window;
        window.start += self.end as isize;
        self.pending.push_back(window);
        if len == 0 {
            self.eof = true;
            chunk.result?;
            return Ok(false);
        }
        // Checked on the thread: it carries on from here if all before
        // was UTF-8 (up to a character cut by the last read).
        if self.checks_utf8 && self.utf8_end + chunk.utf8.carried == self.end {
            self.utf8_end = (self.end as isize + chunk.utf8.valid_end) as usize;
        }
        self.end += len;
        self.line_at_end += chunk.newlines;
        Ok(true)
    }

    fn recycle(&self, data: Vec<u8>) {
        if let Some(ahead) = &self.ahead {
            ahead.recycle(data);
        }
    }

    /// Checks the `n` bytes about to be let in at `end` as UTF-8: from
    /// where the last check stopped, if it stopped only at the end (a
    /// sequence cut by it).
    fn check_utf8(&mut self, n: usize) {
        if self.checks_utf8 && self.end - self.utf8_end < 4 {
            let text = &self.buf[self.utf8_end..self.end + n];
            self.utf8_end += match simdutf8::compat::from_utf8(text) {
                Ok(_) => text.len(),
                Err(e) => e.valid_up_to(),
            };
        }
    }

    /// Makes at least `n` unread bytes available if the input has them;
    /// returns whether it does.
    pub fn ensure(&mut self, n: usize) -> io::Result<bool> {
        while self.end - self.pos < n {
            if !self.fill()? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Drops the next `n` unread bytes from the buffer, so they count in
    /// no column (a byte order mark is not a character of line 1).
    pub fn drop_uncounted(&mut self, n: usize) {
        for w in &mut self.pending {
            w.start -= n as isize;
        }
        self.buf.copy_within(self.pos + n..self.end, self.pos);
        self.end -= n;
        self.base += n as u64;
        self.utf8_end = self.utf8_end.saturating_sub(n);
    }

    /// Line and column of the input byte at `offset` (counted from the
    /// start of input), if it is still in the buffer.
    pub fn position_at(&self, offset: u64) -> Option<(u64, u64)> {
        let at = offset.checked_sub(self.base)? as usize;
        (self.origin <= at && at <= self.end).then(|| self.position_of(at))
    }

    /// The line holding `buf[at]`, as far as the buffer has it: its text,
    /// where `at` falls in it, and whether the line began before the
    /// buffer (so the text starts mid-line).
    pub fn line_around(&self, at: usize) -> (&[u8], usize, bool) {
        let (start, cut) = match memchr::memrchr(b'\n', &self.buf[self.origin..at]) {
            Some(nl) => (self.origin + nl + 1, false),
            None => (self.origin, self.column != 0),
        };
        let end = memchr::memchr(b'\n', &self.buf[at..self.end]).map_or(self.end, |n| at + n);
        let line = &self.buf[start..end];
        (line.strip_suffix(b"\r").unwrap_or(line), at - start, cut)
    }

    /// The line (1-based) and column (1-based, in characters) of `buf[at]`.
    pub fn position_of(&self, at: usize) -> (u64, u64) {
        let (line, column) = advance(self.line, self.column, &self.buf[self.origin..at]);
        (line, column + 1)
    }

    /// Moves the line count past `buf[origin..upto]`, which is about to
    /// be dropped from the buffer.
    fn account(&mut self, upto: usize) {
        (self.line, self.column) = advance(self.line, self.column, &self.buf[self.origin..upto]);
    }

    /// [`Source::account`] reading ahead, where the line number at the
    /// buffer's end is known: the newlines are counted in the bytes kept
    /// after `upto` (a few KiB), not in the chunk passed over, and the
    /// column back to the last newline.
    fn account_ahead(&mut self, upto: usize) {
        let passed = &self.buf[self.origin..upto];
        #[cfg(debug_assertions)]
        let counted_here = advance(self.line, self.column, passed);
        match memchr::memrchr(b'\n', passed) {
            Some(last) => {
                let kept = memchr::memchr_iter(b'\n', &self.buf[upto..self.end]).count() as u64;
                self.line = self.line_at_end - kept;
                self.column = chars(&passed[last + 1..]);
            }
            None => self.column += chars(passed),
        }
        #[cfg(debug_assertions)]
        assert_eq!(
            (self.line, self.column),
            counted_here,
            "lines counted ahead"
        );
    }
}

/// Where `(line, column)` ends up after `bytes`.
fn advance(line: u64, column: u64, bytes: &[u8]) -> (u64, u64) {
    match memchr::memrchr(b'\n', bytes) {
        Some(last) => {
            let newlines = memchr::memchr_iter(b'\n', bytes).count() as u64;
            (line + newlines, chars(&bytes[last + 1..]))
        }
        None => (line, column + chars(bytes)),
    }
}

/// Counts characters: every byte that does not continue a UTF-8 sequence
/// (`10xxxxxx`), eight bytes at a time.
fn chars(bytes: &[u8]) -> u64 {
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let mut words = bytes.chunks_exact(8);
    let mut continuations = 0;
    for word in &mut words {
        let w = u64::from_le_bytes(word.try_into().expect("eight bytes"));
        continuations += (w & !(w << 1) & HIGH).count_ones() as u64;
    }
    continuations += words
        .remainder()
        .iter()
        .filter(|&&b| b & 0xC0 == 0x80)
        .count() as u64;
    bytes.len() as u64 - continuations
}

#[cfg(test)]
mod tests {
    #[test]
    fn chars_counts_code_points() {
        for text in ["", "abc", "héllo wörld, 東京 😀 and a longer ASCII tail"] {
            assert_eq!(
                super::chars(text.as_bytes()),
                text.chars().count() as u64,
                "{text}"
            );
        }
    }
}
