//! `rrun`: run one command on many hosts at once over SSH.
//!
//! Owns rrun's flag table, its arguments and `run()`: gathering the host
//! list, resolving each host through ssh_config, starting the fanout engine
//! and feeding its events to the output printer.

use std::ffi::OsString;
use std::io::{IsTerminal, Read};
use std::path::PathBuf;
use std::sync::Arc;

use crate::cli::flag::{Positional, path, text, with_common};
use crate::cli::{self, Common, Flag, Hint, Tool, ToolArgs, exit};
use crate::engine::{self, Failure, Finish, Job, Work};
use crate::fleet::{self, FleetArgs};
use crate::output::display::{Mode, Rrun};
use crate::output::{self, HostInfo, files};
use crate::ssh::link::Link;
use crate::ssh::session::Exec;
use crate::stop::Stop;

/// rrun's parsed command line.
#[derive(Debug, Default)]
pub struct Args {
    common: Common,
    fleet: fleet::Options,
    operands: Vec<OsString>,
    timeout: Option<std::time::Duration>,
    stdin: bool,
    no_prefix: bool,
    largest_exit: bool,
    /// `--sudo` (`Some(None)`: as root) and `--sudo-user`.
    sudo: Option<Option<String>>,
    pty: bool,
    script: Option<PathBuf>,
    mode: Mode,
    outdir: Option<PathBuf>,
    errdir: Option<PathBuf>,
    show_config: bool,
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
        self.operands.push(value);
        Ok(())
    }
}

/// Flags of this tool's arguments.
type F = Flag<Args>;

