//! A download from one host: each remote path (trees with `-r`) lands
//! under `LOCALDIR/HOST/` (the host's label, as rrun's `-o` names it), so
//! nothing from one host overwrites another's. Each file is streamed into
//! a temporary file created `O_EXCL|O_NOFOLLOW` in its local directory,
//! fsynced, then renamed: `LOCALDIR/HOST/file` appears whole or not at all.

use std::collections::VecDeque;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{Options, Remote, shown};
use crate::engine::{Failure, Finish, Job, Work};
use crate::output::files::{AtomicFile, safe_name};
use crate::sftp::{self, Attrs, CHUNK, EOF, READ_WINDOW, Reply};
use crate::ssh::link::Link;
use crate::ssh::session::plain_error;

/// A directory entry: its name and (lstat) attributes.
type Child = (Vec<u8>, Attrs);

/// rcp's download job.
pub struct Download {
    pub sources: Vec<PathBuf>,
    pub localdir: PathBuf,
    /// Each host's label: its directory under `localdir`.
    pub labels: Arc<Vec<String>>,
    pub opts: Options,
}

impl Job<Link> for Download {
    fn run(&self, link: &mut Link, work: &mut Work<'_>) -> Result<Finish, Failure> {
        let work: &Work<'_> = &*work;
        let mut host = Remote::open(link, work, &self.opts)?;
        let label = &self.labels[work.index];
        if !safe_name(label) {
            return Err(Failure::Error(format!(
                "'{label}' is not a safe directory name"
            )));
        }
        let base = self.localdir.join(label);
        if let Err(e) = own_dir(&base) {
            return Err(Failure::Error(format!(
                "{}: {}",
                base.display(),
                plain_error(&e)
            )));
        }
        if self.opts.checksum {
            // Every remote file's sum in one command, before the walk:
            // the sources go in NUL-separated on its standard input.
            let mut names = Vec::new();
            for src in &self.sources {
                names.extend_from_slice(src.as_os_str().as_bytes());
                names.push(0);
            }
            let (_, out) = host.link.run(
                "xargs -0 -r sh -c 'find -P \"$@\" -type f -print0' sh 2>/dev/null | xargs -0 -r sha256sum -- 2>/dev/null",
                &names,
                work.stop,
                work.deadline,
                256 << 20,
            )?;
            host.sums = super::upload::parse_sums(&out).into_iter().collect();
        }
        for src in &self.sources {
            host.check()?;
            let st = match host.stat(src, false)? {
                Ok(st) => st,
                Err(r) => {
                    host.tally.failed(shown(src), r.error());
                    continue;
                }
            };
            let Some(name) = src.file_name().filter(|n| safe_name(n)) else {
                host.tally
                    .failed(shown(src), "has no file name to copy to".into());
                continue;
            };
            host.entry(src, &st, &base, name.as_bytes())?;
        }
        Ok(host.tally.finish())
    }
}

/// The download's steps, on the host's SFTP context.
impl Remote<'_, '_> {
    /// Copies one remote entry into local directory `dir` as `name`.
    fn entry(&mut self, src: &Path, st: &Attrs, dir: &Path, name: &[u8]) -> Result<(), Failure> {
        self.check()?;
        let name = std::ffi::OsStr::from_bytes(name);
        let local = dir.join(name);
        if st.is_dir() {
            if !self.opts.recursive {
                self.tally.failed(
                    shown(src),
                    "is a directory (use -r to copy directories)".into(),
                );
                return Ok(());
            }
            if let Err(e) = own_dir(&local) {
                self.tally.failed(
                    shown(src),
                    format!("{}: {}", local.display(), plain_error(&e)),
                );
                return Ok(());
            }
            let children = match self.readdir(src)? {
                Ok(c) => c,
                Err(why) => {
                    self.tally.failed(shown(src), why);
                    return Ok(());
                }
            };
            // The attributes OpenSSH's readdir gives are lstat's: a link
            // is a link.
            for (child, st) in children {
                self.entry(
                    &src.join(std::ffi::OsStr::from_bytes(&child)),
                    &st,
                    &local,
                    &child,
                )?;
            }
            if self.opts.preserve {
                set_times(&local, st);
                set_mode(&local, st);
            }
        } else if st.is_symlink() {
            let sent = self.sftp.send_readlink(src.as_os_str().as_bytes());
            match self.call(sent)? {
                Reply::Name(names) if !names.is_empty() => {
                    let to = Path::new(std::ffi::OsStr::from_bytes(&names[0].0));
                    match replace_symlink(to, dir, name) {
                        Ok(()) => self.tally.copied(shown(src), 0),
                        Err(e) => self.tally.failed(shown(src), e),
                    }
                }
                other => self.tally.failed(shown(src), other.error()),
            }
        } else if st.is_file() {
            if self.up_to_date(src, st, &local)? {
                self.tally.skipped(shown(src));
                return Ok(());
            }
            match self.fetch(src, st, dir, name)? {
                Ok(bytes) => self.tally.copied(shown(src), bytes),
                Err(why) => self.tally.failed(shown(src), why),
            }
        } else {
            self.tally.failed(
                shown(src),
                "skipped: not a regular file, directory or symlink".into(),
            );
        }
        Ok(())
    }

