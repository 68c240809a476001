//! rrun's display modes: `host: line` streamed as lines arrive,
//! `--inline` blocks as hosts finish, `--gather`ed groups of identical
//! output, `--diff`s against the most common output, and `--json`
//! records. Lines are written whole; a line longer
//! than the line limit arrives in pieces, the later ones marked `host+ `.

use std::collections::HashMap;
use std::io::{self, Write};

use super::capture::{Capture, Kept, Msg, Piece};
use super::files::Spool;
use super::{Cx, Display, record};
use crate::engine::{Report, Status, Stream};
use crate::hosts::fold;

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
    /// After all finish: each output that differs from the most common
    /// one, as a unified diff against it.
    Diff,
    /// One JSON object per host as it finishes.
    Json,
}

impl Mode {
    /// What each host's tap must capture for this mode.
    pub fn capture(self) -> Capture {
        Capture {
            lines: self == Mode::Stream,
            heads: self == Mode::Json,
            spool: matches!(self, Mode::Inline | Mode::Gather | Mode::Diff),
            digest: matches!(self, Mode::Gather | Mode::Diff),
            ..Capture::default()
        }
    }
}

/// Colours for host names: neutral ones (no red or green, which read as
/// failure and success), one per host, the same in every run.
const HOST_COLOURS: [&str; 6] = ["36", "34", "35", "96", "94", "95"];

/// A host's colour, from its name (FNV-1a), so it is stable across runs
/// and host lists.
fn host_colour(label: &str) -> &'static str {
    let hash = label.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    HOST_COLOURS[(hash % HOST_COLOURS.len() as u64) as usize]
}

/// One distinct output and the hosts that printed it.
struct Group {
    output: Spool,
    hosts: Vec<usize>,
}

/// Hosts grouped by identical output, one stream's.
#[derive(Default)]
struct Groups {
    groups: Vec<Group>,
    by_digest: HashMap<[u8; 32], usize>,
}

impl Groups {
    fn add(&mut self, index: usize, captured: &mut super::capture::Captured) {
        let key = captured.digest.unwrap_or_default();
        match self.by_digest.get(&key) {
            // Seen before: this host's copy is dropped (its spool closed).
            Some(&g) => self.groups[g].hosts.push(index),
            None => {
                self.by_digest.insert(key, self.groups.len());
                self.groups.push(Group {
                    output: captured.spool.take().unwrap_or_default(),
                    hosts: vec![index],
                });
            }
        }
    }

    /// Like `dshbak -c`: the largest group first, then by their first
    /// host, so runs can be compared.
    fn sorted(&mut self) -> &mut [Group] {
        for g in &mut self.groups {
            g.hosts.sort_unstable();
        }
        self.groups
            .sort_by_key(|g| (std::cmp::Reverse(g.hosts.len()), g.hosts.first().copied()));
        &mut self.groups
    }
}

/// rrun's display.
pub struct Rrun {
    mode: Mode,
    /// Lines start with `host: ` (off with -N).
    pub prefix: bool,
    /// Output of hosts whose report has not come yet.
    kept: HashMap<usize, Kept>,
    /// Gathered stdout, and stderr apart from it (`-g`, `--diff`).
    out_groups: Groups,
    err_groups: Groups,
}

impl Rrun {
    pub fn new(mode: Mode) -> Rrun {
        Rrun {
            mode,
            prefix: true,
            kept: HashMap::new(),
            out_groups: Groups::default(),
            err_groups: Groups::default(),
        }
    }

    /// Stdout and stderr are grouped apart: hosts that print the same
    /// result but different warnings still group on stdout.
    fn gather(&mut self, mut kept: Kept) {
        self.out_groups.add(kept.index, &mut kept.stdout);
        if kept.stderr.spool.as_ref().is_some_and(|s| !s.is_empty()) {
            self.err_groups.add(kept.index, &mut kept.stderr);
        }
    }

