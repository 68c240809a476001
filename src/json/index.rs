//! The structural index (simdjson's stage 1): the input is classified 64
//! bytes at a time with SIMD compares into bitmaps of quotes, backslashes,
//! whitespace, structural characters and control characters; escaped
//! quotes are resolved with simdjson's odd-backslash-run trick and string
//! interiors with a prefix XOR of the quote bits. What is left is a sorted
//! list of the bytes the formatter must look at:
//!
//! - every structural character (`{}[],:`) outside strings,
//! - every unescaped quote, opening and closing,
//! - the first byte of every other run outside strings (numbers, literals
//!   and garbage alike),
//! - inside strings, every backslash and control character.
//!
//! The formatter then goes from entry to entry instead of byte to byte:
//! whitespace between tokens is never looked at, and a string whose next
//! entry is its closing quote is copied whole without a scan (its UTF-8
//! was checked as the read arrived). Anything else (an escape, a buffer
//! edge, an error) takes the byte-level path, and the index picks up again
//! after it: entries behind the read position are skipped.
//!
//! Entries are found in windows of [`WINDOW`] bytes, as the formatter gets
//! to them, so the list stays in cache. A window always starts at a token
//! boundary (outside any string) or where the last window ended, so the
//! string state carried from block to block is always true; when the
//! buffer moves under it (a read), the index starts afresh at the next
//! token boundary.

use std::collections::VecDeque;

use super::simd::Level;

/// Bytes indexed at a time.
const WINDOW: usize = 16 * 1024;
/// Ends the entries of a window.
pub const SENTINEL: u32 = u32::MAX;

/// The entries of a run of input indexed ahead (on the read-ahead thread,
/// [`super::ahead`]), where the buffer has it.
pub struct Window {
    /// Buffer offset the entries count from (below 0 once the buffer has
    /// moved past it).
    pub start: isize,
    /// Bytes covered: the next window starts where this one ends.
    pub len: usize,
    /// Ascending, then [`SENTINEL`].
    pub entries: Vec<u32>,
}

/// The formatter's walk over the entries.
pub struct Index {
    /// Buffer offsets, as offsets from `start`, ascending, then [`SENTINEL`].
    entries: Vec<u32>,
    /// The first entry not yet known to be behind the read position.
    cursor: usize,
    /// Buffer offset the entries count from.
    start: isize,
    /// Buffer offset where the next window begins; `None`: nothing
    /// indexed, begin at the next token boundary.
    next: Option<isize>,
    /// The source's `base` when this was indexed: the buffer has moved by
    /// the difference since.
    base: u64,
    /// Indexes windows itself, or takes them from the read-ahead thread.
    stage: Option<Stage>,
    /// Windows indexed ahead, in input order.
    pending: VecDeque<Window>,
}

impl Index {
    /// An index that finds its own entries at `level`; `None` where the
    /// CPU has no SIMD level (the byte-level scans are then all there is).
    pub fn new(level: Level) -> Option<Index> {
        if level == Level::Portable {
            return None;
        }
        Some(Index {
            entries: vec![SENTINEL],
            cursor: 0,
            start: 0,
            next: None,
            base: 0,
            stage: Some(Stage::new(level)),
            pending: VecDeque::new(),
        })
    }

    /// An index whose windows come from the read-ahead thread
    /// ([`Index::take`]), starting at buffer offset `start`.
    pub fn ahead() -> Index {
        Index {
            entries: vec![SENTINEL],
            cursor: 0,
            start: 0,
            next: Some(0),
            base: 0,
            stage: None,
            pending: VecDeque::new(),
        }
    }

    /// Whether the windows come from the read-ahead thread: then nothing
    /// can be indexed afresh where the walk loses its way.
    pub fn is_ahead(&self) -> bool {
        self.stage.is_none()
    }

    /// Takes windows indexed ahead, placed in the buffer as it is now
    /// (`base` bytes of input before it).
    pub fn take(&mut self, windows: &mut VecDeque<Window>, base: u64) {
        if base != self.base {
            self.moved(base);
        }
        self.pending.append(windows);
    }

