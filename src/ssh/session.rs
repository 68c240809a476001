//! One connection to one host: TCP connect and SSH handshake under one
//! deadline, the host key judged against known_hosts, authentication, then
//! one command run with stdout and stderr drained together as they come.
//!
//! `Session::set_timeout` is an idle timeout per blocking call and does not
//! cover TCP connect, so the connect deadline is enforced by
//! `connect_timeout` per address and by re-arming the session timeout with
//! what is left before each step. The command's deadline is our own clock.

use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::os::fd::{AsRawFd, RawFd};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use ssh2::{BlockDirections, MethodType, Session};

use super::auth::{self, Credentials};
use super::digest::base64_encode;
use super::known_hosts::{KnownHosts, Policy, Verdict};

/// Why a host was not run on, by class (each maps to a `status` in output).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// Could not connect or complete the handshake in time.
    Unreachable(String),
    /// No credential was accepted.
    Auth(String),
    /// The host key is unknown (strict), changed or revoked.
    HostKey(String),
    /// The command did not finish before its deadline.
    Timeout(String),
    /// Ctrl-C: the session was ended.
    Interrupted,
}

impl Failure {
    pub fn message(&self) -> &str {
        match self {
            Failure::Unreachable(m)
            | Failure::Auth(m)
            | Failure::HostKey(m)
            | Failure::Timeout(m) => m,
            Failure::Interrupted => "interrupted",
        }
    }
}

/// Where and as whom to connect.
#[derive(Debug, Clone)]
pub struct Destination {
    /// The address or name to connect to (ssh_config's HostName applied).
    pub host: String,
    pub port: u16,
    pub user: String,
    pub identity_files: Vec<PathBuf>,
    pub identities_only: bool,
    pub connect_timeout: Duration,
    /// The known_hosts files that apply (shared by hosts that use the same).
    pub known_hosts: Arc<KnownHosts>,
    pub policy: Policy,
    /// The jump host to go through (ssh_config's ProxyJump, one hop).
    pub jump: Option<Box<Destination>>,
}

/// What every connection shares.
pub struct Context<'a> {
    pub credentials: &'a Credentials,
    pub cancel: &'a AtomicBool,
}

/// Which output stream bytes came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// How the remote command ended.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Exit {
    pub code: Option<i32>,
    /// The signal that killed it, as the server names it (`KILL`, `TERM`).
    pub signal: Option<String>,
}

/// An authenticated session.
pub struct Connection {
    sess: Session,
    fd: RawFd,
}

/// Connects, checks the host key and authenticates, all within the
/// destination's connect timeout.
pub fn connect(dest: &Destination, ctx: &Context) -> Result<Connection, Failure> {
    let started = Instant::now();
    let deadline = started + dest.connect_timeout;
    let timed_out = |what: &str| {
        Failure::Unreachable(format!(
            "timed out after {} during {what}",
            seconds(dest.connect_timeout)
        ))
    };
    let mut sess = Session::new().map_err(|e| Failure::Unreachable(e.to_string()))?;
    let fd = match &dest.jump {
        None => {
            let stream = tcp_connect(dest, deadline)?;
            let fd = stream.as_raw_fd();
            sess.set_tcp_stream(stream);
            fd
        }
        Some(jump) => {
            let via = |f: Failure| match f {
                Failure::Unreachable(m) => {
                    Failure::Unreachable(format!("jump host {}: {m}", jump.host))
                }
                Failure::Auth(m) => Failure::Auth(format!("jump host {}: {m}", jump.host)),
                Failure::HostKey(m) => Failure::HostKey(format!("jump host {}: {m}", jump.host)),
                other => other,
            };
            let bastion = connect(jump, ctx).map_err(via)?;
            let stream = super::jump::bridge(bastion.sess, bastion.fd, &dest.host, dest.port)
                .map_err(Failure::Unreachable)?;
            let fd = stream.as_raw_fd();
            sess.set_tcp_stream(stream);
            fd
        }
    };
    if dest.policy != Policy::Off {
        let known = dest.known_hosts.key_types(&dest.host, dest.port);
        if !known.is_empty() {
            let _ = sess.method_pref(MethodType::HostKey, &host_key_algorithms(&known));
        }
    }
    arm(&sess, deadline).ok_or_else(|| timed_out("the SSH handshake"))?;
    if let Err(e) = sess.handshake() {
        // LIBSSH2_ERROR_TIMEOUT: the session timeout, armed to the deadline.
        let timeout = e.code() == ssh2::ErrorCode::Session(-9);
        return Err(if timeout || Instant::now() >= deadline {
            timed_out("the SSH handshake")
        } else {
            Failure::Unreachable(format!("SSH handshake failed: {}", e.message()))
        });
    }
    if dest.policy != Policy::Off {
        check_host_key(&sess, dest)?;
    }
    arm(&sess, deadline).ok_or_else(|| timed_out("authentication"))?;
    if let Err(message) = auth::authenticate(
        &sess,
        &dest.user,
        &dest.identity_files,
        dest.identities_only,
        ctx.credentials,
    ) {
        return Err(if Instant::now() >= deadline {
            timed_out("authentication")
        } else {
            Failure::Auth(message)
        });
    }
    sess.set_timeout(0);
    Ok(Connection { sess, fd })
}

