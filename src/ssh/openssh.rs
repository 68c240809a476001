//! The OpenSSH transport: the system's `ssh`, one process per host, for
//! what libssh2 does slowly or not at all. Its bulk crypto is OpenSSL's
//! vectorised AES-GCM and ChaCha20 (libssh2 calls its cipher once per
//! 16-byte block), and it reads the user's whole ssh_config itself.
//!
//! The process talks to us over a socket pair, not pipes, so the run's
//! watchdog can cut it like any other connection: at the deadline or on a
//! cancel our end is shut down, ssh sees end of input and exits, and the
//! process group is killed when the [`Process`] is dropped. `BatchMode`
//! keeps ssh from ever asking on the terminal; when it fails (exit 255)
//! its own message says why, and [`classify`] turns that into the same
//! statuses as the native path.

use std::ffi::OsString;
use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStringExt;
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::known_hosts::Policy;
use crate::outcome::{Exit, Failure};
use crate::stop::{Stop, Watch};

/// How to reach one host with `ssh`. ssh resolves the host through
/// ssh_config itself (Include, Match, ProxyCommand, tokens and all): only
/// what the command line says is passed, so a config value is never
/// overridden by fleetkit's own reading of the file.
#[derive(Clone, Debug, Default)]
pub struct Spec {
    /// The host as the list names it.
    pub alias: String,
    /// `user@` in the list, or `-l`.
    pub user: Option<String>,
    /// `:port` in the list, or `--port`.
    pub port: Option<u16>,
    /// `-i` files.
    pub identities: Vec<PathBuf>,
    /// `--host-key`, or fleetkit's default (accept-new) where ssh_config
    /// sets none.
    pub host_key: Option<Policy>,
    /// `--connect-timeout`, or fleetkit's default where ssh_config sets
    /// none.
    pub connect_timeout: Option<Duration>,
    /// Put AES-GCM first (ssh_config sets no Ciphers).
    pub prefer_gcm: bool,
    /// `-F`, when given.
    pub config: Option<PathBuf>,
    /// `-O KEY=VALUE` options, given to ssh as `-o`.
    pub options: Vec<String>,
    /// How long the connection may take to come up, greeting included.
    pub wait: Duration,
}

