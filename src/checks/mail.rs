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
        environment: |out| {
            out.lines()
                .find(|l| l.contains("Permission denied"))
                .map(|l| l.trim().to_string())
        },
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
