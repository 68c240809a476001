//! The engine's neutral vocabulary: what a job returns, the per-host
//! [`Report`] and the [`Event`]s a run emits. Output consumes these; they
//! name no tool and no flag.

use std::time::{Duration, SystemTime};

pub use crate::outcome::{Exit, Failure, Status, Stream};

/// How a job that ran to its end went.
#[derive(Debug, Clone, Default)]
pub struct Finish {
    /// Whether it did what was asked (status `ok`, else `failed`).
    pub ok: bool,
    /// When not ok: the job could not be carried out there (status
    /// `error`, not `failed`): a checker that cannot run, say.
    pub could_not_run: bool,
    /// The remote command's exit, when the job is one command.
    pub exit: Exit,
    /// What went wrong, in the user's words, when not ok.
    pub error: Option<String>,
    /// Job-specific fields for the JSON record, in order.
    pub fields: Vec<(&'static str, serde_json::Value)>,
}

impl Finish {
    /// The outcome of one command: ok when it exited 0.
    pub fn command(exit: Exit) -> Finish {
        Finish {
            ok: exit.success(),
            could_not_run: false,
            error: exit
                .signal
                .as_ref()
                .map(|s| format!("killed by signal {s}")),
            exit,
            fields: Vec::new(),
        }
    }
}

/// How one host went: exactly one per host, whatever happens.
#[derive(Clone, Debug)]
pub struct Report {
    /// The host's position in the list.
    pub index: usize,
    pub status: Status,
    pub exit: Exit,
    pub error: Option<String>,
    pub fields: Vec<(&'static str, serde_json::Value)>,
    /// When its first connection attempt began.
    pub started: SystemTime,
    pub duration: Duration,
    /// Connection attempts made (1 unless retried; 0 if never started).
    pub attempts: u32,
}

impl Report {
    /// A host that ended in `failure`.
    pub fn failed(index: usize, failure: &Failure, started: SystemTime) -> Report {
        Report {
            index,
            status: failure.status(),
            exit: Exit::default(),
            error: Some(failure.message().to_string()),
            fields: Vec::new(),
            started,
            duration: started.elapsed().unwrap_or_default(),
            attempts: 0,
        }
    }

    /// A host the run never started on because it was cancelled.
    pub fn not_started(index: usize) -> Report {
        let mut r = Report::failed(index, &Failure::Interrupted, SystemTime::now());
        r.error = Some("not started: interrupted".to_string());
        r
    }
}

/// What a run emits, in order per host: the output layer's own messages
/// (made by its taps from the job's output), then the host's `Done`.
pub enum Event<M> {
    Out(M),
    Done(Report),
}
