//! A download from one host: each remote path (trees with `-r`) lands
//! under `LOCALDIR/HOST/` (the host's label, as rrun's `-o` names it), so
//! nothing from one host overwrites another's. Each file is streamed into
//! a temporary file created `O_EXCL|O_NOFOLLOW` in its local directory,
//! fsynced, then renamed: `LOCALDIR/HOST/file` appears whole or not at all.

use std::io::{Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ssh2::FileStat;

use super::{Options, Remote, shown};
use crate::engine::{Failure, Finish, Job, Work};
use crate::output::files::{AtomicFile, safe_name};
use crate::ssh::session::{Connection, plain_error};

const BLOCK: usize = 1024 * 1024;

/// rcp's download job.
pub struct Download {
    pub sources: Vec<PathBuf>,
    pub localdir: PathBuf,
    /// Each host's label: its directory under `localdir`.
    pub labels: Arc<Vec<String>>,
    pub opts: Options,
}

impl Job<Connection> for Download {
    fn run(&self, conn: &mut Connection, work: &mut Work<'_>) -> Result<Finish, Failure> {
        let work: &Work<'_> = &*work;
        let mut host = Remote::open(conn, work, &self.opts)?;
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
        for src in &self.sources {
            host.check()?;
            let st = match host.sftp.lstat(src) {
                Ok(st) => st,
                Err(e) => {
                    let why = host.why(&e)?;
                    host.tally.failed(shown(src), why);
                    continue;
                }
            };
            let Some(name) = src.file_name().filter(|n| safe_name(&n.to_string_lossy())) else {
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
    fn entry(&mut self, src: &Path, st: &FileStat, dir: &Path, name: &[u8]) -> Result<(), Failure> {
        self.check()?;
        let name = std::ffi::OsStr::from_bytes(name);
        let local = dir.join(name);
        let kind = st.file_type();
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
            let children = match self.sftp.readdir(src) {
                Ok(c) => c,
                Err(e) => {
                    let why = self.why(&e)?;
                    self.tally.failed(shown(src), why);
                    return Ok(());
                }
            };
            let mut children: Vec<_> = children
                .into_iter()
                .filter(|(p, _)| {
                    !matches!(
                        p.file_name().map(|n| n.as_bytes()),
                        Some(b".") | Some(b"..") | None
                    )
                })
                .collect();
            children.sort_by(|a, b| a.0.cmp(&b.0));
            for (path, _) in children {
                // readdir's attributes follow links: look again.
                let st = match self.sftp.lstat(&path) {
                    Ok(st) => st,
                    Err(e) => {
                        let why = self.why(&e)?;
                        self.tally.failed(shown(&path), why);
                        continue;
                    }
                };
                let child = path
                    .file_name()
                    .map(|n| n.as_bytes().to_vec())
                    .unwrap_or_default();
                self.entry(&path, &st, &local, &child)?;
            }
            if self.opts.preserve {
                set_times(&local, st);
                set_mode(&local, st);
            }
        } else if kind == ssh2::FileType::Symlink {
            match self.sftp.readlink(src) {
                Ok(to) => match replace_symlink(&to, dir, name) {
                    Ok(()) => self.tally.copied(shown(src), 0),
                    Err(e) => self.tally.failed(shown(src), e),
                },
                Err(e) => {
                    let why = self.why(&e)?;
                    self.tally.failed(shown(src), why);
                }
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

    fn up_to_date(&self, src: &Path, st: &FileStat, local: &Path) -> Result<bool, Failure> {
        use std::os::unix::fs::MetadataExt;
        let Ok(meta) = std::fs::symlink_metadata(local) else {
            return Ok(false);
        };
        if !meta.is_file() {
            return Ok(false);
        }
        if self.opts.checksum {
            let Some(path) = src.to_str() else {
                return Ok(false);
            };
            let command = format!("sha256sum -- {}", crate::ssh::shell_quote(path));
            let mut out = Vec::new();
            let exec = crate::ssh::session::Exec {
                command: &command,
                input: None,
                pty: false,
                deadline: self.work.deadline,
            };
            self.conn
                .exec(&exec, self.work.stop, &mut |stream, bytes| {
                    if stream == crate::engine::Stream::Stdout {
                        out.extend_from_slice(bytes);
                    }
                    Ok(())
                })?;
            let remote = String::from_utf8_lossy(&out);
            let remote = remote.split_whitespace().next().unwrap_or("");
            return Ok(super::plan::sha256_file(local).is_ok_and(|l| l == remote));
        }
        if self.opts.update {
            return Ok(st.size == Some(meta.len()) && st.mtime == Some(meta.mtime().max(0) as u64));
        }
        Ok(false)
    }

    /// Streams one remote file into place; returns its size.
    fn fetch(
        &self,
        src: &Path,
        st: &FileStat,
        dir: &Path,
        name: &std::ffi::OsStr,
    ) -> Result<Result<u64, String>, Failure> {
        let mut remote = match self.sftp.open(src) {
            Ok(f) => f,
            Err(e) => return Ok(Err(self.why(&e)?)),
        };
        let name = name.to_string_lossy();
        let mut file = match AtomicFile::create(dir, &name) {
            Ok(f) => f,
            Err(e) => {
                return Ok(Err(format!(
                    "{}: {}",
                    dir.join(&*name).display(),
                    plain_error(&e)
                )));
            }
        };
        let mut buf = vec![0u8; BLOCK];
        let mut got = 0u64;
        loop {
            self.check()?;
            let n = match remote.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) => {
                    self.check()?;
                    return Err(Failure::Lost(format!(
                        "the connection was lost mid-transfer ({e})"
                    )));
                }
            };
            if let Err(e) = file.write_all(&buf[..n]) {
                return Ok(Err(format!(
                    "{}: {}",
                    file.target().display(),
                    plain_error(&e)
                )));
            }
            got += n as u64;
        }
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

fn set_mode(path: &Path, st: &FileStat) {
    use std::os::unix::fs::PermissionsExt;
    if let Some(perm) = st.perm {
        let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(perm & 0o7777));
    }
}

fn set_times(path: &Path, st: &FileStat) {
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
