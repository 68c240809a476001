//! End-to-end tests of the jpretty binary: every option, the error format,
//! exactness, streams, deep nesting, colour decisions and broken pipes.

mod util;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use util::{Dir, TestCommand, binary};

fn jpretty(dir: &Dir) -> TestCommand {
    dir.command("jpretty")
}

const SAMPLE: &str =
    r#"{"name":"web01","up":true,"load":[0.5,1.0,1e400],"tags":{},"list":[],"n":null,"off":false}"#;

#[test]
fn pretty_by_default_with_two_spaces() {
    let dir = Dir::new("pretty");
    let out = jpretty(&dir).stdin(SAMPLE).stdout();
    assert_eq!(
        out,
        r#"{
  "name": "web01",
  "up": true,
  "load": [
    0.5,
    1.0,
    1e400
  ],
  "tags": {},
  "list": [],
  "n": null,
  "off": false
}
"#
    );
}

#[test]
fn indent_n_tab_and_zero() {
    let dir = Dir::new("indent");
    let input = r#"{"a":[1,{"b":2}]}"#;
    assert_eq!(
        jpretty(&dir).args(["--indent", "4"]).stdin(input).stdout(),
        "{\n    \"a\": [\n        1,\n        {\n            \"b\": 2\n        }\n    ]\n}\n"
    );
    assert_eq!(
        jpretty(&dir).arg("--indent=0").stdin(input).stdout(),
        "{\n\"a\": [\n1,\n{\n\"b\": 2\n}\n]\n}\n"
    );
    assert_eq!(
        jpretty(&dir).arg("--tab").stdin(input).stdout(),
        "{\n\t\"a\": [\n\t\t1,\n\t\t{\n\t\t\t\"b\": 2\n\t\t}\n\t]\n}\n"
    );
    assert_eq!(
        jpretty(&dir).args(["--indent", "16"]).stdin("[1]").stdout(),
        format!("[\n{}1\n]\n", " ".repeat(16))
    );
}

#[test]
fn indent_out_of_range_is_a_usage_error() {
    let dir = Dir::new("indent-range");
    for bad in ["17", "-1", "two"] {
        let (out, err) = jpretty(&dir)
            .args(["--indent", bad])
            .stdin("1")
            .expect_exit_text(2);
        assert_eq!(out, "");
        assert!(
            err.starts_with(&format!(
                "jpretty: --indent: invalid value '{bad}': expected a whole number from 0 to 16\n"
            )),
            "{err}"
        );
    }
}

#[test]
fn compact_turns_a_stream_into_ndjson() {
    let dir = Dir::new("compact");
    let input = "{\n  \"a\" : [ 1 , 2 ],\n  \"b\" : { }\n}\n[\n]\n\"s\"  42\ttrue\r\nnull";
    assert_eq!(
        jpretty(&dir).arg("-c").stdin(input).stdout(),
        "{\"a\":[1,2],\"b\":{}}\n[]\n\"s\"\n42\ntrue\nnull\n"
    );
    assert_eq!(
        jpretty(&dir).arg("--compact").stdin("{}{}[1][2]").stdout(),
        "{}\n{}\n[1]\n[2]\n"
    );
}

