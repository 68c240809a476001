//! An upload on one host: where each entry of the plan goes, then each
//! directory made, each file streamed over SFTP into a temporary name
//! beside its target (1 MiB writes, which libssh2 pipelines), flushed,
//! its mode and times set, and renamed over the target. SFTP v3 cannot
//! rename onto an existing file, so those renames are done at the end by
//! one remote `mv -f` per file, every argument quoted.

use std::io::{Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use ssh2::{FileStat, OpenFlags, OpenType};

use super::plan::{Entry, Kind, Plan};
use super::{Options, Remote, random_suffix, shown};
use crate::engine::{Failure, Finish, Job, Work};
use crate::ssh::session::{Connection, Exec};
use crate::ssh::shell_quote;

/// Bytes per SFTP write (libssh2 splits and pipelines them).
const BLOCK: usize = 1024 * 1024;

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

/// One host's upload in progress.
struct Host<'a, 'w> {
    r: Remote<'a, 'w>,
    /// (temporary, target) renames that must replace an existing file.
    replace: Vec<(PathBuf, PathBuf, String, u64)>,
}

impl<'a, 'w> std::ops::Deref for Host<'a, 'w> {
    type Target = Remote<'a, 'w>;
    fn deref(&self) -> &Remote<'a, 'w> {
        &self.r
    }
}

impl std::ops::DerefMut for Host<'_, '_> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.r
    }
}

impl Job<Connection> for Upload {
    fn run(&self, conn: &mut Connection, work: &mut Work<'_>) -> Result<Finish, Failure> {
        let work: &Work<'_> = &*work;
        let mut host = Host {
            r: Remote::open(conn, work, &self.opts)?,
            replace: Vec::new(),
        };
        let place = match host.place(&self.dest, &self.plan)? {
            Ok(p) => p,
            Err(why) => {
                host.tally.failed(shown(&self.dest), why);
                return Ok(host.r.tally.finish());
            }
        };
        let sums = if self.opts.checksum {
            host.remote_sums(&self.plan, &place)?
        } else {
            Default::default()
        };
        for entry in &self.plan.entries {
            let target = place.remote(&entry.rel);
            match &entry.kind {
                Kind::Dir => host.dir(&target, entry)?,
                Kind::File => {
                    if host.up_to_date(entry, &target, &sums)? {
                        host.tally.skipped(shown(&target));
                    } else {
                        host.file(entry, &target)?;
                    }
                }
                Kind::Symlink(to) => host.symlink(to, &target)?,
            }
        }
        host.finish_replaces()?;
        if self.opts.preserve {
            // Directory times last: filling them changed them.
            for entry in self
                .plan
                .entries
                .iter()
                .rev()
                .filter(|e| e.kind == Kind::Dir)
            {
                let _ = host
                    .sftp
                    .setstat(&place.remote(&entry.rel), stat_of(entry, host.opts));
            }
        }
        Ok(host.r.tally.finish())
    }
}

/// The attributes to give a copy of `e`.
fn stat_of(e: &Entry, opts: &Options) -> FileStat {
    FileStat {
        size: None,
        uid: opts.owner.then_some(e.uid),
        gid: opts.owner.then_some(e.gid),
        perm: Some(e.mode),
        atime: Some(e.atime.max(0) as u64),
        mtime: Some(e.mtime.max(0) as u64),
    }
}

