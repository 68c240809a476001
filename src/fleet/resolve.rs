//! Turning targets into destinations: the command line first, then
//! ssh_config, then defaults; known_hosts shared between hosts that use the
//! same files; labels that keep hosts apart in output.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::{Host, Options};
use crate::hosts::{self, Target};
use crate::ssh::auth::AgentChoice;
use crate::ssh::config::{Config, Query, home, keywords, tokens};
use crate::ssh::known_hosts::{KnownHosts, Policy};
use crate::ssh::session::Destination;

/// Applies the command line and ssh_config to each target.
pub fn resolve(opts: &Options, config: &Config, targets: Vec<Target>) -> Result<Vec<Host>, String> {
    let labels = labels(&targets);
    let mut resolver = Resolver {
        opts,
        config,
        local_user: crate::ssh::config::eval::local_user(),
        known: HashMap::new(),
        depth: 0,
    };
    targets
        .into_iter()
        .zip(labels)
        .map(|(target, label)| {
            let (dest, needs_openssh) = resolver.destination(&target, true)?;
            Ok(Host {
                target,
                dest,
                label,
                needs_openssh,
            })
        })
        .collect()
}

struct Resolver<'a> {
    opts: &'a Options,
    config: &'a Config,
    local_user: String,
    known: HashMap<Vec<PathBuf>, Arc<KnownHosts>>,
    /// How many jump hosts deep the resolution is.
    depth: usize,
}

