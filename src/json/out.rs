//! The output buffer. A `Vec<u8>` with its length kept beside it, so short
//! tokens can be written as one fixed-size block (a couple of vector moves,
//! no call to memcpy) and only the bytes that count are kept: most of what
//! a formatter writes is a few bytes long. The fast lane writes through a
//! [`Cursor`], the write position held in its own locals.

/// Writes of up to this many bytes go as one fixed-size block.
pub const SHORT: usize = 32;

/// A growable byte buffer with room for a [`SHORT`] block past its end.
pub struct Out {
    buf: Vec<u8>,
    len: usize,
}

impl Out {
    pub fn with_capacity(capacity: usize) -> Out {
        Out {
            buf: vec![0; capacity + SHORT],
            len: 0,
        }
    }

    #[inline(always)]
    pub fn len(&self) -> usize {
        self.len
    }

    #[inline(always)]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// What has been written.
    #[inline(always)]
    pub fn as_slice(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    #[inline(always)]
    pub fn last(&self) -> Option<u8> {
        self.as_slice().last().copied()
    }

    #[inline(always)]
    pub fn push(&mut self, b: u8) {
        if self.len + SHORT > self.buf.len() {
            self.grow(1);
        }
        // SAFETY: the check above leaves room for SHORT bytes past `len`.
        unsafe { *self.buf.get_unchecked_mut(self.len) = b };
        self.len += 1;
    }

    #[inline(always)]
    pub fn extend(&mut self, bytes: &[u8]) {
        if self.len + bytes.len() + SHORT > self.buf.len() {
            self.grow(bytes.len());
        }
        self.buf[self.len..self.len + bytes.len()].copy_from_slice(bytes);
        self.len += bytes.len();
    }

    /// Appends `src[from..to]`: as one [`SHORT`] block (or two) when it is
    /// short and `src` has the bytes to fill the block (the excess is
    /// written past the end and not counted). See [`Cursor::copy`].
    #[inline(always)]
    pub fn copy(&mut self, src: &[u8], from: usize, to: usize) {
        let mut cursor = self.cursor();
        cursor.copy(self, src, from, to);
        self.settle(&cursor);
    }

    /// Appends the first `len` bytes of a [`pad`]ded block: one fixed-size
    /// copy, for the short sequences written at nearly every token (a
    /// colon, a colour reset). See [`Cursor::padded`].
    #[inline(always)]
    pub fn padded(&mut self, block: &[u8; SHORT], len: usize) {
        let mut cursor = self.cursor();
        cursor.padded(self, block, len);
        self.settle(&cursor);
    }

    #[inline(always)]
    pub fn truncate(&mut self, len: usize) {
        self.len = self.len.min(len);
    }

    /// Drops the first `n` bytes, moving the rest to the front.
    pub fn drain_front(&mut self, n: usize) {
        self.buf.copy_within(n..self.len, 0);
        self.len -= n;
    }

    #[inline(always)]
    pub fn clear(&mut self) {
        self.len = 0;
    }

    #[cold]
    fn grow(&mut self, extra: usize) {
        let want = (self.buf.len() * 2).max(self.len + extra + 2 * SHORT);
        self.buf.resize(want, 0);
    }

    /// The write position, for a hot loop to hold in locals; nothing else
    /// may write to `self` until it is given back with [`Out::settle`].
    #[inline(always)]
    pub fn cursor(&mut self) -> Cursor {
        Cursor {
            ptr: self.buf.as_mut_ptr(),
            len: self.len,
            limit: self.buf.len().saturating_sub(CURSOR_ROOM),
            // Nothing reserved yet: a write in reserved room would fail.
            #[cfg(debug_assertions)]
            reserved: 0,
        }
    }

    /// Takes back what was written through `cursor`.
    #[inline(always)]
    pub fn settle(&mut self, cursor: &Cursor) {
        debug_assert!(std::ptr::eq(cursor.ptr, self.buf.as_ptr()));
        self.len = cursor.len;
    }
}

/// What a [`Cursor`] keeps free past its position: room for a run of
/// writes made after one [`Cursor::reserve`] ([`RESERVED`] bytes, blocks
/// included) and the slack [`Out`] keeps.
const CURSOR_ROOM: usize = RESERVED + 2 * SHORT;

/// How much a run of `*_reserved` writes may take after one
/// [`Cursor::reserve`], counting the whole of each block copied: the
/// fast lane writes at most 160 bytes between two (a key's colour, the
/// key and the colon with the value's colour). Debug builds check it.
pub const RESERVED: usize = 6 * SHORT;

/// An [`Out`]'s write position held apart from it, so a hot loop can keep
/// it in registers. Written through the buffer's own pointer, the bytes
/// could (as far as the compiler can tell) be the `Out`'s length field, so
/// every write reloaded it, and its pointer and capacity, from memory:
/// a fifth of the fast lane's instructions. Growing goes through the
/// `Out` (given at each write for that alone).
pub struct Cursor {
    ptr: *mut u8,
    len: usize,
    /// While `len` is below this, more than [`CURSOR_ROOM`] bytes are free.
    limit: usize,
    /// Where the latest [`Cursor::reserve`] left the position.
    #[cfg(debug_assertions)]
    reserved: usize,
}

impl Cursor {
    #[inline(always)]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Makes sure of [`CURSOR_ROOM`] free bytes: room for [`RESERVED`]
    /// bytes of `*_reserved` writes, with no test of their own.
    #[inline(always)]
    pub fn reserve(&mut self, out: &mut Out) {
        if self.len >= self.limit {
            *self = regrow(out, self.len);
        }
        #[cfg(debug_assertions)]
        {
            self.reserved = self.len;
        }
    }

