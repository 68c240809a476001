//! `jpretty`: pretty-print, validate and colour JSON, streaming.
//!
//! Owns jpretty's flag table, its arguments and `run()`: which inputs to
//! read, which options to hand the formatter in [`crate::json`], how errors
//! are reported and what the exit code is.

use std::ffi::OsString;
use std::fs::File;
use std::io::{self, Write};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

use crate::cli::flag::{Positional, number, text as text_value, with_common};
use crate::cli::{self, Arity, ColorChoice, Common, Flag, Hint, Tool, ToolArgs, exit};
use crate::json::{self, Indent, Layout, Options, Palette, Records};
use crate::output::files::AtomicFile;
use crate::ssh::session::plain_error;

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
    records: Option<Records>,
    unescape: bool,
    /// `-o FILE`.
    output: Option<PathBuf>,
    in_place: bool,
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
            "pretty",
            None,
            "Print pretty (2-space indent), also with --lines",
            "Print each value pretty with a 2-space indent: the default, except with \
             --lines, whose values are printed compact unless this (or --indent or \
             --tab) is given.",
            |a, _| {
                a.layout = Some(Layout::Pretty(Indent::Spaces(2)));
                Ok(())
            },
        ),
        F::switch(
            "lines",
            None,
            "JSON Lines in and out: a bad line is reported and skipped",
            "Read and write JSON Lines: one value per line, printed compact (or pretty \
             with --pretty). A line that is not one valid value is reported as \
             FILE:LINE:COLUMN: … on stderr and skipped, none of it printed, and the \
             rest goes on; the exit status is then 1. Blank lines are skipped.",
            |a, _| {
                a.records = Some(Records::Lines);
                Ok(())
            },
        ),
        F::switch(
            "seq",
            None,
            "RFC 7464 JSON text sequences in and out (as jq --seq)",
            "Read and write RFC 7464 JSON text sequences: each value follows a record \
             separator (U+001E) and ends with a newline, as jq --seq writes them. A bad \
             or truncated record (a number or literal not followed by whitespace) is \
             reported and skipped, and the rest goes on; the exit status is then 1.",
            |a, _| {
                a.records = Some(Records::Seq);
                Ok(())
            },
        ),
        F::switch(
            "unescape",
            Some('U'),
            "Decode escapes in strings where the character can be printed",
            "Print strings with their escapes decoded to UTF-8 (\\u00e9 as é, a \
             surrogate pair as one character, \\/ as /), the opposite of --ascii, as \
             jq prints them. Escapes that must stay escaped (\\\", \\\\, control \
             characters) and lone surrogates are kept as written.",
            |a, _| {
                a.unescape = true;
                Ok(())
            },
        ),
        F::value(
            "output",
            Some('o'),
            ("FILE", Hint::File),
            "Write to FILE (atomically; kept as it was on any error)",
            "Write the output to FILE instead of standard output: to a new file beside \
             it, renamed over FILE once every input was read and valid. On any error \
             FILE is left as it was. Not coloured unless --color=always.",
            |a, v| {
                a.output = Some(PathBuf::from(v.unwrap_or_default()));
                Ok(())
            },
        ),
        F::switch(
            "in-place",
            None,
            "Reformat each FILE in place (kept as it was on any error)",
            "Reformat each FILE in place: written to a new file beside it (beside its \
             target, for a symbolic link, which stays a link), given the original's \
             mode (and owner, as root), and renamed over it. A FILE that is not valid \
             JSON, or cannot be read or written, is left as it was and named on \
             stderr; the other files are still done.",
            |a, _| {
                a.in_place = true;
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
            once (and 8 more for each of the outermost 65536, to say where a bracket \
            opened), and a number is held whole while it is checked (about twice its \
            length; strings stream whatever their length); -q validates in time linear \
            in the input. A regular file is read, and indexed for its structure, a chunk \
            (256 KiB) ahead on a second thread; a pipe or terminal is read on the one \
            thread. Each value is written as \
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
    if let Err(e) = args.check() {
        exit::report("jpretty", e);
        return exit::USAGE;
    }
    let to_file = args.output.is_some() || args.in_place;
    if !args.quiet && !to_file && exit::is_closed(1) {
        exit::report("jpretty", "cannot write output: standard output is closed");
        return exit::USAGE;
    }
    let colour = if to_file {
        args.common.color == ColorChoice::Always
    } else {
        !args.quiet && args.common.color.for_stdout()
    };
    let options = args.options(colour.then(palette_from_env));
    let files = if args.files.is_empty() {
        vec![OsString::from("-")]
    } else {
        args.files.clone()
    };
    if args.in_place {
        return in_place(&args, &options, &files);
    }
    if let Some(path) = &args.output {
        let mut file = match AtomicFile::create_path(path) {
            Ok(f) => f,
            Err(e) => {
                exit::report(
                    "jpretty",
                    format_args!("{}: cannot write: {}", path.display(), plain_error(&e)),
                );
                return exit::USAGE;
            }
        };
        let status = format_all(&args, &options, &files, &mut file);
        if status != exit::SUCCESS {
            exit::report(
                "jpretty",
                format_args!("{}: left as it was", path.display()),
            );
            return status;
        }
        return match file.commit() {
            Ok(_) => exit::SUCCESS,
            Err(e) => {
                exit::report(
                    "jpretty",
                    format_args!("{}: cannot write: {}", path.display(), plain_error(&e)),
                );
                exit::USAGE
            }
        };
    }
    if args.quiet {
        return format_all(&args, &options, &files, &mut io::sink());
    }
    // Standard output as a file of its own (a duplicate of descriptor 1),
    // not through std's line buffering: the formatter writes whole blocks
    // and flushes them itself, and the line buffer looked for the last
    // newline in each block (all of it in compact output, which has none:
    // 7% of the formatter's instructions) and split each into two writes.
    let mut stdout = match io::stdout().as_fd().try_clone_to_owned() {
        Ok(fd) => File::from(fd),
        Err(e) => {
            exit::report(
                "jpretty",
                format_args!("cannot write output: {}", plain_error(&e)),
            );
            return exit::USAGE;
        }
    };
    format_all(&args, &options, &files, &mut stdout)
}

impl Args {
    /// Options that cannot go together, and --in-place's files.
    fn check(&self) -> Result<(), String> {
        let pairs = [
            (self.ascii && self.unescape, "--ascii and --unescape"),
            (
                self.strict && self.records.is_some(),
                "--strict and --lines or --seq (records are checked one by one)",
            ),
            (self.in_place && self.output.is_some(), "--in-place and -o"),
            (self.quiet && self.output.is_some(), "--quiet and -o"),
            (self.quiet && self.in_place, "--quiet and --in-place"),
        ];
        if let Some((_, both)) = pairs.iter().find(|(clash, _)| *clash) {
            return Err(format!("{both} cannot be used together"));
        }
        if self.in_place && (self.files.is_empty() || self.files.iter().any(|f| f == "-")) {
            return Err("--in-place needs FILE operands (not standard input)".to_string());
        }
        Ok(())
    }

    /// What the formatter is asked for.
    fn options(&self, palette: Option<Palette>) -> Options {
        let records = self.records.unwrap_or(Records::Stream);
        if self.quiet {
            // Validation alone: no layout, no sorting, so time is linear
            // in the input whatever its depth.
            return Options {
                layout: Layout::Compact,
                strict: self.strict,
                records,
                ..Options::default()
            };
        }
        let layout = match (self.layout, records) {
            (Some(layout), _) => layout,
            (None, Records::Lines) => Layout::Compact,
            (None, _) => Layout::Pretty(Indent::Spaces(2)),
        };
        Options {
            layout,
            sort_keys: self.sort_keys,
            ascii: self.ascii,
            strict: self.strict,
            palette,
            records,
            unescape: self.unescape,
            simd: None,
        }
    }
}

/// What became of one input.
enum Done {
    /// Go on, with this exit status so far.
    Status(i32),
    /// Stop now with this status (the output is gone: a closed pipe, a
    /// full disk).
    Stop(i32),
}

/// Formats `files` in turn into `out`; returns the exit status.
fn format_all(args: &Args, options: &Options, files: &[OsString], out: &mut dyn Write) -> i32 {
    let mut status = exit::SUCCESS;
    for file in files {
        let done = if file == "-" {
            if exit::is_closed(0) {
                exit::report("jpretty", "<stdin>: cannot read: standard input is closed");
                status = status.max(exit::USAGE);
                continue;
            }
            format_one(
                "<stdin>",
                Input::Stdin(io::stdin().lock()),
                out,
                options,
                args.short_errors,
            )
        } else {
            let name = file.to_string_lossy();
            match File::open(file) {
                Ok(f) => format_one(&name, Input::File(f), out, options, args.short_errors),
                Err(e) => {
                    exit::report(
                        "jpretty",
                        format_args!("{name}: cannot open: {}", plain_error(&e)),
                    );
                    Done::Status(exit::USAGE)
                }
            }
        };
        match done {
            Done::Status(s) => status = status.max(s),
            Done::Stop(s) => return s,
        }
    }
    status
}

/// What is read: a file (read ahead on another thread where it is a
/// regular one), or standard input.
enum Input {
    File(File),
    Stdin(io::StdinLock<'static>),
}

/// Formats one input named `name` into `out`, reporting its errors.
fn format_one(
    name: &str,
    input: Input,
    out: &mut dyn Write,
    options: &Options,
    short: bool,
) -> Done {
    let mut invalid = false;
    let mut on_error = |e: json::SyntaxError| {
        report_syntax(name, &e, short);
        invalid = true;
    };
    let result = match (input, options.records) {
        (Input::File(f), Records::Stream) => json::format_file(f, out, options),
        (Input::Stdin(s), Records::Stream) => json::format_stream(s, out, options),
        (Input::File(f), _) => json::format_records(f, out, options, &mut on_error),
        (Input::Stdin(s), _) => json::format_records(s, out, options, &mut on_error),
    };
    match result {
        Ok(()) if invalid => Done::Status(INVALID),
        Ok(()) => Done::Status(exit::SUCCESS),
        Err(json::Error::Syntax(e)) => {
            report_syntax(name, &e, short);
            Done::Status(INVALID)
        }
        Err(json::Error::Read(e)) => {
            exit::report(
                "jpretty",
                format_args!("{name}: cannot read: {}", plain_error(&e)),
            );
            Done::Status(exit::USAGE)
        }
        Err(json::Error::Write(e)) if exit::is_broken_pipe(&e) => Done::Stop(exit::SUCCESS),
        Err(json::Error::Write(e)) => {
            exit::report(
                "jpretty",
                format_args!("cannot write output: {}", plain_error(&e)),
            );
            Done::Stop(exit::USAGE)
        }
    }
}

/// `--in-place`: each file reformatted into a new file beside it (beside
/// its target, for a link) and renamed over it only when all went well.
fn in_place(args: &Args, options: &Options, files: &[OsString]) -> i32 {
    let mut status = exit::SUCCESS;
    for file in files {
        let shown = Path::new(file).display().to_string();
        let done = rewrite(args, options, Path::new(file), &shown);
        if let Err(s) = done {
            exit::report("jpretty", format_args!("{shown}: left as it was"));
            status = status.max(s);
        }
    }
    status
}

/// Rewrites one file in place; `Err(status)` when it was left as it was.
fn rewrite(args: &Args, options: &Options, path: &Path, shown: &str) -> Result<(), i32> {
    use std::os::unix::fs::MetadataExt;
    let fail = |what: &str, e: io::Error| {
        exit::report(
            "jpretty",
            format_args!("{shown}: {what}: {}", plain_error(&e)),
        );
        exit::USAGE
    };
    // A link stays a link: its target is rewritten.
    let target = std::fs::canonicalize(path).map_err(|e| fail("cannot open", e))?;
    let input = File::open(&target).map_err(|e| fail("cannot open", e))?;
    let meta = input.metadata().map_err(|e| fail("cannot read", e))?;
    if !meta.is_file() {
        exit::report("jpretty", format_args!("{shown}: not a regular file"));
        return Err(exit::USAGE);
    }
    let mut new = AtomicFile::create_path(&target).map_err(|e| fail("cannot write", e))?;
    match format_one(
        shown,
        Input::File(input),
        &mut new,
        options,
        args.short_errors,
    ) {
        Done::Status(exit::SUCCESS) => {}
        Done::Status(s) | Done::Stop(s) => return Err(s),
    }
    new.keep_attributes(meta.mode(), meta.uid(), meta.gid())
        .map_err(|e| fail("cannot write", e))?;
    new.commit().map_err(|e| fail("cannot write", e))?;
    Ok(())
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
