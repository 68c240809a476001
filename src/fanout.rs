//! The fanout engine: a boss hands hosts to a bounded pool of N workers
//! (threadpool, small stacks); each worker opens one session, runs the
//! command and reports through a channel — whole output lines as they come,
//! then the host's [`Report`]. Retries (connection failures only), the
//! command deadline and cancellation (Ctrl-C) live here.
//!
//! The engine knows no flags and no terminal: the caller turns events into
//! output.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::time::{Duration, Instant, SystemTime};

use crate::hosts::Target;
use crate::ssh::auth::Credentials;
use crate::ssh::session::{self, Context, Destination, Exit, Failure, Stream};

/// Worker stack size: libssh2 and OpenSSL need little, and a thousand
/// workers with the default 2 MiB would reserve 2 GiB.
const STACK: usize = 512 * 1024;

/// What to run, the same on every host.
pub struct Plan {
    pub command: String,
    /// Sent to every host's command as its stdin.
    pub input: Option<Arc<Vec<u8>>>,
    /// Per-host command deadline.
    pub timeout: Option<Duration>,
    /// Extra attempts after a connection failure.
    pub retries: u32,
    /// Workers.
    pub fanout: usize,
    /// Keep each host's whole stdout and stderr in its report.
    pub keep_output: bool,
    /// Send each output line as an [`Event::Line`].
    pub stream_lines: bool,
}

/// What every worker shares.
pub struct Shared {
    pub credentials: Credentials,
}

/// One host, resolved.
#[derive(Clone, Debug)]
pub struct Host {
    pub target: Target,
    pub dest: Destination,
}

/// A host's outcome class, as printed in `--json` and the summary.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Status {
    Ok,
    Failed,
    Unreachable,
    Auth,
    HostKey,
    Timeout,
    Interrupted,
}

impl Status {
    pub fn name(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Failed => "failed",
            Status::Unreachable => "unreachable",
            Status::Auth => "auth",
            Status::HostKey => "hostkey",
            Status::Timeout => "timeout",
            Status::Interrupted => "interrupted",
        }
    }
}

/// How one host went.
#[derive(Clone, Debug)]
pub struct Report {
    /// The host's position in the list.
    pub index: usize,
    pub host: Host,
    pub status: Status,
    pub exit: Exit,
    /// Whole output, when the plan keeps it.
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub error: Option<String>,
    pub started: SystemTime,
    pub duration: Duration,
}

/// What the engine tells its caller.
pub enum Event {
    /// One whole line (its newline included; a last line without one gets one).
    Line {
        index: usize,
        stream: Stream,
        line: Vec<u8>,
    },
    /// A host is done.
    Done(Box<Report>),
}

/// Starts running `plan` on `hosts`; events arrive on the returned channel,
/// ending with one `Done` per host.
pub fn start(
    hosts: Vec<Host>,
    plan: Arc<Plan>,
    shared: Arc<Shared>,
    cancel: Arc<AtomicBool>,
) -> Receiver<Event> {
    let (tx, rx) = channel();
    std::thread::spawn(move || boss(hosts, plan, shared, cancel, tx));
    rx
}

fn boss(
    hosts: Vec<Host>,
    plan: Arc<Plan>,
    shared: Arc<Shared>,
    cancel: Arc<AtomicBool>,
    tx: Sender<Event>,
) {
    let pool = threadpool::Builder::new()
        .num_threads(plan.fanout.clamp(1, hosts.len().max(1)))
        .thread_stack_size(STACK)
        .thread_name("rrun-worker".to_string())
        .build();
    for (index, host) in hosts.into_iter().enumerate() {
        let (plan, shared, cancel, tx) = (plan.clone(), shared.clone(), cancel.clone(), tx.clone());
        pool.execute(move || {
            let report = if cancel.load(Ordering::Relaxed) {
                not_run(index, host)
            } else {
                work(index, host, &plan, &shared, &cancel, &tx)
            };
            let _ = tx.send(Event::Done(Box::new(report)));
        });
    }
    pool.join();
}

