//! Fuzzes the JSON formatter: it must never panic, and whatever it accepts
//! it must print as valid JSON holding the same values.
//!
//! The first input byte picks the options (layout, -S, -a or -U, --strict,
//! and the framing: a stream, --lines or --seq); the rest is the JSON
//! text. -q is the compact layout into a sink, checked here as compact.
//! Every input also goes through every scan width and through the
//! read-ahead thread in reads of several sizes, all compared byte for byte.
//! Run: `cargo +nightly fuzz run format corpus/format -- -detect_leaks=0`
//! (see README.md).

#![no_main]

use fleetkit::json::{
    Indent, Layout, Level, Options, Palette, Records, format_ahead, format_records, format_slice,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&flags, input)) = data.split_first() else {
        return;
    };
    let options = Options {
        layout: match flags & 3 {
            0 => Layout::Pretty(Indent::Spaces(2)),
            1 => Layout::Compact,
            2 => Layout::Pretty(Indent::Tab),
            _ => Layout::Pretty(Indent::Spaces(0)),
        },
        sort_keys: flags & 4 != 0,
        ascii: flags & 8 != 0,
        strict: flags & 16 != 0 && flags & 0xC0 == 0,
        palette: None,
        records: match flags >> 6 {
            1 => Records::Lines,
            2 => Records::Seq,
            _ => Records::Stream,
        },
        unescape: flags & 32 != 0 && flags & 8 == 0,
        simd: None,
    };
    // Every scan width gives the same bytes, output and error.
    let widest = format_slice(input, &options);
    for level in [Level::Portable, Level::Sse2] {
        let narrow = Options {
            simd: Some(level),
            ..options.clone()
        };
        let (out, result) = format_slice(input, &narrow);
        assert_eq!(out, widest.0, "{level:?}");
        assert_eq!(
            result.map_err(|e| format!("{e:?}")),
            widest.1.as_ref().map(|_| ()).map_err(|e| format!("{e:?}")),
            "{level:?}"
        );
    }
    // Read and indexed ahead on another thread, in reads of any size (so
    // windows and tokens are cut anywhere): the same bytes and error.
    for sizes in [&[1usize, 2, 3][..], &[63, 64, 65], &[7, 200]] {
        let mut out = Vec::new();
        let reader = Trickle {
            data: input,
            sizes,
            turn: 0,
        };
        let result = format_ahead(reader, &mut out, &options);
        assert_eq!(out, widest.0, "ahead, reads of {sizes:?}");
        assert_eq!(
            result.map_err(|e| format!("{e:?}")),
            widest.1.as_ref().map(|_| ()).map_err(|e| format!("{e:?}")),
            "ahead, reads of {sizes:?}"
        );
    }
    if options.records != Records::Stream {
        // Records: bad ones are skipped, and what is written is whole
        // records, each valid JSON.
        let mut out = Vec::new();
        let mut errors = 0;
        let result = format_records(input, &mut out, &options, &mut |_| errors += 1);
        assert!(result.is_ok());
        let plain: Vec<u8> = out.iter().copied().filter(|&b| b != 0x1e).collect();
        let stream = Options {
            records: Records::Stream,
            strict: false,
            ..options.clone()
        };
        let (_, again) = format_slice(&plain, &stream);
        assert!(again.is_ok(), "records output not JSON: {:?}", String::from_utf8_lossy(&out));
        return;
    }
    let (out, result) = format_slice(input, &options);
    if result.is_err() {
        return;
    }
    // Colour changes nothing but the escape sequences.
    let coloured = Options {
        palette: Some(Palette::default()),
        ..options.clone()
    };
    let (painted, painted_result) = format_slice(input, &coloured);
    assert!(painted_result.is_ok());
    assert_eq!(strip_sgr(&painted), out);

    // The output is JSON: read strictly, value by value, it is accepted, and
    // its compact form equals the input's.
    let compact = Options {
        layout: Layout::Compact,
        strict: false,
        ..options.clone()
    };
    let (from_input, a) = format_slice(input, &compact);
    let (from_output, b) = format_slice(&out, &compact);
    assert!(
        a.is_ok() && b.is_ok(),
        "output not accepted: {:?}",
        String::from_utf8_lossy(&out)
    );
    assert_eq!(from_input, from_output);

    // An independent reader agrees, where it can read the input at all
    // (serde_json refuses lone surrogates, 1e400 and depth over 128).
    let values = |text: &[u8]| -> Option<Vec<serde_json::Value>> {
        serde_json::Deserializer::from_slice(text)
            .into_iter::<serde_json::Value>()
            .collect::<Result<_, _>>()
            .ok()
    };
    if let Some(expected) = values(input)
        && !options.sort_keys
    {
        assert_eq!(values(&out), Some(expected));
    }
});

/// A reader that hands out its bytes in the sizes given, in turn.
struct Trickle<'a> {
    data: &'a [u8],
    sizes: &'a [usize],
    turn: usize,
}

impl std::io::Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.sizes[self.turn % self.sizes.len()]
            .min(buf.len())
            .min(self.data.len());
        self.turn += 1;
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

/// Removes `ESC [ … m` sequences.
fn strip_sgr(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == 0x1b {
            while i < bytes.len() && bytes[i] != b'm' {
                i += 1;
            }
            i += 1;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    out
}