/// The flag table: the single source of parsing, help, man page and completions.
pub fn tool() -> Tool<Args> {
    let other = Hint::Other;
    let file = Hint::File;
    let mut flags = fleet::flags();
    flags.extend(vec![
        F::value(
            "timeout",
            Some('t'),
            ("SECONDS", other),
            "End a host's command after SECONDS",
            "End a host's command if it is still running SECONDS after it started. The command then runs on a pseudo-terminal, so that ending the session hangs it up (SIGHUP) on the host rather than leaving it running; its stderr then arrives with its stdout.",
            |a, v| {
                a.timeout = Some(cli::flag::seconds(v)?);
                Ok(())
            },
        ),
        F::switch(
            "stdin",
            Some('I'),
            "Send rrun's standard input to every host's command",
            "Read all of rrun's standard input and send it to every host's command as its standard input. It is read whole before any host starts and held in memory (every host gets the same bytes, at its own pace). The host list must then come from -H or --hosts.",
            |a, _| {
                a.stdin = true;
                Ok(())
            },
        ),
        F::value(
            "script",
            None,
            ("FILE", file),
            "Run a local script on each host; operands are its arguments",
            "Run the local script FILE on each host without copying it: it is sent as the standard input of its interpreter (from its #! line; sh if none), and the operands become its arguments. With -t the command runs on a terminal, where a shell reading its script from the terminal would be an interactive one (prompts in the output): the script then travels inside the command line as a here-document, which the host's login shell must understand (any POSIX shell) and which holds at most 120 KiB.",
            |a, v| {
                a.script = Some(path(v)?);
                Ok(())
            },
        ),
        F::switch(
            "show-config",
            Some('G'),
            "Print each host's resolved ssh_config options, as ssh -G",
            "Print the options ssh_config (with the command line) resolves for each host, as ssh -G does: the same lowercase keywords and value forms, for every option fleetkit honours (user, hostname, port, identityfile, certificatefile, userknownhostsfile, stricthostkeychecking, connecttimeout, proxycommand, proxyjump, ...). Nothing is connected to. The operands are the hosts (with -H or --hosts too); each host's block starts with its host line. The values are ssh's; where they say ask or none, fleetkit's own defaults apply when it connects: an unknown host key is learnt (accept-new) and a connection gives up after 10 seconds.",
            |a, _| {
                a.show_config = true;
                Ok(())
            },
        ),
        F::switch(
            "no-prefix",
            Some('N'),
            "Print output lines without the host prefix",
            "Print each output line as the host printed it, without the host: prefix (as pdsh -N and clush -N). Lines stay whole and are never interleaved.",
            |a, _| {
                a.no_prefix = true;
                Ok(())
            },
        ),
        F::switch(
            "sudo",
            None,
            "Run the command as root through sudo, one password for all",
            "Run the command as root through sudo on every host. On a terminal, the password is asked once before any host starts (Enter for none, where sudoers says NOPASSWD) and given to each host's sudo on its standard input, never in an argument list; it never appears in output, -o files, --log or JSON. A host whose sudo refuses it is reported as auth and is never sent it twice; sudo's own words say why. -I still works: the command's standard input follows the password. Hosts whose sudoers require a terminal (requiretty) need --pty. The host's login shell must be a POSIX shell.",
            |a, _| {
                a.sudo.get_or_insert(None);
                Ok(())
            },
        ),
        F::value(
            "sudo-user",
            None,
            ("USER", other),
            "With sudo, run the command as USER instead of root",
            "Run the command as USER through sudo (sudo -u USER); implies --sudo.",
            |a, v| {
                a.sudo = Some(Some(text(v)?.to_string()));
                Ok(())
            },
        ),
        F::switch(
            "pty",
            None,
            "Run the command on a pseudo-terminal",
            "Run the command on a pseudo-terminal, as ssh -tt does, for hosts whose sudoers require a terminal (requiretty) and programs that behave differently on one. Its stderr then arrives with its stdout; end of input still reaches it (-I). -t implies it.",
            |a, _| {
                a.pty = true;
                Ok(())
            },
        ),
        F::switch(
            "largest-exit",
            Some('S'),
            "Exit with the largest remote exit status (pdsh -S)",
            "Exit with the largest exit status of the command on any host, as pdsh -S does, instead of rrun's own classes (see EXIT STATUS): a command killed by signal N counts 128+N, a host that was not reached, authenticated or finished in time counts 255 (ssh's own status). Interrupted by a signal, rrun still exits 128+N.",
            |a, _| {
                a.largest_exit = true;
                Ok(())
            },
        ),
        F::switch(
            "inline",
            None,
            "Print each host's output as one block when it finishes",
            "Print each host's output as one block when it finishes, under a header such as [3/100] web07 FAILED exit=2 1.4s.",
            |a, _| set_mode(a, Mode::Inline),
        ),
        F::switch(
            "gather",
            Some('g'),
            "After all finish, group hosts with identical output",
            "After all hosts finish, print each distinct output once under the folded names of the hosts that produced it, as web[01-03,05] (4) (like dshbak -c or clush -b).",
            |a, _| set_mode(a, Mode::Gather),
        ),
        F::switch(
            "diff",
            None,
            "After all finish, diff each output against the most common",
            "After all hosts finish, take the stdout most hosts printed as the reference and print every other one as a unified diff against it, under --- REFERENCE-HOSTS (N) and +++ HOSTS (N) (as clush --diff): configuration drift across a fleet in one command (rrun --diff cat /etc/nginx/nginx.conf). Nothing is printed on stdout when every host printed the same. Each distinct output is read into memory to be compared. stderr is grouped as with -g, on stderr.",
            |a, _| set_mode(a, Mode::Diff),
        ),
        F::value(
            "outdir",
            Some('o'),
            ("DIR", Hint::Dir),
            "Save each host's stdout, byte-exact, as DIR/HOST",
            "Save each host's stdout, byte-exact, as DIR/HOST, in addition to the output mode. Written as it arrives to a new file with a random temporary name in DIR (never through a link planted there), flushed to disk and renamed into place when the host is done; a host never reached gets no file. Output of a command cut off (a signal, -t, a lost connection) is saved as DIR/HOST.partial, so an earlier complete DIR/HOST stays. DIR is created, and checked to be writable, before anything runs; a file that cannot be written fails that host's file (said on stderr, exit status 2), never the run.",
            |a, v| {
                a.outdir = Some(path(v)?);
                Ok(())
            },
        ),
        F::value(
            "errdir",
            Some('e'),
            ("DIR", Hint::Dir),
            "Save each host's stderr, byte-exact, as DIR/HOST",
            "Save each host's stderr, byte-exact, as DIR/HOST, as -o does for stdout.",
            |a, v| {
                a.errdir = Some(path(v)?);
                Ok(())
            },
        ),
    ]);
    Tool {
        name: "rrun",
        about: "run one command on many hosts at once over SSH",
        synopsis: &[
            "[OPTIONS] [--] COMMAND [ARG...]",
            "[OPTIONS] --script FILE [ARG...]",
        ],
        description: "rrun runs COMMAND on every host of the host list at once (at most --fanout at a time) over SSH, and shows the output as it arrives, prefixed with the host's name: stdout lines on stdout, stderr lines on stderr, whole lines only, never interleaved. A line longer than 1 MiB is printed in pieces of 1 MiB, each on a line of its own; pieces after the first are prefixed HOST+ instead of HOST:. The host list is read from standard input, or from --hosts and -H.\n\n\
            COMMAND and its arguments are joined with spaces and run by the remote user's shell, as ssh does. The first operand ends rrun's options. Connections honour ~/.ssh/config (or -F), ssh-agent, key files and known_hosts.\n\n\
            At the end, a summary goes to standard error: 100 hosts: 97 ok, 2 failed, 1 unreachable, with the folded names of the hosts that did not succeed. Each host ends in one status: ok, failed (the command exited non-zero or was killed by a signal), unreachable (no connection, no SSH server, or the connect timeout passed), auth, hostkey, timeout (-t passed), lost (the connection broke after the command started: it may have run), error (a local error) or interrupted. On a terminal, a live count is shown while hosts run.\n\n\
            Memory does not grow with what hosts print or how slowly standard output is read: at most 4 MiB of output is in flight to the printer, and each host being worked on holds at most about 4 MiB more (libssh2's 2 MiB receive window, an unfinished line of up to 1 MiB, 64 KiB per stream for --json, 64 KiB of --inline or --gather output in memory, the rest in a temporary file in TMPDIR). When standard output is not read, rrun stops reading the hosts and SSH flow control holds them. When its reader goes away (a closed pipe), output is dropped and the run completes on every host, with the summary, --failed, --log and -o files written and the usual exit status.\n\n\
            SIGINT (Ctrl-C), SIGTERM or SIGHUP ends the run within a second or two: connections and commands in flight are cut, hosts not started are not started, and the summary, --failed (unfinished hosts included) and --log are still written; a second signal exits at once. As with ssh, a command without -t that neither reads nor writes may go on running on its host after its session ends; with -t it runs on a pseudo-terminal and is hung up.",
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
                "Usage error, or a local error: an unreadable host list or config, an output path that cannot be written (checked before anything runs), an output file or standard output that failed during the run (after the run completed), or a standard output closed before the start.",
            ),
            (
                "3",
                "Some host could not be reached or authenticated, its host key was refused, its command did not finish in time, or its connection was lost.",
            ),
            ("130", "Interrupted by SIGINT (Ctrl-C)."),
            ("143", "Interrupted by SIGTERM."),
            ("129", "Interrupted by SIGHUP."),
        ],
        environment: &[
            ("SSH_AUTH_SOCK", "The ssh-agent to take identities from."),
            (
                "TMPDIR",
                "Where --inline and --gather keep output past 64 KiB per host (unlinked files).",
            ),
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

/// Chooses an output mode; two different ones are an error naming both.
fn set_mode(a: &mut Args, mode: Mode) -> Result<(), String> {
    let name = |m: Mode| match m {
        Mode::Inline => "--inline",
        Mode::Gather => "--gather",
        Mode::Diff => "--diff",
        Mode::Json => "--json",
        Mode::Stream => "",
    };
    if a.mode != Mode::Stream && a.mode != mode {
        return Err(format!("cannot be used with {}", name(a.mode)));
    }
    a.mode = mode;
    Ok(())
}

/// Parses the command line and runs; returns the exit code.
pub fn main() -> i32 {
    cli::parse::main(&tool(), run)
}

/// Runs; returns the exit code.
pub fn run(args: Args) -> i32 {
    if let Some(code) = args.fleet.print_lists("rrun") {
        return code;
    }
    if args.show_config {
        return show_config(&args);
    }
    match prepare(args) {
        Ok(Some(plan)) => execute(plan),
        Ok(None) => {
            // `rrun --hosts retry.txt …` loops end when nothing failed.
            exit::report("rrun", "the host list is empty: nothing to do");
            exit::SUCCESS
        }
        Err(message) => {
            exit::report("rrun", message);
            exit::USAGE
        }
    }
}

/// `rrun -G HOST…`: each host's resolved options, in ssh -G's forms.
fn show_config(args: &Args) -> i32 {
    use std::io::Write;
    let prepared = (|| -> Result<_, String> {
        let mut targets = Vec::new();
        for op in &args.operands {
            let op = op.to_string_lossy();
            targets.extend(
                crate::hosts::parse_option(&op, "-G", &args.fleet.groups)
                    .map_err(|e| e.to_string())?,
            );
        }
        if !args.fleet.host_options.is_empty() || !args.fleet.host_files.is_empty() {
            targets.extend(args.fleet.targets(None)?);
        }
        if targets.is_empty() {
            return Err("-G: name the hosts (rrun -G HOST...)".to_string());
        }
        Ok((targets, args.fleet.ssh_config()?))
    })();
    let (targets, config) = match prepared {
        Ok(p) => p,
        Err(e) => {
            exit::report("rrun", e);
            return exit::USAGE;
        }
    };
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut text = String::new();
    for (i, t) in targets.iter().enumerate() {
        if i > 0 {
            text.push('\n');
        }
        let c = config.resolve(&crate::ssh::config::Query {
            host: t.host.clone(),
            user: t.user.clone().or_else(|| args.fleet.user.clone()),
            port: t.port.or(args.fleet.port),
            local_user: crate::ssh::config::eval::local_user(),
        });
        if let Some(why) = c.jump_loop() {
            exit::report("rrun", format_args!("{}: {why}", t.host));
            return exit::USAGE;
        }
        text.push_str(&format!("host {}\n", t.host));
        for line in crate::ssh::config::dump::lines(&c) {
            text.push_str(&line);
            text.push('\n');
        }
    }
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if !exit::is_broken_pipe(&e) => {
            exit::report("rrun", format_args!("writing output: {e}"));
            exit::USAGE
        }
        _ => exit::SUCCESS,
    }
}

