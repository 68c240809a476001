//! The hosts-and-connection layer every SSH tool shares: one flag group
//! (`-H`, `--hosts`, `-l`, `-i`, `--port`, `-F`, `-A`, `--host-key`, `-p`,
//! `--connect-timeout`, `--retry`), reading the host list, resolving each
//! host through ssh_config into a destination, and the engine connector
//! that opens an SSH session to it. A tool adds the group to its flag
//! table with [`flags`] and keeps an [`Options`] in its arguments.

mod resolve;

use std::io::{IsTerminal, Read};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::cli::flag::{Hint, path, seconds, text};
use crate::cli::{self, Flag};
use crate::engine::{Connector, Failure};
use crate::hosts::{self, Target};
use crate::ssh::auth::Credentials;
use crate::ssh::config::Config;
use crate::ssh::known_hosts::Policy;
use crate::ssh::session::{self, Connection, Context, Destination};
use crate::stop::Stop;

/// The group's options, as parsed.
#[derive(Debug, Default)]
pub struct Options {
    pub host_options: Vec<String>,
    pub host_files: Vec<PathBuf>,
    /// `-x` values and `--exclude-hosts` files.
    pub exclude_options: Vec<String>,
    pub exclude_files: Vec<PathBuf>,
    /// `--list-hosts`, `--list-groups`: print, connect nowhere.
    pub list_hosts: bool,
    pub list_groups: bool,
    /// The groups `@name` may name.
    pub groups: hosts::Groups,
    /// `-O KEY=VALUE`: ssh_config options before the files.
    pub ssh_options: Vec<String>,
    pub user: Option<String>,
    pub identities: Vec<PathBuf>,
    pub port: Option<u16>,
    pub config: Option<PathBuf>,
    pub ask_password: bool,
    pub host_key: Option<Policy>,
    pub fanout: Option<usize>,
    pub connect_timeout: Option<Duration>,
    pub retry: u32,
    pub failed: Option<PathBuf>,
    pub log: Option<PathBuf>,
    pub json: bool,
    pub quiet: bool,
    /// `--ssh`: which transport carries each host.
    pub transport: crate::ssh::link::Transport,
    /// `-v`: say which hosts took which transport.
    pub verbose: bool,
}

/// A tool's arguments that hold the group.
pub trait FleetArgs {
    fn fleet(&mut self) -> &mut Options;
}

/// The default fanout.
pub const FANOUT: usize = 64;

