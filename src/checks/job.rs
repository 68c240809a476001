//! Running checks: on this machine (one engine "host" per check, no
//! connection) or on a host over SSH (all checks on one session, then the
//! reloads of those that passed, on the same session). Each check's
//! diagnostics and status line are the job's output — editor lines on
//! stdout, `nginx: ok 14 ms` on stderr — and its fields in `--json`.

use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;

use super::{Check, Diagnostic, Severity, Verdict};
use crate::engine::{Exit, Failure, Finish, Job, Stream, Work};
use crate::ssh::link::Link;
use crate::ssh::session::Exec;

/// Where a check's shell snippet runs.
pub trait Shell {
    /// Runs `command` with `sh -c`; its output (stdout and stderr merged
    /// by the snippet) up to 4 MiB, and how it ended.
    fn run(&mut self, command: &str, work: &Work<'_>) -> Result<(Exit, String), Failure>;
}

const OUTPUT_LIMIT: usize = 4 << 20;

impl Shell for () {
    fn run(&mut self, command: &str, work: &Work<'_>) -> Result<(Exit, String), Failure> {
        use std::os::unix::process::CommandExt;
        let mut child = Command::new("sh")
            .args(["-c", command])
            // Its own process group, so a cancel ends what it started too.
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| Failure::Error(format!("cannot run sh: {e}")))?;
        let mut out = child.stdout.take().expect("piped");
        let reader = std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = (&mut out).take(OUTPUT_LIMIT as u64).read_to_end(&mut buf);
            // Drain the rest so the child is never blocked on a full pipe.
            let _ = std::io::copy(&mut out, &mut std::io::sink());
            buf
        });
        let status = loop {
            if let Some(s) = child
                .try_wait()
                .map_err(|e| Failure::Error(e.to_string()))?
            {
                break s;
            }
            if let Err(f) = work.check() {
                // SAFETY: signals the process group this child leads.
                unsafe {
                    libc::kill(-(child.id() as i32), libc::SIGKILL);
                }
                let _ = child.wait();
                return Err(f);
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        let text = String::from_utf8_lossy(&reader.join().unwrap_or_default()).into_owned();
        use std::os::unix::process::ExitStatusExt;
        Ok((
            Exit {
                code: status.code(),
                signal: status.signal().map(|s| s.to_string()),
            },
            text,
        ))
    }
}

impl Shell for Link {
    fn run(&mut self, command: &str, work: &Work<'_>) -> Result<(Exit, String), Failure> {
        let mut out = Vec::new();
        let exec = Exec {
            command: command.as_bytes(),
            input: None,
            pty: false,
            deadline: work.deadline,
        };
        let exit = self.exec(&exec, work.stop, &mut |_, bytes| {
            if out.len() < OUTPUT_LIMIT {
                out.extend_from_slice(bytes);
            }
            Ok(())
        })?;
        Ok((exit, String::from_utf8_lossy(&out).into_owned()))
    }
}

/// What to do, the same everywhere.
pub struct Plan {
    pub checks: Vec<Arc<dyn Check>>,
    /// A candidate file to test instead of the live config (local only).
    pub file: Option<PathBuf>,
    /// When the candidate was copied elsewhere to be tested (beside the
    /// live config), its real path: the copy's name in the checker's
    /// output is replaced by it.
    pub shown_as: Option<PathBuf>,
    pub strict: bool,
    pub reload: bool,
    /// Fleet mode: each host's label, named in messages.
    pub labels: Option<Arc<Vec<String>>>,
    /// Checks named by the user: a missing program is an error, not a skip.
    pub named: bool,
    /// Only check (the first phase of --all-or-nothing).
    pub no_reload: bool,
}

/// One check's outcome on one machine.
struct Outcome {
    name: String,
    verdict: Verdict,
    diagnostics: Vec<Diagnostic>,
    millis: u128,
    reload: Option<Result<(), String>>,
}

