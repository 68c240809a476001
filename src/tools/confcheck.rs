//! `confcheck`: run services' config tests, report them as editors read
//! them (`FILE:LINE: error: MESSAGE [check]`), and reload only what
//! passed — on this machine, or on every host of a fleet over SSH.
//!
//! Owns confcheck's flag table and `run()`: choosing the checks, local or
//! fleet mode (the same engine, output and exit policy as rrun), the
//! two-phase `--all-or-nothing`, `--then`, and `--from-json`.

use std::ffi::OsString;
use std::io::{IsTerminal, Read, Write};
use std::path::PathBuf;
use std::sync::Arc;

use crate::checks::job::{self, Plan};
use crate::checks::{self, Check, Verdict, custom};
use crate::cli::flag::{Positional, path, text, with_common};
use crate::cli::{self, Common, Flag, Hint, Tool, ToolArgs, exit};
use crate::engine::{self, Connector, Job};
use crate::fleet::{self, FleetArgs};
use crate::output::capture::Capture;
use crate::output::display::Passthrough;
use crate::output::{self, HostInfo};
use crate::stop::Stop;

/// confcheck's parsed command line.
#[derive(Debug, Default)]
pub struct Args {
    common: Common,
    fleet: fleet::Options,
    names: Vec<String>,
    list: bool,
    file: Option<PathBuf>,
    checks_file: Option<PathBuf>,
    strict: bool,
    reload: bool,
    then: Option<String>,
    all_or_nothing: bool,
    from_json: Option<String>,
    root: Option<PathBuf>,
    timeout: Option<std::time::Duration>,
}

impl FleetArgs for Args {
    fn fleet(&mut self) -> &mut fleet::Options {
        &mut self.fleet
    }
}

impl ToolArgs for Args {
    fn common(&mut self) -> &mut Common {
        &mut self.common
    }
    fn positional(&mut self, value: OsString) -> Result<(), String> {
        let v = value
            .into_string()
            .map_err(|v| format!("check name {v:?} is not UTF-8"))?;
        self.names.push(v);
        Ok(())
    }
}

/// Flags of this tool's arguments.
type F = Flag<Args>;

