//! OpenSSH's sshd: `sshd -t` (`-f FILE` for a candidate). Errors are
//! `F: line 3: Bad configuration option: FooBar` or `F line 2: unsupported
//! option "maybe".`, exit 255. Missing host keys, a missing
//! `/run/sshd` or permissions are the environment, not the config.

use super::{Checker, Diagnostic};

pub fn checker() -> Checker {
    Checker {
        name: "sshd",
        programs: &["sshd"],
        live: "-t",
        file: "-t -f %s",
        config: "/etc/ssh/sshd_config",
        parse,
        environment,
        reload: Some(
            "if [ -d /run/systemd/system ]; then systemctl reload ssh 2>/dev/null || systemctl reload sshd; else kill -HUP \"$(cat /run/sshd.pid)\"; fi",
        ),
    }
}

pub fn parse(output: &str) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for line in output.lines() {
        // "F: line N: msg" or "F line N: msg"
        let Some(at) = line.find(" line ") else {
            continue;
        };
        let file = line[..at].trim_end_matches(':');
        let rest = &line[at + 6..];
        let Some((n, msg)) = rest.split_once(": ") else {
            continue;
        };
        let Ok(n) = n.parse::<u32>() else { continue };
        if file.is_empty() || file.contains(' ') {
            continue;
        }
        // Deprecated and unsupported options are ignored by sshd (exit 0).
        if msg.starts_with("Deprecated option") || msg.starts_with("Unsupported option") {
            out.push(Diagnostic::warning(file, Some(n), msg));
        } else {
            out.push(Diagnostic::error(file, Some(n), msg));
        }
    }
    out
}

fn environment(output: &str) -> Option<String> {
    [
        "no hostkeys available",
        "Missing privilege separation directory",
        "Permission denied",
        "Could not load host key",
    ]
    .iter()
    .find_map(|needle| {
        output
            .lines()
            .find(|l| l.contains(needle))
            .map(|l| l.trim().to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::{Verdict, judge};

    const BAD: &str = include_str!("fixtures/sshd-9.2p1-bad-options.txt");
    const NOKEYS: &str = include_str!("fixtures/sshd-9.2p1-no-host-keys.txt");

    #[test]
    fn recorded_outputs() {
        let c = checker();
        let (v, d) = judge(&c, Some(255), BAD, false);
        assert_eq!(v, Verdict::Failed);
        assert_eq!(d.len(), 2);
        assert_eq!(
            d[0].editor_line("sshd"),
            "ss/bad:2: error: Bad configuration option: FooBar [sshd]"
        );
        assert_eq!(
            (d[1].line, d[1].message.as_str()),
            (Some(3), "unsupported option \"maybe\".")
        );
        let (v, _) = judge(&c, Some(1), NOKEYS, false);
        assert!(matches!(v, Verdict::Environment(m) if m.contains("no hostkeys")));
    }
}
