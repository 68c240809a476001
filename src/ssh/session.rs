//! One connection to one host: TCP connect and SSH handshake under one
//! deadline, the host key judged against known_hosts, authentication, then
//! one command run with stdout and stderr drained together as they come.
//!
//! `Session::set_timeout` is an idle timeout per blocking call and does not
//! cover TCP connect, so the connect deadline is enforced by
//! `connect_timeout` per address and by re-arming the session timeout with
//! what is left before each step. The command's deadline is our own clock.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::os::fd::{AsRawFd, RawFd};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ssh2::{BlockDirections, MethodType, Session};

use super::auth::{self, Credentials};
use super::digest::base64_encode;
use super::host_cert;
use super::known_hosts::{KnownHosts, Policy, Verdict};
use crate::outcome::{Exit, Failure, Stream};
use crate::stop::{Stop, Watch};

/// How much of a server's first bytes are searched for its `SSH-` line.
const BANNER_WINDOW: usize = 8192;

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
    /// The last jump host to go through (ssh_config's ProxyJump; its own
    /// `jump` is the hop before it).
    pub jump: Option<Box<Destination>>,
    /// ssh_config's ProxyCommand, tokens expanded: run with `sh -c`, its
    /// standard input and output are the connection.
    pub proxy_command: Option<String>,
    /// The name known_hosts knows the host by (ssh_config's HostKeyAlias).
    pub host_key_alias: Option<String>,
    /// Algorithm lists from ssh_config (`kexalgorithms`, `ciphers`, …).
    pub methods: Vec<(&'static str, String)>,
    /// Never ask on the terminal (ssh_config's BatchMode).
    pub batch_mode: bool,
    /// The agent to ask (ssh_config's IdentityAgent).
    pub agent: auth::AgentChoice,
    /// Write learnt host names hashed (ssh_config's HashKnownHosts).
    pub hash_known_hosts: bool,
    /// TCP connects to try (ssh_config's ConnectionAttempts).
    pub attempts: u32,
    /// ServerAliveInterval and ServerAliveCountMax: a keepalive every
    /// interval while a command runs, the host given up as lost when it
    /// has said nothing for interval × count.
    pub alive: Option<(Duration, u32)>,
}

/// What every connection shares.
pub struct Context<'a> {
    pub credentials: &'a Credentials,
    pub stop: &'a Arc<Stop>,
}

/// An authenticated session. The watch is declared first so it ends
/// before the session closes its socket.
pub struct Connection {
    watch: Watch,
    sess: Session,
    fd: RawFd,
    alive: Option<(Duration, u32)>,
    /// The ProxyCommand carrying it, if any (ended after the session).
    _proxy: Option<super::proxy::Proxy>,
}

