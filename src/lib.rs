//! fleetkit: tools for running many servers from a terminal.
//!
//! The binaries in `src/bin/` are thin mains over [`tools`]; each tool owns
//! its flag table and its job. Beneath them, each layer knowing only those
//! below it: [`output`] (what every tool shares in printing, and rrun's
//! display modes), [`fleet`] (the host and connection flags every SSH tool
//! shares, and turning them into destinations), [`engine`] (a bounded
//! fanout running a job per host), [`ssh`] (one session per host, native
//! or through the system's ssh), [`sftp`] (a pipelined SFTP client over
//! either),
//! [`hosts`] (host lists as plain data), with [`outcome`] and [`stop`] the
//! neutral types and cancellation every layer shares. [`cli`] (flag
//! tables, help, man pages, completions, exit codes, colour, signals,
//! prompts) and [`json`] (the streaming JSON formatter) stand apart.

pub mod checks;
pub mod cli;
pub mod copy;
pub mod engine;
pub mod fleet;
pub mod hosts;
pub mod json;
pub mod located;
pub mod outcome;
pub mod output;
pub mod sftp;
pub mod ssh;
pub mod stop;
pub mod tools;
