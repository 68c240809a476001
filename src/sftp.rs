//! An SFTP version 3 client (draft-ietf-secsh-filexfer-02, with OpenSSH's
//! `posix-rename@openssh.com` and `fsync@openssh.com`) over any byte
//! stream: a libssh2 channel on the native transport, the socket of an
//! `ssh -s … sftp` process on the OpenSSH one, so rcp has one copy of its
//! file logic whichever carries it.
//!
//! Requests are pipelined: each `send_*` only queues a packet and returns
//! its id, and replies are collected with [`Client::recv`]. A caller keeps
//! many requests in flight (rcp: up to [`WINDOW`]), so a tree of small files
//! costs no round trip per file and a large file streams at the link's
//! speed. The caller bounds what is in flight, which is also what keeps a
//! blocking stream from deadlocking: replies are small next to the
//! channel's window.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, RawFd};

/// Requests in flight per host (the replies are small; what bounds
/// memory is [`WRITE_WINDOW`]).
pub const WINDOW: usize = 256;
/// File bytes in flight per host.
pub const WRITE_WINDOW: u64 = 8 << 20;
/// Bytes per READ request.
pub const CHUNK: usize = 64 * 1024;
/// READ requests in flight: replies within 4 MiB.
pub const READ_WINDOW: usize = 64;
/// Bytes per WRITE request: OpenSSH's sftp-server takes packets up to
/// 256 KiB; fewer, larger writes cost less per byte at both ends.
pub const WRITE_CHUNK: usize = 128 * 1024;

/// File data up to this size is copied into the request queue rather
/// than sent on its own.
const INLINE: usize = 16 * 1024;

/// A byte stream an SFTP session runs over.
pub trait Stream: Read + Write {
    /// A descriptor file data can be sent to by `sendfile(2)` (the kernel
    /// copies from the page cache: no read into our memory and out again).
    fn raw_fd(&self) -> Option<RawFd> {
        None
    }
}

impl Stream for ssh2::Channel {}

impl<T: Stream + ?Sized> Stream for Box<T> {
    fn raw_fd(&self) -> Option<RawFd> {
        (**self).raw_fd()
    }
}

impl<T: Stream + ?Sized> Stream for &mut T {
    fn raw_fd(&self) -> Option<RawFd> {
        (**self).raw_fd()
    }
}

/// Open flags.
pub const READ: u32 = 0x01;
pub const WRITE: u32 = 0x02;
pub const CREAT: u32 = 0x08;
pub const TRUNC: u32 = 0x10;
pub const EXCL: u32 = 0x20;

/// Status codes.
pub const OK: u32 = 0;
pub const EOF: u32 = 1;
pub const NO_SUCH_FILE: u32 = 2;

const INIT: u8 = 1;
const VERSION: u8 = 2;
const OPEN: u8 = 3;
const CLOSE: u8 = 4;
const READ_REQ: u8 = 5;
const WRITE_REQ: u8 = 6;
const LSTAT: u8 = 7;
const SETSTAT: u8 = 9;
const FSETSTAT: u8 = 10;
const OPENDIR: u8 = 11;
const READDIR: u8 = 12;
const REMOVE: u8 = 13;
const MKDIR: u8 = 14;
const STAT: u8 = 17;
const RENAME: u8 = 18;
const READLINK: u8 = 19;
const SYMLINK: u8 = 20;
const STATUS: u8 = 101;
const HANDLE: u8 = 102;
const DATA: u8 = 103;
const NAME: u8 = 104;
const ATTRS: u8 = 105;
const EXTENDED: u8 = 200;

/// Replies larger than this are a broken stream, not a reply.
const MAX_PACKET: usize = 1 << 20;

/// File attributes; `None` is absent (not sent, or not known).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Attrs {
    pub size: Option<u64>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub perm: Option<u32>,
    pub atime: Option<u32>,
    pub mtime: Option<u32>,
}

impl Attrs {
    const S_IFMT: u32 = 0o170000;

    fn kind(&self) -> Option<u32> {
        self.perm.map(|p| p & Self::S_IFMT)
    }
    pub fn is_dir(&self) -> bool {
        self.kind() == Some(0o040000)
    }
    pub fn is_file(&self) -> bool {
        self.kind() == Some(0o100000)
    }
    pub fn is_symlink(&self) -> bool {
        self.kind() == Some(0o120000)
    }
}

