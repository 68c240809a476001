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

#[cfg(test)]
mod tests {
    use super::{scan, valid_len};

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
