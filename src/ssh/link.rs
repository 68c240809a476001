//! One host's connection for jobs that move files (rcp), over either
//! transport: a native libssh2 session, or the system's `ssh` (see
//! [`super::openssh`]). Both give the job the same two things: an SFTP
//! session ([`crate::sftp::Client`]) and a short command whose output is
//! collected (`sha256sum` for `--checksum`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::openssh::{self, Process, Spec};
use super::session::{Connection, Exec};
use crate::outcome::{Exit, Failure, Stream as Out};
use crate::sftp::{Client, Stream};
use crate::stop::Stop;

/// Which transport carries a host's connection.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Transport {
    /// The OpenSSH transport when the system has `ssh`, else native.
    #[default]
    Auto,
    Native,
    OpenSsh,
}

/// An SFTP session over either transport.
pub type Sftp = Client<Box<dyn Stream>>;

/// How long a cancelled transfer has to remove its temporary files before
/// its connection is cut.
pub const GRACE: Duration = Duration::from_millis(800);

/// A connected host.
pub enum Link {
    Native(Connection),
    /// `ssh -s sftp` already running and greeted (so a refused login shows
    /// at connect time, where retries apply), and how to start more.
    OpenSsh {
        spec: Arc<Spec>,
        sftp: Option<Client<Process>>,
    },
}

impl Link {
    /// Starts the OpenSSH transport's SFTP process and greets it, all
    /// within `connect_timeout`.
    pub fn open_ssh(spec: Arc<Spec>, stop: &Arc<Stop>) -> Result<Link, Failure> {
        let deadline = Instant::now() + spec.wait;
        let mut process = Process::spawn(
            &spec,
            &openssh::Remote::Subsystem("sftp"),
            stop,
            Some(deadline),
        )?;
        // Greet through a borrowed stream, so a failure still has the
        // process to ask why.
        match Client::start(&mut process) {
            Ok(c) => {
                let (posix_rename, fsync) = (c.posix_rename, c.fsync);
                let client = Client::start_known(process, posix_rename, fsync);
                Ok(Link::OpenSsh {
                    spec,
                    sftp: Some(client),
                })
            }
            // Cut at the connect deadline: unreachable (and retried), as
            // on the native path.
            Err(_) => Err(match process.failure(stop) {
                Failure::Timeout(_) => Failure::Unreachable(format!(
                    "timed out after {} connecting",
                    super::session::seconds(spec.wait)
                )),
                other => other,
            }),
        }
    }

    /// The host's SFTP session, its calls bounded by `deadline`.
    pub fn sftp(&mut self, deadline: Option<Instant>, stop: &Stop) -> Result<Sftp, Failure> {
        match self {
            Link::Native(conn) => {
                // The job sees its deadline itself and cleans up; the
                // watchdog cuts the connection a grace later.
                let ch = conn.subsystem("sftp", deadline.map(|d| d + GRACE), GRACE, stop)?;
                Client::start(Box::new(ch) as Box<dyn Stream>).map_err(|e| {
                    if stop.cancelled() {
                        Failure::Interrupted
                    } else {
                        Failure::Unreachable(format!("cannot start SFTP: {e}"))
                    }
                })
            }
            Link::OpenSsh { sftp, .. } => {
                let client = sftp
                    .take()
                    .ok_or_else(|| Failure::Error("SFTP was already taken".to_string()))?;
                let (posix_rename, fsync) = (client.posix_rename, client.fsync);
                let process = client.into_inner();
                process.set_deadline(deadline.map(|d| d + GRACE), GRACE);
                Ok(Client::start_known(
                    Box::new(process) as Box<dyn Stream>,
                    posix_rename,
                    fsync,
                ))
            }
        }
    }

    /// Runs `command` with `input` as its standard input; returns its
    /// exit and standard output (up to `limit` bytes).
    pub fn run(
        &self,
        command: &str,
        input: &[u8],
        stop: &Arc<Stop>,
        deadline: Option<Instant>,
        limit: usize,
    ) -> Result<(Exit, Vec<u8>), Failure> {
        match self {
            Link::Native(conn) => {
                let mut out = Vec::new();
                let exec = Exec {
                    command: command.as_bytes(),
                    input: Some(input),
                    pty: false,
                    deadline,
                };
                let exit = conn.exec(&exec, stop, &mut |stream, bytes| {
                    if stream == Out::Stdout && out.len() < limit {
                        out.extend_from_slice(&bytes[..bytes.len().min(limit - out.len())]);
                    }
                    Ok(())
                })?;
                Ok((exit, out))
            }
            Link::OpenSsh { spec, .. } => openssh::run(spec, command, input, stop, deadline, limit),
        }
    }

    /// Runs one command, its output handed to `on_output` as it comes
    /// (see [`Connection::exec`] and [`openssh::exec`]).
    pub fn exec(
        &self,
        exec: &Exec,
        stop: &Stop,
        on_output: &mut crate::outcome::OnOutput<'_>,
    ) -> Result<Exit, Failure> {
        match self {
            Link::Native(conn) => conn.exec(exec, stop, on_output),
            Link::OpenSsh { spec, .. } => openssh::exec(spec, exec, stop, on_output),
        }
    }

    /// Whether [`Link::feed`] can send a file at ssh's own speed.
    pub fn feeds(&self) -> bool {
        matches!(self, Link::OpenSsh { .. })
    }

    /// Writes a local file into `path` on the host with `cat` (OpenSSH
    /// transport only): `Ok(Err(why))` when the host refused it.
    pub fn feed(
        &self,
        file: std::fs::File,
        path: &str,
        stop: &Stop,
        deadline: Option<Instant>,
        progress: &mut dyn FnMut(u64),
    ) -> Result<Result<(), String>, Failure> {
        let Link::OpenSsh { spec, .. } = self else {
            return Ok(Err("not available on this transport".to_string()));
        };
        let command = format!("cat > {}", super::shell_quote(path));
        let (code, said) = openssh::feed(spec, &command, file, stop, deadline, progress)?;
        Ok(match code {
            Some(0) => Ok(()),
            _ => Err(said
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .map(|l| l.trim().to_string())
                .unwrap_or_else(|| format!("the remote cat failed ({code:?})"))),
        })
    }
}
