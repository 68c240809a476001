//! The engine with a fake connection (no sshd): fanout bound, deadlines,
//! retries, cancellation, one report per host, panics, back-pressure.

use std::io::Read;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::*;

/// A tap that forwards each chunk as it is (weight = its length).
struct Raw;
struct RawTap;

impl Taps<Vec<u8>> for Raw {
    fn tap(&self, _: usize) -> Box<dyn Tap<Vec<u8>>> {
        Box::new(RawTap)
    }
}

impl Tap<Vec<u8>> for RawTap {
    fn data(
        &mut self,
        _: Stream,
        bytes: &[u8],
        outbox: &Outbox<Vec<u8>>,
        deadline: Option<Instant>,
    ) -> Result<(), Failure> {
        outbox.send(bytes.to_vec(), bytes.len(), deadline)
    }
    fn end(&mut self, _: &Outbox<Vec<u8>>, _: bool) {}
}

/// What a fake host does when connected to.
#[derive(Clone)]
enum Behaviour {
    Ok,
    /// Fails this many times as unreachable, then connects.
    Flaky(usize),
    Auth,
    /// Blocks in a socket read (a server that never answers).
    Hang,
}

struct Fake {
    hosts: Vec<Behaviour>,
    tries: Mutex<Vec<usize>>,
    now: AtomicUsize,
    max: AtomicUsize,
    delay: Duration,
}

impl Fake {
    fn new(hosts: Vec<Behaviour>, delay: Duration) -> Arc<Fake> {
        Arc::new(Fake {
            tries: Mutex::new(vec![0; hosts.len()]),
            hosts,
            now: AtomicUsize::new(0),
            max: AtomicUsize::new(0),
            delay,
        })
    }
}

/// A fake connection: counts itself in `now` while alive.
struct Conn(Arc<Fake>);

impl Drop for Conn {
    fn drop(&mut self) {
        self.0.now.fetch_sub(1, Ordering::SeqCst);
    }
}

struct FakeConnector(Arc<Fake>);

impl Connector for FakeConnector {
    type Conn = Conn;
    fn connect(&self, index: usize, stop: &Arc<Stop>) -> Result<Conn, Failure> {
        let fake = &self.0;
        let tries = {
            let mut t = fake.tries.lock().unwrap();
            t[index] += 1;
            t[index]
        };
        match fake.hosts[index] {
            Behaviour::Flaky(n) if tries <= n => {
                return Err(Failure::Unreachable("refused".into()));
            }
            Behaviour::Auth => return Err(Failure::Auth("no key".into())),
            Behaviour::Hang => {
                let (mut a, _b) = UnixStream::pair().unwrap();
                let _watch = stop.watch(a.as_raw_fd(), None);
                let _ = a.read(&mut [0u8; 1]);
                return Err(if stop.cancelled() {
                    Failure::Interrupted
                } else {
                    Failure::Unreachable("closed".into())
                });
            }
            _ => {}
        }
        let n = fake.now.fetch_add(1, Ordering::SeqCst) + 1;
        fake.max.fetch_max(n, Ordering::SeqCst);
        std::thread::sleep(fake.delay);
        Ok(Conn(fake.clone()))
    }
}

/// What the fake job does.
#[derive(Clone, Copy)]
enum Task {
    Exit(i32),
    /// Loops until stopped (cancel or deadline).
    Forever,
    Panic,
    /// Prints this many 64 KiB chunks, counting them in `PRINTED`.
    Print(usize),
}

struct FakeJob(Vec<Task>, Arc<AtomicUsize>);

impl Job<Conn> for FakeJob {
    fn run(&self, _: &mut Conn, work: &mut Work<'_>) -> Result<Finish, Failure> {
        match self.0[work.index] {
            Task::Exit(code) => Ok(Finish::command(Exit {
                code: Some(code),
                signal: None,
            })),
            Task::Forever => loop {
                work.check()?;
                std::thread::sleep(Duration::from_millis(10));
            },
            Task::Panic => panic!("boom"),
            Task::Print(n) => {
                let chunk = vec![b'x'; 64 * 1024];
                for _ in 0..n {
                    work.output(Stream::Stdout, &chunk)?;
                    self.1.fetch_add(1, Ordering::SeqCst);
                }
                Ok(Finish::command(Exit {
                    code: Some(0),
                    signal: None,
                }))
            }
        }
    }
}

