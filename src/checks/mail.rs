//! Mail servers: Dovecot, `doveconf -n -c F` (exit 89): `doveconf: Fatal:
//! Error in configuration file F line 2: Unknown setting: foobar`.

use super::{Checker, Diagnostic};

pub fn dovecot() -> Checker {
    Checker {
        name: "dovecot",
        programs: &["doveconf"],
        live: "-n",
        file: "-n -c %s",
        config: "/etc/dovecot/dovecot.conf",
        parse: dovecot_parse,
        environment: |out| super::line_with(out, &["Permission denied"]),
        reload: Some("doveadm reload"),
    }
}

fn dovecot_parse(output: &str) -> Vec<Diagnostic> {
    output
        .lines()
        .filter_map(|line| {
            let rest = line.split("Error in configuration file ").nth(1)?;
            let (file, rest) = rest.split_once(" line ")?;
            let (n, msg) = rest.split_once(": ")?;
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
        let text = include_str!("fixtures/dovecot-2.3.19-unknown-setting.txt");
        let (v, d) = judge(&dovecot(), Some(89), text, false);
        assert_eq!(v, Verdict::Failed);
        assert_eq!(
            d[0].editor_line("dovecot"),
            "/tmp/cc/dv.bad:2: error: Unknown setting: foobar [dovecot]"
        );
    }
}

/// Postfix: `postconf -n -c DIR` reads DIR/main.cf and reports to stderr
/// (`postfix check` logs to syslog instead): `postconf: fatal: F, line 2:
/// …`; `unused parameter` is a warning. A candidate must be named
/// `main.cf`: its directory is the one given to `-c`.
pub fn postfix() -> Checker {
    Checker {
        name: "postfix",
        programs: &["postconf"],
        live: "-n",
        file: "-n -c \"$(dirname %s)\"",
        config: "/etc/postfix/main.cf",
        parse: postfix_parse,
        environment: |out| super::line_with(out, &["fatal: open ", "Permission denied"]),
        reload: Some("postfix reload"),
    }
}

fn postfix_parse(output: &str) -> Vec<Diagnostic> {
    output
        .lines()
        .filter_map(|line| {
            if let Some(rest) = line.split("fatal: ").nth(1) {
                let (file, rest) = rest.split_once(", line ")?;
                let (n, msg) = rest.split_once(": ")?;
                return Some(Diagnostic::error(file, Some(n.parse().ok()?), msg));
            }
            let rest = line.split("warning: ").nth(1)?;
            let (file, msg) = rest.split_once(": ")?;
            (file.ends_with(".cf") && !file.contains(' '))
                .then(|| Diagnostic::warning(file, None, msg))
        })
        .collect()
}

#[cfg(test)]
mod postfix_tests {
    use super::*;
    use crate::checks::{Verdict, judge};

    #[test]
    fn recorded_outputs() {
        let text = include_str!("fixtures/postfix-3.7-missing-equals.txt");
        let (v, d) = judge(&postfix(), Some(1), text, false);
        assert_eq!(v, Verdict::Failed);
        assert_eq!(
            d[0].editor_line("postfix"),
            "/tmp/cc/pf/main.cf:2: error: missing '=' after attribute name: \"bad line here\" [postfix]"
        );
        let (v, d) = judge(
            &postfix(),
            Some(0),
            "postconf: warning: /x/main.cf: unused parameter: foobar=1\n",
            false,
        );
        assert_eq!(
            (v, d[0].severity),
            (Verdict::Passed, crate::checks::Severity::Warning)
        );
    }
}