/// Everything resolved and checked, before anything runs.
struct Plan {
    hosts: Vec<fleet::Host>,
    job: RunCommand,
    mode: Mode,
    args: Args,
}

/// `None`: the host list is empty, nothing to do.
fn prepare(args: Args) -> Result<Option<Plan>, String> {
    let (mut command, mut script_input) = command(&args)?;
    if args.stdin && script_input.is_some() {
        return Err("--script and -I both need the remote standard input; use one".to_string());
    }
    let pty = args.pty || args.timeout.is_some();
    if pty && let Some(body) = script_input.take() {
        command = here_document(command, &body)?;
    }
    let mode = match (args.fleet.json, args.mode) {
        (false, m) => m,
        (true, Mode::Stream) => Mode::Json,
        (true, Mode::Inline) => return Err("--json and --inline cannot be used together".into()),
        (true, Mode::Diff) => return Err("--json and --diff cannot be used together".into()),
        (true, _) => return Err("--json and --gather cannot be used together".into()),
    };
    let targets = args.fleet.targets(args.stdin.then_some("-I"))?;
    if targets.is_empty() {
        return Ok(None);
    }
    let input = if args.stdin {
        let mut buf = Vec::new();
        std::io::stdin()
            .read_to_end(&mut buf)
            .map_err(|e| format!("reading standard input for -I: {e}"))?;
        Some(buf)
    } else {
        script_input
    };

    let hosts = args.fleet.resolve(targets)?;
    for (flag, dir) in [("-o", &args.outdir), ("-e", &args.errdir)] {
        if let Some(dir) = dir {
            files::check_dir(dir).map_err(|e| format!("{flag}: {e}"))?;
        }
    }
    // Compared once both exist, so `-o X -e ./X` is caught too.
    if let (Some(o), Some(e)) = (&args.outdir, &args.errdir)
        && o.canonicalize()
            .ok()
            .is_some_and(|c| e.canonicalize().ok() == Some(c))
    {
        return Err(format!(
            "-o and -e name the same directory ({}): each host's stderr would overwrite its stdout",
            o.display()
        ));
    }
    Ok(Some(Plan {
        hosts,
        job: RunCommand {
            command,
            input,
            pty,
            sudo: None,
        },
        mode,
        args,
    }))
}

