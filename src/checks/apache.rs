//! Apache httpd: `apache2ctl -t` (`apachectl`, `httpd`; `-f FILE` for a
//! candidate). A syntax error is `AH00526: Syntax error on line N of F:`
//! with the message on the next line; errors in included files come
//! chained (`Syntax error on line 3 of A: Syntax error on line 2 of B:
//! …`): the innermost file and line are reported, the rest is the chain.
//! Success says `Syntax OK` on stderr.

use super::{Checker, Diagnostic};

pub fn checker() -> Checker {
    Checker {
        name: "apache",
        programs: &["apache2ctl", "apachectl", "httpd"],
        live: "-t",
        file: "-t -f %s",
        config: "/etc/apache2/apache2.conf",
        parse,
        environment,
        reload: Some(
            "if command -v apache2ctl >/dev/null 2>&1; then apache2ctl graceful; else apachectl graceful; fi",
        ),
    }
}

const MARK: &str = "Syntax error on line ";

pub fn parse(output: &str) -> Vec<Diagnostic> {
    let lines: Vec<&str> = output.lines().collect();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if line.contains(MARK) {
            let mut chain = Vec::new();
            let mut place = None;
            let mut message = String::new();
            for part in line.split(MARK).skip(1) {
                // "N of FILE: rest"
                let Some((n, rest)) = part.split_once(" of ") else {
                    continue;
                };
                let Ok(n) = n.parse::<u32>() else { continue };
                let (file, msg) = match rest.find(": ") {
                    Some(at) => (&rest[..at], rest[at + 2..].to_string()),
                    None => (rest.trim_end_matches(':'), String::new()),
                };
                if let Some((f, l)) = place.replace((file.to_string(), n)) {
                    chain.push(format!("{f}:{l}"));
                }
                message = msg;
            }
            let Some((file, n)) = place else { continue };
            // The message may repeat the place: "B:2: <Directory> was not closed."
            let prefix = format!("{file}:{n}: ");
            let mut message = message
                .strip_prefix(&prefix)
                .unwrap_or(&message)
                .to_string();
            if message.trim().is_empty() {
                message = lines.get(i + 1).map_or(String::new(), |l| l.to_string());
            }
            let mut d = Diagnostic::error(&file, Some(n), &message);
            d.chain = chain;
            out.push(d);
        } else if let Some((_, rest)) = line.split_once("Configuration error: ") {
            // A whole-config problem (no MPM loaded): no line to point at.
            out.push(Diagnostic::error(tested(output), None, rest));
        } else if let Some(rest) = line.split_once("Warning: ").map(|(_, r)| r) {
            out.push(Diagnostic::warning(tested(output), None, rest));
        }
    }
    out
}

/// The file an `Action '-t -f FILE'` line names, else the live config.
fn tested(output: &str) -> &str {
    output
        .lines()
        .find_map(|l| l.split("-f ").nth(1)?.split(['\'', ' ']).next())
        .unwrap_or("/etc/apache2/apache2.conf")
}

fn environment(output: &str) -> Option<String> {
    output
        .lines()
        .find(|l| {
            l.contains("Could not open configuration file")
                || l.contains("Cannot access directory")
                || l.contains("Permission denied")
                || l.contains("envvars")
        })
        .map(|l| l.trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::{Verdict, judge};

    const BAD: &str = include_str!("fixtures/apache-2.4.71-invalid-command.txt");
    const CHAIN: &str = include_str!("fixtures/apache-2.4.71-include-chain.txt");
    const MISSING: &str = include_str!("fixtures/apache-2.4.71-no-such-file.txt");

    #[test]
    fn recorded_outputs() {
        let c = checker();
        let (v, d) = judge(&c, Some(1), BAD, false);
        assert_eq!(v, Verdict::Failed);
        assert_eq!(
            d[0].editor_line("apache"),
            "/tmp/cc/ap/bad.conf:5: error: Invalid command 'FooBar', perhaps misspelled or defined by a module not included in the server configuration [apache]"
        );
        let (_, d) = judge(&c, Some(1), CHAIN, false);
        assert_eq!(
            d[0].editor_line("apache"),
            "/tmp/cc/ap/sub.conf:2: error: <Directory> was not closed. (included from /tmp/cc/ap/inc.conf:3) [apache]"
        );
        let (v, _) = judge(&c, Some(1), MISSING, false);
        assert!(matches!(v, Verdict::Environment(_)), "{v:?}");
        assert_eq!(judge(&c, Some(0), "Syntax OK\n", false).0, Verdict::Passed);
    }
}