    /// Forgets everything: the next lookup begins afresh where it is asked
    /// (which must be a token boundary).
    #[inline]
    pub fn reset(&mut self) {
        debug_assert!(!self.is_ahead());
        self.next = None;
        self.entries.clear();
        self.entries.push(SENTINEL);
        self.cursor = 0;
    }

    /// The buffer moved: input offset `base` is now its first byte.
    #[cold]
    fn moved(&mut self, base: u64) {
        // (It may move back: a chunk read ahead puts the kept bytes
        // further in than they were.)
        let by = base.wrapping_sub(self.base) as i64 as isize;
        self.base = base;
        self.start -= by;
        self.next = self.next.map(|n| n - by);
        for w in &mut self.pending {
            w.start -= by;
        }
        // Indexing here goes on where it stopped, unless that was dropped.
        if self.stage.is_some() && self.next.is_some_and(|n| n < 0) {
            self.reset();
        }
    }

    /// The first entry at or after `pos`, where `pos` is a token
    /// boundary in `buf[..end]` (which has moved past `base` bytes of
    /// input): the first byte there that is not whitespace. `None` when
    /// the index cannot tell (fewer than 64 bytes left in the buffer).
    #[inline(always)]
    pub fn first_from(&mut self, buf: &[u8], end: usize, base: u64, pos: usize) -> Option<usize> {
        if base != self.base {
            self.moved(base);
        }
        loop {
            let e = self.entries[self.cursor];
            if e == SENTINEL {
                if !self.extend(buf, end, pos) {
                    return None;
                }
                continue;
            }
            let e = self.start + e as isize;
            if e >= pos as isize {
                return Some(e as usize);
            }
            self.cursor += 1;
        }
    }

    /// The walk from the entry [`Index::first_from`] found last, for the
    /// lane to hold in locals (see [`Walk`]); given back with
    /// [`Index::settle`].
    #[inline(always)]
    pub fn walk(&self) -> Walk {
        Walk {
            entries: self.entries.as_ptr(),
            len: self.entries.len(),
            cursor: self.cursor,
            start: self.start,
        }
    }

    /// Takes back where `walk` got to.
    #[inline(always)]
    pub fn settle(&mut self, walk: &Walk) {
        debug_assert!(std::ptr::eq(walk.entries, self.entries.as_ptr()));
        self.cursor = walk.cursor;
    }

    /// The entry after the one `walk` is on (the index still over the
    /// same buffer); `None` at the end of what is indexed, where the walk
    /// stays, to be settled and looked up afresh with
    /// [`Index::first_from`].
    ///
    /// # Safety
    /// `walk` is on an entry, not on the sentinel: it was taken from this
    /// index with [`Index::walk`] just after [`Index::first_from`] found
    /// an entry, the index has not changed since except through `step`,
    /// and `step` has not returned `None` since. (A step from the
    /// sentinel would read past the end of the entries. A test of the
    /// length at every step, an `assert!`, cost the lane 7% of its
    /// instructions: callgrind counts it made the compiled loop do, not
    /// only the compare.)
    #[inline(always)]
    pub unsafe fn step(&mut self, walk: &mut Walk, buf: &[u8], end: usize) -> Option<usize> {
        walk.cursor += 1;
        loop {
            debug_assert!(walk.cursor < walk.len, "a step from the sentinel");
            // SAFETY: the walk was on an entry before the sentinel (as the
            // caller vouches), or on the first entry of a window just
            // taken (below), so it is on an entry or on the sentinel that
            // ends `entries`; which has not changed since the walk was
            // taken (only `extend` changes it, and a new walk is taken
            // after it).
            let e = unsafe { *walk.entries.add(walk.cursor) };
            if e != SENTINEL {
                return Some((walk.start + e as isize) as usize);
            }
            self.cursor = walk.cursor;
            let more = self.extend(buf, end, usize::MAX);
            *walk = self.walk();
            if !more {
                return None;
            }
        }
    }

