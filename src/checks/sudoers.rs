//! sudo's sudoers: `visudo -c` (`-f FILE` for a candidate). An error is
//! `F:2:24: syntax error` followed by the line and a caret; older sudo
//! says `>>> F: syntax error near line 2 <<<`. Nothing to reload: sudo
//! reads the file on each use.

use super::{Checker, Diagnostic};

pub fn checker() -> Checker {
    Checker {
        name: "sudoers",
        programs: &["visudo"],
        live: "-c",
        file: "-c -f %s",
        config: "/etc/sudoers",
        parse,
        environment,
        reload: None,
    }
}

pub fn parse(output: &str) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for line in output.lines() {
        if let Some(inner) = line
            .strip_prefix(">>> ")
            .and_then(|l| l.strip_suffix(" <<<"))
        {
            // F: syntax error near line N
            if let Some((file, rest)) = inner.split_once(": ")
                && let Some(n) = rest.rsplit(' ').next().and_then(|n| n.parse().ok())
            {
                out.push(Diagnostic::error(file, Some(n), rest));
            }
            continue;
        }
        // F:LINE:COL: message, or a warning: "Warning: F:LINE:COL: message"
        let (line, warned) = match line.strip_prefix("Warning: ") {
            Some(rest) => (rest, true),
            None => (line, false),
        };
        let mut parts = line.splitn(4, ':');
        let (Some(file), Some(l), Some(c), Some(msg)) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        let (Ok(l), Ok(c)) = (l.parse::<u32>(), c.parse::<u32>()) else {
            continue;
        };
        let msg = msg.trim();
        let mut d = if warned || msg.to_ascii_lowercase().starts_with("warning") {
            Diagnostic::warning(file, Some(l), msg)
        } else {
            Diagnostic::error(file, Some(l), msg)
        };
        d.column = Some(c);
        out.push(d);
    }
    out
}

fn environment(output: &str) -> Option<String> {
    output
        .lines()
        .find(|l| l.contains("unable to open") || l.contains("Permission denied"))
        .map(|l| l.trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::{Verdict, judge};

    const BAD: &str = include_str!("fixtures/sudo-1.9.13p3-syntax-error.txt");

    #[test]
    fn recorded_outputs() {
        let (v, d) = judge(&checker(), Some(1), BAD, false);
        assert_eq!(v, Verdict::Failed);
        assert_eq!(
            d[0].editor_line("sudoers"),
            "sd/bad:2:16: error: syntax error [sudoers]"
        );
        let old = ">>> /etc/sudoers: syntax error near line 28 <<<\nparse error in /etc/sudoers near line 28\n";
        let (_, d) = judge(&checker(), Some(1), old, false);
        assert_eq!((d[0].file.as_str(), d[0].line), ("/etc/sudoers", Some(28)));
    }
}
