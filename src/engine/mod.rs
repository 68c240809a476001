//! The engine every tool runs on: a boss hands hosts to a bounded pool of
//! N workers (threadpool, small stacks); each worker connects to its host
//! through the tool's [`Connector`] (SSH, or nothing for a local job),
//! retrying connection failures only, then runs the tool's [`Job`] on that
//! connection. What the job prints goes through a per-host [`Tap`] made by
//! the output layer, and on to the one consumer through a bounded
//! [`Outbox`]; then the host's [`Report`] follows. Exactly one report per
//! host, whatever happens: a failed connect, a deadline, a cancelled run,
//! a job that panics.
//!
//! The engine knows no flags, no terminal and no tool: tools hand it a
//! connector, a job and taps, and the output layer reads its events.

pub mod event;
pub mod outbox;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

pub use event::{Event, Exit, Failure, Finish, Report, Status, Stream};
pub use outbox::{Events, Outbox};

use crate::stop::Stop;

/// Worker stack size: libssh2 and OpenSSL need little, and a thousand
/// workers with the default 2 MiB would reserve 2 GiB.
const STACK: usize = 512 * 1024;

/// Opens the connection a job runs on.
pub trait Connector: Send + Sync + 'static {
    type Conn;
    /// Connects to host `index`; must give up when `stop` is cancelled.
    fn connect(&self, index: usize, stop: &Arc<Stop>) -> Result<Self::Conn, Failure>;
}

/// A tool's work on one connected host.
pub trait Job<C>: Send + Sync + 'static {
    fn run(&self, conn: &mut C, work: &mut Work<'_>) -> Result<Finish, Failure>;
}

/// Where a job's output goes: made per host by the output layer, it turns
/// bytes into its own messages for the consumer.
pub trait Tap<M>: Send {
    /// Bytes the job produced. May wait for room in the outbox.
    fn data(
        &mut self,
        stream: Stream,
        bytes: &[u8],
        outbox: &Outbox<M>,
        deadline: Option<Instant>,
    ) -> Result<(), Failure>;
    /// The job ended: flush what is held. `complete` is false when it was
    /// cut off (cancelled, past its deadline, connection lost), so what was
    /// captured is only part of its output.
    fn end(&mut self, outbox: &Outbox<M>, complete: bool);
}

/// Makes a host's tap when its job starts (hosts never reached get none).
pub trait Taps<M>: Send + Sync + 'static {
    fn tap(&self, index: usize) -> Box<dyn Tap<M>>;
}

/// A local job: no connection at all.
pub struct Local;

impl Connector for Local {
    type Conn = ();
    fn connect(&self, _: usize, stop: &Arc<Stop>) -> Result<(), Failure> {
        if stop.cancelled() {
            return Err(Failure::Interrupted);
        }
        Ok(())
    }
}

/// How a run goes.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Hosts at once.
    pub fanout: usize,
    /// Extra attempts after a connection failure (never after the job started).
    pub retries: u32,
    /// Each host's job deadline, from the moment it starts.
    pub timeout: Option<Duration>,
    /// Bytes in flight between workers and the consumer.
    pub budget: usize,
}

/// What a job sees of the run.
pub struct Work<'a> {
    pub index: usize,
    pub stop: &'a Arc<Stop>,
    /// When the job must be over.
    pub deadline: Option<Instant>,
    out: &'a mut crate::outcome::OnOutput<'a>,
}

impl Work<'_> {
    /// Hands output to the tap; may wait (back-pressure). An `Err` means
    /// stop now (cancelled, or the deadline passed while waiting).
    pub fn output(&mut self, stream: Stream, bytes: &[u8]) -> Result<(), Failure> {
        (self.out)(stream, bytes)
    }

    /// Cancelled, or past the deadline: what to fail with.
    pub fn check(&self) -> Result<(), Failure> {
        if self.stop.cancelled() {
            return Err(Failure::Interrupted);
        }
        if self.deadline.is_some_and(|d| Instant::now() >= d) {
            return Err(Failure::Timeout("did not finish in time".to_string()));
        }
        Ok(())
    }
}

