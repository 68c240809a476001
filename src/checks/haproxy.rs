//! HAProxy: `haproxy -c -f FILE`. Problems are `[ALERT] (pid) : config :
//! parsing [F:2] : message` and `[WARNING] …` with `   | ` continuation
//! lines; an alert with no `[F:N]` is placed on the file tested. The
//! success text changes across versions, so only the exit code and the
//! alerts decide.

use super::{Checker, Diagnostic};

pub fn checker() -> Checker {
    Checker {
        name: "haproxy",
        programs: &["haproxy"],
        live: "-c -f /etc/haproxy/haproxy.cfg",
        file: "-c -f %s",
        config: "/etc/haproxy/haproxy.cfg",
        parse,
        environment,
        reload: Some(
            "if [ -d /run/systemd/system ]; then systemctl reload haproxy; else kill -USR2 \"$(cat /run/haproxy.pid)\"; fi",
        ),
    }
}

/// The message after `… : config : `, and whether it is an alert.
fn message(line: &str) -> Option<(bool, &str)> {
    let alert = line.starts_with("[ALERT]");
    if !alert && !line.starts_with("[WARNING]") {
        return None;
    }
    let msg = line
        .split_once(" : config : ")
        .map(|(_, m)| m)
        .or_else(|| line.split_once(") : ").map(|(_, m)| m))?;
    Some((alert, msg))
}

pub fn parse(output: &str) -> Vec<Diagnostic> {
    let tested = output
        .lines()
        .find_map(|l| l.split("configuration file : ").nth(1))
        .map(str::trim)
        .unwrap_or("/etc/haproxy/haproxy.cfg");
    let mut out: Vec<Diagnostic> = Vec::new();
    for line in output.lines() {
        if let Some(more) = line.strip_prefix("   | ") {
            if let Some(last) = out.last_mut() {
                last.message.push(' ');
                last.message.push_str(more.trim());
            }
            continue;
        }
        let Some((alert, msg)) = message(line) else {
            continue;
        };
        if msg.starts_with("Error(s) found in configuration file")
            || msg.starts_with("Fatal errors found")
            || msg.starts_with("Warnings were found")
        {
            continue;
        }
        let (file, n, msg) = match msg
            .strip_prefix("parsing [")
            .and_then(|r| r.split_once("] : "))
        {
            Some((place, m)) => match super::split_file_line(place) {
                Some((f, n)) => (f, Some(n), m),
                None => (tested, None, msg),
            },
            None => (tested, None, msg),
        };
        out.push(if alert {
            Diagnostic::error(file, n, msg)
        } else {
            Diagnostic::warning(file, n, msg)
        });
    }
    out
}

fn environment(output: &str) -> Option<String> {
    output
        .lines()
        .find(|l| l.contains("Cannot open configuration file") || l.contains("Permission denied"))
        .map(|l| l.trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::{Verdict, judge};

    const BAD: &str = include_str!("fixtures/haproxy-2.6.12-unknown-keyword.txt");

    #[test]
    fn recorded_outputs() {
        let (v, d) = judge(&checker(), Some(1), BAD, false);
        assert_eq!(v, Verdict::Failed);
        assert_eq!(
            d[0].editor_line("haproxy"),
            "hp/bad.cfg:2: error: unknown keyword 'foobar' in 'global' section [haproxy]"
        );
    }
}