/// A server's reply.
#[derive(Debug)]
pub enum Reply {
    Status(u32, String),
    Handle(Vec<u8>),
    Data(Vec<u8>),
    /// Names (file name, attributes).
    Name(Vec<(Vec<u8>, Attrs)>),
    Attrs(Attrs),
}

impl Reply {
    /// `Ok` for status OK, the failure in words otherwise.
    pub fn ok(self) -> Result<(), String> {
        match self {
            Reply::Status(OK, _) => Ok(()),
            other => Err(other.error()),
        }
    }

    /// What a reply that is not the one wanted means.
    pub fn error(&self) -> String {
        match self {
            Reply::Status(code, _) => status_words(*code).to_string(),
            _ => "unexpected reply from the SFTP server".to_string(),
        }
    }

    pub fn code(&self) -> Option<u32> {
        match self {
            Reply::Status(code, _) => Some(*code),
            _ => None,
        }
    }
}

/// SFTP status codes in words.
pub fn status_words(code: u32) -> &'static str {
    match code {
        0 => "ok",
        1 => "end of file",
        2 => "no such file or directory",
        3 => "permission denied",
        4 => "failure (the target exists, is a directory, or the disk is full)",
        5 => "bad message",
        8 => "operation not supported by the server",
        _ => "SFTP error",
    }
}

/// One SFTP session.
pub struct Client<S> {
    io: S,
    /// Queued requests, written when a reply is awaited or it grows large.
    out: Vec<u8>,
    /// File data on its way, where the stream cannot take it from the file.
    scratch: Vec<u8>,
    /// Bytes received and not yet taken: `input[taken..]`.
    input: Vec<u8>,
    taken: usize,
    next: u32,
    /// The server replaces existing targets atomically on rename.
    pub posix_rename: bool,
    /// The server can flush a file to disk.
    pub fsync: bool,
}

impl<S: Stream> Client<S> {
    /// Says hello (version 3) and learns the server's extensions.
    pub fn start(io: S) -> io::Result<Client<S>> {
        let mut c = Client {
            io,
            out: Vec::with_capacity(CHUNK * 4),
            scratch: Vec::new(),
            input: Vec::new(),
            taken: 0,
            next: 0,
            posix_rename: false,
            fsync: false,
        };
        c.out.extend_from_slice(&5u32.to_be_bytes());
        c.out.push(INIT);
        c.out.extend_from_slice(&3u32.to_be_bytes());
        c.flush()?;
        let (kind, body) = c.packet()?;
        if kind != VERSION {
            return Err(bad("the server did not start SFTP"));
        }
        let mut r = Cursor(&body);
        r.u32()?;
        while !r.0.is_empty() {
            let name = r.string()?;
            r.string()?;
            match name {
                b"posix-rename@openssh.com" => c.posix_rename = true,
                b"fsync@openssh.com" => c.fsync = true,
                _ => {}
            }
        }
        Ok(c)
    }

    /// A session already greeted (through another handle on `io`), with
    /// the extensions the server announced then.
    pub fn start_known(io: S, posix_rename: bool, fsync: bool) -> Client<S> {
        Client {
            io,
            out: Vec::with_capacity(CHUNK * 4),
            scratch: Vec::new(),
            input: Vec::new(),
            taken: 0,
            next: 1,
            posix_rename,
            fsync,
        }
    }

    /// Starts a request packet; returns its id.
    fn begin(&mut self, kind: u8) -> u32 {
        let id = self.next;
        self.next = self.next.wrapping_add(1);
        self.out.extend_from_slice(&[0; 4]);
        self.out.push(kind);
        self.out.extend_from_slice(&id.to_be_bytes());
        id
    }

    /// Ends the packet begun at `start`: fills in its length.
    fn end(&mut self, start: usize) -> io::Result<()> {
        let len = (self.out.len() - start - 4) as u32;
        self.out[start..start + 4].copy_from_slice(&len.to_be_bytes());
        if self.out.len() >= CHUNK * 4 {
            self.flush()?;
        }
        Ok(())
    }

