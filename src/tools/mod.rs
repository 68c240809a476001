//! One module per binary: its flag table, its arguments and its `run()`.

pub mod confcheck;
pub mod jpretty;
pub mod rcp;
pub mod rrun;
pub mod sudo;
