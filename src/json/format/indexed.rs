//! The formatter's fast lane: tokens taken from the structural index
//! ([`super::super::index`]) instead of byte by byte. Whitespace is never
//! looked at, a plain string is copied whole from its opening quote to
//! the closing quote the index found, and the grammar is checked by the
//! state kept here. Anything that is not plain valid JSON (an escape, a
//! token the index cannot see the end of, a mistake) stops the lane at
//! the token boundary before it, and the byte-level loop in
//! [`super::Formatter::document`] takes that token (and says what is wrong
//! with it, in the same words whichever lane saw it first).
//!
//! While it runs, what changes at every token (the output position, the
//! index position, the colour in effect, the indentation, the innermost
//! container) is held in locals, [`Pen`] and [`Walk`](super::super::index::Walk),
//! and given back to the formatter when the lane stops or calls out: kept
//! in the formatter, each was loaded and stored at every token, a chain
//! through memory that cost more than the work.

use std::io::{Read, Write};

use super::super::index::Index;
use super::super::number;
use super::super::out::{Cursor, SHORT};
use super::super::simd::Level;
use super::super::style::Class;
use super::super::style::RESET;
use super::{
    ARRAY, COLON, ENDS_SCALAR, FLUSH_AT, Fallible, Formatter, OBJECT, RESET_BLOCK, UNPAINTED,
};

/// What the lane keeps in registers while it runs (as [`Cursor`] explains):
/// the output position, the colour in effect, the indentation width, the
/// innermost container's kind ([`NONE`] outside any) and where the latest
/// line break the lane wrote ends.
struct Pen {
    cur: Cursor,
    painted: u8,
    width: usize,
    top: u8,
    /// The output's length just after the latest newline and indentation
    /// the lane wrote (`usize::MAX`: none yet). Where nothing has been
    /// written since, it is [`Formatter`]'s `indent_end` and the newline
    /// is `width + 1` bytes back: worked out when the lane stops, not
    /// stored at every line.
    fresh: usize,
}

/// [`Pen::top`] outside any container.
const NONE: u8 = u8::MAX;

/// Line breaks laid out for one fixed-size copy each: the newline and the
/// indentation after it, alone or after a comma (indentation narrower
/// than a block; wider goes through [`Formatter::newline_indent`]).
pub(super) struct Breaks {
    newline: [u8; SHORT],
    comma: [u8; SHORT],
}

impl Breaks {
    /// With `fill` (space or tab) as the indentation.
    pub(super) fn new(fill: u8) -> Breaks {
        let mut newline = [fill; SHORT];
        newline[0] = b'\n';
        let mut comma = [fill; SHORT];
        comma[..2].copy_from_slice(b",\n");
        Breaks { newline, comma }
    }
}

/// A short byte sequence laid out for one fixed-size copy.
type Block = ([u8; SHORT], usize);

/// The [`Class`] of a value by its first byte, as an index into
/// [`Ink::key_colon_then`]; [`NOT_A_VALUE`] for a byte no value starts with.
const VALUE_CLASS: [u8; 256] = {
    let mut table = [NOT_A_VALUE; 256];
    let mut b = b'0';
    while b <= b'9' {
        table[b as usize] = Class::Number as u8;
        b += 1;
    }
    table[b'-' as usize] = Class::Number as u8;
    table[b'"' as usize] = Class::String as u8;
    table[b't' as usize] = Class::True as u8;
    table[b'f' as usize] = Class::False as u8;
    table[b'n' as usize] = Class::Null as u8;
    table[b'[' as usize] = Class::Array as u8;
    table[b'{' as usize] = Class::Object as u8;
    table
};

/// [`VALUE_CLASS`] of a byte no value starts with.
const NOT_A_VALUE: u8 = 8;

/// The coloured lane's punctuation: each piece joined with the colour
/// sequence that goes before it (and the reset after a comma that ends a
/// line), so it is one block copy where it would be two or three, and
/// no test of what is painted where the answer is known.
pub(super) struct Ink {
    /// After a key (painted as a key): the object's colour, unless keys
    /// look the same, and the colon; then the colour of the value that
    /// follows, unless it looks as the object does. By the value's
    /// [`VALUE_CLASS`] (the last: no value, no colour after the colon),
    /// with the look in effect after it.
    key_colon_then: [([u8; 2 * SHORT], usize, u8); 9],
    /// By container kind, then by whether its colour is already in
    /// effect: the comma, and in pretty layouts the reset that ends its
    /// line.
    comma: [[Block; 2]; 2],
    /// As `comma`, in pretty layouts, then the newline and as much
    /// indentation as the block holds; with the length up to the newline.
    comma_break: [[([u8; 2 * SHORT], usize); 2]; 2],
    /// By container kind, then as for `comma`: the closing bracket.
    close: [[Block; 2]; 2],
    /// The look of arrays and objects, by container kind.
    look: [u8; 2],
}