    fn put_u32(&mut self, v: u32) {
        self.out.extend_from_slice(&v.to_be_bytes());
    }
    fn put_u64(&mut self, v: u64) {
        self.out.extend_from_slice(&v.to_be_bytes());
    }
    fn put_str(&mut self, s: &[u8]) {
        self.put_u32(s.len() as u32);
        self.out.extend_from_slice(s);
    }
    fn put_attrs(&mut self, a: &Attrs) {
        let mut flags = 0;
        if a.size.is_some() {
            flags |= 0x1;
        }
        if a.uid.is_some() && a.gid.is_some() {
            flags |= 0x2;
        }
        if a.perm.is_some() {
            flags |= 0x4;
        }
        if a.atime.is_some() && a.mtime.is_some() {
            flags |= 0x8;
        }
        self.put_u32(flags);
        if let Some(s) = a.size {
            self.put_u64(s);
        }
        if let (Some(u), Some(g)) = (a.uid, a.gid) {
            self.put_u32(u);
            self.put_u32(g);
        }
        if let Some(p) = a.perm {
            self.put_u32(p);
        }
        if let (Some(at), Some(mt)) = (a.atime, a.mtime) {
            self.put_u32(at);
            self.put_u32(mt);
        }
    }

    /// A request whose body is one path (or handle).
    fn one(&mut self, kind: u8, s: &[u8]) -> io::Result<u32> {
        let start = self.out.len();
        let id = self.begin(kind);
        self.put_str(s);
        self.end(start)?;
        Ok(id)
    }

    /// A request whose body is two paths.
    fn two(&mut self, kind: u8, a: &[u8], b: &[u8]) -> io::Result<u32> {
        let start = self.out.len();
        let id = self.begin(kind);
        self.put_str(a);
        self.put_str(b);
        self.end(start)?;
        Ok(id)
    }

    pub fn send_open(&mut self, path: &[u8], flags: u32, attrs: &Attrs) -> io::Result<u32> {
        let start = self.out.len();
        let id = self.begin(OPEN);
        self.put_str(path);
        self.put_u32(flags);
        self.put_attrs(attrs);
        self.end(start)?;
        Ok(id)
    }

    pub fn send_close(&mut self, handle: &[u8]) -> io::Result<u32> {
        self.one(CLOSE, handle)
    }

    pub fn send_read(&mut self, handle: &[u8], offset: u64, len: u32) -> io::Result<u32> {
        let start = self.out.len();
        let id = self.begin(READ_REQ);
        self.put_str(handle);
        self.put_u64(offset);
        self.put_u32(len);
        self.end(start)?;
        Ok(id)
    }

    pub fn send_write(&mut self, handle: &[u8], offset: u64, data: &[u8]) -> io::Result<u32> {
        let start = self.out.len();
        let id = self.begin(WRITE_REQ);
        self.put_str(handle);
        self.put_u64(offset);
        self.put_str(data);
        self.end(start)?;
        Ok(id)
    }

    /// A write of `len` bytes of `file` from `offset`, sent straight from
    /// the file (`sendfile`) where the stream allows. Returns the id and
    /// whether the file had all `len` bytes: if it shrank meanwhile, the
    /// rest is sent as zeros (the packet's length is already promised) and
    /// the copy must be thrown away.
    pub fn send_write_from(
        &mut self,
        handle: &[u8],
        offset: u64,
        file: &File,
        len: usize,
    ) -> io::Result<(u32, bool)> {
        let start = self.out.len();
        let id = self.begin(WRITE_REQ);
        self.put_str(handle);
        self.put_u64(offset);
        self.put_u32(len as u32);
        // The packet's length counts the data that follows it.
        let total = (self.out.len() - start - 4 + len) as u32;
        self.out[start..start + 4].copy_from_slice(&total.to_be_bytes());
        if len <= INLINE {
            // Small: copied into the queue, so many files' requests go out
            // in one write.
            let from = self.out.len();
            self.out.resize(from + len, 0);
            let n = read_at_full(file, &mut self.out[from..], offset)?;
            self.out[from + n..].fill(0);
            if self.out.len() >= CHUNK * 4 {
                self.flush()?;
            }
            return Ok((id, n == len));
        }
        self.flush()?;
        let sent = match self.io.raw_fd() {
            Some(fd) => sendfile(fd, file, offset, len)?,
            None => {
                self.scratch.resize(len, 0);
                let n = read_at_full(file, &mut self.scratch, offset)?;
                self.io.write_all(&self.scratch[..n])?;
                n
            }
        };
        if sent < len {
            self.io.write_all(&vec![0u8; len - sent])?;
        }
        Ok((id, sent == len))
    }

