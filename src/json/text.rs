//! Scanning string text: runs of plain ASCII (eight bytes at a time), escape
//! sequences and UTF-8 sequences, each checked against RFC 8259 and Unicode.
//! Pure functions over slices; the formatter handles buffer edges.

use super::out::Out;

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGH: u64 = 0x8080_8080_8080_8080;

/// Bytes that end a run of string text: `"`, `\` and the control
/// characters that JSON forbids raw.
static STOP: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = b < 0x20 || b == b'"' as usize || b == b'\\' as usize;
        b += 1;
    }
    table
};

/// Scans string text from `i`: returns the index of the first `"`, `\` or
/// control character (or `buf.len()`), and whether the text before it has
/// any non-ASCII byte (then it needs checking as UTF-8).
#[inline]
pub fn plain_run(buf: &[u8], mut i: usize) -> (usize, bool) {
    let mut high = 0u64;
    while let Some(word) = buf.get(i..i + 8) {
        let w = u64::from_le_bytes(word.try_into().expect("eight bytes"));
        let quote = w ^ (ONES * b'"' as u64);
        let backslash = w ^ (ONES * b'\\' as u64);
        // Each term flags a byte's high bit. Borrows only run towards later
        // bytes, so the lowest flag is always a true one.
        let stops = (quote.wrapping_sub(ONES) & !quote)
            | (backslash.wrapping_sub(ONES) & !backslash)
            | (w.wrapping_sub(ONES * 0x20) & !w);
        let stops = stops & HIGH;
        if stops != 0 {
            let n = stops.trailing_zeros() / 8;
            let before = if n == 0 {
                0
            } else {
                w & (u64::MAX >> (64 - 8 * n))
            };
            return (i + n as usize, (high | before) & HIGH != 0);
        }
        high |= w;
        i += 8;
    }
    let mut high = (high & HIGH) != 0;
    while i < buf.len() && !STOP[buf[i] as usize] {
        high |= buf[i] >= 0x80;
        i += 1;
    }
    (i, high)
}

/// Where UTF-8 checking stopped.
#[derive(Debug, PartialEq, Eq)]
pub enum Utf8Error {
    /// Not UTF-8 at this offset: overlong, surrogate, out of range, bad byte.
    Invalid(usize),
    /// Valid up to this offset, where a sequence is cut by the end of the text.
    Cut(usize),
}

/// Checks that `s` is UTF-8 (Unicode table 3-7). Built for string text:
/// ASCII is skipped eight bytes at a time, and each multi-byte sequence is
/// checked inline.
#[inline]
pub fn check_utf8(s: &[u8]) -> Result<(), Utf8Error> {
    let mut i = 0;
    loop {
        while let Some(word) = s.get(i..i + 8) {
            if u64::from_le_bytes(word.try_into().expect("eight bytes")) & HIGH != 0 {
                break;
            }
            i += 8;
        }
        let Some(&lead) = s.get(i) else {
            return Ok(());
        };
        if lead < 0x80 {
            i += 1;
            continue;
        }
        let (len, low, high) = match lead {
            0xC2..=0xDF => (2, 0x80, 0xBF),
            0xE0 => (3, 0xA0, 0xBF),
            0xE1..=0xEC | 0xEE..=0xEF => (3, 0x80, 0xBF),
            0xED => (3, 0x80, 0x9F),
            0xF0 => (4, 0x90, 0xBF),
            0xF1..=0xF3 => (4, 0x80, 0xBF),
            0xF4 => (4, 0x80, 0x8F),
            _ => return Err(Utf8Error::Invalid(i)),
        };
        for k in 1..len {
            let Some(&b) = s.get(i + k) else {
                return Err(Utf8Error::Cut(i));
            };
            let (lo, hi) = if k == 1 { (low, high) } else { (0x80, 0xBF) };
            if !(lo..=hi).contains(&b) {
                return Err(Utf8Error::Invalid(i));
            }
        }
        i += len;
    }
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

/// For `--unescape`: the character a checked escape at the start of `s`
/// stands for, and the escape's length (12 for a surrogate pair), when
/// the character can be printed as it is in a JSON string: not `"` or
/// `\`, not a control character, not a lone surrogate.
pub fn decoded(s: &[u8]) -> Option<(char, usize)> {
    let hex = |d: &[u8]| {
        d.iter()
            .try_fold(0u32, |acc, &b| Some(acc * 16 + (b as char).to_digit(16)?))
    };
    match s.get(1)? {
        b'/' => Some(('/', 2)),
        b'u' => {
            let cp = hex(s.get(2..6)?)?;
            let (cp, len) = if (0xD800..0xDC00).contains(&cp) {
                if s.get(6..8)? != b"\\u" {
                    return None;
                }
                let low = hex(s.get(8..12)?)?;
                if !(0xDC00..0xE000).contains(&low) {
                    return None;
                }
                (0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00), 12)
            } else {
                (cp, 6)
            };
            let c = char::from_u32(cp)?;
            (!c.is_control() && c != '"' && c != '\\').then_some((c, len))
        }
        _ => None,
    }
}

