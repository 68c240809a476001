//! Working out what ssh_config says for one host, as OpenSSH's readconf.c
//! does: walk the lines in order with an "active" flag that `Host` and
//! `Match` lines set; an option counts when active and not obtained
//! before. `Match final` (or `canonical`) asks for a second pass in which
//! those match, `Host` lines are matched against the resolved HostName,
//! and options still unset may be filled in.
//!
//! `Host` patterns match the name as given, case-sensitively; `Match host`
//! and `originalhost` match case-insensitively; `Match exec` runs its
//! command through `/bin/sh -c` (standard input and output on /dev/null)
//! and matches on exit status 0, and only when the criteria before it on
//! the line matched.

use std::collections::BTreeMap;

use super::tokens::{self, Tokens};
use super::{Item, Pattern, Place, glob};

/// One host asked about: the name as given, and what the command line
/// already fixed (set before ssh_config is read, so it wins).
#[derive(Clone, Debug)]
pub struct Query {
    pub host: String,
    pub user: Option<String>,
    pub port: Option<u16>,
    pub local_user: String,
}

impl Query {
    pub fn new(host: &str) -> Query {
        Query {
            host: host.to_string(),
            user: None,
            port: None,
            local_user: local_user(),
        }
    }
}

/// The local login name.
/// The local login name, from the password database as ssh takes it
/// (the environment only when that has no entry).
pub fn local_user() -> String {
    // SAFETY: getpwuid's static result is copied out at once.
    let from_passwd = unsafe {
        let pw = libc::getpwuid(libc::getuid());
        (!pw.is_null()).then(|| {
            std::ffi::CStr::from_ptr((*pw).pw_name)
                .to_string_lossy()
                .into_owned()
        })
    };
    from_passwd
        .or_else(|| std::env::var("USER").ok())
        .or_else(|| std::env::var("LOGNAME").ok())
        .unwrap_or_else(|| "root".to_string())
}

/// An option's value and where it was obtained.
#[derive(Clone, Debug)]
pub struct Setting {
    pub args: Vec<String>,
    pub place: Place,
}

/// What applies to one host: the first value obtained for each option
/// (the accumulating ones in order).
#[derive(Clone, Debug, Default)]
pub struct HostConfig {
    /// The name as given.
    pub original: String,
    /// `user@` / `-l`, `:port` / `--port`.
    pub cli_user: Option<String>,
    pub cli_port: Option<u16>,
    pub local_user: String,
    values: BTreeMap<String, Setting>,
    lists: BTreeMap<String, Vec<Setting>>,
}

/// Options that accumulate rather than keep their first value.
const LISTS: &[&str] = &[
    "identityfile",
    "certificatefile",
    "localforward",
    "remoteforward",
    "dynamicforward",
    "sendenv",
    "setenv",
];

impl HostConfig {
    fn set(&mut self, key: &str, args: &[String], place: &Place) {
        let setting = Setting {
            args: args.to_vec(),
            place: place.clone(),
        };
        if LISTS.contains(&key) {
            // A value seen again (the final pass reads every file twice)
            // is not added twice, as ssh's add_identity_file skips it.
            let list = self.lists.entry(key.to_string()).or_default();
            if !list.iter().any(|s| s.args == setting.args) {
                list.push(setting);
            }
            return;
        }
        // ProxyCommand and ProxyJump fill one slot: the first of either
        // (a ProxyJump of none leaves room for a ProxyCommand, as in ssh).
        let set = |k: &str| {
            self.values
                .get(k)
                .is_some_and(|s| !s.args[0].eq_ignore_ascii_case("none"))
        };
        if (key == "proxycommand" && set("proxyjump"))
            || (key == "proxyjump" && self.values.contains_key("proxycommand"))
        {
            return;
        }
        self.values.entry(key.to_string()).or_insert(setting);
    }

    /// The first value of `key`, with where it came from.
    pub fn get(&self, key: &str) -> Option<&Setting> {
        self.values.get(key)
    }

    /// Every value of an accumulating `key`.
    pub fn all(&self, key: &str) -> &[Setting] {
        self.lists.get(key).map_or(&[], |v| v.as_slice())
    }

