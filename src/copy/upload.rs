//! An upload on one host: where each entry of the plan goes, each
//! directory made, then every file sent through one pipelined SFTP
//! session: up to [`FILES`] files on their way at once, each opened under
//! a temporary name beside its target, written in [`WRITE_CHUNK`]-byte requests (sent
//! straight from the page cache where the transport is a socket),
//! flushed (`fsync@openssh.com`), its mode and times set, closed, and
//! renamed over the target (`posix-rename@openssh.com`, which replaces an
//! existing file atomically). Requests are sent without waiting for their
//! replies (at most [`WINDOW`] in flight), so a tree of small files costs
//! no round trip per file and a large one streams at the link's speed.

use std::collections::HashMap;
use std::fs::File;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use super::plan::{Entry, Kind, Plan};
use super::{Options, Remote, random_suffix, shown};
use crate::engine::{Failure, Finish, Job, Work};
use crate::sftp::{self, Attrs, NO_SUCH_FILE, Reply, WINDOW, WRITE_CHUNK, WRITE_WINDOW};
use crate::ssh::link::Link;

/// Files on their way at once per host.
const FILES: usize = 64;
/// Files at least this large go through their own `cat` stream on the
/// OpenSSH transport (a connection of their own: worth it only when the
/// data dwarfs a handshake).
const FEED_MIN: u64 = 64 << 20;

/// rcp's upload job.
pub struct Upload {
    pub plan: Plan,
    /// The remote destination, as given.
    pub dest: PathBuf,
    pub opts: Options,
}

/// Where the entries go on one host.
enum Place {
    /// Inside this directory, each under its own name.
    Into(PathBuf),
    /// The one source becomes this path.
    As(PathBuf),
}

impl Place {
    fn remote(&self, rel: &Path) -> PathBuf {
        match self {
            Place::Into(dir) => dir.join(rel),
            Place::As(target) => {
                let mut parts = rel.components();
                parts.next();
                match parts.as_path() {
                    rest if rest.as_os_str().is_empty() => target.clone(),
                    rest => target.join(rest),
                }
            }
        }
    }
}

impl Job<Link> for Upload {
    fn run(&self, link: &mut Link, work: &mut Work<'_>) -> Result<Finish, Failure> {
        let work: &Work<'_> = &*work;
        let mut host = Remote::open(link, work, &self.opts)?;
        let place = match host.place(&self.dest, &self.plan)? {
            Ok(p) => p,
            Err(why) => {
                host.tally.failed(shown(&self.dest), why);
                return Ok(host.tally.finish());
            }
        };
        let sums = if self.opts.checksum {
            host.remote_sums(&self.plan, &place)?
        } else {
            Default::default()
        };
        let mut flights = Flights::default();
        for entry in &self.plan.entries {
            let target = place.remote(&entry.rel);
            match &entry.kind {
                // Sent in line with the files: OpenSSH's sftp-server
                // handles requests in the order they come, so the
                // directory exists before its files are opened.
                Kind::Dir => flights.mkdir(&mut host, entry, target)?,
                Kind::File
                    if self.opts.checksum
                        && sums
                            .get(target.as_os_str().as_bytes())
                            .is_some_and(|remote| {
                                entry.sha256().is_ok_and(|local| &local == remote)
                            }) =>
                {
                    host.tally.skipped(shown(&target));
                }
                _ => flights.admit(&mut host, entry, target)?,
            }
        }
        flights.drain(&mut host)?;
        if self.opts.preserve {
            // Directory times last: filling them changed them.
            for entry in self
                .plan
                .entries
                .iter()
                .rev()
                .filter(|e| e.kind == Kind::Dir)
            {
                let path = place.remote(&entry.rel);
                // Never through a directory that is not one (setstat
                // follows symlinks).
                if flights
                    .dirs
                    .iter()
                    .any(|d| d.path == path && d.state != Some(Ok(())))
                {
                    continue;
                }
                let sent = host
                    .sftp
                    .send_setstat(path.as_os_str().as_bytes(), &attrs_of(entry, host.opts));
                let _ = host.call(sent)?;
            }
        }
        Ok(host.tally.finish())
    }
}

