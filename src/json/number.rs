//! The RFC 8259 number grammar. Numbers are checked, never converted: the
//! formatter copies the text as written (`1.0`, `1E5`, `1e400`, 40 digits).

/// Whether `b` can appear in a number.
#[inline(always)]
fn is_number_byte(b: u8) -> bool {
    NUMBER_BYTES[b as usize]
}

/// [`is_number_byte`] as a table: one load where the range tests were
/// seven instructions on the fast lane's path.
static NUMBER_BYTES: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = matches!(b as u8, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E');
        b += 1;
    }
    table
};

/// Scans the number at the start of `s` (which starts with `-` or a digit).
///
/// Returns its length, or the offset of the first wrong byte and what was
/// expected there. A length or offset equal to `s.len()` means the number
/// reached the end of `s` and may go on in input not yet read.
#[inline]
pub fn scan(s: &[u8]) -> Result<usize, (usize, &'static str)> {
    let digit = |i: usize| s.get(i).is_some_and(u8::is_ascii_digit);
    let digits_from = |mut i: usize| {
        while digit(i) {
            i += 1;
        }
        i
    };
    let mut i = 0;
    if s.first() == Some(&b'-') {
        i += 1;
    }
    match s.get(i) {
        Some(b'0') => {
            i += 1;
            if digit(i) {
                return Err((i, "'.', 'e' or the end of the number after a leading 0"));
            }
        }
        Some(b'1'..=b'9') => i = digits_from(i + 1),
        _ => return Err((i, "a digit")),
    }
    if s.get(i) == Some(&b'.') {
        i += 1;
        if !digit(i) {
            return Err((i, "a digit after '.'"));
        }
        i = digits_from(i);
    }
    if matches!(s.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(s.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if !digit(i) {
            return Err((i, "a digit in the exponent"));
        }
        i = digits_from(i);
    }
    // `1.5.3`, `1-2`: a number runs into another.
    if s.get(i).is_some_and(|&b| is_number_byte(b)) {
        return Err((i, "the end of the number"));
    }
    Ok(i)
}

/// The length of the valid number at the start of `s` (which ends there
/// or before a byte that cannot continue a number); `None` for anything
/// else, which [`scan`] then explains. The fast lane's question: the one
/// grammar, without the message.
#[inline(always)]
pub fn valid_len(s: &[u8]) -> Option<usize> {
    scan(s).ok()
}

/// The length of the number at `buf[at..]` when it has the shape nearly
/// every number has: an optional `-`, one to fifteen integer digits (no
/// leading zero), an optional fraction and an optional exponent of one to
/// fifteen digits each, then a byte that cannot continue a number.
/// Checked eight bytes at a time, with no loop. `None` when it cannot
/// tell (longer digit runs, a mistake, too near the end of `buf`):
/// [`valid_len`] decides. It reads past the end of the number, so the
/// caller passes all the input it has, not the number's run.
#[inline(always)]
pub fn quick_len(buf: &[u8], at: usize) -> Option<usize> {
    let digits = |i: usize| digit_run(buf, at + i);
    let mut i = usize::from(buf.get(at) == Some(&b'-'));
    let (n, mut after) = digits(i)?;
    // No digit, or a leading zero with more.
    if n == 0 || (n > 1 && buf[at + i] == b'0') {
        return None;
    }
    i += n;
    if after == b'.' {
        let (n, next) = digits(i + 1)?;
        if n == 0 {
            return None;
        }
        i += 1 + n;
        after = next;
    }
    if after | 0x20 == b'e' {
        i += 1;
        if matches!(buf.get(at + i), Some(b'+' | b'-')) {
            i += 1;
        }
        let (n, next) = digits(i)?;
        if n == 0 {
            return None;
        }
        i += n;
        after = next;
    }
    // A number running into another (`1.5.3`, `1-2`): the grammar's call.
    if is_number_byte(after) {
        return None;
    }
    Some(i)
}

/// The digits at `buf[at..]` (up to 15) and the byte after them, read a
/// word at a time; `None` if there are more or too few bytes to tell.
#[inline(always)]
fn digit_run(buf: &[u8], at: usize) -> Option<(usize, u8)> {
    let word = |at: usize| -> Option<u64> {
        let bytes = buf.get(at..at + 8)?;
        Some(u64::from_le_bytes(bytes.try_into().expect("eight bytes")))
    };
    let first = word(at)?;
    let n = leading_digits(first);
    if n < 8 {
        return Some((n, (first >> (8 * n)) as u8));
    }
    let second = word(at + 8)?;
    let m = leading_digits(second);
    if m == 8 {
        return None;
    }
    Some((8 + m, (second >> (8 * m)) as u8))
}

/// How many ASCII digits the eight bytes of `word` (first byte lowest)
/// begin with.
#[inline(always)]
fn leading_digits(word: u64) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    // Digits become 0..=9; then a byte is no digit if its high bit is set
    // or its low seven bits plus 0x76 reach 0x80 (no carry between bytes:
    // 0x7f + 0x76 < 0x100).
    let x = word ^ (ONES * b'0' as u64);
    let not_digit = (((x & (ONES * 0x7f)) + ONES * 0x76) | x) & (ONES * 0x80);
    (not_digit.trailing_zeros() / 8) as usize
}

