//! What happened on one host, in neutral terms every layer shares: which
//! output stream bytes came from, how a command ended, why a host was not
//! run on, and the status class a host ends in. The SSH layer produces
//! these, the engine carries them, output prints them; none of them names
//! a tool.

/// Where a running job's output goes: it may wait (back-pressure) and
/// may fail (the run was cancelled, or the deadline passed while waiting).
pub type OnOutput<'a> = dyn FnMut(Stream, &[u8]) -> Result<(), Failure> + 'a;

/// Which output stream bytes came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// How a command ended.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Exit {
    pub code: Option<i32>,
    /// The signal that killed it, as the server names it (`KILL`, `TERM`).
    pub signal: Option<String>,
}

impl Exit {
    /// Exit code 0 and no signal.
    pub fn success(&self) -> bool {
        self.code == Some(0) && self.signal.is_none()
    }

    /// The status a shell would give: the code, or 128+N for signal N
    /// (a signal Linux does not number is 128).
    pub fn shell_status(&self) -> Option<i32> {
        const NUMBERED: &[&str] = &[
            "HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "BUS", "FPE", "KILL", "USR1", "SEGV",
            "USR2", "PIPE", "ALRM", "TERM",
        ];
        match &self.signal {
            Some(sig) => {
                let n = NUMBERED.iter().position(|s| s == sig).map_or(0, |i| i + 1);
                Some(128 + n as i32)
            }
            None => self.code,
        }
    }
}

/// Why a host's job did not complete, by class; each maps to a [`Status`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// Could not connect or complete the handshake in time.
    Unreachable(String),
    /// No credential was accepted.
    Auth(String),
    /// The host key is unknown (strict), changed or revoked.
    HostKey(String),
    /// The job did not finish before its deadline.
    Timeout(String),
    /// The connection broke after the command started: the host was
    /// reached and may have run (part of) it.
    Lost(String),
    /// A local error (an output file, an internal error): the host's job
    /// could not be carried out as asked.
    Error(String),
    /// The run was cancelled (a signal) before this host finished.
    Interrupted,
}

impl Failure {
    pub fn message(&self) -> &str {
        match self {
            Failure::Unreachable(m)
            | Failure::Auth(m)
            | Failure::HostKey(m)
            | Failure::Timeout(m)
            | Failure::Lost(m)
            | Failure::Error(m) => m,
            Failure::Interrupted => "interrupted before it finished",
        }
    }

    pub fn status(&self) -> Status {
        match self {
            Failure::Unreachable(_) => Status::Unreachable,
            Failure::Auth(_) => Status::Auth,
            Failure::HostKey(_) => Status::HostKey,
            Failure::Timeout(_) => Status::Timeout,
            Failure::Lost(_) => Status::Lost,
            Failure::Error(_) => Status::Error,
            Failure::Interrupted => Status::Interrupted,
        }
    }
}

/// A host's outcome class, as printed in `--json`, `--log` and the summary.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Status {
    /// The job ran and succeeded.
    Ok,
    /// The job ran and failed (a non-zero exit, a signal, a file not copied).
    Failed,
    Unreachable,
    Auth,
    HostKey,
    Timeout,
    /// The connection broke after the command started.
    Lost,
    /// A local error stopped the job.
    Error,
    /// Cancelled by a signal before it finished (or before it started).
    Interrupted,
}

impl Status {
    pub fn name(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Failed => "failed",
            Status::Unreachable => "unreachable",
            Status::Auth => "auth",
            Status::HostKey => "hostkey",
            Status::Timeout => "timeout",
            Status::Lost => "lost",
            Status::Error => "error",
            Status::Interrupted => "interrupted",
        }
    }

    /// The host could not be reached, or the job not carried out there
    /// (exit status 3 class).
    pub fn unreached(self) -> bool {
        matches!(
            self,
            Status::Unreachable
                | Status::Auth
                | Status::HostKey
                | Status::Timeout
                | Status::Lost
                | Status::Error
        )
    }
}
