//! JSONTestSuite (vendored in tests/data/JSONTestSuite) under `--strict`: every `y_` file
//! accepted with output that parses to the input's value, every `n_` file
//! rejected with exit 1 and a positioned message, no `i_` file crashing.

mod util;

use std::path::PathBuf;

use util::Dir;

fn suite() -> Vec<PathBuf> {
    let dir =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/JSONTestSuite/test_parsing");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("the conformance suite at {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert_eq!(files.len(), 318, "JSONTestSuite should hold 318 files");
    files
}

fn named(prefix: &str) -> Vec<PathBuf> {
    suite()
        .into_iter()
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with(prefix))
        .collect()
}

#[test]
fn every_y_file_is_accepted_and_keeps_its_value() {
    let dir = Dir::new("conformance-y");
    let files = named("y_");
    assert_eq!(files.len(), 95);
    for file in files {
        for flags in [
            &["--strict"][..],
            &["--strict", "-c"],
            &["--strict", "-S", "--tab"],
        ] {
            let out = dir.command("jpretty").args(flags).arg(&file).expect_exit(0);
            assert!(out.stderr.is_empty(), "{}", file.display());
            let input: serde_json::Value =
                serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
            let output: serde_json::Value =
                serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
                    panic!("{} {flags:?}: output does not parse: {e}", file.display())
                });
            if flags.contains(&"-S") {
                // Sorting changes duplicate-key objects' last-wins value
                // only where keys repeat; compare as serde sees them.
                assert_eq!(sorted(&output), sorted(&input), "{}", file.display());
            } else {
                assert_eq!(output, input, "{} {flags:?}", file.display());
            }
        }
    }
}

fn sorted(v: &serde_json::Value) -> String {
    // serde_json's Map is ordered by key without preserve_order.
    v.to_string()
}

#[test]
fn every_n_file_is_rejected_with_a_position() {
    let dir = Dir::new("conformance-n");
    let files = named("n_");
    assert_eq!(files.len(), 188);
    for file in files {
        let (_, err) = dir
            .command("jpretty")
            .args(["--strict", "-q", "--error-format=short"])
            .arg(&file)
            .expect_exit_text(1);
        let prefix = format!("jpretty: {}:", file.display());
        assert!(err.starts_with(&prefix), "{err}");
        // FILE:LINE:COLUMN: expected …, found …
        let rest = &err[prefix.len()..];
        let mut parts = rest.splitn(3, ':');
        let line: u64 = parts.next().unwrap().parse().expect("line number");
        let column: u64 = parts.next().unwrap().parse().expect("column number");
        assert!(line >= 1 && column >= 1);
        let message = parts.next().unwrap();
        assert!(
            message.starts_with(" expected ") && message.contains(", found "),
            "{}: {err}",
            file.display()
        );
        assert_eq!(err.lines().count(), 1, "{err}");
    }
}

#[test]
fn no_i_file_crashes() {
    let dir = Dir::new("conformance-i");
    let files = named("i_");
    assert_eq!(files.len(), 35);
    for file in files {
        let out = dir.command("jpretty").arg("--strict").arg(&file).output();
        match out.status.code() {
            Some(0) => {
                assert!(out.stderr.is_empty());
                assert!(!out.stdout.is_empty());
            }
            Some(1) => assert!(String::from_utf8_lossy(&out.stderr).contains(", found ")),
            other => panic!("{}: exit {other:?}", file.display()),
        }
    }
}

/// The SIMD scans (SSE2, AVX2 where the CPU has it) and the portable one
/// give the same bytes, output and errors, on every file of the suite and
/// on a sample with long strings, whitespace runs and non-ASCII text.
#[test]
fn every_scan_width_gives_the_same_bytes() {
    let dir = Dir::new("conformance-simd");
    let mut inputs = suite();
    let mut long = String::from("[\n");
    for i in 0..200 {
        long.push_str(&format!(
            "{}\"{}é東\\n{}\",\t\r\n",
            " ".repeat(i % 70),
            "x".repeat(i * 3),
            "\\\"".repeat(i % 5)
        ));
    }
    long.push_str("\"a\u{1}b\"]");
    inputs.push(dir.create("long.json", &long));
    // Past several reads (256 KiB each), characters of every length cut
    // by the reads' edges, then one bad byte deep in: UTF-8 is checked a
    // read at a time by the SIMD paths, a string at a time by the
    // portable one.
    let mut big = String::from("[");
    for i in 0..40_000 {
        big.push_str(&format!("\"{}é東😀{}\",", "a".repeat(i % 7), i));
    }
    big.push_str("1]");
    inputs.push(dir.create("big.json", &big));
    let mut bad = big.clone().into_bytes();
    let at = bad.len() * 3 / 4;
    let at = at + bad[at..].iter().position(|&b| b == b'a').unwrap();
    bad[at] = 0xff;
    inputs.push(dir.create("big-bad.json", &bad));
    for file in inputs {
        // Pretty output of 100000 nested arrays is 15 GB: small files only.
        let small = std::fs::metadata(&file).unwrap().len() < 10_000;
        let pretty: &[&str] = if small {
            &["-U", "--indent=3"]
        } else {
            &["-U", "-c"]
        };
        for flags in [&["-c"][..], &["-S", "--lines"], pretty] {
            let run = |level: &str| {
                dir.command("jpretty")
                    .env("FLEETKIT_SIMD", level)
                    .args(flags)
                    .arg(&file)
                    .output()
            };
            let best = run("best");
            for level in ["portable", "sse2"] {
                let other = run(level);
                assert_eq!(
                    other.stdout,
                    best.stdout,
                    "{} {flags:?} {level}",
                    file.display()
                );
                assert_eq!(
                    other.stderr,
                    best.stderr,
                    "{} {flags:?} {level}",
                    file.display()
                );
                assert_eq!(other.status.code(), best.status.code());
            }
        }
    }
}
