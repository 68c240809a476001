//! Reading ahead on a second thread. Reading a file (the kernel copying
//! it out of the page cache) and indexing it ([`super::index::Stage`])
//! take about a third of the time of formatting it; here they are done a
//! chunk ahead, on another core, while the formatter works through the
//! chunk before. Used for regular files only, whose reads never block, so
//! the thread always ends when the formatter stops taking chunks.
//!
//! Windows must follow each other exactly, so a chunk's last bytes short
//! of a whole 64-byte block are held back and indexed with the next
//! chunk's first ones (the index of a block depends on the blocks before
//! it, never after, so holding back changes nothing); at the end of input
//! they are indexed as they are.

use std::collections::VecDeque;
use std::io::{self, Read};
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};

use super::index::{SENTINEL, Stage, Window};
use super::simd::Level;

/// Bytes read at a time.
pub const CHUNK: usize = 256 * 1024;
/// Room before a chunk's bytes in its buffer, so the formatter can put
/// the bytes it keeps from the chunk before there and take the buffer as
/// its own, instead of copying the chunk.
pub const PREFIX: usize = 64 * 1024;
/// Chunks read and indexed but not yet taken.
const DEPTH: usize = 2;

/// What the thread sends: a read's bytes and their window.
pub struct Chunk {
    /// The bytes read are at `data[PREFIX..PREFIX + len]`.
    pub data: Vec<u8>,
    /// Bytes read (0 at the end of input).
    pub len: usize,
    /// The window, whose `start` counts back from the first byte of
    /// `data`: it begins with the bytes held back from the chunk before.
    pub window: Window,
    /// The chunk's bytes checked as UTF-8 (see [`Utf8`]).
    pub utf8: Utf8,
    /// Newlines among the chunk's bytes: counted here, where the bytes
    /// were just read and the thread has time to spare, so the formatter
    /// keeps its line count by counting only the few bytes it keeps.
    pub newlines: u64,
    pub result: io::Result<()>,
}

/// A chunk's UTF-8 check, done on the thread: where all input before the
/// last `carried` bytes before the chunk (a character the last read cut)
/// was UTF-8, all before `valid_end` (counted from the chunk's first
/// byte; negative: back into those carried bytes) is.
#[derive(Clone, Copy, Debug, Default)]
pub struct Utf8 {
    pub carried: usize,
    pub valid_end: isize,
}

/// The formatter's end: chunks in order, and their buffers going back.
pub struct Ahead {
    chunks: Receiver<Chunk>,
    spent: Sender<Vec<u8>>,
}

impl Ahead {
    /// Starts reading `reader` ahead on a thread of `scope`; gives the
    /// reader back if no thread can be started (a process limit), so it
    /// can be read on this one.
    pub fn start<'scope, R: Read + Send + 'scope>(
        scope: &'scope std::thread::Scope<'scope, '_>,
        reader: R,
        level: Level,
    ) -> Result<Ahead, R> {
        let (send, chunks) = mpsc::sync_channel(DEPTH);
        let (spent, recycled) = mpsc::channel();
        // The reader goes over once the thread exists: a failed spawn
        // would otherwise take it down with the closure.
        let (give, take) = mpsc::sync_channel::<R>(1);
        let spawned = std::thread::Builder::new()
            .name("read-ahead".to_string())
            .spawn_scoped(scope, move || {
                if let Ok(reader) = take.recv() {
                    read_ahead(reader, level, send, recycled);
                }
            });
        match spawned {
            Ok(_) => {
                give.send(reader).expect("the thread waits for its reader");
                Ok(Ahead { chunks, spent })
            }
            Err(_) => Err(reader),
        }
    }

    /// The next chunk; `None` once the thread has ended.
    pub fn next(&self) -> Option<Chunk> {
        self.chunks.recv().ok()
    }

    /// Gives a chunk's buffer back for another read.
    pub fn recycle(&self, data: Vec<u8>) {
        let _ = self.spent.send(data);
    }
}

