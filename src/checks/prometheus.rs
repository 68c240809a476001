//! Prometheus: `promtool check config F`. YAML errors come as `FAILED:
//! parsing YAML file F: …` followed by `  line 3: field foobar not found …`.

use super::{Checker, Diagnostic};

pub fn checker() -> Checker {
    Checker {
        name: "prometheus",
        programs: &["promtool"],
        live: "check config /etc/prometheus/prometheus.yml",
        file: "check config %s",
        config: "/etc/prometheus/prometheus.yml",
        parse,
        environment: |out| super::line_with(out, &["permission denied", "no such file"]),
        reload: Some(
            "if [ -d /run/systemd/system ]; then systemctl reload prometheus; else pkill -HUP -x prometheus; fi",
        ),
    }
}

pub fn parse(output: &str) -> Vec<Diagnostic> {
    let mut file = None;
    let mut out = Vec::new();
    for line in output.lines() {
        let t = line.trim();
        if let Some(rest) = t.split("parsing YAML file ").nth(1) {
            file = rest.split(": ").next().map(str::to_string);
            continue;
        }
        if let (Some(f), Some(rest)) = (&file, t.strip_prefix("line "))
            && let Some((n, msg)) = rest.split_once(": ")
            && let Ok(n) = n.parse::<u32>()
        {
            out.push(Diagnostic::error(f, Some(n), msg));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::{Verdict, judge};

    #[test]
    fn recorded_outputs() {
        let text = include_str!("fixtures/promtool-2.42-unknown-field.txt");
        let (v, d) = judge(&checker(), Some(1), text, false);
        assert_eq!(v, Verdict::Failed);
        assert_eq!(
            d[0].editor_line("prometheus"),
            "/tmp/cc/prom.bad.yml:3: error: field foobar not found in type config.plain [prometheus]"
        );
    }
}
