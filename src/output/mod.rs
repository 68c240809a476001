//! Output every tool shares, and the consumer loop: engine events come in,
//! the tool's [`Display`] turns them into its output, and this layer does
//! what is common — the tally and summary, the live progress line,
//! `--failed`, `--log`, per-host file errors, the grace period after a
//! signal, and the exit status (its policy lives here, in one place).
//!
//! Standard output and error go through [`pump::Pump`]s (bounded; a
//! closed or slow reader never changes what runs, and never holds up the
//! end of a run after a signal).

pub mod capture;
pub mod display;
pub mod files;
pub mod pump;
pub mod record;
pub mod summary;

use std::fs::{File, OpenOptions};
use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::cli::exit;
use crate::engine::{Event, Events, Report, Status};
use crate::ssh::session::plain_error;
use crate::stop::Stop;
use capture::Msg;
use summary::{Progress, Tally};

/// After a signal, how long hosts get to report before the run ends
/// without them.
const GRACE: Duration = Duration::from_millis(1500);

/// Some job failed on a reached host.
pub const FAILED: i32 = 1;
/// Some host could not be reached, authenticated, or finished in time.
pub const UNREACHED: i32 = 3;

/// One host as output names it.
#[derive(Clone, Debug)]
pub struct HostInfo {
    /// In output lines and file names.
    pub label: String,
    /// As written in a host list (user and port included), for `--failed`.
    pub entry: String,
    pub user: String,
    pub port: u16,
}

/// The settings every tool shares.
#[derive(Clone, Debug, Default)]
pub struct Settings {
    /// `rrun`, `rcp`: the prefix of messages.
    pub tool: &'static str,
    pub failed: Option<PathBuf>,
    pub log: Option<PathBuf>,
    pub colour_out: bool,
    pub colour_err: bool,
    pub progress: bool,
    /// Bytes moved, shown on the progress line (rcp).
    pub bytes: Option<Arc<summary::Bytes>>,
    /// What the run counts, when not hosts: ("check", "checks").
    pub noun: Option<(&'static str, &'static str)>,
    /// No summary (`-q`): under xargs, one "1 host: 1 ok" per call is noise.
    pub quiet: bool,
    /// `-S`: exit with the largest remote exit status (pdsh -S).
    pub largest_exit: bool,
}

impl Settings {
    /// Checks, before anything runs, that the files can be written.
    pub fn check(&self) -> Result<(), String> {
        if !pump::is_open() {
            return Err("standard output is closed; redirect it to a file or /dev/null".into());
        }
        if let Some(f) = &self.failed {
            files::check_file(f).map_err(|e| format!("--failed: {e}"))?;
        }
        Ok(())
    }
}

/// What a display sees.
pub struct Cx<'a> {
    pub out: &'a mut pump::Pump,
    pub err: &'a mut pump::Pump,
    pub hosts: &'a [HostInfo],
    pub tally: &'a Tally,
    pub settings: &'a Settings,
}

/// A tool's way of showing its output.
pub trait Display {
    /// A message from a host's tap.
    fn message(&mut self, msg: Msg, cx: &mut Cx) -> io::Result<()>;
    /// A host finished (after its messages).
    fn done(&mut self, report: &Report, cx: &mut Cx) -> io::Result<()>;
    /// After the last host, before the summary.
    fn finish(&mut self, _cx: &mut Cx) -> io::Result<()> {
        Ok(())
    }
}

/// Consumes a run's events to the end; returns the exit status.
pub fn drive(
    settings: Settings,
    hosts: Vec<HostInfo>,
    events: Events<Msg>,
    stop: Arc<Stop>,
    display: &mut dyn Display,
) -> i32 {
    let tool = settings.tool;
    let mut run = match Run::new(settings, hosts, stop.clone()) {
        Ok(r) => r,
        Err(e) => {
            exit::report(tool, e);
            return exit::USAGE;
        }
    };
    run.go(events, display);
    run.end(display)
}

struct Run {
    settings: Settings,
    hosts: Vec<HostInfo>,
    stop: Arc<Stop>,
    out: pump::Pump,
    err: pump::Pump,
    tally: Tally,
    progress: Option<Progress>,
    reported: Vec<bool>,
    log: Option<File>,
    /// A local error (a file) that makes the exit status 2.
    local_error: bool,
    /// Hosts whose output files could not be written.
    files_failed: Vec<String>,
    out_is_terminal: bool,
}

impl Run {
    fn new(settings: Settings, hosts: Vec<HostInfo>, stop: Arc<Stop>) -> Result<Run, String> {
        let log = match &settings.log {
            Some(path) => Some(
                OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map_err(|e| format!("--log {}: {}", path.display(), plain_error(&e)))?,
            ),
            None => None,
        };
        let mut tally = Tally::new(hosts.len());
        if let Some(noun) = settings.noun {
            tally.noun = noun;
        }
        Ok(Run {
            progress: settings.progress.then(Progress::new),
            tally,
            reported: vec![false; hosts.len()],
            out: pump::Pump::stdout(stop.clone()),
            err: pump::Pump::stderr(stop.clone()),
            settings,
            hosts,
            stop,
            log,
            local_error: false,
            files_failed: Vec::new(),
            out_is_terminal: std::io::stdout().is_terminal(),
        })
    }

    fn say(&mut self, what: impl std::fmt::Display) {
        let _ = writeln!(self.err, "{}: {what}", self.settings.tool);
    }

