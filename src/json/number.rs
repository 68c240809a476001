//! The RFC 8259 number grammar. Numbers are checked, never converted: the
//! formatter copies the text as written (`1.0`, `1E5`, `1e400`, 40 digits).

/// Whether `b` can appear in a number; the formatter takes the longest run
/// of these and checks it with [`check`].
#[inline]
pub fn is_number_byte(b: u8) -> bool {
    matches!(b, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E')
}

/// Checks that `run` is exactly one number.
///
/// On failure returns the offset of the offending byte (`run.len()` means
/// the byte after the run) and what was expected there.
pub fn check(run: &[u8]) -> Result<(), (usize, &'static str)> {
    let digit = |i: usize| run.get(i).is_some_and(u8::is_ascii_digit);
    let digits_from = |mut i: usize| {
        while digit(i) {
            i += 1;
        }
        i
    };
    let mut i = 0;
    if run.first() == Some(&b'-') {
        i += 1;
    }
    match run.get(i) {
        Some(b'0') => {
            i += 1;
            if digit(i) {
                return Err((i, "'.', 'e' or the end of the number after a leading 0"));
            }
        }
        Some(b'1'..=b'9') => i = digits_from(i + 1),
        _ => return Err((i, "a digit")),
    }
    if run.get(i) == Some(&b'.') {
        i += 1;
        if !digit(i) {
            return Err((i, "a digit after '.'"));
        }
        i = digits_from(i);
    }
    if matches!(run.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(run.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if !digit(i) {
            return Err((i, "a digit in the exponent"));
        }
        i = digits_from(i);
    }
    if i < run.len() {
        return Err((i, "the end of the number"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check;

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
            assert_eq!(check(ok.as_bytes()), Ok(()), "{ok}");
        }
        for (bad, at) in [
            ("-", 1),
            ("01", 1),
            ("1.", 2),
            ("1e", 2),
            ("1e+", 3),
            (".5", 0),
            ("1.5.3", 3),
            ("+1", 0),
            ("1-2", 1),
        ] {
            assert_eq!(check(bad.as_bytes()).map_err(|e| e.0), Err(at), "{bad}");
        }
    }
}
