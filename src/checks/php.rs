//! PHP-FPM: `php-fpm -t -y F` (exit 78 on a config error): `[date] ERROR:
//! [F:8] unknown entry 'foobar'`. Debian names the binary with its version.

use super::{Checker, Diagnostic};

pub fn fpm() -> Checker {
    Checker {
        name: "php-fpm",
        programs: &[
            "php-fpm",
            "php-fpm8.3",
            "php-fpm8.2",
            "php-fpm8.1",
            "php-fpm7.4",
        ],
        live: "-t",
        file: "-t -y %s",
        config: "/etc/php/php-fpm.conf",
        parse,
        environment: |out| super::line_with(out, &["Permission denied"]),
        reload: Some(
            "for s in /run/php/php*-fpm.pid /run/php-fpm.pid; do [ -e \"$s\" ] && kill -USR2 \"$(cat \"$s\")\"; done; true",
        ),
    }
}

pub fn parse(output: &str) -> Vec<Diagnostic> {
    output
        .lines()
        .filter_map(|line| {
            let (warning, rest) = match line.split_once("ERROR: [") {
                Some((_, r)) => (false, r),
                None => (true, line.split_once("WARNING: [")?.1),
            };
            let (place, msg) = rest.split_once("] ")?;
            let (file, n) = super::split_file_line(place)?;
            Some(if warning {
                Diagnostic::warning(file, Some(n), msg)
            } else {
                Diagnostic::error(file, Some(n), msg)
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::{Verdict, judge};

    #[test]
    fn recorded_outputs() {
        let text = include_str!("fixtures/php-fpm-8.2-unknown-entry.txt");
        let (v, d) = judge(&fpm(), Some(78), text, false);
        assert_eq!(v, Verdict::Failed);
        assert_eq!(d.len(), 1);
        assert_eq!(
            d[0].editor_line("php-fpm"),
            "/tmp/cc/fpm.bad:7: error: unknown entry 'foobar' [php-fpm]"
        );
    }
}
