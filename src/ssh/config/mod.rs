//! ssh_config as OpenSSH 9 reads it: the user's file (or `-F FILE`) then
//! `/etc/ssh/ssh_config` (not with `-F`), `Include` with globs and `~`
//! (relative names under `~/.ssh`, or `/etc/ssh` for the system file; an
//! Include inside a Host or Match block applies only where that block
//! does), `Host` patterns, `Match` criteria ([`eval`]), the first value
//! obtained for each option winning across all files (IdentityFile,
//! CertificateFile and the forwards accumulate), tokens and environment
//! variables expanded where OpenSSH expands them ([`tokens`]). An unknown
//! keyword is an error naming its file and line, as ssh's is, unless
//! `IgnoreUnknown` names it ([`keywords`]).
//!
//! Files are read once, when loaded; what applies to a host is worked out
//! per host by [`Config::resolve`], because Match and conditional
//! Includes depend on the host. `rrun -G` prints the result in `ssh -G`'s
//! forms ([`dump`]).

pub mod dump;
pub mod eval;
pub mod keywords;
pub mod tokens;

use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use eval::{HostConfig, Query, Setting};

/// A config line that could not be read.
pub type Error = crate::located::LineError;

/// How deep Includes may nest (OpenSSH's READCONF_MAX_DEPTH).
const MAX_DEPTH: usize = 16;

/// The files, read.
#[derive(Clone, Debug, Default)]
pub struct Config {
    items: Vec<Item>,
}

/// One meaningful line, in file order; an Include holds what it read.
#[derive(Clone, Debug)]
enum Item {
    Host(Vec<Pattern>),
    Match(Vec<eval::Criterion>),
    Option {
        key: String,
        args: Vec<String>,
        place: Place,
    },
    /// The files an Include read, each on its own.
    Include(Vec<Vec<Item>>),
}

/// Where a line is: its file and number.
#[derive(Clone, Debug)]
pub struct Place {
    pub file: Arc<str>,
    pub line: usize,
}

impl Place {
    fn error(&self, message: impl Into<String>) -> Error {
        Error {
            origin: self.file.to_string(),
            line: self.line,
            message: message.into(),
        }
    }
}

#[derive(Clone, Debug)]
struct Pattern {
    negated: bool,
    glob: String,
}

/// Which file a config came from decides where relative Includes point.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Origin {
    User,
    System,
}

impl Config {
    /// What a tool reads: `-F FILE` alone, else `~/.ssh/config` then
    /// `/etc/ssh/ssh_config` (missing files are empty). A `-F` file that
    /// does not exist is an error.
    pub fn load_for(file: Option<&Path>) -> Result<Config, Error> {
        match file {
            Some(path) => {
                if !path.exists() {
                    return Err(Error {
                        origin: path.display().to_string(),
                        line: 0,
                        message: "no such ssh_config file (-F)".to_string(),
                    });
                }
                Config::load(path)
            }
            None => {
                let mut items = read_checked(&home().join(".ssh/config"), Origin::User, 0, true)?;
                items.extend(read_file(Path::new(SYSTEM), Origin::System, 0)?);
                Ok(Config { items })
            }
        }
    }

    /// The config with command-line options (`-O KEY=VALUE`, as ssh's
    /// `-o`) before everything read: the first value obtained wins, so
    /// they win. Host, Match and Include are refused there, as ssh
    /// refuses them.
    pub fn with_options(mut self, options: &[String]) -> Result<Config, Error> {
        let mut first = Vec::new();
        for (i, option) in options.iter().enumerate() {
            let at = |message: String| Error {
                origin: "-O".to_string(),
                line: 0,
                message: format!("'{option}': {message}"),
            };
            if option.contains(['\n', '\r']) {
                return Err(at("a line break: one option per -O".to_string()));
            }
            let (key, _) = split_keyword(option.trim());
            if matches!(
                key.to_ascii_lowercase().as_str(),
                "host" | "match" | "include"
            ) {
                return Err(at(format!("{key} is not an option for one run")));
            }
            if !option.contains('=') && !option.trim().contains(char::is_whitespace) {
                return Err(at("expected KEY=VALUE".to_string()));
            }
            let items = parse(option, &format!("-O #{}", i + 1), Origin::User, 0)
                .map_err(|e| at(e.message))?;
            first.extend(items);
        }
        first.append(&mut self.items);
        self.items = first;
        Ok(self)
    }

    /// Reads one file (and what it includes); a missing file is empty.
    pub fn load(path: &Path) -> Result<Config, Error> {
        Ok(Config {
            items: read_file(path, Origin::User, 0)?,
        })
    }

    /// Parses config text (Includes are read from disk).
    pub fn parse(text: &str, origin: &str) -> Result<Config, Error> {
        Ok(Config {
            items: parse(text, origin, Origin::User, 0)?,
        })
    }

    /// What applies to one host (see [`eval`]).
    pub fn resolve(&self, q: &Query) -> HostConfig {
        eval::resolve(&self.items, q)
    }

