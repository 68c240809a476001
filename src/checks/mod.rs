//! Services' config tests: the checker table, what each checker's output
//! means, and the job that runs them (on this machine, or on a host over
//! SSH, through the same engine).
//!
//! A [`Checker`] is a table entry — the program's names, its test command
//! for the live config and for a candidate file, which output means an
//! environment problem rather than a config error, how to reload the
//! service — plus a parser turning the program's merged stdout and stderr
//! into [`Diagnostic`]s. One file per checker family; adding one is one
//! file and one line in [`builtin`].

pub mod apache;
pub mod cron;
pub mod custom;
pub mod dns;
pub mod haproxy;
pub mod job;
pub mod keepalived;
pub mod logrotate;
pub mod mail;
pub mod nginx;
pub mod php;
pub mod prometheus;
pub mod proxy;
pub mod rsyslog;
pub mod sshd;
pub mod sudoers;
pub mod systemd;

use serde::Serialize;

/// How bad a diagnostic is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// One message about a config file, as editors read it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub file: String,
    pub line: Option<u32>,
    pub column: Option<u32>,
    pub severity: Severity,
    pub message: String,
    /// The include chain that led to `file`, outermost first (`file:line`).
    pub chain: Vec<String>,
}

impl Diagnostic {
    pub fn error(file: &str, line: Option<u32>, message: &str) -> Diagnostic {
        Diagnostic {
            file: file.to_string(),
            line,
            column: None,
            severity: Severity::Error,
            message: message.trim().to_string(),
            chain: Vec::new(),
        }
    }

    pub fn warning(file: &str, line: Option<u32>, message: &str) -> Diagnostic {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(file, line, message)
        }
    }

    /// `FILE:LINE[:COL]: error|warning: MESSAGE [WHERE]` — path first, so
    /// vim's errorformat and `vim -q` jump to it.
    pub fn editor_line(&self, whence: &str) -> String {
        let mut s = self.file.clone();
        if let Some(l) = self.line {
            s.push_str(&format!(":{l}"));
            if let Some(c) = self.column {
                s.push_str(&format!(":{c}"));
            }
        }
        let sev = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let mut msg = self.message.replace('\n', " ");
        if !self.chain.is_empty() {
            msg.push_str(&format!(" (included from {})", self.chain.join(" < ")));
        }
        format!("{s}: {sev}: {msg} [{whence}]")
    }
}

/// A config checker.
pub struct Checker {
    pub name: &'static str,
    /// Program names tried in order (found on PATH plus the sbin dirs).
    pub programs: &'static [&'static str],
    /// Arguments testing the live config.
    pub live: &'static str,
    /// Arguments testing a candidate file: `%s` is its path.
    pub file: &'static str,
    /// What the program reads by default (for --list and --root).
    pub config: &'static str,
    /// Turns the merged output into diagnostics.
    pub parse: fn(&str) -> Vec<Diagnostic>,
    /// Recognises output that is about the environment, not the config
    /// (missing host keys, permissions, a missing run directory).
    pub environment: fn(&str) -> Option<String>,
    /// A shell snippet that reloads the service safely, if it has one.
    pub reload: Option<&'static str>,
}

/// What the check job needs of a checker, built in or defined by the user.
pub trait Check: Send + Sync {
    fn name(&self) -> &str;
    /// The program names it looks for.
    fn programs(&self) -> Vec<String>;
    /// What it tests when no file is named.
    fn config(&self) -> String;
    /// The shell snippet that runs the test (of `file`, when given).
    fn snippet(&self, file: Option<&str>) -> String;
    /// The test command as a person would type it (for --list).
    fn command(&self) -> String;
    /// The verdict and diagnostics from the exit code and merged output.
    fn judge(&self, code: Option<i32>, output: &str, strict: bool) -> (Verdict, Vec<Diagnostic>);
    /// The shell snippet that reloads the service, if it has one.
    fn reload(&self) -> Option<String>;
    /// Whether a candidate file must sit beside the live config to be
    /// tested as it will be (nginx resolves relative includes against the
    /// directory of the file it was given).
    fn relocate(&self) -> bool {
        false
    }
}

impl Check for Checker {
    fn name(&self) -> &str {
        self.name
    }
    fn programs(&self) -> Vec<String> {
        self.programs.iter().map(|p| p.to_string()).collect()
    }
    fn config(&self) -> String {
        self.config.to_string()
    }
    fn snippet(&self, file: Option<&str>) -> String {
        snippet(self, file)
    }
    fn command(&self) -> String {
        format!("{} {}", self.programs.join("|"), self.live)
    }
    fn judge(&self, code: Option<i32>, output: &str, strict: bool) -> (Verdict, Vec<Diagnostic>) {
        judge(self, code, output, strict)
    }
    fn reload(&self) -> Option<String> {
        self.reload.map(str::to_string)
    }
    fn relocate(&self) -> bool {
        self.name == "nginx"
    }
}

/// Whether one of `programs` is on this machine (PATH and the sbin dirs).
pub fn installed(programs: &[String]) -> Option<std::path::PathBuf> {
    let path = std::env::var("PATH").unwrap_or_default();
    let dirs: Vec<&str> = path
        .split(':')
        .chain(["/usr/sbin", "/sbin", "/usr/local/sbin"])
        .filter(|d| !d.is_empty())
        .collect();
    programs.iter().find_map(|p| {
        dirs.iter()
            .map(|d| std::path::Path::new(d).join(p))
            .find(|c| c.is_file())
    })
}