/// The attributes to give a copy of `e`.
fn attrs_of(e: &Entry, opts: &Options) -> Attrs {
    Attrs {
        size: None,
        uid: opts.owner.then_some(e.uid),
        gid: opts.owner.then_some(e.gid),
        perm: Some(e.mode & 0o7777),
        atime: Some(e.atime.clamp(0, u32::MAX as i64) as u32),
        mtime: Some(e.mtime.clamp(0, u32::MAX as i64) as u32),
    }
}

/// What identifies a local file's content without reading it: if any of
/// it changes while the file is sent, the copy is not trusted.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Seen {
    len: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

impl Seen {
    fn of(f: &File) -> Option<Seen> {
        use std::os::unix::fs::MetadataExt;
        let m = f.metadata().ok()?;
        Some(Seen {
            len: m.len(),
            mtime: (m.mtime(), m.mtime_nsec()),
            ctime: (m.ctime(), m.ctime_nsec()),
        })
    }
}

fn changed(src: &Path) -> String {
    format!(
        "{} changed while it was being copied; the copy is not used",
        src.display()
    )
}

/// Why a copy's attributes could not be set, in the user's terms.
fn attrs_error(opts: &Options, why: String) -> String {
    if opts.owner {
        format!("setting owner, mode and times: {why} (--owner needs root on the host)")
    } else {
        format!("setting mode and times: {why}")
    }
}

/// A temporary name beside `target`.
fn temp_for(target: &Path) -> PathBuf {
    let name = target.file_name().map(|n| n.as_bytes()).unwrap_or_default();
    // Keep the name short: NAME_MAX is 255 bytes.
    let mut tmp = b".".to_vec();
    tmp.extend_from_slice(&name[..name.len().min(100)]);
    tmp.extend_from_slice(format!(".rcp-{}.tmp", random_suffix()).as_bytes());
    target.with_file_name(std::ffi::OsStr::from_bytes(&tmp))
}

fn bytes(p: &Path) -> &[u8] {
    p.as_os_str().as_bytes()
}

impl Remote<'_, '_> {
    /// Where things go: `Ok(Err(why))` fails the host's copy with a reason.
    fn place(&mut self, dest: &Path, plan: &Plan) -> Result<Result<Place, String>, Failure> {
        let wants_dir = bytes(dest).ends_with(b"/") || plan.sources > 1;
        match self.stat(dest, true)? {
            Ok(st) if st.is_dir() => return Ok(Ok(Place::Into(dest.to_path_buf()))),
            Ok(_) if wants_dir => return Ok(Err("exists and is not a directory".into())),
            Ok(_) if plan.entries.first().is_some_and(|e| e.kind == Kind::Dir) => {
                return Ok(Err("exists and is not a directory".into()));
            }
            Ok(_) => return Ok(Ok(Place::As(dest.to_path_buf()))),
            Err(r) if r.code() != Some(NO_SUCH_FILE) => return Ok(Err(r.error())),
            Err(_) => {}
        }
        // The destination does not exist.
        let (dir, place) = if wants_dir {
            (dest.to_path_buf(), Place::Into(dest.to_path_buf()))
        } else {
            let parent = dest.parent().unwrap_or(Path::new("."));
            (parent.to_path_buf(), Place::As(dest.to_path_buf()))
        };
        if dir.as_os_str().is_empty() || self.stat(&dir, true)?.is_ok_and(|s| s.is_dir()) {
            return Ok(Ok(place));
        }
        if !self.opts.mkdir {
            let what = "no such directory (--mkdir creates it)";
            return Ok(Err(if wants_dir {
                what.to_string()
            } else {
                format!("{}: {what}", shown(&dir))
            }));
        }
        Ok(self.mkdir_p(&dir)?.map(|()| place))
    }

    /// `mkdir -p` over SFTP.
    fn mkdir_p(&mut self, dir: &Path) -> Result<Result<(), String>, Failure> {
        let mut path = PathBuf::new();
        for part in dir.components() {
            path.push(part);
            if self.stat(&path, true)?.is_ok_and(|s| s.is_dir()) {
                continue;
            }
            let sent = self.sftp.send_mkdir(bytes(&path), 0o755);
            if let Err(why) = self.call(sent)?.ok() {
                return Ok(Err(format!("{}: cannot create: {why}", shown(&path))));
            }
        }
        Ok(Ok(()))
    }