/// TCP connect to the first address that answers before the deadline.
fn tcp_connect(dest: &Destination, deadline: Instant) -> Result<TcpStream, Failure> {
    let timed_out = || {
        Failure::Unreachable(format!(
            "timed out after {} during TCP connect",
            seconds(dest.connect_timeout)
        ))
    };
    let addrs: Vec<_> = (dest.host.as_str(), dest.port)
        .to_socket_addrs()
        .map_err(|e| Failure::Unreachable(format!("cannot resolve {}: {e}", dest.host)))?
        .collect();
    let mut last_error = None;
    for addr in &addrs {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(timed_out());
        }
        match TcpStream::connect_timeout(addr, left) {
            Ok(s) => {
                let _ = s.set_nodelay(true);
                return Ok(s);
            }
            Err(e) => last_error = Some(e),
        }
    }
    Err(match last_error {
        Some(e) if e.kind() == io::ErrorKind::TimedOut => timed_out(),
        Some(e) => Failure::Unreachable(format!("cannot connect to port {}: {e}", dest.port)),
        None => Failure::Unreachable(format!("{} has no address", dest.host)),
    })
}

/// Sets the session's blocking-call timeout to what is left of `deadline`.
fn arm(sess: &Session, deadline: Instant) -> Option<()> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return None;
    }
    sess.set_timeout(left.as_millis().clamp(1, u32::MAX as u128) as u32);
    Some(())
}

/// libssh2's names for the algorithms that produce the known key types.
fn host_key_algorithms(known: &[String]) -> String {
    let mut algs = Vec::new();
    for t in known {
        match t.as_str() {
            "ssh-rsa" => algs.extend(["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"]),
            other => algs.push(other),
        }
    }
    algs.join(",")
}

fn check_host_key(sess: &Session, dest: &Destination) -> Result<(), Failure> {
    let (key, _) = sess
        .host_key()
        .ok_or_else(|| Failure::HostKey("the server sent no host key".to_string()))?;
    let key_type = key_type(key).unwrap_or("unknown").to_string();
    let key = base64_encode(key);
    let name = if dest.port == 22 {
        dest.host.clone()
    } else {
        format!("[{}]:{}", dest.host, dest.port)
    };
    match dest
        .known_hosts
        .check(&dest.host, dest.port, &key_type, &key)
    {
        Verdict::Known => Ok(()),
        Verdict::Unknown if dest.policy == Policy::AcceptNew => dest
            .known_hosts
            .learn(&dest.host, dest.port, &key_type, &key)
            .map_err(|e| {
                let file = dest
                    .known_hosts
                    .primary()
                    .map_or(String::new(), |p| p.display().to_string());
                Failure::HostKey(format!(
                    "cannot record the host key of {name} in {file}: {e}"
                ))
            }),
        Verdict::Unknown => Err(Failure::HostKey(format!(
            "host key of {name} ({key_type}) is not known and --host-key=strict"
        ))),
        Verdict::Changed { file, line } => Err(Failure::HostKey(format!(
            "host key of {name} has CHANGED: the {key_type} key does not match {}:{line} \
             (remove that line if the change is expected); not run",
            file.display()
        ))),
        Verdict::Revoked { file, line } => Err(Failure::HostKey(format!(
            "host key of {name} is revoked in {}:{line}",
            file.display()
        ))),
    }
}

/// The algorithm name at the start of an SSH public key blob.
fn key_type(blob: &[u8]) -> Option<&str> {
    let len = u32::from_be_bytes(blob.get(..4)?.try_into().ok()?) as usize;
    std::str::from_utf8(blob.get(4..4 + len)?).ok()
}