#[test]
fn sort_keys_is_recursive_stable_and_decodes_escapes() {
    let dir = Dir::new("sort");
    let input = r#"{"b":1,"a":{"z":[{"y":1,"x":2}],"m":0},"\u0061a":2,"b":0,"é":3,"\u00e8":4}"#;
    assert_eq!(
        jpretty(&dir).args(["-S", "-c"]).stdin(input).stdout(),
        "{\"a\":{\"m\":0,\"z\":[{\"x\":2,\"y\":1}]},\"\\u0061a\":2,\"b\":1,\"b\":0,\"\\u00e8\":4,\"é\":3}\n"
    );
    assert_eq!(
        jpretty(&dir)
            .arg("--sort-keys")
            .stdin(r#"{"b":[1],"a":{}}"#)
            .stdout(),
        "{\n  \"a\": {},\n  \"b\": [\n    1\n  ]\n}\n"
    );
}

#[test]
fn ascii_escapes_non_ascii_and_keeps_existing_escapes() {
    let dir = Dir::new("ascii");
    assert_eq!(
        jpretty(&dir)
            .args(["-a", "-c"])
            .stdin("[\"héllo 😀\",\"\\u00e9\\n\"]")
            .stdout(),
        "[\"h\\u00e9llo \\ud83d\\ude00\",\"\\u00e9\\n\"]\n"
    );
    // Without -a, UTF-8 passes through untouched.
    assert_eq!(
        jpretty(&dir).arg("-c").stdin("[\"héllo 😀\"]").stdout(),
        "[\"héllo 😀\"]\n"
    );
}

#[test]
fn numbers_strings_and_keys_are_copied_exactly() {
    let dir = Dir::new("exact");
    let input = r#"[1.0,1E5,1e400,-0,0.000001e-7,1234567890123456789012345678901234567890,-1.5E+10,"a\/b\u0041\t\"",{"k":1,"k":2,"a":0}]"#;
    assert_eq!(
        jpretty(&dir).arg("-c").stdin(input).stdout(),
        format!("{input}\n")
    );
}

#[test]
fn a_utf8_bom_is_skipped() {
    let dir = Dir::new("bom");
    assert_eq!(
        jpretty(&dir).arg("-c").stdin("\u{feff}{\"a\":1}").stdout(),
        "{\"a\":1}\n"
    );
    // Columns on line 1 do not count the mark.
    let (_, err) = jpretty(&dir).stdin("\u{feff}{\"a\" 1}").expect_exit_text(1);
    assert!(err.contains("<stdin>:1:6: expected ':'"), "{err}");
    dir.create("bom.json", "\u{feff}[1]");
    assert_eq!(
        jpretty(&dir).args(["-c", "--strict", "bom.json"]).stdout(),
        "[1]\n"
    );
}

#[test]
fn strict_accepts_exactly_one_value() {
    let dir = Dir::new("strict");
    assert_eq!(
        jpretty(&dir)
            .args(["--strict", "-c"])
            .stdin(" [1] \n")
            .stdout(),
        "[1]\n"
    );
    for (input, message) in [
        ("", "<stdin>:1:1: expected a JSON value, found end of input"),
        (
            "  \n ",
            "<stdin>:2:2: expected a JSON value, found end of input",
        ),
        (
            "[][]",
            "<stdin>:1:3: expected the end of input after the value, found '['",
        ),
        (
            "{} x",
            "<stdin>:1:4: expected the end of input after the value, found 'x'",
        ),
        (
            "1 2",
            "<stdin>:1:3: expected the end of input after the value, found '2'",
        ),
    ] {
        let (_, err) = jpretty(&dir)
            .args(["--strict", "-c", "--error-format=short"])
            .stdin(input)
            .expect_exit_text(1);
        assert_eq!(err, format!("jpretty: {message}\n"), "input {input:?}");
    }
    // Without --strict, empty input is an empty stream.
    assert_eq!(jpretty(&dir).stdin("").stdout(), "");
}

#[test]
fn quiet_validates_and_prints_nothing() {
    let dir = Dir::new("quiet");
    assert_eq!(jpretty(&dir).arg("-q").stdin(SAMPLE).stdout(), "");
    let (out, err) = jpretty(&dir)
        .arg("--quiet")
        .stdin("[1,]")
        .expect_exit_text(1);
    assert_eq!(out, "");
    assert_eq!(
        err,
        "jpretty: <stdin>:1:4: expected a JSON value, found ']': a trailing comma: JSON allows none after the last element or member\n 1 | [1,]\n   |    ^\n"
    );
}

#[test]
fn errors_say_where_what_was_expected_and_what_was_found() {
    let dir = Dir::new("errors");
    let cases: &[(&[u8], &str)] = &[
        (
            b"{\"a\" 1}",
            "1:6: expected ':' after an object key, found '1': a ':' is missing after the key",
        ),
        (
            b"{\"a\":1 \"b\":2}",
            "1:8: expected ',' or '}' after object member, found '\"': a ',' is missing before it",
        ),
        (
            b"[1 2]",
            "1:4: expected ',' or ']' after array element, found '2': a ',' is missing before it",
        ),
        (
            b"{1:2}",
            "1:2: expected '\"' to begin an object key, found '1': an unquoted key: keys are strings in double quotes",
        ),
        (
            b"[1,]",
            "1:4: expected a JSON value, found ']': a trailing comma: JSON allows none after the last element or member",
        ),
        (
            b"{\"a\":1,}",
            "1:8: expected '\"' to begin an object key, found '}': a trailing comma: JSON allows none after the last element or member",
        ),
        (
            b"[NaN]",
            "1:2: expected a JSON value, found 'N': NaN and Infinity are not JSON numbers (null or a string can stand for them)",
        ),
        (
            b"[Infinity]",
            "1:2: expected a JSON value, found 'I': NaN and Infinity are not JSON numbers (null or a string can stand for them)",
        ),
        (
            b"[-Infinity]",
            "1:3: expected a digit, found 'I': NaN and Infinity are not JSON numbers (null or a string can stand for them)",
        ),
        (
            b"// c\n[1]",
            "1:1: expected a JSON value, found '/': a comment: JSON has none",
        ),
        (
            b"['a']",
            "1:2: expected a JSON value, found ''': single quotes: JSON strings take double quotes",
        ),
        (
            b"[\"a\tb\"]",
            "1:4: expected a string character (control characters must be escaped, e.g. \\n), found control character U+0009",
        ),
        (
            b"[\"\\x\"]",
            "1:4: expected an escape character (\" \\ / b f n r t u) after '\\', found 'x'",
        ),
        (
            b"[\"\\u12G4\"]",
            "1:7: expected a hex digit in a \\u escape, found 'G'",
        ),
        (
            b"[\"a\xffb\"]",
            "1:4: expected UTF-8 text in the string, found byte 0xFF",
        ),
        (
            b"[\"\xc3\"]",
            "1:3: expected UTF-8 text in the string, found byte 0xC3",
        ),
        (b"[\xff]", "1:2: expected a JSON value, found byte 0xFF"),
        (
            b"[01]",
            "1:3: expected '.', 'e' or the end of the number after a leading 0, found '1'",
        ),
        (b"[1.]", "1:4: expected a digit after '.', found ']'"),
        (b"[1e+]", "1:5: expected a digit in the exponent, found ']'"),
        (b"[tru]", "1:5: expected 'e' (in 'true'), found ']'"),
        (
            b"[nul",
            "1:5: expected 'l' (in 'null'), found end of input: the input ends with 1 bracket open; the innermost, '[', opened at 1:1",
        ),
        (
            b"\"abc",
            "1:5: expected '\"' to end the string, found end of input",
        ),
        (b"[1,\n 2,\n  x]", "3:3: expected a JSON value, found 'x'"),
        (
            b"[\"\xc3\xa9\xc3\xa9\", y]",
            "1:8: expected a JSON value, found 'y'",
        ),
        (b"1x", "1:2: expected whitespace between values, found 'x'"),
        (
            b"[1]]",
            "1:4: expected a JSON value, found ']': nothing is open for this ']' to close",
        ),
    ];
    for (input, message) in cases {
        let (_, err) = jpretty(&dir)
            .args(["-c", "--error-format=short"])
            .stdin(input)
            .expect_exit_text(1);
        assert_eq!(
            err,
            format!("jpretty: <stdin>:{message}\n"),
            "input {:?}",
            String::from_utf8_lossy(input)
        );
    }
}

#[test]
fn values_before_an_error_stay_printed_and_later_files_are_read() {
    let dir = Dir::new("keep-going");
    dir.create("a.json", "[1]");
    dir.create("bad.json", "{\"x\": 1}\n{\"y\": [1,\n2,,]}\n[3]");
    dir.create("c.json", "{\"c\":true}");
    let (out, err) = jpretty(&dir)
        .args(["-c", "a.json", "bad.json", "missing.json", "-", "c.json"])
        .stdin("\"from stdin\"")
        .expect_exit_text(2);
    // The value cut short by the error is ended with a newline.
    assert_eq!(
        out,
        "[1]\n{\"x\":1}\n{\"y\":[1,2,\n\"from stdin\"\n{\"c\":true}\n"
    );
    assert_eq!(
        err,
        "jpretty: bad.json:3:3: expected a JSON value, found ','\n 3 | 2,,]}\n   |   ^\n\
         jpretty: missing.json: cannot open: No such file or directory\n"
    );
    // Invalid JSON alone exits 1.
    jpretty(&dir).args(["a.json", "bad.json"]).expect_exit(1);
}

#[test]
fn reading_a_directory_is_an_io_error() {
    let dir = Dir::new("dir-input");
    dir.create("sub/x", "");
    let (_, err) = jpretty(&dir).arg("sub").expect_exit_text(2);
    assert_eq!(err, "jpretty: sub: cannot read: Is a directory\n");
}

#[test]
fn pretty_output_is_idempotent_and_compact_keeps_the_value() {
    let dir = Dir::new("idempotent");
    let input = std::fs::read_to_string(sample_path()).unwrap();
    for flags in [
        &[][..],
        &["--indent", "0"],
        &["--tab"],
        &["-S"],
        &["-a"],
        &["--indent", "7"],
    ] {
        let once = jpretty(&dir).args(flags).stdin(&input).stdout();
        let twice = jpretty(&dir).args(flags).stdin(&once).stdout();
        assert_eq!(once, twice, "flags {flags:?}");
        assert_eq!(values(&once), values(&input), "flags {flags:?}");
    }
    let compact = jpretty(&dir).arg("-c").stdin(&input).stdout();
    assert_eq!(values(&compact), values(&input));
    assert!(compact.lines().all(|l| !l.contains(": ")));
}

/// Parses a stream of JSON values with serde_json, the test oracle.
fn values(text: &str) -> Vec<serde_json::Value> {
    serde_json::Deserializer::from_str(text)
        .into_iter::<serde_json::Value>()
        .collect::<Result<_, _>>()
        .expect("valid JSON")
}

fn sample_path() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/sample.json")
}