/// The flag table: the single source of parsing, help, man page and completions.
pub fn tool() -> Tool<Args> {
    let mut flags = vec![
        F::switch(
            "list",
            None,
            "List the known checks: name, program found, command",
            "List every known check (built in, then from the checks file): its name, whether its program is installed here, and the command it runs.",
            |a, _| {
                a.list = true;
                Ok(())
            },
        ),
        F::value(
            "file",
            Some('f'),
            ("PATH", Hint::File),
            "Check a candidate file instead of the live config",
            "Check the candidate file PATH with the one named check, before it is moved into place (what Ansible's validate and Salt's check_cmd do). The checker reads it where it is; relative includes resolve as the checker resolves them (nginx and apache against their live configuration directory). On this machine only.",
            |a, v| {
                a.file = Some(path(v)?);
                Ok(())
            },
        ),
        F::value(
            "root",
            None,
            ("DIR", Hint::Dir),
            "With -f: test the candidate as if it sat in DIR",
            "With -f: copy the candidate into DIR (under a random hidden name, removed afterwards) and test it there, so its relative includes resolve against DIR. Without --root, an nginx candidate is tested from the live configuration directory (/etc/nginx), as nginx resolves includes against the directory of the file it reads; other checkers resolve includes on their own (ServerRoot, absolute paths).",
            |a, v| {
                a.root = Some(path(v)?);
                Ok(())
            },
        ),
        F::value(
            "checks",
            None,
            ("FILE", Hint::File),
            "Read user-defined checks from FILE (JSON)",
            "Read user-defined checks from FILE instead of ~/.config/fleetkit/checks.json (then /etc/fleetkit/checks.json): a JSON array of objects with name, command (%s is the file), file, fail_codes, pattern (a regex with named groups file, line, column, message, severity) and reload.",
            |a, v| {
                a.checks_file = Some(path(v)?);
                Ok(())
            },
        ),
        F::switch(
            "strict",
            None,
            "Make warnings fail a check",
            "Make warnings fail a check, as errors do.",
            |a, _| {
                a.strict = true;
                Ok(())
            },
        ),
        F::switch(
            "reload",
            None,
            "Reload each service whose check passed",
            "Reload each service whose check passed, with its own safe command (nginx -s reload, apachectl graceful, systemctl reload when systemd runs, HUP or USR2 to the daemon's pid file); never one whose check failed. In fleet mode on the same session as the check.",
            |a, _| {
                a.reload = true;
                Ok(())
            },
        ),
        F::value(
            "then",
            None,
            ("CMD", Hint::Other),
            "Run CMD (sh -c) only if every check passed",
            "Run the shell command CMD on this machine after the checks, only if every check passed (their output is shown first). Its exit status decides confcheck's.",
            |a, v| {
                a.then = Some(text(v)?.to_string());
                Ok(())
            },
        ),
        F::switch(
            "all-or-nothing",
            None,
            "With --reload on a fleet: reload no host unless all passed",
            "In fleet mode with --reload: check every host first, and only if every host passed, a second round checks each host again and reloads it on the same session. Each round prints its results and summary (and --json records).",
            |a, _| {
                a.all_or_nothing = true;
                Ok(())
            },
        ),
        F::value(
            "from-json",
            None,
            ("CHECK", Hint::Other),
            "Parse rrun --json records on stdin as CHECK's output",
            "Read rrun --json records on standard input (rrun --json 'nginx -t' | confcheck --from-json nginx) and judge each host's output and exit code as CHECK's; diagnostics name the host in the message.",
            |a, v| {
                a.from_json = Some(text(v)?.to_string());
                Ok(())
            },
        ),
        F::value(
            "timeout",
            Some('t'),
            ("SECONDS", Hint::Other),
            "Give up on a check (or a host) after SECONDS",
            "Give up on a check on this machine, or on all of a host's checks, still running SECONDS after it started.",
            |a, v| {
                a.timeout = Some(cli::flag::seconds(v)?);
                Ok(())
            },
        ),
    ];
    flags.extend(fleet::flags());
    Tool {
        name: "confcheck",
        about: "run services' config tests, report them as editors read them, reload only what passed",
        synopsis: &["[OPTIONS] [CHECK...]", "--from-json CHECK < RRUN-JSON"],
        description: "confcheck runs the config test of each named CHECK (with none, of every known check whose program is installed) and reports problems in one format: FILE:LINE[:COL]: error|warning: MESSAGE [CHECK] on standard output, path first, so vim -q and :make jump to them (contrib/vim/compiler/confcheck.vim has the errorformat). One status line per check goes to standard error (nginx: ok 14 ms, apache: FAILED 2 errors, squid: not installed). Errors in included files name the innermost file and line, with the include chain.\n\n\
            A failure that is not about the config (the program missing, no permission, missing host keys or /run/sshd) is an environment error (exit status 3), never a config error. With --reload, each service whose check passed is reloaded with its own safe command; one that failed never is.\n\n\
            With -H or --hosts, the checks run on every host over SSH (one session per host: the checks, then the reloads where they passed), with the host named in each diagnostic's message and status line, and the summary, --failed, --log, --json and exit status as rrun's.",
        flags: with_common(flags),
        positional: Positional {
            name: "CHECK",
            hint: Hint::Other,
        },
        operands_end_options: false,
        exit_status: &[
            (
                "0",
                "Every check passed (and every reload asked for succeeded).",
            ),
            ("1", "Some config failed its test."),
            (
                "2",
                "Usage error, or an unreadable checks file or candidate file.",
            ),
            (
                "3",
                "Some check could not run (an environment error, a program not installed, a reload that failed) or a host could not be reached.",
            ),
            ("130", "Interrupted by SIGINT (Ctrl-C)."),
            ("143", "Interrupted by SIGTERM."),
            ("129", "Interrupted by SIGHUP."),
        ],
        environment: &[(
            "SSH_AUTH_SOCK",
            "The ssh-agent to take identities from (fleet mode).",
        )],
        examples: &[
            ("confcheck", "Test every installed service's config."),
            (
                "confcheck -f new.conf nginx && mv new.conf /etc/nginx/nginx.conf",
                "Test a candidate before it goes live.",
            ),
            ("vim -q <(confcheck)", "Jump to each problem in vim."),
            (
                "confcheck --hosts web.txt --reload nginx",
                "Test nginx on every host; reload where it passed.",
            ),
            (
                "rrun --json 'nginx -t' | confcheck --from-json nginx",
                "Judge what rrun collected.",
            ),
        ],
        see_also: &[
            "rrun(1)",
            "nginx(8)",
            "apache2ctl(8)",
            "sshd(8)",
            "haproxy(1)",
            "visudo(8)",
        ],
    }
}

/// Parses the command line and runs; returns the exit code.
pub fn main() -> i32 {
    cli::parse::main(&tool(), run)
}

/// Runs; returns the exit code.
pub fn run(args: Args) -> i32 {
    if let Some(code) = args.fleet.print_lists("confcheck") {
        return code;
    }
    match go(args) {
        Ok(code) => code,
        Err(message) => {
            exit::report("confcheck", message);
            exit::USAGE
        }
    }
}