impl Host<'_, '_> {
    /// Where things go: `Ok(Err(why))` fails the host's copy with a reason.
    fn place(&self, dest: &Path, plan: &Plan) -> Result<Result<Place, String>, Failure> {
        let wants_dir = dest.as_os_str().as_bytes().ends_with(b"/") || plan.sources > 1;
        match self.sftp.stat(dest) {
            Ok(st) if st.is_dir() => return Ok(Ok(Place::Into(dest.to_path_buf()))),
            Ok(_) if wants_dir => return Ok(Err("exists and is not a directory".into())),
            Ok(_) if plan.entries.first().is_some_and(|e| e.kind == Kind::Dir) => {
                return Ok(Err("exists and is not a directory".into()));
            }
            Ok(_) => return Ok(Ok(Place::As(dest.to_path_buf()))),
            Err(e) => {
                let why = self.why(&e)?;
                if !matches!(e.code(), ssh2::ErrorCode::SFTP(2)) {
                    return Ok(Err(why));
                }
            }
        }
        // The destination does not exist.
        let (dir, place) = if wants_dir {
            (dest.to_path_buf(), Place::Into(dest.to_path_buf()))
        } else {
            let parent = dest.parent().unwrap_or(Path::new("."));
            (parent.to_path_buf(), Place::As(dest.to_path_buf()))
        };
        if dir.as_os_str().is_empty() || self.sftp.stat(&dir).is_ok_and(|s| s.is_dir()) {
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
    fn mkdir_p(&self, dir: &Path) -> Result<Result<(), String>, Failure> {
        let mut path = PathBuf::new();
        for part in dir.components() {
            path.push(part);
            if self.sftp.stat(&path).is_ok_and(|s| s.is_dir()) {
                continue;
            }
            if let Err(e) = self.sftp.mkdir(&path, 0o755) {
                return Ok(Err(format!(
                    "{}: cannot create: {}",
                    shown(&path),
                    self.why(&e)?
                )));
            }
        }
        Ok(Ok(()))
    }

    fn dir(&mut self, target: &Path, entry: &Entry) -> Result<(), Failure> {
        self.check()?;
        match self.sftp.mkdir(target, (entry.mode & 0o777) as i32) {
            Ok(()) => Ok(()),
            Err(e) => {
                let why = self.why(&e)?;
                if !self.sftp.stat(target).is_ok_and(|s| s.is_dir()) {
                    self.tally.failed(shown(target), why);
                }
                Ok(())
            }
        }
    }

    /// Whether --update or --checksum says the copy can be skipped.
    fn up_to_date(
        &self,
        entry: &Entry,
        target: &Path,
        sums: &std::collections::HashMap<PathBuf, String>,
    ) -> Result<bool, Failure> {
        if self.opts.checksum {
            return Ok(sums
                .get(target)
                .is_some_and(|remote| entry.sha256().is_ok_and(|local| &local == remote)));
        }
        if self.opts.update {
            return Ok(self.sftp.stat(target).is_ok_and(|st| {
                st.is_file()
                    && st.size == Some(entry.size)
                    && st.mtime == Some(entry.mtime.max(0) as u64)
            }));
        }
        Ok(false)
    }

    /// The remote sha256 of every file that exists there, in one command.
    fn remote_sums(
        &self,
        plan: &Plan,
        place: &Place,
    ) -> Result<std::collections::HashMap<PathBuf, String>, Failure> {
        let mut sums = std::collections::HashMap::new();
        let targets: Vec<PathBuf> = plan
            .entries
            .iter()
            .filter(|e| e.kind == Kind::File)
            .map(|e| place.remote(&e.rel))
            .collect();
        for chunk in targets.chunks(500) {
            let words: Vec<String> = chunk
                .iter()
                .filter_map(|p| p.to_str())
                .filter(|p| !p.contains('\n') && !p.contains('\\'))
                .map(shell_quote)
                .collect();
            if words.is_empty() {
                continue;
            }
            let command = format!("sha256sum -- {} 2>/dev/null", words.join(" "));
            let mut out = Vec::new();
            let exec = Exec {
                command: &command,
                input: None,
                pty: false,
                deadline: self.work.deadline,
            };
            self.conn
                .exec(&exec, self.work.stop, &mut |stream, bytes| {
                    if stream == crate::engine::Stream::Stdout && out.len() < 64 << 20 {
                        out.extend_from_slice(bytes);
                    }
                    Ok(())
                })?;
            for line in String::from_utf8_lossy(&out).lines() {
                if let Some((hex, path)) = line.split_once("  ") {
                    sums.insert(PathBuf::from(path), hex.to_string());
                }
            }
        }
        Ok(sums)
    }

    /// A temporary name beside `target`.
    fn temp_for(target: &Path) -> PathBuf {
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        // Keep the name short: NAME_MAX is 255.
        let name: String = name.chars().take(100).collect();
        target.with_file_name(format!(".{name}.rcp-{}.tmp", random_suffix()))
    }

    fn file(&mut self, entry: &Entry, target: &Path) -> Result<(), Failure> {
        self.check()?;
        let tmp = Self::temp_for(target);
        match self.send(entry, &tmp) {
            Ok(Ok(bytes)) => self.rename(tmp, target.to_path_buf(), bytes),
            Ok(Err(why)) => {
                let _ = self.sftp.unlink(&tmp);
                self.tally.failed(shown(target), why);
                Ok(())
            }
            Err(f) => {
                // Cancelled or late: remove the temporary file while the
                // connection still allows.
                let _ = self.sftp.unlink(&tmp);
                Err(f)
            }
        }
    }

    /// Streams a local file into `tmp`; returns the bytes sent.
    fn send(&self, entry: &Entry, tmp: &Path) -> Result<Result<u64, String>, Failure> {
        let mut local = match std::fs::File::open(&entry.src) {
            Ok(f) => f,
            Err(e) => {
                return Ok(Err(format!(
                    "{}: {}",
                    entry.src.display(),
                    crate::ssh::session::plain_error(&e)
                )));
            }
        };
        let flags =
            OpenFlags::WRITE | OpenFlags::CREATE | OpenFlags::EXCLUSIVE | OpenFlags::TRUNCATE;
        let mode = if self.opts.preserve {
            entry.mode
        } else {
            entry.mode & 0o777
        };
        let mut remote = match self.sftp.open_mode(tmp, flags, mode as i32, OpenType::File) {
            Ok(f) => f,
            Err(e) => {
                return Ok(Err(format!(
                    "cannot create {}: {}",
                    shown(tmp),
                    self.why(&e)?
                )));
            }
        };
        let mut buf = vec![0u8; BLOCK];
        let mut sent = 0u64;
        loop {
            self.check()?;
            let n = match local.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) => {
                    return Ok(Err(format!(
                        "reading {}: {}",
                        entry.src.display(),
                        crate::ssh::session::plain_error(&e)
                    )));
                }
            };
            if let Err(e) = remote.write_all(&buf[..n]) {
                self.check()?;
                drop(remote);
                // If the session still answers, the trouble was the file's
                // own (a full disk); otherwise the connection is gone.
                return match self.sftp.stat(tmp) {
                    Ok(_) => Ok(Err(format!("writing {}: {e}", shown(tmp)))),
                    Err(_) => Err(Failure::Lost(
                        "the connection was lost mid-transfer".to_string(),
                    )),
                };
            }
            sent += n as u64;
        }
        // fsync@openssh.com: the data is on the host's disk before the
        // rename makes it visible (servers without it: skipped).
        let _ = remote.fsync();
        if self.opts.preserve
            && let Err(e) = remote.setstat(stat_of(entry, self.opts))
        {
            return Ok(Err(format!("setting mode and times: {}", self.why(&e)?)));
        }
        if let Err(e) = remote.close() {
            return Ok(Err(format!("closing {}: {}", shown(tmp), self.why(&e)?)));
        }
        Ok(Ok(sent))
    }