    pub fn send_lstat(&mut self, path: &[u8]) -> io::Result<u32> {
        self.one(LSTAT, path)
    }

    pub fn send_stat(&mut self, path: &[u8]) -> io::Result<u32> {
        self.one(STAT, path)
    }

    pub fn send_setstat(&mut self, path: &[u8], attrs: &Attrs) -> io::Result<u32> {
        let start = self.out.len();
        let id = self.begin(SETSTAT);
        self.put_str(path);
        self.put_attrs(attrs);
        self.end(start)?;
        Ok(id)
    }

    pub fn send_fsetstat(&mut self, handle: &[u8], attrs: &Attrs) -> io::Result<u32> {
        let start = self.out.len();
        let id = self.begin(FSETSTAT);
        self.put_str(handle);
        self.put_attrs(attrs);
        self.end(start)?;
        Ok(id)
    }

    pub fn send_remove(&mut self, path: &[u8]) -> io::Result<u32> {
        self.one(REMOVE, path)
    }

    pub fn send_mkdir(&mut self, path: &[u8], perm: u32) -> io::Result<u32> {
        let start = self.out.len();
        let id = self.begin(MKDIR);
        self.put_str(path);
        self.put_attrs(&Attrs {
            perm: Some(perm),
            ..Attrs::default()
        });
        self.end(start)?;
        Ok(id)
    }

    pub fn send_opendir(&mut self, path: &[u8]) -> io::Result<u32> {
        self.one(OPENDIR, path)
    }

    pub fn send_readdir(&mut self, handle: &[u8]) -> io::Result<u32> {
        self.one(READDIR, handle)
    }

    pub fn send_readlink(&mut self, path: &[u8]) -> io::Result<u32> {
        self.one(READLINK, path)
    }

    /// A symlink at `link` pointing to `to`. OpenSSH's sftp-server takes
    /// the two paths in the reverse of the draft's order (target first),
    /// and every server rcp meets is OpenSSH's.
    pub fn send_symlink(&mut self, to: &[u8], link: &[u8]) -> io::Result<u32> {
        self.two(SYMLINK, to, link)
    }

    /// Renames `from` to `to`, replacing `to` atomically when the server
    /// has `posix-rename@openssh.com` (plain SFTP v3 refuses an existing
    /// target).
    pub fn send_rename(&mut self, from: &[u8], to: &[u8]) -> io::Result<u32> {
        if !self.posix_rename {
            return self.two(RENAME, from, to);
        }
        let start = self.out.len();
        let id = self.begin(EXTENDED);
        self.put_str(b"posix-rename@openssh.com");
        self.put_str(from);
        self.put_str(to);
        self.end(start)?;
        Ok(id)
    }

    /// Flushes an open file to the host's disk (`None` when the server
    /// cannot: nothing is sent).
    pub fn send_fsync(&mut self, handle: &[u8]) -> io::Result<Option<u32>> {
        if !self.fsync {
            return Ok(None);
        }
        let start = self.out.len();
        let id = self.begin(EXTENDED);
        self.put_str(b"fsync@openssh.com");
        self.put_str(handle);
        self.end(start)?;
        Ok(Some(id))
    }

    /// Writes what is queued. (Never `io.flush()`: on a libssh2 channel
    /// that discards the data received and not yet read — our replies.)
    pub fn flush(&mut self) -> io::Result<()> {
        if !self.out.is_empty() {
            self.io.write_all(&self.out)?;
            self.out.clear();
        }
        Ok(())
    }

