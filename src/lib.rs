//! fleetkit: tools for running many servers from a terminal.
//!
//! The binaries in `src/bin/` are thin mains over [`tools`]; each tool owns
//! its flag table and its `run()`. Shared layers: [`cli`] (flag tables, help,
//! man pages, completions, exit codes, colour decisions, stdout handling) and
//! [`json`] (the streaming JSON formatter).

pub mod cli;
pub mod fanout;
pub mod hosts;
pub mod json;
pub mod located;
pub mod output;
pub mod ssh;
pub mod tools;
