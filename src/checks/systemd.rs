//! systemd units: `systemd-analyze verify UNIT`. Problems are `F:3:
//! Unknown key 'FooBar' in section [Service], ignoring.` with exit 0: systemd
//! ignores the line, which is almost always a typo, so it counts as an
//! error. Without -f, every unit in /etc/systemd/system is verified; the
//! reload is `systemctl daemon-reload`.

use super::Checker;

pub fn checker() -> Checker {
    Checker {
        name: "systemd",
        programs: &["systemd-analyze"],
        live: "verify /etc/systemd/system/*.service",
        file: "verify %s",
        config: "/etc/systemd/system",
        parse: super::dns::file_line_message,
        environment: |out| super::line_with(out, &["Failed to prepare", "No such file"]),
        reload: Some("systemctl daemon-reload"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::{Verdict, judge};

    #[test]
    fn recorded_outputs() {
        let text = include_str!("fixtures/systemd-252-unknown-key.txt");
        let (v, d) = judge(&checker(), Some(0), text, false);
        assert_eq!(v, Verdict::Failed);
        assert_eq!(
            d[0].editor_line("systemd"),
            "/tmp/cc/bad.service:5: error: Unknown key 'FooBar' in section [Service], ignoring. [systemd]"
        );
    }
}
