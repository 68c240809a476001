//! `jpretty`: pretty-print, validate and colour JSON, streaming.
//!
//! Owns jpretty's flag table, its arguments and `run()`: which inputs to
//! read, which options to hand the formatter in [`crate::json`], how errors
//! are reported and what the exit code is.

use std::ffi::OsString;
use std::fs::File;
use std::io::{self, Write};

use crate::cli::flag::{Positional, number, text as text_value, with_common};
use crate::cli::{self, Arity, ColorChoice, Common, Flag, Hint, Tool, ToolArgs, exit};
use crate::json::{self, Indent, Layout, Options, Palette};

/// Some input was not valid JSON.
pub const INVALID: i32 = 1;

/// jpretty's parsed command line.
#[derive(Debug, Default)]
pub struct Args {
    common: Common,
    files: Vec<OsString>,
    layout: Option<Layout>,
    sort_keys: bool,
    ascii: bool,
    strict: bool,
    quiet: bool,
    /// `--error-format=short`: one line per error, for scripts.
    short_errors: bool,
}

impl ToolArgs for Args {
    fn common(&mut self) -> &mut Common {
        &mut self.common
    }
    fn positional(&mut self, value: OsString) -> Result<(), String> {
        self.files.push(value);
        Ok(())
    }
}

/// Flags of this tool's arguments.
type F = Flag<Args>;