#[cfg(test)]
mod tests {
    use super::{leading_digits, quick_len, scan, valid_len};

    /// Whatever `quick_len` answers, the grammar answers the same.
    fn agrees(case: &[u8]) {
        let mut padded = case.to_vec();
        padded.extend_from_slice(b"                        ,");
        if let Some(n) = quick_len(&padded, 0) {
            let text = String::from_utf8_lossy(case);
            assert_eq!(Some(n), valid_len(&padded), "{text:?}");
        }
    }

    #[test]
    fn quick_agrees_with_the_grammar() {
        // Every string of up to four bytes over the number alphabet and
        // two bytes that end a number, then longer ones at random.
        let alphabet = b"0123456789-+.eE x";
        let mut cases: Vec<Vec<u8>> = vec![Vec::new()];
        let mut longest = vec![Vec::new()];
        for _ in 0..4 {
            longest = longest
                .iter()
                .flat_map(|case| alphabet.iter().map(|&b| [case.as_slice(), &[b]].concat()))
                .collect();
            cases.extend(longest.iter().cloned());
        }
        assert_eq!(
            cases.len(),
            1 + 17 + 17 * 17 + 17usize.pow(3) + 17usize.pow(4)
        );
        cases.iter().for_each(|c| agrees(c));
        // Digit runs up to twenty long around the other number bytes.
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..300_000 {
            let mut case = Vec::new();
            for _ in 0..next() % 5 {
                let digits = next() % 21;
                case.extend((0..digits).map(|_| b'0' + (next() % 10) as u8));
                case.push(b"-+.eE0"[(next() % 6) as usize]);
            }
            agrees(&case);
            case.pop();
            agrees(&case);
        }
        for long in [
            "1234567",
            "1234567.1234567",
            "-1234567.7654321",
            "9.1234567",
            "123456789012345",
            "-1.123456789012345",
            "1732900000123",
            "6.02e23",
            "1E-5",
            "-0.5e+300",
            "1e123456789012345",
        ] {
            let text = format!("{long},                ");
            assert_eq!(quick_len(text.as_bytes(), 0), Some(long.len()), "{long}");
        }
        assert_eq!(quick_len(b"[0]             ", 1), Some(1));
        // Longer runs and mistakes go to the grammar.
        for other in [
            "1234567890123456",
            "1.1234567890123456",
            "1e1234567890123456",
            "01",
            "-",
            "1.",
            "1e",
            "1e+",
            "1.e5",
            "1.5.3",
            "1-2",
            "1e5e5",
        ] {
            let text = format!("{other},                ");
            assert_eq!(quick_len(text.as_bytes(), 0), None, "{other}");
        }
        // Too near the end to read a word: the grammar decides.
        assert_eq!(quick_len(b"1", 0), None);
    }

    #[test]
    fn digit_runs() {
        assert_eq!(leading_digits(u64::from_le_bytes(*b"12345678")), 8);
        assert_eq!(leading_digits(u64::from_le_bytes(*b"0/:9 999")), 1);
        assert_eq!(leading_digits(u64::from_le_bytes(*b"\xb01234567")), 0);
        assert_eq!(leading_digits(u64::from_le_bytes(*b"99\xb9 abcd")), 2);
    }

    #[test]
    fn grammar() {
        for ok in [
            "0",
            "-0",
            "1",
            "-12",
            "1.5",
            "1e5",
            "1E+5",
            "1.0e-10",
            "123456789012345678901234567890",
        ] {
            assert_eq!(scan(ok.as_bytes()), Ok(ok.len()), "{ok}");
            assert_eq!(valid_len(ok.as_bytes()), Some(ok.len()), "{ok}");
            assert_eq!(
                valid_len(format!("{ok} ").as_bytes()),
                Some(ok.len()),
                "{ok}"
            );
            assert_eq!(scan(format!("{ok},").as_bytes()), Ok(ok.len()), "{ok}");
        }
        for (bad, at) in [
            ("-", 1),
            ("01", 1),
            ("1.", 2),
            ("1e", 2),
            ("1e+", 3),
            ("-x", 1),
            ("1.5.3", 3),
            ("1-2", 1),
            ("1.e3", 2),
        ] {
            assert_eq!(scan(bad.as_bytes()).map_err(|e| e.0), Err(at), "{bad}");
            assert_eq!(valid_len(bad.as_bytes()), None, "{bad}");
        }
    }
}
