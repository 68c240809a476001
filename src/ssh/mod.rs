//! The SSH layer: ssh_config, known_hosts, authentication and one session
//! per host over libssh2 (ssh2). It knows no flags and no terminal: the
//! fanout engine calls it, and output never sees it.

pub mod auth;
pub mod config;
pub mod digest;
pub mod jump;
pub mod known_hosts;
pub mod session;