/// Appends `text`, escaping every non-ASCII character as `\uXXXX`.
pub fn push_ascii_escaped(out: &mut Out, text: &str) {
    for c in text.chars() {
        if c.is_ascii() {
            out.push(c as u8);
        } else {
            push_ascii_escape(out, c);
        }
    }
}

/// Appends `c` as `\uXXXX` (two escapes, a surrogate pair, above U+FFFF).
fn push_ascii_escape(out: &mut Out, c: char) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut units = [0u16; 2];
    for &unit in c.encode_utf16(&mut units).iter() {
        out.extend(&[
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
        for (text, at, high) in [
            ("abcdefghijkl\"", 12, false),
            ("abc\\def", 3, false),
            ("abcdefgh\x01", 8, false),
            ("abcdefghé\"", 10, true),
            ("é\"", 2, true),
            ("abc\"é", 3, false),
            ("abcdefg\"é", 7, false),
            ("a\"b\"cdefghij", 1, false),
            ("", 0, false),
            ("abcdefghijklmnop", 16, false),
            ("\x7f\x7f\x7f\x7f\x7f\x7f\x7f\x7f\x1f", 8, false),
            (" !#$%&'()*+,-./0123456789:;<=>?@[]^_`{|}~\"", 41, false),
        ] {
            assert_eq!(plain_run(text.as_bytes(), 0), (at, high), "{text:?}");
        }
    }

    #[test]
    fn check_utf8_follows_the_unicode_table() {
        assert_eq!(
            check_utf8("plain ASCII text, long enough".as_bytes()),
            Ok(())
        );
        assert_eq!(check_utf8("é and 😀 and 東京".as_bytes()), Ok(()));
        assert_eq!(check_utf8(b"ab\xE2\x82"), Err(Utf8Error::Cut(2)));
        assert_eq!(check_utf8(b"abcdefgh\xC0\xAF"), Err(Utf8Error::Invalid(8))); // overlong
        assert_eq!(check_utf8(b"\xED\xA0\x80"), Err(Utf8Error::Invalid(0))); // surrogate
        assert_eq!(check_utf8(b"\xF4\x90\x80\x80"), Err(Utf8Error::Invalid(0))); // > U+10FFFF
        assert_eq!(check_utf8(b"x\x80"), Err(Utf8Error::Invalid(1)));
        assert_eq!(check_utf8(b"\xE2\x28\xA1"), Err(Utf8Error::Invalid(0)));
        // Agrees with std on every two-byte input.
        for a in 0..=255u8 {
            for b in 0..=255u8 {
                let ours = check_utf8(&[a, b]).is_ok();
                assert_eq!(ours, std::str::from_utf8(&[a, b]).is_ok(), "{a:x} {b:x}");
            }
        }
    }

    #[test]
    fn ascii_escapes() {
        let mut out = Out::with_capacity(0);
        push_ascii_escaped(&mut out, "aé😀");
        assert_eq!(out.as_slice(), br"a\u00e9\ud83d\ude00");
    }
}