    fn go(&mut self, events: Events<Msg>, display: &mut dyn Display) {
        let total = self.hosts.len();
        while self.tally.done < total {
            let event = match events.recv_timeout(Duration::from_millis(100)) {
                Ok(e) => e,
                Err(crossbeam_channel::RecvTimeoutError::Timeout) => {
                    self.flush();
                    if self.stop.cancelled_for().is_some_and(|t| t > GRACE) {
                        self.abandon(display);
                        return;
                    }
                    self.draw();
                    continue;
                }
                Err(_) => {
                    self.abandon(display);
                    return;
                }
            };
            if let Some(p) = &mut self.progress
                && p.erase(&mut self.err).unwrap_or(false)
                && self.out_is_terminal
            {
                // The erase must reach the terminal before a line on
                // stdout does, or it would wipe that line.
                self.err.settle(Duration::from_millis(100));
            }
            let result = match event {
                Event::Out(msg) => {
                    if let Msg::Kept(k) = &msg
                        && !k.file_errors.is_empty()
                    {
                        let label = self.hosts[k.index].label.clone();
                        for e in &k.file_errors {
                            let _ = writeln!(
                                self.err,
                                "{}: {label}: cannot write output file {e}",
                                self.settings.tool
                            );
                        }
                        self.local_error = true;
                        self.files_failed.push(label);
                    }
                    display.message(msg, &mut self.cx())
                }
                Event::Done(report) => self.done(report, display),
            };
            if let Err(e) = result {
                self.say(format_args!("writing output: {}", plain_error(&e)));
                self.local_error = true;
            }
            if events.is_empty() {
                self.flush();
                self.draw();
            }
        }
    }

    fn cx(&mut self) -> Cx<'_> {
        Cx {
            out: &mut self.out,
            err: &mut self.err,
            hosts: &self.hosts,
            tally: &self.tally,
            settings: &self.settings,
        }
    }

    fn done(&mut self, report: Report, display: &mut dyn Display) -> io::Result<()> {
        if std::mem::replace(&mut self.reported[report.index], true) {
            return Ok(()); // abandoned already
        }
        let label = self.hosts[report.index].label.clone();
        self.tally.add(&report, &label);
        if let Some(log) = &mut self.log
            && let Err(e) = log.write_all(record::log_line(&report, &label).as_bytes())
        {
            self.log = None;
            self.local_error = true;
            let _ = writeln!(
                self.err,
                "{}: --log: {}",
                self.settings.tool,
                plain_error(&e)
            );
        }
        display.done(&report, &mut self.cx())
    }

    /// Hosts that did not report within the grace period after a signal
    /// are counted as interrupted, so the run can end now.
    fn abandon(&mut self, display: &mut dyn Display) {
        for index in 0..self.hosts.len() {
            if !self.reported[index] {
                let mut r = Report::not_started(index);
                r.error = Some("interrupted; it did not stop in time".to_string());
                let _ = self.done(r, display);
            }
        }
    }

    fn flush(&mut self) {
        let _ = self.out.flush();
        let _ = self.err.flush();
    }

    fn draw(&mut self) {
        if let Some(p) = &mut self.progress {
            // Output on the same terminal lands first, so the line is
            // drawn after it, never inside it.
            if self.out_is_terminal {
                self.out.settle(Duration::from_millis(100));
            }
            let _ = p.draw(&mut self.err, &self.tally, self.settings.bytes.as_deref());
        }
    }

    fn end(mut self, display: &mut dyn Display) -> i32 {
        if let Some(p) = &mut self.progress {
            let _ = p.erase(&mut self.err);
        }
        if let Err(e) = display.finish(&mut self.cx()) {
            self.say(format_args!("writing output: {}", plain_error(&e)));
            self.local_error = true;
        }
        // Files first: they must not wait for a reader of our output.
        if let Some(path) = self.settings.failed.clone() {
            let mut list = String::new();
            for (i, h) in self.hosts.iter().enumerate() {
                if self.tally.status_of(i).is_some_and(|s| s != Status::Ok) {
                    list.push_str(&h.entry);
                    list.push('\n');
                }
            }
            if let Err(e) = files::write_file(&path, list.as_bytes()) {
                self.say(format_args!(
                    "--failed {}: {}",
                    path.display(),
                    plain_error(&e)
                ));
                self.local_error = true;
            }
        }
        if let Some(log) = &mut self.log {
            let _ = log.sync_data();
        }
        if let Err(e) = self.out.finish() {
            self.say(format_args!("writing standard output: {}", plain_error(&e)));
            self.local_error = true;
        }
        if !self.settings.quiet {
            let _ = self.tally.write(&mut self.err, self.settings.colour_err);
        }
        if !self.files_failed.is_empty() {
            let _ = writeln!(
                self.err,
                "  output files not written: {}",
                crate::hosts::fold(&self.files_failed)
            );
        }
        let _ = self.err.finish();
        match (self.settings.largest_exit, self.tally.largest_exit) {
            (true, Some(code)) if self.stop.signal().is_none() => code.clamp(0, 255),
            _ => exit_code(&self.tally, self.stop.signal(), self.local_error),
        }
    }
}

/// The exit status, for every tool: a signal's 128+N; 3 when some host
/// was not reached (or its job could not be carried out); 2 for a local
/// error (an output file, standard output); 1 when a job failed; else 0.
pub fn exit_code(tally: &Tally, signal: Option<i32>, local_error: bool) -> i32 {
    if let Some(sig) = signal {
        crate::cli::signals::exit_code(sig)
    } else if tally.count(Status::Interrupted) > 0 {
        exit::INTERRUPTED
    } else if tally.any(Status::unreached) {
        UNREACHED
    } else if local_error {
        exit::USAGE
    } else if tally.count(Status::Failed) > 0 {
        FAILED
    } else {
        exit::SUCCESS
    }
}