/// Every known check: the built-in ones, then the user's.
fn known(args: &Args) -> Result<Vec<Arc<dyn Check>>, String> {
    let mut all: Vec<Arc<dyn Check>> = checks::builtin()
        .into_iter()
        .map(|c| Arc::new(c) as Arc<dyn Check>)
        .collect();
    let files = match &args.checks_file {
        Some(f) => vec![f.clone()],
        None => custom::default_files()
            .into_iter()
            .filter(|f| f.exists())
            .take(1)
            .collect(),
    };
    for f in files {
        for c in custom::load(&f)? {
            all.push(Arc::new(c));
        }
    }
    Ok(all)
}

fn go(args: Args) -> Result<i32, String> {
    let all = known(&args)?;
    if args.list {
        return Ok(list(&all));
    }
    let fleet_mode = !args.fleet.host_options.is_empty() || !args.fleet.host_files.is_empty();
    for name in &args.names {
        if !all.iter().any(|c| c.name() == name) {
            let names: Vec<&str> = all.iter().map(|c| c.name()).collect();
            return Err(format!(
                "unknown check '{name}' (known: {})",
                names.join(", ")
            ));
        }
    }
    if let Some(name) = &args.from_json {
        let check = all
            .iter()
            .find(|c| c.name() == name)
            .ok_or_else(|| format!("--from-json: unknown check '{name}'"))?;
        return from_json(&**check, args.strict);
    }
    let named = !args.names.is_empty();
    let checks: Vec<Arc<dyn Check>> = if named {
        args.names
            .iter()
            .filter_map(|n| all.iter().find(|c| c.name() == n).cloned())
            .collect()
    } else if fleet_mode {
        all
    } else {
        all.into_iter()
            .filter(|c| checks::installed(&c.programs()).is_some())
            .collect()
    };
    if let Some(f) = &args.file {
        if checks.len() != 1 || !named {
            return Err("-f checks one candidate file: name the one check to run it with".into());
        }
        if fleet_mode {
            return Err(
                "-f checks a file on this machine; it cannot be combined with -H or --hosts".into(),
            );
        }
        if !f.is_file() {
            return Err(format!("-f {}: no such file", f.display()));
        }
    }
    if args.file.is_some() && args.reload {
        return Err("-f tests a candidate, not the live config: --reload would reload a config that was not tested".into());
    }
    if args.all_or_nothing && !(fleet_mode && args.reload) {
        return Err("--all-or-nothing goes with --reload and -H or --hosts".into());
    }
    if checks.is_empty() {
        exit::report(
            "confcheck",
            "no known check's program is installed here (see --list)",
        );
        return Ok(exit::SUCCESS);
    }
    if args.root.is_some() && args.file.is_none() {
        return Err("--root goes with -f FILE".into());
    }
    let candidate = args
        .file
        .as_ref()
        .map(|f| std::path::absolute(f).unwrap_or(f.clone()));
    // Where the candidate is tested: a copy beside the live config (or in
    // --root), removed when `_copy` is dropped.
    let mut _copy = None;
    let (file, shown_as) = match (&candidate, &args.root) {
        (Some(f), root) if root.is_some() || checks[0].relocate() => {
            let dir = match root {
                Some(r) => r.clone(),
                None => PathBuf::from(checks[0].config())
                    .parent()
                    .map(PathBuf::from)
                    .unwrap_or_default(),
            };
            match Placed::new(f, &dir) {
                Ok(p) => {
                    let at = p.path.clone();
                    _copy = Some(p);
                    (Some(at), Some(f.clone()))
                }
                Err(e) if args.root.is_some() => return Err(e),
                Err(e) => {
                    exit::report(
                        "confcheck",
                        format!(
                            "{e}; testing it where it is (relative includes resolve against its own directory)"
                        ),
                    );
                    (Some(f.clone()), None)
                }
            }
        }
        (f, _) => (f.clone(), None),
    };
    let plan = Plan {
        checks,
        file,
        shown_as,
        strict: args.strict,
        reload: args.reload,
        labels: None,
        named,
        no_reload: false,
    };
    let code = if fleet_mode {
        fleet(&args, plan)?
    } else {
        local(&args, plan)
    };
    if code != exit::SUCCESS {
        return Ok(code);
    }
    match &args.then {
        Some(cmd) => then(cmd),
        None => Ok(code),
    }
}

/// A candidate copied into a directory to be tested there; removed on drop.
struct Placed {
    path: PathBuf,
}