/// Runs `job` on `count` hosts; events arrive on the returned end, and
/// the run is over when `count` reports have arrived.
pub fn start<C, J, M>(
    count: usize,
    connector: Arc<C>,
    job: Arc<J>,
    taps: Arc<dyn Taps<M>>,
    settings: Settings,
    stop: Arc<Stop>,
) -> Events<M>
where
    C: Connector,
    J: Job<C::Conn>,
    M: Send + 'static,
{
    let (outbox, events) = outbox::bounded(settings.budget, stop.clone());
    let threads = settings.fanout.clamp(1, count.max(1));
    std::thread::Builder::new()
        .name("boss".to_string())
        .spawn(move || {
            let pool = threadpool::Builder::new()
                .num_threads(threads)
                .thread_stack_size(STACK)
                .thread_name("worker".to_string())
                .build();
            for index in 0..count {
                let (connector, job, taps) = (connector.clone(), job.clone(), taps.clone());
                let (settings, stop, outbox) = (settings.clone(), stop.clone(), outbox.clone());
                pool.execute(move || {
                    let started = SystemTime::now();
                    let report = catch_unwind(AssertUnwindSafe(|| {
                        host(index, &*connector, &*job, &*taps, &settings, &stop, &outbox)
                    }))
                    .unwrap_or_else(|panic| {
                        let what = panic_message(&panic);
                        let f = Failure::Error(format!("internal error: {what}"));
                        Report::failed(index, &f, started)
                    });
                    outbox.done(report);
                });
            }
            pool.join();
        })
        .expect("start the boss thread");
    events
}

/// One host, start to end.
fn host<C: Connector, J: Job<C::Conn>, M: 'static>(
    index: usize,
    connector: &C,
    job: &J,
    taps: &dyn Taps<M>,
    settings: &Settings,
    stop: &Arc<Stop>,
    outbox: &Outbox<M>,
) -> Report {
    if stop.cancelled() {
        return Report::not_started(index);
    }
    let started = SystemTime::now();
    let clock = Instant::now();
    let mut attempts = 0;
    let connected = loop {
        attempts += 1;
        match connector.connect(index, stop) {
            Err(Failure::Unreachable(_)) if attempts <= settings.retries && !stop.cancelled() => {
                // Back off a little, waking for a cancel.
                let until = Instant::now() + Duration::from_millis(200 * attempts as u64);
                while Instant::now() < until && !stop.cancelled() {
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
            other => break other,
        }
    };
    let finished = connected.and_then(|mut conn| {
        let mut tap = taps.tap(index);
        let deadline = settings.timeout.map(|t| Instant::now() + t);
        let mut out = |stream: Stream, bytes: &[u8]| tap.data(stream, bytes, outbox, deadline);
        let mut work = Work {
            index,
            stop,
            deadline,
            out: &mut out,
        };
        let result = catch_unwind(AssertUnwindSafe(|| job.run(&mut conn, &mut work)))
            .unwrap_or_else(|panic| {
                Err(Failure::Error(format!(
                    "internal error: {}",
                    panic_message(&panic)
                )))
            });
        drop(conn);
        tap.end(outbox, result.is_ok());
        result
    });
    let mut report = match finished {
        Ok(f) => Report {
            index,
            status: match (f.ok, f.could_not_run) {
                (true, _) => Status::Ok,
                (false, false) => Status::Failed,
                (false, true) => Status::Error,
            },
            exit: f.exit,
            error: f.error,
            fields: f.fields,
            started,
            duration: Duration::ZERO,
            attempts,
        },
        Err(f) => Report::failed(index, &f, started),
    };
    report.attempts = attempts;
    report.duration = clock.elapsed();
    report
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "the job panicked".to_string())
}

#[cfg(test)]
mod tests;