    /// The next reply (queued requests are written first).
    pub fn recv(&mut self) -> io::Result<(u32, Reply)> {
        self.flush()?;
        let (kind, body) = self.packet()?;
        let mut r = Cursor(&body);
        let id = r.u32()?;
        let reply = match kind {
            STATUS => {
                let code = r.u32()?;
                let msg = r.string().map(|m| String::from_utf8_lossy(m).into_owned());
                Reply::Status(code, msg.unwrap_or_default())
            }
            HANDLE => Reply::Handle(r.string()?.to_vec()),
            DATA => Reply::Data(r.string()?.to_vec()),
            NAME => {
                let n = r.u32()?;
                let mut names = Vec::with_capacity(n.min(1024) as usize);
                for _ in 0..n {
                    let name = r.string()?.to_vec();
                    r.string()?;
                    names.push((name, r.attrs()?));
                }
                Reply::Name(names)
            }
            ATTRS => Reply::Attrs(r.attrs()?),
            _ => return Err(bad("unknown SFTP reply")),
        };
        Ok((id, reply))
    }

    /// Waits for the reply to `id`, when it is the only request in flight.
    pub fn wait(&mut self, id: u32) -> io::Result<Reply> {
        let (got, reply) = self.recv()?;
        if got != id {
            return Err(bad("SFTP reply out of order"));
        }
        Ok(reply)
    }

    fn packet(&mut self) -> io::Result<(u8, Vec<u8>)> {
        self.fill(4)?;
        let at = self.taken;
        let len = u32::from_be_bytes(self.input[at..at + 4].try_into().unwrap()) as usize;
        if len == 0 || len > MAX_PACKET {
            return Err(bad("SFTP packet of an impossible length"));
        }
        // `fill` may move what is waiting to the front: look again after.
        self.fill(4 + len)?;
        let at = self.taken;
        let kind = self.input[at + 4];
        let body = self.input[at + 5..at + 4 + len].to_vec();
        self.taken += 4 + len;
        Ok((kind, body))
    }

