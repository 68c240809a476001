//! One module per binary: its flag table, its arguments and its `run()`.

pub mod jpretty;
pub mod rrun;
