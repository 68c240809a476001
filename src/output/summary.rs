//! The end-of-run summary on stderr (`100 hosts: 97 ok, 2 failed, 1
//! unreachable`, then the folded names of the others) and the live
//! progress count shown on a terminal.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::time::{Duration, Instant};

use crate::engine::{Report, Status};
use crate::hosts::fold;

/// Counts by status, and the hosts in each non-ok class.
#[derive(Default)]
pub struct Tally {
    pub total: usize,
    /// What is counted: ("host", "hosts"), ("check", "checks").
    pub noun: (&'static str, &'static str),
    pub done: usize,
    counts: BTreeMap<Status, usize>,
    /// Each host's status once it is done.
    statuses: Vec<Option<Status>>,
    /// (status, detail) → host labels; detail is the exit code for `failed`.
    others: BTreeMap<(Status, String), Vec<String>>,
    /// The largest status a remote command ended with (128+N for signal
    /// N; 255 for a host not reached, as ssh's own), for `-S`.
    pub largest_exit: Option<i32>,
}

impl Tally {
    pub fn new(total: usize) -> Tally {
        Tally {
            total,
            noun: ("host", "hosts"),
            statuses: vec![None; total],
            ..Tally::default()
        }
    }

    /// Counts a finished host.
    pub fn add(&mut self, report: &Report, label: &str) {
        let status = report.status;
        let exit_detail = match (status, &report.exit.signal, report.exit.code) {
            (Status::Failed, Some(sig), _) => format!("signal={sig}"),
            (Status::Failed, None, Some(code)) => format!("exit={code}"),
            (Status::Interrupted, _, _)
                if report
                    .error
                    .as_deref()
                    .is_some_and(|e| e.starts_with("not started")) =>
            {
                "(not started)".to_string()
            }
            _ => String::new(),
        };
        let code = match report.exit.shell_status() {
            Some(code) => Some(code),
            None if status.unreached() => Some(255),
            None => None,
        };
        self.largest_exit = self.largest_exit.max(code);
        self.statuses[report.index] = Some(status);
        self.done += 1;
        *self.counts.entry(status).or_default() += 1;
        if status != Status::Ok {
            self.others
                .entry((status, exit_detail))
                .or_default()
                .push(label.to_string());
        }
    }

    /// A host's status, once it is done.
    pub fn status_of(&self, index: usize) -> Option<Status> {
        self.statuses.get(index).copied().flatten()
    }

    /// Whether some host ended in a status that `pred` picks.
    pub fn any(&self, pred: impl Fn(Status) -> bool) -> bool {
        self.counts.iter().any(|(s, n)| *n > 0 && pred(*s))
    }

    pub fn count(&self, status: Status) -> usize {
        self.counts.get(&status).copied().unwrap_or(0)
    }

    /// `3 hosts: 2 ok, 1 failed`.
    pub fn headline(&self) -> String {
        let parts: Vec<String> = self
            .counts
            .iter()
            .map(|(s, n)| format!("{n} {}", s.name()))
            .collect();
        let noun = if self.total == 1 {
            self.noun.0
        } else {
            self.noun.1
        };
        if parts.is_empty() {
            format!("{} {noun}", self.total)
        } else {
            format!("{} {noun}: {}", self.total, parts.join(", "))
        }
    }

    /// The whole summary.
    pub fn write(&self, w: &mut dyn Write, colour: bool) -> io::Result<()> {
        let paint = |status: Status, text: &str| {
            if !colour {
                return text.to_string();
            }
            let c = match status {
                Status::Ok => "32",
                Status::Failed => "31",
                Status::Interrupted => "35",
                // Not reached or not finished: the host, not the command.
                _ => "33",
            };
            format!("\x1b[{c}m{text}\x1b[0m")
        };
        let mut headline = self.headline();
        if colour && let Some((noun, _)) = headline.split_once(": ") {
            let parts: Vec<String> = self
                .counts
                .iter()
                .map(|(s, n)| paint(*s, &format!("{n} {}", s.name())))
                .collect();
            headline = format!("{noun}: {}", parts.join(", "));
        }
        writeln!(w, "{headline}")?;
        for ((status, detail), labels) in &self.others {
            let detail = if detail.is_empty() {
                String::new()
            } else {
                format!(" {detail}")
            };
            let class = paint(*status, &format!("{}{detail}", status.name()));
            writeln!(w, "  {class}: {}", fold(labels))?;
        }
        Ok(())
    }
}

/// A live `[37/100] 35 ok, 2 failed` line on a terminal's stderr.
pub struct Progress {
    shown: bool,
    last: Instant,
    started: Instant,
}

/// Bytes moved so far, for tools that move files: workers add to `done`;
/// `total` is 0 when not known ahead (downloads).
#[derive(Debug, Default)]
pub struct Bytes {
    pub done: std::sync::atomic::AtomicU64,
    pub total: u64,
}

impl Progress {
    pub fn new() -> Progress {
        Progress {
            shown: false,
            last: Instant::now() - Duration::from_secs(1),
            started: Instant::now(),
        }
    }

    /// Redraws, at most ten times a second (and always for the last host).
    pub fn draw(
        &mut self,
        err: &mut dyn Write,
        tally: &Tally,
        bytes: Option<&Bytes>,
    ) -> io::Result<()> {
        if tally.done < tally.total && self.last.elapsed() < Duration::from_millis(100) {
            return Ok(());
        }
        self.last = Instant::now();
        let counts = tally.headline();
        let counts = counts.split_once(": ").map_or("", |(_, c)| c);
        let moved = bytes.map_or(String::new(), |b| {
            let done = b.done.load(std::sync::atomic::Ordering::Relaxed);
            let rate = done as f64 / self.started.elapsed().as_secs_f64().max(0.001);
            let of = if b.total > 0 {
                format!(
                    " of {} ({}%)",
                    crate::copy::human_bytes(b.total),
                    done.saturating_mul(100) / b.total
                )
            } else {
                String::new()
            };
            format!(
                " · {}{of} · {}/s",
                crate::copy::human_bytes(done),
                crate::copy::human_bytes(rate as u64)
            )
        });
        write!(
            err,
            "\r\x1b[K[{}/{}] {counts}{moved} · {}s",
            tally.done,
            tally.total,
            self.started.elapsed().as_secs()
        )?;
        err.flush()?;
        self.shown = true;
        Ok(())
    }

    /// Clears the line before other output; whether there was one.
    pub fn erase(&mut self, err: &mut dyn Write) -> io::Result<bool> {
        if self.shown {
            write!(err, "\r\x1b[K")?;
            err.flush()?;
            self.shown = false;
            return Ok(true);
        }
        Ok(false)
    }
}

impl Default for Progress {
    fn default() -> Progress {
        Progress::new()
    }
}