impl Ink {
    /// From the palette as [`Formatter`] lays it out (sequence block,
    /// length, look, by class).
    pub(super) fn new(
        paints: &[([u8; SHORT], usize, u8); 8],
        colon: usize,
        compact: bool,
        fill: u8,
    ) -> Ink {
        let sequence = |class: Class| &paints[class as usize].0[..paints[class as usize].1];
        let look = |class: Class| paints[class as usize].2;
        let join = |parts: &[&[u8]]| -> Block {
            let mut block = [0; SHORT];
            let mut len = 0;
            for part in parts {
                block[len..len + part.len()].copy_from_slice(part);
                len += part.len();
            }
            (block, len)
        };
        let colon = &COLON[..colon];
        let key_colon = if look(Class::Key) == look(Class::Object) {
            join(&[colon])
        } else {
            join(&[sequence(Class::Object), colon])
        };
        let mut key_colon_then = [([0; 2 * SHORT], 0, look(Class::Object)); 9];
        for (i, then) in key_colon_then.iter_mut().enumerate() {
            let (block, len) = &key_colon;
            then.0[..*len].copy_from_slice(&block[..*len]);
            then.1 = *len;
            if let Some(&class) = Class::ALL.get(i)
                && look(class) != look(Class::Object)
            {
                let value = sequence(class);
                then.0[*len..*len + value.len()].copy_from_slice(value);
                then.1 += value.len();
                then.2 = look(class);
            }
        }
        let reset: &[u8] = if compact { b"" } else { RESET };
        let kinds = [(Class::Array, b"]"), (Class::Object, b"}")];
        let comma =
            kinds.map(|(class, _)| [join(&[sequence(class), b",", reset]), join(&[b",", reset])]);
        let comma_break = comma.map(|pair| {
            pair.map(|(comma, len)| {
                let mut block = [fill; 2 * SHORT];
                block[..len].copy_from_slice(&comma[..len]);
                block[len] = b'\n';
                (block, len + 1)
            })
        });
        Ink {
            key_colon_then,
            comma,
            comma_break,
            close: kinds.map(|(class, close)| [join(&[sequence(class), close]), join(&[close])]),
            look: kinds.map(|(class, _)| look(class)),
        }
    }
}

/// Where the fast lane stopped: what the byte-level loop does next, from
/// the read position.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Stop {
    /// Takes a value.
    Value,
    /// Takes an object member's key.
    Key,
    /// Takes what follows a complete value: a comma or a closing bracket
    /// (or ends the document).
    After,
}