impl Plan {
    /// Runs check `check` through `shell`, then its reload if asked and
    /// it passed; prints its diagnostics and status line.
    fn one<S: Shell>(
        &self,
        check: &dyn Check,
        shell: &mut S,
        work: &mut Work<'_>,
        whence: &str,
    ) -> Result<Outcome, Failure> {
        let started = Instant::now();
        let file = self.file.as_ref().map(|f| f.to_string_lossy().into_owned());
        let (exit, mut text) = shell.run(&check.snippet(file.as_deref()), work)?;
        if let (Some(copy), Some(real)) = (&file, &self.shown_as) {
            text = text.replace(copy.as_str(), &real.to_string_lossy());
        }
        let (verdict, mut diagnostics) = check.judge(exit.code, &text, self.strict);
        // A parser that could not tell which file a message is about puts
        // it on the live config; when a candidate was tested, it is the
        // candidate's.
        if let Some(candidate) = self.shown_as.as_ref().or(self.file.as_ref()) {
            let live = check.config();
            for d in diagnostics.iter_mut().filter(|d| d.file == live) {
                d.file = candidate.to_string_lossy().into_owned();
            }
        }
        // A failure with nothing the parser could place still gets one
        // line an editor can show: what the program said last.
        if verdict == Verdict::Failed && diagnostics.is_empty() {
            let file = self
                .shown_as
                .as_ref()
                .or(self.file.as_ref())
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_else(|| check.config());
            let said = text
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("");
            let what = match exit.code {
                Some(c) => format!("failed (exit {c}): {said}"),
                None => format!("failed: {said}"),
            };
            diagnostics.push(Diagnostic::error(&file, None, &what));
        }
        let millis = started.elapsed().as_millis();
        let mut outcome = Outcome {
            name: check.name().to_string(),
            verdict,
            diagnostics,
            millis,
            reload: None,
        };
        if outcome.verdict == Verdict::Missing && !self.named {
            return Ok(outcome);
        }
        let whence_check = match whence {
            "" => check.name().to_string(),
            host => format!("{} on {host}", check.name()),
        };
        let mut lines = String::new();
        for d in &outcome.diagnostics {
            lines.push_str(&d.editor_line(&whence_check));
            lines.push('\n');
        }
        work.output(Stream::Stdout, lines.as_bytes())?;
        if self.reload && !self.no_reload && outcome.verdict == Verdict::Passed {
            outcome.reload = Some(match check.reload() {
                None => Ok(()),
                Some(snippet) => {
                    let (exit, text) = shell.run(&format!("{{ {snippet} ; }} 2>&1"), work)?;
                    if exit.success() {
                        Ok(())
                    } else {
                        Err(text.lines().last().unwrap_or("failed").trim().to_string())
                    }
                }
            });
        }
        let prefix = if whence.is_empty() {
            String::new()
        } else {
            format!("{whence}: ")
        };
        let errors = outcome
            .diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count();
        let warnings = outcome.diagnostics.len() - errors;
        let mut status = match &outcome.verdict {
            Verdict::Passed => format!("{prefix}{}: ok {millis} ms", check.name()),
            Verdict::Failed if errors == 0 => format!(
                "{prefix}{}: FAILED {warnings} warning{} (--strict)",
                check.name(),
                plural(warnings)
            ),
            Verdict::Failed => format!(
                "{prefix}{}: FAILED {errors} error{}{}",
                check.name(),
                plural(errors),
                if warnings > 0 {
                    format!(", {warnings} warning{}", plural(warnings))
                } else {
                    String::new()
                }
            ),
            Verdict::Environment(why) => format!("{prefix}{}: could not run: {why}", check.name()),
            Verdict::Missing => format!("{prefix}{}: not installed", check.name()),
        };
        if outcome.verdict == Verdict::Passed && warnings > 0 {
            status.push_str(&format!(
                " ({warnings} warning{})",
                if warnings == 1 { "" } else { "s" }
            ));
        }
        match &outcome.reload {
            Some(Ok(())) if check.reload().is_some() => status.push_str(", reloaded"),
            Some(Ok(())) => status.push_str(", nothing to reload"),
            Some(Err(why)) => status.push_str(&format!(", RELOAD FAILED: {why}")),
            None => {}
        }
        status.push('\n');
        work.output(Stream::Stderr, status.as_bytes())?;
        Ok(outcome)
    }

    /// The host's (or check's) result from its outcomes.
    fn finish(outcomes: Vec<Outcome>) -> Finish {
        let failed = outcomes.iter().any(|o| o.verdict == Verdict::Failed);
        let broken: Vec<String> = outcomes
            .iter()
            .filter_map(|o| match &o.verdict {
                Verdict::Environment(why) => Some(format!("{}: {why}", o.name)),
                Verdict::Missing => Some(format!("{}: not installed", o.name)),
                _ => None,
            })
            .chain(outcomes.iter().filter_map(|o| match &o.reload {
                Some(Err(why)) => Some(format!("{}: reload failed: {why}", o.name)),
                _ => None,
            }))
            .collect();
        let records: Vec<serde_json::Value> = outcomes
            .iter()
            .map(|o| {
                json!({
                    "check": o.name,
                    "result": match &o.verdict {
                        Verdict::Passed => "passed",
                        Verdict::Failed => "failed",
                        Verdict::Environment(_) => "environment",
                        Verdict::Missing => "missing",
                    },
                    "environment": match &o.verdict { Verdict::Environment(w) => Some(w.clone()), _ => None },
                    "diagnostics": o.diagnostics,
                    "duration_ms": o.millis as u64,
                    "reloaded": o.reload.as_ref().map(|r| r.is_ok()),
                })
            })
            .collect();
        let error = if !broken.is_empty() {
            Some(broken.join("; "))
        } else if failed {
            Some(
                outcomes
                    .iter()
                    .filter(|o| o.verdict == Verdict::Failed)
                    .map(|o| o.name.clone())
                    .collect::<Vec<_>>()
                    .join(", ")
                    + ": config failed",
            )
        } else {
            None
        };
        Finish {
            ok: !failed && broken.is_empty(),
            could_not_run: !broken.is_empty(),
            exit: Exit::default(),
            error,
            fields: vec![("checks", serde_json::Value::Array(records))],
        }
    }
}

/// "s" unless there is one.
fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// Local mode: engine "host" `i` is check `i`.
pub struct Local(pub Arc<Plan>);

impl Job<()> for Local {
    fn run(&self, conn: &mut (), work: &mut Work<'_>) -> Result<Finish, Failure> {
        let check = self.0.checks[work.index].clone();
        let outcome = self.0.one(&*check, conn, work, "")?;
        Ok(Plan::finish(vec![outcome]))
    }
}

/// Fleet mode: every check on each host, over one session.
pub struct Remote(pub Arc<Plan>);

impl Job<Link> for Remote {
    fn run(&self, conn: &mut Link, work: &mut Work<'_>) -> Result<Finish, Failure> {
        let label = self
            .0
            .labels
            .as_ref()
            .map(|l| l[work.index].clone())
            .unwrap_or_default();
        let mut outcomes = Vec::new();
        for check in &self.0.checks {
            let o = self.0.one(&**check, conn, work, &label)?;
            if o.verdict != Verdict::Missing || self.0.named {
                outcomes.push(o);
            }
        }
        Ok(Plan::finish(outcomes))
    }
}
