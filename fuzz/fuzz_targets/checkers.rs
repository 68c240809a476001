//! Fuzzes confcheck's checker parsers (one per family) and the user-check
//! pattern path: on any program output and any exit code, judging never
//! panics, and every diagnostic prints as one editor line.
//!
//! The first input byte picks the checker and the exit code; the rest is
//! the program's output. Run: `cargo +nightly fuzz run checkers`.

#![no_main]

use fleetkit::checks::{Check, builtin};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, output)) = data.split_first() else {
        return;
    };
    let checkers = builtin();
    let checker = &checkers[pick as usize % checkers.len()];
    let code = match pick >> 5 {
        0 => Some(0),
        1 => Some(1),
        2 => Some(255),
        3 => Some(127),
        4 => None,
        _ => Some(2),
    };
    let text = String::from_utf8_lossy(output);
    for strict in [false, true] {
        let (_, diagnostics) = checker.judge(code, &text, strict);
        for d in diagnostics {
            let line = d.editor_line("fuzz");
            assert!(!line.contains('\n'), "a diagnostic spans lines: {line:?}");
            assert!(line.starts_with(&d.file));
        }
    }
});
