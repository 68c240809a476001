//! Copying files to and from many hosts: rcp's jobs on the engine. An
//! upload's [`plan::Plan`] is walked once and sent to every host over SFTP
//! ([`upload`]); a download walks each host's tree and writes it under
//! `LOCALDIR/HOST/` ([`download`]). Every file lands atomically: written to
//! a temporary name in its target directory, flushed, then renamed over
//! the target, so a reader never sees half of it, and a failed copy leaves
//! the old file untouched. Both run over [`crate::sftp`] on either
//! transport ([`crate::ssh::link`]).

pub mod download;
pub mod plan;
pub mod upload;

use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::Instant;

use serde_json::json;

use crate::engine::{Failure, Finish, Work};
use crate::sftp::{Attrs, Reply};
use crate::ssh::link::{Link, Sftp};

/// One host's side of a copy job: its connection and SFTP session, the
/// run it belongs to, and what has happened to each file so far.
pub struct Remote<'a, 'w> {
    pub link: &'a Link,
    pub sftp: Sftp,
    pub work: &'a Work<'w>,
    pub opts: &'a Options,
    pub tally: Tally,
    /// The host's sha256 of its files, by path (`--checksum` downloads).
    pub sums: std::collections::HashMap<Vec<u8>, String>,
}

impl<'a, 'w> Remote<'a, 'w> {
    /// Opens SFTP on the host's connection.
    pub fn open(
        link: &'a mut Link,
        work: &'a Work<'w>,
        opts: &'a Options,
    ) -> Result<Self, Failure> {
        let sftp = link.sftp(work.deadline, work.stop)?;
        Ok(Remote {
            sftp,
            link: &*link,
            work,
            opts,
            tally: Tally::default(),
            sums: Default::default(),
        })
    }

    /// What a broken SFTP stream means: the run was cancelled, the host's
    /// time ran out (the watchdog cut it), or the connection was lost.
    pub fn lost(&self, e: io::Error) -> Failure {
        match self.work.check() {
            Err(f) => f,
            Ok(()) => Failure::Lost(format!("the connection was lost mid-transfer ({e})")),
        }
    }

    /// Sends one request (already queued as `sent`) and waits for its
    /// reply; nothing else may be in flight.
    pub fn call(&mut self, sent: io::Result<u32>) -> Result<Reply, Failure> {
        let id = sent.map_err(|e| self.lost(e))?;
        self.sftp.wait(id).map_err(|e| self.lost(e))
    }

    /// `lstat` (`follow`: `stat`) of a remote path: its attributes, or
    /// the server's refusal.
    pub fn stat(&mut self, path: &Path, follow: bool) -> Result<Result<Attrs, Reply>, Failure> {
        let p = path.as_os_str().as_bytes();
        let sent = if follow {
            self.sftp.send_stat(p)
        } else {
            self.sftp.send_lstat(p)
        };
        Ok(match self.call(sent)? {
            Reply::Attrs(a) => Ok(a),
            other => Err(other),
        })
    }

    /// Stops between files and blocks when the run is cancelled or late.
    pub fn check(&self) -> Result<(), Failure> {
        self.work.check()
    }
}

/// A path as messages show it.
pub fn shown(p: &Path) -> String {
    p.display().to_string()
}

/// How files are copied, the same for every host.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Keep mode and times.
    pub preserve: bool,
    /// Keep owner and group too (root on both ends).
    pub owner: bool,
    /// Skip files whose size and mtime already match.
    pub update: bool,
    /// Skip files whose content already matches (sha256 on the host).
    pub checksum: bool,
    /// Create missing parent directories of the destination.
    pub mkdir: bool,
    pub recursive: bool,
    /// Bytes moved so far, across hosts (the progress line).
    pub moved: std::sync::Arc<crate::output::summary::Bytes>,
}

impl Options {
    /// Counts `n` more bytes moved.
    pub fn moved(&self, n: u64) {
        self.moved
            .done
            .fetch_add(n, std::sync::atomic::Ordering::Relaxed);
    }
}

/// What happened to one file.
#[derive(Debug)]
pub struct FileResult {
    pub path: String,
    pub action: &'static str,
    pub bytes: u64,
    pub error: Option<String>,
}

/// One host's tally, turned into its report at the end.
#[derive(Debug)]
pub struct Tally {
    pub files: Vec<FileResult>,
    started: Instant,
}

impl Default for Tally {
    fn default() -> Tally {
        Tally {
            files: Vec::new(),
            started: Instant::now(),
        }
    }
}

impl Tally {
    pub fn copied(&mut self, path: String, bytes: u64) {
        self.files.push(FileResult {
            path,
            action: "copied",
            bytes,
            error: None,
        });
    }

    pub fn skipped(&mut self, path: String) {
        self.files.push(FileResult {
            path,
            action: "skipped",
            bytes: 0,
            error: None,
        });
    }

    pub fn failed(&mut self, path: String, error: String) {
        self.files.push(FileResult {
            path,
            action: "failed",
            bytes: 0,
            error: Some(error),
        });
    }

    fn count(&self, action: &str) -> usize {
        self.files.iter().filter(|f| f.action == action).count()
    }

    /// `12 files, 3 skipped, 48.2 MB in 0.9 s`; ok when no file failed.
    pub fn finish(self) -> Finish {
        let copied = self.count("copied");
        let skipped = self.count("skipped");
        let failed: Vec<&FileResult> = self.files.iter().filter(|f| f.action == "failed").collect();
        let bytes: u64 = self.files.iter().map(|f| f.bytes).sum();
        let secs = self.started.elapsed().as_secs_f64();
        let mut summary = format!(
            "{copied} {}, {skipped} skipped, {} in {secs:.1} s",
            if copied == 1 { "file" } else { "files" },
            human_bytes(bytes)
        );
        if !failed.is_empty() {
            summary.push_str(&format!(", {} failed", failed.len()));
        }
        let error = failed.first().map(|f| {
            let more = if failed.len() > 1 {
                format!(" (and {} more)", failed.len() - 1)
            } else {
                String::new()
            };
            format!(
                "{}: {}{more}",
                f.path,
                f.error.as_deref().unwrap_or("failed")
            )
        });
        let detail: Vec<serde_json::Value> = self
            .files
            .iter()
            .map(
                |f| json!({"path": f.path, "action": f.action, "bytes": f.bytes, "error": f.error}),
            )
            .collect();
        Finish {
            ok: failed.is_empty(),
            could_not_run: false,
            exit: Default::default(),
            error,
            fields: vec![
                ("summary", json!(summary)),
                ("copied", json!(copied)),
                ("skipped", json!(skipped)),
                ("failed", json!(failed.len())),
                ("bytes", json!(bytes)),
                ("files", serde_json::Value::Array(detail)),
            ],
        }
    }
}

/// `48.2 MB`, `512 B`.
pub fn human_bytes(n: u64) -> String {
    let n = n as f64;
    if n < 1e3 {
        format!("{n} B")
    } else if n < 1e6 {
        format!("{:.1} kB", n / 1e3)
    } else if n < 1e9 {
        format!("{:.1} MB", n / 1e6)
    } else {
        format!("{:.2} GB", n / 1e9)
    }
}

/// A random name part for temporary files on hosts.
pub fn random_suffix() -> String {
    let mut b = [0u8; 8];
    let _ = getrandom::getrandom(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}