struct Run {
    events: Events<Vec<u8>>,
    stop: Arc<Stop>,
    fake: Arc<Fake>,
    printed: Arc<AtomicUsize>,
    count: usize,
}

fn run(hosts: Vec<Behaviour>, tasks: Vec<Task>, settings: Settings, delay: Duration) -> Run {
    let count = hosts.len();
    let fake = Fake::new(hosts, delay);
    let stop = Stop::new();
    let printed = Arc::new(AtomicUsize::new(0));
    let events = start(
        count,
        Arc::new(FakeConnector(fake.clone())),
        Arc::new(FakeJob(tasks, printed.clone())),
        Arc::new(Raw),
        settings,
        stop.clone(),
    );
    Run {
        events,
        stop,
        fake,
        printed,
        count,
    }
}

fn settings(fanout: usize) -> Settings {
    Settings {
        fanout,
        retries: 0,
        timeout: None,
        budget: 1 << 20,
    }
}

impl Run {
    /// Every report, by host index; panics if they take longer than `limit`.
    fn reports(&self, limit: Duration) -> Vec<Report> {
        let until = Instant::now() + limit;
        let mut reports: Vec<Option<Report>> = vec![None; self.count];
        let mut n = 0;
        while n < self.count {
            let left = until.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "only {n} of {} reports", self.count);
            if let Ok(Event::Done(r)) = self.events.recv_timeout(left) {
                assert!(reports[r.index].is_none(), "two reports for one host");
                let i = r.index;
                reports[i] = Some(r);
                n += 1;
            }
        }
        reports.into_iter().map(Option::unwrap).collect()
    }
}

#[test]
fn the_fanout_bound_is_never_exceeded() {
    let r = run(
        vec![Behaviour::Ok; 40],
        vec![Task::Exit(0); 40],
        settings(4),
        Duration::from_millis(20),
    );
    let reports = r.reports(Duration::from_secs(20));
    assert!(reports.iter().all(|r| r.status == Status::Ok));
    assert_eq!(r.fake.max.load(Ordering::SeqCst), 4);
}