    /// `[3/100] web07 FAILED exit=2 1.4s`, then the output.
    fn inline(&mut self, report: &Report, cx: &mut Cx) -> io::Result<()> {
        let label = &cx.hosts[report.index].label;
        let mut header = format!(
            "[{}/{}] {label} {}",
            cx.tally.done,
            cx.tally.total,
            report.status.name().to_uppercase()
        );
        let detail = detail(report);
        if !detail.is_empty() {
            header.push(' ');
            header.push_str(&detail);
        }
        header.push_str(&format!(" {:.1}s", report.duration.as_secs_f64()));
        if let Some(e) = &report.error {
            header.push_str(": ");
            header.push_str(e);
        }
        if cx.settings.colour_out {
            let c = if report.status == Status::Ok {
                "32"
            } else {
                "31"
            };
            writeln!(cx.out, "\x1b[1;{c}m{header}\x1b[0m")?;
        } else {
            writeln!(cx.out, "{header}")?;
        }
        if let Some(mut kept) = self.kept.remove(&report.index) {
            if let Some(s) = &mut kept.stdout.spool {
                block(s, cx.out)?;
            }
            cx.out.flush()?;
            if let Some(s) = kept.stderr.spool.as_mut().filter(|s| !s.is_empty()) {
                // Its own header, so `2>file` reads on its own.
                writeln!(cx.err, "{header} (stderr)")?;
                block(s, cx.err)?;
            }
        }
        Ok(())
    }

    /// The title of a group: `web[01-03,05] (4)`.
    fn title(group: &Group, cx: &Cx) -> String {
        let names: Vec<&str> = group
            .hosts
            .iter()
            .map(|&i| cx.hosts[i].label.as_str())
            .collect();
        format!("{} ({})", fold(&names), names.len())
    }

    /// Each stderr group on stderr, under its hosts.
    fn stderr_groups(&mut self, cx: &mut Cx) -> io::Result<()> {
        for group in self.err_groups.sorted() {
            let title = format!("{} stderr", Rrun::title(group, cx));
            let rule = "-".repeat(title.chars().count().min(79));
            writeln!(cx.err, "{rule}\n{title}\n{rule}")?;
            block(&mut group.output, cx.err)?;
        }
        cx.err.flush()
    }

    /// `--diff`: each output that is not the most common one, as a
    /// unified diff against it (`--- web[01-05] (5)`, `+++ web07 (1)`).
    /// Nothing on stdout when every host printed the same.
    fn diffs(&mut self, cx: &mut Cx) -> io::Result<()> {
        let colour = cx.settings.colour_out;
        let groups = self.out_groups.sorted();
        if let Some((reference, others)) = groups.split_first_mut() {
            let ref_title = Rrun::title(reference, cx);
            let ref_big = reference.output.len() > DIFF_LIMIT as u64;
            let ref_text = if ref_big {
                String::new()
            } else {
                text_of(&mut reference.output)?
            };
            for group in others {
                let title = Rrun::title(group, cx);
                if ref_big || group.output.len() > DIFF_LIMIT as u64 {
                    writeln!(
                        cx.out,
                        "--- {ref_title}\n+++ {title}\n(differs; over {} MiB, not diffed: use -o and diff)",
                        DIFF_LIMIT >> 20
                    )?;
                    continue;
                }
                let text = text_of(&mut group.output)?;
                // A deadline: past it similar gives a coarser (still
                // correct) diff, so a huge drift never stalls the run.
                let diff = similar::TextDiff::configure()
                    .timeout(std::time::Duration::from_millis(500))
                    .diff_lines(&ref_text, &text);
                if colour {
                    writeln!(cx.out, "\x1b[1m--- {ref_title}\n+++ {title}\x1b[0m")?;
                } else {
                    writeln!(cx.out, "--- {ref_title}\n+++ {title}")?;
                }
                for hunk in diff.unified_diff().context_radius(3).iter_hunks() {
                    if colour {
                        writeln!(cx.out, "\x1b[36m{}\x1b[0m", hunk.header())?;
                    } else {
                        writeln!(cx.out, "{}", hunk.header())?;
                    }
                    for change in hunk.iter_changes() {
                        let (sign, c) = match change.tag() {
                            similar::ChangeTag::Delete => ('-', "31"),
                            similar::ChangeTag::Insert => ('+', "32"),
                            similar::ChangeTag::Equal => (' ', ""),
                        };
                        let line = change.value();
                        let line = line.strip_suffix('\n').unwrap_or(line);
                        if colour && !c.is_empty() {
                            writeln!(cx.out, "\x1b[{c}m{sign}{line}\x1b[0m")?;
                        } else {
                            writeln!(cx.out, "{sign}{line}")?;
                        }
                        if change.missing_newline() {
                            writeln!(cx.out, "\\ No newline at end of file")?;
                        }
                    }
                }
            }
        }
        cx.out.flush()?;
        self.stderr_groups(cx)
    }
}