/// Connects, checks the host key and authenticates, all within the
/// destination's connect timeout: the socket is watched, so the deadline
/// and a cancelled run end even a blocking libssh2 call.
pub fn connect(dest: &Destination, ctx: &Context) -> Result<Connection, Failure> {
    let deadline = Instant::now() + dest.connect_timeout;
    let timed_out = |what: &str| {
        Failure::Unreachable(format!(
            "timed out after {} during {what}",
            seconds(dest.connect_timeout)
        ))
    };
    let mut sess = Session::new().map_err(|e| Failure::Unreachable(e.to_string()))?;
    let mut proxy = None;
    let (fd, watch) = match &dest.jump {
        None if dest.proxy_command.is_some() => {
            let command = dest.proxy_command.as_deref().unwrap_or_default();
            let (stream, p) = super::proxy::spawn(command).map_err(Failure::Unreachable)?;
            proxy = Some(p);
            let fd = stream.as_raw_fd();
            let watch = ctx.stop.watch(fd, Some(deadline));
            sess.set_tcp_stream(stream);
            (fd, watch)
        }
        None => {
            let stream = tcp_connect_attempts(dest, deadline, ctx.stop)?;
            let fd = stream.as_raw_fd();
            let watch = ctx.stop.watch(fd, Some(deadline));
            sess.set_tcp_stream(stream);
            (fd, watch)
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
            let Connection {
                watch,
                sess: bsess,
                fd: bfd,
                _proxy,
                ..
            } = bastion;
            // A hop reached through a ProxyCommand keeps it running for
            // as long as this connection.
            proxy = _proxy;
            // The bridge thread owns the bastion from here; the target's
            // end of the bridge is what is watched.
            drop(watch);
            let stream = super::jump::bridge(bsess, bfd, &dest.host, dest.port)
                .map_err(Failure::Unreachable)?;
            let fd = stream.as_raw_fd();
            let watch = ctx.stop.watch(fd, Some(deadline));
            sess.set_tcp_stream(stream);
            (fd, watch)
        }
    };
    // What went wrong once the watchdog or a signal may have cut the socket.
    let cut = |f: Failure, what: &str| {
        if ctx.stop.cancelled() {
            Failure::Interrupted
        } else if watch.fired() || Instant::now() >= deadline {
            timed_out(what)
        } else {
            f
        }
    };
    if let Err(f) = await_banner(fd, deadline, ctx.stop) {
        let f = cut(f, "the SSH banner");
        return Err(match (f, proxy.as_mut().and_then(|p| p.said())) {
            (Failure::Unreachable(m), Some(said)) => {
                Failure::Unreachable(format!("{m} (ProxyCommand: {said})"))
            }
            (f, _) => f,
        });
    }
    let user_host_keys = dest.methods.iter().any(|(k, _)| *k == "hostkeyalgorithms");
    if dest.policy != Policy::Off && !user_host_keys {
        let (name, port) = known_as(dest);
        let known = dest.known_hosts.key_types(name, port);
        let ca = !dest.known_hosts.authorities(name, port).is_empty();
        if !known.is_empty() || ca {
            let supported = sess.supported_algs(MethodType::HostKey).unwrap_or_default();
            let _ = sess.method_pref(
                MethodType::HostKey,
                &host_key_algorithms(&known, ca, &supported),
            );
        }
    }
    for (key, list) in &dest.methods {
        methods(&sess, key, list).map_err(Failure::Unreachable)?;
    }
    arm(&sess, deadline).ok_or_else(|| timed_out("the SSH handshake"))?;
    if let Err(e) = sess.handshake() {
        let why = if peer_closed(fd) {
            "the server closed the connection during the SSH handshake".to_string()
        } else {
            format!("SSH handshake failed: {}", e.message())
        };
        return Err(cut(Failure::Unreachable(why), "the SSH handshake"));
    }
    let password_ok = check_host_key(&sess, dest)?;
    arm(&sess, deadline).ok_or_else(|| timed_out("authentication"))?;
    let login = auth::Login {
        user: &dest.user,
        config_files: &dest.identity_files,
        identities_only: dest.identities_only,
        agent: &dest.agent,
        batch: dest.batch_mode,
        password: password_ok,
    };
    if let Err(message) = auth::authenticate(&sess, &login, ctx.credentials) {
        return Err(cut(Failure::Auth(message), "authentication"));
    }
    sess.set_timeout(0);
    watch.set_deadline(None);
    if let Some((interval, _)) = dest.alive {
        sess.set_keepalive(true, interval.as_secs().max(1) as u32);
    }
    Ok(Connection {
        watch,
        sess,
        fd,
        alive: dest.alive,
        _proxy: proxy,
    })
}

/// The name and port known_hosts knows a destination by: HostKeyAlias
/// (as it is, port 22), else the host and port.
fn known_as(dest: &Destination) -> (&str, u16) {
    match &dest.host_key_alias {
        Some(alias) => (alias, 22),
        None => (&dest.host, dest.port),
    }
}

