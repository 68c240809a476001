//! `~/.ssh/config` (and `-F FILE`): the subset fleetkit honours, resolved per
//! host the way OpenSSH does it — blocks in file order, `Host` patterns with
//! `*`, `?` and `!` negation, and the first value found for each option wins
//! (IdentityFile accumulates). `Match` blocks are not evaluated and never
//! apply; unknown options are ignored, as ssh ignores what it does not use.

use std::path::{Path, PathBuf};
use std::time::Duration;

/// What ssh_config says about one host.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HostConfig {
    pub hostname: Option<String>,
    pub user: Option<String>,
    pub port: Option<u16>,
    pub identity_files: Vec<PathBuf>,
    pub identities_only: bool,
    pub connect_timeout: Option<Duration>,
    /// `StrictHostKeyChecking`: yes, accept-new, no/off (ask is taken as yes).
    pub strict_host_key_checking: Option<String>,
    pub user_known_hosts_files: Vec<PathBuf>,
    /// `ProxyJump`: the first hop, as `[user@]host[:port]`; `none` is None.
    pub proxy_jump: Option<String>,
    /// `Ciphers`, as written (the OpenSSH transport leaves its own
    /// preference out when the user chose).
    pub ciphers: Option<String>,
}

/// A parsed config file.
#[derive(Clone, Debug, Default)]
pub struct Config {
    blocks: Vec<Block>,
}

#[derive(Clone, Debug)]
struct Block {
    /// `None` for options before any `Host` line (they apply to every host)
    /// and for `Match` blocks (`Some(vec![])`, which match nothing).
    patterns: Option<Vec<Pattern>>,
    options: Vec<(String, Vec<String>, usize)>,
}

#[derive(Clone, Debug)]
struct Pattern {
    negated: bool,
    glob: String,
}

/// A config line that could not be read.
pub type Error = crate::located::LineError;

impl Config {
    /// Reads a config file; a missing file is an empty config.
    pub fn load(path: &Path) -> Result<Config, Error> {
        match std::fs::read_to_string(path) {
            Ok(text) => Config::parse(&text, &path.display().to_string()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Config::default()),
            Err(e) => Err(Error {
                origin: path.display().to_string(),
                line: 0,
                message: format!("cannot read: {e}"),
            }),
        }
    }

    /// Parses config text.
    pub fn parse(text: &str, origin: &str) -> Result<Config, Error> {
        let mut blocks = vec![Block {
            patterns: None,
            options: Vec::new(),
        }];
        for (n, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let err = |message: String| Error {
                origin: origin.to_string(),
                line: n + 1,
                message,
            };
            let (key, rest) = split_keyword(line);
            let args = split_args(rest).map_err(err)?;
            let key = key.to_ascii_lowercase();
            match key.as_str() {
                "host" => {
                    if args.is_empty() {
                        return Err(err("Host needs at least one pattern".to_string()));
                    }
                    let patterns = args
                        .iter()
                        .map(|a| match a.strip_prefix('!') {
                            Some(glob) => Pattern {
                                negated: true,
                                glob: glob.to_string(),
                            },
                            None => Pattern {
                                negated: false,
                                glob: a.clone(),
                            },
                        })
                        .collect();
                    blocks.push(Block {
                        patterns: Some(patterns),
                        options: Vec::new(),
                    });
                }
                "match" => blocks.push(Block {
                    patterns: Some(Vec::new()),
                    options: Vec::new(),
                }),
                _ => {
                    if args.is_empty() {
                        return Err(err(format!("'{key}' needs a value")));
                    }
                    if let Some(block) = blocks.last_mut() {
                        block.options.push((key, args, n + 1));
                    }
                }
            }
        }
        let config = Config { blocks };
        config.check(origin)?;
        Ok(config)
    }

    /// Rejects values a tool would have to guess at (a port that is no port).
    fn check(&self, origin: &str) -> Result<(), Error> {
        for block in &self.blocks {
            for (key, args, line) in &block.options {
                let bad = |message: String| Error {
                    origin: origin.to_string(),
                    line: *line,
                    message,
                };
                match key.as_str() {
                    "port" if args[0].parse::<u16>().map_or(true, |p| p == 0) => {
                        return Err(bad(format!("Port '{}' is not a port number", args[0])));
                    }
                    "connecttimeout" if args[0].parse::<u64>().is_err() => {
                        return Err(bad(format!(
                            "ConnectTimeout '{}' is not a number of seconds",
                            args[0]
                        )));
                    }
                    _ => {}
                }
            }
        }
        Ok(())
    }