    /// The remote sha256 of every file that exists there: one command,
    /// the names on its standard input (NUL-separated, so no name is ever
    /// seen by a shell, whatever bytes it holds, and no command line grows
    /// with the tree), keyed by the path's bytes.
    fn remote_sums(&self, plan: &Plan, place: &Place) -> Result<HashMap<Vec<u8>, String>, Failure> {
        let mut names = Vec::new();
        for e in plan.entries.iter().filter(|e| e.kind == Kind::File) {
            names.extend_from_slice(bytes(&place.remote(&e.rel)));
            names.push(0);
        }
        remote_sums(self.link, self.work, &names)
    }
}

/// `sha256sum` of the NUL-separated `names` on the host (those that exist).
pub fn remote_sums(
    link: &Link,
    work: &Work<'_>,
    names: &[u8],
) -> Result<HashMap<Vec<u8>, String>, Failure> {
    if names.is_empty() {
        return Ok(HashMap::new());
    }
    let (_, out) = link.run(
        "xargs -0 -r sha256sum -- 2>/dev/null",
        names,
        work.stop,
        work.deadline,
        256 << 20,
    )?;
    Ok(parse_sums(&out).into_iter().collect())
}

/// sha256sum's lines: `HEX  NAME`, or `\HEX  NAME` with `\\`, `\n` and `\r`
/// escaped when the name holds them.
pub fn parse_sums(out: &[u8]) -> Vec<(Vec<u8>, String)> {
    let mut sums = Vec::new();
    for line in out.split(|&b| b == b'\n') {
        let (escaped, line) = match line.strip_prefix(b"\\") {
            Some(rest) => (true, rest),
            None => (false, line),
        };
        if line.len() < 66 || &line[64..66] != b"  " {
            continue;
        }
        let Ok(hex) = std::str::from_utf8(&line[..64]) else {
            continue;
        };
        let name = &line[66..];
        let name = if escaped {
            let mut n = Vec::with_capacity(name.len());
            let mut it = name.iter();
            while let Some(&b) = it.next() {
                if b == b'\\' {
                    match it.next() {
                        Some(b'n') => n.push(b'\n'),
                        Some(b'r') => n.push(b'\r'),
                        Some(&c) => n.push(c),
                        None => {}
                    }
                } else {
                    n.push(b);
                }
            }
            n
        } else {
            name.to_vec()
        };
        sums.push((name, hex.to_string()));
    }
    sums
}

/// One file (or symlink) on its way.
struct Flight<'p> {
    entry: &'p Entry,
    target: PathBuf,
    tmp: PathBuf,
    local: Option<File>,
    handle: Option<Vec<u8>>,
    /// Bytes sent so far.
    offset: u64,
    /// Bytes to send.
    size: u64,
    /// The local file as it was opened, to see it change while sent.
    seen: Option<Seen>,
    /// The mode of the file being replaced (it keeps it).
    existing_mode: Option<u32>,
    /// The local file is wholly read.
    eof: bool,
    /// Every write is sent; closing has begun.
    closing: bool,
    /// Replies still awaited for writes, fsync, setstat and close.
    pending: usize,
    /// The first thing that went wrong.
    error: Option<String>,
    done: bool,
}

impl<'p> Flight<'p> {
    fn new(entry: &'p Entry, target: PathBuf, tmp: PathBuf) -> Flight<'p> {
        Flight {
            entry,
            target,
            tmp,
            local: None,
            handle: None,
            offset: 0,
            size: 0,
            seen: None,
            existing_mode: None,
            eof: false,
            closing: false,
            pending: 0,
            error: None,
            done: false,
        }
    }
}

/// What a request in flight was for.
#[derive(Clone, Copy, Debug)]
enum Step {
    /// `--update`'s look at the target.
    Stat,
    Open,
    Symlink,
    /// A write of this many bytes.
    Write(u64),
    /// An fsync or close.
    Data,
    /// Setting mode and times (and owner).
    Attrs,
    /// Making a directory of the tree.
    Mkdir,
    /// Looking at what is there when making it failed.
    DirCheck,
    Rename,
    /// Removing a temporary file after a failure (its reply is ignored).
    Remove,
}

/// An upload's files on their way, by slot; and each request's slot.
#[derive(Default)]
struct Flights<'p> {
    slots: Vec<Option<Flight<'p>>>,
    inflight: HashMap<u32, (usize, Step)>,
    /// File bytes sent and not yet acknowledged.
    writing: u64,
    /// The tree's directories (their index is their slot in `inflight`).
    dirs: Vec<DirMade>,
}