#[test]
fn a_deadline_ends_a_job_that_would_run_for_ever() {
    let mut s = settings(2);
    s.timeout = Some(Duration::from_millis(200));
    let started = Instant::now();
    let r = run(
        vec![Behaviour::Ok; 2],
        vec![Task::Forever, Task::Exit(3)],
        s,
        Duration::ZERO,
    );
    let reports = r.reports(Duration::from_secs(5));
    assert_eq!(reports[0].status, Status::Timeout);
    assert_eq!(reports[1].status, Status::Failed);
    assert_eq!(reports[1].exit.code, Some(3));
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[test]
fn only_connection_failures_are_retried() {
    let mut s = settings(4);
    s.retries = 2;
    let r = run(
        vec![
            Behaviour::Flaky(2),
            Behaviour::Flaky(5),
            Behaviour::Auth,
            Behaviour::Ok,
        ],
        vec![Task::Exit(0), Task::Exit(0), Task::Exit(0), Task::Exit(1)],
        s,
        Duration::ZERO,
    );
    let reports = r.reports(Duration::from_secs(10));
    assert_eq!((reports[0].status, reports[0].attempts), (Status::Ok, 3));
    assert_eq!(reports[1].status, Status::Unreachable);
    assert_eq!(r.fake.tries.lock().unwrap()[1], 3);
    assert_eq!(reports[2].status, Status::Auth);
    assert_eq!(r.fake.tries.lock().unwrap()[2], 1);
    assert_eq!(
        (reports[3].status, reports[3].attempts),
        (Status::Failed, 1)
    );
}

#[test]
fn cancel_ends_connecting_running_and_queued_hosts() {
    let mut hosts = vec![Behaviour::Hang, Behaviour::Ok];
    hosts.extend(vec![Behaviour::Ok; 8]);
    let mut tasks = vec![Task::Exit(0), Task::Forever];
    tasks.extend(vec![Task::Exit(0); 8]);
    let r = run(hosts, tasks, settings(2), Duration::ZERO);
    std::thread::sleep(Duration::from_millis(200));
    let cancelled = Instant::now();
    r.stop.cancel(libc::SIGINT);
    let reports = r.reports(Duration::from_secs(2));
    assert!(cancelled.elapsed() < Duration::from_secs(1));
    assert!(reports.iter().all(|r| r.status == Status::Interrupted));
    assert_eq!(reports[5].attempts, 0, "queued hosts never started");
}

#[test]
fn a_job_that_panics_is_that_hosts_error() {
    let r = run(
        vec![Behaviour::Ok; 3],
        vec![Task::Exit(0), Task::Panic, Task::Exit(0)],
        settings(3),
        Duration::ZERO,
    );
    let reports = r.reports(Duration::from_secs(5));
    assert_eq!(reports[1].status, Status::Error);
    assert!(reports[1].error.as_deref().unwrap().contains("boom"));
    assert_eq!(reports[0].status, Status::Ok);
    assert_eq!(reports[2].status, Status::Ok);
    assert_eq!(r.fake.now.load(Ordering::SeqCst), 0, "connections closed");
}

#[test]
fn a_stalled_consumer_stops_the_producers() {
    let budget = 1 << 20;
    let mut s = settings(4);
    s.budget = budget;
    // Four hosts, each printing 16 MiB: 64 MiB in all.
    let r = run(
        vec![Behaviour::Ok; 4],
        vec![Task::Print(256); 4],
        s,
        Duration::ZERO,
    );
    std::thread::sleep(Duration::from_millis(300));
    let chunks = r.printed.load(Ordering::SeqCst);
    assert!(r.events.in_flight() <= budget);
    // Every chunk handed over is in flight: none got past the budget.
    assert!(chunks * 64 * 1024 <= budget, "{chunks} chunks went out");
    // Reading again lets them finish.
    let mut bytes = 0;
    let mut done = 0;
    while done < 4 {
        match r.events.recv_timeout(Duration::from_secs(10)).unwrap() {
            Event::Out(b) => bytes += b.len(),
            Event::Done(rep) => {
                assert_eq!(rep.status, Status::Ok);
                done += 1;
            }
        }
    }
    assert_eq!(bytes, 4 * 256 * 64 * 1024);
}

/// A local job: no connection, the same engine and taps.
struct Echo;

impl Job<()> for Echo {
    fn run(&self, _: &mut (), work: &mut Work<'_>) -> Result<Finish, Failure> {
        let out = std::process::Command::new("sh")
            .args(["-c", &format!("echo local {}", work.index)])
            .output()
            .map_err(|e| Failure::Error(e.to_string()))?;
        work.output(Stream::Stdout, &out.stdout)?;
        Ok(Finish::command(Exit {
            code: out.status.code(),
            signal: None,
        }))
    }
}

#[test]
fn a_local_job_runs_through_the_same_engine() {
    let stop = Stop::new();
    let events = start(
        3,
        Arc::new(Local),
        Arc::new(Echo),
        Arc::new(Raw),
        settings(2),
        stop,
    );
    let mut out = Vec::new();
    let mut done = 0;
    while done < 3 {
        match events.recv_timeout(Duration::from_secs(10)).unwrap() {
            Event::Out(b) => out.push(String::from_utf8(b).unwrap()),
            Event::Done(r) => {
                assert_eq!(r.status, Status::Ok);
                done += 1;
            }
        }
    }
    out.sort();
    assert_eq!(out, ["local 0\n", "local 1\n", "local 2\n"]);
}
