//! The RFC 8259 number grammar. Numbers are checked, never converted: the
//! formatter copies the text as written (`1.0`, `1E5`, `1e400`, 40 digits).

/// Whether `b` can appear in a number.
#[inline]
fn is_number_byte(b: u8) -> bool {
    matches!(b, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E')
}

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
/// every number has: an optional `-`, one to seven integer digits (no
/// leading zero), an optional fraction of one to seven digits, then a
/// byte that cannot continue a number. Checked eight bytes at a time,
/// with no loop. `None` when it cannot tell (an exponent, long digit
/// runs, a mistake, too near the end of `buf`): [`valid_len`] decides.
/// It reads past the end of the number, so the caller passes all the
/// input it has, not the number's run.
#[inline(always)]
pub fn quick_len(buf: &[u8], at: usize) -> Option<usize> {
    let word = |i: usize| -> Option<u64> {
        let bytes = buf.get(at + i..at + i + 8)?;
        Some(u64::from_le_bytes(bytes.try_into().expect("eight bytes")))
    };
    let mut i = usize::from(buf.get(at) == Some(&b'-'));
    let int = word(i)?;
    let digits = leading_digits(int);
    // None, too many to see the end of, or a leading zero with more.
    if digits == 0 || digits == 8 || (digits > 1 && int as u8 == b'0') {
        return None;
    }
    i += digits;
    let mut after = (int >> (8 * digits)) as u8;
    if after == b'.' {
        let fraction = word(i + 1)?;
        let digits = leading_digits(fraction);
        if digits == 0 || digits == 8 {
            return None;
        }
        i += 1 + digits;
        after = (fraction >> (8 * digits)) as u8;
    }
    // An exponent, or a number running into another: the grammar's call.
    if is_number_byte(after) {
        return None;
    }
    Some(i)
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
        padded.extend_from_slice(b"          ,");
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
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        for _ in 0..200_000 {
            let mut case = Vec::new();
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            for k in 0..(seed % 19) {
                case.push(b"0123456789012345678-.e"[((seed >> (3 * k + 8)) % 22) as usize]);
            }
            agrees(&case);
        }
        for long in [
            "1234567",
            "1234567.1234567",
            "-1234567.7654321",
            "9.1234567",
        ] {
            assert_eq!(
                quick_len(format!("{long},        ").as_bytes(), 0),
                Some(long.len())
            );
        }
        assert_eq!(quick_len(b"[0]             ", 1), Some(1));
        // Long runs, exponents and mistakes go to the grammar.
        for other in [
            "12345678",
            "1.12345678",
            "1e5",
            "01",
            "-",
            "1.",
            "1.5.3",
            "1-2",
        ] {
            assert_eq!(
                quick_len(format!("{other},        ").as_bytes(), 0),
                None,
                "{other}"
            );
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