    /// What applies to `host`, with nothing given on the command line.
    pub fn resolve_host(&self, host: &str) -> HostConfig {
        self.resolve(&Query::new(host))
    }
}

/// Whether group `gid` has exactly one member, the user `me` who owns the
/// file (`owner`): a user-private group, as Debian and Ubuntu give every
/// user (umask 002 makes files group-writable). Debian's ssh accepts a
/// config file writable by such a group, so this does too.
fn private_group(gid: u32, owner: u32, me: u32) -> bool {
    if owner != me {
        return false;
    }
    // SAFETY: the passwd and group databases are read on this thread
    // only (configs are read before any worker starts); each pointer is
    // used before the next call.
    unsafe {
        let gr = libc::getgrgid(gid);
        if gr.is_null() {
            return false;
        }
        let mut members = 0;
        libc::setpwent();
        loop {
            let pw = libc::getpwent();
            if pw.is_null() {
                break;
            }
            if (*pw).pw_gid == gid {
                members += 1;
                if (*pw).pw_uid != me {
                    libc::endpwent();
                    return false;
                }
            }
        }
        libc::endpwent();
        let pw = libc::getpwuid(owner);
        if pw.is_null() {
            return false;
        }
        let listed = (*gr).gr_mem;
        if !listed.is_null() && !(*listed).is_null() {
            members += 1;
            let first = std::ffi::CStr::from_ptr(*listed);
            if first != std::ffi::CStr::from_ptr((*pw).pw_name) || !(*listed.add(1)).is_null() {
                return false;
            }
        }
        members > 0
    }
}

/// Whether a file is not ours or root's, or is writable by others or by
/// a group that is not our private one: ssh's test for a file whose
/// contents decide what runs, or where, as us.
pub fn another_user_could_write(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    // SAFETY: getuid cannot fail.
    let me = unsafe { libc::getuid() };
    let group_ok = meta.mode() & 0o020 == 0 || private_group(meta.gid(), meta.uid(), me);
    (meta.uid() != 0 && meta.uid() != me) || meta.mode() & 0o002 != 0 || !group_ok
}

/// The system-wide file.
const SYSTEM: &str = "/etc/ssh/ssh_config";

fn read_file(path: &Path, origin: Origin, depth: usize) -> Result<Vec<Item>, Error> {
    read_checked(path, origin, depth, false)
}

/// Reads a config file; `check` refuses one that another user could have
/// written (not ours or root's, or writable by group or others), as ssh
/// does for ~/.ssh/config and every included file: a Match exec or
/// ProxyCommand in it runs as us.
fn read_checked(
    path: &Path,
    origin: Origin,
    depth: usize,
    check: bool,
) -> Result<Vec<Item>, Error> {
    if check
        && let Ok(meta) = std::fs::metadata(path)
        && another_user_could_write(&meta)
    {
        return Err(Error {
            origin: path.display().to_string(),
            line: 0,
            message: "Bad owner or permissions (another user could write it; ssh refuses it too)"
                .to_string(),
        });
    }
    let text = match std::fs::read(path) {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => {
            return Err(Error {
                origin: path.display().to_string(),
                line: 0,
                message: crate::ssh::session::plain_error(&e),
            });
        }
    };
    parse(&text, &path.display().to_string(), origin, depth)
}

fn parse(text: &str, file: &str, origin: Origin, depth: usize) -> Result<Vec<Item>, Error> {
    let file: Arc<str> = Arc::from(file);
    let mut items = Vec::new();
    // IgnoreUnknown applies to the lines after it, in this file and what
    // it includes (OpenSSH keeps the first value seen).
    let mut ignore: Option<Vec<String>> = None;
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let place = Place {
            file: file.clone(),
            line: n + 1,
        };
        let (key, rest) = split_keyword(line);
        let key = key.to_ascii_lowercase();
        // A command is the rest of the line as written (ssh hands it to
        // the shell whole, quotes and all).
        let args = if matches!(
            key.as_str(),
            "proxycommand" | "localcommand" | "remotecommand" | "knownhostscommand"
        ) {
            vec![rest.trim_end().to_string()]
        } else {
            split_args(rest).map_err(|m| place.error(m))?
        };
        match key.as_str() {
            "host" => {
                if args.is_empty() {
                    return Err(place.error("Host needs at least one pattern"));
                }
                items.push(Item::Host(
                    args.iter()
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
                        .collect(),
                ));
            }
            "match" => {
                let criteria = eval::parse_match(&args).map_err(|m| place.error(m))?;
                items.push(Item::Match(criteria));
            }
            "include" => {
                if args.is_empty() {
                    return Err(place.error("Include needs a file name"));
                }
                if depth + 1 > MAX_DEPTH {
                    return Err(place.error("too many recursive configuration includes"));
                }
                let mut included = Vec::new();
                for arg in &args {
                    for path in include_paths(arg, origin) {
                        included.push(read_checked(&path, origin, depth + 1, true)?);
                    }
                }
                items.push(Item::Include(included));
            }
            _ => {
                if key == "ignoreunknown" && ignore.is_none() {
                    ignore = Some(
                        args.iter()
                            .flat_map(|a| a.split(','))
                            .map(str::to_string)
                            .collect(),
                    );
                }
                match keywords::kind(&key) {
                    Some(_) => {}
                    None if ignore
                        .as_ref()
                        .is_some_and(|pats| eval::match_list(&key, pats, true)) =>
                    {
                        continue;
                    }
                    None => {
                        return Err(place.error(format!("Bad configuration option: {key}")));
                    }
                }
                if args.is_empty() {
                    return Err(place.error(format!("{key}: missing argument")));
                }
                keywords::check(&key, &args).map_err(|m| place.error(m))?;
                items.push(Item::Option { key, args, place });
            }
        }
    }
    Ok(items)
}