    /// Puts a finished temporary file in place.
    fn rename(&mut self, tmp: PathBuf, target: PathBuf, bytes: u64) -> Result<(), Failure> {
        match self.sftp.rename(&tmp, &target, None) {
            Ok(()) => {
                self.tally.copied(shown(&target), bytes);
                Ok(())
            }
            Err(e) => {
                let why = self.why(&e)?;
                match self.sftp.lstat(&target) {
                    // A symlink in the way is replaced, never followed (a
                    // `mv` onto a link to a directory would move into it).
                    Ok(st) if st.file_type() == ssh2::FileType::Symlink => {
                        match self
                            .sftp
                            .unlink(&target)
                            .and_then(|()| self.sftp.rename(&tmp, &target, None))
                        {
                            Ok(()) => self.tally.copied(shown(&target), bytes),
                            Err(e) => {
                                let why = self.why(&e)?;
                                let _ = self.sftp.unlink(&tmp);
                                self.tally.failed(shown(&target), why);
                            }
                        }
                    }
                    Ok(st) if !st.is_dir() => {
                        let label = shown(&target);
                        self.replace.push((tmp, target, label, bytes));
                    }
                    _ => {
                        let _ = self.sftp.unlink(&tmp);
                        self.tally.failed(shown(&target), why);
                    }
                }
                Ok(())
            }
        }
    }

    fn symlink(&mut self, to: &Path, target: &Path) -> Result<(), Failure> {
        self.check()?;
        let tmp = Self::temp_for(target);
        // OpenSSH's sftp-server takes SSH_FXP_SYMLINK's two paths in the
        // reverse order of the draft; libssh2 sends them as the draft says,
        // so the link's own path goes first here.
        if let Err(e) = self.sftp.symlink(to, &tmp) {
            let why = self.why(&e)?;
            self.tally.failed(shown(target), why);
            return Ok(());
        }
        self.rename(tmp, target.to_path_buf(), 0)
    }

    /// Replaces existing files: one `mv -f` per file, in one command.
    fn finish_replaces(&mut self) -> Result<(), Failure> {
        let pending = std::mem::take(&mut self.replace);
        for chunk in pending.chunks(200) {
            let mut script = String::new();
            let mut movable = Vec::new();
            for (tmp, target, label, bytes) in chunk {
                match (tmp.to_str(), target.to_str()) {
                    (Some(t), Some(d)) => {
                        script.push_str(&format!(
                            "mv -f -T -- {} {} && echo ok || echo failed\n",
                            shell_quote(t),
                            shell_quote(d)
                        ));
                        movable.push((tmp, label, *bytes));
                    }
                    _ => {
                        let _ = self.sftp.unlink(tmp);
                        self.tally.failed(
                            label.clone(),
                            "a name that is not UTF-8 cannot replace an existing file".into(),
                        );
                    }
                }
            }
            if movable.is_empty() {
                continue;
            }
            let mut out = Vec::new();
            let exec = Exec {
                command: "sh -s",
                input: Some(script.as_bytes()),
                pty: false,
                deadline: self.work.deadline,
            };
            let mut err = Vec::new();
            self.conn
                .exec(&exec, self.work.stop, &mut |stream, bytes| {
                    match stream {
                        crate::engine::Stream::Stdout => out.extend_from_slice(bytes),
                        crate::engine::Stream::Stderr => err.extend_from_slice(bytes),
                    }
                    Ok(())
                })?;
            let results: Vec<&str> = std::str::from_utf8(&out).unwrap_or("").lines().collect();
            let err = String::from_utf8_lossy(&err).trim().to_string();
            for (i, (tmp, label, bytes)) in movable.into_iter().enumerate() {
                if results.get(i) == Some(&"ok") {
                    self.tally.copied(label.clone(), bytes);
                } else {
                    let _ = self.sftp.unlink(tmp);
                    let why = if err.is_empty() {
                        "cannot replace the existing file".to_string()
                    } else {
                        err.clone()
                    };
                    self.tally.failed(label.clone(), why);
                }
            }
        }
        Ok(())
    }
}