    /// The first argument of `key`.
    pub fn first(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(|s| s.args[0].as_str())
    }

    /// Every option set (first values and accumulated ones), by keyword.
    pub fn settings(&self) -> impl Iterator<Item = (&str, &Setting)> {
        self.values.iter().map(|(k, s)| (k.as_str(), s)).chain(
            self.lists
                .iter()
                .flat_map(|(k, v)| v.iter().map(move |s| (k.as_str(), s))),
        )
    }

    /// The address to connect to: HostName with `%h` expanded, else the
    /// name as given.
    pub fn hostname(&self) -> String {
        match self.first("hostname") {
            Some(h) => {
                tokens::expand(h, &self.host_tokens(), "h").unwrap_or_else(|_| h.to_string())
            }
            None => self.original.clone(),
        }
    }

    /// The login: the command line's, else User, else the local one.
    pub fn user(&self) -> String {
        self.cli_user
            .clone()
            .or_else(|| self.first("user").map(str::to_string))
            .unwrap_or_else(|| self.local_user.clone())
    }

    pub fn port(&self) -> u16 {
        self.cli_port
            .or_else(|| self.first("port").and_then(super::keywords::port))
            .unwrap_or(22)
    }

    /// A yes/no option.
    pub fn yes(&self, key: &str) -> Option<bool> {
        self.first(key)
            .map(|v| matches!(v.to_ascii_lowercase().as_str(), "yes" | "true"))
    }

    /// A ProxyJump whose last hop is the host itself, as ssh refuses it.
    pub fn jump_loop(&self) -> Option<String> {
        let hops = self.proxy_jump();
        let last = hops.last()?;
        let rest = last.rsplit_once('@').map_or(last.as_str(), |(_, h)| h);
        let (host, port) = match rest.rsplit_once(':') {
            Some((h, p)) => (h, p.parse().unwrap_or(0)),
            None => (rest, 22),
        };
        (host == self.original && port == self.port()).then(|| format!("jumphost loop via {host}"))
    }

    /// `ProxyJump`'s hops, in order (`none`: no hops).
    pub fn proxy_jump(&self) -> Vec<String> {
        match self.first("proxyjump") {
            Some(v) if !v.eq_ignore_ascii_case("none") => {
                v.split(',').map(str::to_string).collect()
            }
            _ => Vec::new(),
        }
    }

    /// `ProxyCommand` as written (`none`: none).
    pub fn proxy_command(&self) -> Option<String> {
        self.get("proxycommand")
            .map(|s| s.args.join(" "))
            .filter(|c| !c.eq_ignore_ascii_case("none"))
    }

    /// The tokens HostName may use.
    fn host_tokens(&self) -> Tokens {
        Tokens {
            h: self.original.clone(),
            n: self.original.clone(),
            ..Tokens::default()
        }
    }

    /// Every token, for the host as resolved.
    pub fn tokens(&self) -> Tokens {
        let h = self.hostname().to_ascii_lowercase();
        Tokens::for_host(
            &h,
            &self.original,
            self.port(),
            &self.user(),
            &self.local_user,
            self.first("hostkeyalias"),
        )
    }
}

/// One `Match` criterion, maybe negated (`!`).
#[derive(Clone, Debug)]
pub struct Criterion {
    negated: bool,
    kind: Kind,
}

#[derive(Clone, Debug)]
enum Kind {
    All,
    /// `canonical` and `final`: true in the final pass.
    Final {
        asks: bool,
    },
    Exec(String),
    Host(Vec<String>),
    OriginalHost(Vec<String>),
    User(Vec<String>),
    LocalUser(Vec<String>),
    LocalNetwork(Vec<String>),
}