    /// Reads until `n` bytes are waiting (several replies come in one read).
    fn fill(&mut self, n: usize) -> io::Result<()> {
        if self.input.len() - self.taken >= n {
            return Ok(());
        }
        self.input.drain(..self.taken);
        self.taken = 0;
        let mut chunk = [0u8; 16 * 1024];
        while self.input.len() < n {
            match self.io.read(&mut chunk) {
                Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
                Ok(k) => self.input.extend_from_slice(&chunk[..k]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// The stream underneath (to end it).
    pub fn into_inner(self) -> S {
        self.io
    }
}

/// Sends up to `len` bytes of `file` from `offset` to `fd`; returns how
/// many (fewer when the file ends first).
fn sendfile(fd: RawFd, file: &File, offset: u64, len: usize) -> io::Result<usize> {
    let mut off = offset as libc::off_t;
    let mut sent = 0;
    while sent < len {
        // SAFETY: two open descriptors and an offset we own.
        let n = unsafe { libc::sendfile(fd, file.as_raw_fd(), &mut off, len - sent) };
        match n {
            0 => break,
            n if n > 0 => sent += n as usize,
            _ => {
                let e = io::Error::last_os_error();
                if e.kind() != io::ErrorKind::Interrupted {
                    return Err(e);
                }
            }
        }
    }
    Ok(sent)
}

/// Reads into all of `buf` from `offset`, or to the end of the file.
fn read_at_full(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    use std::os::unix::fs::FileExt;
    let mut n = 0;
    while n < buf.len() {
        match file.read_at(&mut buf[n..], offset + n as u64) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

fn bad(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_string())
}

/// Reads fields off a reply.
struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> io::Result<&'a [u8]> {
        if self.0.len() < n {
            return Err(bad("short SFTP reply"));
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Ok(a)
    }
    fn u32(&mut self) -> io::Result<u32> {
        Ok(u32::from_be_bytes(self.take(4)?.try_into().unwrap()))
    }
    fn u64(&mut self) -> io::Result<u64> {
        Ok(u64::from_be_bytes(self.take(8)?.try_into().unwrap()))
    }
    fn string(&mut self) -> io::Result<&'a [u8]> {
        let n = self.u32()? as usize;
        self.take(n)
    }
    fn attrs(&mut self) -> io::Result<Attrs> {
        let flags = self.u32()?;
        let mut a = Attrs::default();
        if flags & 0x1 != 0 {
            a.size = Some(self.u64()?);
        }
        if flags & 0x2 != 0 {
            a.uid = Some(self.u32()?);
            a.gid = Some(self.u32()?);
        }
        if flags & 0x4 != 0 {
            a.perm = Some(self.u32()?);
        }
        if flags & 0x8 != 0 {
            a.atime = Some(self.u32()?);
            a.mtime = Some(self.u32()?);
        }
        if flags & 0x8000_0000 != 0 {
            let n = self.u32()?;
            for _ in 0..n {
                self.string()?;
                self.string()?;
            }
        }
        Ok(a)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A scripted server: what it will answer, and what was sent.
    struct Script {
        replies: io::Cursor<Vec<u8>>,
        sent: Vec<u8>,
    }
    impl Stream for Script {}
    impl Read for Script {
        fn read(&mut self, b: &mut [u8]) -> io::Result<usize> {
            self.replies.read(b)
        }
    }
    impl Write for Script {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            self.sent.extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn packet(kind: u8, body: &[u8]) -> Vec<u8> {
        let mut p = ((body.len() + 1) as u32).to_be_bytes().to_vec();
        p.push(kind);
        p.extend_from_slice(body);
        p
    }

    fn string(s: &[u8]) -> Vec<u8> {
        let mut v = (s.len() as u32).to_be_bytes().to_vec();
        v.extend_from_slice(s);
        v
    }

    #[test]
    fn learns_extensions_and_reads_replies_by_id() {
        let mut replies = Vec::new();
        let mut version = 3u32.to_be_bytes().to_vec();
        version.extend(string(b"posix-rename@openssh.com"));
        version.extend(string(b"1"));
        replies.extend(packet(VERSION, &version));
        let mut status = 7u32.to_be_bytes().to_vec();
        status.extend(2u32.to_be_bytes());
        status.extend(string(b"No such file"));
        status.extend(string(b""));
        replies.extend(packet(STATUS, &status));
        let script = Script {
            replies: io::Cursor::new(replies),
            sent: Vec::new(),
        };
        let mut c = Client::start(script).unwrap();
        assert!(c.posix_rename);
        assert!(!c.fsync);
        let (id, reply) = c.recv().unwrap();
        assert_eq!(id, 7);
        assert_eq!(reply.code(), Some(NO_SUCH_FILE));
        assert_eq!(reply.error(), "no such file or directory");
    }

    /// A stream that hands out at most `step` bytes per read.
    struct Trickle {
        data: Vec<u8>,
        at: usize,
        step: usize,
    }
    impl Stream for Trickle {}
    impl Read for Trickle {
        fn read(&mut self, b: &mut [u8]) -> io::Result<usize> {
            let n = b.len().min(self.step).min(self.data.len() - self.at);
            b[..n].copy_from_slice(&self.data[self.at..self.at + n]);
            self.at += n;
            Ok(n)
        }
    }
    impl Write for Trickle {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            Ok(b.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn large_replies_split_across_reads_arrive_whole() {
        let mut data = packet(VERSION, &3u32.to_be_bytes());
        let mut replies = Vec::new();
        for (id, size) in [(1u32, 5usize), (2, 300_000), (3, 70_000), (4, 1)] {
            let mut body = id.to_be_bytes().to_vec();
            body.extend(string(&vec![id as u8; size]));
            data.extend(packet(DATA, &body));
            replies.push((id, size));
        }
        for step in [7, 4096, 16 * 1024, 100_000] {
            let mut c = Client::start(Trickle {
                data: data.clone(),
                at: 0,
                step,
            })
            .unwrap();
            for &(id, size) in &replies {
                let (got, reply) = c.recv().unwrap();
                assert_eq!(got, id);
                assert!(
                    matches!(reply, Reply::Data(d) if d.len() == size && d.iter().all(|&b| b == id as u8))
                );
            }
        }
    }

    #[test]
    fn a_truncated_stream_is_an_error_not_a_panic() {
        let script = Script {
            replies: io::Cursor::new(vec![0, 0, 0, 9, VERSION, 0, 0]),
            sent: Vec::new(),
        };
        assert!(Client::start(script).is_err());
        let script = Script {
            replies: io::Cursor::new(vec![0xff, 0xff, 0xff, 0xff]),
            sent: Vec::new(),
        };
        assert!(Client::start(script).is_err());
    }
}
