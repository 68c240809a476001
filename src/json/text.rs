//! Scanning string text: runs of plain ASCII (eight bytes at a time), escape
//! sequences and UTF-8 sequences, each checked against RFC 8259 and Unicode.
//! Pure functions over slices; the formatter handles buffer edges.

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGH: u64 = 0x8080_8080_8080_8080;

/// Bytes that end a run of plain string text: `"`, `\`, control characters
/// (which JSON forbids raw) and non-ASCII (checked as UTF-8).
static STOP: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = b < 0x20 || b >= 0x80 || b == b'"' as usize || b == b'\\' as usize;
        b += 1;
    }
    table
};

/// The index of the first byte at or after `i` that ends plain text, or
/// `buf.len()`.
#[inline]
pub fn plain_run(buf: &[u8], mut i: usize) -> usize {
    while let Some(word) = buf.get(i..i + 8) {
        let w = u64::from_le_bytes(word.try_into().expect("eight bytes"));
        let quote = w ^ (ONES * b'"' as u64);
        let backslash = w ^ (ONES * b'\\' as u64);
        // Each term flags a byte's high bit. Borrows only run towards later
        // bytes, so the lowest flag is always a true one.
        let stops = (quote.wrapping_sub(ONES) & !quote)
            | (backslash.wrapping_sub(ONES) & !backslash)
            | (w.wrapping_sub(ONES * 0x20) & !w)
            | w;
        let stops = stops & HIGH;
        if stops != 0 {
            return i + (stops.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while i < buf.len() && !STOP[buf[i] as usize] {
        i += 1;
    }
    i
}

/// Checks the escape at the start of `s` (at its backslash); returns its
/// length, or the offset of the wrong byte and what was expected. An offset
/// equal to `s.len()` means the escape is cut by the end of `s`.
#[inline]
pub fn escape(s: &[u8]) -> Result<usize, (usize, &'static str)> {
    match s.get(1) {
        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => Ok(2),
        Some(b'u') => match (2..6).find(|&i| !s.get(i).is_some_and(u8::is_ascii_hexdigit)) {
            Some(bad) => Err((bad, "a hex digit in a \\u escape")),
            None => Ok(6),
        },
        _ => Err((1, "an escape character (\" \\ / b f n r t u) after '\\'")),
    }
}

/// One UTF-8 sequence at the start of `s` (whose first byte is non-ASCII).
pub enum Utf8 {
    /// A valid character of this many bytes.
    Char(usize, char),
    /// Valid so far, but `s` ends before the sequence does.
    Cut,
    /// Not UTF-8: overlong, surrogate, out of range or a bad byte.
    Invalid,
}

/// Checks one UTF-8 sequence (Unicode table 3-7, well-formed sequences).
#[inline]
pub fn utf8(s: &[u8]) -> Utf8 {
    let (len, low, high) = match s[0] {
        0xC2..=0xDF => (2, 0x80, 0xBF),
        0xE0 => (3, 0xA0, 0xBF),
        0xE1..=0xEC | 0xEE..=0xEF => (3, 0x80, 0xBF),
        0xED => (3, 0x80, 0x9F),
        0xF0 => (4, 0x90, 0xBF),
        0xF1..=0xF3 => (4, 0x80, 0xBF),
        0xF4 => (4, 0x80, 0x8F),
        _ => return Utf8::Invalid,
    };
    let mut code = (s[0] as u32) & (0x7F >> len);
    for i in 1..len {
        let Some(&b) = s.get(i) else {
            return Utf8::Cut;
        };
        let (lo, hi) = if i == 1 { (low, high) } else { (0x80, 0xBF) };
        if !(lo..=hi).contains(&b) {
            return Utf8::Invalid;
        }
        code = (code << 6) | (b as u32 & 0x3F);
    }
    match char::from_u32(code) {
        Some(c) => Utf8::Char(len, c),
        None => Utf8::Invalid,
    }
}

/// Appends `c` as `\uXXXX` (two escapes, a surrogate pair, above U+FFFF).
pub fn push_ascii_escape(out: &mut Vec<u8>, c: char) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut units = [0u16; 2];
    for &unit in c.encode_utf16(&mut units).iter() {
        out.extend_from_slice(&[
            b'\\',
            b'u',
            HEX[(unit >> 12) as usize & 0xF],
            HEX[(unit >> 8) as usize & 0xF],
            HEX[(unit >> 4) as usize & 0xF],
            HEX[unit as usize & 0xF],
        ]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_run_finds_the_first_stop() {
        for (text, at) in [
            ("abcdefghijkl\"", 12),
            ("abc\\def", 3),
            ("abcdefgh\x01", 8),
            ("abcdefghé", 8),
            ("a\"b\"cdefghij", 1),
            ("", 0),
            ("abcdefghijklmnop", 16),
            ("\x7f\x7f\x7f\x7f\x7f\x7f\x7f\x7f\x1f", 8),
            (" !#$%&'()*+,-./0123456789:;<=>?@[]^_`{|}~\"", 41),
        ] {
            assert_eq!(plain_run(text.as_bytes(), 0), at, "{text:?}");
        }
    }

    #[test]
    fn utf8_follows_the_unicode_table() {
        let check = |b: &[u8]| match utf8(b) {
            Utf8::Char(n, c) => format!("{n}:{c}"),
            Utf8::Cut => "cut".into(),
            Utf8::Invalid => "bad".into(),
        };
        assert_eq!(check("é".as_bytes()), "2:é");
        assert_eq!(check("😀".as_bytes()), "4:😀");
        assert_eq!(check(b"\xE2\x82"), "cut");
        assert_eq!(check(b"\xC0\xAF"), "bad"); // overlong
        assert_eq!(check(b"\xED\xA0\x80"), "bad"); // surrogate
        assert_eq!(check(b"\xF4\x90\x80\x80"), "bad"); // above U+10FFFF
        assert_eq!(check(b"\x80"), "bad");
        assert_eq!(check(b"\xE2\x28\xA1"), "bad");
    }

    #[test]
    fn ascii_escapes() {
        let mut out = Vec::new();
        push_ascii_escape(&mut out, 'é');
        push_ascii_escape(&mut out, '😀');
        assert_eq!(out, br"\u00e9\ud83d\ude00");
    }
}