/// A directory of the tree, and whether files may go into it.
struct DirMade {
    path: PathBuf,
    /// `None` while its mkdir (and the look after a failed one) is on its
    /// way; then whether it is a real directory, or why not.
    state: Option<Result<(), String>>,
    /// Why mkdir failed, kept for the message.
    why: Option<String>,
}

impl<'p> Flights<'p> {
    /// Puts `entry` on its way (waiting for room first).
    fn admit(
        &mut self,
        host: &mut Remote,
        entry: &'p Entry,
        target: PathBuf,
    ) -> Result<(), Failure> {
        host.check()?;
        // Its directory must be known to be a real one before anything
        // goes into it (a symlink there is never written through).
        if let Some(why) = self.parent_ready(host, &target)? {
            host.tally.failed(shown(&target), why);
            return Ok(());
        }
        if entry.kind == Kind::File
            && entry.size >= FEED_MIN
            && host.link.feeds()
            && temp_for(&target).to_str().is_some()
        {
            self.drain(host)?;
            return feed(host, entry, &target);
        }
        while self.busy() >= FILES || self.inflight.len() >= WINDOW {
            self.step(host)?;
        }
        let slot = match self.slots.iter().position(Option::is_none) {
            Some(i) => i,
            None => {
                self.slots.push(None);
                self.slots.len() - 1
            }
        };
        let tmp = temp_for(&target);
        self.slots[slot] = Some(Flight::new(entry, target, tmp));
        let flight = self.slots[slot].as_ref().unwrap();
        let (step, sent) = match &entry.kind {
            Kind::Symlink(to) => (
                Step::Symlink,
                host.sftp.send_symlink(bytes(to), bytes(&flight.tmp)),
            ),
            // What is there now: -u compares with it, and a file it
            // replaces keeps its mode (as cp and rsync keep it).
            _ => (Step::Stat, host.sftp.send_lstat(bytes(&flight.target))),
        };
        let id = sent.map_err(|e| host.lost(e))?;
        self.inflight.insert(id, (slot, step));
        self.pump(host)
    }

    /// Makes a directory of the tree, in line with the files.
    fn mkdir(&mut self, host: &mut Remote, entry: &Entry, target: PathBuf) -> Result<(), Failure> {
        host.check()?;
        while self.inflight.len() >= WINDOW {
            self.step(host)?;
        }
        if let Some(why) = self.parent_ready(host, &target)? {
            // Nothing goes under a directory that is not one.
            self.dirs.push(DirMade {
                path: target,
                state: Some(Err(why)),
                why: None,
            });
            return Ok(());
        }
        let id = host
            .sftp
            .send_mkdir(bytes(&target), entry.mode & 0o777)
            .map_err(|e| host.lost(e))?;
        self.inflight.insert(id, (self.dirs.len(), Step::Mkdir));
        self.dirs.push(DirMade {
            path: target,
            state: None,
            why: None,
        });
        Ok(())
    }

    /// Waits until the directory `target` goes into is known; `Some(why)`
    /// when it is not a real directory made or found by this copy.
    fn parent_ready(
        &mut self,
        host: &mut Remote,
        target: &Path,
    ) -> Result<Option<String>, Failure> {
        let Some(parent) = target.parent() else {
            return Ok(None);
        };
        let Some(i) = self.dirs.iter().rposition(|d| d.path == parent) else {
            return Ok(None); // the destination itself, or outside the tree
        };
        while self.dirs[i].state.is_none() {
            self.step(host)?;
        }
        Ok(match &self.dirs[i].state {
            Some(Err(why)) => Some(format!("not copied: {}: {why}", shown(parent))),
            _ => None,
        })
    }

