//! Cancellation and deadlines that always hold.
//!
//! A [`Stop`] is shared by everything in one run. Cancelling it (a signal,
//! a closed terminal) is seen by loops that poll it, and — because a thread
//! inside a blocking libssh2 call polls nothing — a watchdog thread shuts
//! down every watched socket at once. Each socket is watched with its own
//! deadline too (connect, then the command's): at the deadline the watchdog
//! shuts it down, so no server, however it misbehaves, holds a worker past
//! its deadline.
//!
//! A socket is unwatched (under the same lock) before it is closed, so the
//! watchdog never shuts down a descriptor number that was reused.

use std::collections::HashMap;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

/// How often the watchdog looks at deadlines.
const TICK: Duration = Duration::from_millis(50);

/// One run's cancellation and socket watchdog.
pub struct Stop {
    cancelled: AtomicBool,
    /// The signal that cancelled the run (0: none, or not a signal).
    signal: AtomicI32,
    since: Mutex<Option<Instant>>,
    watched: Mutex<HashMap<u64, Watched>>,
    next: AtomicU64,
}

struct Watched {
    fd: RawFd,
    deadline: Option<Instant>,
    /// How long after a cancel the socket is cut (a job that can clean
    /// up — remove a half-written temporary file — gets that long).
    grace: Duration,
    fired: bool,
}

impl Stop {
    /// A new, running stop with its watchdog thread (which ends with it).
    pub fn new() -> Arc<Stop> {
        let stop = Arc::new(Stop {
            cancelled: AtomicBool::new(false),
            signal: AtomicI32::new(0),
            since: Mutex::new(None),
            watched: Mutex::new(HashMap::new()),
            next: AtomicU64::new(0),
        });
        let weak = Arc::downgrade(&stop);
        let _ = std::thread::Builder::new()
            .name("watchdog".to_string())
            .stack_size(64 * 1024)
            .spawn(move || watchdog(weak));
        stop
    }

    /// Cancels the run: loops see it, watched sockets are shut down now.
    pub fn cancel(&self, signal: i32) {
        if !self.cancelled.swap(true, Ordering::SeqCst) {
            self.signal.store(signal, Ordering::SeqCst);
            if let Ok(mut since) = self.since.lock() {
                *since = Some(Instant::now());
            }
        }
        self.sweep();
    }

    pub fn cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Relaxed)
    }

    /// The signal that cancelled the run, if one did.
    pub fn signal(&self) -> Option<i32> {
        match self.signal.load(Ordering::SeqCst) {
            0 => None,
            s => Some(s),
        }
    }

    /// How long ago the run was cancelled.
    pub fn cancelled_for(&self) -> Option<Duration> {
        self.since.lock().ok()?.map(|t| t.elapsed())
    }

    /// Watches `fd` until the returned guard is dropped: it is shut down
    /// when the run is cancelled or `deadline` passes.
    pub fn watch(self: &Arc<Self>, fd: RawFd, deadline: Option<Instant>) -> Watch {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut w) = self.watched.lock() {
            w.insert(
                id,
                Watched {
                    fd,
                    deadline,
                    grace: Duration::ZERO,
                    fired: false,
                },
            );
        }
        self.sweep();
        Watch {
            stop: self.clone(),
            id,
        }
    }

    /// Shuts down every socket whose time has come.
    fn sweep(&self) {
        let since = self.cancelled_for();
        let now = Instant::now();
        let Ok(mut watched) = self.watched.lock() else {
            return;
        };
        for w in watched.values_mut() {
            let cancelled = since.is_some_and(|t| t >= w.grace);
            if !w.fired && (cancelled || w.deadline.is_some_and(|d| now >= d)) {
                w.fired = true;
                // SAFETY: the descriptor is open: it is unwatched under this
                // lock before its owner closes it.
                unsafe {
                    libc::shutdown(w.fd, libc::SHUT_RDWR);
                }
            }
        }
    }
}

fn watchdog(stop: Weak<Stop>) {
    loop {
        std::thread::sleep(TICK);
        match stop.upgrade() {
            Some(stop) => stop.sweep(),
            None => return,
        }
    }
}

/// A watched socket; dropping it ends the watch (drop it before closing
/// the socket).
pub struct Watch {
    stop: Arc<Stop>,
    id: u64,
}

impl Watch {
    /// Moves the deadline (the connect deadline, then the command's).
    pub fn set_deadline(&self, deadline: Option<Instant>) {
        if let Ok(mut w) = self.stop.watched.lock()
            && let Some(w) = w.get_mut(&self.id)
        {
            w.deadline = deadline;
        }
        self.stop.sweep();
    }

    /// Lets the job see a cancel and clean up for `grace` before the
    /// socket is cut.
    pub fn set_grace(&self, grace: Duration) {
        if let Ok(mut w) = self.stop.watched.lock()
            && let Some(w) = w.get_mut(&self.id)
        {
            w.grace = grace;
        }
    }

    /// Whether the watchdog shut the socket down.
    pub fn fired(&self) -> bool {
        self.stop
            .watched
            .lock()
            .ok()
            .and_then(|w| w.get(&self.id).map(|w| w.fired))
            .unwrap_or(false)
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        if let Ok(mut w) = self.stop.watched.lock() {
            w.remove(&self.id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::os::fd::AsRawFd;
    use std::os::unix::net::UnixStream;

    #[test]
    fn a_deadline_unblocks_a_blocked_read() {
        let stop = Stop::new();
        let (mut a, _b) = UnixStream::pair().unwrap();
        let started = Instant::now();
        let watch = stop.watch(a.as_raw_fd(), Some(started + Duration::from_millis(200)));
        let mut buf = [0u8; 8];
        assert_eq!(a.read(&mut buf).unwrap(), 0);
        assert!(watch.fired());
        assert!(started.elapsed() < Duration::from_secs(2));
    }

    #[test]
    fn cancel_unblocks_every_watched_socket() {
        let stop = Stop::new();
        let pairs: Vec<_> = (0..3).map(|_| UnixStream::pair().unwrap()).collect();
        let readers: Vec<_> = pairs
            .into_iter()
            .map(|(mut a, b)| {
                let watch = stop.watch(a.as_raw_fd(), None);
                std::thread::spawn(move || {
                    let _keep = (b, watch);
                    let mut buf = [0u8; 8];
                    a.read(&mut buf).unwrap()
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(100));
        stop.cancel(libc::SIGTERM);
        for r in readers {
            assert_eq!(r.join().unwrap(), 0);
        }
        assert_eq!(stop.signal(), Some(libc::SIGTERM));
    }
}
