//! Turns the command line into a tool's arguments by way of its flag table.
//!
//! lexopt splits the words (`-abc`, `--name=value`, `--`); the table says
//! which flags exist and what they do. Help, version and `--generate` are
//! answered here, so a tool's `run()` never sees them.

use std::ffi::OsString;

use super::flag::{Arity, Flag, HelpLevel, Tool, ToolArgs};
use super::{complete, exit, help, man};

/// Parses `args` (the first item is the program name, as in
/// `std::env::args_os()`).
///
/// `Err(code)` means the process should exit with `code` now: help, version
/// or a generated file was printed (0), or a usage error was reported (2).
pub fn parse<A: ToolArgs>(
    tool: &Tool<A>,
    args: impl IntoIterator<Item = OsString>,
) -> Result<A, i32> {
    let mut parsed = A::default();
    if let Err(message) = parse_into(tool, args, &mut parsed) {
        exit::report(
            tool.name,
            format_args!(
                "{message}\nUsage: {} {} (see '{} --help')",
                tool.name,
                tool.synopsis.first().copied().unwrap_or(""),
                tool.name
            ),
        );
        return Err(exit::USAGE);
    }
    let common = parsed.common().clone();
    let text = if let Some(level) = common.help {
        match level {
            HelpLevel::Short => help::short(tool),
            HelpLevel::Long => help::long(tool),
        }
    } else if common.version {
        format!("{} {}\n", tool.name, env!("CARGO_PKG_VERSION"))
    } else if let Some(kind) = &common.generate {
        generate(tool, kind)
    } else {
        return Ok(parsed);
    };
    // A closed pipe (`jpretty --help | head -1`) is not an error; a
    // closed or full stdout (`--help >/dev/full`) is, as for cat.
    match exit::write_stdout(text.as_bytes()) {
        Ok(()) => Err(exit::SUCCESS),
        Err(e) => {
            exit::report(tool.name, e);
            Err(exit::USAGE)
        }
    }
}

/// A tool's whole `main`: parse `std::env::args_os()` with its table, then
/// `run`; returns the exit code.
pub fn main<A: ToolArgs>(tool: &Tool<A>, run: fn(A) -> i32) -> i32 {
    match parse(tool, std::env::args_os()) {
        Ok(args) => run(args),
        Err(code) => code,
    }
}

/// Writes one of the generated files (see `GENERATE_KINDS`).
pub fn generate<A>(tool: &Tool<A>, kind: &str) -> String {
    match kind {
        "man" => man::page(tool),
        "complete-bash" => complete::bash(tool),
        "complete-zsh" => complete::zsh(tool),
        "complete-fish" => complete::fish(tool),
        other => unreachable!("--generate {other} was accepted by its flag"),
    }
}

fn parse_into<A: ToolArgs>(
    tool: &Tool<A>,
    args: impl IntoIterator<Item = OsString>,
    parsed: &mut A,
) -> Result<(), String> {
    use lexopt::Arg;
    let mut parser = lexopt::Parser::from_iter(args);
    while let Some(arg) = parser.next().map_err(|e| e.to_string())? {
        let (flag, shown) = match arg {
            Arg::Short(c) => (find(tool, |f| f.short == Some(c)), format!("-{c}")),
            Arg::Long(name) => (find(tool, |f| f.long == Some(name)), format!("--{name}")),
            Arg::Value(value) => {
                parsed.positional(value)?;
                if tool.operands_end_options {
                    for rest in parser.raw_args().map_err(|e| e.to_string())? {
                        parsed.positional(rest)?;
                    }
                }
                continue;
            }
        };
        let flag = flag.ok_or_else(|| format!("unknown option '{shown}'"))?;
        let value = match flag.arity {
            Arity::Switch => None,
            Arity::Value { .. } => Some(parser.value().map_err(|e| e.to_string())?),
            Arity::Attached { bare, .. } => Some(parser.optional_value().unwrap_or(bare.into())),
        };
        (flag.apply)(parsed, value.as_deref()).map_err(|e| format!("{shown}: {e}"))?;
    }
    Ok(())
}

fn find<A>(tool: &Tool<A>, pred: impl Fn(&Flag<A>) -> bool) -> Option<&Flag<A>> {
    tool.flags.iter().find(|f| pred(f))
}