/// The largest output `--diff` compares, in bytes: each distinct output
/// is read into memory to be diffed.
const DIFF_LIMIT: usize = 16 << 20;

/// A spooled output as text for diffing (bytes that are not UTF-8 shown
/// as U+FFFD).
fn text_of(spool: &mut Spool) -> io::Result<String> {
    let mut bytes = Vec::new();
    spool.copy_to(&mut bytes)?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// `exit=2` or `signal=KILL` for a failed command.
fn detail(report: &Report) -> String {
    match (report.status, &report.exit.signal, report.exit.code) {
        (Status::Failed, Some(sig), _) => format!("signal={sig}"),
        (Status::Failed, None, Some(code)) => format!("exit={code}"),
        _ => String::new(),
    }
}

/// A spooled output as a block: a last line without a newline gets one.
fn block(spool: &mut Spool, w: &mut dyn Write) -> io::Result<()> {
    if !spool.copy_to(w)? {
        w.write_all(b"\n")?;
    }
    Ok(())
}

impl Display for Rrun {
    fn message(&mut self, msg: Msg, cx: &mut Cx) -> io::Result<()> {
        match msg {
            Msg::Line {
                index,
                stream,
                bytes,
                piece,
            } => {
                let (w, colour): (&mut dyn Write, bool) = match stream {
                    Stream::Stdout => (cx.out, cx.settings.colour_out),
                    Stream::Stderr => (cx.err, cx.settings.colour_err),
                };
                let label = &cx.hosts[index].label;
                let mark = if piece == Piece::Continued { "+" } else { ":" };
                if !self.prefix {
                    // No prefix: the line as the host printed it.
                } else if colour {
                    let c = host_colour(label);
                    write!(w, "\x1b[{c}m{label}\x1b[0m{mark} ")?;
                } else {
                    write!(w, "{label}{mark} ")?;
                }
                w.write_all(&bytes)?;
                if bytes.last() != Some(&b'\n') {
                    w.write_all(b"\n")?;
                }
                Ok(())
            }
            Msg::Kept(kept) => {
                if matches!(self.mode, Mode::Gather | Mode::Diff) {
                    self.gather(*kept);
                } else if self.mode != Mode::Stream {
                    self.kept.insert(kept.index, *kept);
                }
                Ok(())
            }
        }
    }

    fn done(&mut self, report: &Report, cx: &mut Cx) -> io::Result<()> {
        match self.mode {
            Mode::Stream => {
                if report.status == Status::Ok {
                    return Ok(());
                }
                let what = report.error.clone().unwrap_or_else(|| detail(report));
                trouble(report, &what, cx)
            }
            Mode::Inline => self.inline(report, cx),
            Mode::Json => {
                let kept = self.kept.remove(&report.index);
                let line = record::json(
                    report,
                    &cx.hosts[report.index],
                    kept.as_ref().map(|k| &k.stdout),
                    kept.as_ref().map(|k| &k.stderr),
                );
                writeln!(cx.out, "{line}")
            }
            Mode::Gather | Mode::Diff => {
                // What went wrong is said as it happens; output waits.
                if report.status != Status::Ok && report.status != Status::Failed {
                    let what = report.error.clone().unwrap_or_default();
                    return trouble(report, &what, cx);
                }
                Ok(())
            }
        }
    }

    /// Gathered groups, like `dshbak -c`: the largest first, then by
    /// their first host, so runs can be compared; stdout's groups on
    /// stdout, then stderr's on stderr.
    fn finish(&mut self, cx: &mut Cx) -> io::Result<()> {
        if self.mode == Mode::Diff {
            return self.diffs(cx);
        }
        if self.mode != Mode::Gather {
            return Ok(());
        }
        for group in self.out_groups.sorted() {
            // Hosts that printed nothing on stdout get no block (as
            // dshbak); they are in the summary.
            if group.output.is_empty() {
                continue;
            }
            let title = Rrun::title(group, cx);
            let rule = "-".repeat(title.chars().count().min(79));
            if cx.settings.colour_out {
                writeln!(cx.out, "{rule}\n\x1b[1;36m{title}\x1b[0m\n{rule}")?;
            } else {
                writeln!(cx.out, "{rule}\n{title}\n{rule}")?;
            }
            if !group.output.is_empty() {
                block(&mut group.output, cx.out)?;
            }
        }
        cx.out.flush()?;
        self.stderr_groups(cx)
    }
}

/// One line per host as it finishes (rcp, and any job whose result is a
/// summary rather than output): `host: SUMMARY` on stdout, what went wrong
/// on stderr; or the JSON record with `--json`.
pub struct PerHost {
    pub json: bool,
}

impl Display for PerHost {
    fn message(&mut self, _: Msg, _: &mut Cx) -> io::Result<()> {
        Ok(())
    }

    fn done(&mut self, report: &Report, cx: &mut Cx) -> io::Result<()> {
        let host = &cx.hosts[report.index];
        if self.json {
            let line = record::json(report, host, None, None);
            return writeln!(cx.out, "{line}");
        }
        let summary = report
            .fields
            .iter()
            .find(|(k, _)| *k == "summary")
            .and_then(|(_, v)| v.as_str());
        if let Some(summary) = summary {
            writeln!(cx.out, "{}: {summary}", host.label)?;
        }
        if report.status != Status::Ok {
            trouble(report, report.error.as_deref().unwrap_or("failed"), cx)?;
        }
        Ok(())
    }
}

/// `tool: host: status: what went wrong` on stderr.
fn trouble(report: &Report, what: &str, cx: &mut Cx) -> io::Result<()> {
    // A signal ends many hosts at once: the summary folds them, one line
    // per class, rather than a line per host.
    if report.status == Status::Interrupted {
        return Ok(());
    }
    writeln!(
        cx.err,
        "{}: {}: {}: {what}",
        cx.settings.tool,
        cx.hosts[report.index].label,
        report.status.name()
    )
}

/// Output the job wrote itself, passed through as it is (confcheck's
/// editor lines on stdout and status lines on stderr); a host that was
/// never reached gets one line on stderr; or the JSON record.
pub struct Passthrough {
    pub json: bool,
}

impl Display for Passthrough {
    fn message(&mut self, msg: Msg, cx: &mut Cx) -> io::Result<()> {
        if let Msg::Line { stream, bytes, .. } = msg {
            match stream {
                Stream::Stdout => cx.out.write_all(&bytes)?,
                Stream::Stderr => cx.err.write_all(&bytes)?,
            }
        }
        Ok(())
    }

    fn done(&mut self, report: &Report, cx: &mut Cx) -> io::Result<()> {
        let host = &cx.hosts[report.index];
        if self.json {
            return writeln!(cx.out, "{}", record::json(report, host, None, None));
        }
        // The job said how each check went; only a host it never ran on
        // is said here.
        if !matches!(report.status, Status::Ok | Status::Failed | Status::Error) {
            trouble(report, report.error.as_deref().unwrap_or(""), cx)?;
        }
        Ok(())
    }
}
