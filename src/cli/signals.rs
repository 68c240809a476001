//! SIGINT, SIGTERM and SIGHUP end a run the same way: the first one
//! cancels the run's [`Stop`] (in-flight connects and commands are cut,
//! the summary and files are still written) and puts the terminal back if
//! a prompt had turned echo off; a second one ends the process at once.
//! Handled by signal-hook on a thread of its own.

use std::sync::Arc;

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

use crate::stop::Stop;

/// Starts listening; call once per run, before any host starts.
pub fn cancel_on_signals(stop: Arc<Stop>) {
    let Ok(mut signals) = Signals::new([SIGINT, SIGTERM, SIGHUP]) else {
        return;
    };
    let _ = std::thread::Builder::new()
        .name("signals".to_string())
        .stack_size(64 * 1024)
        .spawn(move || {
            for signal in signals.forever() {
                super::prompt::restore_terminal();
                if stop.cancelled() {
                    // The second signal: the user means now.
                    std::process::exit(128 + signal);
                }
                stop.cancel(signal);
            }
        });
}

/// The exit status for a run ended by `signal` (128 + its number, as a
/// shell reports a process killed by it).
pub fn exit_code(signal: i32) -> i32 {
    128 + signal
}