    /// The next window: indexed from where the last one ended (or afresh
    /// from `pos`), or the next one indexed ahead. Returns `false` if
    /// there is none (fewer than 64 bytes left here, or nothing ahead).
    #[cold]
    #[inline(never)]
    fn extend(&mut self, buf: &[u8], end: usize, pos: usize) -> bool {
        let Some(stage) = &mut self.stage else {
            let Some(w) = self.pending.front() else {
                return false;
            };
            debug_assert_eq!(Some(w.start), self.next, "windows follow each other");
            let w = self.pending.pop_front().expect("a window");
            self.next = Some(w.start + w.len as isize);
            self.start = w.start;
            self.entries = w.entries;
            self.cursor = 0;
            return true;
        };
        let from = match self.next {
            Some(next) => next as usize,
            None => {
                *stage = Stage::new(stage.level);
                if pos == usize::MAX {
                    return false;
                }
                pos
            }
        };
        let blocks = (end.saturating_sub(from) / 64).min(WINDOW / 64);
        if blocks == 0 {
            return false;
        }
        self.entries.clear();
        self.cursor = 0;
        self.start = from as isize;
        stage.index(&buf[from..from + blocks * 64], &mut self.entries, 0);
        self.entries.push(SENTINEL);
        self.next = Some((from + blocks * 64) as isize);
        true
    }
}

/// An [`Index`]'s position held apart from it, so the lane keeps it in
/// registers (as `out::Cursor` does the output's): in the index, the
/// position was loaded and stored at every step, a chain through memory
/// from entry to entry.
pub struct Walk {
    entries: *const u32,
    len: usize,
    cursor: usize,
    start: isize,
}

/// Stage 1 itself: blocks in, entries out, with the state carried from
/// block to block.
#[derive(Clone, Copy)]
pub struct Stage {
    level: Level,
    /// All ones while inside a string.
    in_string: u64,
    /// 1 if the next block's first byte is escaped.
    escaped: u64,
    /// 1 if the last byte was part of a number or literal.
    scalar: u64,
}

impl Stage {
    /// At the start of input (or of any token boundary), at `level`.
    pub fn new(level: Level) -> Stage {
        Stage {
            level,
            in_string: 0,
            escaped: 0,
            scalar: 0,
        }
    }

    /// Appends the entries of `blocks` (whole 64-byte blocks), as offsets
    /// from its start plus `offset`.
    pub fn index(&mut self, blocks: &[u8], entries: &mut Vec<u32>, offset: u32) {
        debug_assert!(blocks.len().is_multiple_of(64));
        match self.level {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: Avx2 is chosen only where the CPU has AVX2.
            Level::Avx2 => unsafe { self.blocks_avx2(blocks, entries, offset) },
            #[cfg(target_arch = "x86_64")]
            Level::Sse2 => self.blocks(blocks, entries, offset, x86::classify_sse2, prefix_xor),
            _ => self.blocks(blocks, entries, offset, classify_bytes, prefix_xor),
        }
    }

    /// [`Stage::blocks`] compiled for AVX2, the classifier inlined.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,bmi1,popcnt,pclmulqdq")]
    unsafe fn blocks_avx2(&mut self, blocks: &[u8], entries: &mut Vec<u32>, offset: u32) {
        // SAFETY: this runs only where the CPU has AVX2 and PCLMULQDQ.
        self.blocks(
            blocks,
            entries,
            offset,
            |block| unsafe { x86::classify_avx2(block) },
            |quote| unsafe { x86::prefix_xor_clmul(quote) },
        );
    }

    #[inline(always)]
    fn blocks(
        &mut self,
        blocks: &[u8],
        entries: &mut Vec<u32>,
        offset: u32,
        classify: impl Fn(&[u8; 64]) -> Masks,
        prefix_xor: impl Fn(u64) -> u64,
    ) {
        for (b, block) in blocks.chunks_exact(64).enumerate() {
            let block: &[u8; 64] = block.try_into().expect("64 bytes");
            // Room for the worst case, grown as needed: a list sized for
            // it up front would be 16 times what typical JSON needs.
            entries.reserve(64);
            let bits = self.structure(classify(block), &prefix_xor);
            push_bits(entries, bits, offset + (b * 64) as u32);
        }
    }

