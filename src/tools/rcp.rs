//! `rcp`: copy files and trees to and from many hosts at once, atomically.
//!
//! Owns rcp's flag table and `run()`: the shared host flags, the copy
//! options, and the upload or download job handed to the engine.

use std::ffi::OsString;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;

use crate::cli::flag::{Positional, with_common};
use crate::cli::{self, Common, Flag, Hint, Tool, ToolArgs, exit};
use crate::copy::Options;
use crate::copy::download::Download;
use crate::copy::plan::Plan;
use crate::copy::upload::Upload;
use crate::engine::{self, Connector, Job};
use crate::fleet::{self, FleetArgs};
use crate::output::capture::Capture;
use crate::output::display::PerHost;
use crate::output::summary::Bytes;
use crate::output::{self, HostInfo};
use crate::ssh::link::{Link, Transport};
use crate::stop::Stop;

/// rcp's parsed command line.
#[derive(Debug, Default)]
pub struct Args {
    common: Common,
    fleet: fleet::Options,
    operands: Vec<OsString>,
    get: bool,
    copy: Options,
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
        self.operands.push(value);
        Ok(())
    }
}

/// Flags of this tool's arguments.
type F = Flag<Args>;

/// The flag table: the single source of parsing, help, man page and completions.
pub fn tool() -> Tool<Args> {
    let mut flags = fleet::flags();
    flags.extend(vec![
        F::switch(
            "get",
            None,
            "Download: REMOTE... from each host into LOCALDIR/HOST/",
            "Download instead of upload: rcp --get REMOTE... LOCALDIR copies each REMOTE path from every host into LOCALDIR/HOST/ (HOST named as rrun's -o names it), so nothing from one host overwrites another's.",
            |a, _| {
                a.get = true;
                Ok(())
            },
        ),
        F::switch(
            "recursive",
            Some('r'),
            "Copy directories and what they hold",
            "Copy directories and everything in them. Symlinks inside trees are copied as symlinks; other special files (pipes, sockets, devices) are skipped with a warning naming them.",
            |a, _| {
                a.copy.recursive = true;
                Ok(())
            },
        ),
        F::switch(
            "preserve",
            None,
            "Keep mode and modification time",
            "Keep each file's mode (setuid bits included) and its access and modification times. (-p is the fanout, as in rrun and pssh.)",
            |a, _| {
                a.copy.preserve = true;
                Ok(())
            },
        ),
        F::switch(
            "owner",
            None,
            "With --preserve, keep owner and group too",
            "Keep the owner and group (numeric ids) too; needs root on the receiving end.",
            |a, _| {
                a.copy.owner = true;
                Ok(())
            },
        ),
        F::switch(
            "archive",
            Some('a'),
            "Same as -r --preserve",
            "Same as -r --preserve.",
            |a, _| {
                a.copy.recursive = true;
                a.copy.preserve = true;
                Ok(())
            },
        ),
        F::switch(
            "update",
            Some('u'),
            "Skip files whose size and mtime already match",
            "Skip a file when the copy already there has the same size and modification time (use with --preserve, so times match after a copy).",
            |a, _| {
                a.copy.update = true;
                Ok(())
            },
        ),
        F::switch(
            "checksum",
            None,
            "Skip files whose content already matches (sha256)",
            "Skip a file when the copy already there has the same content, compared by SHA-256 (sha256sum on the host, one command for all files).",
            |a, _| {
                a.copy.checksum = true;
                Ok(())
            },
        ),
        F::switch(
            "mkdir",
            None,
            "Create the destination's missing directories",
            "Create the remote destination directory and its missing parents (as mkdir -p) on each host.",
            |a, _| {
                a.copy.mkdir = true;
                Ok(())
            },
        ),
        F::value(
            "timeout",
            Some('t'),
            ("SECONDS", Hint::Other),
            "Give up on a host's copy after SECONDS",
            "Give up on a host whose copy is still running SECONDS after it started; its temporary files are removed and the old files stay.",
            |a, v| {
                a.timeout = Some(cli::flag::seconds(v)?);
                Ok(())
            },
        ),
    ]);
    Tool {
        name: "rcp",
        about: "copy files and trees to and from many hosts at once, atomically",
        synopsis: &[
            "[OPTIONS] SRC... DEST",
            "[OPTIONS] --get REMOTE... LOCALDIR",
        ],
        description: "rcp copies each local SRC (files; directories with -r) to the remote path DEST on every host of the host list at once (at most --fanout at a time) over SFTP. When DEST ends with / or is an existing directory, the sources go inside it, as cp does; otherwise the one SRC becomes DEST. --mkdir creates missing directories. With --get, rcp copies REMOTE paths from every host into LOCALDIR/HOST/.\n\n\
            Every file lands atomically: it is written to a temporary name in its target directory, flushed to disk and renamed over the target, so a reader on the host never sees half of it, and a copy cut off (an error, a deadline, Ctrl-C, a lost connection) leaves the old file as it was; the temporary file is removed where the connection allows. The same holds for downloads. Names are copied as they are: spaces, quotes, newlines, $(...), * or a leading - are never seen by a shell (the only remote commands rcp runs, sha256sum for --checksum and cat into a temporary file for large files over the OpenSSH transport, have every argument quoted).\n\n\
            As each host finishes, one line says what was copied (web07: 12 files, 3 skipped, 48.2 MB in 0.9 s) or what went wrong, with the path; --json gives a record per host with each file's outcome. At the end, a summary goes to standard error; while it runs, a progress line on a terminal shows the bytes moved. Requests are pipelined: up to 64 files per host are on their way at once, so a tree of small files costs no round trip per file, and at most 8 MiB of file data per host is in flight: memory does not grow with file sizes. Existing files are replaced with OpenSSH's posix-rename extension (every OpenSSH sftp-server has it).",
        flags: with_common(flags),
        positional: Positional {
            name: "PATH",
            hint: Hint::File,
        },
        operands_end_options: false,
        exit_status: &[
            (
                "0",
                "Every file was copied (or skipped as up to date) on every host.",
            ),
            ("1", "Every host was reached, but some file failed on some."),
            (
                "2",
                "Usage error, or a local error (an unreadable source, a host list or config that cannot be read).",
            ),
            (
                "3",
                "Some host could not be reached or authenticated, its host key was refused, its copy did not finish in time, or its connection was lost.",
            ),
            ("130", "Interrupted by SIGINT (Ctrl-C)."),
            ("143", "Interrupted by SIGTERM."),
            ("129", "Interrupted by SIGHUP."),
        ],
        environment: &[("SSH_AUTH_SOCK", "The ssh-agent to take identities from.")],
        examples: &[
            (
                "rcp -H 'web[01-20]' nginx.conf /etc/nginx/",
                "Put nginx.conf into /etc/nginx/ on twenty hosts.",
            ),
            (
                "rcp --hosts fleet.txt -a --mkdir site/ /srv/www/",
                "Copy a tree with modes and times, creating /srv/www.",
            ),
            (
                "rcp --hosts fleet.txt --get /var/log/syslog logs/",
                "Fetch each host's syslog into logs/HOST/syslog.",
            ),
        ],
        see_also: &["rrun(1)", "scp(1)", "pdcp(1)", "clush(1)"],
    }
}

