//! rrun's output: engine events become the chosen mode on stdout — streamed
//! `host: line`, `--inline` blocks, `--gather`ed groups or `--json` records —
//! plus the optional per-host files (`-o`/`-e`), `--failed` list and `--log`,
//! the live progress count and the summary on stderr.
//!
//! Lines are written whole: a line is one write into a buffer that is
//! flushed when the engine has nothing more for the moment.

pub mod record;
pub mod summary;

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::fanout::{Report, Status};
use crate::hosts::fold;
use crate::ssh::session::Stream;
use summary::{Progress, Tally};

/// How command output is shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Mode {
    /// `host: line` as lines arrive; stdout to stdout, stderr to stderr.
    #[default]
    Stream,
    /// One block per host as it finishes, under a header line.
    Inline,
    /// After all finish: hosts with identical output under one header.
    Gather,
    /// One JSON object per host as it finishes.
    Json,
}

/// Everything about where output goes.
#[derive(Clone, Debug, Default)]
pub struct Settings {
    pub mode: Mode,
    pub outdir: Option<PathBuf>,
    pub errdir: Option<PathBuf>,
    pub failed: Option<PathBuf>,
    pub log: Option<PathBuf>,
    pub colour_out: bool,
    pub colour_err: bool,
    pub progress: bool,
}

impl Settings {
    /// Whether reports must carry each host's whole output.
    pub fn keeps_output(&self) -> bool {
        self.mode != Mode::Stream || self.outdir.is_some() || self.errdir.is_some()
    }
}

/// Colours for host names, picked by position so neighbours differ.
const HOST_COLOURS: [&str; 6] = ["36", "33", "35", "32", "34", "31"];

/// Consumes events and writes everything.
pub struct Printer {
    settings: Settings,
    labels: Vec<String>,
    /// As written in a host list (user and port included), for `--failed`.
    entries: Vec<String>,
    out: BufWriter<io::Stdout>,
    err: BufWriter<io::Stderr>,
    tally: Tally,
    progress: Option<Progress>,
    gathered: Vec<Report>,
    failed: Vec<usize>,
    log: Option<File>,
}

impl Printer {
    /// `labels[i]` names host `i` in output; `entries[i]` is its host list
    /// entry.
    pub fn new(
        settings: Settings,
        labels: Vec<String>,
        entries: Vec<String>,
    ) -> io::Result<Printer> {
        for dir in [&settings.outdir, &settings.errdir].into_iter().flatten() {
            std::fs::create_dir_all(dir)
                .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", dir.display())))?;
        }
        let log = match &settings.log {
            Some(path) => Some(
                OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?,
            ),
            None => None,
        };
        Ok(Printer {
            progress: settings.progress.then(Progress::new),
            tally: Tally::new(labels.len()),
            settings,
            labels,
            entries,
            out: BufWriter::with_capacity(64 * 1024, io::stdout()),
            err: BufWriter::new(io::stderr()),
            gathered: Vec::new(),
            failed: Vec::new(),
            log,
        })
    }

    /// One whole output line of host `index` (streaming mode).
    pub fn line(&mut self, index: usize, stream: Stream, line: &[u8]) -> io::Result<()> {
        if self.settings.mode != Mode::Stream {
            return Ok(());
        }
        if let Some(p) = &mut self.progress {
            p.erase(&mut self.err)?;
        }
        let (w, colour): (&mut dyn Write, bool) = match stream {
            Stream::Stdout => (&mut self.out, self.settings.colour_out),
            Stream::Stderr => (&mut self.err, self.settings.colour_err),
        };
        let label = &self.labels[index];
        if colour {
            let c = HOST_COLOURS[index % HOST_COLOURS.len()];
            write!(w, "\x1b[{c}m{label}\x1b[0m: ")?;
        } else {
            write!(w, "{label}: ")?;
        }
        w.write_all(line)
    }

    /// A host finished.
    pub fn done(&mut self, report: Report) -> io::Result<()> {
        let label = self.labels[report.index].clone();
        let detail = match (report.status, &report.exit) {
            (Status::Failed, exit) if exit.signal.is_some() => {
                format!("signal={}", exit.signal.as_deref().unwrap_or("?"))
            }
            (Status::Failed, exit) => format!("exit={}", exit.code.unwrap_or(-1)),
            _ => String::new(),
        };
        self.tally.add(report.status, detail.clone(), &label);
        if report.status != Status::Ok {
            self.failed.push(report.index);
        }
        if let Some(dir) = &self.settings.outdir {
            write_atomically(dir, &label, &report.stdout)?;
        }
        if let Some(dir) = &self.settings.errdir {
            write_atomically(dir, &label, &report.stderr)?;
        }
        if let Some(log) = &mut self.log {
            log.write_all(record::log_line(&report, &label).as_bytes())?;
        }
        if let Some(p) = &mut self.progress {
            p.erase(&mut self.err)?;
        }
        match self.settings.mode {
            Mode::Stream => {
                if report.status != Status::Ok {
                    let what = report.error.clone().unwrap_or(detail);
                    writeln!(self.err, "rrun: {label}: {}: {what}", report.status.name())?;
                }
            }
            Mode::Inline => self.inline(&report, &label, &detail)?,
            Mode::Json => writeln!(self.out, "{}", record::json(&report, &label))?,
            Mode::Gather => self.gathered.push(report),
        }
        if let Some(p) = &mut self.progress {
            self.err.flush()?;
            self.out.flush()?;
            p.draw(&mut self.err, &self.tally)?;
        }
        Ok(())
    }