/// The built-in checkers.
pub fn builtin() -> Vec<Checker> {
    vec![
        apache::checker(),
        nginx::checker(),
        sshd::checker(),
        haproxy::checker(),
        sudoers::checker(),
        dns::bind(),
        dns::unbound(),
        dns::dnsmasq(),
        logrotate::checker(),
        systemd::checker(),
        cron::checker(),
        rsyslog::checker(),
        keepalived::checker(),
        mail::dovecot(),
        mail::postfix(),
        proxy::squid(),
        proxy::varnish(),
        proxy::caddy(),
        php::fpm(),
        prometheus::checker(),
    ]
}

/// How one check went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The config passed (warnings may remain).
    Passed,
    /// The config has errors (or warnings under --strict).
    Failed,
    /// The check could not run: the program failed for another reason.
    Environment(String),
    /// The program is not installed.
    Missing,
}

/// Judges a finished check from its exit code and merged output.
pub fn judge(
    checker: &Checker,
    code: Option<i32>,
    output: &str,
    strict: bool,
) -> (Verdict, Vec<Diagnostic>) {
    if code == Some(127) && output.contains(MISSING_MARK) {
        return (Verdict::Missing, Vec::new());
    }
    let mut diags = (checker.parse)(output);
    // Programs repeat themselves (one message per pass): say each once.
    let mut seen = std::collections::HashSet::new();
    diags.retain(|d| seen.insert(d.editor_line("")));
    let errors = diags.iter().any(|d| d.severity == Severity::Error);
    let warnings = diags.iter().any(|d| d.severity == Severity::Warning);
    if let Some(env) = (checker.environment)(output)
        && !errors
    {
        return (Verdict::Environment(env), diags);
    }
    match code {
        Some(0) if errors => (Verdict::Failed, diags),
        Some(0) if warnings && strict => (Verdict::Failed, diags),
        Some(0) => (Verdict::Passed, diags),
        _ if errors => (Verdict::Failed, diags),
        _ => (Verdict::Environment(last_words(output, code)), diags),
    }
}

/// The first output line holding one of `needles` (an environment
/// checker's test), trimmed.
pub fn line_with(output: &str, needles: &[&str]) -> Option<String> {
    output
        .lines()
        .find(|l| needles.iter().any(|n| l.contains(n)))
        .map(|l| l.trim().to_string())
}

/// What a failing program said last, for an environment error.
fn last_words(output: &str, code: Option<i32>) -> String {
    let said: Vec<&str> = output
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let tail = said[said.len().saturating_sub(2)..].join(" / ");
    match code {
        Some(c) if tail.is_empty() => format!("exited {c} without a message"),
        Some(c) => format!("exited {c}: {tail}"),
        None => format!("killed: {tail}"),
    }
}

/// What the test snippet prints when no program of the checker is found.
pub const MISSING_MARK: &str = "confcheck: program not found";

/// The shell snippet that runs a check: finds the program (PATH and the
/// usual sbin directories), runs it with stderr merged into stdout.
/// `file`, when given, is quoted.
pub fn snippet(checker: &Checker, file: Option<&str>) -> String {
    let args = match file {
        Some(f) => checker.file.replace("%s", &crate::ssh::shell_quote(f)),
        None => checker.live.to_string(),
    };
    find_and_run(checker.programs, &args)
}

/// A shell snippet running the first of `programs` found with `args`,
/// stderr merged into stdout (around the command, so redirections in
/// `args` still apply: varnish sends its compiled C to /dev/null);
/// [`MISSING_MARK`] and exit 127 when none is.
pub fn find_and_run<S: AsRef<str>>(programs: &[S], args: &str) -> String {
    let mut s = String::from("PATH=\"$PATH:/usr/sbin:/sbin:/usr/local/sbin\"; ");
    for (i, p) in programs.iter().enumerate() {
        let p = crate::ssh::shell_quote(p.as_ref());
        let kw = if i == 0 { "if" } else { "elif" };
        s.push_str(&format!(
            "{kw} command -v {p} >/dev/null 2>&1; then {{ {p} {args} ; }} 2>&1; "
        ));
    }
    s.push_str(&format!("else echo '{MISSING_MARK}'; exit 127; fi"));
    s
}

/// Parses `FILE:LINE` at the end of a message (nginx, haproxy style).
pub fn split_file_line(s: &str) -> Option<(&str, u32)> {
    let (file, line) = s.rsplit_once(':')?;
    let line = line.trim_end_matches(|c: char| !c.is_ascii_digit());
    Some((file, line.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn editor_lines_put_the_path_first() {
        let mut d = Diagnostic::error(
            "/etc/nginx/nginx.conf",
            Some(5),
            "unknown directive \"foo\"",
        );
        assert_eq!(
            d.editor_line("nginx"),
            "/etc/nginx/nginx.conf:5: error: unknown directive \"foo\" [nginx]"
        );
        d.column = Some(3);
        d.chain = vec!["/etc/a.conf:2".into()];
        assert_eq!(
            d.editor_line("nginx on web01"),
            "/etc/nginx/nginx.conf:5:3: error: unknown directive \"foo\" (included from /etc/a.conf:2) [nginx on web01]"
        );
    }
}