/// rrun's job: one command on each host.
struct RunCommand {
    command: Vec<u8>,
    input: Option<Vec<u8>>,
    /// On a pseudo-terminal (--pty, -t: the deadline hangs it up).
    pty: bool,
    /// `--sudo`: its part is taken out of the output.
    sudo: Option<super::sudo::Sudo>,
}

impl Job<Link> for RunCommand {
    fn run(&self, conn: &mut Link, work: &mut Work<'_>) -> Result<Finish, Failure> {
        let exec = Exec {
            command: &self.command,
            input: self.input.as_deref(),
            pty: self.pty,
            deadline: work.deadline,
        };
        let stop = work.stop.clone();
        let Some(sudo) = &self.sudo else {
            let exit = conn.exec(&exec, &stop, &mut |stream, bytes| {
                work.output(stream, bytes)
            })?;
            return Ok(Finish::command(exit));
        };
        if let Some((probe, expected)) = sudo.probe() {
            // The password goes only to a host that runs our shell line
            // as written: not to a ForceCommand or a shell that is not
            // POSIX, which could echo it into the output.
            let (_, said) = conn.run(&probe, b"", &stop, work.deadline, 256)?;
            if said != expected.as_bytes() {
                return Err(Failure::Auth(
                    "--sudo: the host did not run rrun's shell line as written (a ForceCommand, or a login shell that is not POSIX?); the password was not sent".to_string(),
                ));
            }
        }
        let mut filter = sudo.filter();
        let exit = conn.exec(&exec, &stop, &mut |stream, bytes| {
            filter.feed(stream, bytes, &mut |s, b| work.output(s, b))
        })?;
        filter.finish(&mut |s, b| work.output(s, b))?;
        if filter.wanted_password() && exit.code == Some(1) {
            return Err(Failure::Auth(
                "sudo: a password is required (none was given, or sudoers keeps no credentials between commands: timestamp_timeout=0)".to_string(),
            ));
        }
        Ok(Finish::command(exit))
    }
}