/// The thread: reads, indexes and sends until the end of input, a read
/// error, or the formatter no longer taking chunks.
fn read_ahead<R: Read>(
    mut reader: R,
    level: Level,
    send: SyncSender<Chunk>,
    recycled: Receiver<Vec<u8>>,
) {
    let mut stage = Stage::new(level);
    let mut utf8 = Utf8Check::default();
    // Bytes of the last chunk short of a whole block.
    let mut held: Vec<u8> = Vec::with_capacity(64);
    loop {
        let mut data = recycled
            .try_recv()
            .ok()
            .filter(|d| d.len() >= PREFIX + CHUNK)
            .unwrap_or_else(|| vec![0; PREFIX + CHUNK]);
        let read = loop {
            match reader.read(&mut data[PREFIX..PREFIX + CHUNK]) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => break other,
            }
        };
        let (len, result) = match read {
            Ok(n) => (n, Ok(())),
            Err(e) => (0, Err(e)),
        };
        let ended = len == 0;
        let mut entries = Vec::new();
        let back = held.len();
        let covered = if ended {
            // The last bytes, as they are: a block of them, then spaces
            // (which make no entries).
            let mut block = [b' '; 64];
            block[..back].copy_from_slice(&held);
            stage.index(&block, &mut entries, 0);
            entries.retain(|&e| (e as usize) < back);
            back
        } else {
            index_chunk(
                &mut stage,
                &mut held,
                &data[PREFIX..PREFIX + len],
                &mut entries,
            )
        };
        entries.push(SENTINEL);
        let utf8 = utf8.check(&data[PREFIX..PREFIX + len]);
        let newlines = memchr::memchr_iter(b'\n', &data[PREFIX..PREFIX + len]).count() as u64;
        let chunk = Chunk {
            data,
            len,
            window: Window {
                start: -(back as isize),
                len: covered,
                entries,
            },
            utf8,
            newlines,
            result,
        };
        if send.send(chunk).is_err() || ended {
            return;
        }
    }
}

/// UTF-8 checked a read at a time (simdutf8), a character cut by a
/// read's edge carried over to the next.
#[derive(Default)]
struct Utf8Check {
    /// The start of a character the last read cut.
    cut: Vec<u8>,
    /// An invalid byte was found: nothing after it counts.
    broken: bool,
}

impl Utf8Check {
    fn check(&mut self, data: &[u8]) -> Utf8 {
        let carried = self.cut.len();
        // Nothing new is known: all before the cut character, as before.
        let stays = Utf8 {
            carried,
            valid_end: -(carried as isize),
        };
        if self.broken {
            return stays;
        }
        // The cut character first, completed from this read.
        let mut from = 0;
        if carried > 0 {
            let want: usize = match self.cut[0] {
                0xF0..=0xF7 => 4,
                0xE0..=0xEF => 3,
                _ => 2,
            };
            from = want.saturating_sub(carried).min(data.len());
            self.cut.extend_from_slice(&data[..from]);
            match simdutf8::compat::from_utf8(&self.cut) {
                Ok(_) => self.cut.clear(),
                Err(e) if e.error_len().is_none() => {
                    // Still cut (a read of a byte or two): the next read
                    // counts them as carried.
                    return stays;
                }
                Err(_) => {
                    self.broken = true;
                    return stays;
                }
            }
        }
        let rest = &data[from..];
        let valid = match simdutf8::compat::from_utf8(rest) {
            Ok(_) => rest.len(),
            Err(e) => {
                let up_to = e.valid_up_to();
                if e.error_len().is_none() {
                    self.cut.extend_from_slice(&rest[up_to..]);
                } else {
                    self.broken = true;
                }
                up_to
            }
        };
        Utf8 {
            carried,
            valid_end: (from + valid) as isize,
        }
    }
}

/// Indexes `held` then `data`, as far as whole blocks go: the first block
/// is put together from both, the rest read in place. What is left short
/// of a block becomes `held`. Returns how many bytes were indexed.
fn index_chunk(
    stage: &mut Stage,
    held: &mut Vec<u8>,
    data: &[u8],
    entries: &mut Vec<u32>,
) -> usize {
    let back = held.len();
    if back + data.len() < 64 {
        held.extend_from_slice(data);
        return 0;
    }
    let first = 64 - back;
    let mut block = [0u8; 64];
    block[..back].copy_from_slice(held);
    block[back..].copy_from_slice(&data[..first]);
    stage.index(&block, entries, 0);
    let rest = &data[first..];
    let whole = rest.len() / 64 * 64;
    stage.index(&rest[..whole], entries, 64);
    held.clear();
    held.extend_from_slice(&rest[whole..]);
    64 + whole
}