/// A host left alone because of Ctrl-C.
fn not_run(index: usize, host: Host) -> Report {
    Report {
        index,
        host,
        status: Status::Interrupted,
        exit: Exit::default(),
        stdout: Vec::new(),
        stderr: Vec::new(),
        error: Some("not run: interrupted".to_string()),
        started: SystemTime::now(),
        duration: Duration::ZERO,
    }
}

fn work(
    index: usize,
    host: Host,
    plan: &Plan,
    shared: &Shared,
    cancel: &AtomicBool,
    tx: &Sender<Event>,
) -> Report {
    let started = SystemTime::now();
    let clock = Instant::now();
    let ctx = Context {
        credentials: &shared.credentials,
        cancel,
    };
    let mut attempt = 0;
    let connection = loop {
        match session::connect(&host.dest, &ctx) {
            Err(Failure::Unreachable(_))
                if attempt < plan.retries && !cancel.load(Ordering::Relaxed) =>
            {
                attempt += 1;
                std::thread::sleep(Duration::from_millis(200 * attempt as u64));
            }
            other => break other,
        }
    };
    let mut lines = Lines::new(index, plan, tx);
    let result = connection.and_then(|conn| {
        let deadline = plan.timeout.map(|t| Instant::now() + t);
        let input = plan.input.as_deref().map(|v| v.as_slice());
        let exit = conn.run(
            &plan.command,
            input,
            deadline,
            cancel,
            &mut |stream, bytes| lines.push(stream, bytes),
        );
        conn.disconnect();
        exit
    });
    lines.finish();
    let (status, exit, error) = match result {
        Ok(exit) => {
            let ok = exit.code == Some(0) && exit.signal.is_none();
            let error = exit
                .signal
                .as_ref()
                .map(|s| format!("killed by signal {s}"));
            (if ok { Status::Ok } else { Status::Failed }, exit, error)
        }
        Err(f) => {
            let status = match f {
                Failure::Unreachable(_) => Status::Unreachable,
                Failure::Auth(_) => Status::Auth,
                Failure::HostKey(_) => Status::HostKey,
                Failure::Timeout(_) => Status::Timeout,
                Failure::Interrupted => Status::Interrupted,
            };
            (status, Exit::default(), Some(f.message().to_string()))
        }
    };
    Report {
        index,
        host,
        status,
        exit,
        stdout: lines.stdout,
        stderr: lines.stderr,
        error,
        started,
        duration: clock.elapsed(),
    }
}

/// Cuts a host's output into whole lines for events, and keeps it whole
/// when the plan asks.
struct Lines<'a> {
    index: usize,
    tx: &'a Sender<Event>,
    stream_lines: bool,
    keep: bool,
    partial: [Vec<u8>; 2],
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

impl<'a> Lines<'a> {
    fn new(index: usize, plan: &Plan, tx: &'a Sender<Event>) -> Lines<'a> {
        Lines {
            index,
            tx,
            stream_lines: plan.stream_lines,
            keep: plan.keep_output,
            partial: [Vec::new(), Vec::new()],
            stdout: Vec::new(),
            stderr: Vec::new(),
        }
    }

    fn push(&mut self, stream: Stream, bytes: &[u8]) {
        if self.keep {
            match stream {
                Stream::Stdout => self.stdout.extend_from_slice(bytes),
                Stream::Stderr => self.stderr.extend_from_slice(bytes),
            }
        }
        if !self.stream_lines {
            return;
        }
        let partial = &mut self.partial[stream as usize];
        let mut rest = bytes;
        while let Some(nl) = memchr::memchr(b'\n', rest) {
            let mut line = std::mem::take(partial);
            line.extend_from_slice(&rest[..=nl]);
            let _ = self.tx.send(Event::Line {
                index: self.index,
                stream,
                line,
            });
            rest = &rest[nl + 1..];
        }
        partial.extend_from_slice(rest);
    }

    /// A last line without a newline gets one.
    fn finish(&mut self) {
        for stream in [Stream::Stdout, Stream::Stderr] {
            let partial = &mut self.partial[stream as usize];
            if !partial.is_empty() {
                let mut line = std::mem::take(partial);
                line.push(b'\n');
                let _ = self.tx.send(Event::Line {
                    index: self.index,
                    stream,
                    line,
                });
            }
        }
    }
}
