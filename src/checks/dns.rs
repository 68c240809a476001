//! DNS servers: BIND (`named-checkconf`, errors on stdout as `F:3: missing
//! ';' before 'recursion'`), Unbound (`unbound-checkconf`, `F:5: error:
//! unknown keyword 'foobar'`) and dnsmasq (`dnsmasq --test`, `dnsmasq: bad
//! option at line 2 of F`). dnsmasq rereads its config only on a restart,
//! which confcheck does not do: it has no reload.

use super::{Checker, Diagnostic};

pub fn bind() -> Checker {
    Checker {
        name: "bind",
        programs: &["named-checkconf"],
        live: "",
        file: "%s",
        config: "/etc/bind/named.conf",
        parse: file_line_message,
        environment: |out| super::line_with(out, &["file not found", "permission denied"]),
        reload: Some("rndc reload"),
    }
}

pub fn unbound() -> Checker {
    Checker {
        name: "unbound",
        programs: &["unbound-checkconf"],
        live: "",
        file: "%s",
        config: "/etc/unbound/unbound.conf",
        parse: file_line_message,
        environment: |out| super::line_with(out, &["Could not open", "Permission denied"]),
        reload: Some(
            "if [ -d /run/systemd/system ]; then systemctl reload unbound; else unbound-control reload; fi",
        ),
    }
}

pub fn dnsmasq() -> Checker {
    Checker {
        name: "dnsmasq",
        programs: &["dnsmasq"],
        live: "--test",
        file: "--test -C %s",
        config: "/etc/dnsmasq.conf",
        parse: dnsmasq_parse,
        environment: |out| super::line_with(out, &["cannot read", "Permission denied"]),
        reload: None,
    }
}

/// `F:LINE: [error: |warning: ]message`, as BIND and Unbound write it.
pub fn file_line_message(output: &str) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for line in output.lines() {
        let Some((file, rest)) = line.split_once(':') else {
            continue;
        };
        let Some((n, msg)) = rest.split_once(": ") else {
            continue;
        };
        let (Ok(n), false) = (n.parse::<u32>(), file.is_empty() || file.contains(' ')) else {
            continue;
        };
        out.push(match msg.strip_prefix("warning: ") {
            Some(m) => Diagnostic::warning(file, Some(n), m),
            None => Diagnostic::error(file, Some(n), msg.strip_prefix("error: ").unwrap_or(msg)),
        });
    }
    out
}

/// `dnsmasq: MESSAGE at line N of F`.
fn dnsmasq_parse(output: &str) -> Vec<Diagnostic> {
    output
        .lines()
        .filter_map(|line| {
            let msg = line.strip_prefix("dnsmasq: ").unwrap_or(line);
            let (what, place) = msg.rsplit_once(" at line ")?;
            let (n, file) = place.split_once(" of ")?;
            Some(Diagnostic::error(file.trim(), Some(n.parse().ok()?), what))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::{Verdict, judge};

    #[test]
    fn recorded_outputs() {
        let text = include_str!("fixtures/bind-9.18.49-missing-semicolon.txt");
        let (v, d) = judge(&bind(), Some(1), text, false);
        assert_eq!(v, Verdict::Failed);
        assert_eq!(
            d[0].editor_line("bind"),
            "named.conf:4: error: missing ';' before 'allow-query' [bind]"
        );
        let text = include_str!("fixtures/unbound-1.17.1-unknown-keyword.txt");
        let (v, d) = judge(&unbound(), Some(1), text, false);
        assert_eq!(v, Verdict::Failed);
        assert_eq!(
            d[0].editor_line("unbound"),
            "unb.conf:3: error: unknown keyword 'foobar' [unbound]"
        );
        let text = include_str!("fixtures/dnsmasq-2.90-bad-option.txt");
        let (v, d) = judge(&dnsmasq(), Some(1), text, false);
        assert_eq!(v, Verdict::Failed);
        assert_eq!(
            d[0].editor_line("dnsmasq"),
            "dm.conf:2: error: bad option [dnsmasq]"
        );
        assert_eq!(
            judge(&dnsmasq(), Some(0), "dnsmasq: syntax check OK.\n", false).0,
            Verdict::Passed
        );
    }
}
