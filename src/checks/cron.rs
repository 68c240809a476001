//! Debian's cron: `crontab -n F` (a dry run; cronie's is `-T`). Errors are
//! `"F":1: bad minute` — and Debian's line number counts from 0, so 1 is
//! added. Nothing to reload: cron rereads crontabs itself. Without -f the
//! system crontab is checked.

use super::{Checker, Diagnostic};

pub fn checker() -> Checker {
    Checker {
        name: "crontab",
        programs: &["crontab"],
        live: "-n /etc/crontab",
        file: "-n %s",
        config: "/etc/crontab",
        parse,
        environment: |out| super::line_with(out, &["Permission denied", "No such file"]),
        reload: None,
    }
}

pub fn parse(output: &str) -> Vec<Diagnostic> {
    output
        .lines()
        .filter_map(|line| {
            let rest = line.strip_prefix('"')?;
            let (file, rest) = rest.split_once("\":")?;
            let (n, msg) = rest.split_once(": ")?;
            let n: u32 = n.parse().ok()?;
            Some(Diagnostic::error(file, Some(n + 1), msg))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::{Verdict, judge};

    #[test]
    fn recorded_outputs() {
        let text = include_str!("fixtures/cron-3.0pl1-bad-minute.txt");
        let (v, d) = judge(&checker(), Some(1), text, false);
        assert_eq!(v, Verdict::Failed);
        assert_eq!(
            d[0].editor_line("crontab"),
            "cron.bad:2: error: bad minute [crontab]"
        );
    }
}