fn nested(depth: usize, open: &str, close: &str) -> String {
    let mut s = open.repeat(depth);
    s.push_str(&close.repeat(depth));
    s
}

#[test]
fn a_million_nested_arrays_is_fine() {
    let dir = Dir::new("deep");
    let input = nested(1_000_000, "[", "]");
    assert_eq!(
        jpretty(&dir).arg("-c").stdin(&input).stdout(),
        format!("{input}\n")
    );
    let lines = jpretty(&dir).arg("--indent=0").stdin(&input).stdout();
    // 999,999 lines of "[", the innermost "[]", 999,999 lines of "]".
    assert_eq!(lines.lines().count(), 1_999_999);
    assert!(lines.starts_with("[\n[\n") && lines.contains("\n[]\n") && lines.ends_with("]\n]\n"));
    // Pretty, 3000 deep: 9 million bytes of indentation, still idempotent.
    let deep = nested(3000, "[", "]");
    let pretty = jpretty(&dir).stdin(&deep).stdout();
    assert_eq!(
        pretty.lines().nth(2999).unwrap(),
        format!("{}[]", " ".repeat(2 * 2999))
    );
    assert_eq!(jpretty(&dir).stdin(&pretty).stdout(), pretty);
    // Deep objects, sorted.
    let objects = format!(
        "{}1{}",
        "{\"b\":0,\"a\":".repeat(100_000),
        "}".repeat(100_000)
    );
    let sorted = jpretty(&dir).args(["-S", "-c"]).stdin(&objects).stdout();
    assert_eq!(
        sorted,
        format!(
            "{}1{}\n",
            "{\"a\":".repeat(100_000),
            ",\"b\":0}".repeat(100_000)
        )
    );
}

#[test]
fn colour_always_never_and_flags() {
    let dir = Dir::new("colour");
    let input = r#"{"a":[1,null,"s",true,false]}"#;
    let coloured = "\x1b[1;39m{\x1b[1;34m\"a\"\x1b[1;39m:[\x1b[0;39m1\x1b[1;39m,\x1b[0;35mnull\x1b[1;39m,\x1b[0;32m\"s\"\x1b[1;39m,\x1b[0;39mtrue\x1b[1;39m,\x1b[0;39mfalse\x1b[1;39m]}\x1b[0m\n";
    for flags in [
        &["-c", "-C"][..],
        &["-c", "--color=always"],
        &["-c", "--color"],
    ] {
        assert_eq!(
            jpretty(&dir).args(flags).stdin(input).stdout(),
            coloured,
            "{flags:?}"
        );
    }
    let plain = "{\"a\":[1,null,\"s\",true,false]}\n";
    for flags in [
        &["-c"][..],
        &["-c", "-M"],
        &["-c", "-C", "--color=never"],
        &["-c", "--color=auto"],
    ] {
        assert_eq!(
            jpretty(&dir).args(flags).stdin(input).stdout(),
            plain,
            "{flags:?}"
        );
    }
    // --color=always wins over NO_COLOR.
    assert_eq!(
        jpretty(&dir)
            .args(["-c", "-C"])
            .env("NO_COLOR", "1")
            .stdin(input)
            .stdout(),
        coloured
    );
    // As GNU grep and ls: --color alone is always, and never takes the
    // next word as its value (`--color f.json` reads f.json).
    dir.create("always", input);
    assert_eq!(
        jpretty(&dir).args(["-c", "--color", "always"]).stdout(),
        coloured
    );
    let (_, err) = jpretty(&dir).args(["--color", "never"]).expect_exit_text(2);
    assert!(err.contains("never: cannot open"), "{err}");
    let (_, err) = jpretty(&dir).arg("--color=sometimes").expect_exit_text(2);
    assert!(err.starts_with(
        "jpretty: --color: invalid value 'sometimes': expected auto, always or never\n"
    ));
}