/// Windows a [`super::source::Source`] has been given and the index not
/// yet taken.
pub type Pending = VecDeque<Window>;

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that hands out its bytes in the sizes given, in turn.
    struct Trickle<'a> {
        data: &'a [u8],
        sizes: &'a [usize],
        turn: usize,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.sizes[self.turn % self.sizes.len()]
                .min(buf.len())
                .min(self.data.len());
            self.turn += 1;
            buf[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    /// Whatever sizes the input comes in, read ahead or not, the output
    /// and the error are those of one read of it all: a mistake right
    /// after deep indentation takes the dangling indentation back.
    #[test]
    fn output_does_not_depend_on_the_sizes_of_reads() {
        use crate::json::{Indent, Layout, Options, format_slice, format_stream};
        let inputs = [
            // The dangling indentation of the 511th level, then a mistake
            // (found by the fuzzer).
            format!("{}\0{}", "[".repeat(511), "[".repeat(1000)),
            "[".repeat(3000),
            format!("{}1{}", "[".repeat(600), "]".repeat(600)),
            format!(r#"{}"a\uD83D\uDE00""#, r#"{"k": "#.repeat(300)),
            "[1, \"two\", {\"b\": 2, \"a\": [true, null]}, 3".to_string(),
        ];
        let mut inputs: Vec<Vec<u8>> = inputs.into_iter().map(String::into_bytes).collect();
        // Characters of every length cut by the reads, checked as UTF-8
        // on the thread, then a bad byte and a cut character at the end.
        let text = "[\"é東😀\", \"aé\", \"😀😀\"]".repeat(30);
        inputs.push(text.clone().into_bytes());
        let mut bad = text.clone().into_bytes();
        bad.extend_from_slice(b"[\"ok\", \"\xff\"]");
        inputs.push(bad);
        let mut cut = text.into_bytes();
        cut.extend_from_slice(b"[\"\xf0\x9f\x98");
        inputs.push(cut);
        let layouts = [
            Layout::Pretty(Indent::Spaces(2)),
            Layout::Pretty(Indent::Tab),
            Layout::Compact,
        ];
        for input in &inputs {
            for layout in layouts {
                for (sort_keys, unescape) in [(false, false), (true, false), (false, true)] {
                    let options = Options {
                        layout,
                        sort_keys,
                        unescape,
                        ..Options::default()
                    };
                    let (want, want_result) = format_slice(input, &options);
                    let want_result = want_result.map_err(|e| format!("{e:?}"));
                    for sizes in [&[1usize, 2, 3][..], &[63, 64, 65], &[4096]] {
                        let trickle = || Trickle {
                            data: input,
                            sizes,
                            turn: 0,
                        };
                        let mut out = Vec::new();
                        let result = format_stream(trickle(), &mut out, &options);
                        assert!(out == want, "{options:?} {sizes:?}");
                        assert_eq!(result.map_err(|e| format!("{e:?}")), want_result);
                        let mut out = Vec::new();
                        let result = crate::json::format_ahead(trickle(), &mut out, &options);
                        assert!(out == want, "ahead {options:?} {sizes:?}");
                        assert_eq!(result.map_err(|e| format!("{e:?}")), want_result);
                    }
                }
            }
        }
    }

    /// Windows read ahead in any sizes of read are the index of the whole.
    #[test]
    fn windows_follow_each_other_whatever_the_reads() {
        let mut text = Vec::new();
        for i in 0..2000 {
            text.extend_from_slice(
                [
                    &br#"{"k\"ey": [1, -2.5e3, true, null], "s": "a\\"}"#[..],
                    b"  \n",
                    "\"é東\"".as_bytes(),
                    br#"[12345678901234567890, "\\\\\\\"" ]"#,
                ][i % 4],
            );
        }
        let level = Level::detect();
        if level == Level::Portable {
            return;
        }
        let mut whole = Vec::new();
        let mut block = [b' '; 64];
        let full = text.len() / 64 * 64;
        let mut stage = Stage::new(level);
        stage.index(&text[..full], &mut whole, 0);
        block[..text.len() - full].copy_from_slice(&text[full..]);
        let mut tail = Vec::new();
        stage.index(&block, &mut tail, full as u32);
        whole.extend(tail.into_iter().filter(|&e| (e as usize) < text.len()));
        for sizes in [&[1usize][..], &[63, 64, 65], &[7, 200, 1], &[CHUNK]] {
            let found = std::thread::scope(|scope| {
                let reader = Trickle {
                    data: &text,
                    sizes,
                    turn: 0,
                };
                let Ok(ahead) = Ahead::start(scope, reader, level) else {
                    panic!("no thread")
                };
                let (mut at, mut next, mut found) = (0isize, 0isize, Vec::new());
                while let Some(chunk) = ahead.next() {
                    let w = chunk.window;
                    assert_eq!(at + w.start, next, "{sizes:?}");
                    found.extend(
                        w.entries
                            .iter()
                            .take_while(|&&e| e != SENTINEL)
                            .map(|&e| (at + w.start) as u32 + e),
                    );
                    next = at + w.start + w.len as isize;
                    at += chunk.len as isize;
                }
                assert_eq!(next, text.len() as isize, "{sizes:?}");
                found
            });
            assert_eq!(found, whole, "{sizes:?}");
        }
    }
}