/// The files an `Include` argument names: `~` expanded, relative names
/// under `~/.ssh` (user) or `/etc/ssh` (system), globs expanded and
/// sorted as glob(3) does; none when nothing matches.
fn include_paths(arg: &str, origin: Origin) -> Vec<PathBuf> {
    let arg = tokens::expand_env(arg).unwrap_or_else(|_| arg.to_string());
    let path = expand_path(&arg);
    let path = if path.is_absolute() {
        path
    } else {
        match origin {
            Origin::User => home().join(".ssh").join(path),
            Origin::System => Path::new("/etc/ssh").join(path),
        }
    };
    glob_paths(&path)
}

/// Expands `*`, `?` (and `[...]`) in each component of an absolute path.
fn glob_paths(path: &Path) -> Vec<PathBuf> {
    let mut found = vec![PathBuf::from("/")];
    for part in path.components().skip(1) {
        let part = part.as_os_str().to_string_lossy();
        let wild = part.contains(['*', '?', '[', '\\']);
        let mut next = Vec::new();
        for dir in &found {
            if !wild {
                let p = dir.join(&*part);
                if p.exists() {
                    next.push(p);
                }
                continue;
            }
            let Ok(entries) = std::fs::read_dir(dir) else {
                continue;
            };
            let mut names: Vec<String> = entries
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| (!n.starts_with('.') || part.starts_with('.')) && fnmatch(&part, n))
                .collect();
            names.sort();
            next.extend(names.into_iter().map(|n| dir.join(n)));
        }
        found = next;
    }
    found.retain(|p| p.is_file());
    found
}

/// glob(3)'s matching of one file name, as Include uses it: `*`, `?`,
/// `[abc]`, `[a-z]`, `[!a]` and `\\` escaping the next character.
fn fnmatch(pattern: &str, name: &str) -> bool {
    fn go(p: &[char], t: &[char]) -> bool {
        match p.first() {
            None => t.is_empty(),
            Some('*') => (0..=t.len()).any(|i| go(&p[1..], &t[i..])),
            Some('?') => !t.is_empty() && go(&p[1..], &t[1..]),
            Some('[') => {
                let Some(&c) = t.first() else {
                    return false;
                };
                let mut i = 1;
                let negated = matches!(p.get(1), Some('!' | '^'));
                if negated {
                    i += 1;
                }
                let mut hit = false;
                let mut first = true;
                while i < p.len() && (p[i] != ']' || first) {
                    first = false;
                    if p.get(i + 1) == Some(&'-') && p.get(i + 2).is_some_and(|&e| e != ']') {
                        hit |= p[i] <= c && c <= p[i + 2];
                        i += 3;
                    } else {
                        hit |= p[i] == c;
                        i += 1;
                    }
                }
                if i >= p.len() {
                    // No closing bracket: a literal '['.
                    return c == '[' && go(&p[1..], &t[1..]);
                }
                hit != negated && go(&p[i + 1..], &t[1..])
            }
            Some('\\') if p.len() > 1 => t.first() == Some(&p[1]) && go(&p[2..], &t[1..]),
            Some(&c) => t.first() == Some(&c) && go(&p[1..], &t[1..]),
        }
    }
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = name.chars().collect();
    go(&p, &t)
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

/// Whitespace-separated arguments as ssh's argv_split makes them: double
/// or single quotes group (and are removed), a backslash escapes a quote,
/// a space or itself, and a `#` starting an argument ends the line.
fn split_args(rest: &str) -> Result<Vec<String>, String> {
    let mut args = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut any = false;
    let mut chars = rest.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if matches!(chars.peek(), Some('"' | '\'' | ' ' | '\\')) => {
                cur.push(chars.next().unwrap_or('\\'));
                any = true;
            }
            '"' | '\'' if quote.is_none() => {
                quote = Some(c);
                any = true;
            }
            c if Some(c) == quote => quote = None,
            c if c.is_whitespace() && quote.is_none() => {
                if any {
                    args.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            '#' if quote.is_none() && !any => break,
            c => {
                cur.push(c);
                any = true;
            }
        }
    }
    if quote.is_some() {
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
        None if path == "~" => home(),
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
mod tests;