    /// A block's entries, from its classes and the state carried in.
    #[inline(always)]
    fn structure(&mut self, m: Masks, prefix_xor: impl Fn(u64) -> u64) -> u64 {
        let escaped = escaped(m.backslash, &mut self.escaped);
        let quote = m.quote & !escaped;
        // Inside strings: the opening quote and what follows, up to but
        // not including the closing quote.
        let in_string = prefix_xor(quote) ^ self.in_string;
        self.in_string = ((in_string as i64) >> 63) as u64;
        let scalar = !(m.whitespace | m.structural | quote | in_string);
        let scalar_starts = scalar & !((scalar << 1) | self.scalar);
        self.scalar = scalar >> 63;
        (m.structural & !in_string)
            | quote
            | scalar_starts
            | ((m.backslash | m.control) & in_string)
    }
}

/// Appends the offset of each set bit of `bits` (plus `offset`), where
/// `entries` has room for 64 more.
#[inline(always)]
fn push_bits(entries: &mut Vec<u32>, mut bits: u64, offset: u32) {
    let len = entries.len();
    assert!(entries.capacity() - len >= 64);
    let dst = entries.as_mut_ptr();
    let n = bits.count_ones() as usize;
    // Four at a time, whether or not four are left (as simdjson: fewer
    // branches to mispredict); what is written past `n` is not kept.
    let mut i = 0;
    while i < n {
        // SAFETY: i + 3 < 64 (n <= 64, i a multiple of 4), and there is
        // room for 64.
        unsafe {
            dst.add(len + i).write(offset + bits.trailing_zeros());
            bits &= bits.wrapping_sub(1);
            dst.add(len + i + 1).write(offset + bits.trailing_zeros());
            bits &= bits.wrapping_sub(1);
            dst.add(len + i + 2).write(offset + bits.trailing_zeros());
            bits &= bits.wrapping_sub(1);
            dst.add(len + i + 3).write(offset + bits.trailing_zeros());
            bits &= bits.wrapping_sub(1);
        }
        i += 4;
    }
    // SAFETY: the `n` entries past `len` were just written.
    unsafe { entries.set_len(len + n) };
}

/// Which bytes of a 64-byte block are escaped by a backslash before them
/// (`carry`: whether the first one is, from the block before; updated).
/// simdjson's trick: a run of backslashes escapes the byte after it when
/// its length is odd, and adding each run's start to the run sends a carry
/// past its end whose position tells the parity.
#[inline(always)]
fn escaped(backslash: u64, carry: &mut u64) -> u64 {
    const EVEN: u64 = 0x5555_5555_5555_5555;
    let backslash = backslash & !*carry;
    let follows_escape = (backslash << 1) | *carry;
    let odd_starts = backslash & !EVEN & !follows_escape;
    let (even_runs, overflow) = odd_starts.overflowing_add(backslash);
    *carry = overflow as u64;
    let invert = even_runs << 1;
    (EVEN ^ invert) & follows_escape
}

/// Each bit set where an odd number of bits are set at or below it: the
/// carry-less multiply by all ones, done with six shifts.
#[inline(always)]
fn prefix_xor(mut x: u64) -> u64 {
    x ^= x << 1;
    x ^= x << 2;
    x ^= x << 4;
    x ^= x << 8;
    x ^= x << 16;
    x ^= x << 32;
    x
}

/// A block's bytes by class, one bit per byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Masks {
    quote: u64,
    backslash: u64,
    whitespace: u64,
    /// `{ } [ ] , :`
    structural: u64,
    /// Below 0x20 (the whitespace bytes among them).
    control: u64,
}

