//! keepalived: `keepalived -t -f F`. Problems are `(F: Line 4) Unknown
//! keyword 'foobar'`, repeated per pass; missing includes still exit 0.

use super::{Checker, Diagnostic};

pub fn checker() -> Checker {
    Checker {
        name: "keepalived",
        programs: &["keepalived"],
        live: "-t",
        file: "-t -f %s",
        config: "/etc/keepalived/keepalived.conf",
        parse,
        environment: |out| super::line_with(out, &["Permission denied", "Unable to open"]),
        reload: Some(
            "if [ -d /run/systemd/system ]; then systemctl reload keepalived; else kill -HUP \"$(cat /run/keepalived.pid)\"; fi",
        ),
    }
}

pub fn parse(output: &str) -> Vec<Diagnostic> {
    output
        .lines()
        .filter_map(|line| {
            let rest = line.strip_prefix('(')?;
            let (place, msg) = rest.split_once(") ")?;
            let (file, n) = place.split_once(": Line ")?;
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
        let text = include_str!("fixtures/keepalived-2.2.7-unknown-keyword.txt");
        let (v, d) = judge(&checker(), Some(5), text, false);
        assert_eq!(v, Verdict::Failed);
        assert_eq!(d.len(), 1);
        assert_eq!(
            d[0].editor_line("keepalived"),
            "/tmp/cc/ka.bad:4: error: Unknown keyword 'foobar' [keepalived]"
        );
    }
}
