//! rsyslog: `rsyslogd -N1 -f F` (a validation run). Errors are `rsyslogd:
//! error during parsing file F, on or before line 2: MESSAGE`, often twice.

use super::{Checker, Diagnostic};

pub fn checker() -> Checker {
    Checker {
        name: "rsyslog",
        programs: &["rsyslogd"],
        live: "-N1",
        file: "-N1 -f %s",
        config: "/etc/rsyslog.conf",
        parse,
        environment: |out| super::line_with(out, &["Permission denied"]),
        reload: Some(
            "if [ -d /run/systemd/system ]; then systemctl restart rsyslog; else kill -HUP \"$(cat /run/rsyslogd.pid)\"; fi",
        ),
    }
}

pub fn parse(output: &str) -> Vec<Diagnostic> {
    output
        .lines()
        .filter_map(|line| {
            let rest = line.split("parsing file ").nth(1)?;
            let (file, rest) = rest.split_once(", on or before line ")?;
            let (n, msg) = rest.split_once(": ")?;
            // Drop the trailing "[v8… try https://…]" pointer.
            let msg = msg.split(" [v").next().unwrap_or(msg);
            Some(Diagnostic::error(file, Some(n.parse().ok()?), msg))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::{Verdict, judge};

    #[test]
    fn recorded_outputs() {
        let text = include_str!("fixtures/rsyslog-8.2302-unknown-statement.txt");
        let (v, d) = judge(&checker(), Some(1), text, false);
        assert_eq!(v, Verdict::Failed);
        assert_eq!(d.len(), 1, "the repeated message is said once");
        assert_eq!(
            d[0].editor_line("rsyslog"),
            "/tmp/cc/rs.bad:2: error: warnings occurred in file '/tmp/cc/rs.bad' around line 2 [rsyslog]"
        );
    }
}