    fn busy(&self) -> usize {
        self.slots.iter().filter(|s| s.is_some()).count()
    }

    /// Waits until every file on its way has landed or failed.
    fn drain(&mut self, host: &mut Remote) -> Result<(), Failure> {
        while !self.inflight.is_empty() {
            self.step(host)?;
        }
        Ok(())
    }

    /// Handles one reply, then sends what it allows.
    fn step(&mut self, host: &mut Remote) -> Result<(), Failure> {
        if let Err(f) = host.check() {
            return Err(self.abandon(host, f));
        }
        let (id, reply) = match host.sftp.recv() {
            Ok(r) => r,
            Err(e) => return Err(host.lost(e)),
        };
        let Some((slot, step)) = self.inflight.remove(&id) else {
            return Err(Failure::Lost(
                "the SFTP server answered a request never made".into(),
            ));
        };
        self.reply(host, slot, step, reply)?;
        self.pump(host)
    }

    fn reply(
        &mut self,
        host: &mut Remote,
        slot: usize,
        step: Step,
        reply: Reply,
    ) -> Result<(), Failure> {
        match step {
            Step::Mkdir => {
                let dir = &mut self.dirs[slot];
                match reply.ok() {
                    Ok(()) => dir.state = Some(Ok(())),
                    Err(why) => {
                        // Fine if it is already a directory: look (without
                        // following a symlink).
                        dir.why = Some(why);
                        let id = host
                            .sftp
                            .send_lstat(bytes(&dir.path))
                            .map_err(|e| host.lost(e))?;
                        self.inflight.insert(id, (slot, Step::DirCheck));
                    }
                }
                return Ok(());
            }
            Step::DirCheck => {
                let dir = &mut self.dirs[slot];
                let state = match &reply {
                    Reply::Attrs(a) if a.is_dir() => Ok(()),
                    Reply::Attrs(a) if a.is_symlink() => {
                        Err("is a symlink, not a directory: nothing is copied through it".into())
                    }
                    _ => Err(dir.why.clone().unwrap_or_else(|| reply.error())),
                };
                if let Err(why) = &state {
                    host.tally.failed(shown(&dir.path), why.clone());
                }
                dir.state = Some(state);
                return Ok(());
            }
            Step::Write(n) => {
                self.writing -= n;
                host.opts.moved(n);
            }
            _ => {}
        }
        let Some(f) = self.slots[slot].as_mut() else {
            return Ok(());
        };
        match step {
            Step::Stat => {
                let entry = f.entry;
                let fresh = host.opts.update
                    && matches!(&reply, Reply::Attrs(st) if st.is_file()
                    && st.size == Some(entry.size)
                    && st.mtime == Some(entry.mtime.clamp(0, u32::MAX as i64) as u32));
                if let Reply::Attrs(st) = &reply
                    && st.is_file()
                {
                    f.existing_mode = st.perm.map(|p| p & 0o7777);
                }
                if fresh {
                    host.tally.skipped(shown(&f.target));
                    f.done = true;
                } else {
                    let id = open(host, f).map_err(|e| host.lost(e))?;
                    self.inflight.insert(id, (slot, Step::Open));
                }
            }
            Step::Open => match reply {
                Reply::Handle(h) => match File::open(&f.entry.src) {
                    Ok(local) => {
                        // The size now, not at the walk: what is sent is
                        // what the file held when it was opened.
                        f.seen = Seen::of(&local);
                        f.size = f.seen.as_ref().map_or(f.entry.size, |s| s.len);
                        f.handle = Some(h);
                        f.local = Some(local);
                    }
                    Err(e) => {
                        f.handle = Some(h);
                        f.error = Some(format!(
                            "{}: {}",
                            f.entry.src.display(),
                            crate::ssh::session::plain_error(&e)
                        ));
                    }
                },
                other => {
                    let why = format!("cannot create {}: {}", shown(&f.tmp), other.error());
                    host.tally.failed(shown(&f.target), why);
                    f.done = true;
                }
            },
            Step::Symlink => match reply.ok() {
                Ok(()) => {
                    let id = host
                        .sftp
                        .send_rename(bytes(&f.tmp), bytes(&f.target))
                        .map_err(|e| host.lost(e))?;
                    self.inflight.insert(id, (slot, Step::Rename));
                }
                Err(why) => {
                    host.tally.failed(shown(&f.target), why);
                    f.done = true;
                }
            },
            Step::Attrs => {
                f.pending -= 1;
                if let Err(why) = reply.ok()
                    && f.error.is_none()
                {
                    f.error = Some(attrs_error(host.opts, why));
                }
            }
            Step::Write(_) | Step::Data => {
                f.pending -= 1;
                if let Err(why) = reply.ok()
                    && f.error.is_none()
                {
                    f.error = Some(format!("writing {}: {why}", shown(&f.tmp)));
                }
            }
            Step::Rename => match reply.ok() {
                Ok(()) => {
                    let sent = if f.entry.kind == Kind::File {
                        f.offset
                    } else {
                        0
                    };
                    host.tally.copied(shown(&f.target), sent);
                    f.done = true;
                }
                Err(why) => {
                    let why = if host.sftp.posix_rename {
                        why
                    } else {
                        format!("{why} (the server cannot replace files: no posix-rename)")
                    };
                    discard(host, &mut self.inflight, slot, f, why)?;
                }
            },
            Step::Remove | Step::Mkdir | Step::DirCheck => {}
        }
        Ok(())
    }