    fn up_to_date(&self, src: &Path, st: &Attrs, local: &Path) -> Result<bool, Failure> {
        use std::os::unix::fs::MetadataExt;
        let Ok(meta) = std::fs::symlink_metadata(local) else {
            return Ok(false);
        };
        if !meta.is_file() {
            return Ok(false);
        }
        if self.opts.checksum {
            let Some(remote) = self.sums.get(src.as_os_str().as_bytes()) else {
                return Ok(false);
            };
            return Ok(super::plan::sha256_file(local).is_ok_and(|l| &l == remote));
        }
        if self.opts.update {
            return Ok(
                st.size == Some(meta.len()) && st.mtime.map(i64::from) == Some(meta.mtime().max(0))
            );
        }
        Ok(false)
    }

    /// A remote directory's entries (without `.` and `..`), sorted.
    fn readdir(&mut self, dir: &Path) -> Result<Result<Vec<Child>, String>, Failure> {
        let sent = self.sftp.send_opendir(dir.as_os_str().as_bytes());
        let handle = match self.call(sent)? {
            Reply::Handle(h) => h,
            other => return Ok(Err(other.error())),
        };
        let mut entries = Vec::new();
        let result = loop {
            let sent = self.sftp.send_readdir(&handle);
            match self.call(sent)? {
                Reply::Name(names) => entries.extend(
                    names
                        .into_iter()
                        .filter(|(n, _)| n != b"." && n != b".." && !n.contains(&b'/')),
                ),
                Reply::Status(EOF, _) => break Ok(()),
                other => break Err(other.error()),
            }
        };
        let sent = self.sftp.send_close(&handle);
        self.call(sent)?;
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(result.map(|()| entries))
    }

    /// Streams one remote file into place, [`READ_WINDOW`] reads in flight;
    /// returns its size.
    fn fetch(
        &mut self,
        src: &Path,
        st: &Attrs,
        dir: &Path,
        name: &std::ffi::OsStr,
    ) -> Result<Result<u64, String>, Failure> {
        let sent = self
            .sftp
            .send_open(src.as_os_str().as_bytes(), sftp::READ, &Attrs::default());
        let handle = match self.call(sent)? {
            Reply::Handle(h) => h,
            other => return Ok(Err(other.error())),
        };
        let mut file = match AtomicFile::create(dir, name) {
            Ok(f) => f,
            Err(e) => {
                let sent = self.sftp.send_close(&handle);
                self.call(sent)?;
                return Ok(Err(format!(
                    "{}: {}",
                    dir.join(name).display(),
                    plain_error(&e)
                )));
            }
        };
        let got = self.read_into(&handle, st.size, &mut file)?;
        let sent = self.sftp.send_close(&handle);
        self.call(sent)?;
        let got = match got {
            Ok(n) => n,
            Err(why) => return Ok(Err(why)),
        };
        let target = file.target().to_path_buf();
        if let Err(e) = file.commit() {
            return Ok(Err(format!("{}: {}", target.display(), plain_error(&e))));
        }
        if self.opts.preserve {
            set_mode(&target, st);
            set_times(&target, st);
        }
        Ok(Ok(got))
    }