/// The group's flags, to add to a tool's table.
pub fn flags<A: FleetArgs>() -> Vec<Flag<A>> {
    let other = Hint::Other;
    let file = Hint::File;
    vec![
        Flag::value(
            "host",
            Some('H'),
            ("HOSTS", other),
            "Hosts: HOST[,HOST...], ranges and @groups allowed",
            "Hosts, separated by commas: [user@]host[:port], IPv6 as [::1]:22, ranges such as web[01-20] or db[1,3,5-7], and groups: @name from the group files (~/.config/fleetkit/groups, then /etc/fleetkit/groups; lines such as web: web[01-20], @other), @all for every group's hosts. Sets combine as in clush, left to right: a,b or a b (union), @web!web07 (difference), @web&@eu (intersection), @web^@eu (in one, not both). May be repeated. With -H or --hosts, standard input is not read as a host list.",
            |a: &mut A, v| {
                a.fleet().host_options.push(text(v)?.to_string());
                Ok(())
            },
        ),
        Flag::value(
            "hosts",
            None,
            ("FILE", file),
            "Read hosts from FILE (- for stdin), one per line",
            "Read hosts from FILE (- for standard input, so a file and stdin combine): one entry per line, blank lines and # comments ignored, the syntax of -H (groups and set operations too) except that entries on one line are joined with commas: a space between two hosts is an error, as pssh's files write `host user` and that user must not become a host. May be repeated. Without -H or --hosts, the host list is read from standard input. Duplicates run once; a malformed line is an error naming its line, and nothing runs.",
            |a: &mut A, v| {
                a.fleet().host_files.push(path(v)?);
                Ok(())
            },
        ),
        Flag::value(
            "exclude",
            Some('x'),
            ("HOSTS", other),
            "Leave out HOSTS (ranges and @groups allowed)",
            "Leave out these hosts, written as for -H (ranges, @groups, set operations). A host named without a user or port leaves out that host as any user, on any port; a user or port given is compared with the one each host would use (-l, --port, ssh_config, else 22), so -x web01:22 leaves out web01. May be repeated. Applied after every -H, --hosts and standard input list, as pdsh -x and clush -x do.",
            |a: &mut A, v| {
                a.fleet().exclude_options.push(text(v)?.to_string());
                Ok(())
            },
        ),
        Flag::value(
            "exclude-hosts",
            None,
            ("FILE", file),
            "Leave out the hosts listed in FILE",
            "Leave out the hosts listed in FILE (the syntax of --hosts). May be repeated.",
            |a: &mut A, v| {
                a.fleet().exclude_files.push(path(v)?);
                Ok(())
            },
        ),
        Flag::switch(
            "list-hosts",
            None,
            "Print the host list, expanded, and connect nowhere",
            "Print the host list as it would run: ranges and groups expanded, duplicates and -x hosts removed, one [user@]host[:port] per line, and exit without connecting (clush's nodeset -e), so other tools and scripts can use it.",
            |a: &mut A, _| {
                a.fleet().list_hosts = true;
                Ok(())
            },
        ),
        Flag::switch(
            "list-groups",
            None,
            "Print each host group and its hosts",
            "Print each group of the group files as NAME: HOSTS (N), the hosts folded into ranges, in file order, and exit without connecting.",
            |a: &mut A, _| {
                a.fleet().list_groups = true;
                Ok(())
            },
        ),
        Flag::value(
            "user",
            Some('l'),
            ("USER", other),
            "Log in as USER (as ssh -l)",
            "Log in as USER where the host list names no user (as ssh -l); otherwise ssh_config's User, then the local user name.",
            |a: &mut A, v| {
                a.fleet().user = Some(text(v)?.to_string());
                Ok(())
            },
        ),
        Flag::value(
            "identity",
            Some('i'),
            ("FILE", file),
            "Try this private key (as ssh -i); may be repeated",
            "Try the private key in FILE (as ssh -i), before ssh_config's IdentityFile and the default keys. May be repeated. An encrypted key's passphrase is asked once on the terminal and used for every host.",
            |a: &mut A, v| {
                a.fleet().identities.push(path(v)?);
                Ok(())
            },
        ),
        Flag::value(
            "port",
            None,
            ("PORT", other),
            "Connect to PORT where the host list names none",
            "Connect to PORT where the host list names none (ssh_config's Port otherwise, then 22). -p is the fanout, as in pssh.",
            |a: &mut A, v| {
                a.fleet().port = Some(cli::flag::number(v, 1, 65535)? as u16);
                Ok(())
            },
        ),
        Flag::value(
            "config",
            Some('F'),
            ("FILE", file),
            "Read ssh_config from FILE instead of ~/.ssh/config",
            "Read ssh_config from FILE alone instead of ~/.ssh/config and /etc/ssh/ssh_config. Either is read as OpenSSH 9 reads it: Include (globs, ~), Host and Match (all, canonical, final, host, originalhost, user, localuser, localnetwork, exec), the first value obtained winning, % tokens and ${VAR} where ssh expands them, ProxyCommand, ProxyJump with any number of hops, HostKeyAlias, IdentityAgent, BatchMode, ConnectionAttempts, ServerAliveInterval, algorithm lists. An unknown keyword is an error naming its file and line (IgnoreUnknown is honoured); a keyword the native SSH cannot honour sends the host to OpenSSH (see --ssh). ~/.ssh/config and included files that another user could write are refused, as ssh refuses them. rrun -G shows what a host resolves to.",
            |a: &mut A, v| {
                a.fleet().config = Some(path(v)?);
                Ok(())
            },
        ),
        Flag::value(
            "ssh-option",
            Some('O'),
            ("KEY=VALUE", other),
            "An ssh_config option for this run (as ssh -o)",
            "Set an ssh_config option for this run, as ssh -o and pssh -O do: KEY=VALUE (or \"KEY VALUE\"), applied as if first in ssh_config, so it wins over the files, for every host and every transport (the OpenSSH transport is given it as -o). May be repeated. Host, Match and Include are refused. -o stays the output directory, as in pssh.",
            |a: &mut A, v| {
                a.fleet().ssh_options.push(text(v)?.to_string());
                Ok(())
            },
        ),
        Flag::switch(
            "ask-password",
            Some('A'),
            "Ask for a password once and use it for every host",
            "Ask for a password once on the terminal and try it on every host after the keys. It is never logged.",
            |a: &mut A, _| {
                a.fleet().ask_password = true;
                Ok(())
            },
        ),
        Flag::choice(
            "host-key",
            "POLICY",
            &["strict", "accept-new", "off"],
            "Host key checking: strict, accept-new (default) or off",
            "How host keys are checked against known_hosts (ssh_config's UserKnownHostsFile, or ~/.ssh/known_hosts). accept-new (the default, unless ssh_config's StrictHostKeyChecking says otherwise) appends unknown keys, with ssh's notice; strict refuses them; off accepts them unrecorded. A changed key (of the same type or another) is refused, naming the known_hosts file and line, both SHA256 fingerprints and the ssh-keygen -R line to run, and nothing is done on that host; under off it is used with a loud warning and no password authentication, as StrictHostKeyChecking no does. A host certificate signed by a CA that a @cert-authority line trusts for the host is accepted when it is a host certificate, in its validity window, names the host among its principals and carries no critical options; otherwise it is refused and nothing is learnt from it (unless its key is known on a line of its own). A certificate from a host with no CA line is judged, and learnt, as its plain key, so a renewed certificate is still known. A revoked key, or a certificate signed by a revoked CA, is always refused.",
            |a: &mut A, v| {
                a.fleet().host_key = Some(
                    match cli::flag::choice(v, &["strict", "accept-new", "off"])? {
                        "strict" => Policy::Strict,
                        "off" => Policy::Off,
                        _ => Policy::AcceptNew,
                    },
                );
                Ok(())
            },
        ),
        Flag::value(
            "fanout",
            Some('p'),
            ("N", other),
            "Work on at most N hosts at once (default 64)",
            "Work on at most N hosts at once (default 64, up to 10000).",
            |a: &mut A, v| {
                a.fleet().fanout = Some(cli::flag::number(v, 1, 10_000)? as usize);
                Ok(())
            },
        ),
        Flag::value(
            "connect-timeout",
            None,
            ("SECONDS", other),
            "Give up connecting after SECONDS (default 10)",
            "Give up on a host that has not completed TCP connect, SSH banner, handshake and authentication within SECONDS (default 10, or ssh_config's ConnectTimeout), whatever the server sends or fails to send.",
            |a: &mut A, v| {
                a.fleet().connect_timeout = Some(seconds(v)?);
                Ok(())
            },
        ),
        Flag::value(
            "retry",
            None,
            ("N", other),
            "Retry a failed connection N times",
            "Retry a host whose connection failed (refused, timed out, handshake failed) up to N times. Authentication and host key failures, and anything after the connection was made, are not retried.",
            |a: &mut A, v| {
                a.fleet().retry = cli::flag::number(v, 0, 100)? as u32;
                Ok(())
            },
        ),
        Flag::value(
            "failed",
            None,
            ("FILE", file),
            "Write the hosts that did not succeed to FILE",
            "Write the hosts that did not succeed (any status but ok, hosts interrupted or never started included) to FILE, one per line as in a host list, ready for --hosts FILE. Checked before anything runs; replaced atomically at the end, so it may also be the --hosts file being retried.",
            |a: &mut A, v| {
                a.fleet().failed = Some(path(v)?);
                Ok(())
            },
        ),
        Flag::value(
            "log",
            None,
            ("FILE", file),
            "Append one timestamped line per host to FILE",
            "Append one line per host to FILE: time, host, status, exit code, duration and error, a run log that outlives the terminal.",
            |a: &mut A, v| {
                a.fleet().log = Some(path(v)?);
                Ok(())
            },
        ),
        Flag::choice(
            "ssh",
            "WHICH",
            &["auto", "native", "openssh"],
            "Which SSH carries each host: auto, native or openssh",
            "Which SSH implementation carries each host. native talks SSH in-process through libssh2 (a few milliseconds of CPU per host, and -A can ask for a password). openssh runs the system's ssh for each host, reading all of ssh_config itself (ControlMaster, CertificateFile, forwards and every other keyword); it never asks on the terminal (BatchMode). auto, the default, takes native unless a host's ssh_config uses a keyword the native SSH cannot honour (that host then takes openssh); rcp takes openssh for every host when ssh is installed and -A is not given, for its faster ciphers. -v says which hosts took which.",
            |a: &mut A, v| {
                use crate::ssh::link::Transport;
                a.fleet().transport = match cli::flag::choice(v, &["auto", "native", "openssh"])? {
                    "native" => Transport::Native,
                    "openssh" => Transport::OpenSsh,
                    _ => Transport::Auto,
                };
                Ok(())
            },
        ),
        Flag::switch(
            "verbose",
            Some('v'),
            "Say which hosts took which SSH transport",
            "Say on standard error, once per run, how many hosts took the OpenSSH transport and which needed it.",
            |a: &mut A, _| {
                a.fleet().verbose = true;
                Ok(())
            },
        ),
        Flag::switch(
            "quiet",
            Some('q'),
            "No summary and no progress",
            "Print no summary and no progress line (errors are still said).",
            |a: &mut A, _| {
                a.fleet().quiet = true;
                Ok(())
            },
        ),
        Flag::switch(
            "json",
            None,
            "Print one JSON object per host as it finishes",
            "Print one JSON object per host as it finishes: host, user, port, status (ok, failed, unreachable, auth, hostkey, timeout, lost, error, interrupted), exit_code, signal, stdout, stderr, truncated, error, started, duration_ms, then the tool's own fields. stdout and stderr carry at most 64 KiB each (truncated counts the bytes left out; -o keeps everything, byte-exact); output that is not UTF-8 is shown with replacement characters.",
            |a: &mut A, _| {
                a.fleet().json = true;
                Ok(())
            },
        ),
    ]
}