impl<R: Read, W: Write + ?Sized> Formatter<'_, R, W> {
    /// Formats from the value starting at the read position for as long
    /// as the index can carry it.
    pub(super) fn indexed(&mut self) -> Fallible<Stop> {
        let Some(mut index) = self.index.take() else {
            return Ok(Stop::Value);
        };
        if !self.src.pending.is_empty() {
            index.take(&mut self.src.pending, self.src.base);
        }
        // The buffer is lent to the lane, which writes only to `out`.
        let buf = std::mem::take(&mut self.src.buf);
        // One lane for each look, so the tests for colour and layout are
        // made once here rather than at every token.
        let stop = match (self.colour, self.compact) {
            (false, false) => self.indexed_at::<false, false>(&mut index, &buf),
            (false, true) => self.indexed_at::<false, true>(&mut index, &buf),
            (true, false) => self.indexed_at::<true, false>(&mut index, &buf),
            (true, true) => self.indexed_at::<true, true>(&mut index, &buf),
        };
        self.src.buf = buf;
        self.index = Some(index);
        stop
    }

    /// The lane compiled for the widest instructions the index was made
    /// with: with AVX2, a 32- or 64-byte block is one or two moves, not
    /// two or four. (The features are those [`Level::Avx2`] is chosen
    /// for, no more: a CPU may have AVX2 without, say, BMI2.)
    #[inline(always)]
    fn indexed_at<const COLOUR: bool, const COMPACT: bool>(
        &mut self,
        index: &mut Index,
        buf: &[u8],
    ) -> Fallible<Stop> {
        #[cfg(target_arch = "x86_64")]
        if self.simd == Level::Avx2 {
            // SAFETY: the level is AVX2 only where the CPU has it.
            return unsafe { self.indexed_avx2::<COLOUR, COMPACT>(index, buf) };
        }
        self.indexed_run::<COLOUR, COMPACT>(index, buf)
    }

    /// [`Formatter::indexed_run`] compiled for AVX2. Safety: the CPU has
    /// AVX2, BMI1 and POPCNT (as [`Level::Avx2`] vouches).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,bmi1,popcnt")]
    unsafe fn indexed_avx2<const COLOUR: bool, const COMPACT: bool>(
        &mut self,
        index: &mut Index,
        buf: &[u8],
    ) -> Fallible<Stop> {
        self.indexed_run::<COLOUR, COMPACT>(index, buf)
    }

    #[inline(always)]
    fn indexed_run<const COLOUR: bool, const COMPACT: bool>(
        &mut self,
        index: &mut Index,
        buf: &[u8],
    ) -> Fallible<Stop> {
        let end = self.src.end;
        let buf = &buf[..end];
        let base = self.src.base;
        let utf8_end = self.src.utf8_end;
        let colon = self.colon;
        // After the last token taken: where the byte-level loop goes on.
        let mut pos = self.src.pos;
        let mut state = Stop::Value;
        // In registers until the lane stops or calls out.
        let mut pen = Pen {
            cur: self.out.cursor(),
            painted: self.painted,
            width: self.stack.len() * self.unit,
            top: self.stack.last().copied().unwrap_or(NONE),
            fresh: usize::MAX,
        };
        macro_rules! stop {
            () => {{
                self.lane_settle(&pen);
                self.src.pos = pos;
                return Ok(state);
            }};
        }
        // The value's first byte is an entry, unless what the index holds
        // went past it (then it starts afresh: this is a token boundary).
        let mut e = match index.first_from(buf, end, base, pos) {
            Some(e) if e == pos => e,
            Some(_) if index.is_ahead() => stop!(),
            Some(_) => {
                index.reset();
                match index.first_from(buf, end, base, pos) {
                    Some(e) => e,
                    None => stop!(),
                }
            }
            None => stop!(),
        };
        // The index's position, in registers as the output's is.
        let mut walk = index.walk();
        macro_rules! stop {
            () => {{
                index.settle(&walk);
                self.lane_settle(&pen);
                self.src.pos = pos;
                return Ok(state);
            }};
        }
        // The next entry, or stop where the last token ended.
        //
        // SAFETY (of every `index.step` here): the walk is taken just after
        // `first_from` found an entry, and every step that finds none
        // stops the lane, so no step is made from the sentinel.
        macro_rules! step {
            () => {
                match unsafe { index.step(&mut walk, buf, end) } {
                    Some(e) => e,
                    None => stop!(),
                }
            };
        }
        // An object member's key at `e`, then its colon; `e` ends at the
        // value's entry.
        macro_rules! key {
            () => {{
                pen.cur.reserve(&mut self.out);
                state = Stop::Key;
                if buf[e] != b'"' {
                    stop!();
                }
                let close = step!();
                if buf[close] != b'"' || close >= utf8_end {
                    stop!();
                }
                let after = step!();
                if buf[after] != b':' {
                    stop!();
                }
                self.lane_paint::<COLOUR>(&mut pen, Class::Key);
                pen.cur.copy_reserved(&mut self.out, buf, e, close + 1);
                pos = after + 1;
                state = Stop::Value;
                if COLOUR {
                    // The colon and the value's colour in one block (the
                    // value's branch then finds it painted).
                    // SAFETY: as in `step!`: on none, the lane stops.
                    let value = unsafe { index.step(&mut walk, buf, end) };
                    let class = value.map_or(NOT_A_VALUE, |v| VALUE_CLASS[buf[v] as usize]);
                    let (block, len, look) = &self.ink.key_colon_then[class as usize];
                    pen.cur.wide_reserved(block, *len);
                    pen.painted = *look;
                    match value {
                        Some(v) => e = v,
                        None => stop!(),
                    }
                } else {
                    pen.cur.padded_reserved(&COLON, colon);
                    e = step!();
                }
            }};
        }
        // `e` is the entry of the token in hand. The grammar's state is
        // where the code is, as in `document`, so each branch has a place
        // of its own for the predictor to learn.
        //
        // Room for what is written is reserved once a token, at the top of
        // each loop and of `key!` (each writes at most out::RESERVED
        // before the next), not tested at every write.
        'value: loop {
            pen.cur.reserve(&mut self.out);
            let b = buf[e];
            // The entry after the value.
            let mut next;
            match b {
                b'"' => {
                    let close = step!();
                    if buf[close] != b'"' || close >= utf8_end {
                        stop!();
                    }
                    self.lane_paint::<COLOUR>(&mut pen, Class::String);
                    pen.cur.copy_reserved(&mut self.out, buf, e, close + 1);
                    pos = close + 1;
                    state = Stop::After;
                    next = step!();
                }
                b'-' | b'0'..=b'9' | b't' | b'f' | b'n' => {
                    // The run ends before the next entry, and only
                    // whitespace can lie between.
                    next = step!();
                    let run = &buf[e..next];
                    let (n, class) = match b {
                        b't' if run.starts_with(b"true") => (4, Class::True),
                        b'f' if run.starts_with(b"false") => (5, Class::False),
                        b'n' if run.starts_with(b"null") => (4, Class::Null),
                        b't' | b'f' | b'n' => stop!(),
                        // (The quick look reads on past the run; a number
                        // cannot end beyond it, as the next entry is a
                        // byte no number has.)
                        _ => match number::quick_len(buf, e)
                            .filter(|&n| n <= run.len())
                            .or_else(|| number::valid_len(run))
                        {
                            Some(n) => (n, Class::Number),
                            None => stop!(),
                        },
                    };
                    if n < run.len() && !ENDS_SCALAR[run[n] as usize] {
                        stop!();
                    }
                    self.lane_paint::<COLOUR>(&mut pen, class);
                    pen.cur.copy_reserved(&mut self.out, buf, e, e + n);
                    pos = e + n;
                    state = Stop::After;
                }
                b'[' | b'{' => {
                    let inner = step!();
                    let (class, close, kind) = if b == b'[' {
                        (Class::Array, b']', ARRAY)
                    } else {
                        (Class::Object, b'}', OBJECT)
                    };
                    self.lane_paint::<COLOUR>(&mut pen, class);
                    pen.cur.push_reserved(b);
                    if buf[inner] == close {
                        pen.cur.push_reserved(close);
                        pos = inner + 1;
                        state = Stop::After;
                        next = step!();
                    } else {
                        self.note_open(base + e as u64);
                        self.stack.push(kind);
                        pen.width += self.unit;
                        pen.top = kind;
                        self.lane_newline::<COLOUR, COMPACT>(&mut pen)?;
                        pos = e + 1;
                        e = inner;
                        if kind == OBJECT {
                            key!();
                        }
                        continue 'value;
                    }
                }
                _ => stop!(),
            }
            // A value is complete: close containers until one wants more.
            loop {
                pen.cur.reserve(&mut self.out);
                debug_assert_eq!(pen.top, self.stack.last().copied().unwrap_or(NONE));
                if pen.top == NONE {
                    stop!()
                }
                let b = buf[next];
                if pen.top == ARRAY {
                    match b {
                        b',' => {
                            self.lane_comma_newline::<COLOUR, COMPACT>(&mut pen, ARRAY)?;
                            pos = next + 1;
                            state = Stop::Value;
                            e = step!();
                            continue 'value;
                        }
                        b']' => self.lane_pop::<COLOUR, COMPACT>(&mut pen, ARRAY, b)?,
                        _ => stop!(),
                    }
                } else {
                    match b {
                        b',' => {
                            self.lane_comma_newline::<COLOUR, COMPACT>(&mut pen, OBJECT)?;
                            pos = next + 1;
                            state = Stop::Key;
                            e = step!();
                            key!();
                            continue 'value;
                        }
                        b'}' => self.lane_pop::<COLOUR, COMPACT>(&mut pen, OBJECT, b)?,
                        _ => stop!(),
                    }
                }
                pos = next + 1;
                if pen.top == NONE {
                    stop!();
                }
                next = step!();
            }
        }
    }

    /// The comma after an element of a `kind` container, in its colour
    /// (and, in pretty layouts, the reset that ends the line).
    #[inline(always)]
    fn lane_comma<const COLOUR: bool, const COMPACT: bool>(&mut self, pen: &mut Pen, kind: u8) {
        if !COLOUR {
            pen.cur.push_reserved(b',');
            return;
        }
        let look = self.ink.look[kind as usize];
        let (block, len) = &self.ink.comma[kind as usize][usize::from(pen.painted == look)];
        pen.cur.padded_reserved(block, *len);
        pen.painted = if COMPACT { look } else { UNPAINTED };
    }

    /// The comma after an element of a `kind` container and the line
    /// break after it: plain and narrow, one block.
    #[inline(always)]
    fn lane_comma_newline<const COLOUR: bool, const COMPACT: bool>(
        &mut self,
        pen: &mut Pen,
        kind: u8,
    ) -> Fallible<()> {
        if !COMPACT && pen.cur.len() < FLUSH_AT {
            debug_assert_eq!(pen.width, self.stack.len() * self.unit);
            if !COLOUR && pen.width + 2 <= SHORT {
                pen.cur.padded_reserved(&self.breaks.comma, 2 + pen.width);
                pen.fresh = pen.cur.len();
                return Ok(());
            }
            let look = self.ink.look[kind as usize];
            let (block, lead) =
                &self.ink.comma_break[kind as usize][usize::from(pen.painted == look)];
            if COLOUR && lead + pen.width <= 2 * SHORT {
                pen.cur.wide_reserved(block, lead + pen.width);
                pen.fresh = pen.cur.len();
                pen.painted = UNPAINTED;
                return Ok(());
            }
        }
        self.lane_comma::<COLOUR, COMPACT>(pen, kind);
        self.lane_newline::<COLOUR, COMPACT>(pen)
    }

    /// Closes the innermost container, a `kind` one, with `b` on a line
    /// of its own.
    #[inline(always)]
    fn lane_pop<const COLOUR: bool, const COMPACT: bool>(
        &mut self,
        pen: &mut Pen,
        kind: u8,
        b: u8,
    ) -> Fallible<()> {
        self.stack.pop();
        pen.width -= self.unit;
        pen.top = self.stack.last().copied().unwrap_or(NONE);
        self.note_close();
        self.lane_newline::<COLOUR, COMPACT>(pen)?;
        self.lane_close::<COLOUR>(pen, kind, b);
        Ok(())
    }

    /// The closing bracket `b` of a `kind` container, in its colour.
    #[inline(always)]
    fn lane_close<const COLOUR: bool>(&mut self, pen: &mut Pen, kind: u8, b: u8) {
        if !COLOUR {
            pen.cur.push_reserved(b);
            return;
        }
        let look = self.ink.look[kind as usize];
        let (block, len) = &self.ink.close[kind as usize][usize::from(pen.painted == look)];
        pen.cur.padded_reserved(block, *len);
        pen.painted = look;
    }

    /// [`Formatter::paint`], through the cursor.
    #[inline(always)]
    fn lane_paint<const COLOUR: bool>(&mut self, pen: &mut Pen, class: Class) {
        if COLOUR {
            let (block, len, look) = &self.paints[class as usize];
            if pen.painted != *look {
                pen.cur.padded_reserved(block, *len);
                pen.painted = *look;
            }
        }
    }

    /// [`Formatter::newline_indent`], its tests made at compile time and
    /// the common case (a short indent, the buffer not due a flush) first.
    #[inline(always)]
    fn lane_newline<const COLOUR: bool, const COMPACT: bool>(
        &mut self,
        pen: &mut Pen,
    ) -> Fallible<()> {
        if COMPACT {
            return Ok(());
        }
        if COLOUR && pen.painted != UNPAINTED {
            pen.cur.padded_reserved(&RESET_BLOCK, RESET.len());
            pen.painted = UNPAINTED;
        }
        let width = pen.width;
        debug_assert_eq!(width, self.stack.len() * self.unit);
        if width < SHORT && pen.cur.len() < FLUSH_AT {
            pen.cur.padded_reserved(&self.breaks.newline, 1 + width);
            pen.fresh = pen.cur.len();
            Ok(())
        } else {
            self.lane_settle(pen);
            let done = self.newline_indent();
            pen.cur = self.out.cursor();
            pen.cur.reserve(&mut self.out);
            pen.painted = self.painted;
            pen.fresh = usize::MAX;
            done
        }
    }

    /// Gives what the lane holds in `pen` back to the formatter: the
    /// output written, the colour in effect, and the latest line break if
    /// nothing has been written after it.
    #[inline(always)]
    fn lane_settle(&mut self, pen: &Pen) {
        self.out.settle(&pen.cur);
        self.painted = pen.painted;
        if pen.fresh == pen.cur.len() {
            self.indent_end = pen.fresh;
            self.indent_start = pen.fresh - 1 - pen.width;
        }
    }
}