fn execute(plan: Plan) -> i32 {
    let Plan {
        hosts,
        mut job,
        mode,
        args,
    } = plan;
    let settings = output::Settings {
        tool: "rrun",
        failed: args.fleet.failed.clone(),
        log: args.fleet.log.clone(),
        colour_out: args.common.color.for_stdout(),
        colour_err: args.common.color.for_stderr(),
        progress: std::io::stderr().is_terminal() && !args.fleet.quiet,
        bytes: None,
        noun: None,
        quiet: args.fleet.quiet,
        largest_exit: args.largest_exit,
    };
    if let Err(e) = settings.check() {
        exit::report("rrun", e);
        return exit::USAGE;
    }
    fleet::raise_open_files();
    let stop = Stop::new();
    cli::signals::cancel_on_signals(stop.clone());
    // The sudo password: asked once, before any host starts, with the
    // signal handler in place (it puts the terminal back).
    if let Some(user) = &args.sudo {
        use crate::ssh::auth::Prompter;
        let password = match cli::prompt::Terminal
            .secret("[sudo] password on the hosts (Enter if none is needed): ")
        {
            Ok(p) => p,
            Err(e) => {
                exit::report("rrun", format_args!("--sudo: {e}"));
                return exit::USAGE;
            }
        };
        if stop.cancelled() {
            return cli::signals::exit_code(stop.signal().unwrap_or(libc::SIGINT));
        }
        let sudo = super::sudo::Sudo::new(user.clone(), password);
        job.command = sudo.wrap(&job.command, job.pty && job.input.is_some());
        job.input = sudo.input(job.input.as_deref());
        job.sudo = Some(sudo);
    }
    let infos: Vec<HostInfo> = hosts.iter().map(fleet::Host::info).collect();
    let mut capture = mode.capture();
    capture.outdir = args.outdir.clone();
    capture.errdir = args.errdir.clone();
    capture.labels = Arc::new(infos.iter().map(|h| h.label.clone()).collect());
    let connector = match fleet::Links::new(
        "rrun",
        &args.fleet,
        hosts,
        fleet::Wants {
            bulk: false,
            sftp: false,
            openssh: native_cannot_send(&job.command),
        },
        Arc::new(cli::prompt::Terminal),
    ) {
        Ok(c) => c,
        Err(e) => {
            exit::report("rrun", e);
            return exit::USAGE;
        }
    };
    let events = engine::start(
        infos.len(),
        Arc::new(connector),
        Arc::new(job),
        Arc::new(capture),
        engine::Settings {
            fanout: args.fleet.fanout(),
            retries: args.fleet.retry,
            timeout: args.timeout,
            budget: BUDGET,
        },
        stop.clone(),
    );
    let mut display = Rrun::new(mode);
    display.prefix = !args.no_prefix;
    output::drive(settings, infos, events, stop, &mut display)
}