#[test]
fn jpretty_colors_overrides_the_palette_keys_included() {
    let dir = Dir::new("jpretty-colors");
    let out = jpretty(&dir)
        .args(["-c", "-C"])
        .env("JPRETTY_COLORS", "1;31:::::0;33:0;34:4;35")
        .stdin(r#"{"k":[null]}"#)
        .stdout();
    assert_eq!(
        out,
        "\x1b[0;34m{\x1b[4;35m\"k\"\x1b[0;34m:\x1b[0;33m[\x1b[1;31mnull\x1b[0;33m]\x1b[0;34m}\x1b[0m\n"
    );
    let (out, err) = jpretty(&dir)
        .args(["-c", "-C"])
        .env("JPRETTY_COLORS", "red")
        .stdin("null")
        .expect_exit_text(0);
    assert_eq!(out, "\x1b[0;35mnull\x1b[0m\n");
    assert_eq!(
        err,
        "jpretty: JPRETTY_COLORS: field 1 'red' is not an SGR parameter list such as '1;31'; using the default colours\n"
    );
}

/// Runs jpretty on a pseudo-terminal (util-linux `script`), as a user would.
fn on_terminal(dir: &Dir, env: &[(&str, &str)]) -> String {
    dir.create("t.json", "[null]");
    let mut cmd = Command::new("script");
    cmd.args(["-q", "-e", "-c"])
        .arg(format!("{} -c t.json", binary("jpretty").display()))
        .arg("/dev/null")
        .current_dir(dir.path())
        .env_remove("NO_COLOR")
        .env("TERM", "xterm");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("script(1) from util-linux");
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn auto_colour_follows_the_terminal_no_color_and_term() {
    let dir = Dir::new("auto-colour");
    assert!(on_terminal(&dir, &[]).contains("\x1b[0;35mnull"));
    assert!(on_terminal(&dir, &[("NO_COLOR", "")]).contains("\x1b[0;35mnull"));
    assert_eq!(on_terminal(&dir, &[("NO_COLOR", "1")]).trim_end(), "[null]");
    assert_eq!(on_terminal(&dir, &[("TERM", "dumb")]).trim_end(), "[null]");
    // Not a terminal: no colour.
    assert_eq!(jpretty(&dir).args(["-c", "t.json"]).stdout(), "[null]\n");
}

#[test]
fn a_closed_pipe_ends_quietly_with_exit_0() {
    let dir = Dir::new("broken-pipe");
    let big = format!("[{}1]", "{\"k\":[1,2,3,\"v\"]},".repeat(500_000));
    let path = dir.create("big.json", big);
    let mut child = Command::new(binary("jpretty"))
        .arg(&path)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert_eq!(first, "[\n"); // and the reader is dropped here, closing the pipe
    let err = util::read_stderr(&mut child);
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    assert_eq!(err, "");
}

#[test]
fn each_value_is_written_as_soon_as_it_is_complete() {
    // NDJSON from a slow producer: the first value must come out before the
    // producer sends the second.
    let mut child = Command::new(binary("jpretty"))
        .arg("-c")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    let mut output = BufReader::new(child.stdout.take().unwrap());
    input.write_all(b"{\"n\": 1}\n").unwrap();
    input.flush().unwrap();
    let mut line = String::new();
    output.read_line(&mut line).unwrap();
    assert_eq!(line, "{\"n\":1}\n");
    input.write_all(b"{\"n\": 2}\n").unwrap();
    drop(input);
    line.clear();
    output.read_line(&mut line).unwrap();
    assert_eq!(line, "{\"n\":2}\n");
    assert!(child.wait().unwrap().success());
}

#[test]
fn works_as_a_vim_filter() {
    let dir = Dir::new("vim");
    let file = dir.create("f.json", "{\"a\":[1,2]}\n");
    let path = format!(
        "{}:{}",
        binary("jpretty").parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let status = Command::new("vim")
        .args(["-Es", "-u", "NONE", "-c", "%!jpretty", "-c", "wq"])
        .arg(&file)
        .env("PATH", path)
        .stdin(Stdio::null())
        .status()
        .expect("vim");
    assert!(status.success());
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        "{\n  \"a\": [\n    1,\n    2\n  ]\n}\n"
    );
}

#[test]
fn memory_stays_under_8_mib_on_a_large_stream() {
    // 256 MiB of mixed JSON through a pipe, measured by GNU time's peak RSS.
    let mut child = Command::new("/usr/bin/time")
        .args(["-f", "%M"])
        .arg(binary("jpretty"))
        .arg("-C")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("/usr/bin/time (package time)");
    let mut input = child.stdin.take().unwrap();
    let record = std::fs::read(sample_path()).unwrap();
    let writer = std::thread::spawn(move || {
        let mut chunk = record.clone();
        while chunk.len() < 1 << 20 {
            chunk.push(b',');
            chunk.extend_from_slice(&record);
        }
        let mut written = 0;
        input.write_all(b"[").unwrap();
        while written < 256 << 20 {
            input.write_all(&chunk).unwrap();
            input.write_all(b",").unwrap();
            written += chunk.len();
        }
        input.write_all(b"0]").unwrap();
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert!(out.status.success(), "{out:?}");
    let kib: u64 = String::from_utf8_lossy(&out.stderr).trim().parse().unwrap();
    assert!(kib < 8 * 1024, "peak RSS {kib} KiB");
}

#[test]
fn help_version_and_unknown_options() {
    let dir = Dir::new("help");
    let short = jpretty(&dir).arg("-h").stdout();
    assert!(short.starts_with("jpretty 0.1.0: pretty-print, validate and colour JSON, streaming\n\nUsage: jpretty [OPTIONS] [FILE...]\n"));
    assert!(short.contains("  -c, --compact              Print each value minified on one line\n"));
    let long = jpretty(&dir).arg("--help").stdout();
    assert!(long.contains("Exit status:\n  0\n"));
    assert!(long.contains("JPRETTY_COLORS"));
    assert!(long.len() > short.len());
    assert_eq!(jpretty(&dir).arg("--version").stdout(), "jpretty 0.1.0\n");
    let (out, err) = jpretty(&dir).arg("--frobnicate").expect_exit_text(2);
    assert_eq!(out, "");
    assert_eq!(
        err,
        "jpretty: unknown option '--frobnicate'\nUsage: jpretty [OPTIONS] [FILE...] (see 'jpretty --help')\n"
    );
    let (_, err) = jpretty(&dir).arg("--compact=yes").expect_exit_text(2);
    assert!(err.starts_with("jpretty: "), "{err}");
}

/// CPU seconds and peak RSS (KiB) of `jpretty ARGS FILE`, by GNU time.
fn cost(args: &[&str], file: &std::path::Path) -> (f64, u64) {
    let out = Command::new("/usr/bin/time")
        .args(["-f", "%U %S %M"])
        .arg(binary("jpretty"))
        .args(args)
        .arg(file)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .expect("/usr/bin/time (package time)");
    let err = String::from_utf8_lossy(&out.stderr);
    let last: Vec<&str> = err.lines().last().unwrap().split(' ').collect();
    let cpu = last[0].parse::<f64>().unwrap() + last[1].parse::<f64>().unwrap();
    (cpu, last[2].parse().unwrap())
}

/// Whether four times the input costs at most about four times the time:
/// 9x leaves room for noise, where a quadratic path costs 16x (and, at
/// these sizes, minutes).
fn assert_linear(dir: &Dir, args: &[&str], small: &str, large: &str) {
    let (a, b) = (
        dir.create("small.json", small),
        dir.create("large.json", large),
    );
    let (t1, _) = cost(args, &a);
    let (t4, _) = cost(args, &b);
    assert!(t4 <= 9.0 * t1 + 0.3, "{args:?}: {t1} s, then {t4} s for 4x");
}

#[test]
fn validation_and_sorting_take_linear_time_whatever_the_depth() {
    let dir = Dir::new("linear");
    // -q lays nothing out: a million nested arrays took 45 s.
    assert_linear(
        &dir,
        &["-q"],
        &nested(500_000, "[", "]"),
        &nested(2_000_000, "[", "]"),
    );
    // -S sorts each object once, without copying what it holds.
    let objects = |n: usize| format!("{}1{}", "{\"b\":0,\"a\":".repeat(n), "}".repeat(n));
    assert_linear(&dir, &["-S", "-c"], &objects(100_000), &objects(400_000));
    // A wide object sorted, pretty.
    let wide = |n: usize| {
        let members: Vec<String> = (0..n).rev().map(|i| format!("\"k{i}\":[{i}]")).collect();
        format!("{{{}}}", members.join(","))
    };
    assert_linear(&dir, &["-S"], &wide(100_000), &wide(400_000));
    // 100 MB of '[' (here 20 MB) is an error found in linear time.
    let open = "[".repeat(20_000_000);
    let (_, err) = jpretty(&dir).arg("-q").stdin(&open).expect_exit_text(1);
    assert!(
        err.contains("1:20000001: expected a JSON value, found end of input"),
        "{err}"
    );
}

#[test]
fn sorted_output_leaves_as_each_object_is_done() {
    // An array of small objects, sorted and compact: memory stays flat
    // (it held the whole output until exit) ...
    let dir = Dir::new("sorted-stream");
    let array = |n: usize| {
        let items: Vec<String> = (0..n)
            .map(|i| format!("{{\"z\":{i},\"b\":\"x{i}\",\"a\":[1,{{\"q\":1,\"p\":2}}]}}"))
            .collect();
        format!("[{}]", items.join(","))
    };
    let (a, b) = (
        dir.create("small.json", array(100_000)),
        dir.create("large.json", array(400_000)),
    );
    let (_, small) = cost(&["-S", "-c"], &a);
    let (_, large) = cost(&["-S", "-c"], &b);
    assert!(
        large < small + small / 2 + 4096,
        "peak RSS {small} KiB, then {large} KiB for 4x"
    );
    // ... and each object reaches a reader as soon as it is complete.
    let mut child = Command::new(binary("jpretty"))
        .args(["-S", "-c"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    let mut output = child.stdout.take().unwrap();
    input.write_all(b"[{\"b\":1,\"a\":2},").unwrap();
    input.flush().unwrap();
    let mut first = [0u8; 14];
    std::io::Read::read_exact(&mut output, &mut first).unwrap();
    assert_eq!(&first, b"[{\"a\":2,\"b\":1}");
    input.write_all(b"{\"d\":1,\"c\":2}]").unwrap();
    drop(input);
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut output, &mut rest).unwrap();
    assert_eq!(rest, ",{\"c\":2,\"d\":1}]\n");
    assert!(child.wait().unwrap().success());
}

#[test]
fn sorted_output_cut_by_an_error_keeps_its_commas() {
    let dir = Dir::new("sorted-error");
    let (out, err) = jpretty(&dir)
        .args(["-S", "-c"])
        .stdin(r#"{"b":1,"a":{"d":1,"c":2},"c":"#)
        .expect_exit_text(1);
    assert_eq!(out, "{\"b\":1,\"a\":{\"c\":2,\"d\":1},\"c\":\n");
    assert!(err.contains("<stdin>:1:"), "{err}");
}

#[test]
fn closed_or_full_output_and_closed_input_are_errors() {
    let dir = Dir::new("closed");
    dir.create("a.json", "[1]");
    let sh = |script: &str| {
        let out = Command::new("sh")
            .arg("-c")
            .arg(script)
            .env("J", binary("jpretty"))
            .current_dir(dir.path())
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, err) = sh("\"$J\" a.json >&-");
    assert_eq!(code, Some(2));
    assert!(err.contains("standard output is closed"), "{err}");
    let (code, err) = sh("\"$J\" <&-");
    assert_eq!(code, Some(2));
    assert!(
        err.contains("<stdin>: cannot read: standard input is closed"),
        "{err}"
    );
    for flag in ["--help", "--version", "-h"] {
        let (code, err) = sh(&format!("\"$J\" {flag} >/dev/full"));
        assert_eq!(code, Some(2), "{flag}");
        assert!(err.contains("No space left on device"), "{flag}: {err}");
        assert!(!err.contains("os error"), "{err}");
    }
    // /dev/null opened by the shell is fine, and a closed pipe is quiet.
    assert_eq!(sh("\"$J\" a.json >/dev/null </dev/null").0, Some(0));
    assert_eq!(sh("\"$J\" --help | head -c1 >/dev/null").0, Some(0));
}

#[test]
fn every_coloured_line_ends_with_a_reset() {
    let dir = Dir::new("colour-lines");
    for args in [&["-C"][..], &["-C", "-S"], &["-C", "--tab", "-S"]] {
        let out = jpretty(&dir)
            .args(args)
            .stdin(r#"{"b":{"d":[1,"x",null],"c":true},"a":[3,{"y":1,"x":false}]}"#)
            .stdout();
        for line in out.lines() {
            assert!(line.ends_with("\x1b[0m"), "{args:?}: {line:?}");
        }
        let plain = jpretty(&dir)
            .args(&args[1..])
            .stdin(r#"{"b":{"d":[1,"x",null],"c":true},"a":[3,{"y":1,"x":false}]}"#)
            .stdout();
        let stripped: String = out
            .split('\x1b')
            .enumerate()
            .map(|(i, p)| {
                if i == 0 {
                    p
                } else {
                    &p[p.find('m').unwrap() + 1..]
                }
            })
            .collect();
        assert_eq!(stripped, plain, "{args:?}");
    }
}

#[test]
fn errors_name_the_common_mistake_and_show_the_line() {
    let dir = Dir::new("errors-full");
    let err = |input: &[u8]| {
        let (_, err) = jpretty(&dir).stdin(input).expect_exit_text(1);
        err
    };
    // The line, with a caret under the column.
    assert_eq!(
        err(b"{\n  \"a\": 1,\n  \"b\" 2\n}"),
        "jpretty: <stdin>:3:7: expected ':' after an object key, found '2': a ':' is missing after the key\n \
         3 |   \"b\" 2\n   \
           |       ^\n"
    );
    // A bracket that closes the wrong thing, or nothing.
    assert!(err(b"{\"a\": [1, 2}").contains(
        "expected ',' or ']' after array element, found '}': '}' cannot close the '[' opened at 1:7"
    ));
    // Cut short: what is open and where it opened.
    assert!(err(b"{\"a\": [1, {\"b\": 2").contains(
        "found end of input: the input ends with 3 brackets open; the innermost, '{', opened at 1:11"
    ));
    // Invisible and look-alike characters by code point, never raw.
    let e = err("{\"a\":\u{a0}1}".as_bytes());
    assert!(
        e.contains("found U+00A0 NO-BREAK SPACE\n 1 | {\"a\":·1}"),
        "{e}"
    );
    let e = err("[1]\u{feff}[2]".as_bytes());
    assert!(
        e.contains("found U+FEFF ZERO WIDTH NO-BREAK SPACE (byte order mark)"),
        "{e}"
    );
    assert!(!e.contains('\u{feff}'), "{e}");
    let e = err("[\u{200b}1]".as_bytes());
    assert!(
        e.contains("U+200B ZERO WIDTH SPACE") && !e.contains('\u{200b}'),
        "{e}"
    );
    let e = err("{\u{201c}a\u{201d}: 1}".as_bytes());
    assert!(
        e.contains("U+201C LEFT DOUBLE QUOTATION MARK (not '\"')"),
        "{e}"
    );
    // UTF-16, with or without its byte order mark.
    for input in [&b"\xff\xfe[\x001\x00]\x00"[..], b"[\x001\x00]\x00"] {
        assert!(err(input).contains(
            "the input looks like UTF-16; convert it to UTF-8 first (iconv -f UTF-16 -t UTF-8)"
        ));
    }
    // Python's literals.
    assert!(err(b"[True]").contains("True, False and None are Python's"));
    // A long line is cut around the column.
    let long = format!("[{}x]", "1,".repeat(5000));
    let e = err(long.as_bytes());
    let lines: Vec<&str> = e.lines().collect();
    assert_eq!(lines.len(), 3, "{e}");
    assert!(
        lines[0].ends_with("1:10002: expected a JSON value, found 'x'"),
        "{e}"
    );
    assert!(
        lines[1].starts_with(" 1 | …,1,1") && lines[1].ends_with(",1,x]"),
        "{e}"
    );
    assert!(lines[1].chars().count() < 120, "{e}");
    let caret = lines[2].find('^').unwrap();
    assert_eq!(lines[1].chars().nth(caret), Some('x'), "{e}");
    // --error-format=short: the first line alone.
    let (_, e) = jpretty(&dir)
        .arg("--error-format=short")
        .stdin("[1,]")
        .expect_exit_text(1);
    assert_eq!(
        e,
        "jpretty: <stdin>:1:4: expected a JSON value, found ']': a trailing comma: JSON allows none after the last element or member\n"
    );
    let (_, e) = jpretty(&dir).arg("--error-format=long").expect_exit_text(2);
    assert!(e.contains("expected full or short"), "{e}");
}

#[test]
fn lines_reports_and_skips_a_bad_line_and_goes_on() {
    let dir = Dir::new("lines");
    dir.create(
        "log.jsonl",
        "{\"b\":1,\"a\":2}\n\n[1,\n{\"x\":\"secret fragment\"} trailing\n1 2\n  {\"a\": [1, 2]} \r\n\"tail\"",
    );
    let (out, err) = jpretty(&dir)
        .args(["--lines", "-S", "log.jsonl"])
        .expect_exit_text(1);
    // Compact by default, one value per line; bad lines skipped whole.
    assert_eq!(out, "{\"a\":2,\"b\":1}\n{\"a\":[1,2]}\n\"tail\"\n");
    assert!(!out.contains("secret"), "{out}");
    let first: Vec<&str> = err.lines().filter(|l| l.starts_with("jpretty:")).collect();
    assert_eq!(
        first,
        [
            "jpretty: log.jsonl:3:4: expected the rest of the value on this line (JSON Lines: one value per line), found the end of the line",
            "jpretty: log.jsonl:4:25: expected the end of the line after the value (JSON Lines: one value per line), found 't'",
            "jpretty: log.jsonl:5:3: expected the end of the line after the value (JSON Lines: one value per line), found '2'",
        ]
    );
    // --pretty prints each value pretty; all good exits 0.
    let out = jpretty(&dir)
        .args(["--lines", "--pretty"])
        .stdin("{\"a\":1}\n[2]\n")
        .stdout();
    assert_eq!(out, "{\n  \"a\": 1\n}\n[\n  2\n]\n");
    // A bad line's fragment never reaches a reader, even behind a slow
    // pipe: 3 MB of good lines around one bad long line.
    let good = "{\"k\":\"v\"}\n".repeat(150_000);
    let bad = format!("[{}\n", "\"fragment\",".repeat(100_000));
    let (out, _) = jpretty(&dir)
        .arg("--lines")
        .stdin(format!("{good}{bad}{good}"))
        .expect_exit_text(1);
    assert!(!out.contains("fragment"));
    assert_eq!(out.lines().count(), 300_000);
    jpretty(&dir)
        .args(["--lines", "--strict"])
        .stdin("1")
        .expect_exit(2);
}

#[test]
fn seq_reads_and_writes_rfc_7464() {
    let dir = Dir::new("seq");
    let (out, err) = jpretty(&dir)
        .args(["--seq", "-c"])
        .stdin("\x1e{\"a\":1}\n\x1e123\x1e[1,\n 2]\n\x1e{\"bad\"\n\x1e\"ok\"\n\x1e7\n")
        .expect_exit_text(1);
    assert_eq!(out, "\x1e{\"a\":1}\n\x1e[1,2]\n\x1e\"ok\"\n\x1e7\n");
    assert!(
        err.contains("<stdin>:2:5: expected whitespace after a number or literal that ends a record (RFC 7464: without it the record was cut short)"),
        "{err}"
    );
    assert!(
        err.contains("<stdin>:5:1: expected ':' after an object key"),
        "{err}"
    );
    // jq reads what jpretty writes.
    let out = jpretty(&dir).arg("--seq").stdin("{\"a\":[1]}").stdout();
    assert_eq!(out, "\x1e{\n  \"a\": [\n    1\n  ]\n}\n");
}

#[test]
fn unescape_decodes_what_can_be_printed() {
    let dir = Dir::new("unescape");
    let out = jpretty(&dir)
        .args(["-c", "-U"])
        .stdin(r#"{"\u006b\u00e9y":"\u00e9\/\ud83d\ude00 \n\t\"\\\u0022\u005c\u0001\ud800 \ud800\u0041 \u2028"}"#)
        .stdout();
    assert_eq!(
        out,
        "{\"kéy\":\"é/😀 \\n\\t\\\"\\\\\\u0022\\u005c\\u0001\\ud800 \\ud800A \u{2028}\"}\n"
    );
    // The output is the same JSON: decoding it gives the input's value.
    let input = r#"["\u00e9\/\ud83d\ude00", "\u0022\\", "\u2028x"]"#;
    let out = jpretty(&dir).arg("-U").stdin(input).stdout();
    assert_eq!(values(&out), values(input));
    let (_, err) = jpretty(&dir).args(["-U", "-a"]).expect_exit_text(2);
    assert!(
        err.contains("--ascii and --unescape cannot be used together"),
        "{err}"
    );
}

#[test]
fn output_file_and_in_place_keep_the_original_on_any_error() {
    let dir = Dir::new("in-place");
    dir.create("good.json", "{\"b\":1}");
    dir.create("bad.json", "{\"b\":1,}");
    std::fs::set_permissions(
        dir.join("good.json"),
        std::os::unix::fs::PermissionsExt::from_mode(0o640),
    )
    .unwrap();
    std::os::unix::fs::symlink("good.json", dir.join("link.json")).unwrap();
    let (_, err) = jpretty(&dir)
        .args(["--in-place", "-c", "link.json", "bad.json"])
        .expect_exit_text(1);
    assert!(err.contains("bad.json: left as it was"), "{err}");
    assert_eq!(
        std::fs::read_to_string(dir.join("good.json")).unwrap(),
        "{\"b\":1}\n"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("bad.json")).unwrap(),
        "{\"b\":1,}"
    );
    // The link is still a link, the file keeps its mode, no temp is left.
    assert!(
        std::fs::symlink_metadata(dir.join("link.json"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(dir.join("good.json"))
            .unwrap()
            .permissions(),
    );
    assert_eq!(mode & 0o777, 0o640);
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 3, "{names:?}");
    // -o: written whole, or not at all.
    jpretty(&dir)
        .args(["-c", "-o", "out.json"])
        .stdin("[1]")
        .expect_exit(0);
    assert_eq!(
        std::fs::read_to_string(dir.join("out.json")).unwrap(),
        "[1]\n"
    );
    let (_, err) = jpretty(&dir)
        .args(["-c", "-o", "out.json"])
        .stdin("[2,")
        .expect_exit_text(1);
    assert!(err.contains("out.json: left as it was"), "{err}");
    assert_eq!(
        std::fs::read_to_string(dir.join("out.json")).unwrap(),
        "[1]\n"
    );
    // Usage mistakes.
    for (args, says) in [
        (&["--in-place"][..], "--in-place needs FILE operands"),
        (&["--in-place", "-"], "--in-place needs FILE operands"),
        (
            &["--in-place", "-o", "x", "a"],
            "--in-place and -o cannot be used together",
        ),
    ] {
        let (_, err) = jpretty(&dir).args(args).expect_exit_text(2);
        assert!(err.contains(says), "{args:?}: {err}");
    }
}

#[test]
fn sorting_deep_pretty_input_holds_depth_not_indentation() {
    // Pretty and sorted, 20000 levels deep: the held text grew with the
    // square of the depth (1 GB here); now the width is held, not spaces.
    let dir = Dir::new("sorted-deep");
    let deep = |n: usize| format!("{}1{}", "[{\"b\":0,\"a\":".repeat(n), "}]".repeat(n));
    let (a, b) = (
        dir.create("small.json", deep(5_000)),
        dir.create("large.json", deep(20_000)),
    );
    let (_, small) = cost(&["-S"], &a);
    let (_, large) = cost(&["-S"], &b);
    assert!(large < 64 * 1024, "peak RSS {large} KiB at depth 20000");
    assert!(
        large < 4 * small + 16 * 1024,
        "{small} KiB, then {large} KiB for 4x"
    );
    // And the output is what the unsorted layout gives, keys in order.
    let small_input = "[{\"b\":[{\"d\":1,\"c\":2}],\"a\":{\"y\":[1,{\"z\":0}]}}]";
    let out = jpretty(&dir)
        .args(["-S", "--indent=9"])
        .stdin(small_input)
        .stdout();
    let unsorted = jpretty(&dir)
        .arg("--indent=9")
        .stdin("[{\"a\":{\"y\":[1,{\"z\":0}]},\"b\":[{\"c\":2,\"d\":1}]}]")
        .stdout();
    assert_eq!(out, unsorted);
}

#[test]
fn a_value_cut_short_keeps_its_text_and_leaves_no_line_of_spaces() {
    let dir = Dir::new("cut-short");
    // A string cut short keeps its trailing spaces, sorted or not.
    for args in [&["-c"][..], &["-S", "-c"]] {
        let (out, _) = jpretty(&dir)
            .args(args)
            .stdin("{\"a\":\"key with ")
            .expect_exit_text(1);
        assert_eq!(out, "{\"a\":\"key with \n", "{args:?}");
    }
    // Cut after a comma: the dangling indentation is taken back, and a
    // coloured line still ends with a reset.
    for args in [&[][..], &["-S"], &["-C"], &["-S", "-C"]] {
        let (out, _) = jpretty(&dir)
            .args(args)
            .stdin("{\"z\":1,\"a\":{\"y\":2,\"x\":[{\"q\":1,\"p\":2,")
            .expect_exit_text(1);
        for line in out.lines() {
            assert!(!line.trim().is_empty(), "{args:?}: {out:?}");
            if args.contains(&"-C") {
                assert!(line.ends_with("\x1b[0m"), "{args:?}: {line:?}");
            }
        }
    }
    // GNU grep's synonyms for --color's values.
    for (value, coloured) in [
        ("yes", true),
        ("force", true),
        ("no", false),
        ("none", false),
    ] {
        let out = jpretty(&dir)
            .arg(format!("--color={value}"))
            .stdin("1")
            .stdout();
        assert_eq!(out.contains('\x1b'), coloured, "{value}");
    }
}

/// Regular files are read and indexed ahead on a second thread, 256 KiB
/// at a time (the index's 64-byte blocks cut across the reads): tokens cut
/// by the reads' edges at every offset, and mistakes just past them, come
/// out exactly as from a pipe (read and scanned on one thread) and from
/// the SSE2 lane and the portable scan.
#[test]
fn files_read_ahead_match_a_pipe_across_read_edges() {
    let dir = Dir::new("read-ahead");
    let mut text = String::from("[");
    for i in 0..25_000 {
        // Varied lengths, so the edges fall at every offset of a token.
        let pad = "x".repeat(i % 67);
        text.push_str(&match i % 6 {
            0 => format!(r#"{{"key{i}": "{pad}", "n": -{i}.5e-3, "t": true}},"#),
            1 => format!(r#""{pad}\"\\\u00e9 é東😀","#),
            2 => format!("{i}{}, ", "0".repeat(i % 40)),
            3 => format!("[null, false, {{}}, [], \"{pad}\"],\n  "),
            4 => format!(r#"{{"a": {{"b": [{i}, "{pad}"]}}}},"#),
            _ => "\"\\\\\\\\\", \t\r\n".to_string(),
        });
    }
    text.push_str("0]\n");
    assert!(text.len() > 4 * 256 * 1024);
    let file = dir.create("big.json", &text);
    for flags in [&[][..], &["-c"], &["-C", "--indent=3"]] {
        let from_file = jpretty(&dir).args(flags).arg(&file).stdout();
        let from_pipe = jpretty(&dir).args(flags).stdin(&text).stdout();
        assert!(
            from_file == from_pipe,
            "{flags:?}: a file and a pipe differ"
        );
        // The lane is compiled once for SSE2 and once for AVX2; the
        // portable scan has no lane.
        for level in ["sse2", "portable"] {
            let other = jpretty(&dir)
                .env("FLEETKIT_SIMD", level)
                .args(flags)
                .arg(&file)
                .stdout();
            assert!(from_file == other, "{flags:?}: the {level} scan differs");
        }
    }
    // A mistake at and just past each read's edge (and its 64-byte
    // blocks'): the same message, the same output before it.
    for edge in [256 * 1024, 512 * 1024, 768 * 1024] {
        for past in [0, 1, 2, 63, 64, 65, 130] {
            // The first comma there (commas are all separators here).
            let mut bad = text.clone().into_bytes();
            let at = edge + past + bad[edge + past..].iter().position(|&b| b == b',').unwrap();
            bad[at] = b'x';
            let bad_file = dir.create("bad.json", &bad);
            let (out, err) = jpretty(&dir).arg(&bad_file).expect_exit_text(1);
            let (pipe_out, pipe_err) = jpretty(&dir).stdin(&bad).expect_exit_text(1);
            let err = err.replace(&bad_file.to_string_lossy().into_owned(), "<stdin>");
            assert_eq!(err, pipe_err, "a mistake at byte {at}");
            assert!(out == pipe_out, "output before a mistake at byte {at}");
            assert!(err.contains("expected"), "{err}");
        }
    }
}

#[test]
fn a_file_read_ahead_stays_under_8_mib() {
    let dir = Dir::new("read-ahead-memory");
    let record = std::fs::read(sample_path()).unwrap();
    let mut text = b"[".to_vec();
    while text.len() < 64 << 20 {
        text.extend_from_slice(&record);
        text.push(b',');
    }
    text.extend_from_slice(b"0]");
    let file = dir.create("big.json", &text);
    let out = Command::new("/usr/bin/time")
        .args(["-f", "%M"])
        .arg(binary("jpretty"))
        .arg("-C")
        .arg(&file)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .expect("/usr/bin/time (package time)");
    assert!(out.status.success(), "{out:?}");
    let kib: u64 = String::from_utf8_lossy(&out.stderr).trim().parse().unwrap();
    assert!(kib < 8 * 1024, "peak RSS {kib} KiB");
}
