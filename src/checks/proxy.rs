//! Proxies and web servers: Squid (`squid -k parse -f F`: `… F(4):
//! unrecognized: 'foobar'`), Varnish (`varnishd -C -f F`: the message,
//! then `('F' Line 5 Pos 3)`), Caddy (`caddy validate --config F`: `… F:2:
//! unrecognized directive: foobar`).

use super::{Checker, Diagnostic};

pub fn squid() -> Checker {
    Checker {
        name: "squid",
        programs: &["squid"],
        live: "-k parse",
        file: "-k parse -f %s",
        config: "/etc/squid/squid.conf",
        parse: squid_parse,
        environment: |out| super::line_with(out, &["Permission denied"]),
        reload: Some("squid -k reconfigure"),
    }
}

fn squid_parse(output: &str) -> Vec<Diagnostic> {
    output
        .lines()
        .filter_map(|line| {
            // "2026/11/29 12:16:20| F(2): message" (after the time stamp)
            let rest = line.split_once("| ").map_or(line, |(_, r)| r);
            let (place, msg) = rest.split_once("): ")?;
            let (file, n) = place.rsplit_once('(')?;
            let n: u32 = n.parse().ok()?;
            let warning = msg.starts_with("WARNING");
            Some(if warning {
                Diagnostic::warning(file, Some(n), msg)
            } else {
                Diagnostic::error(file, Some(n), msg)
            })
        })
        .collect()
}

pub fn varnish() -> Checker {
    Checker {
        name: "varnish",
        programs: &["varnishd"],
        live: "-C -f /etc/varnish/default.vcl",
        file: "-C -f %s",
        config: "/etc/varnish/default.vcl",
        parse: varnish_parse,
        environment: |out| super::line_with(out, &["Cannot read", "Permission denied"]),
        reload: Some("varnishreload"),
    }
}

fn varnish_parse(output: &str) -> Vec<Diagnostic> {
    let lines: Vec<&str> = output.lines().collect();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        // "At: ('F' Line 3 Pos 16) -- (Pos 21)" or "('F' Line 3 Pos 22)" at
        // the start of a line; the compiled C that -C prints (on stderr
        // too) has such places only inside comments.
        let t = line.trim_start();
        if !t.starts_with("At: ('") && !t.starts_with("('") {
            continue;
        }
        let Some(at) = line.find("('") else { continue };
        let rest = &line[at + 2..];
        let Some((file, rest)) = rest.split_once("' Line ") else {
            continue;
        };
        let Some((n, rest)) = rest.split_once(" Pos ") else {
            continue;
        };
        let col = rest.split(')').next().and_then(|c| c.parse().ok());
        let Ok(n) = n.parse::<u32>() else { continue };
        let msg = lines[..i]
            .iter()
            .rev()
            .find(|l| !l.trim().is_empty())
            .copied()
            .unwrap_or("");
        let mut d = Diagnostic::error(file, Some(n), msg);
        d.column = col;
        out.push(d);
    }
    out
}

pub fn caddy() -> Checker {
    Checker {
        name: "caddy",
        programs: &["caddy"],
        live: "validate --config /etc/caddy/Caddyfile --adapter caddyfile",
        file: "validate --config %s --adapter caddyfile",
        config: "/etc/caddy/Caddyfile",
        parse: caddy_parse,
        environment: |out| super::line_with(out, &["reading config file", "permission denied"]),
        reload: Some("caddy reload --config /etc/caddy/Caddyfile --adapter caddyfile"),
    }
}

fn caddy_parse(output: &str) -> Vec<Diagnostic> {
    output
        .lines()
        .filter_map(|line| {
            let rest = line.strip_prefix("Error: ")?;
            // "adapting config using caddyfile: F:2: message"
            let (_, rest) = rest.split_once("caddyfile: ")?;
            let (file, rest) = rest.split_once(':')?;
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
        let text = include_str!("fixtures/squid-5.7-unrecognized.txt");
        let (v, d) = judge(&squid(), Some(1), text, false);
        assert_eq!(v, Verdict::Failed);
        assert_eq!(
            d[0].editor_line("squid"),
            "/tmp/cc/sq.bad:2: error: unrecognized: 'foobar' [squid]"
        );
        let text = include_str!("fixtures/varnish-7.1-symbol-not-found.txt");
        let (v, d) = judge(&varnish(), Some(2), text, false);
        assert_eq!(v, Verdict::Failed);
        assert_eq!(
            d[0].editor_line("varnish"),
            "/tmp/cc/v.bad:3:16: error: Symbol not found: 'foobar' [varnish]"
        );
        let text = include_str!("fixtures/caddy-2.6-unrecognized-directive.txt");
        let (v, d) = judge(&caddy(), Some(1), text, false);
        assert_eq!(v, Verdict::Failed);
        assert_eq!(
            d[0].editor_line("caddy"),
            "/tmp/cc/Caddyfile.bad:2: error: unrecognized directive: foobar [caddy]"
        );
    }
}