/// A `Match` line's criteria.
pub fn parse_match(args: &[String]) -> Result<Vec<Criterion>, String> {
    let mut out = Vec::new();
    let mut it = args.iter();
    while let Some(word) = it.next() {
        let (negated, name) = match word.strip_prefix('!') {
            Some(n) => (true, n),
            None => (false, word.as_str()),
        };
        let name = name.to_ascii_lowercase();
        let mut value = |what: &str| -> Result<Vec<String>, String> {
            let v = it
                .next()
                .ok_or_else(|| format!("Match {what}: missing argument"))?;
            Ok(v.split(',').map(str::to_string).collect())
        };
        let kind = match name.as_str() {
            "all" => Kind::All,
            "canonical" => Kind::Final { asks: false },
            // OpenSSH 9.2 asks for the final pass on `!final` too.
            "final" => Kind::Final { asks: true },
            "exec" => Kind::Exec(
                it.next()
                    .ok_or_else(|| "Match exec: missing argument".to_string())?
                    .clone(),
            ),
            "host" => Kind::Host(value("host")?),
            "originalhost" => Kind::OriginalHost(value("originalhost")?),
            "user" => Kind::User(value("user")?),
            "localuser" => Kind::LocalUser(value("localuser")?),
            "localnetwork" => Kind::LocalNetwork(value("localnetwork")?),
            other => return Err(format!("Unsupported Match attribute {other}")),
        };
        out.push(Criterion { negated, kind });
    }
    if out.is_empty() {
        return Err("Match needs at least one criterion".to_string());
    }
    if out.iter().any(|c| matches!(c.kind, Kind::All))
        && out
            .iter()
            .any(|c| !matches!(c.kind, Kind::All | Kind::Final { .. }))
    {
        return Err("'all' cannot be combined with other Match attributes".to_string());
    }
    Ok(out)
}

/// OpenSSH's match_pattern_list: a comma list where a matching negated
/// pattern refuses outright and some plain pattern must match.
pub fn match_list(text: &str, patterns: &[String], fold: bool) -> bool {
    let text = if fold {
        text.to_ascii_lowercase()
    } else {
        text.to_string()
    };
    let mut hit = false;
    for p in patterns {
        let (neg, p) = match p.strip_prefix('!') {
            Some(p) => (true, p),
            None => (false, p.as_str()),
        };
        let p = if fold {
            p.to_ascii_lowercase()
        } else {
            p.to_string()
        };
        if glob(&p, &text) {
            if neg {
                return false;
            }
            hit = true;
        }
    }
    hit
}

/// `Host` matches when some plain pattern matches and no negated one does.
fn host_line(patterns: &[Pattern], host: &str) -> bool {
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

struct Eval<'a> {
    q: &'a Query,
    cfg: HostConfig,
    final_pass: bool,
    want_final: bool,
    /// What `Host` lines match: the name as given, then (final pass) the
    /// resolved HostName.
    host: String,
}

/// What applies to `q.host`.
pub(super) fn resolve(items: &[Item], q: &Query) -> HostConfig {
    let mut e = Eval {
        q,
        cfg: HostConfig {
            original: q.host.clone(),
            cli_user: q.user.clone(),
            cli_port: q.port,
            local_user: q.local_user.clone(),
            ..HostConfig::default()
        },
        final_pass: false,
        want_final: false,
        host: q.host.clone(),
    };
    e.walk(items, &mut true, false);
    if e.want_final {
        // As ssh does: the host, lowercased, is now the HostName, fixed
        // before the second pass (a HostName found in it is ignored), and
        // what `Host` lines match.
        e.final_pass = true;
        e.host = e.cfg.hostname().to_lowercase();
        let place = Place {
            file: std::sync::Arc::from("<final pass>"),
            line: 0,
        };
        e.cfg.values.insert(
            "hostname".to_string(),
            Setting {
                args: vec![e.host.replace('%', "%%")],
                place,
            },
        );
        e.walk(items, &mut true, false);
    }
    e.cfg
}

