//! `-h` (a line per flag) and `--help` (everything), rendered from the flag
//! table so help can never disagree with what the parser accepts.

use std::fmt::Write;

use super::flag::{Arity, Flag, Tool};

const WIDTH: usize = 79;

/// The `-h` text.
pub fn short<A>(tool: &Tool<A>) -> String {
    let mut out = header(tool);
    out.push_str("\nOptions:\n");
    for flag in tool.visible_flags() {
        let sig = signature(flag);
        if sig.len() <= 26 {
            let _ = writeln!(out, "  {sig:<26} {}", flag.summary);
        } else {
            let _ = writeln!(out, "  {sig}\n  {:<26} {}", "", flag.summary);
        }
    }
    let _ = writeln!(out, "\nUse '{} --help' for the full help.", tool.name);
    out
}

/// The `--help` text.
pub fn long<A>(tool: &Tool<A>) -> String {
    let mut out = header(tool);
    out.push('\n');
    out.push_str(&wrap(tool.description, 0));
    out.push_str("\nOptions:\n");
    for flag in tool.visible_flags() {
        let _ = writeln!(out, "  {}", signature(flag));
        out.push_str(&wrap(flag.doc, 10));
        out.push('\n');
    }
    section(&mut out, "Exit status", tool.exit_status);
    section(&mut out, "Environment", tool.environment);
    if !tool.examples.is_empty() {
        out.push_str("Examples:\n");
        for (command, what) in tool.examples {
            let _ = writeln!(out, "  {command}");
            out.push_str(&wrap(what, 10));
        }
    }
    out
}

/// How a flag is written in help: `-c, --compact`, `    --indent=N`.
pub fn signature<A>(flag: &Flag<A>) -> String {
    let mut sig = match (flag.short, flag.long) {
        (Some(s), None) => format!("-{s}"),
        (Some(s), Some(long)) => format!("-{s}, --{long}"),
        (None, Some(long)) => format!("    --{long}"),
        (None, None) => String::new(),
    };
    if let Arity::Attached { name, .. } = flag.arity {
        let _ = write!(sig, "[={name}]");
    }
    if let Arity::Value { name, .. } = flag.arity {
        if flag.long.is_none() {
            let _ = write!(sig, " {name}");
        } else {
            let _ = write!(sig, "={name}");
        }
    }
    sig
}

fn header<A>(tool: &Tool<A>) -> String {
    let mut out = format!(
        "{} {}: {}\n\n",
        tool.name,
        env!("CARGO_PKG_VERSION"),
        tool.about
    );
    for (i, line) in tool.synopsis.iter().enumerate() {
        let lead = if i == 0 { "Usage:" } else { "      " };
        let _ = writeln!(out, "{lead} {} {line}", tool.name);
    }
    out
}

fn section(out: &mut String, title: &str, rows: &[(&str, &str)]) {
    if rows.is_empty() {
        return;
    }
    let _ = writeln!(out, "{title}:");
    for (key, what) in rows {
        let _ = writeln!(out, "  {key}");
        out.push_str(&wrap(what, 10));
    }
    out.push('\n');
}

/// Splits text into paragraphs (blank-line separated). A paragraph whose
/// first line starts with two spaces is verbatim (a command, a table).
pub fn paragraphs(text: &str) -> impl Iterator<Item = Paragraph<'_>> {
    text.split("\n\n").map(|p| {
        if p.starts_with("  ") {
            Paragraph::Verbatim(p)
        } else {
            Paragraph::Prose(p)
        }
    })
}

/// One paragraph of a doc string.
pub enum Paragraph<'a> {
    /// Running text, to be filled.
    Prose(&'a str),
    /// Lines kept as written.
    Verbatim(&'a str),
}

/// Fills `text` to [`WIDTH`] columns, indented by `indent`.
fn wrap(text: &str, indent: usize) -> String {
    let pad = " ".repeat(indent);
    let mut out = String::new();
    for (i, para) in paragraphs(text).enumerate() {
        if i > 0 {
            out.push('\n');
        }
        match para {
            Paragraph::Verbatim(p) => {
                for line in p.lines() {
                    let _ = writeln!(out, "{pad}{line}");
                }
            }
            Paragraph::Prose(p) => {
                let mut line = String::new();
                for word in p.split_whitespace() {
                    if !line.is_empty() && indent + line.len() + 1 + word.len() > WIDTH {
                        let _ = writeln!(out, "{pad}{line}");
                        line.clear();
                    }
                    if !line.is_empty() {
                        line.push(' ');
                    }
                    line.push_str(word);
                }
                if !line.is_empty() {
                    let _ = writeln!(out, "{pad}{line}");
                }
            }
        }
    }
    out
}