/// Applies an ssh_config algorithm list (`+` appends to the defaults,
/// `-` removes from them, `^` puts first) to what libssh2 offers.
fn methods(sess: &Session, key: &str, list: &str) -> Result<(), String> {
    let types: &[MethodType] = match key {
        "kexalgorithms" => &[MethodType::Kex],
        "hostkeyalgorithms" => &[MethodType::HostKey],
        "ciphers" => &[MethodType::CryptCs, MethodType::CryptSc],
        "macs" => &[MethodType::MacCs, MethodType::MacSc],
        _ => return Ok(()),
    };
    for t in types {
        let supported = sess.supported_algs(*t).unwrap_or_default();
        let named: Vec<&str> = list[list.starts_with(['+', '-', '^']) as usize..]
            .split(',')
            .collect();
        let has = |a: &str| named.iter().any(|n| super::config::glob(n, a));
        let chosen: Vec<&str> = match list.chars().next() {
            Some('+') => supported.clone(),
            Some('-') => supported.iter().copied().filter(|a| !has(a)).collect(),
            Some('^') => {
                let mut first: Vec<&str> = supported.iter().copied().filter(|a| has(a)).collect();
                first.extend(supported.iter().copied().filter(|a| !has(a)));
                first
            }
            _ => named
                .iter()
                .copied()
                .filter(|n| supported.contains(n))
                .collect(),
        };
        if chosen.is_empty() {
            return Err(format!(
                "ssh_config {key} {list}: none of these is supported by fleetkit's native SSH"
            ));
        }
        sess.method_pref(*t, &chosen.join(","))
            .map_err(|e| format!("ssh_config {key} {list}: {}", e.message()))?;
    }
    Ok(())
}

/// `tcp_connect`, tried ConnectionAttempts times a second apart.
fn tcp_connect_attempts(
    dest: &Destination,
    deadline: Instant,
    stop: &Stop,
) -> Result<TcpStream, Failure> {
    let mut left = dest.attempts;
    loop {
        match tcp_connect(dest, deadline, stop) {
            Err(Failure::Unreachable(_)) if left > 1 && Instant::now() < deadline => {
                left -= 1;
                std::thread::sleep(Duration::from_secs(1).min(deadline - Instant::now()));
                if stop.cancelled() {
                    return Err(Failure::Interrupted);
                }
            }
            other => return other,
        }
    }
}

/// TCP connect to the first address that answers before the deadline,
/// giving up at once when the run is cancelled.
fn tcp_connect(dest: &Destination, deadline: Instant, stop: &Stop) -> Result<TcpStream, Failure> {
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
        match connect_one(addr, deadline, stop) {
            Ok(s) => {
                let _ = s.set_nodelay(true);
                return Ok(s);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return Err(Failure::Interrupted),
            Err(e) if e.kind() == io::ErrorKind::TimedOut => return Err(timed_out()),
            Err(e) => last_error = Some(e),
        }
    }
    Err(match last_error {
        Some(e) => Failure::Unreachable(format!(
            "cannot connect to port {}: {}",
            dest.port,
            plain_error(&e)
        )),
        None => Failure::Unreachable(format!("{} has no address", dest.host)),
    })
}

/// A non-blocking connect, polled in short slices so a cancel is seen.
fn connect_one(addr: &SocketAddr, deadline: Instant, stop: &Stop) -> io::Result<TcpStream> {
    use socket2::{Domain, Protocol, Socket, Type};
    let sock = Socket::new(
        Domain::for_address(*addr),
        Type::STREAM,
        Some(Protocol::TCP),
    )?;
    sock.set_nonblocking(true)?;
    match sock.connect(&(*addr).into()) {
        Ok(()) => {}
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => loop {
            if stop.cancelled() {
                return Err(io::ErrorKind::Interrupted.into());
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(io::ErrorKind::TimedOut.into());
            }
            if poll_one(
                sock.as_raw_fd(),
                libc::POLLOUT,
                left.min(Duration::from_millis(50)),
            ) {
                if let Some(e) = sock.take_error()? {
                    return Err(e);
                }
                break;
            }
        },
        Err(e) => return Err(e),
    }
    sock.set_nonblocking(false)?;
    Ok(sock.into())
}

