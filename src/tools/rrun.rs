//! `rrun`: run one command on many hosts at once over SSH.
//!
//! Owns rrun's flag table, its arguments and `run()`: gathering the host
//! list, resolving each host through ssh_config, starting the fanout engine
//! and feeding its events to the output printer.

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::io::{IsTerminal, Read};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::cli::flag::{Positional, text, with_common};
use crate::cli::{self, Arity, Common, Flag, Hint, Tool, ToolArgs, exit};
use crate::fanout::{self, Event, Host, Plan, Shared};
use crate::hosts::{self, Target};
use crate::output::{self, Mode, Printer};
use crate::ssh::auth::Credentials;
use crate::ssh::config::{Config, home};
use crate::ssh::known_hosts::{KnownHosts, Policy};
use crate::ssh::session::Destination;

/// rrun's parsed command line.
#[derive(Debug, Default)]
pub struct Args {
    common: Common,
    operands: Vec<OsString>,
    host_options: Vec<String>,
    host_files: Vec<PathBuf>,
    user: Option<String>,
    identities: Vec<PathBuf>,
    port: Option<u16>,
    config: Option<PathBuf>,
    ask_password: bool,
    host_key: Option<Policy>,
    fanout: Option<usize>,
    connect_timeout: Option<Duration>,
    timeout: Option<Duration>,
    retry: u32,
    stdin: bool,
    script: Option<PathBuf>,
    mode: Mode,
    outdir: Option<PathBuf>,
    errdir: Option<PathBuf>,
    failed: Option<PathBuf>,
    log: Option<PathBuf>,
}

impl ToolArgs for Args {
    fn common(&mut self) -> &mut Common {
        &mut self.common
    }
    fn positional(&mut self, value: OsString) -> Result<(), String> {
        self.operands.push(value);
        Ok(())
    }
}

type Apply = fn(&mut Args, Option<&OsStr>) -> Result<(), String>;