/// One host, resolved.
#[derive(Clone, Debug)]
pub struct Host {
    pub target: Target,
    pub dest: Destination,
    /// How output names it: `host`, `host:port`, `user@host` where the
    /// list reaches one host as several users.
    pub label: String,
    /// Why only the OpenSSH transport can reach it, if so.
    pub needs_openssh: Option<String>,
}

impl Host {
    /// How output names this host.
    pub fn info(&self) -> crate::output::HostInfo {
        crate::output::HostInfo {
            label: self.label.clone(),
            entry: self.target.to_string(),
            user: self.dest.user.clone(),
            port: self.dest.port,
        }
    }
}

/// Large fanouts need a descriptor per connection: raise the soft limit
/// to the hard one.
pub fn raise_open_files() {
    // SAFETY: plain getrlimit/setrlimit on our own process.
    unsafe {
        let mut lim: libc::rlimit = std::mem::zeroed();
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 && lim.rlim_cur < lim.rlim_max {
            lim.rlim_cur = lim.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}

impl Options {
    /// The host list: -H and --hosts, else standard input (unless the tool
    /// takes standard input for something else: `stdin_taken` names it).
    pub fn targets(&self, stdin_taken: Option<&str>) -> Result<Vec<Target>, String> {
        let dashes = self
            .host_files
            .iter()
            .chain(&self.exclude_files)
            .filter(|f| f.as_os_str() == "-")
            .count();
        if dashes > 0
            && let Some(what) = stdin_taken
        {
            return Err(format!(
                "{what} takes standard input, so a host list cannot come from it (--hosts -)"
            ));
        }
        if dashes > 1 {
            return Err(
                "standard input can be read once: name - in one --hosts or --exclude-hosts"
                    .to_string(),
            );
        }
        let mut targets = Vec::new();
        for value in &self.host_options {
            targets
                .extend(hosts::parse_option(value, "-H", &self.groups).map_err(|e| e.to_string())?);
        }
        for file in &self.host_files {
            targets.extend(self.list_file(file)?);
        }
        if self.host_options.is_empty() && self.host_files.is_empty() {
            if let Some(what) = stdin_taken {
                return Err(format!(
                    "{what} takes standard input: give the hosts with -H or --hosts"
                ));
            }
            if std::io::stdin().is_terminal() {
                return Err(
                    "no hosts: pipe a host list in, or use --hosts FILE or -H HOST".to_string(),
                );
            }
            targets = self.list_file(std::path::Path::new("-"))?;
        }
        let mut excluded = Vec::new();
        for value in &self.exclude_options {
            excluded
                .extend(hosts::parse_option(value, "-x", &self.groups).map_err(|e| e.to_string())?);
        }
        for file in &self.exclude_files {
            excluded.extend(self.list_file(file)?);
        }
        // ssh_config is read only if an exclusion needs a target's
        // effective user or port.
        let mut config = None;
        let local_user = crate::ssh::config::eval::local_user();
        let targets = hosts::exclude(targets, &excluded, |t| {
            if config.is_none() {
                config = Some(self.ssh_config()?);
            }
            let c = config
                .as_ref()
                .expect("just read")
                .resolve(&crate::ssh::config::Query {
                    host: t.host.clone(),
                    user: t.user.clone().or_else(|| self.user.clone()),
                    port: t.port.or(self.port),
                    local_user: local_user.clone(),
                });
            Ok((c.user(), c.port()))
        })?;
        Ok(hosts::dedupe(targets))
    }

    /// The hosts listed in `file` (`-`: standard input).
    fn list_file(&self, file: &std::path::Path) -> Result<Vec<Target>, String> {
        let (bytes, origin) = if file.as_os_str() == "-" {
            let mut bytes = Vec::new();
            std::io::stdin()
                .read_to_end(&mut bytes)
                .map_err(|e| format!("<stdin>: cannot read host list: {}", plain(&e)))?;
            (bytes, "<stdin>".to_string())
        } else {
            let bytes = std::fs::read(file)
                .map_err(|e| format!("{}: cannot read host list: {}", file.display(), plain(&e)))?;
            (bytes, file.display().to_string())
        };
        hosts::parse_list(&bytes, &origin, &self.groups).map_err(|e| e.to_string())
    }

    /// `--list-hosts` or `--list-groups`: prints what was asked for and
    /// returns the exit code; `None` when neither was asked for.
    pub fn print_lists(&self, tool: &str) -> Option<i32> {
        use crate::cli::exit;
        use std::io::Write;
        if !self.list_hosts && !self.list_groups {
            return None;
        }
        let text = if self.list_groups {
            self.groups.list().map(|groups| {
                groups
                    .iter()
                    .map(|(name, members)| {
                        let labels: Vec<String> = members.iter().map(|t| t.to_string()).collect();
                        format!("{name}: {} ({})\n", hosts::fold(&labels), labels.len())
                    })
                    .collect::<String>()
            })
        } else {
            self.targets(None)
                .map(|targets| targets.iter().map(|t| format!("{t}\n")).collect::<String>())
        };
        let text = match text {
            Ok(t) => t,
            Err(e) => {
                exit::report(tool, e);
                return Some(exit::USAGE);
            }
        };
        let mut out = std::io::stdout().lock();
        Some(
            match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
                Err(e) if !exit::is_broken_pipe(&e) => {
                    exit::report(tool, format_args!("writing output: {}", plain(&e)));
                    exit::USAGE
                }
                _ => exit::SUCCESS,
            },
        )
    }

    /// The ssh_config in force (-F alone, else ~/.ssh/config and
    /// /etc/ssh/ssh_config).
    pub fn ssh_config(&self) -> Result<Config, String> {
        Config::load_for(self.config.as_deref())
            .and_then(|c| c.with_options(&self.ssh_options))
            .map_err(|e| {
                if e.line == 0 {
                    e.to_string()
                } else {
                    format!("ssh_config: {e}")
                }
            })
    }

    /// Each target resolved through the command line and ssh_config.
    pub fn resolve(&self, targets: Vec<Target>) -> Result<Vec<Host>, String> {
        let config = self.ssh_config()?;
        resolve::resolve(self, &config, targets)
    }

    pub fn fanout(&self) -> usize {
        self.fanout.unwrap_or(FANOUT)
    }

    /// Credentials for every worker, asking through `prompter`.
    pub fn credentials(&self, prompter: Arc<dyn crate::ssh::auth::Prompter>) -> Credentials {
        Credentials::new(self.identities.clone(), self.ask_password, prompter)
    }
}

/// An I/O error in words, without Rust's `(os error N)`.
fn plain(e: &std::io::Error) -> String {
    session::plain_error(e)
}

/// The engine connector every SSH tool uses: each host over the
/// transport chosen for it (see [`crate::ssh::link`]).
pub struct Links {
    /// Native sessions (their credentials and destinations).
    pub native: Ssh,
    /// How to run `ssh`, for the hosts that take the OpenSSH transport.
    pub openssh: Vec<Option<Arc<crate::ssh::openssh::Spec>>>,
    /// Start SFTP when connecting (rcp): a refused login shows there.
    pub sftp: bool,
}

/// What a tool wants of the transports.
pub struct Wants {
    /// The tool moves bulk data (rcp): auto takes OpenSSH wherever it can,
    /// for its ciphers.
    pub bulk: bool,
    /// Start SFTP when connecting.
    pub sftp: bool,
    /// Why the job itself needs OpenSSH on every host, if it does (rrun's
    /// command is not UTF-8, which libssh2 cannot send).
    pub openssh: Option<String>,
}

impl Links {
    /// Chooses each host's transport. `--ssh=native` refuses a host whose
    /// ssh_config needs OpenSSH; auto gives it OpenSSH (and, for bulk
    /// tools, every host when ssh is installed and -A is not given).
    pub fn new(
        tool: &str,
        opts: &Options,
        hosts: Vec<Host>,
        wants: Wants,
        prompter: Arc<dyn crate::ssh::auth::Prompter>,
    ) -> Result<Links, String> {
        use crate::ssh::link::Transport;
        use crate::ssh::openssh;
        if opts.ask_password
            && std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open("/dev/tty")
                .is_err()
        {
            return Err(
                "-A asks for the password on the terminal, and there is none here (no /dev/tty); use keys or an agent"
                    .to_string(),
            );
        }
        let have_ssh = openssh::available();
        let config = opts.ssh_config().unwrap_or_default();
        let mut chosen = Vec::new();
        let mut via = Vec::new();
        for h in &hosts {
            let needs = h.needs_openssh.as_ref().or(wants.openssh.as_ref());
            let take = match (opts.transport, needs) {
                (Transport::Native, Some(why)) => {
                    return Err(format!(
                        "{why}, which --ssh=native cannot do (use --ssh=auto or --ssh=openssh)"
                    ));
                }
                (Transport::Native, None) => false,
                (_, Some(why)) if !have_ssh => {
                    return Err(format!("{why}, and no ssh program is installed"));
                }
                (Transport::OpenSsh, _) if !have_ssh => {
                    return Err("--ssh=openssh: no ssh program on PATH".to_string());
                }
                (Transport::OpenSsh, _) | (Transport::Auto, Some(_)) => true,
                (Transport::Auto, None) => wants.bulk && have_ssh && !opts.ask_password,
            };
            if take && h.needs_openssh.is_some() {
                via.push(h.label.clone());
            }
            chosen.push(take.then(|| {
                // What fleetkit read of ssh_config only decides its own
                // defaults; ssh reads the file itself.
                let c = config.resolve_host(&h.target.host);
                Arc::new(openssh::Spec {
                    alias: h.target.host.clone(),
                    user: h.target.user.clone().or_else(|| opts.user.clone()),
                    port: h.target.port.or(opts.port),
                    identities: opts.identities.clone(),
                    host_key: opts.host_key.or(c
                        .first("stricthostkeychecking")
                        .is_none()
                        .then_some(Policy::AcceptNew)),
                    connect_timeout: opts.connect_timeout.or(c
                        .first("connecttimeout")
                        .is_none()
                        .then_some(Duration::from_secs(10))),
                    prefer_gcm: c.first("ciphers").is_none(),
                    config: opts.config.clone(),
                    options: opts.ssh_options.clone(),
                    wait: h.dest.connect_timeout,
                })
            }));
        }
        if opts.verbose {
            let n = chosen.iter().filter(|c| c.is_some()).count();
            crate::cli::exit::report(
                tool,
                format_args!(
                    "{n} of {} hosts over OpenSSH (ssh), the rest native (libssh2){}",
                    chosen.len(),
                    match (&wants.openssh, via.is_empty()) {
                        (Some(why), _) => format!("; {why}"),
                        (None, true) => String::new(),
                        (None, false) => format!(
                            "; ssh_config needs OpenSSH for {}",
                            crate::hosts::fold(&via)
                        ),
                    }
                ),
            );
        }
        Ok(Links {
            native: Ssh {
                destinations: hosts.into_iter().map(|h| h.dest).collect(),
                credentials: opts.credentials(prompter),
            },
            openssh: chosen,
            sftp: wants.sftp,
        })
    }
}

impl Connector for Links {
    type Conn = crate::ssh::link::Link;
    fn connect(&self, index: usize, stop: &Arc<Stop>) -> Result<Self::Conn, Failure> {
        use crate::ssh::link::Link;
        match &self.openssh[index] {
            None => self.native.connect(index, stop).map(Link::Native),
            Some(spec) if self.sftp => Link::open_ssh(spec.clone(), stop),
            // The command's own ssh connects; its failures are the job's.
            Some(spec) => {
                if stop.cancelled() {
                    return Err(Failure::Interrupted);
                }
                Ok(Link::OpenSsh {
                    spec: spec.clone(),
                    sftp: None,
                })
            }
        }
    }
}

/// The engine connector for SSH tools: one session per host.
pub struct Ssh {
    pub destinations: Vec<Destination>,
    pub credentials: Credentials,
}

impl Connector for Ssh {
    type Conn = Connection;
    fn connect(&self, index: usize, stop: &Arc<Stop>) -> Result<Connection, Failure> {
        let ctx = Context {
            credentials: &self.credentials,
            stop,
        };
        session::connect(&self.destinations[index], &ctx)
    }
}
