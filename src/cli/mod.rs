//! The command-line layer shared by every fleetkit binary.
//!
//! A tool describes itself once, as a [`Tool`] holding its [`Flag`] table;
//! from that single description come argument parsing ([`parse`]), `-h` and
//! `--help` ([`help`]), the man page ([`man`]) and shell completions
//! ([`complete`]). lexopt only tokenises. The rest of this module holds the
//! conventions every binary shares: exit codes, `tool: message` errors,
//! broken-pipe handling ([`exit`]) and the colour decision ([`color`]).

pub mod color;
pub mod complete;
pub mod exit;
pub mod flag;
pub mod help;
pub mod man;
pub mod parse;
pub mod prompt;
pub mod signals;

pub use color::ColorChoice;
pub use flag::{Arity, Common, Flag, Hint, Tool, ToolArgs};
pub use parse::parse;