fn flag(
    long: &'static str,
    short: Option<char>,
    value: Option<(&'static str, Hint)>,
    summary: &'static str,
    doc: &'static str,
    apply: Apply,
) -> Flag<Args> {
    Flag {
        long,
        short,
        arity: match value {
            None => Arity::Switch,
            Some((name, hint)) => Arity::Value {
                name,
                choices: &[],
                hint,
            },
        },
        summary,
        doc,
        hidden: false,
        apply,
    }
}

fn path(v: Option<&OsStr>) -> Result<PathBuf, String> {
    v.map(PathBuf::from)
        .ok_or_else(|| "this option needs a value".to_string())
}

fn seconds(v: Option<&OsStr>) -> Result<Duration, String> {
    let s = text(v)?;
    match s.parse::<f64>() {
        Ok(n) if n > 0.0 && n.is_finite() && n <= 1e7 => Ok(Duration::from_secs_f64(n)),
        _ => Err(format!(
            "invalid value '{s}': expected a number of seconds above 0"
        )),
    }
}

/// The flag table: the single source of parsing, help, man page and completions.
pub fn tool() -> Tool<Args> {
    let other = Hint::Other;
    let file = Hint::File;
    let flags = vec![
        flag(
            "host",
            Some('H'),
            Some(("HOSTS", other)),
            "Hosts to run on: HOST[,HOST...], ranges allowed",
            "Hosts to run on, separated by commas: [user@]host[:port], IPv6 as [::1]:22, ranges such as web[01-20] or db[1,3,5-7]. May be repeated. With -H or --hosts, standard input is not read as a host list.",
            |a, v| {
                a.host_options.push(text(v)?.to_string());
                Ok(())
            },
        ),
        flag(
            "hosts",
            None,
            Some(("FILE", file)),
            "Read hosts from FILE, one per line",
            "Read hosts from FILE: one entry per line, blank lines and # comments ignored, the same syntax as -H. May be repeated. Without -H or --hosts, the host list is read from standard input. Duplicates run once; a malformed line is an error naming its line, and nothing runs.",
            |a, v| {
                a.host_files.push(path(v)?);
                Ok(())
            },
        ),
        flag(
            "user",
            Some('l'),
            Some(("USER", other)),
            "Log in as USER (as ssh -l)",
            "Log in as USER where the host list names no user (as ssh -l); otherwise ssh_config's User, then the local user name.",
            |a, v| {
                a.user = Some(text(v)?.to_string());
                Ok(())
            },
        ),
        flag(
            "identity",
            Some('i'),
            Some(("FILE", file)),
            "Try this private key (as ssh -i); may be repeated",
            "Try the private key in FILE (as ssh -i), before ssh_config's IdentityFile and the default keys. May be repeated. An encrypted key's passphrase is asked once on the terminal and used for every host.",
            |a, v| {
                a.identities.push(path(v)?);
                Ok(())
            },
        ),
        flag(
            "port",
            None,
            Some(("PORT", other)),
            "Connect to PORT where the host list names none",
            "Connect to PORT where the host list names none (ssh_config's Port otherwise, then 22). -p is the fanout, as in pssh.",
            |a, v| {
                a.port = Some(cli::flag::number(v, 1, 65535)? as u16);
                Ok(())
            },
        ),
        flag(
            "config",
            Some('F'),
            Some(("FILE", file)),
            "Read ssh_config from FILE instead of ~/.ssh/config",
            "Read ssh_config options from FILE instead of ~/.ssh/config. Honoured: Host (patterns, ! negation, first match wins), HostName, User, Port, IdentityFile, IdentitiesOnly, ConnectTimeout, StrictHostKeyChecking, UserKnownHostsFile, ProxyJump (one hop; the jump host's own settings come from the same file). Match blocks never apply.",
            |a, v| {
                a.config = Some(path(v)?);
                Ok(())
            },
        ),
        flag(
            "ask-password",
            Some('A'),
            None,
            "Ask for a password once and use it for every host",
            "Ask for a password once on the terminal and try it on every host after the keys. It is never logged.",
            |a, _| {
                a.ask_password = true;
                Ok(())
            },
        ),
        Flag {
            long: "host-key",
            short: None,
            arity: Arity::Value {
                name: "POLICY",
                choices: &["strict", "accept-new", "off"],
                hint: Hint::Other,
            },
            summary: "Host key checking: strict, accept-new (default) or off",
            doc: "How host keys are checked against known_hosts (ssh_config's UserKnownHostsFile, or ~/.ssh/known_hosts). accept-new (the default, unless ssh_config's StrictHostKeyChecking says otherwise) appends unknown keys; strict refuses them; off checks nothing. A changed key is always refused, naming the known_hosts file and line, and the command is not run there.",
            hidden: false,
            apply: |a, v| {
                a.host_key = Some(match text(v)? {
                    "strict" => Policy::Strict,
                    "accept-new" => Policy::AcceptNew,
                    "off" => Policy::Off,
                    other => {
                        return Err(format!(
                            "invalid value '{other}': expected strict, accept-new or off"
                        ));
                    }
                });
                Ok(())
            },
        },
        flag(
            "fanout",
            Some('p'),
            Some(("N", other)),
            "Run on at most N hosts at once (default 64)",
            "Run on at most N hosts at once (default 64, up to 10000).",
            |a, v| {
                a.fanout = Some(cli::flag::number(v, 1, 10_000)? as usize);
                Ok(())
            },
        ),
        flag(
            "connect-timeout",
            None,
            Some(("SECONDS", other)),
            "Give up connecting after SECONDS (default 10)",
            "Give up on a host that has not completed TCP connect, SSH banner, handshake and authentication within SECONDS (default 10, or ssh_config's ConnectTimeout).",
            |a, v| {
                a.connect_timeout = Some(seconds(v)?);
                Ok(())
            },
        ),
        flag(
            "timeout",
            Some('t'),
            Some(("SECONDS", other)),
            "End a host's command after SECONDS",
            "End a host's command if it is still running SECONDS after it started. The command then runs on a pseudo-terminal, so that ending the session hangs it up (SIGHUP) on the host rather than leaving it running; its stderr then arrives with its stdout.",
            |a, v| {
                a.timeout = Some(seconds(v)?);
                Ok(())
            },
        ),
        flag(
            "retry",
            None,
            Some(("N", other)),
            "Retry a failed connection N times",
            "Retry a host whose connection failed (refused, timed out, handshake failed) up to N times. Authentication and host key failures, and failed commands, are not retried.",
            |a, v| {
                a.retry = cli::flag::number(v, 0, 100)? as u32;
                Ok(())
            },
        ),
        flag(
            "stdin",
            Some('I'),
            None,
            "Send rrun's standard input to every host's command",
            "Read all of rrun's standard input and send it to every host's command as its standard input. The host list must then come from -H or --hosts.",
            |a, _| {
                a.stdin = true;
                Ok(())
            },
        ),
        flag(
            "script",
            None,
            Some(("FILE", file)),
            "Run a local script on each host; operands are its arguments",
            "Run the local script FILE on each host without copying it: it is sent as the standard input of its interpreter (from its #! line; sh if none), and the operands become its arguments.",
            |a, v| {
                a.script = Some(path(v)?);
                Ok(())
            },
        ),
        flag(
            "inline",
            None,
            None,
            "Print each host's output as one block when it finishes",
            "Print each host's output as one block when it finishes, under a header such as [3/100] web07 FAILED exit=2 1.4s.",
            |a, _| {
                a.mode = Mode::Inline;
                Ok(())
            },
        ),
        flag(
            "gather",
            Some('g'),
            None,
            "After all finish, group hosts with identical output",
            "After all hosts finish, print each distinct output once under the folded names of the hosts that produced it, as web[01-03,05] (4) (like dshbak -c or clush -b).",
            |a, _| {
                a.mode = Mode::Gather;
                Ok(())
            },
        ),
        flag(
            "json",
            None,
            None,
            "Print one JSON object per host as it finishes",
            "Print one JSON object per host as it finishes: host, user, port, status (ok, failed, unreachable, auth, hostkey, timeout, interrupted), exit_code, signal, stdout, stderr, error, started, duration_ms. Output that is not UTF-8 is shown with replacement characters; -o keeps it byte-exact.",
            |a, _| {
                a.mode = Mode::Json;
                Ok(())
            },
        ),
        flag(
            "outdir",
            Some('o'),
            Some(("DIR", Hint::Dir)),
            "Save each host's stdout, byte-exact, as DIR/HOST",
            "Save each host's stdout, byte-exact, as DIR/HOST (written to a temporary file, then renamed), in addition to the output mode.",
            |a, v| {
                a.outdir = Some(path(v)?);
                Ok(())
            },
        ),
        flag(
            "errdir",
            Some('e'),
            Some(("DIR", Hint::Dir)),
            "Save each host's stderr, byte-exact, as DIR/HOST",
            "Save each host's stderr, byte-exact, as DIR/HOST, as -o does for stdout.",
            |a, _v| {
                a.errdir = Some(path(_v)?);
                Ok(())
            },
        ),
        flag(
            "failed",
            None,
            Some(("FILE", file)),
            "Write the hosts that did not succeed to FILE",
            "Write the hosts that did not succeed (any status but ok) to FILE, one per line as in a host list, ready for rrun --hosts FILE.",
            |a, v| {
                a.failed = Some(path(v)?);
                Ok(())
            },
        ),
        flag(
            "log",
            None,
            Some(("FILE", file)),
            "Append one timestamped line per host to FILE",
            "Append one line per host to FILE: time, host, status, exit code, duration and error, a run log that outlives the terminal.",
            |a, v| {
                a.log = Some(path(v)?);
                Ok(())
            },
        ),
    ];
    Tool {
        name: "rrun",
        about: "run one command on many hosts at once over SSH",
        synopsis: &[
            "[OPTIONS] [--] COMMAND [ARG...]",
            "[OPTIONS] --script FILE [ARG...]",
        ],
        description: "rrun runs COMMAND on every host of the host list at once (at most --fanout at a time) over SSH, and shows the output as it arrives, prefixed with the host's name: stdout lines on stdout, stderr lines on stderr, whole lines only, never interleaved. The host list is read from standard input, or from --hosts and -H.\n\n\
            COMMAND and its arguments are joined with spaces and run by the remote user's shell, as ssh does. The first operand ends rrun's options. Connections honour ~/.ssh/config (or -F), ssh-agent, key files and known_hosts.\n\n\
            At the end, a summary goes to standard error: 100 hosts: 97 ok, 2 failed, 1 unreachable, with the folded names of the hosts that did not succeed. On a terminal, a live count is shown while hosts run. Ctrl-C stops starting hosts, ends the sessions in flight, prints the summary and exits 130.",
        flags: with_common(flags),
        positional: Positional {
            name: "COMMAND",
            hint: Hint::Other,
        },
        operands_end_options: true,
        exit_status: &[
            ("0", "Every host ran the command and it exited 0."),
            (
                "1",
                "Every host was reached, but the command failed (non-zero exit or a signal) on some.",
            ),
            (
                "2",
                "Usage error, or a local error (unreadable host list or config, output files).",
            ),
            (
                "3",
                "Some host could not be reached, authenticated (or its host key was refused), or did not finish in time.",
            ),
            ("130", "Interrupted by Ctrl-C."),
        ],
        environment: &[
            ("SSH_AUTH_SOCK", "The ssh-agent to take identities from."),
            (
                "NO_COLOR",
                "When set and not empty, --color=auto does not colour.",
            ),
        ],
        examples: &[
            ("rrun -H 'web[01-20]' uptime", "Run uptime on twenty hosts."),
            (
                "rrun --hosts fleet.txt -g -- cat /etc/debian_version",
                "Group hosts by the Debian version they report.",
            ),
            (
                "rrun --json --hosts fleet.txt df -h / | jpretty",
                "JSON records, one per host.",
            ),
            (
                "rrun --hosts fleet.txt --failed retry.txt -t 30 apt-get -y upgrade; rrun --hosts retry.txt ...",
                "Feed the hosts that failed back in.",
            ),
        ],
        see_also: &["ssh(1)", "ssh_config(5)", "pdsh(1)", "jpretty(1)"],
    }
}

/// Parses the command line and runs; returns the exit code.
pub fn main() -> i32 {
    cli::parse::main(&tool(), run)
}

/// Runs; returns the exit code.
pub fn run(args: Args) -> i32 {
    match prepare(args) {
        Ok(job) => execute(job),
        Err(message) => {
            exit::report("rrun", message);
            exit::USAGE
        }
    }
}

/// Everything resolved, ready to go.
struct Job {
    hosts: Vec<Host>,
    plan: Plan,
    shared: Shared,
    output: output::Settings,
}

fn prepare(args: Args) -> Result<Job, String> {
    let (command, script_input) = command(&args)?;
    if args.stdin && script_input.is_some() {
        return Err("--script and -I both need the remote standard input; use one".to_string());
    }
    let targets = host_list(&args)?;
    if targets.is_empty() {
        return Err("the host list is empty".to_string());
    }
    let input = if args.stdin {
        let mut buf = Vec::new();
        std::io::stdin()
            .read_to_end(&mut buf)
            .map_err(|e| format!("reading standard input for -I: {e}"))?;
        Some(Arc::new(buf))
    } else {
        script_input.map(Arc::new)
    };
    let config = match &args.config {
        Some(path) => {
            if !path.exists() {
                return Err(format!("{}: no such ssh_config file (-F)", path.display()));
            }
            Config::load(path)
        }
        None => Config::load(&home().join(".ssh/config")),
    }
    .map_err(|e| format!("ssh_config: {e}"))?;
    let hosts = resolve(&args, &config, targets)?;
    let mut output = output::Settings {
        mode: args.mode,
        outdir: args.outdir.clone(),
        errdir: args.errdir.clone(),
        failed: args.failed.clone(),
        log: args.log.clone(),
        colour_out: args.common.color.for_stdout(),
        colour_err: args.common.color.for_stderr(),
        progress: std::io::stderr().is_terminal(),
    };
    if output.mode == Mode::Stream && std::io::stdout().is_terminal() {
        // Lines and the live count would fight over one terminal.
        output.progress = false;
    }
    let plan = Plan {
        command,
        input,
        timeout: args.timeout,
        retries: args.retry,
        fanout: args.fanout.unwrap_or(64),
        keep_output: output.keeps_output(),
        stream_lines: output.mode == Mode::Stream,
    };
    let shared = Shared {
        credentials: Credentials::new(args.identities.clone(), args.ask_password),
    };
    Ok(Job {
        hosts,
        plan,
        shared,
        output,
    })
}

/// The remote command, and the script to send as its input, if any.
fn command(args: &Args) -> Result<(String, Option<Vec<u8>>), String> {
    let operands: Vec<String> = args
        .operands
        .iter()
        .map(|o| o.to_string_lossy().into_owned())
        .collect();
    let Some(script) = &args.script else {
        if operands.is_empty() {
            return Err("no command given: rrun [OPTIONS] COMMAND [ARG...]".to_string());
        }
        return Ok((operands.join(" "), None));
    };
    let body = std::fs::read(script)
        .map_err(|e| format!("{}: cannot read script: {e}", script.display()))?;
    let interpreter = body
        .strip_prefix(b"#!")
        .and_then(|rest| rest.split(|&b| b == b'\n').next())
        .map(|l| String::from_utf8_lossy(l).trim().to_string())
        .filter(|l| !l.is_empty())
        .unwrap_or_else(|| "/bin/sh".to_string());
    let name = interpreter
        .split_whitespace()
        .map(|w| w.rsplit('/').next().unwrap_or(w))
        .find(|w| *w != "env")
        .unwrap_or("sh")
        .to_string();
    // Shells read a script from stdin with -s; python, perl, ruby with -.
    let from_stdin = if ["sh", "bash", "dash", "zsh", "ksh", "ash"].contains(&name.as_str()) {
        "-s --"
    } else {
        "-"
    };
    let mut command = format!("{interpreter} {from_stdin}");
    for arg in operands {
        command.push(' ');
        command.push_str(&shell_quote(&arg));
    }
    Ok((command, Some(body)))
}

/// Quotes one word for a POSIX shell.
fn shell_quote(word: &str) -> String {
    if !word.is_empty()
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./=:,+@%".contains(&b))
    {
        return word.to_string();
    }
    format!("'{}'", word.replace('\'', "'\\''"))
}

/// Hosts from -H and --hosts, else from standard input; duplicates removed.
fn host_list(args: &Args) -> Result<Vec<Target>, String> {
    let mut targets = Vec::new();
    for value in &args.host_options {
        targets.extend(hosts::parse_option(value).map_err(|e| e.to_string())?);
    }
    for file in &args.host_files {
        let text = std::fs::read_to_string(file)
            .map_err(|e| format!("{}: cannot read host list: {e}", file.display()))?;
        targets.extend(
            hosts::parse_list(&text, &file.display().to_string()).map_err(|e| e.to_string())?,
        );
    }
    if args.host_options.is_empty() && args.host_files.is_empty() {
        if args.stdin {
            return Err(
                "-I sends standard input to the hosts: give the hosts with -H or --hosts"
                    .to_string(),
            );
        }
        if std::io::stdin().is_terminal() {
            return Err(
                "no hosts: pipe a host list in, or use --hosts FILE or -H HOST".to_string(),
            );
        }
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| format!("<stdin>: cannot read host list: {e}"))?;
        targets = hosts::parse_list(&text, "<stdin>").map_err(|e| e.to_string())?;
    }
    Ok(hosts::dedupe(targets))
}