    /// Checks (in debug builds) that a write of a `block`-byte block at
    /// the position stays in the room last reserved.
    #[inline(always)]
    fn in_reserve(&self, block: usize) {
        #[cfg(debug_assertions)]
        assert!(
            self.len + block <= self.reserved + RESERVED,
            "{block} bytes at {} overrun the room reserved at {}",
            self.len,
            self.reserved
        );
        let _ = block;
    }

    /// Appends `b`, in reserved room.
    #[inline(always)]
    pub fn push_reserved(&mut self, b: u8) {
        self.in_reserve(1);
        // SAFETY: `reserve` left CURSOR_ROOM bytes free past where it
        // was, and the writes since stay within RESERVED of it.
        unsafe { *self.ptr.add(self.len) = b };
        self.len += 1;
    }

    /// Appends the first `len` bytes of `block`.
    #[inline(always)]
    pub fn padded(&mut self, out: &mut Out, block: &[u8; SHORT], len: usize) {
        self.reserve(out);
        self.padded_reserved(block, len);
    }

    /// [`Cursor::padded`] in reserved room.
    #[inline(always)]
    pub fn padded_reserved(&mut self, block: &[u8; SHORT], len: usize) {
        debug_assert!(len <= SHORT);
        self.in_reserve(SHORT);
        // SAFETY: as in `push_reserved`, for SHORT bytes.
        unsafe { copy_block::<SHORT>(block.as_ptr(), self.ptr.add(self.len)) };
        self.len += len;
    }

    /// As [`Cursor::padded_reserved`], from a block of `2 * SHORT` bytes.
    #[inline(always)]
    pub fn wide_reserved(&mut self, block: &[u8; 2 * SHORT], len: usize) {
        debug_assert!(len <= 2 * SHORT);
        self.in_reserve(2 * SHORT);
        // SAFETY: as in `push_reserved`, for 2 * SHORT bytes.
        unsafe { copy_block::<{ 2 * SHORT }>(block.as_ptr(), self.ptr.add(self.len)) };
        self.len += len;
    }