/// Parses the command line and runs; returns the exit code.
pub fn main() -> i32 {
    cli::parse::main(&tool(), run)
}

/// Runs; returns the exit code.
pub fn run(mut args: Args) -> i32 {
    if let Some(code) = args.fleet.print_lists("rcp") {
        return code;
    }
    let (last, rest) = match args.operands.split_last() {
        Some((last, rest)) if !rest.is_empty() => (PathBuf::from(last), rest.to_vec()),
        _ => {
            exit::report(
                "rcp",
                "give sources and a destination: rcp SRC... DEST, or rcp --get REMOTE... LOCALDIR",
            );
            return exit::USAGE;
        }
    };
    let sources: Vec<PathBuf> = rest.into_iter().map(PathBuf::from).collect();
    if args.fleet.transport == Transport::OpenSsh && args.fleet.ask_password {
        exit::report(
            "rcp",
            "-A (ask for a password) needs --ssh=native: the OpenSSH transport never asks",
        );
        return exit::USAGE;
    }
    let prepared = (|| {
        let targets = args.fleet.targets(None)?;
        args.fleet.resolve(targets)
    })();
    let hosts = match prepared {
        Ok(h) => h,
        Err(e) => {
            exit::report("rcp", e);
            return exit::USAGE;
        }
    };
    if hosts.is_empty() {
        exit::report("rcp", "the host list is empty: nothing to do");
        return exit::SUCCESS;
    }
    let infos: Vec<HostInfo> = hosts.iter().map(fleet::Host::info).collect();
    let labels = Arc::new(infos.iter().map(|h| h.label.clone()).collect::<Vec<_>>());
    if args.get {
        if let Err(e) = crate::output::files::check_dir(&last) {
            exit::report("rcp", e);
            return exit::USAGE;
        }
        args.copy.moved = Arc::new(Bytes::default());
        let sources: Vec<PathBuf> = sources.into_iter().map(remote_path).collect();
        // Two sources with one name would land on one file.
        let mut names = std::collections::HashSet::new();
        for src in &sources {
            if let Some(name) = src.file_name()
                && !names.insert(name.to_os_string())
            {
                exit::report(
                    "rcp",
                    format_args!(
                        "--get: two sources are named {}: each host's copies would overwrite each other in {}",
                        name.to_string_lossy(),
                        last.display()
                    ),
                );
                return exit::USAGE;
            }
        }
        let job = Download {
            sources,
            localdir: last,
            labels: labels.clone(),
            opts: args.copy.clone(),
        };
        execute(&args, hosts, infos, labels, job)
    } else {
        let plan = match Plan::walk(&sources, args.copy.recursive) {
            Ok(p) => p,
            Err(e) => {
                exit::report("rcp", e);
                return exit::USAGE;
            }
        };
        for warning in &plan.skipped {
            exit::report("rcp", warning);
        }
        args.copy.moved = Arc::new(Bytes {
            total: plan.bytes() * infos.len() as u64,
            ..Bytes::default()
        });
        let job = Upload {
            plan,
            dest: remote_path(last),
            opts: args.copy.clone(),
        };
        execute(&args, hosts, infos, labels, job)
    }
}