/// Waits, by peeking, until the server's first bytes hold an `SSH-` line:
/// libssh2 would read a server that never sends one (or sends bytes for
/// ever) without end.
fn await_banner(fd: RawFd, deadline: Instant, stop: &Stop) -> Result<(), Failure> {
    let mut buf = vec![0u8; BANNER_WINDOW];
    let mut seen = 0;
    loop {
        if stop.cancelled() {
            return Err(Failure::Interrupted);
        }
        if Instant::now() >= deadline {
            return Err(Failure::Unreachable(format!(
                "no SSH banner before the connect timeout ({seen} bytes received)"
            )));
        }
        // SAFETY: a peek into a buffer we own, on a socket the session owns.
        let n = unsafe {
            libc::recv(
                fd,
                buf.as_mut_ptr().cast(),
                buf.len(),
                libc::MSG_PEEK | libc::MSG_DONTWAIT,
            )
        };
        if n == 0 {
            return Err(Failure::Unreachable(
                "the server closed the connection before sending its SSH banner".to_string(),
            ));
        }
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::WouldBlock {
                return Err(Failure::Unreachable(format!(
                    "reading the SSH banner: {}",
                    plain_error(&e)
                )));
            }
            poll_one(fd, libc::POLLIN, Duration::from_millis(50));
            continue;
        }
        let n = n as usize;
        let data = &buf[..n];
        // RFC 4253: lines before the version line are allowed; the version
        // line starts with "SSH-".
        if data.starts_with(b"SSH-") || memchr::memmem::find(data, b"\nSSH-").is_some() {
            return Ok(());
        }
        if n == buf.len() {
            return Err(Failure::Unreachable(format!(
                "not an SSH server: its first {} bytes hold no SSH banner (they begin {:?})",
                n,
                String::from_utf8_lossy(&data[..data.len().min(40)])
            )));
        }
        if n == seen {
            // Nothing new since the last peek: wait a little for more.
            std::thread::sleep(Duration::from_millis(10));
        }
        seen = n;
    }
}

/// Whether the peer has closed the socket (a zero-byte peek).
fn peer_closed(fd: RawFd) -> bool {
    let mut b = [0u8; 1];
    // SAFETY: a one-byte peek into a local buffer.
    let n = unsafe {
        libc::recv(
            fd,
            b.as_mut_ptr().cast(),
            1,
            libc::MSG_PEEK | libc::MSG_DONTWAIT,
        )
    };
    n == 0
}

/// Polls one descriptor; true when it is ready.
fn poll_one(fd: RawFd, events: libc::c_short, timeout: Duration) -> bool {
    let mut pfd = libc::pollfd {
        fd,
        events,
        revents: 0,
    };
    // SAFETY: one valid pollfd.
    let n = unsafe {
        libc::poll(
            &mut pfd,
            1,
            timeout.as_millis().min(i32::MAX as u128) as i32,
        )
    };
    n > 0
}