    /// Sends what each file on its way can send now; ends finished ones.
    fn pump(&mut self, host: &mut Remote) -> Result<(), Failure> {
        for slot in 0..self.slots.len() {
            let Some(f) = self.slots[slot].as_mut() else {
                continue;
            };
            if f.done {
                if !self
                    .inflight
                    .values()
                    .any(|(s, st)| *s == slot && !matches!(st, Step::Mkdir | Step::DirCheck))
                {
                    self.slots[slot] = None;
                }
                continue;
            }
            let Some(handle) = f.handle.clone() else {
                continue;
            };
            // Write while there is room, then close.
            while !f.closing
                && !f.eof
                && f.error.is_none()
                && self.inflight.len() < WINDOW
                && self.writing < WRITE_WINDOW
            {
                let Some(local) = f.local.as_ref() else { break };
                let len = (f.size - f.offset).min(WRITE_CHUNK as u64) as usize;
                if len == 0 {
                    f.eof = true;
                    break;
                }
                // Once its header is sent a write must be finished, so an
                // error here (the file's or the stream's) ends the session.
                let (id, whole) = host
                    .sftp
                    .send_write_from(&handle, f.offset, local, len)
                    .map_err(|e| host.lost(e))?;
                f.offset += len as u64;
                f.pending += 1;
                self.writing += len as u64;
                self.inflight.insert(id, (slot, Step::Write(len as u64)));
                if !whole {
                    f.error = Some(format!(
                        "{}: the file shrank while it was being copied",
                        f.entry.src.display()
                    ));
                }
            }
            if !f.closing && (f.error.is_some() || f.eof) {
                f.closing = true;
                if f.error.is_none()
                    && let (Some(local), Some(seen)) = (&f.local, &f.seen)
                    && Seen::of(local).as_ref() != Some(seen)
                {
                    f.error = Some(changed(&f.entry.src));
                }
                let mut ids = Vec::new();
                if f.error.is_none()
                    && !host.opts.preserve
                    && let Some(mode) = f.existing_mode
                {
                    // The temporary was made 0600; the copy takes the mode
                    // of the file it replaces.
                    let attrs = Attrs {
                        perm: Some(mode),
                        ..Attrs::default()
                    };
                    let id = host
                        .sftp
                        .send_fsetstat(&handle, &attrs)
                        .map_err(|e| host.lost(e))?;
                    f.pending += 1;
                    self.inflight.insert(id, (slot, Step::Attrs));
                }
                if f.error.is_none() {
                    if let Some(id) = host.sftp.send_fsync(&handle).map_err(|e| host.lost(e))? {
                        ids.push(id);
                    }
                    if host.opts.preserve {
                        let attrs = attrs_of(f.entry, host.opts);
                        let id = host
                            .sftp
                            .send_fsetstat(&handle, &attrs)
                            .map_err(|e| host.lost(e))?;
                        f.pending += 1;
                        self.inflight.insert(id, (slot, Step::Attrs));
                    }
                }
                ids.push(host.sftp.send_close(&handle).map_err(|e| host.lost(e))?);
                f.pending += ids.len();
                for id in ids {
                    self.inflight.insert(id, (slot, Step::Data));
                }
            }
            if f.closing && f.pending == 0 {
                f.handle = None;
                if let Some(why) = f.error.take() {
                    discard(host, &mut self.inflight, slot, f, why)?;
                } else {
                    let id = host
                        .sftp
                        .send_rename(bytes(&f.tmp), bytes(&f.target))
                        .map_err(|e| host.lost(e))?;
                    self.inflight.insert(id, (slot, Step::Rename));
                    // Renaming: wait for that reply only.
                    f.handle = None;
                }
            }
        }
        Ok(())
    }