/// The longest command line that may be sent (with a script in it, -t):
/// Linux takes one argument (the login shell's `-c` command, ssh's own
/// argument) of at most 128 KiB.
const SCRIPT_IN_COMMAND: usize = 120 * 1024;

/// The longest command libssh2 sends: its channel request must fit one
/// 32 KiB packet with its headers.
const NATIVE_COMMAND: usize = 32 * 1024 - 512;

/// Why the native transport cannot send `command`, if it cannot: ssh
/// sends any bytes, of any length a command line holds.
fn native_cannot_send(command: &[u8]) -> Option<String> {
    if std::str::from_utf8(command).is_err() {
        Some("the command is not UTF-8 (libssh2 sends only UTF-8 commands)".to_string())
    } else if command.len() > NATIVE_COMMAND {
        Some(format!(
            "the command is {} bytes long (libssh2 sends at most {NATIVE_COMMAND})",
            command.len()
        ))
    } else {
        None
    }
}

/// `command` with the script `body` as its standard input from a
/// here-document, for -t: on a terminal a shell reading its script from
/// standard input would be interactive (prompts, echo), so the script
/// must not come from the terminal. The delimiter is random and not in
/// the script, and quoted, so nothing in the script is expanded.
fn here_document(mut command: Vec<u8>, body: &[u8]) -> Result<Vec<u8>, String> {
    if body.contains(&0) {
        return Err(
            "--script with -t: the script holds a NUL byte, which a command line cannot carry"
                .to_string(),
        );
    }
    if command.len() + body.len() > SCRIPT_IN_COMMAND {
        return Err(format!(
            "--script with -t: the script and its arguments ({} bytes) travel in the command line on a terminal, which holds at most {} KiB; copy the script with rcp and run it instead",
            command.len() + body.len(),
            SCRIPT_IN_COMMAND / 1024
        ));
    }
    let delimiter = loop {
        let d = format!("FLEETKIT_SCRIPT_{}", crate::copy::random_suffix());
        if memchr::memmem::find(body, d.as_bytes()).is_none() {
            break d;
        }
    };
    command.extend_from_slice(format!(" <<'{delimiter}'\n").as_bytes());
    command.extend_from_slice(body);
    if !body.ends_with(b"\n") {
        command.push(b'\n');
    }
    command.extend_from_slice(format!("{delimiter}\n").as_bytes());
    Ok(command)
}

/// Bytes of output in flight between hosts and the printer.
const BUDGET: usize = 4 * 1024 * 1024;

/// The remote command (bytes, as given: ssh passes them unchanged), and
/// the script to send as its input, if any.
fn command(args: &Args) -> Result<(Vec<u8>, Option<Vec<u8>>), String> {
    use std::os::unix::ffi::OsStrExt;
    let operands: Vec<&[u8]> = args.operands.iter().map(|o| o.as_bytes()).collect();
    let Some(script) = &args.script else {
        if operands.is_empty() {
            return Err("no command given: rrun [OPTIONS] COMMAND [ARG...]".to_string());
        }
        return Ok((operands.join(&b' '), None));
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
    let mut command = format!("{interpreter} {from_stdin}").into_bytes();
    for arg in operands {
        command.push(b' ');
        command.extend(crate::ssh::shell_quote_bytes(arg));
    }
    Ok((command, Some(body)))
}