/// An OS error in words, without Rust's `(os error N)`.
pub fn plain_error(e: &io::Error) -> String {
    let text = e.to_string();
    match text.find(" (os error") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
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

/// Host key algorithms in the order to offer them, as OpenSSH orders
/// them: certificates first when a CA is known for the host (`ca`), then
/// the known key types, then the rest libssh2 has. The server shows a
/// known key when it can, and when it has only a new type the key is
/// seen (and judged as changed) rather than the handshake failing.
fn host_key_algorithms(known: &[String], ca: bool, supported: &[&str]) -> String {
    let mut algs: Vec<&str> = Vec::new();
    if ca {
        algs.extend(supported.iter().filter(|a| host_cert::is_certificate(a)));
    }
    for t in known {
        match t.as_str() {
            "ssh-rsa" => algs.extend(["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"]),
            other => algs.push(other),
        }
    }
    algs.retain(|a| supported.contains(a));
    for a in supported {
        if !algs.contains(a) {
            algs.push(a);
        }
    }
    algs.join(",")
}

/// Judges the server's key; `Ok(false)` when it may be used but password
/// authentication must not be (a changed key under
/// `StrictHostKeyChecking no`, as OpenSSH does).
fn check_host_key(sess: &Session, dest: &Destination) -> Result<bool, Failure> {
    let (blob, _) = sess
        .host_key()
        .ok_or_else(|| Failure::HostKey("the server sent no host key".to_string()))?;
    let (host, port) = known_as(dest);
    let name = if port == 22 {
        host.to_string()
    } else {
        format!("[{host}]:{port}")
    };
    let mut blob = blob.to_vec();
    if host_cert::is_certificate(key_type(&blob).unwrap_or("")) {
        let cert = host_cert::HostCert::parse(&blob)
            .map_err(|e| Failure::HostKey(format!("{name}: {e}")))?;
        let plain = cert.plain_key();
        // Revoked: the certified key, the certificate itself, or its CA,
        // whether or not a CA line trusts that CA here.
        let revoked = [base64_encode(&plain), base64_encode(&blob)]
            .iter()
            .find_map(|k| dest.known_hosts.revocation(host, port, k));
        if let Some((file, line)) = revoked {
            return Err(Failure::HostKey(format!(
                "host key of {name} is revoked in {}:{line}",
                file.display()
            )));
        }
        if let Some((file, line)) = dest.known_hosts.revocation(host, port, &cert.ca_key()) {
            return Err(Failure::HostKey(format!(
                "host certificate of {name} is signed by a CA revoked in {}:{line}; not run",
                file.display()
            )));
        }
        let authorities = dest.known_hosts.authorities(host, port);
        if !authorities.is_empty() {
            let verdict = cert.check(host, std::time::SystemTime::now(), &authorities, |k| {
                dest.known_hosts.revocation(host, port, k)
            });
            match verdict {
                Ok(()) => return Ok(true),
                Err(host_cert::Refusal::RevokedCa(file, line)) => {
                    return Err(Failure::HostKey(format!(
                        "host certificate of {name} is signed by a CA revoked in {}:{line}; not run",
                        file.display()
                    )));
                }
                Err(host_cert::Refusal::Invalid(why)) => {
                    // As OpenSSH: the plain key may still be known on its
                    // own line (ssh says why the certificate did not do).
                    // Unlike ssh under accept-new, it is never learnt
                    // from a refused certificate: a CA line says this
                    // host is trusted by certificate.
                    let key = base64_encode(&plain);
                    let plain_type = key_type(&plain).unwrap_or("unknown");
                    if dest.known_hosts.check(host, port, plain_type, &key) == Verdict::Known {
                        super::notice(&format!(
                            "Certificate invalid for {name}: {why}; its key is known on a line of its own"
                        ));
                        return Ok(true);
                    }
                    if dest.policy == Policy::Off {
                        super::notice(&format!(
                            "WARNING: host certificate of {name} refused: {why}; connecting anyway (StrictHostKeyChecking no)"
                        ));
                        return Ok(true);
                    }
                    return Err(Failure::HostKey(format!(
                        "host certificate of {name} refused: {why}; not run"
                    )));
                }
            }
        }
        // No CA for this host: the certified key is judged as a plain
        // key (and learnt as one), so a routine certificate renewal does
        // not look like a changed key.
        blob = plain;
    }
    let blob = blob.as_slice();
    let key_type = key_type(blob).unwrap_or("unknown").to_string();
    let fingerprint = super::digest::fingerprint(blob);
    let key = base64_encode(blob);
    match dest.known_hosts.check(host, port, &key_type, &key) {
        Verdict::Known => Ok(true),
        Verdict::Unknown if dest.policy == Policy::AcceptNew => {
            match dest
                .known_hosts
                .learn(host, port, &key_type, &key, dest.hash_known_hosts)
            {
                Ok(written) => {
                    if written {
                        super::notice(&format!(
                            "Warning: Permanently added '{name}' ({}) to the list of known hosts.",
                            super::known_hosts::type_word(&key_type)
                        ));
                    }
                    Ok(true)
                }
                Err(e) => {
                    // As ssh: say so, and go on (the key was accepted).
                    let file = dest
                        .known_hosts
                        .primary()
                        .map_or(String::new(), |p| p.display().to_string());
                    super::notice(&format!(
                        "Warning: failed to add the host key of {name} to {file}: {}",
                        plain_error(&e)
                    ));
                    Ok(true)
                }
            }
        }
        Verdict::Unknown if dest.policy == Policy::Off => Ok(true),
        Verdict::Unknown => Err(Failure::HostKey(format!(
            "host key of {name} ({key_type} {fingerprint}) is not known and host keys are checked strictly"
        ))),
        Verdict::Changed {
            file,
            line,
            key_type: was_type,
            key: was,
        } => {
            let was_print = super::digest::base64_decode(&was)
                .map_or_else(|| "?".to_string(), |b| super::digest::fingerprint(&b));
            let what = format!(
                "host key of {name} has CHANGED: {}:{line} knows {} {was_print}, the host now shows {} {fingerprint}",
                file.display(),
                super::known_hosts::type_word(&was_type),
                super::known_hosts::type_word(&key_type),
            );
            if dest.policy == Policy::Off {
                super::notice(&format!(
                    "WARNING: {what}. Someone could be eavesdropping (StrictHostKeyChecking no): connecting with public-key authentication only, no password."
                ));
                return Ok(false);
            }
            Err(Failure::HostKey(format!(
                "{what}; not run. If the change is expected: ssh-keygen -R '{name}' -f {}",
                file.display()
            )))
        }
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

/// How to run one command.
pub struct Exec<'a> {
    /// The command line for the remote shell, as bytes: sent unchanged.
    pub command: &'a [u8],
    /// Sent as the command's standard input, then end of input.
    pub input: Option<&'a [u8]>,
    /// Run on a pseudo-terminal, so closing the channel hangs it up.
    pub pty: bool,
    /// When to give up on it (the channel is closed: `timeout`).
    pub deadline: Option<Instant>,
}

impl Connection {
    /// Runs one command, handing output to `on_output` as it arrives.
    /// `on_output` may block (back-pressure: while it does, nothing more is
    /// read, so SSH flow control stops the host) and may fail (cancelled,
    /// or the deadline passed while waiting): the channel is then closed.
    ///
    /// Errors before the command starts are `Unreachable`; once it has
    /// started, a broken connection is `Lost` (it may have run).
    pub fn exec(
        &self,
        exec: &Exec,
        stop: &Stop,
        on_output: &mut crate::outcome::OnOutput<'_>,
    ) -> Result<Exit, Failure> {
        let result = self.exec_nonblocking(exec, stop, on_output);
        // Other calls on this session (SFTP) block.
        self.sess.set_blocking(true);
        result
    }

    fn exec_nonblocking(
        &self,
        exec: &Exec,
        stop: &Stop,
        on_output: &mut crate::outcome::OnOutput<'_>,
    ) -> Result<Exit, Failure> {
        let interrupted = |f: Failure| {
            if stop.cancelled() {
                Failure::Interrupted
            } else {
                f
            }
        };
        let channel_error = |e: ssh2::Error| {
            interrupted(Failure::Unreachable(format!(
                "SSH channel: {}",
                e.message()
            )))
        };
        self.sess.set_blocking(true);
        let mut ch = self.sess.channel_session().map_err(channel_error)?;
        if exec.pty {
            let mut modes = ssh2::PtyModes::new();
            modes.set_boolean(ssh2::PtyModeOpcode::ECHO, false);
            modes.set_boolean(ssh2::PtyModeOpcode::ONLCR, false);
            ch.request_pty("dumb", Some(modes), None)
                .map_err(channel_error)?;
        }
        // The ssh2 crate sends only UTF-8; a command that is not goes over
        // the OpenSSH transport (rrun asks for it), so this is a backstop.
        let command = std::str::from_utf8(exec.command).map_err(|_| {
            Failure::Error(
                "the command is not UTF-8, which the native transport (libssh2) cannot send; use --ssh=openssh".to_string(),
            )
        })?;
        ch.exec(command).map_err(channel_error)?;
        // From here on the command may be running.
        let lost = |what: String| {
            interrupted(Failure::Lost(format!(
                "the connection was lost after the command started ({what}); it may have run"
            )))
        };
        // Belt and braces: the watchdog cuts the socket shortly after the
        // deadline should the loop below be stuck.
        self.watch
            .set_deadline(exec.deadline.map(|d| d + Duration::from_secs(2)));
        self.sess.set_blocking(false);
        let mut pending = exec.input;
        let mut eof_sent = false;
        let mut eot_sent = false;
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
                        if let Err(f) = on_output(stream, &buf[..n]) {
                            let _ = ch.close();
                            return Err(f);
                        }
                        progress = true;
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(e) => return Err(lost(format!("reading output: {}", plain_error(&e)))),
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
            if pending.is_none() && !eot_sent {
                // On a terminal, end of input is a character: two ^D
                // (the first may only end a partial last line).
                eot_sent = !exec.pty
                    || !matches!(ch.write(b"\x04\x04"), Err(ref e) if e.kind() == io::ErrorKind::WouldBlock);
            }
            if pending.is_none() && eot_sent && !eof_sent {
                match ch.send_eof() {
                    Err(e) if e.code() == ssh2::ErrorCode::Session(-37) => {}
                    _ => eof_sent = true,
                }
            }
            if ch.eof() && !progress {
                break;
            }
            if stop.cancelled() {
                let _ = ch.close();
                return Err(Failure::Interrupted);
            }
            let now = Instant::now();
            if let Some(d) = exec.deadline
                && now >= d
            {
                let _ = ch.close();
                return Err(Failure::Timeout(
                    "the command did not finish in time; it was hung up".to_string(),
                ));
            }
            if let Some((interval, count)) = self.alive {
                let _ = self.sess.keepalive_send();
                if silent_for(self.fd).is_some_and(|t| t > interval * count.max(1)) {
                    let _ = ch.close();
                    return Err(interrupted(Failure::Lost(format!(
                        "the host stopped answering (no reply to {count} keepalives {} apart, ServerAliveInterval); the command may have run",
                        seconds(interval)
                    ))));
                }
            }
            if !progress {
                if self.watch.fired() {
                    return Err(lost("the connection was cut".to_string()));
                }
                let wait = exec.deadline.map_or(Duration::from_millis(250), |d| {
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
                    if e.code() == ssh2::ErrorCode::Session(-37)
                        && Instant::now() < close_by
                        && !stop.cancelled() =>
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

    /// A channel running `subsystem` (SFTP), in blocking mode: the
    /// socket's watch moves to `deadline`, so a deadline or a cancel cuts
    /// every call on it; a cancel is seen `grace` before the cut, so a job
    /// can clean up.
    pub fn subsystem(
        &self,
        subsystem: &str,
        deadline: Option<Instant>,
        grace: Duration,
        stop: &Stop,
    ) -> Result<ssh2::Channel, Failure> {
        self.sess.set_blocking(true);
        self.watch.set_deadline(deadline);
        self.watch.set_grace(grace);
        let start = || -> Result<ssh2::Channel, ssh2::Error> {
            let mut ch = self.sess.channel_session()?;
            ch.subsystem(subsystem)?;
            Ok(ch)
        };
        start().map_err(|e| {
            if stop.cancelled() {
                Failure::Interrupted
            } else {
                Failure::Unreachable(format!("cannot start {subsystem}: {}", e.message()))
            }
        })
    }

    /// Whether the watchdog cut this connection (its deadline passed).
    pub fn cut(&self) -> bool {
        self.watch.fired()
    }

    /// Sleeps until the socket is ready in the direction libssh2 waits for.
    fn wait(&self, timeout: Duration) {
        let events = match self.sess.block_directions() {
            BlockDirections::Outbound => libc::POLLOUT,
            BlockDirections::Both => libc::POLLIN | libc::POLLOUT,
            _ => libc::POLLIN,
        };
        poll_one(self.fd, events, timeout);
    }

    /// Says goodbye politely (best effort, briefly).
    pub fn disconnect(self) {
        self.watch
            .set_deadline(Some(Instant::now() + Duration::from_secs(1)));
        self.sess.set_blocking(true);
        self.sess.set_timeout(1000);
        let _ = self.sess.disconnect(None, "done", None);
    }
}

/// How long a TCP socket has received nothing (the kernel's count); `None`
/// for a socket that is not TCP (a jump or ProxyCommand bridge).
fn silent_for(fd: RawFd) -> Option<Duration> {
    // SAFETY: tcp_info is plain data; getsockopt writes at most its size.
    unsafe {
        let mut info: libc::tcp_info = std::mem::zeroed();
        let mut len = std::mem::size_of::<libc::tcp_info>() as libc::socklen_t;
        let r = libc::getsockopt(
            fd,
            libc::IPPROTO_TCP,
            libc::TCP_INFO,
            (&mut info as *mut libc::tcp_info).cast(),
            &mut len,
        );
        (r == 0).then(|| Duration::from_millis(info.tcpi_last_data_recv as u64))
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