/// A remote path as SFTP takes it: `~/x` (quoted past the local shell)
/// is `x`, since SFTP starts in the login's home directory.
fn remote_path(p: PathBuf) -> PathBuf {
    use std::os::unix::ffi::OsStrExt;
    let b = p.as_os_str().as_bytes();
    if b == b"~" || b == b"~/" {
        return PathBuf::from(".");
    }
    match b.strip_prefix(b"~/") {
        Some(rest) => PathBuf::from(std::ffi::OsStr::from_bytes(rest)),
        None => p,
    }
}

fn execute<J: Job<Link>>(
    args: &Args,
    hosts: Vec<fleet::Host>,
    infos: Vec<HostInfo>,
    labels: Arc<Vec<String>>,
    job: J,
) -> i32 {
    let job_bytes = args.copy.moved.clone();
    let settings = output::Settings {
        tool: "rcp",
        failed: args.fleet.failed.clone(),
        log: args.fleet.log.clone(),
        colour_out: args.common.color.for_stdout(),
        colour_err: args.common.color.for_stderr(),
        progress: std::io::stderr().is_terminal() && !args.fleet.quiet,
        bytes: Some(job_bytes),
        noun: None,
        quiet: args.fleet.quiet,
        largest_exit: false,
    };
    if let Err(e) = settings.check() {
        exit::report("rcp", e);
        return exit::USAGE;
    }
    fleet::raise_open_files();
    let stop = Stop::new();
    cli::signals::cancel_on_signals(stop.clone());
    let connector = match fleet::Links::new(
        "rcp",
        &args.fleet,
        hosts,
        fleet::Wants {
            bulk: true,
            sftp: true,
            openssh: None,
        },
        Arc::new(cli::prompt::Terminal),
    ) {
        Ok(c) => c,
        Err(e) => {
            exit::report("rcp", e);
            return exit::USAGE;
        }
    };
    let events = start(connector, job, infos.len(), labels, args, stop.clone());
    output::drive(
        settings,
        infos,
        events,
        stop,
        &mut PerHost {
            json: args.fleet.json,
        },
    )
}

fn start<C: Connector, J: Job<C::Conn>>(
    connector: C,
    job: J,
    count: usize,
    labels: Arc<Vec<String>>,
    args: &Args,
    stop: Arc<Stop>,
) -> engine::Events<output::capture::Msg> {
    engine::start(
        count,
        Arc::new(connector),
        Arc::new(job),
        Arc::new(Capture {
            labels,
            ..Capture::default()
        }),
        engine::Settings {
            fanout: args.fleet.fanout(),
            retries: args.fleet.retry,
            timeout: args.timeout,
            budget: 1 << 20,
        },
        stop,
    )
}