impl Placed {
    fn new(candidate: &std::path::Path, dir: &std::path::Path) -> Result<Placed, String> {
        let bytes = std::fs::read(candidate).map_err(|e| {
            format!(
                "-f {}: {}",
                candidate.display(),
                crate::ssh::session::plain_error(&e)
            )
        })?;
        let name = format!(".confcheck-{}.conf", crate::copy::random_suffix());
        let mut f = crate::output::files::AtomicFile::create(dir, &name).map_err(|e| {
            format!(
                "cannot place the candidate in {}: {}",
                dir.display(),
                crate::ssh::session::plain_error(&e)
            )
        })?;
        f.write_all(&bytes).map_err(|e| e.to_string())?;
        let path = f.commit().map_err(|e| e.to_string())?;
        Ok(Placed { path })
    }
}

impl Drop for Placed {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// `--list`: one line per check.
fn list(all: &[Arc<dyn Check>]) -> i32 {
    let mut out = std::io::stdout().lock();
    for c in all {
        let found = match checks::installed(&c.programs()) {
            Some(p) => p.display().to_string(),
            None => "not installed".to_string(),
        };
        let _ = writeln!(out, "{:<10} {:<24} {}", c.name(), found, c.command());
    }
    exit::SUCCESS
}

fn settings(args: &Args, local: bool) -> output::Settings {
    output::Settings {
        tool: "confcheck",
        failed: args.fleet.failed.clone(),
        log: args.fleet.log.clone(),
        colour_out: args.common.color.for_stdout(),
        colour_err: args.common.color.for_stderr(),
        progress: false,
        bytes: None,
        noun: local.then_some(("check", "checks")),
        quiet: args.fleet.quiet,
        largest_exit: false,
    }
}

fn capture(json: bool, labels: Arc<Vec<String>>) -> Capture {
    Capture {
        lines: !json,
        labels,
        ..Capture::default()
    }
}

/// Each check on this machine, as a local job on the engine.
fn local(args: &Args, plan: Plan) -> i32 {
    let settings = settings(args, true);
    if let Err(e) = settings.check() {
        exit::report("confcheck", e);
        return exit::USAGE;
    }
    let labels: Vec<String> = plan.checks.iter().map(|c| c.name().to_string()).collect();
    let infos: Vec<HostInfo> = labels
        .iter()
        .map(|l| HostInfo {
            label: l.clone(),
            entry: l.clone(),
            user: String::new(),
            port: 0,
        })
        .collect();
    let stop = Stop::new();
    cli::signals::cancel_on_signals(stop.clone());
    let count = plan.checks.len();
    let json = args.fleet.json;
    let events = start(
        engine::Local,
        job::Local(Arc::new(plan)),
        count,
        capture(json, Arc::new(labels)),
        args,
        stop.clone(),
    );
    output::drive(settings, infos, events, stop, &mut Passthrough { json })
}

/// Every check on every host over SSH; with --all-or-nothing, a checking
/// round first and the reloading round only if every host passed.
fn fleet(args: &Args, mut plan: Plan) -> Result<i32, String> {
    let targets = args.fleet.targets(None)?;
    if targets.is_empty() {
        exit::report("confcheck", "the host list is empty: nothing to do");
        return Ok(exit::SUCCESS);
    }
    let hosts = args.fleet.resolve(targets)?;
    let infos: Vec<HostInfo> = hosts.iter().map(fleet::Host::info).collect();
    let labels = Arc::new(infos.iter().map(|h| h.label.clone()).collect::<Vec<_>>());
    plan.labels = Some(labels.clone());
    let settings = settings(args, false);
    settings.check()?;
    fleet::raise_open_files();
    let links = || {
        fleet::Links::new(
            "confcheck",
            &args.fleet,
            hosts.clone(),
            fleet::Wants {
                bulk: false,
                sftp: false,
                openssh: None,
            },
            Arc::new(cli::prompt::Terminal),
        )
    };
    // Any host the transports cannot reach is said before anything runs.
    links()?;
    let round = |plan: Plan| -> i32 {
        let stop = Stop::new();
        cli::signals::cancel_on_signals(stop.clone());
        let connector = match links() {
            Ok(c) => c,
            Err(e) => {
                exit::report("confcheck", e);
                return exit::USAGE;
            }
        };
        let json = args.fleet.json;
        let events = start(
            connector,
            job::Remote(Arc::new(plan)),
            infos.len(),
            capture(json, labels.clone()),
            args,
            stop.clone(),
        );
        output::drive(
            settings.clone(),
            infos.clone(),
            events,
            stop,
            &mut Passthrough { json },
        )
    };
    if !args.all_or_nothing {
        return Ok(round(plan));
    }
    plan.no_reload = true;
    let first = round(Plan {
        checks: plan.checks.clone(),
        file: None,
        shown_as: None,
        strict: plan.strict,
        reload: true,
        labels: plan.labels.clone(),
        named: plan.named,
        no_reload: true,
    });
    if first != exit::SUCCESS {
        exit::report(
            "confcheck",
            "--all-or-nothing: not every host passed; no host was reloaded",
        );
        return Ok(first);
    }
    plan.no_reload = false;
    Ok(round(plan))
}

fn start<C: Connector, J: Job<C::Conn>>(
    connector: C,
    job: J,
    count: usize,
    capture: Capture,
    args: &Args,
    stop: Arc<Stop>,
) -> engine::Events<output::capture::Msg> {
    engine::start(
        count,
        Arc::new(connector),
        Arc::new(job),
        Arc::new(capture),
        engine::Settings {
            fanout: args.fleet.fanout(),
            retries: args.fleet.retry,
            timeout: args.timeout,
            budget: 1 << 20,
        },
        stop,
    )
}

/// `--then CMD`: runs only when every check passed.
fn then(cmd: &str) -> Result<i32, String> {
    let status = std::process::Command::new("sh")
        .args(["-c", cmd])
        .status()
        .map_err(|e| format!("--then: cannot run sh: {e}"))?;
    match status.code() {
        Some(0) => Ok(exit::SUCCESS),
        Some(c) => {
            exit::report("confcheck", format!("--then: '{cmd}' exited {c}"));
            Ok(c)
        }
        None => {
            exit::report(
                "confcheck",
                format!("--then: '{cmd}' was killed by a signal"),
            );
            Ok(output::FAILED)
        }
    }
}

/// `--from-json CHECK`: judges rrun's records as CHECK's output.
fn from_json(check: &dyn Check, strict: bool) -> Result<i32, String> {
    if std::io::stdin().is_terminal() {
        return Err("--from-json reads rrun --json records on standard input".into());
    }
    let mut input = String::new();
    std::io::stdin()
        .read_to_string(&mut input)
        .map_err(|e| format!("<stdin>: {e}"))?;
    let mut out = std::io::stdout().lock();
    let mut err = std::io::stderr().lock();
    let (mut failed, mut broken, mut hosts) = (0, 0, 0);
    for (n, line) in input
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let r: serde_json::Value = serde_json::from_str(line)
            .map_err(|e| format!("<stdin>:{}: not an rrun --json record: {e}", n + 1))?;
        let host = r["host"]
            .as_str()
            .ok_or_else(|| format!("<stdin>:{}: no \"host\"", n + 1))?;
        // A host name is data: no control character reaches the terminal
        // or starts a line an editor would read as a diagnostic.
        let host: String = host
            .chars()
            .map(|c| if c.is_control() { '?' } else { c })
            .collect();
        let host = host.as_str();
        hosts += 1;
        if r["status"] != "ok" && r["status"] != "failed" {
            let _ = writeln!(
                err,
                "{host}: {}: could not run: {} {}",
                check.name(),
                r["status"].as_str().unwrap_or("no status"),
                r["error"].as_str().unwrap_or("")
            );
            broken += 1;
            continue;
        }
        let text = format!(
            "{}{}",
            r["stdout"].as_str().unwrap_or(""),
            r["stderr"].as_str().unwrap_or("")
        );
        let code = r["exit_code"].as_i64().map(|c| c as i32);
        let (verdict, diags) = check.judge(code, &text, strict);
        for d in &diags {
            let _ = writeln!(
                out,
                "{}",
                d.editor_line(&format!("{} on {host}", check.name()))
            );
        }
        let status = match verdict {
            Verdict::Passed => "ok".to_string(),
            Verdict::Failed => {
                failed += 1;
                let n = diags.len();
                format!("FAILED {n} error{}", if n == 1 { "" } else { "s" })
            }
            Verdict::Environment(why) => {
                broken += 1;
                format!("could not run: {why}")
            }
            Verdict::Missing => {
                broken += 1;
                "not installed".to_string()
            }
        };
        let _ = writeln!(err, "{host}: {}: {status}", check.name());
    }
    if hosts == 0 {
        return Err("--from-json: no rrun --json records on standard input".into());
    }
    let _ = writeln!(
        err,
        "{hosts} host{}: {} ok, {failed} failed, {broken} could not run",
        if hosts == 1 { "" } else { "s" },
        hosts - failed - broken
    );
    Ok(if broken > 0 {
        output::UNREACHED
    } else if failed > 0 {
        output::FAILED
    } else {
        exit::SUCCESS
    })
}
