//! Turning targets into destinations: the command line first, then
//! ssh_config, then defaults; known_hosts shared between hosts that use the
//! same files; labels that keep hosts apart in output.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::{Host, Options};
use crate::hosts::{self, Target};
use crate::ssh::config::{Config, home};
use crate::ssh::known_hosts::{KnownHosts, Policy};
use crate::ssh::session::Destination;

/// Applies the command line and ssh_config to each target.
pub fn resolve(opts: &Options, config: &Config, targets: Vec<Target>) -> Result<Vec<Host>, String> {
    let labels = labels(&targets);
    let mut resolver = Resolver {
        opts,
        config,
        local_user: local_user(),
        known: HashMap::new(),
    };
    targets
        .into_iter()
        .zip(labels)
        .map(|(target, label)| {
            let dest = resolver.destination(&target, true)?;
            Ok(Host {
                target,
                dest,
                label,
            })
        })
        .collect()
}

struct Resolver<'a> {
    opts: &'a Options,
    config: &'a Config,
    local_user: String,
    known: HashMap<Vec<PathBuf>, Arc<KnownHosts>>,
}

impl Resolver<'_> {
    fn destination(&mut self, target: &Target, with_jump: bool) -> Result<Destination, String> {
        let (opts, c) = (self.opts, self.config.resolve(&target.host));
        let files = if c.user_known_hosts_files.is_empty() {
            vec![home().join(".ssh/known_hosts")]
        } else {
            c.user_known_hosts_files.clone()
        };
        let known_hosts = self
            .known
            .entry(files.clone())
            .or_insert_with(|| Arc::new(KnownHosts::load(files)))
            .clone();
        let policy = opts
            .host_key
            .unwrap_or(match c.strict_host_key_checking.as_deref() {
                Some("no" | "off") => Policy::Off,
                Some("yes" | "ask") => Policy::Strict,
                _ => Policy::AcceptNew,
            });
        // The jump host is itself resolved through ssh_config (one hop: its
        // own ProxyJump is not followed).
        let jump = match (&c.proxy_jump, with_jump) {
            (Some(spec), true) => {
                let hop = hosts::parse_entry(spec)
                    .ok()
                    .and_then(|mut t| (t.len() == 1).then(|| t.remove(0)))
                    .ok_or_else(|| {
                        format!(
                            "ssh_config: ProxyJump '{spec}' for {} is not [user@]host[:port]",
                            target.host
                        )
                    })?;
                Some(Box::new(self.destination(&hop, false)?))
            }
            _ => None,
        };
        Ok(Destination {
            host: c.hostname.clone().unwrap_or_else(|| target.host.clone()),
            port: target.port.or(opts.port).or(c.port).unwrap_or(22),
            user: target
                .user
                .clone()
                .or_else(|| opts.user.clone())
                .or(c.user.clone())
                .unwrap_or_else(|| self.local_user.clone()),
            identity_files: c.identity_files.clone(),
            identities_only: c.identities_only,
            connect_timeout: opts
                .connect_timeout
                .or(c.connect_timeout)
                .unwrap_or(Duration::from_secs(10)),
            known_hosts,
            policy,
            jump,
        })
    }
}

fn local_user() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "root".to_string())
}

/// How each host is named in output: `host` (or `host:port`), and
/// `user@host` where the list reaches one host as several users, so that
/// their lines and per-host files stay apart.
fn labels(targets: &[Target]) -> Vec<String> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    for t in targets {
        *seen.entry(t.label()).or_default() += 1;
    }
    targets
        .iter()
        .map(|t| {
            let label = t.label();
            match &t.user {
                Some(user) if seen[&label] > 1 => format!("{user}@{label}"),
                _ => label,
            }
        })
        .collect()
}