/// Applies the command line and ssh_config to each target.
fn resolve(args: &Args, config: &Config, targets: Vec<Target>) -> Result<Vec<Host>, String> {
    let mut resolver = Resolver {
        args,
        config,
        local_user: local_user(),
        known: HashMap::new(),
    };
    targets
        .into_iter()
        .map(|target| {
            let dest = resolver.destination(&target, true)?;
            Ok(Host { target, dest })
        })
        .collect()
}

/// Turns targets into destinations, sharing known_hosts between hosts
/// that use the same files.
struct Resolver<'a> {
    args: &'a Args,
    config: &'a Config,
    local_user: String,
    known: HashMap<Vec<PathBuf>, Arc<KnownHosts>>,
}

impl Resolver<'_> {
    fn destination(&mut self, target: &Target, with_jump: bool) -> Result<Destination, String> {
        let (args, c) = (self.args, self.config.resolve(&target.host));
        let files = if c.user_known_hosts_files.is_empty() {
            vec![home().join(".ssh/known_hosts")]
        } else {
            c.user_known_hosts_files.clone()
        };
        let known_hosts = self
            .known
            .entry(files.clone())
            .or_insert_with(|| Arc::new(KnownHosts::load(files)))
            .clone();
        let policy = args
            .host_key
            .unwrap_or(match c.strict_host_key_checking.as_deref() {
                Some("no" | "off") => Policy::Off,
                Some("yes" | "ask") => Policy::Strict,
                _ => Policy::AcceptNew,
            });
        // The jump host is itself resolved through ssh_config (one hop: its
        // own ProxyJump is not followed).
        let jump = match (&c.proxy_jump, with_jump) {
            (Some(spec), true) => {
                let hop = hosts::parse_entry(spec)
                    .ok()
                    .and_then(|mut t| (t.len() == 1).then(|| t.remove(0)))
                    .ok_or_else(|| {
                        format!(
                            "ssh_config: ProxyJump '{spec}' for {} is not [user@]host[:port]",
                            target.host
                        )
                    })?;
                Some(Box::new(self.destination(&hop, false)?))
            }
            _ => None,
        };
        Ok(Destination {
            host: c.hostname.clone().unwrap_or_else(|| target.host.clone()),
            port: target.port.or(args.port).or(c.port).unwrap_or(22),
            user: target
                .user
                .clone()
                .or_else(|| args.user.clone())
                .or(c.user.clone())
                .unwrap_or_else(|| self.local_user.clone()),
            identity_files: c.identity_files.clone(),
            identities_only: c.identities_only,
            connect_timeout: args
                .connect_timeout
                .or(c.connect_timeout)
                .unwrap_or(Duration::from_secs(10)),
            known_hosts,
            policy,
            jump,
        })
    }
}