    /// Reads an open remote file into `file`: reads of [`CHUNK`] bytes
    /// sent ahead, their replies taken in order (a server answers one
    /// handle's requests in order). A short read before the end (allowed,
    /// if rare) drops the reads sent past it and goes on from there.
    fn read_into(
        &mut self,
        handle: &[u8],
        size: Option<u64>,
        file: &mut AtomicFile,
    ) -> Result<Result<u64, String>, Failure> {
        let mut queue: VecDeque<(u32, u64)> = VecDeque::new();
        let (mut next, mut written) = (0u64, 0u64);
        let (mut eof, mut resync) = (false, false);
        let mut error = None;
        loop {
            self.check()?;
            while !eof && !resync && error.is_none() && queue.len() < READ_WINDOW {
                let id = self
                    .sftp
                    .send_read(handle, next, CHUNK as u32)
                    .map_err(|e| self.lost(e))?;
                queue.push_back((id, next));
                next += CHUNK as u64;
            }
            let Some((want, offset)) = queue.pop_front() else {
                if resync && error.is_none() {
                    resync = false;
                    next = written;
                    continue;
                }
                break;
            };
            let (id, reply) = self.sftp.recv().map_err(|e| self.lost(e))?;
            if id != want {
                return Err(Failure::Lost("SFTP replies out of order".to_string()));
            }
            if resync || eof || error.is_some() {
                continue;
            }
            match reply {
                Reply::Data(d) if offset == written => {
                    if let Err(e) = file.write_all(&d) {
                        error = Some(format!("{}: {}", file.target().display(), plain_error(&e)));
                        continue;
                    }
                    written += d.len() as u64;
                    self.opts.moved(d.len() as u64);
                    if d.len() < CHUNK {
                        // The end, if the size said so (saves a round trip).
                        if size.is_some_and(|s| written >= s) {
                            eof = true;
                        } else {
                            resync = true;
                        }
                    }
                }
                Reply::Status(EOF, _) => eof = true,
                other => error = Some(other.error()),
            }
        }
        Ok(match error {
            Some(e) => Err(e),
            None => Ok(written),
        })
    }
}

/// Makes `dir` a real directory of ours: what a host sent earlier may have
/// left a symlink (or a file) at that name, and following it would write
/// outside LOCALDIR/HOST; it is removed and a directory made in its place.
fn own_dir(dir: &Path) -> std::io::Result<()> {
    match std::fs::symlink_metadata(dir) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => {
            std::fs::remove_file(dir)?;
            std::fs::create_dir(dir)
        }
        Err(_) => std::fs::create_dir_all(dir),
    }
}

fn set_mode(path: &Path, st: &Attrs) {
    use std::os::unix::fs::PermissionsExt;
    if let Some(perm) = st.perm {
        let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(perm & 0o7777));
    }
}

fn set_times(path: &Path, st: &Attrs) {
    let (Some(mtime), Some(atime)) = (st.mtime, st.atime) else {
        return;
    };
    let Ok(c) = std::ffi::CString::new(path.as_os_str().as_bytes()) else {
        return;
    };
    let times = [
        libc::timespec {
            tv_sec: atime as libc::time_t,
            tv_nsec: 0,
        },
        libc::timespec {
            tv_sec: mtime as libc::time_t,
            tv_nsec: 0,
        },
    ];
    // SAFETY: a valid C path and two timespecs; the link itself is not
    // followed.
    unsafe {
        libc::utimensat(
            libc::AT_FDCWD,
            c.as_ptr(),
            times.as_ptr(),
            libc::AT_SYMLINK_NOFOLLOW,
        );
    }
}

/// Makes `dir/name` a symlink to `to`, replacing what is there atomically.
fn replace_symlink(to: &Path, dir: &Path, name: &std::ffi::OsStr) -> Result<(), String> {
    let tmp = dir.join(format!(
        ".{}.rcp-{}.tmp",
        name.to_string_lossy(),
        super::random_suffix()
    ));
    std::os::unix::fs::symlink(to, &tmp).map_err(|e| plain_error(&e))?;
    std::fs::rename(&tmp, dir.join(name)).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        plain_error(&e)
    })
}