impl Eval<'_> {
    fn walk(&mut self, items: &[Item], active: &mut bool, never: bool) {
        for item in items {
            match item {
                Item::Host(patterns) => *active = !never && host_line(patterns, &self.host),
                Item::Match(criteria) => {
                    let m = self.matches(criteria);
                    *active = !never && m;
                }
                Item::Option { key, args, place } => {
                    if *active {
                        self.cfg.set(key, args, place);
                    }
                }
                Item::Include(files) => {
                    // Each file starts where the Include stands, and a
                    // Host or Match in it does not outlive it.
                    let saved = *active;
                    for inner in files {
                        self.walk(inner, active, never || !saved);
                        *active = saved;
                    }
                }
            }
        }
    }

    /// The host `Match host` sees: the resolved HostName in the final
    /// pass, HostName as set so far, else the name as given.
    fn match_host(&self) -> String {
        self.cfg.hostname()
    }

    fn matches(&mut self, criteria: &[Criterion]) -> bool {
        let mut result = true;
        for c in criteria {
            let hit = match &c.kind {
                Kind::All => true,
                Kind::Final { asks } => {
                    self.want_final |= *asks;
                    self.final_pass
                }
                Kind::Exec(cmd) => {
                    if !result {
                        // OpenSSH skips an exec once the line cannot match.
                        continue;
                    }
                    self.exec(cmd)
                }
                Kind::Host(p) => match_list(&self.match_host(), p, true),
                Kind::OriginalHost(p) => match_list(&self.q.host, p, true),
                Kind::User(p) => match_list(&self.cfg.user(), p, false),
                Kind::LocalUser(p) => match_list(&self.q.local_user, p, false),
                Kind::LocalNetwork(p) => local_network(p),
            };
            if hit == c.negated {
                result = false;
            }
        }
        result
    }

    /// `Match exec`: the command, tokens expanded, through `/bin/sh -c`.
    fn exec(&self, cmd: &str) -> bool {
        let t = Tokens::for_host(
            &self.match_host(),
            &self.q.host,
            self.cfg.port(),
            &self.cfg.user(),
            &self.q.local_user,
            self.cfg.first("hostkeyalias"),
        );
        let Ok(cmd) = tokens::expand(cmd, &t, tokens::ALL) else {
            return false;
        };
        std::process::Command::new("/bin/sh")
            .arg("-c")
            .arg(cmd)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }
}

/// Whether an address of a local interface is in one of the CIDR
/// `networks` (negation as in pattern lists).
fn local_network(networks: &[String]) -> bool {
    let addrs = interface_addrs();
    let mut hit = false;
    for n in networks {
        let (neg, n) = match n.strip_prefix('!') {
            Some(n) => (true, n),
            None => (false, n.as_str()),
        };
        if addrs.iter().any(|a| in_network(a, n)) {
            if neg {
                return false;
            }
            hit = true;
        }
    }
    hit
}

fn in_network(addr: &std::net::IpAddr, cidr: &str) -> bool {
    use std::net::IpAddr;
    let (net, bits) = match cidr.split_once('/') {
        Some((n, b)) => (n, b.parse::<u32>().ok()),
        None => (cidr, None),
    };
    let Ok(net) = net.parse::<IpAddr>() else {
        return false;
    };
    match (addr, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let bits = bits.unwrap_or(32).min(32);
            let mask = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - bits)
            };
            u32::from(*a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let bits = bits.unwrap_or(128).min(128);
            let mask = if bits == 0 {
                0
            } else {
                u128::MAX << (128 - bits)
            };
            u128::from(*a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

/// The addresses of this machine's interfaces.
fn interface_addrs() -> Vec<std::net::IpAddr> {
    let mut out = Vec::new();
    let mut list: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs fills a list we walk read-only, then free.
    unsafe {
        if libc::getifaddrs(&mut list) != 0 {
            return out;
        }
        let mut cur = list;
        while !cur.is_null() {
            let sa = (*cur).ifa_addr;
            if !sa.is_null() {
                match (*sa).sa_family as i32 {
                    libc::AF_INET => {
                        let sin = &*(sa as *const libc::sockaddr_in);
                        out.push(std::net::IpAddr::V4(std::net::Ipv4Addr::from(
                            u32::from_be(sin.sin_addr.s_addr),
                        )));
                    }
                    libc::AF_INET6 => {
                        let sin6 = &*(sa as *const libc::sockaddr_in6);
                        out.push(std::net::IpAddr::V6(std::net::Ipv6Addr::from(
                            sin6.sin6_addr.s6_addr,
                        )));
                    }
                    _ => {}
                }
            }
            cur = (*cur).ifa_next;
        }
        libc::freeifaddrs(list);
    }
    out
}