    /// The run is cancelled or late: close and remove every temporary
    /// file while the connection allows (the watchdog's grace), then fail.
    fn abandon(&mut self, host: &mut Remote, f: Failure) -> Failure {
        for flight in self.slots.iter().flatten() {
            if let Some(h) = &flight.handle {
                let _ = host.sftp.send_close(h);
            }
            if !flight.done {
                let _ = host.sftp.send_remove(bytes(&flight.tmp));
            }
        }
        let _ = host.sftp.flush();
        // Wait for the removals (their replies come after everything
        // already in flight); the watchdog ends this wait if it must.
        let expected = self.inflight.len()
            + self
                .slots
                .iter()
                .flatten()
                .map(|fl| usize::from(fl.handle.is_some()) + usize::from(!fl.done))
                .sum::<usize>();
        for _ in 0..expected {
            if host.sftp.recv().is_err() {
                break;
            }
        }
        self.inflight.clear();
        self.slots.clear();
        f
    }
}

/// A large file over the OpenSSH transport: the data goes through its own
/// `ssh host 'cat > TEMP'` that reads the file itself, at ssh's speed
/// (SFTP's server costs half as much again per byte); SFTP still creates
/// the temporary file exclusively (never through a planted link), then
/// flushes it, sets its attributes and renames it over the target.
fn feed(host: &mut Remote, entry: &Entry, target: &Path) -> Result<(), Failure> {
    let there = host.stat(target, false)?.ok().filter(|st| st.is_file());
    if host.opts.update
        && there.as_ref().is_some_and(|st| {
            st.size == Some(entry.size)
                && st.mtime == Some(entry.mtime.clamp(0, u32::MAX as i64) as u32)
        })
    {
        host.tally.skipped(shown(target));
        return Ok(());
    }
    let tmp = temp_for(target);
    let local = match File::open(&entry.src) {
        Ok(f) => f,
        Err(e) => {
            let why = format!(
                "{}: {}",
                entry.src.display(),
                crate::ssh::session::plain_error(&e)
            );
            host.tally.failed(shown(target), why);
            return Ok(());
        }
    };
    let seen = Seen::of(&local);
    let size = seen.as_ref().map_or(entry.size, |s| s.len);
    // ssh takes the file; a second handle on it sees it change.
    let probe = local.try_clone().ok();
    let mut flight = Flight::new(entry, target.to_path_buf(), tmp.clone());
    flight.existing_mode = there.and_then(|st| st.perm).map(|p| p & 0o7777);
    let existing_mode = flight.existing_mode;
    let sent = open(host, &flight);
    let handle = match host.call(sent)? {
        Reply::Handle(h) => h,
        other => {
            let why = format!("cannot create {}: {}", shown(&tmp), other.error());
            host.tally.failed(shown(target), why);
            return Ok(());
        }
    };
    let sent = host.sftp.send_close(&handle);
    host.call(sent)?;
    let path = tmp.to_str().unwrap_or_default();
    let mut counted = 0;
    let opts = host.opts;
    let fed = host
        .link
        .feed(local, path, host.work.stop, host.work.deadline, &mut |at| {
            opts.moved(at.saturating_sub(counted));
            counted = counted.max(at);
        });
    let failed = match fed {
        Ok(Ok(())) => {
            // The last stretch, read after the last look.
            opts.moved(size.saturating_sub(counted));
            (probe.as_ref().and_then(Seen::of) != seen).then(|| changed(&entry.src))
        }
        Ok(Err(why)) => Some(why),
        Err(f) => {
            // Cancelled, late or lost: remove the temporary file while the
            // SFTP session still allows (a cancel's grace).
            let sent = host.sftp.send_remove(bytes(&tmp));
            let _ = host.call(sent);
            return Err(f);
        }
    };
    let finish = |host: &mut Remote| -> Result<Result<(), String>, Failure> {
        if let Some(why) = failed {
            return Ok(Err(why));
        }
        let sent = host.sftp.send_stat(bytes(&tmp));
        match host.call(sent)? {
            Reply::Attrs(a) if a.size == Some(size) => {}
            _ => return Ok(Err(format!("{} arrived short", shown(&tmp)))),
        }
        let sent = host
            .sftp
            .send_open(bytes(&tmp), sftp::WRITE, &Attrs::default());
        let handle = match host.call(sent)? {
            Reply::Handle(h) => h,
            other => return Ok(Err(other.error())),
        };
        if let Some(id) = host.sftp.send_fsync(&handle).map_err(|e| host.lost(e))? {
            host.call(Ok(id))?;
        }
        let attrs = match (host.opts.preserve, existing_mode) {
            (true, _) => Some(attrs_of(entry, host.opts)),
            (false, Some(mode)) => Some(Attrs {
                perm: Some(mode),
                ..Attrs::default()
            }),
            (false, None) => None,
        };
        if let Some(attrs) = attrs {
            let sent = host.sftp.send_fsetstat(&handle, &attrs);
            if let Err(why) = host.call(sent)?.ok() {
                return Ok(Err(attrs_error(host.opts, why)));
            }
        }
        let sent = host.sftp.send_close(&handle);
        if let Err(why) = host.call(sent)?.ok() {
            return Ok(Err(why));
        }
        let sent = host.sftp.send_rename(bytes(&tmp), bytes(target));
        Ok(host.call(sent)?.ok())
    };
    match finish(host)? {
        Ok(()) => host.tally.copied(shown(target), size),
        Err(why) => {
            let sent = host.sftp.send_remove(bytes(&tmp));
            host.call(sent)?;
            host.tally.failed(shown(target), why);
        }
    }
    Ok(())
}