/// The flag table: the single source of parsing, help, man page and completions.
pub fn tool() -> Tool<Args> {
    let flags = vec![
        F::switch(
            "compact",
            Some('c'),
            "Print each value minified on one line",
            "Print each value minified on one line, so NDJSON in gives NDJSON out.",
            |a, _| {
                a.layout = Some(Layout::Compact);
                Ok(())
            },
        ),
        Flag {
            long: Some("indent"),
            short: None,
            arity: Arity::Value {
                name: "N",
                choices: &[],
                hint: Hint::Other,
            },
            summary: "Indent by N spaces, 0 to 16 (default 2)",
            doc: "Indent each level by N spaces, 0 to 16 (default 2). 0 still puts \
                  every member and element on its own line, unindented; use --compact \
                  for one line per value.",
            hidden: false,
            apply: |a, v| {
                a.layout = Some(Layout::Pretty(Indent::Spaces(number(v, 0, 16)? as u8)));
                Ok(())
            },
        },
        F::switch(
            "tab",
            None,
            "Indent by one tab per level",
            "Indent each level by one tab.",
            |a, _| {
                a.layout = Some(Layout::Pretty(Indent::Tab));
                Ok(())
            },
        ),
        F::switch(
            "sort-keys",
            Some('S'),
            "Sort object keys, recursively",
            "Sort the members of every object by key (by code point, escapes decoded; \
             duplicate keys keep their order). Each outermost object is held in memory \
             once, as it will be printed (indentation included), until it closes, with \
             an index of about 150 bytes per member and per nested object; then it is \
             written out, so an array of objects streams. Sorting costs O(n log n) in \
             the number of members, whatever the depth.",
            |a, _| {
                a.sort_keys = true;
                Ok(())
            },
        ),
        F::switch(
            "ascii",
            Some('a'),
            "Escape non-ASCII characters as \\uXXXX",
            "Escape every non-ASCII character in strings as \\uXXXX (a surrogate pair \
             above U+FFFF). Escapes already in the input are kept as written.",
            |a, _| {
                a.ascii = true;
                Ok(())
            },
        ),
        F::switch(
            "strict",
            None,
            "Accept exactly one value per input",
            "Accept exactly one JSON value per input: empty input, a second value \
             ([][]) or trailing data is an error. Without it, an input may hold any \
             number of values (NDJSON among them), and each is printed as its own \
             document. As jq reads them, values need no whitespace between them where \
             the boundary is plain ([][], \"a\"1, 1\"a\", {}[]), but a number or \
             true, false or null must end before a letter or digit (truefalse and 1x \
             are errors).",
            |a, _| {
                a.strict = true;
                Ok(())
            },
        ),
        F::switch(
            "quiet",
            Some('q'),
            "Validate only: print nothing, set the exit code",
            "Validate only: print no values, report errors on stderr and set the exit \
             code.",
            |a, _| {
                a.quiet = true;
                Ok(())
            },
        ),
        Flag {
            long: Some("error-format"),
            short: None,
            arity: Arity::Value {
                name: "FORMAT",
                choices: &["full", "short"],
                hint: Hint::Other,
            },
            summary: "How errors are shown: full (with the line and a caret) or short",
            doc: "How syntax errors are shown on stderr. full (the default): \
                  FILE:LINE:COLUMN: what was expected, what was found and, for a common \
                  mistake (a trailing comma, single quotes, an unquoted key, a comment, NaN, \
                  a missing ':' or ',', a bracket that closes nothing or the wrong thing, \
                  input cut short, UTF-16), what it probably was; then the line with a caret \
                  under the column, cut around it when long. Invisible and look-alike \
                  characters are named by code point (U+00A0 NO-BREAK SPACE) and shown as a \
                  middle dot. short: the first line alone, for scripts and editors.",
            hidden: false,
            apply: |a, v| {
                a.short_errors = match text_value(v)? {
                    "full" => false,
                    "short" => true,
                    other => {
                        return Err(format!("invalid value '{other}': expected full or short"));
                    }
                };
                Ok(())
            },
        },
        F::switch(
            "color-output",
            Some('C'),
            "Colour the output even when it is not a terminal (--color=always)",
            "Colour the output even when it is not a terminal, as --color=always.",
            |a, _| {
                a.common.color = ColorChoice::Always;
                Ok(())
            },
        ),
        F::switch(
            "monochrome-output",
            Some('M'),
            "Never colour the output (--color=never)",
            "Never colour the output, as --color=never.",
            |a, _| {
                a.common.color = ColorChoice::Never;
                Ok(())
            },
        ),
    ];
    Tool {
        name: "jpretty",
        about: "pretty-print, validate and colour JSON, streaming",
        synopsis: &["[OPTIONS] [FILE...]"],
        description: "jpretty reads JSON from each FILE (- is standard input; with no FILE, \
            standard input) and writes it reformatted to standard output: pretty with a \
            2-space indent by default, or compact, coloured, with keys sorted or non-ASCII \
            escaped.\n\n\
            It copies numbers and strings exactly as written (1.0, 1e400 and 40-digit \
            integers stay as they are; escapes are kept), keeps key order and duplicate \
            keys, and skips a UTF-8 byte order mark. Input is validated strictly against \
            RFC 8259: no comments, NaN, single quotes, trailing commas, raw control \
            characters, bad escapes or invalid UTF-8. An error names the input, line and \
            column, what was expected and what was found; values printed before it stay \
            printed and the remaining inputs are still read.\n\n\
            jpretty keeps no document tree: memory use is constant whatever the size of \
            the input (unless --sort-keys), plus one byte per level of nesting open at \
            once; -q validates in time linear in the input. Each value is written as \
            soon as it is complete, so it works in pipes, on NDJSON logs and as a vim filter \
            (:%!jpretty).",
        flags: with_common(flags),
        positional: Positional {
            name: "FILE",
            hint: Hint::File,
        },
        operands_end_options: false,
        exit_status: &[
            (
                "0",
                "Every input was valid JSON (an empty input is valid unless --strict).",
            ),
            ("1", "Some input was not valid JSON."),
            (
                "2",
                "Usage error, or an input could not be read, or output could not be written. \
                 A closed pipe on standard output is not an error: jpretty stops with 0.",
            ),
        ],
        environment: &[
            (
                "JPRETTY_COLORS",
                "Colours, in the format of jq's JQ_COLORS: colon-separated SGR parameters for \
                 null:false:true:numbers:strings:arrays:objects:keys, e.g. 1;31:0;39. Fields \
                 left out keep the default 0;35:0;39:0;39:0;39:0;32:1;39:1;39:1;34.",
            ),
            (
                "NO_COLOR",
                "When set and not empty, --color=auto does not colour.",
            ),
            ("TERM", "When dumb, --color=auto does not colour."),
        ],
        examples: &[
            (
                "curl -s https://api.example.com/items | jpretty | less -R",
                "Read an API's answer, coloured in the pager (colour is on when stdout is a terminal; use -C with less).",
            ),
            (
                "jpretty -c big.json > big.min.json",
                "Minify a file of any size in constant memory.",
            ),
            (
                "jpretty -q --strict config.json && echo valid",
                "Validate a file that must hold exactly one value.",
            ),
            (
                "rrun --json uptime < hosts | jpretty -S",
                "Pretty-print JSON Lines, keys sorted.",
            ),
        ],
        see_also: &["jq(1)", "python3(1)"],
    }
}

