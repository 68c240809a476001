//! ProxyJump, one hop: libssh2 has none, so the bastion's session opens a
//! `direct-tcpip` channel to the target, and a bridge thread copies bytes
//! between that channel and one end of a socket pair; the other end is the
//! target session's "TCP stream". The bridge owns the bastion session (one
//! session per thread) and ends when either side closes.

use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;

use ssh2::{BlockDirections, Channel, Session};

/// Opens a channel from `bastion` to `host:port` and returns the local end
/// of the bridge.
pub fn bridge(
    bastion: Session,
    bastion_fd: i32,
    host: &str,
    port: u16,
) -> Result<UnixStream, String> {
    let channel = bastion
        .channel_direct_tcpip(host, port, None)
        .map_err(|e| {
            format!(
                "the jump host could not open a connection to {host}:{port}: {}",
                e.message()
            )
        })?;
    let (ours, theirs) = UnixStream::pair().map_err(|e| format!("socketpair: {e}"))?;
    std::thread::Builder::new()
        .name("jump".to_string())
        .stack_size(256 * 1024)
        .spawn(move || {
            let _ = pump(&bastion, bastion_fd, channel, theirs);
            let _ = bastion.disconnect(None, "done", None);
        })
        .map_err(|e| format!("cannot start the jump bridge: {e}"))?;
    Ok(ours)
}

/// Copies both ways until one side closes.
fn pump(
    sess: &Session,
    sess_fd: i32,
    mut channel: Channel,
    mut local: UnixStream,
) -> io::Result<()> {
    sess.set_blocking(false);
    local.set_nonblocking(true)?;
    let mut buf = vec![0u8; 64 * 1024];
    let mut down: Vec<u8> = Vec::new(); // channel → local
    let mut up: Vec<u8> = Vec::new(); // local → channel
    loop {
        let mut progress = false;
        if down.is_empty() {
            match channel.read(&mut buf) {
                Ok(0) if channel.eof() => return Ok(()),
                Ok(0) => {}
                Ok(n) => {
                    down.extend_from_slice(&buf[..n]);
                    progress = true;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
        }
        if !down.is_empty() {
            match local.write(&down) {
                Ok(n) => {
                    down.drain(..n);
                    progress = true;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
        }
        if up.is_empty() {
            match local.read(&mut buf) {
                Ok(0) => return Ok(()), // the target session is gone
                Ok(n) => {
                    up.extend_from_slice(&buf[..n]);
                    progress = true;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
        }
        if !up.is_empty() {
            match channel.write(&up) {
                Ok(n) => {
                    up.drain(..n);
                    progress = true;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
        }
        if !progress {
            let ssh_events = match sess.block_directions() {
                BlockDirections::Outbound => libc::POLLOUT,
                BlockDirections::Both => libc::POLLIN | libc::POLLOUT,
                _ => libc::POLLIN,
            };
            let local_events = libc::POLLIN | if down.is_empty() { 0 } else { libc::POLLOUT };
            let mut fds = [
                libc::pollfd {
                    fd: sess_fd,
                    events: ssh_events,
                    revents: 0,
                },
                libc::pollfd {
                    fd: local.as_raw_fd(),
                    events: local_events,
                    revents: 0,
                },
            ];
            // SAFETY: two valid pollfds for descriptors this thread owns.
            unsafe {
                libc::poll(fds.as_mut_ptr(), 2, 100);
            }
        }
    }
}