fn local_user() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "root".to_string())
}

/// How each host is named in output: `host` (or `host:port`), and
/// `user@host` where the list reaches one host as several users, so that
/// their lines and `-o` files stay apart.
fn labels(targets: &[Target]) -> Vec<String> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    for t in targets {
        *seen.entry(t.label()).or_default() += 1;
    }
    targets
        .iter()
        .map(|t| {
            let label = t.label();
            match &t.user {
                Some(user) if seen[&label] > 1 => format!("{user}@{label}"),
                _ => label,
            }
        })
        .collect()
}

/// Set by the SIGINT handler.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_sigint(_: libc::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// Ctrl-C sets a flag (a second one kills, as the handler resets itself).
fn catch_ctrl_c() {
    // SAFETY: installs an async-signal-safe handler (one atomic store).
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = on_sigint as extern "C" fn(libc::c_int) as usize;
        action.sa_flags = libc::SA_RESETHAND;
        libc::sigemptyset(&mut action.sa_mask);
        libc::sigaction(libc::SIGINT, &action, std::ptr::null_mut());
    }
}

/// Large fanouts need a descriptor per connection: raise the soft limit
/// to the hard one.
fn raise_open_files() {
    // SAFETY: plain getrlimit/setrlimit on our own process.
    unsafe {
        let mut lim: libc::rlimit = std::mem::zeroed();
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 && lim.rlim_cur < lim.rlim_max {
            lim.rlim_cur = lim.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}

fn execute(job: Job) -> i32 {
    raise_open_files();
    catch_ctrl_c();
    let targets: Vec<Target> = job.hosts.iter().map(|h| h.target.clone()).collect();
    let labels = labels(&targets);
    let entries: Vec<String> = targets.iter().map(|t| t.to_string()).collect();
    let mut printer = match Printer::new(job.output, labels, entries) {
        Ok(p) => p,
        Err(e) => {
            exit::report("rrun", e);
            return exit::USAGE;
        }
    };
    let cancel = Arc::new(AtomicBool::new(false));
    let total = job.hosts.len();
    let events = fanout::start(
        job.hosts,
        Arc::new(job.plan),
        Arc::new(job.shared),
        cancel.clone(),
    );
    // Relay Ctrl-C to the engine.
    let relay = cancel.clone();
    std::thread::spawn(move || {
        loop {
            if INTERRUPTED.load(Ordering::SeqCst) {
                relay.store(true, Ordering::SeqCst);
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    });
    let mut done = 0;
    let result = (|| -> std::io::Result<()> {
        while done < total {
            let event = match events.try_recv() {
                Ok(e) => e,
                Err(_) => {
                    printer.flush()?;
                    match events.recv() {
                        Ok(e) => e,
                        Err(_) => break,
                    }
                }
            };
            match event {
                Event::Line {
                    index,
                    stream,
                    line,
                } => printer.line(index, stream, &line)?,
                Event::Done(report) => {
                    done += 1;
                    printer.done(*report)?;
                }
            }
        }
        printer.finish()
    })();
    match result {
        Ok(()) => printer.exit_code(),
        Err(e) if exit::is_broken_pipe(&e) => {
            cancel.store(true, Ordering::SeqCst);
            exit::SUCCESS
        }
        Err(e) => {
            cancel.store(true, Ordering::SeqCst);
            exit::report("rrun", e);
            exit::USAGE
        }
    }
}