    /// Resolves the options for `host` (the name as given on the host list).
    pub fn resolve(&self, host: &str) -> HostConfig {
        let mut c = HostConfig::default();
        let mut seen = std::collections::HashSet::new();
        for block in &self.blocks {
            let applies = match &block.patterns {
                None => true,
                Some(patterns) => matches(patterns, host),
            };
            if !applies {
                continue;
            }
            for (key, args, _) in &block.options {
                let first = seen.insert(key.clone());
                let value = &args[0];
                match key.as_str() {
                    "hostname" if first => c.hostname = Some(value.replace("%h", host)),
                    "user" if first => c.user = Some(value.clone()),
                    "port" if first => c.port = value.parse().ok(),
                    "identityfile" => c.identity_files.push(expand_path(value)),
                    "identitiesonly" if first => c.identities_only = yes(value),
                    "connecttimeout" if first => {
                        c.connect_timeout = value.parse().ok().map(Duration::from_secs)
                    }
                    "stricthostkeychecking" if first => {
                        c.strict_host_key_checking = Some(value.to_ascii_lowercase())
                    }
                    "userknownhostsfile" if first => {
                        c.user_known_hosts_files = args.iter().map(|a| expand_path(a)).collect()
                    }
                    "ciphers" if first => c.ciphers = Some(value.clone()),
                    "proxyjump" if first => {
                        c.proxy_jump = (value != "none")
                            .then(|| value.split(',').next().unwrap_or(value).to_string())
                    }
                    _ => {}
                }
            }
        }
        c
    }
}

fn yes(value: &str) -> bool {
    matches!(value.to_ascii_lowercase().as_str(), "yes" | "true")
}

/// `Host` matches when some plain pattern matches and no negated one does.
fn matches(patterns: &[Pattern], host: &str) -> bool {
    let mut hit = false;
    for p in patterns {
        if glob(&p.glob, host) {
            if p.negated {
                return false;
            }
            hit = true;
        }
    }
    hit
}

/// ssh_config wildcards: `*` any run, `?` one character.
pub fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

/// `Key value` or `Key=value`.
fn split_keyword(line: &str) -> (&str, &str) {
    let end = line
        .find(|c: char| c.is_whitespace() || c == '=')
        .unwrap_or(line.len());
    let rest = line[end..].trim_start();
    let rest = rest.strip_prefix('=').unwrap_or(rest).trim_start();
    (&line[..end], rest)
}

/// Whitespace-separated arguments, with double quotes grouping.
fn split_args(rest: &str) -> Result<Vec<String>, String> {
    let mut args = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut any = false;
    for c in rest.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                any = true;
            }
            c if c.is_whitespace() && !quoted => {
                if any {
                    args.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            '#' if !quoted && !any => break,
            c => {
                cur.push(c);
                any = true;
            }
        }
    }
    if quoted {
        return Err("unterminated quote".to_string());
    }
    if any {
        args.push(cur);
    }
    Ok(args)
}

/// `~/x` → `$HOME/x`.
pub fn expand_path(path: &str) -> PathBuf {
    match path.strip_prefix("~/") {
        Some(rest) => home().join(rest),
        None => PathBuf::from(path),
    }
}

/// The user's home directory.
pub fn home() -> PathBuf {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = "
# global
ConnectTimeout 7
Host web* !web13
  User deploy
  Port 2200
  IdentityFile ~/.ssh/web
Host web13
  User admin
Host *
  User nobody
  Port=22
  IdentityFile \"/keys/default key\"
  IdentitiesOnly yes
  StrictHostKeyChecking accept-new
  UserKnownHostsFile /tmp/kh1 /tmp/kh2
  ProxyJump jump@bastion:2222,second
Match host x
  User never
";

    #[test]
    fn first_match_wins_with_negation() {
        let c = Config::parse(CONFIG, "cfg").unwrap();
        let web = c.resolve("web01");
        assert_eq!(web.user.as_deref(), Some("deploy"));
        assert_eq!(web.port, Some(2200));
        assert_eq!(web.identity_files.len(), 2);
        assert_eq!(web.identity_files[1], PathBuf::from("/keys/default key"));
        assert_eq!(web.connect_timeout, Some(Duration::from_secs(7)));
        let w13 = c.resolve("web13");
        assert_eq!(w13.user.as_deref(), Some("admin"));
        assert_eq!(w13.port, Some(22));
        let db = c.resolve("db1");
        assert_eq!(db.user.as_deref(), Some("nobody"));
        assert!(db.identities_only);
        assert_eq!(db.strict_host_key_checking.as_deref(), Some("accept-new"));
        assert_eq!(db.user_known_hosts_files.len(), 2);
        assert_eq!(db.proxy_jump.as_deref(), Some("jump@bastion:2222"));
    }

    #[test]
    fn globs() {
        assert!(glob("web*", "web01"));
        assert!(glob("*.example.com", "a.example.com"));
        assert!(glob("db?", "db1"));
        assert!(!glob("db?", "db10"));
        assert!(glob("*", ""));
        assert!(!glob("a*b", "acd"));
    }

    #[test]
    fn errors_name_the_line() {
        let e = Config::parse("Host a\n  Port many\n", "cfg").unwrap_err();
        assert_eq!(e.to_string(), "cfg:2: Port 'many' is not a port number");
        let e = Config::parse("Host\n", "cfg").unwrap_err();
        assert_eq!(e.line, 1);
    }
}