impl Connection {
    /// Runs `command`, handing output to `on_output` as it arrives.
    ///
    /// With a `deadline`, the command runs on a pseudo-terminal, so that
    /// closing the channel at the deadline hangs it up (SIGHUP) rather than
    /// leaving it running; a pty has one output stream, so its stderr then
    /// arrives as stdout.
    pub fn run(
        &self,
        command: &str,
        input: Option<&[u8]>,
        deadline: Option<Instant>,
        cancel: &AtomicBool,
        on_output: &mut dyn FnMut(Stream, &[u8]),
    ) -> Result<Exit, Failure> {
        let channel_error =
            |e: ssh2::Error| Failure::Unreachable(format!("SSH channel: {}", e.message()));
        let mut ch = self.sess.channel_session().map_err(channel_error)?;
        if deadline.is_some() {
            let mut modes = ssh2::PtyModes::new();
            modes.set_boolean(ssh2::PtyModeOpcode::ECHO, false);
            modes.set_boolean(ssh2::PtyModeOpcode::ONLCR, false);
            ch.request_pty("dumb", Some(modes), None)
                .map_err(channel_error)?;
        }
        ch.exec(command).map_err(channel_error)?;
        self.sess.set_blocking(false);
        let mut pending = input;
        let mut eof_sent = false;
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let mut progress = false;
            for stream in [Stream::Stdout, Stream::Stderr] {
                let read = match stream {
                    Stream::Stdout => ch.read(&mut buf),
                    Stream::Stderr => ch.stderr().read(&mut buf),
                };
                match read {
                    Ok(0) => {}
                    Ok(n) => {
                        on_output(stream, &buf[..n]);
                        progress = true;
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(e) => return Err(Failure::Unreachable(format!("reading output: {e}"))),
                }
            }
            if let Some(data) = pending {
                match ch.write(data) {
                    Ok(n) => {
                        pending = (n < data.len()).then(|| &data[n..]);
                        progress = true;
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    // The command stopped reading: the rest is not wanted.
                    Err(_) => pending = None,
                }
            }
            if pending.is_none() && !eof_sent {
                match ch.send_eof() {
                    Err(e) if e.code() == ssh2::ErrorCode::Session(-37) => {}
                    _ => eof_sent = true,
                }
            }
            if ch.eof() && !progress {
                break;
            }
            if cancel.load(Ordering::Relaxed) {
                let _ = ch.close();
                return Err(Failure::Interrupted);
            }
            let now = Instant::now();
            if let Some(d) = deadline
                && now >= d
            {
                let _ = ch.close();
                return Err(Failure::Timeout(
                    "the command did not finish in time; it was hung up".to_string(),
                ));
            }
            if !progress {
                let wait = deadline.map_or(Duration::from_millis(250), |d| {
                    d.saturating_duration_since(now)
                        .min(Duration::from_millis(250))
                });
                self.wait(wait);
            }
        }
        // Collect the exit status: wait_close may need a few round trips.
        let close_by = Instant::now() + Duration::from_secs(10);
        loop {
            match ch.wait_close() {
                Err(e)
                    if e.code() == ssh2::ErrorCode::Session(-37) && Instant::now() < close_by =>
                {
                    self.wait(Duration::from_millis(100))
                }
                _ => break,
            }
        }
        let signal = ch
            .exit_signal()
            .ok()
            .and_then(|s| s.exit_signal)
            .filter(|s| !s.is_empty());
        let code = if signal.is_some() {
            None
        } else {
            ch.exit_status().ok()
        };
        Ok(Exit { code, signal })
    }

    /// Sleeps until the socket is ready in the direction libssh2 waits for.
    fn wait(&self, timeout: Duration) {
        let events = match self.sess.block_directions() {
            BlockDirections::Outbound => libc::POLLOUT,
            BlockDirections::Both => libc::POLLIN | libc::POLLOUT,
            _ => libc::POLLIN,
        };
        let mut pfd = libc::pollfd {
            fd: self.fd,
            events,
            revents: 0,
        };
        // SAFETY: one valid pollfd for a socket the session owns.
        unsafe {
            libc::poll(
                &mut pfd,
                1,
                timeout.as_millis().min(i32::MAX as u128) as i32,
            );
        }
    }

    /// Says goodbye politely (best effort).
    pub fn disconnect(self) {
        self.sess.set_blocking(true);
        self.sess.set_timeout(1000);
        let _ = self.sess.disconnect(None, "done", None);
    }
}

/// `3s`, `1.5s`.
pub fn seconds(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s.fract() == 0.0 {
        format!("{s:.0}s")
    } else {
        format!("{s:.1}s")
    }
}
