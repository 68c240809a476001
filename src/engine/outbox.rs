//! The bounded path from workers to the one consumer: messages travel on
//! a channel, but each holds bytes of a shared budget until the consumer
//! takes it. A worker whose message does not fit waits (polling the stop
//! and its deadline), and while it waits it reads nothing more from its
//! host: SSH flow control then stops the host. Memory between workers and
//! consumer is the budget, whatever hosts print and however slowly the
//! consumer goes.

use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};

use super::event::{Event, Failure};
use crate::stop::Stop;

/// How long a waiting sender sleeps before looking at the stop again.
const POLL: Duration = Duration::from_millis(50);

/// Bytes in flight between workers and the consumer.
struct Budget {
    cap: usize,
    used: Mutex<usize>,
    freed: Condvar,
}

/// A worker's sending end.
pub struct Outbox<M> {
    tx: Sender<(Event<M>, usize)>,
    budget: Arc<Budget>,
    stop: Arc<Stop>,
}

impl<M> Clone for Outbox<M> {
    fn clone(&self) -> Self {
        Outbox {
            tx: self.tx.clone(),
            budget: self.budget.clone(),
            stop: self.stop.clone(),
        }
    }
}

/// The consumer's end.
pub struct Events<M> {
    rx: Receiver<(Event<M>, usize)>,
    budget: Arc<Budget>,
}

/// A bounded outbox and its consumer's end; `cap` bytes may be in flight
/// (one message larger than that goes alone).
pub fn bounded<M>(cap: usize, stop: Arc<Stop>) -> (Outbox<M>, Events<M>) {
    let (tx, rx) = crossbeam_channel::unbounded();
    let budget = Arc::new(Budget {
        cap,
        used: Mutex::new(0),
        freed: Condvar::new(),
    });
    (
        Outbox {
            tx,
            budget: budget.clone(),
            stop,
        },
        Events { rx, budget },
    )
}

impl<M> Outbox<M> {
    /// Sends a message weighing `weight` bytes, waiting for room. Fails
    /// when the run is cancelled or `deadline` passes while waiting.
    pub fn send(&self, msg: M, weight: usize, deadline: Option<Instant>) -> Result<(), Failure> {
        {
            let mut used = self.budget.used.lock().map_err(|_| Failure::Interrupted)?;
            while *used > 0 && *used + weight > self.budget.cap {
                if self.stop.cancelled() {
                    return Err(Failure::Interrupted);
                }
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    return Err(Failure::Timeout(
                        "the command did not finish in time (its output was not being read)"
                            .to_string(),
                    ));
                }
                used = self
                    .budget
                    .freed
                    .wait_timeout(used, POLL)
                    .map_err(|_| Failure::Interrupted)?
                    .0;
            }
            *used += weight;
        }
        self.tx
            .send((Event::Out(msg), weight))
            .map_err(|_| Failure::Interrupted)
    }

    /// Sends a host's report (weightless: one per host).
    pub fn done(&self, report: super::event::Report) {
        let _ = self.tx.send((Event::Done(report), 0));
    }
}

impl<M> Events<M> {
    /// The next event, releasing its bytes from the budget.
    pub fn recv_timeout(&self, wait: Duration) -> Result<Event<M>, RecvTimeoutError> {
        let (event, weight) = self.rx.recv_timeout(wait)?;
        if weight > 0
            && let Ok(mut used) = self.budget.used.lock()
        {
            *used -= weight;
            self.budget.freed.notify_all();
        }
        Ok(event)
    }

    /// Whether no event is waiting.
    pub fn is_empty(&self) -> bool {
        self.rx.is_empty()
    }

    /// Bytes in flight now (for tests and the bound's proof).
    pub fn in_flight(&self) -> usize {
        self.budget.used.lock().map(|u| *u).unwrap_or(0)
    }
}
