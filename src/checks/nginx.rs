//! nginx: `nginx -t` (`-c FILE` for a candidate). Messages are
//! `… [emerg] PID#TID: MESSAGE in FILE:LINE`; `[warn]` still exits 0; a
//! missing `;` is reported at the line where nginx noticed it. An error
//! with no location (a log or pid file it cannot open) is about the
//! environment, not the config.

use super::{Checker, Diagnostic, split_file_line};

pub fn checker() -> Checker {
    Checker {
        name: "nginx",
        programs: &["nginx"],
        live: "-t",
        file: "-t -c %s",
        config: "/etc/nginx/nginx.conf",
        parse,
        environment,
        reload: Some(
            "if [ -d /run/systemd/system ]; then systemctl reload nginx; else nginx -s reload; fi",
        ),
    }
}

/// The level and the message after `PID#TID: `.
fn message(line: &str) -> Option<(&str, &str)> {
    let open = line.find(" [")?;
    let rest = &line[open + 2..];
    let close = rest.find("] ")?;
    let level = &rest[..close];
    let rest = &rest[close + 2..];
    let msg = match rest.split_once(": ") {
        Some((pid, m)) if pid.contains('#') => m,
        _ => rest,
    };
    Some((level, msg))
}

pub fn parse(output: &str) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for line in output.lines() {
        let Some((level, msg)) = message(line) else {
            continue;
        };
        let error = matches!(level, "emerg" | "alert" | "crit" | "error");
        if !error && level != "warn" {
            continue;
        }
        let located = msg
            .rsplit_once(" in ")
            .and_then(|(m, at)| split_file_line(at).map(|(f, l)| (m, f, l)));
        match located {
            Some((m, file, line)) if error => out.push(Diagnostic::error(file, Some(line), m)),
            Some((m, file, line)) => out.push(Diagnostic::warning(file, Some(line), m)),
            // A warning with no place: say it against the config tested.
            None if !error => {
                let file = tested_file(output).unwrap_or("nginx.conf");
                out.push(Diagnostic::warning(file, None, msg));
            }
            None => {}
        }
    }
    out
}

/// `the configuration file FILE syntax is ok` / `configuration file FILE test`.
fn tested_file(output: &str) -> Option<&str> {
    output.lines().find_map(|l| {
        let rest = l.split("configuration file ").nth(1)?;
        rest.split_whitespace().next()
    })
}

fn environment(output: &str) -> Option<String> {
    output.lines().find_map(|line| {
        let (level, msg) = message(line)?;
        let error = matches!(level, "emerg" | "alert" | "crit");
        let located = msg
            .rsplit_once(" in ")
            .and_then(|(_, at)| split_file_line(at));
        (error && located.is_none()).then(|| msg.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::{Verdict, judge};

    const UNKNOWN: &str = include_str!("fixtures/nginx-1.22.1-unknown-directive.txt");
    const SEMICOLON: &str = include_str!("fixtures/nginx-1.22.1-missing-semicolon.txt");
    const WARN: &str = include_str!("fixtures/nginx-1.22.1-warning.txt");
    const DENIED: &str = include_str!("fixtures/nginx-1.22.1-not-root.txt");

    #[test]
    fn recorded_outputs() {
        let c = checker();
        let (v, d) = judge(&c, Some(1), UNKNOWN, false);
        assert_eq!(v, Verdict::Failed);
        assert_eq!(
            d[0].editor_line("nginx"),
            "/tmp/cc/ng/nginx.conf:6: error: unknown directive \"foobar\" [nginx]"
        );
        let (_, d) = judge(&c, Some(1), SEMICOLON, false);
        assert_eq!(
            (d[0].file.as_str(), d[0].line),
            ("/tmp/cc/ng/conf.d/a.conf", Some(3))
        );
        let (v, d) = judge(&c, Some(0), WARN, false);
        assert_eq!(v, Verdict::Passed);
        assert_eq!(d[0].severity, crate::checks::Severity::Warning);
        assert_eq!(judge(&c, Some(0), WARN, true).0, Verdict::Failed);
        let (v, _) = judge(&c, Some(1), DENIED, false);
        assert!(matches!(v, Verdict::Environment(m) if m.contains("Permission denied")));
    }
}