/// Parses the command line and runs; returns the exit code.
pub fn main() -> i32 {
    cli::parse::main(&tool(), run)
}

/// Formats every input; returns the exit code.
pub fn run(args: Args) -> i32 {
    if !args.quiet && exit::is_closed(1) {
        exit::report("jpretty", "cannot write output: standard output is closed");
        return exit::USAGE;
    }
    let palette = (!args.quiet && args.common.color.for_stdout()).then(palette_from_env);
    let options = if args.quiet {
        // Validation alone: no layout, no sorting, so time is linear in
        // the input whatever its depth.
        Options {
            layout: Layout::Compact,
            sort_keys: false,
            ascii: false,
            strict: args.strict,
            palette: None,
        }
    } else {
        Options {
            layout: args.layout.unwrap_or(Layout::Pretty(Indent::Spaces(2))),
            sort_keys: args.sort_keys,
            ascii: args.ascii,
            strict: args.strict,
            palette,
        }
    };
    let files = if args.files.is_empty() {
        vec![OsString::from("-")]
    } else {
        args.files
    };
    let stdout = io::stdout();
    let mut stdout = stdout.lock();
    let mut sink = io::sink();
    let out: &mut dyn Write = if args.quiet { &mut sink } else { &mut stdout };
    let mut status = exit::SUCCESS;
    for file in &files {
        let (name, result) = if file == "-" {
            if exit::is_closed(0) {
                exit::report("jpretty", "<stdin>: cannot read: standard input is closed");
                status = status.max(exit::USAGE);
                continue;
            }
            (
                "<stdin>".to_string(),
                json::format_stream(io::stdin().lock(), out, &options),
            )
        } else {
            let name = file.to_string_lossy().into_owned();
            match File::open(file) {
                Ok(f) => {
                    let result = json::format_stream(f, out, &options);
                    (name, result)
                }
                Err(e) => {
                    exit::report(
                        "jpretty",
                        format_args!(
                            "{name}: cannot open: {}",
                            crate::ssh::session::plain_error(&e)
                        ),
                    );
                    status = status.max(exit::USAGE);
                    continue;
                }
            }
        };
        match result {
            Ok(()) => {}
            Err(json::Error::Syntax(e)) => {
                report_syntax(&name, &e, args.short_errors);
                status = status.max(INVALID);
            }
            Err(json::Error::Read(e)) => {
                exit::report(
                    "jpretty",
                    format_args!(
                        "{name}: cannot read: {}",
                        crate::ssh::session::plain_error(&e)
                    ),
                );
                status = status.max(exit::USAGE);
            }
            Err(json::Error::Write(e)) if exit::is_broken_pipe(&e) => return exit::SUCCESS,
            Err(json::Error::Write(e)) => {
                exit::report(
                    "jpretty",
                    format_args!(
                        "cannot write output: {}",
                        crate::ssh::session::plain_error(&e)
                    ),
                );
                return exit::USAGE;
            }
        }
    }
    status
}

/// A syntax error on stderr: `FILE:LINE:COLUMN: message`, then (unless
/// `short`) the line with a caret under the column, as rustc and gojq show
/// them.
fn report_syntax(name: &str, e: &json::SyntaxError, short: bool) {
    let mut text = format!("{name}:{e}");
    if let (false, Some(snippet)) = (short, &e.snippet) {
        let number = e.line.to_string();
        let pad = " ".repeat(number.len());
        text.push_str(&format!(
            "\n {number} | {}\n {pad} | {}^",
            snippet.text,
            " ".repeat(snippet.caret)
        ));
    }
    exit::report("jpretty", text);
}

/// The palette: `JPRETTY_COLORS` over the defaults. A bad value is reported
/// and the defaults are used, as colours are not worth failing for.
fn palette_from_env() -> Palette {
    match std::env::var("JPRETTY_COLORS") {
        Ok(spec) => Palette::parse(&spec).unwrap_or_else(|e| {
            exit::report(
                "jpretty",
                format_args!("JPRETTY_COLORS: {e}; using the default colours"),
            );
            Palette::default()
        }),
        Err(_) => Palette::default(),
    }
}
