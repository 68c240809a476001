//! logrotate: `logrotate -d F` (debug: reads and reports, rotates nothing).
//! Errors are `error: F:3 unknown option 'foobar' -- ignoring line`; they
//! may come with exit 0, so the diagnostics decide. Nothing to reload:
//! cron runs it.

use super::{Checker, Diagnostic};

pub fn checker() -> Checker {
    Checker {
        name: "logrotate",
        programs: &["logrotate"],
        live: "-d /etc/logrotate.conf",
        file: "-d %s",
        config: "/etc/logrotate.conf",
        parse,
        environment: |out| {
            out.lines()
                .find(|l| l.contains("Permission denied") && !l.contains(".conf:"))
                .map(|l| l.trim().to_string())
        },
        reload: None,
    }
}

pub fn parse(output: &str) -> Vec<Diagnostic> {
    output
        .lines()
        .filter_map(|line| {
            let (warning, rest) = match line.strip_prefix("error: ") {
                Some(r) => (false, r),
                None => (true, line.strip_prefix("warning: ")?),
            };
            // "F:3 message"
            let (place, msg) = rest.split_once(' ')?;
            let (file, n) = super::split_file_line(place)?;
            Some(if warning {
                Diagnostic::warning(file, Some(n), msg)
            } else {
                Diagnostic::error(file, Some(n), msg)
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::{Verdict, judge};

    #[test]
    fn recorded_outputs() {
        let text = include_str!("fixtures/logrotate-3.21-unknown-option.txt");
        let (v, d) = judge(&checker(), Some(1), text, false);
        assert_eq!(v, Verdict::Failed);
        assert_eq!(
            d[0].editor_line("logrotate"),
            "lr.conf:3: error: unknown option 'foobar' -- ignoring line [logrotate]"
        );
        // The debug banner is no diagnostic.
        assert_eq!(d.len(), 1);
    }
}
