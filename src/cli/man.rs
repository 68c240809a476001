//! The roff man page, generated from the flag table (`--generate man`).

use std::fmt::Write;

use super::flag::{Arity, Tool};
use super::help::{Paragraph, paragraphs};

/// The whole man page in section 1.
pub fn page<A>(tool: &Tool<A>) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        ".TH {} 1 \"\" \"fleetkit {}\" \"User Commands\"",
        tool.name.to_uppercase(),
        env!("CARGO_PKG_VERSION")
    );
    let _ = writeln!(out, ".SH NAME\n{} \\- {}", tool.name, escape(tool.about));
    out.push_str(".SH SYNOPSIS\n");
    for (i, line) in tool.synopsis.iter().enumerate() {
        if i > 0 {
            out.push_str(".br\n");
        }
        let _ = writeln!(out, ".B {}\n{}", tool.name, escape(line));
    }
    out.push_str(".SH DESCRIPTION\n");
    body(&mut out, tool.description, ".PP");
    out.push_str(".SH OPTIONS\n");
    for flag in tool.visible_flags() {
        out.push_str(".TP\n");
        let mut sig = Vec::new();
        if let Some(s) = flag.short {
            sig.push(format!("\\fB\\-{s}\\fR"));
        }
        if let Some(long) = flag.long {
            sig.push(format!("\\fB\\-\\-{}\\fR", escape(long)));
        }
        let mut sig = sig.join(", ");
        if let Arity::Attached { name, .. } = flag.arity {
            let _ = write!(sig, "[=\\fI{name}\\fR]");
        }
        if let Arity::Value { name, .. } = flag.arity {
            let _ = write!(sig, " \\fI{name}\\fR");
        }
        let _ = writeln!(out, "{sig}");
        body(&mut out, flag.doc, ".IP");
    }
    table(&mut out, "EXIT STATUS", tool.exit_status);
    table(&mut out, "ENVIRONMENT", tool.environment);
    if !tool.examples.is_empty() {
        out.push_str(".SH EXAMPLES\n");
        for (command, what) in tool.examples {
            let _ = writeln!(out, ".TP\n.B {}", escape(command));
            body(&mut out, what, ".IP");
        }
    }
    if !tool.see_also.is_empty() {
        let refs: Vec<String> = tool
            .see_also
            .iter()
            .map(|r| match r.split_once('(') {
                Some((name, sect)) => format!("\\fB{}\\fR({sect}", escape(name)),
                None => escape(r),
            })
            .collect();
        let _ = writeln!(out, ".SH SEE ALSO\n{}", refs.join(", "));
    }
    out
}

fn table(out: &mut String, title: &str, rows: &[(&str, &str)]) {
    if rows.is_empty() {
        return;
    }
    let _ = writeln!(out, ".SH {title}");
    for (key, what) in rows {
        let _ = writeln!(out, ".TP\n.B {}", escape(key));
        body(out, what, ".IP");
    }
}

/// Writes doc paragraphs: prose joined into roff lines, verbatim kept with
/// `.nf`/`.fi`; `sep` starts each later paragraph (`.PP` at section level,
/// `.IP` inside an indented item, so it stays indented).
fn body(out: &mut String, text: &str, sep: &str) {
    for (i, para) in paragraphs(text).enumerate() {
        if i > 0 {
            out.push_str(sep);
            out.push('\n');
        }
        match para {
            Paragraph::Prose(p) => {
                let joined: Vec<&str> = p.split_whitespace().collect();
                let _ = writeln!(out, "{}", escape(&joined.join(" ")));
            }
            Paragraph::Verbatim(p) => {
                out.push_str(".nf\n");
                for line in p.lines() {
                    let _ = writeln!(out, "{}", escape(line));
                }
                out.push_str(".fi\n");
            }
        }
    }
}

/// Escapes text for roff: backslashes, hyphens (so they copy as ASCII
/// minus signs) and a leading control character.
fn escape(text: &str) -> String {
    let mut s = text.replace('\\', "\\e").replace('-', "\\-");
    if s.starts_with('.') || s.starts_with('\'') {
        s.insert_str(0, "\\&");
    }
    s
}