/// What the process runs on the host.
pub enum Remote<'a> {
    /// A subsystem (`sftp`).
    Subsystem(&'a str),
    /// A command line for the remote shell, as bytes (ssh sends them
    /// unchanged).
    Command(&'a [u8]),
}

impl Spec {
    /// ssh's arguments, ending with the host and what to run.
    fn args(&self, remote: &Remote) -> Vec<OsString> {
        let mut a: Vec<OsString> = Vec::new();
        let mut opt = |s: String| {
            a.push("-o".into());
            a.push(s.into());
        };
        opt("BatchMode=yes".into());
        opt("LogLevel=ERROR".into());

        if let Some(t) = self.connect_timeout {
            opt(format!(
                "ConnectTimeout={}",
                t.as_secs_f64().ceil().max(1.0) as u64
            ));
        }
        match self.host_key {
            Some(Policy::Strict) => opt("StrictHostKeyChecking=yes".into()),
            Some(Policy::AcceptNew) => opt("StrictHostKeyChecking=accept-new".into()),
            Some(Policy::Off) => {
                opt("StrictHostKeyChecking=no".into());
                opt("UserKnownHostsFile=/dev/null".into());
                opt("GlobalKnownHostsFile=/dev/null".into());
            }
            None => {}
        }
        // AES-GCM where the CPU has AES instructions (OpenSSH puts
        // ChaCha20 first, which is half as fast there).
        if self.prefer_gcm && cpu_has_aes() {
            opt("Ciphers=^aes128-gcm@openssh.com".into());
        }
        for f in &self.identities {
            a.push("-i".into());
            a.push(f.into());
        }
        if let Some(cfg) = &self.config {
            a.push("-F".into());
            a.push(cfg.into());
        }
        a.extend(["-x".into(), "-a".into(), "-T".into()]);
        if let Some(port) = self.port {
            a.push("-p".into());
            a.push(port.to_string().into());
        }
        if let Some(user) = &self.user {
            a.push("-l".into());
            a.push(user.into());
        }
        // The user's -O options after -l and -p (ssh keeps the first value:
        // the host list's user and port win, as on the native path), and
        // before nothing else of fleetkit's that they could override:
        // its defaults above are only passed where ssh_config and -O set
        // none.
        for o in &self.options {
            a.push("-o".into());
            a.push(o.into());
        }
        if let Remote::Subsystem(_) = remote {
            a.push("-s".into());
        }
        a.push("--".into());
        a.push(self.alias.clone().into());
        match remote {
            Remote::Subsystem(s) => a.push((*s).into()),
            Remote::Command(c) => a.push(OsString::from_vec(c.to_vec())),
        }
        a
    }
}

/// Has the kernel kill the child if we die (even by SIGKILL), so no ssh
/// is left copying after rcp is gone. (It fires when the thread that
/// started it ends; workers live for the whole run.)
pub fn die_with_us(cmd: &mut Command) {
    // SAFETY: prctl is async-signal-safe; nothing else runs in the child
    // before exec.
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
}

/// Ends a child we started in its own process group, and reaps it.
fn end(child: &mut Child) {
    // SAFETY: signalling the process group made for this child.
    unsafe {
        libc::kill(-(child.id() as i32), libc::SIGTERM);
    }
    let _ = child.wait();
}

/// Starting ssh failed.
fn cannot_run(e: io::Error) -> Failure {
    Failure::Error(format!(
        "cannot run ssh: {}",
        super::session::plain_error(&e)
    ))
}

/// Whether this CPU has AES instructions (x86 `aes`, ARM `aes`).
fn cpu_has_aes() -> bool {
    static AES: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *AES.get_or_init(|| {
        std::fs::read_to_string("/proc/cpuinfo").is_ok_and(|c| {
            c.lines()
                .filter(|l| l.starts_with("flags") || l.starts_with("Features"))
                .any(|l| l.split_whitespace().any(|w| w == "aes"))
        })
    })
}

/// Whether the system has an `ssh` to run.
pub fn available() -> bool {
    std::env::var_os("PATH").is_some_and(|path| {
        std::env::split_paths(&path).any(|dir| {
            use std::os::unix::fs::PermissionsExt;
            std::fs::metadata(dir.join("ssh"))
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
    })
}

/// A running `ssh`: its standard input and output are `sock`.
pub struct Process {
    watch: Watch,
    sock: UnixStream,
    err: UnixStream,
    child: Child,
}

impl Process {
    /// Starts ssh for `remote`; the watchdog cuts it at `deadline`.
    pub fn spawn(
        spec: &Spec,
        remote: &Remote,
        stop: &Arc<Stop>,
        deadline: Option<Instant>,
    ) -> Result<Process, Failure> {
        if stop.cancelled() {
            return Err(Failure::Interrupted);
        }
        let spawn = || -> io::Result<Process> {
            let (ours, theirs) = UnixStream::pair()?;
            let (err, err_theirs) = UnixStream::pair()?;
            let mut cmd = Command::new("ssh");
            cmd.args(spec.args(remote))
                .stdin(Stdio::from(std::os::fd::OwnedFd::from(theirs.try_clone()?)))
                .stdout(Stdio::from(std::os::fd::OwnedFd::from(theirs)))
                .stderr(Stdio::from(std::os::fd::OwnedFd::from(err_theirs)))
                // Its own process group: killed whole, and a Ctrl-C on the
                // terminal reaches us only (we end it ourselves).
                .process_group(0);
            die_with_us(&mut cmd);
            let child = cmd.spawn()?;
            Ok(Process {
                watch: stop.watch(ours.as_raw_fd(), deadline),
                sock: ours,
                err,
                child,
            })
        };
        spawn().map_err(cannot_run)
    }

    /// Moves the watchdog's deadline; a cancel is seen `grace` late.
    pub fn set_deadline(&self, deadline: Option<Instant>, grace: Duration) {
        self.watch.set_deadline(deadline);
        self.watch.set_grace(grace);
    }

    /// Whether the watchdog cut it.
    pub fn cut(&self) -> bool {
        self.watch.fired()
    }

    /// What went wrong, once the stream ended early: ssh's own message
    /// classified (it is given a moment to exit and say it).
    pub fn failure(&mut self, stop: &Stop) -> Failure {
        if stop.cancelled() {
            return Failure::Interrupted;
        }
        if self.cut() {
            return Failure::Timeout("did not finish in time".to_string());
        }
        let code = self.wait_briefly();
        classify(code, &self.stderr())
    }

    /// The exit status, waiting up to two seconds for it.
    fn wait_briefly(&mut self) -> Option<i32> {
        let until = Instant::now() + Duration::from_secs(2);
        loop {
            match self.child.try_wait() {
                Ok(Some(st)) => return st.code(),
                Ok(None) if Instant::now() < until => std::thread::sleep(Duration::from_millis(10)),
                _ => return None,
            }
        }
    }

    /// What ssh said on its standard error (what has arrived).
    fn stderr(&mut self) -> String {
        let _ = self.err.set_nonblocking(true);
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        while buf.len() < 64 * 1024 {
            match self.err.read(&mut chunk) {
                Ok(0) | Err(_) => break,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        String::from_utf8_lossy(&buf).into_owned()
    }

    /// Ends our side and collects the exit status of a command.
    pub fn finish(mut self) -> Option<i32> {
        let _ = self.sock.shutdown(std::net::Shutdown::Write);
        self.wait_briefly()
    }
}

impl crate::sftp::Stream for Process {
    fn raw_fd(&self) -> Option<std::os::fd::RawFd> {
        Some(self.sock.as_raw_fd())
    }
}

impl Read for Process {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.sock.read(buf)
    }
}

impl Write for Process {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.sock.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.sock.shutdown(std::net::Shutdown::Both);
        if let Ok(None) = self.child.try_wait() {
            end(&mut self.child);
        }
    }
}

/// ssh's exit (255 is its own failure) and message, in fleetkit's terms.
pub fn classify(code: Option<i32>, stderr: &str) -> Failure {
    let said = stderr
        .lines()
        .map(str::trim)
        .filter(|l| {
            !l.is_empty() && !l.starts_with("@@@") && !l.starts_with("Warning: Permanently")
        })
        .collect::<Vec<_>>();
    let has = |s: &str| said.iter().any(|l| l.contains(s));
    let last = said
        .last()
        .map(|l| l.to_string())
        .unwrap_or_else(|| match code {
            Some(c) => format!("ssh exited with status {c}"),
            None => "ssh was killed".to_string(),
        });
    if has("REMOTE HOST IDENTIFICATION HAS CHANGED") {
        let offending = said
            .iter()
            .find(|l| l.starts_with("Offending"))
            .map_or(String::new(), |l| format!(" ({l})"));
        return Failure::HostKey(format!("host key has CHANGED{offending}; not run"));
    }
    if has("Host key verification failed") {
        let why = said
            .iter()
            .find(|l| l.contains("host key is known"))
            .map_or(last.clone(), |l| l.to_string());
        return Failure::HostKey(why);
    }
    if has("Permission denied") || has("Too many authentication failures") {
        return Failure::Auth(last);
    }
    Failure::Unreachable(last)
}

/// Runs `command` on the host through its own ssh process; returns its
/// exit and standard output (at most `limit` bytes kept).
pub fn run(
    spec: &Spec,
    command: &str,
    input: &[u8],
    stop: &Arc<Stop>,
    deadline: Option<Instant>,
    limit: usize,
) -> Result<(Exit, Vec<u8>), Failure> {
    let mut p = Process::spawn(spec, &Remote::Command(command.as_bytes()), stop, deadline)?;
    // The input goes from a thread of its own while the output is read
    // here, so neither side waits for the other.
    let writer = p.sock.try_clone().ok().map(|mut sock| {
        let input = input.to_vec();
        std::thread::spawn(move || {
            let _ = sock.write_all(&input);
            let _ = sock.shutdown(std::net::Shutdown::Write);
        })
    });
    if writer.is_none() {
        let _ = p.sock.shutdown(std::net::Shutdown::Write);
    }
    let mut out = Vec::new();
    let mut buf = [0u8; 64 * 1024];
    loop {
        match p.sock.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                if out.len() < limit {
                    out.extend_from_slice(&buf[..n.min(limit - out.len())]);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    if let Some(w) = writer {
        let _ = w.join();
    }
    if stop.cancelled() {
        return Err(Failure::Interrupted);
    }
    if p.cut() {
        return Err(Failure::Timeout("did not finish in time".to_string()));
    }
    match p.wait_briefly() {
        Some(255) => Err(classify(Some(255), &p.stderr())),
        code => Ok((Exit { code, signal: None }, out)),
    }
}

/// Runs `command` on the host with `input` as its standard input, read
/// by ssh itself (no copy through us: a large file goes at ssh's own
/// speed). The caller's thread polls: a cancel or the deadline kills the
/// process group; `progress` hears how far ssh has read (its descriptor's
/// offset, from /proc). Returns the exit code and what the command said
/// on standard error.
pub fn feed(
    spec: &Spec,
    command: &str,
    input: std::fs::File,
    stop: &Stop,
    deadline: Option<Instant>,
    progress: &mut dyn FnMut(u64),
) -> Result<(Option<i32>, String), Failure> {
    if stop.cancelled() {
        return Err(Failure::Interrupted);
    }
    let (mut err, err_theirs) = UnixStream::pair().map_err(cannot_run)?;
    let mut cmd = Command::new("ssh");
    cmd.args(spec.args(&Remote::Command(command.as_bytes())))
        .stdin(Stdio::from(input))
        .stdout(Stdio::null())
        .stderr(Stdio::from(std::os::fd::OwnedFd::from(err_theirs)))
        .process_group(0);
    die_with_us(&mut cmd);
    let mut child = cmd.spawn().map_err(cannot_run)?;
    let fdinfo = format!("/proc/{}/fdinfo/0", child.id());
    let code = loop {
        match child.try_wait() {
            Ok(Some(st)) => break st.code(),
            Ok(None) => {}
            Err(_) => break None,
        }
        if let Some(pos) = std::fs::read_to_string(&fdinfo).ok().and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("pos:"))
                .and_then(|v| v.trim().parse().ok())
        }) {
            progress(pos);
        }
        if stop.cancelled() {
            end(&mut child);
            return Err(Failure::Interrupted);
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            end(&mut child);
            return Err(Failure::Timeout("did not finish in time".to_string()));
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let _ = err.set_nonblocking(true);
    let mut said = Vec::new();
    let _ = err.read_to_end(&mut said);
    let said = String::from_utf8_lossy(&said).into_owned();
    if code == Some(255) {
        return Err(match classify(code, &said) {
            Failure::Unreachable(m) => {
                Failure::Lost(format!("the connection was lost mid-transfer ({m})"))
            }
            other => other,
        });
    }
    Ok((code, said))
}

/// Runs a command through its own `ssh` with every output mode of the
/// native path: stdout and stderr handed to `on_output` as they come (it
/// may block: ssh then stops reading, and SSH flow control stops the
/// host), the input sent then closed, the deadline and a cancel ending
/// the process group. `-tt` gives the command a terminal when asked, so
/// that ending ssh hangs it up. Exit 255 with nothing on stdout and an
/// ssh message on stderr is ssh's own failure, classified; otherwise it
/// is the command's status.
pub fn exec(
    spec: &Spec,
    exec: &super::session::Exec,
    stop: &Stop,
    on_output: &mut crate::outcome::OnOutput<'_>,
) -> Result<Exit, Failure> {
    use crate::outcome::Stream;
    if stop.cancelled() {
        return Err(Failure::Interrupted);
    }
    type Started = (UnixStream, UnixStream, Child, std::sync::mpsc::Sender<()>);
    let io = || -> io::Result<Started> {
        let (out, out_theirs) = UnixStream::pair()?;
        let (err, err_theirs) = UnixStream::pair()?;
        // On a terminal (-tt), as the native path: no echo, no \r added.
        let command = if exec.pty {
            let mut c =
                format!("stty -echo -onlcr 2>/dev/null; printf '%s' '{READY}'; ").into_bytes();
            c.extend_from_slice(exec.command);
            c
        } else {
            exec.command.to_vec()
        };
        let mut args = spec.args(&Remote::Command(&command));
        if exec.pty {
            // Before `--`: the host and command come last.
            let at = args.iter().position(|a| a == "--").unwrap_or(0);
            args.insert(at, "-tt".into());
            args.retain(|a| a != "-T");
        }
        let mut cmd = Command::new("ssh");
        cmd.args(args)
            .stdin(if exec.input.is_some() || exec.pty {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::from(std::os::fd::OwnedFd::from(out_theirs)))
            .stderr(Stdio::from(std::os::fd::OwnedFd::from(err_theirs)))
            .process_group(0);
        die_with_us(&mut cmd);
        let mut child = cmd.spawn()?;
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<()>();
        if let Some(mut stdin) = child.stdin.take() {
            let mut input = exec.input.unwrap_or_default().to_vec();
            let pty = exec.pty;
            if pty {
                // End of input on a terminal: two ^D (see the native path).
                input.extend_from_slice(b"\x04\x04");
            }
            std::thread::spawn(move || {
                // On a terminal, nothing is sent before echo is off.
                if pty && ready_rx.recv().is_err() {
                    return;
                }
                let _ = stdin.write_all(&input);
            });
        }
        out.set_nonblocking(true)?;
        err.set_nonblocking(true)?;
        Ok((out, err, child, ready_tx))
    };
    let (mut out, mut err, mut child, ready) = io().map_err(cannot_run)?;
    let mut buf = vec![0u8; 64 * 1024];
    let (mut out_open, mut err_open) = (true, true);
    let mut said = Vec::new();
    let mut any_stdout = false;
    let (mut ready_seen, mut head) = (false, Vec::new());
    while out_open || err_open {
        if stop.cancelled() {
            end(&mut child);
            return Err(Failure::Interrupted);
        }
        if exec.deadline.is_some_and(|d| Instant::now() >= d) {
            end(&mut child);
            return Err(Failure::Timeout(
                "the command did not finish in time; it was hung up".to_string(),
            ));
        }
        let mut fds = [
            libc::pollfd {
                fd: if out_open { out.as_raw_fd() } else { -1 },
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: if err_open { err.as_raw_fd() } else { -1 },
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        // SAFETY: two valid pollfds (negative fds are ignored).
        unsafe {
            libc::poll(fds.as_mut_ptr(), 2, 100);
        }
        for (i, stream) in [(0, Stream::Stdout), (1, Stream::Stderr)] {
            let (sock, open) = if i == 0 {
                (&mut out, &mut out_open)
            } else {
                (&mut err, &mut err_open)
            };
            if !*open {
                continue;
            }
            match sock.read(&mut buf) {
                Ok(0) => *open = false,
                Ok(n) => {
                    let mut bytes = &buf[..n];
                    if stream == Stream::Stdout && exec.pty && !ready_seen {
                        // Everything up to the marker is the terminal's
                        // setup, not the command's.
                        head.extend_from_slice(bytes);
                        match find(&head, READY.as_bytes()) {
                            Some(at) => {
                                ready_seen = true;
                                let _ = ready.send(());
                                let rest = head.split_off(at + READY.len());
                                head = rest;
                                bytes = &head;
                            }
                            None => continue,
                        }
                    }
                    if stream == Stream::Stdout {
                        any_stdout |= !bytes.is_empty();
                    } else if said.len() < 64 * 1024 {
                        said.extend_from_slice(bytes);
                    }
                    if bytes.is_empty() {
                        continue;
                    }
                    if let Err(f) = on_output(stream, bytes) {
                        end(&mut child);
                        return Err(f);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => *open = false,
            }
        }
    }
    let status = loop {
        match child.try_wait() {
            Ok(Some(st)) => break Some(st),
            Ok(None) => {
                if stop.cancelled() || exec.deadline.is_some_and(|d| Instant::now() >= d) {
                    end(&mut child);
                    return Err(if stop.cancelled() {
                        Failure::Interrupted
                    } else {
                        Failure::Timeout("the command did not finish in time".to_string())
                    });
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(_) => break None,
        }
    };
    use std::os::unix::process::ExitStatusExt;
    let code = status.and_then(|s| s.code());
    if code == Some(255) && !any_stdout {
        let text = String::from_utf8_lossy(&said);
        if let f @ (Failure::Auth(_) | Failure::HostKey(_)) = classify(code, &text) {
            return Err(f);
        }
        if is_connection_failure(&text) {
            return Err(classify(code, &text));
        }
    }
    let signal = status
        .and_then(|s| s.signal())
        .map(|s| format!("signal {s}"));
    Ok(Exit { code, signal })
}

/// What the remote shell prints once the terminal is set up (-t): input
/// waits for it, and it is not output.
const READY: &str = "\u{1b}[fleetkit-ready]";

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Whether ssh's message says it never got to run the command.
fn is_connection_failure(text: &str) -> bool {
    [
        "ssh: connect to host",
        "Could not resolve hostname",
        "Connection closed by",
        "Connection reset by",
        "Connection timed out",
        "kex_exchange_identification",
        "ssh_exchange_identification",
        "Unable to negotiate",
        "Bad configuration option",
        "ProxyCommand",
        "channel 0: open failed",
        "stdio forwarding failed",
    ]
    .iter()
    .any(|m| text.contains(m))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ssh_messages_become_statuses() {
        let f = classify(
            Some(255),
            "fleet@127.0.0.2: Permission denied (publickey).\n",
        );
        assert!(matches!(f, Failure::Auth(m) if m.contains("Permission denied")));
        let f = classify(
            Some(255),
            "ssh: connect to host 127.0.0.1 port 1: Connection refused\n",
        );
        assert!(matches!(f, Failure::Unreachable(m) if m.contains("Connection refused")));
        let f = classify(
            Some(255),
            "@@@@@\n@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\nOffending ED25519 key in /k:3\nHost key verification failed.\n",
        );
        assert!(matches!(f, Failure::HostKey(m) if m.contains("CHANGED") && m.contains("/k:3")));
    }
}