    /// Appends `src[from..to]`: as one block of [`SHORT`] or twice that
    /// when it is short and `src` has the bytes to fill the block (the
    /// excess is written past the end and not counted), else as a copy
    /// of its length.
    #[inline(always)]
    pub fn copy(&mut self, out: &mut Out, src: &[u8], from: usize, to: usize) {
        self.reserve(out);
        self.copy_reserved(out, src, from, to);
    }

    /// [`Cursor::copy`] in reserved room; a run too long for a block
    /// goes through `out` and reserves afresh after it.
    #[inline(always)]
    pub fn copy_reserved(&mut self, out: &mut Out, src: &[u8], from: usize, to: usize) {
        if to - from <= SHORT
            && let Some(block) = src.get(from..from + SHORT)
        {
            self.in_reserve(SHORT);
            // SAFETY: as in `push_reserved`; `block` has SHORT bytes.
            unsafe { copy_block::<SHORT>(block.as_ptr(), self.ptr.add(self.len)) };
        } else if to - from <= 2 * SHORT
            && let Some(block) = src.get(from..from + 2 * SHORT)
        {
            self.in_reserve(2 * SHORT);
            // SAFETY: as above, for 2 * SHORT bytes.
            unsafe { copy_block::<{ 2 * SHORT }>(block.as_ptr(), self.ptr.add(self.len)) };
        } else {
            *self = extend(out, self.len, &src[from..to]);
            return;
        }
        self.len += to - from;
    }
}

/// Grows `out` (written up to `len` through a cursor) and gives a new
/// cursor. Out of line, and returning the cursor rather than changing it,
/// so the caller's cursor never leaves its registers.
#[cold]
#[inline(never)]
fn regrow(out: &mut Out, len: usize) -> Cursor {
    out.len = len;
    out.grow(CURSOR_ROOM);
    out.cursor()
}

/// Appends a long run to `out` (written up to `len` through a cursor), as
/// [`regrow`], and reserves room after it (the writes that follow in the
/// lane count on it).
#[inline(never)]
fn extend(out: &mut Out, len: usize, bytes: &[u8]) -> Cursor {
    out.len = len;
    out.extend(bytes);
    let mut cursor = out.cursor();
    cursor.reserve(out);
    cursor
}

/// Copies `N` bytes (32 or 64) as 16-byte vector moves. Written
/// out because LLVM turns `copy_nonoverlapping` of a 32-byte constant
/// into a call to memcpy here, which cost 5-13% of the formatter's time.
///
/// # Safety
/// `src` and `dst` must be valid for `N` bytes and not overlap.
#[inline(always)]
unsafe fn copy_block<const N: usize>(src: *const u8, dst: *mut u8) {
    const { assert!(N == 32 || N == 64) };
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{__m128i, _mm_loadu_si128, _mm_storeu_si128};
        // SAFETY: SSE2 is part of x86-64; the caller vouches for the
        // range, and unaligned moves need no alignment. Straight-line
        // moves, loads first: as a loop, LLVM saw the memcpy again.
        unsafe {
            let load = |at: usize| _mm_loadu_si128(src.add(at).cast::<__m128i>());
            let store = |at: usize, v| _mm_storeu_si128(dst.add(at).cast::<__m128i>(), v);
            let (a, b) = (load(0), load(16));
            if N == 64 {
                let (c, d) = (load(32), load(48));
                store(32, c);
                store(48, d);
            }
            store(0, a);
            store(16, b);
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    // SAFETY: as the caller vouches.
    unsafe {
        std::ptr::copy_nonoverlapping(src, dst, N)
    };
}

/// `bytes` (at most [`SHORT`] of them) padded to a [`SHORT`] block, for
/// [`Out::padded`].
pub const fn pad(bytes: &[u8]) -> [u8; SHORT] {
    assert!(bytes.len() <= SHORT);
    let mut block = [0; SHORT];
    let mut i = 0;
    while i < bytes.len() {
        block[i] = bytes[i];
        i += 1;
    }
    block
}
