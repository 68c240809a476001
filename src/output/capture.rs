//! What happens to a host's output as it arrives, on the host's worker
//! thread: cut into whole lines for streaming (a line longer than
//! [`LINE_LIMIT`] goes in pieces, never held whole), the first
//! [`HEAD_LIMIT`] bytes kept for a JSON record, the whole spooled (memory,
//! then disk) for blocks and groups, a digest for grouping, and per-host
//! files (`-o`/`-e`) written as it comes. Only lines and, at the end, the
//! host's [`Kept`] travel to the consumer, through the bounded outbox.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use sha2::Digest;

use super::files::{AtomicFile, Spool};
use crate::engine::{Failure, Outbox, Stream, Tap, Taps};
use crate::ssh::session::plain_error;

/// The longest line sent whole; longer ones are cut into pieces this long.
pub const LINE_LIMIT: usize = 1024 * 1024;
/// Output kept per stream for a host's JSON record.
pub const HEAD_LIMIT: usize = 64 * 1024;

/// Which part of a line a [`Msg::Line`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Piece {
    /// A whole line.
    Whole,
    /// The first piece of a line longer than [`LINE_LIMIT`].
    First,
    /// A later piece of such a line.
    Continued,
}

/// What taps send the consumer.
pub enum Msg {
    /// One line (or piece) of a host's output, its newline included when
    /// it had one.
    Line {
        index: usize,
        stream: Stream,
        bytes: Vec<u8>,
        piece: Piece,
    },
    /// A host's output is complete.
    Kept(Box<Kept>),
}

/// One stream of a host's output, as kept.
#[derive(Debug, Default)]
pub struct Captured {
    /// The first [`HEAD_LIMIT`] bytes (when heads are kept).
    pub head: Vec<u8>,
    /// Every byte, counted.
    pub total: u64,
    pub spool: Option<Spool>,
    pub digest: Option<[u8; 32]>,
}

/// A host's output once it is complete.
#[derive(Debug, Default)]
pub struct Kept {
    pub index: usize,
    pub stdout: Captured,
    pub stderr: Captured,
    /// Per-host files written, and the ones that could not be.
    pub files: Vec<PathBuf>,
    pub file_errors: Vec<String>,
}

impl Kept {
    pub fn stream(&mut self, s: Stream) -> &mut Captured {
        match s {
            Stream::Stdout => &mut self.stdout,
            Stream::Stderr => &mut self.stderr,
        }
    }
}

/// What to do with output: the same for every host.
#[derive(Clone, Debug, Default)]
pub struct Capture {
    /// Send whole lines as they arrive.
    pub lines: bool,
    /// Keep the first [`HEAD_LIMIT`] bytes of each stream.
    pub heads: bool,
    /// Spool each stream whole.
    pub spool: bool,
    /// Digest each stream.
    pub digest: bool,
    /// Write each host's stdout / stderr to `DIR/LABEL`.
    pub outdir: Option<PathBuf>,
    pub errdir: Option<PathBuf>,
    /// Each host's label (its file name in those directories).
    pub labels: Arc<Vec<String>>,
}

impl Taps<Msg> for Capture {
    fn tap(&self, index: usize) -> Box<dyn Tap<Msg>> {
        let label = &self.labels[index];
        let mut kept = Kept {
            index,
            ..Kept::default()
        };
        let mut file = |dir: &Option<PathBuf>| {
            dir.as_ref()
                .and_then(|d| match AtomicFile::create(d, label) {
                    Ok(f) => Some(f),
                    Err(e) => {
                        kept.file_errors.push(format!(
                            "{}/{label}: {}",
                            d.display(),
                            plain_error(&e)
                        ));
                        None
                    }
                })
        };
        let files = [file(&self.outdir), file(&self.errdir)];
        Box::new(HostTap {
            capture: self.clone(),
            partial: [Vec::new(), Vec::new()],
            long: [false, false],
            digests: [sha2::Sha256::new(), sha2::Sha256::new()],
            files,
            kept,
        })
    }
}

struct HostTap {
    capture: Capture,
    /// The unfinished line of each stream.
    partial: [Vec<u8>; 2],
    /// Whether that line was already sent in part.
    long: [bool; 2],
    digests: [sha2::Sha256; 2],
    files: [Option<AtomicFile>; 2],
    kept: Kept,
}

fn slot(s: Stream) -> usize {
    match s {
        Stream::Stdout => 0,
        Stream::Stderr => 1,
    }
}

