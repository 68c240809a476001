//! ProxyCommand: the command (tokens already expanded) runs under
//! `sh -c` with a socket pair as its standard input and output, and our
//! end of the pair is the session's "TCP stream", as the ProxyJump bridge
//! is. Its standard error is kept, so a command that fails says why. The
//! process group is killed when the connection ends.

use std::io::Read;
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};

/// A running ProxyCommand.
pub struct Proxy {
    child: Child,
    err: UnixStream,
}

/// Starts `command`; returns our end of its standard input and output.
pub fn spawn(command: &str) -> Result<(UnixStream, Proxy), String> {
    let io = || -> std::io::Result<(UnixStream, Proxy)> {
        let (ours, theirs) = UnixStream::pair()?;
        let (err, err_theirs) = UnixStream::pair()?;
        let mut cmd = Command::new("/bin/sh");
        cmd.arg("-c")
            .arg(command)
            .stdin(Stdio::from(std::os::fd::OwnedFd::from(theirs.try_clone()?)))
            .stdout(Stdio::from(std::os::fd::OwnedFd::from(theirs)))
            .stderr(Stdio::from(std::os::fd::OwnedFd::from(err_theirs)))
            .process_group(0);
        super::openssh::die_with_us(&mut cmd);
        let child = cmd.spawn()?;
        err.set_nonblocking(true)?;
        Ok((ours, Proxy { child, err }))
    };
    io().map_err(|e| {
        format!(
            "cannot run ProxyCommand: {}",
            super::session::plain_error(&e)
        )
    })
}

impl Proxy {
    /// What the command said on standard error, if anything (its last
    /// line), once it has had a moment to exit.
    pub fn said(&mut self) -> Option<String> {
        let mut status = None;
        for _ in 0..50 {
            if let Ok(Some(st)) = self.child.try_wait() {
                status = Some(st);
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        let mut buf = Vec::new();
        let _ = self.err.read_to_end(&mut buf);
        let last = String::from_utf8_lossy(&buf)
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .map(|l| l.trim().to_string());
        // Its exit status too: a command that fails silently says so.
        let exit = status.map(|st| match st.code() {
            Some(c) => format!("exited with status {c}"),
            None => "was killed".to_string(),
        });
        match (exit, last) {
            (Some(e), Some(l)) => Some(format!("{e}: {l}")),
            (e, l) => e.or(l),
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            // SAFETY: signalling the process group made for this child.
            unsafe {
                libc::kill(-(self.child.id() as i32), libc::SIGTERM);
            }
        }
        let _ = self.child.wait();
    }
}
