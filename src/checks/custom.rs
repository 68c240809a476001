//! User-defined checks, from a JSON file (`--checks FILE`, else
//! `~/.config/fleetkit/checks.json`, then `/etc/fleetkit/checks.json`):
//!
//! ```json
//! [{"name": "myapp",
//!   "command": "myapp --check %s",
//!   "file": "/etc/myapp.conf",
//!   "fail_codes": [1],
//!   "pattern": "^(?P<file>[^:]+):(?P<line>\\d+): (?P<message>.*)$",
//!   "reload": "systemctl reload myapp"}]
//! ```
//!
//! `%s` is the file tested (quoted): `-f FILE`, else `file`. Exit 0 passes;
//! an exit code in `fail_codes` is a config failure; any other is an
//! environment error. Each output line the pattern matches is a
//! diagnostic: named groups `file`, `line`, `column`, `message` and
//! `severity` (`warning` makes it one), all but `message` optional.

use std::path::{Path, PathBuf};

use regex::Regex;
use serde::Deserialize;

use super::{Check, Diagnostic, MISSING_MARK, Severity, Verdict};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Spec {
    name: String,
    command: String,
    #[serde(default)]
    file: Option<String>,
    #[serde(default = "one")]
    fail_codes: Vec<i32>,
    pattern: String,
    #[serde(default)]
    reload: Option<String>,
}

fn one() -> Vec<i32> {
    vec![1]
}

/// A user-defined check.
pub struct Custom {
    name: String,
    command: String,
    file: Option<String>,
    fail_codes: Vec<i32>,
    pattern: Regex,
    reload: Option<String>,
}

/// Where checks are looked for when `--checks` is not given.
pub fn default_files() -> Vec<PathBuf> {
    vec![
        crate::ssh::config::home().join(".config/fleetkit/checks.json"),
        PathBuf::from("/etc/fleetkit/checks.json"),
    ]
}

/// Reads a checks file; errors name the file and what is wrong.
pub fn load(path: &Path) -> Result<Vec<Custom>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        format!(
            "{}: {}",
            path.display(),
            crate::ssh::session::plain_error(&e)
        )
    })?;
    let specs: Vec<Spec> = serde_json::from_str(&text)
        .map_err(|e| format!("{}:{}:{}: {e}", path.display(), e.line(), e.column()))?;
    specs
        .into_iter()
        .map(|s| {
            let pattern = Regex::new(&s.pattern)
                .map_err(|e| format!("{}: check '{}': pattern: {e}", path.display(), s.name))?;
            if !pattern.capture_names().flatten().any(|n| n == "message") {
                return Err(format!(
                    "{}: check '{}': the pattern needs a (?P<message>…) group",
                    path.display(),
                    s.name
                ));
            }
            if s.name.is_empty() || s.name.contains(char::is_whitespace) {
                return Err(format!("{}: a check name must be one word", path.display()));
            }
            Ok(Custom {
                name: s.name,
                command: s.command,
                file: s.file,
                fail_codes: s.fail_codes,
                pattern,
                reload: s.reload,
            })
        })
        .collect()
}

impl Check for Custom {
    fn name(&self) -> &str {
        &self.name
    }
    fn programs(&self) -> Vec<String> {
        self.command
            .split_whitespace()
            .next()
            .map(|p| vec![p.to_string()])
            .unwrap_or_default()
    }
    fn config(&self) -> String {
        self.file.clone().unwrap_or_default()
    }
    fn snippet(&self, file: Option<&str>) -> String {
        let file = file
            .map(str::to_string)
            .or_else(|| self.file.clone())
            .unwrap_or_default();
        let command = self.command.replace("%s", &crate::ssh::shell_quote(&file));
        let program = self.programs().first().cloned().unwrap_or_default();
        format!(
            "PATH=\"$PATH:/usr/sbin:/sbin:/usr/local/sbin\"; if command -v {p} >/dev/null 2>&1; then {{ {command} ; }} 2>&1; else echo '{MISSING_MARK}'; exit 127; fi",
            p = crate::ssh::shell_quote(&program)
        )
    }
    fn command(&self) -> String {
        let file = self.file.clone().unwrap_or_default();
        self.command.replace("%s", &crate::ssh::shell_quote(&file))
    }
    fn judge(&self, code: Option<i32>, output: &str, strict: bool) -> (Verdict, Vec<Diagnostic>) {
        if code == Some(127) && output.contains(MISSING_MARK) {
            return (Verdict::Missing, Vec::new());
        }
        let fallback = self.config();
        let diags: Vec<Diagnostic> = output
            .lines()
            .filter_map(|l| self.pattern.captures(l))
            .map(|c| {
                let get = |n: &str| c.name(n).map(|m| m.as_str());
                let num = |n: &str| get(n).and_then(|v| v.parse().ok());
                let warning =
                    get("severity").is_some_and(|s| s.to_ascii_lowercase().starts_with("warn"));
                Diagnostic {
                    file: get("file").unwrap_or(&fallback).to_string(),
                    line: num("line"),
                    column: num("column"),
                    severity: if warning {
                        Severity::Warning
                    } else {
                        Severity::Error
                    },
                    message: get("message").unwrap_or("").trim().to_string(),
                    chain: Vec::new(),
                }
            })
            .collect();
        let warnings = diags.iter().any(|d| d.severity == Severity::Warning);
        let verdict = match code {
            Some(0) if warnings && strict => Verdict::Failed,
            Some(0) => Verdict::Passed,
            Some(c) if self.fail_codes.contains(&c) => Verdict::Failed,
            _ => Verdict::Environment(format!(
                "exited {}: {}",
                code.map_or("by a signal".to_string(), |c| c.to_string()),
                output.lines().last().unwrap_or("").trim()
            )),
        };
        (verdict, diags)
    }
    fn reload(&self) -> Option<String> {
        self.reload.clone()
    }
}