#[cfg(test)]
fn classify(level: Level, block: &[u8; 64]) -> Masks {
    match level {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the tests ask for Avx2 only where the CPU has AVX2.
        Level::Avx2 => unsafe { x86::classify_avx2(block) },
        #[cfg(target_arch = "x86_64")]
        Level::Sse2 => x86::classify_sse2(block),
        _ => classify_bytes(block),
    }
}

/// The reference classification, a byte at a time.
fn classify_bytes(block: &[u8; 64]) -> Masks {
    let mut m = Masks {
        quote: 0,
        backslash: 0,
        whitespace: 0,
        structural: 0,
        control: 0,
    };
    for (i, &b) in block.iter().enumerate() {
        let bit = 1u64 << i;
        match b {
            b'"' => m.quote |= bit,
            b'\\' => m.backslash |= bit,
            b'{' | b'}' | b'[' | b']' | b',' | b':' => m.structural |= bit,
            _ => {}
        }
        if matches!(b, b' ' | b'\n' | b'\t' | b'\r') {
            m.whitespace |= bit;
        }
        if b < 0x20 {
            m.control |= bit;
        }
    }
    m
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::Masks;
    use std::arch::x86_64::*;

    /// `mask`, hidden from the optimizer: it otherwise sees the halves of
    /// a block's bitmap as one vector of 64 booleans, and lowers that to
    /// a byte-by-byte extract and insert (60 instructions where one is
    /// needed).
    #[inline(always)]
    fn opaque(mut mask: i32) -> i32 {
        // SAFETY: an empty instruction sequence that only claims to
        // change a register.
        unsafe {
            std::arch::asm!("/* {0:e} */", inout(reg) mask, options(pure, nomem, nostack, preserves_flags));
        }
        mask
    }

    #[inline(always)]
    pub fn classify_sse2(block: &[u8; 64]) -> Masks {
        let mut m = Masks {
            quote: 0,
            backslash: 0,
            whitespace: 0,
            structural: 0,
            control: 0,
        };
        // SAFETY: SSE2 is part of x86-64; the loads stay inside the block.
        unsafe {
            let quote = _mm_set1_epi8(b'"' as i8);
            let backslash = _mm_set1_epi8(b'\\' as i8);
            let (sp, nl, tab, cr) = (
                _mm_set1_epi8(b' ' as i8),
                _mm_set1_epi8(b'\n' as i8),
                _mm_set1_epi8(b'\t' as i8),
                _mm_set1_epi8(b'\r' as i8),
            );
            // `[` and `{`, `]` and `}` differ only in bit 0x20.
            let case = _mm_set1_epi8(0x20);
            let (open, close, comma, colon) = (
                _mm_set1_epi8(b'{' as i8),
                _mm_set1_epi8(b'}' as i8),
                _mm_set1_epi8(b',' as i8),
                _mm_set1_epi8(b':' as i8),
            );
            let control = _mm_set1_epi8(0x1f);
            for part in 0..4 {
                let v = _mm_loadu_si128(block.as_ptr().add(16 * part).cast());
                let mask = |x: __m128i| (opaque(_mm_movemask_epi8(x)) as u16 as u64) << (16 * part);
                m.quote |= mask(_mm_cmpeq_epi8(v, quote));
                m.backslash |= mask(_mm_cmpeq_epi8(v, backslash));
                m.whitespace |= mask(_mm_or_si128(
                    _mm_or_si128(_mm_cmpeq_epi8(v, sp), _mm_cmpeq_epi8(v, nl)),
                    _mm_or_si128(_mm_cmpeq_epi8(v, tab), _mm_cmpeq_epi8(v, cr)),
                ));
                let folded = _mm_or_si128(v, case);
                m.structural |= mask(_mm_or_si128(
                    _mm_or_si128(_mm_cmpeq_epi8(folded, open), _mm_cmpeq_epi8(folded, close)),
                    _mm_or_si128(_mm_cmpeq_epi8(v, comma), _mm_cmpeq_epi8(v, colon)),
                ));
                // v <= 0x1f (unsigned) exactly where min(v, 0x1f) == v.
                m.control |= mask(_mm_cmpeq_epi8(_mm_min_epu8(v, control), v));
            }
        }
        m
    }

    /// [`super::prefix_xor`] as one carry-less multiply by all ones
    /// (simdjson's), where the shifts and xors were a dozen instructions
    /// on the one chain that runs from block to block.
    #[inline]
    #[target_feature(enable = "pclmulqdq,sse2")]
    pub unsafe fn prefix_xor_clmul(x: u64) -> u64 {
        use std::arch::x86_64::{_mm_clmulepi64_si128, _mm_cvtsi128_si64, _mm_set_epi64x};
        let product = _mm_clmulepi64_si128(_mm_set_epi64x(0, x as i64), _mm_set_epi64x(0, -1), 0);
        _mm_cvtsi128_si64(product) as u64
    }

    #[inline]
    #[target_feature(enable = "avx2")]
    pub unsafe fn classify_avx2(block: &[u8; 64]) -> Masks {
        let mut m = Masks {
            quote: 0,
            backslash: 0,
            whitespace: 0,
            structural: 0,
            control: 0,
        };
        let quote = _mm256_set1_epi8(b'"' as i8);
        let backslash = _mm256_set1_epi8(b'\\' as i8);
        let (sp, nl, tab, cr) = (
            _mm256_set1_epi8(b' ' as i8),
            _mm256_set1_epi8(b'\n' as i8),
            _mm256_set1_epi8(b'\t' as i8),
            _mm256_set1_epi8(b'\r' as i8),
        );
        let case = _mm256_set1_epi8(0x20);
        let (open, close, comma, colon) = (
            _mm256_set1_epi8(b'{' as i8),
            _mm256_set1_epi8(b'}' as i8),
            _mm256_set1_epi8(b',' as i8),
            _mm256_set1_epi8(b':' as i8),
        );
        let control = _mm256_set1_epi8(0x1f);
        for part in 0..2 {
            // SAFETY: the load stays inside the block.
            let v = unsafe { _mm256_loadu_si256(block.as_ptr().add(32 * part).cast()) };
            let mask = |x: __m256i| (opaque(_mm256_movemask_epi8(x)) as u32 as u64) << (32 * part);
            m.quote |= mask(_mm256_cmpeq_epi8(v, quote));
            m.backslash |= mask(_mm256_cmpeq_epi8(v, backslash));
            m.whitespace |= mask(_mm256_or_si256(
                _mm256_or_si256(_mm256_cmpeq_epi8(v, sp), _mm256_cmpeq_epi8(v, nl)),
                _mm256_or_si256(_mm256_cmpeq_epi8(v, tab), _mm256_cmpeq_epi8(v, cr)),
            ));
            let folded = _mm256_or_si256(v, case);
            m.structural |= mask(_mm256_or_si256(
                _mm256_or_si256(
                    _mm256_cmpeq_epi8(folded, open),
                    _mm256_cmpeq_epi8(folded, close),
                ),
                _mm256_or_si256(_mm256_cmpeq_epi8(v, comma), _mm256_cmpeq_epi8(v, colon)),
            ));
            m.control |= mask(_mm256_cmpeq_epi8(_mm256_min_epu8(v, control), v));
        }
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn carry_less_prefix_xor_matches_the_shifts() {
        if !std::arch::is_x86_feature_detected!("pclmulqdq") {
            return;
        }
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..100_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            for value in [x, x & (x >> 3), 1 << (x % 64), !0, 0] {
                // SAFETY: checked above that the CPU has PCLMULQDQ.
                let clmul = unsafe { x86::prefix_xor_clmul(value) };
                assert_eq!(clmul, prefix_xor(value), "{value:#x}");
            }
        }
    }

    /// What the index must hold, worked out a byte at a time.
    fn reference(text: &[u8]) -> Vec<usize> {
        let mut out = Vec::new();
        let (mut in_string, mut escaped, mut scalar) = (false, false, false);
        for (i, &b) in text.iter().enumerate() {
            if in_string {
                // Every backslash and control character, escaped or not.
                if b == b'\\' || b < 0x20 {
                    out.push(i);
                }
                if escaped {
                    escaped = false;
                } else if b == b'\\' {
                    escaped = true;
                } else if b == b'"' {
                    in_string = false;
                    out.push(i);
                }
                continue;
            }
            let ws = matches!(b, b' ' | b'\n' | b'\t' | b'\r');
            let op = matches!(b, b'{' | b'}' | b'[' | b']' | b',' | b':');
            if b == b'"' && !escaped {
                in_string = true;
                out.push(i);
                scalar = false;
            } else if op {
                out.push(i);
                scalar = false;
            } else if ws {
                scalar = false;
            } else {
                if !scalar {
                    out.push(i);
                }
                scalar = true;
            }
            // Outside strings a backslash is garbage, but it still escapes
            // the byte after it, as in the SIMD rule.
            escaped = !escaped && b == b'\\';
        }
        out
    }

    fn indexed(level: Level, text: &[u8]) -> Vec<usize> {
        let mut index = Index::new(level).expect("a SIMD level");
        let mut found = Vec::new();
        let whole = text.len() / 64 * 64;
        let mut next = index.first_from(text, whole, 0, 0);
        let mut walk = index.walk();
        while let Some(e) = next {
            found.push(e);
            // SAFETY: the walk is on `e`, an entry; it is not stepped
            // again once a step has found none.
            next = unsafe { index.step(&mut walk, text, whole) };
        }
        found
    }

    #[test]
    fn the_index_holds_what_a_byte_at_a_time_scan_finds() {
        let mut text = Vec::new();
        let pieces: [&[u8]; 14] = [
            br#"{"key": "value", "n": -12.5e3, "t": true}"#,
            br#"["a\"b", "c\\", "d\\\"e", "\\\\\\"]"#,
            b"  \n\t\r  ",
            "\"é東 😀\"".as_bytes(),
            b"\"raw\ncontrol\x01\"",
            br#"[1,2,3]"#,
            b"garbage \\ x\\\"y",
            br#""\u00e9\/""#,
            br#"nulltruefalse 1"a"2"#,
            br#"["\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\", "\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\"x"]"#,
            b"{}[]:,",
            b"\"a long string that crosses a block edge, and then another one\"",
            // Control characters and bytes one bit away from structural
            // ones (0x0c and 0x1a with 0x20 set are ',' and ':').
            b"\x0c1\x1a[\x0c]\x1a{\"\x0c\x1a\"} \x0b\x1b\x3a\x2c\x5b\x5d\x7b\x7d\x7f\xfb\xdd",
            b"x\x0cy,z\x1aw:d\x64 \x00\x80\xa0\xac\xba",
        ];
        for i in 0..400 {
            text.extend_from_slice(pieces[(i * 7 + i / 3) % pieces.len()]);
            text.extend_from_slice(&b"    "[..i % 4]);
        }
        let whole = text.len() / 64 * 64;
        let want: Vec<usize> = reference(&text)
            .into_iter()
            .filter(|&e| e < whole)
            .collect();
        let mut levels = vec![Level::Sse2];
        if Level::Avx2.supported() == Level::Avx2 {
            levels.push(Level::Avx2);
        }
        for level in levels {
            if level.supported() != level {
                continue;
            }
            assert_eq!(indexed(level, &text), want, "{level:?}");
            for at in (0..text.len() - 64).step_by(61) {
                let block: &[u8; 64] = text[at..at + 64].try_into().unwrap();
                assert_eq!(
                    classify(level, block),
                    classify_bytes(block),
                    "{level:?} at {at}"
                );
            }
        }
    }

    #[test]
    fn a_backslash_run_at_the_block_edge_escapes_the_next_block_when_odd() {
        for run in 1..=64u32 {
            let bits = if run == 64 {
                u64::MAX
            } else {
                ((1u64 << run) - 1) << (64 - run)
            };
            let mut carry = 0;
            escaped(bits, &mut carry);
            assert_eq!(carry, u64::from(run % 2), "run {run}");
        }
    }
}