    /// `[3/100] web07 FAILED exit=2 1.4s`, then the output.
    fn inline(&mut self, report: &Report, label: &str, detail: &str) -> io::Result<()> {
        let status = report.status.name().to_uppercase();
        let mut header = format!(
            "[{}/{}] {label} {status}",
            self.tally.done, self.tally.total
        );
        if !detail.is_empty() {
            header.push(' ');
            header.push_str(detail);
        }
        header.push_str(&format!(" {:.1}s", report.duration.as_secs_f64()));
        if let Some(e) = &report.error {
            header.push_str(": ");
            header.push_str(e);
        }
        if self.settings.colour_out {
            let c = if report.status == Status::Ok {
                "32"
            } else {
                "31"
            };
            writeln!(self.out, "\x1b[1;{c}m{header}\x1b[0m")?;
        } else {
            writeln!(self.out, "{header}")?;
        }
        write_block(&mut self.out, &report.stdout)?;
        self.out.flush()?;
        write_block(&mut self.err, &report.stderr)
    }

    /// Writes buffered output (call when no event is waiting).
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()?;
        self.err.flush()
    }

    /// After the last host: gathered groups, `--failed`, the summary.
    pub fn finish(&mut self) -> io::Result<()> {
        if let Some(p) = &mut self.progress {
            p.erase(&mut self.err)?;
        }
        if self.settings.mode == Mode::Gather {
            self.gather()?;
        }
        if let Some(path) = &self.settings.failed {
            let mut list = String::new();
            self.failed.sort_unstable();
            for &i in &self.failed {
                list.push_str(&self.entries[i]);
                list.push('\n');
            }
            std::fs::write(path, list)
                .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
        }
        self.out.flush()?;
        self.tally.write(&mut self.err)?;
        self.err.flush()
    }

    /// Groups hosts by identical (stdout, stderr), like `dshbak -c`.
    fn gather(&mut self) -> io::Result<()> {
        let mut groups: BTreeMap<(&[u8], &[u8]), Vec<&str>> = BTreeMap::new();
        let mut order = Vec::new();
        for r in &self.gathered {
            if r.stdout.is_empty()
                && r.stderr.is_empty()
                && r.status != Status::Ok
                && r.status != Status::Failed
            {
                continue; // not run: the summary names it
            }
            let key = (r.stdout.as_slice(), r.stderr.as_slice());
            let entry = groups.entry(key).or_default();
            if entry.is_empty() {
                order.push(key);
            }
            entry.push(&self.labels[r.index]);
        }
        for key in order {
            let names = &groups[&key];
            let title = format!("{} ({})", fold(names), names.len());
            let rule = "-".repeat(title.chars().count().min(79));
            if self.settings.colour_out {
                writeln!(self.out, "{rule}\n\x1b[1;36m{title}\x1b[0m\n{rule}")?;
            } else {
                writeln!(self.out, "{rule}\n{title}\n{rule}")?;
            }
            write_block(&mut self.out, key.0)?;
            self.out.flush()?;
            write_block(&mut self.err, key.1)?;
            self.err.flush()?;
        }
        Ok(())
    }

    /// What the run's exit status is.
    pub fn exit_code(&self) -> i32 {
        let t = &self.tally;
        if t.count(Status::Interrupted) > 0 {
            crate::cli::exit::INTERRUPTED
        } else if [
            Status::Unreachable,
            Status::Auth,
            Status::HostKey,
            Status::Timeout,
        ]
        .iter()
        .any(|&s| t.count(s) > 0)
        {
            UNREACHED
        } else if t.count(Status::Failed) > 0 {
            FAILED
        } else {
            crate::cli::exit::SUCCESS
        }
    }
}

/// Some command exited non-zero (every host was reached).
pub const FAILED: i32 = 1;
/// Some host could not be reached, authenticated or finished in time.
pub const UNREACHED: i32 = 3;

/// Output that does not end a line gets a newline.
fn write_block(w: &mut dyn Write, bytes: &[u8]) -> io::Result<()> {
    w.write_all(bytes)?;
    if bytes.last().is_some_and(|&b| b != b'\n') {
        w.write_all(b"\n")?;
    }
    Ok(())
}

/// `DIR/NAME`, byte-exact, written to a temporary file and renamed so a
/// reader never sees half of it.
fn write_atomically(dir: &Path, name: &str, bytes: &[u8]) -> io::Result<()> {
    let tmp = dir.join(format!(".{name}.rrun-tmp"));
    std::fs::write(&tmp, bytes)
        .and_then(|()| std::fs::rename(&tmp, dir.join(name)))
        .map_err(|e| io::Error::new(e.kind(), format!("{}/{name}: {e}", dir.display())))
}
