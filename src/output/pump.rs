//! Standard output and standard error for tools that act on hosts: each a
//! writer thread behind a bounded queue. The reader of our output never
//! decides what runs where: when it stops reading, the queue fills, the
//! consumer waits, workers wait, hosts are held back by SSH flow control —
//! memory stays bounded. When it goes away (a broken pipe), further output
//! is dropped and the run completes. When the run is cancelled, output
//! still queued for a reader that does not read is dropped, so a signal
//! ends the run at once (`2>&1 | less` included). Any other write error (a
//! full disk) is kept and reported at the end.

use std::fs::File;
use std::io::{self, Write};
use std::mem::ManuallyDrop;
use std::os::fd::FromRawFd;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{SendTimeoutError, Sender};

use crate::stop::Stop;

/// Bytes gathered before a block goes to the writer.
const BLOCK: usize = 64 * 1024;
/// Blocks queued for the writer.
const QUEUE: usize = 4;

#[derive(Default)]
struct State {
    /// The reader went away.
    closed: AtomicBool,
    /// A write failed otherwise.
    error: Mutex<Option<io::Error>>,
    /// Blocks handed to the writer, and blocks it is done with.
    shipped: AtomicU64,
    written: AtomicU64,
}

/// Counts a block as done when the writer is through with it.
struct Done<'a>(&'a AtomicU64);

impl Drop for Done<'_> {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

/// A buffered, bounded standard stream.
pub struct Pump {
    buf: Vec<u8>,
    tx: Option<Sender<Vec<u8>>>,
    writer: Option<JoinHandle<()>>,
    state: Arc<State>,
    stop: Arc<Stop>,
    /// When, after a cancel, output that cannot go at once is dropped.
    give_up_at: Option<Instant>,
}

/// Whether fd 1 was closed when the process started. Rust's runtime opens
/// /dev/null on a closed standard descriptor before `main`, so this is
/// read earlier, by a constructor the loader runs before the runtime's
/// own setup.
static CLOSED_AT_START: AtomicBool = AtomicBool::new(false);

#[used]
#[unsafe(link_section = ".init_array")]
static CHECK_AT_START: extern "C" fn() = {
    extern "C" fn check() {
        // SAFETY: F_GETFD on a descriptor number only reads its flags.
        let closed = unsafe { libc::fcntl(1, libc::F_GETFD) } == -1;
        CLOSED_AT_START.store(closed, Ordering::Relaxed);
    }
    check
};

/// Whether standard output was open at the start (`>&-` closes it).
pub fn is_open() -> bool {
    let _ = &CHECK_AT_START;
    !CLOSED_AT_START.load(Ordering::Relaxed)
}

impl Pump {
    /// Standard output.
    pub fn stdout(stop: Arc<Stop>) -> Pump {
        Pump::new(1, stop)
    }

    /// Standard error.
    pub fn stderr(stop: Arc<Stop>) -> Pump {
        Pump::new(2, stop)
    }

    fn new(fd: i32, stop: Arc<Stop>) -> Pump {
        let (tx, rx) = crossbeam_channel::bounded::<Vec<u8>>(QUEUE);
        let state = Arc::new(State::default());
        let st = state.clone();
        let writer = std::thread::Builder::new()
            .name(if fd == 1 { "stdout" } else { "stderr" }.to_string())
            .stack_size(128 * 1024)
            .spawn(move || {
                // SAFETY: fds 1 and 2 stay open for the process's life; the
                // File is never dropped, so it is never closed here.
                let mut out = ManuallyDrop::new(unsafe { File::from_raw_fd(fd) });
                for block in rx {
                    let _done = Done(&st.written);
                    if st.closed.load(Ordering::Relaxed) {
                        continue;
                    }
                    if let Ok(err) = st.error.lock()
                        && err.is_some()
                    {
                        continue;
                    } else if let Err(e) = out.write_all(&block) {
                        if e.kind() == io::ErrorKind::BrokenPipe {
                            st.closed.store(true, Ordering::Relaxed);
                        } else if let Ok(mut err) = st.error.lock() {
                            *err = Some(e);
                        }
                    }
                }
            })
            .ok();
        Pump {
            buf: Vec::with_capacity(BLOCK),
            tx: Some(tx),
            writer,
            state,
            stop,
            give_up_at: None,
        }
    }

    /// Whether the reader went away.
    pub fn closed(&self) -> bool {
        self.state.closed.load(Ordering::Relaxed)
    }

    /// Hands what is buffered to the writer, waiting for room (but not
    /// once the run is cancelled or the reader is gone).
    fn ship(&mut self) {
        if self.buf.is_empty() {
            return;
        }
        let mut block = std::mem::replace(&mut self.buf, Vec::with_capacity(BLOCK));
        let Some(tx) = &self.tx else { return };
        loop {
            if self.closed() {
                return;
            }
            // Once the run is cancelled, a reader gets half a second more;
            // after that, what cannot go at once is dropped.
            if self.stop.cancelled() {
                let until = *self
                    .give_up_at
                    .get_or_insert_with(|| Instant::now() + Duration::from_millis(500));
                if Instant::now() >= until {
                    let _ = tx.try_send(block);
                    return;
                }
            }
            match tx.send_timeout(block, Duration::from_millis(50)) {
                Ok(()) => {
                    self.state.shipped.fetch_add(1, Ordering::Relaxed);
                    return;
                }
                Err(SendTimeoutError::Timeout(b)) => block = b,
                Err(SendTimeoutError::Disconnected(_)) => return,
            }
        }
    }

    /// Hands over what is buffered and waits (up to `max`) until it is
    /// written: a progress line on the terminal then lands after it.
    pub fn settle(&mut self, max: Duration) {
        self.ship();
        let until = Instant::now() + max;
        while self.state.written.load(Ordering::Relaxed)
            < self.state.shipped.load(Ordering::Relaxed)
            && Instant::now() < until
        {
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// Ends writing: waits for the writer to drain (briefly when the run
    /// was cancelled), then says what went wrong, if anything did.
    pub fn finish(&mut self) -> Result<(), io::Error> {
        self.ship();
        self.tx = None;
        if let Some(writer) = self.writer.take() {
            if self.stop.cancelled() {
                // A reader that does not read must not hold the summary.
                let until = Instant::now() + Duration::from_millis(500);
                while !writer.is_finished() && Instant::now() < until {
                    std::thread::sleep(Duration::from_millis(10));
                }
                if writer.is_finished() {
                    let _ = writer.join();
                }
            } else {
                let _ = writer.join();
            }
        }
        match self.state.error.lock().ok().and_then(|mut e| e.take()) {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

impl Write for Pump {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(bytes);
        if self.buf.len() >= BLOCK {
            self.ship();
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.ship();
        Ok(())
    }
}