impl HostTap {
    fn send_line(
        &mut self,
        stream: Stream,
        bytes: Vec<u8>,
        ends_line: bool,
        outbox: &Outbox<Msg>,
        deadline: Option<Instant>,
    ) -> Result<(), Failure> {
        let i = slot(stream);
        let piece = match (self.long[i], ends_line) {
            (false, true) => Piece::Whole,
            (false, false) => Piece::First,
            (true, _) => Piece::Continued,
        };
        self.long[i] = !ends_line;
        let weight = bytes.len() + 64;
        outbox.send(
            Msg::Line {
                index: self.kept.index,
                stream,
                bytes,
                piece,
            },
            weight,
            deadline,
        )
    }
}

impl Tap<Msg> for HostTap {
    fn data(
        &mut self,
        stream: Stream,
        bytes: &[u8],
        outbox: &Outbox<Msg>,
        deadline: Option<Instant>,
    ) -> Result<(), Failure> {
        let i = slot(stream);
        if let Some(f) = &mut self.files[i]
            && let Err(e) = f.write_all(bytes)
        {
            let target = f.target().display().to_string();
            self.kept
                .file_errors
                .push(format!("{target}: {}", plain_error(&e)));
            self.files[i] = None;
        }
        let c = self.kept.stream(stream);
        c.total += bytes.len() as u64;
        if self.capture.heads && c.head.len() < HEAD_LIMIT {
            let room = HEAD_LIMIT - c.head.len();
            c.head.extend_from_slice(&bytes[..bytes.len().min(room)]);
        }
        if self.capture.spool {
            c.spool.get_or_insert_with(Spool::default).push(bytes);
        }
        if self.capture.digest {
            self.digests[i].update(bytes);
        }
        if !self.capture.lines {
            return Ok(());
        }
        let mut rest = bytes;
        while !rest.is_empty() {
            let room = LINE_LIMIT - self.partial[i].len();
            let window = &rest[..rest.len().min(room)];
            match memchr::memchr(b'\n', window) {
                Some(nl) => {
                    let mut line = std::mem::take(&mut self.partial[i]);
                    line.extend_from_slice(&window[..=nl]);
                    self.send_line(stream, line, true, outbox, deadline)?;
                    rest = &rest[nl + 1..];
                }
                None if window.len() == room => {
                    // A full piece with no newline: send it as it is.
                    let mut piece = std::mem::take(&mut self.partial[i]);
                    piece.extend_from_slice(window);
                    self.send_line(stream, piece, false, outbox, deadline)?;
                    rest = &rest[window.len()..];
                }
                None => {
                    self.partial[i].extend_from_slice(window);
                    rest = &[];
                }
            }
        }
        Ok(())
    }

    fn end(&mut self, outbox: &Outbox<Msg>, complete: bool) {
        for stream in [Stream::Stdout, Stream::Stderr] {
            let i = slot(stream);
            if !self.partial[i].is_empty() {
                let last = std::mem::take(&mut self.partial[i]);
                // A last line without a newline still ends here.
                let _ = self.send_line(stream, last, true, outbox, None);
            }
            if self.capture.digest {
                let d = std::mem::take(&mut self.digests[i]).finalize();
                self.kept.stream(stream).digest = Some(d.into());
            }
            if let Some(spool) = &self.kept.stream(stream).spool
                && let Some(e) = &spool.error
            {
                let which = match stream {
                    Stream::Stdout => "stdout",
                    Stream::Stderr => "stderr",
                };
                let e = format!("(its {which} spool): {e}; the output shown is incomplete");
                self.kept.file_errors.push(e);
            }
            if let Some(f) = self.files[i].take() {
                let target = f.target().display().to_string();
                // Output cut off goes beside the file, never over it.
                let committed = if complete {
                    f.commit()
                } else {
                    let name = format!("{}.partial", self.capture.labels[self.kept.index]);
                    f.commit_as(&name)
                };
                match committed {
                    Ok(path) => self.kept.files.push(path),
                    Err(e) => self
                        .kept
                        .file_errors
                        .push(format!("{target}: {}", plain_error(&e))),
                }
            }
        }
        let kept = std::mem::take(&mut self.kept);
        let weight = kept.stdout.head.len() + kept.stderr.head.len() + 256;
        let _ = outbox.send(Msg::Kept(Box::new(kept)), weight, None);
    }
}