impl Resolver<'_> {
    /// The destination, and why only OpenSSH can reach it (a keyword of
    /// ssh_config the native SSH cannot honour), if so.
    fn destination(
        &mut self,
        target: &Target,
        with_jump: bool,
    ) -> Result<(Destination, Option<String>), String> {
        let opts = self.opts;
        // -l and --port are for the hosts listed, not their jump hosts.
        let c = self.config.resolve(&Query {
            host: target.host.clone(),
            user: target
                .user
                .clone()
                .or_else(|| (self.depth == 0).then(|| opts.user.clone()).flatten()),
            port: target
                .port
                .or(if self.depth == 0 { opts.port } else { None }),
            local_user: self.local_user.clone(),
        });
        let needs_openssh = keywords::native_gap(&c).map(|(key, s)| {
            format!(
                "ssh_config: {}:{}: {key} {} (for {}) needs OpenSSH itself",
                s.place.file,
                s.place.line,
                s.args.join(" "),
                target.host
            )
        });
        if let (Some(why), true) = (&needs_openssh, self.depth > 0) {
            return Err(format!("{why}: a jump host is reached natively"));
        }
        if let Some(why) = c.jump_loop() {
            return Err(format!("ssh_config: {} (for {})", why, target.host));
        }
        let t = c.tokens();
        let file = |raw: &str| {
            tokens::expand_file(raw, &t)
                .map_err(|e| format!("ssh_config: {} (for {})", e, target.host))
        };
        let mut files = Vec::new();
        match c.get("userknownhostsfile") {
            Some(s) => {
                for f in &s.args {
                    files.push(file(f)?);
                }
            }
            None => {
                files.push(home().join(".ssh/known_hosts"));
                files.push(home().join(".ssh/known_hosts2"));
            }
        }
        // The system's known hosts are read too (new keys go to the first
        // user file).
        match c.get("globalknownhostsfile") {
            Some(s) => {
                for f in &s.args {
                    files.push(file(f)?);
                }
            }
            None => {
                files.push(PathBuf::from("/etc/ssh/ssh_known_hosts"));
                files.push(PathBuf::from("/etc/ssh/ssh_known_hosts2"));
            }
        }
        let known_hosts = self
            .known
            .entry(files.clone())
            .or_insert_with(|| Arc::new(KnownHosts::load(files)))
            .clone();
        let policy = opts.host_key.unwrap_or(
            match c
                .first("stricthostkeychecking")
                .map(str::to_ascii_lowercase)
                .as_deref()
            {
                Some("no" | "off" | "false") => Policy::Off,
                Some("yes" | "ask" | "true") => Policy::Strict,
                _ => Policy::AcceptNew,
            },
        );
        let mut identity_files = Vec::new();
        for s in c.all("identityfile") {
            identity_files.push(file(&s.args[0])?);
        }
        let proxy = tokens::Tokens {
            h: c.hostname(),
            n: target.host.clone(),
            p: c.port().to_string(),
            r: c.user(),
            ..tokens::Tokens::default()
        };
        let proxy_command = match c.proxy_command() {
            Some(cmd) => Some(
                tokens::expand(&cmd, &proxy, tokens::PROXY)
                    .map_err(|e| format!("ssh_config: ProxyCommand {e} (for {})", target.host))?,
            ),
            None => None,
        };
        // ProxyJump a,b,c: the target is reached through c, c through b,
        // b through a. A hop is resolved through ssh_config too; the first
        // keeps its own ProxyJump (as `ssh -W` to it would), the others
        // are reached through the chain. Loops are cut by depth.
        let mut jump: Option<Box<Destination>> = None;
        if with_jump {
            self.depth += 1;
            if self.depth > 8 {
                return Err(format!(
                    "ssh_config: ProxyJump for {} goes through more than 8 jump hosts (a loop?)",
                    target.host
                ));
            }
            for (i, spec) in c.proxy_jump().into_iter().enumerate() {
                let spec = tokens::expand(&spec, &proxy, tokens::PROXY)
                    .map_err(|e| format!("ssh_config: ProxyJump {e} (for {})", target.host))?;
                let spec = spec.strip_prefix("ssh://").unwrap_or(&spec).to_string();
                let hop = hosts::parse_entry(&spec)
                    .ok()
                    .and_then(|mut t| (t.len() == 1).then(|| t.remove(0)))
                    .ok_or_else(|| {
                        format!(
                            "ssh_config: ProxyJump '{spec}' for {} is not [user@]host[:port]",
                            target.host
                        )
                    })?;
                let (mut hop, _) = self.destination(&hop, i == 0)?;
                if i > 0 {
                    hop.jump = jump.take();
                }
                jump = Some(Box::new(hop));
            }
            self.depth -= 1;
        }
        // ssh_config times (`30`, `5s`, `1m`); 0 is no timeout of its
        // own, so fleetkit's default applies.
        let seconds = |key: &str| {
            c.first(key)
                .and_then(keywords::seconds)
                .filter(|&s| s > 0)
                .map(Duration::from_secs)
        };
        let methods = ["kexalgorithms", "hostkeyalgorithms", "ciphers", "macs"]
            .into_iter()
            .filter_map(|k| c.first(k).map(|v| (k, v.to_string())))
            .collect();
        Ok((
            Destination {
                host: c.hostname(),
                port: c.port(),
                user: c.user(),
                identity_files,
                identities_only: c.yes("identitiesonly").unwrap_or(false),
                connect_timeout: opts
                    .connect_timeout
                    .or(seconds("connecttimeout"))
                    .unwrap_or(Duration::from_secs(10)),
                known_hosts,
                policy,
                jump,
                proxy_command,
                host_key_alias: c.first("hostkeyalias").map(str::to_string),
                methods,
                batch_mode: c.yes("batchmode").unwrap_or(false),
                hash_known_hosts: c.yes("hashknownhosts").unwrap_or(false),
                agent: match c.first("identityagent") {
                    None => AgentChoice::Environment,
                    Some(v) if v.eq_ignore_ascii_case("none") => AgentChoice::None,
                    Some("SSH_AUTH_SOCK") => AgentChoice::Environment,
                    Some(v) => {
                        // `$VAR` names an environment variable holding the path.
                        let raw = match v.strip_prefix('$') {
                            Some(var) => std::env::var(var).unwrap_or_default(),
                            None => v.to_string(),
                        };
                        AgentChoice::Socket(file(&raw)?)
                    }
                },
                alive: Some(keywords::alive_interval(&c))
                    .filter(|&i| i > 0)
                    .map(|i| {
                        let count = c
                            .first("serveralivecountmax")
                            .and_then(|v| v.parse().ok())
                            .unwrap_or(3);
                        (Duration::from_secs(i), count)
                    }),
                attempts: c
                    .first("connectionattempts")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(1u32)
                    .max(1),
            },
            needs_openssh,
        ))
    }
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