/// A flight that failed: said, and its temporary file removed (the reply
/// to the removal is awaited with the others, and ignored).
fn discard(
    host: &mut Remote,
    inflight: &mut HashMap<u32, (usize, Step)>,
    slot: usize,
    f: &mut Flight,
    why: String,
) -> Result<(), Failure> {
    host.tally.failed(shown(&f.target), why);
    let id = host
        .sftp
        .send_remove(bytes(&f.tmp))
        .map_err(|e| host.lost(e))?;
    inflight.insert(id, (slot, Step::Remove));
    f.done = true;
    Ok(())
}

/// Opens a flight's temporary file: with the source's mode for a new
/// file (the host's umask applies, as for cp), 0600 when it replaces one
/// (its mode is set before the rename: a secret is never readable
/// meanwhile).
fn open(host: &mut Remote, f: &Flight) -> std::io::Result<u32> {
    let mode = if host.opts.preserve {
        f.entry.mode & 0o7777
    } else if f.existing_mode.is_some() {
        0o600
    } else {
        f.entry.mode & 0o777
    };
    host.sftp.send_open(
        bytes(&f.tmp),
        sftp::WRITE | sftp::CREAT | sftp::EXCL | sftp::TRUNC,
        &Attrs {
            perm: Some(mode),
            ..Attrs::default()
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256sum_lines_with_escaped_names_are_read_back() {
        let hex = "a".repeat(64);
        let out =
            format!("{hex}  /srv/plain\n\\{hex}  /srv/new\\nline\n\\{hex}  /srv/back\\\\slash\n");
        let sums = parse_sums(out.as_bytes());
        let names: Vec<&[u8]> = sums.iter().map(|(n, _)| n.as_slice()).collect();
        assert_eq!(
            names,
            vec![&b"/srv/plain"[..], b"/srv/new\nline", b"/srv/back\\slash"]
        );
    }
}
