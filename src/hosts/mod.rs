//! Host lists: parsing `[user@]host[:port]` entries (IPv6 as `[::1]:22`),
//! expanding ranges (`web[01-20]`, `db[1,3,5-7]`, several per name
//! multiply), removing duplicates, and folding names back into ranges for
//! display (`web[01-03,05]`).
//!
//! A list is one entry per line; blank lines and `#` comments are ignored;
//! a malformed line is an error naming its source and line number, and then
//! nothing runs. An entry may be a host-set expression with groups
//! (`@web!web07`, see [`expr`] and [`groups`]).

pub mod expr;
pub mod groups;

use std::fmt;

pub use groups::Groups;

/// The most hosts one entry may expand to: a typo like `h[1-99999999]`
/// should be an error, not an out-of-memory.
pub const MAX_EXPANSION: usize = 100_000;

/// One host to reach.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Target {
    /// The login name, if given (`user@`).
    pub user: Option<String>,
    /// The host name or address, without brackets.
    pub host: String,
    /// The port, if given.
    pub port: Option<u16>,
}

impl Target {
    /// Whether `other` is one of the hosts this names: the same host, and
    /// the same user and port where this gives them (`!web07` and `-x
    /// web07` leave out web07 on any port, as any user).
    pub fn names(&self, other: &Target) -> bool {
        other.host == self.host
            && (self.port.is_none() || other.port == self.port)
            && (self.user.is_none() || other.user == self.user)
    }

    /// Whether this and `other` are the same host with nothing they both
    /// give in disagreement: `other` may be this host once its ssh_config
    /// fills in the user or port it leaves out.
    fn names_host_of(&self, other: &Target) -> bool {
        other.host == self.host
            && (self.port.is_none() || other.port.is_none() || other.port == self.port)
            && (self.user.is_none() || other.user.is_none() || other.user == self.user)
    }

    /// How the host is named in output: the host, with the port when one
    /// was given (so two sshds on one address stay apart).
    pub fn label(&self) -> String {
        match self.port {
            None => self.host.clone(),
            Some(p) if self.host.contains(':') => format!("[{}]:{p}", self.host),
            Some(p) => format!("{}:{p}", self.host),
        }
    }
}

impl fmt::Display for Target {
    /// As it would be written in a host list.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(user) = &self.user {
            write!(f, "{user}@")?;
        }
        match self.port {
            None if self.host.contains(':') => write!(f, "[{}]", self.host),
            _ => f.write_str(&self.label()),
        }
    }
}

/// A malformed host list entry (the line is 1 for `-H`).
pub type Error = crate::located::LineError;

/// Parses a host list: one entry (or expression, `@web!web07`, hosts
/// joined by commas) per line, `#` comments, blank lines. The text need
/// not be UTF-8: a line that is not is an error naming it.
pub fn parse_list(text: &[u8], origin: &str, groups: &Groups) -> Result<Vec<Target>, Error> {
    let mut targets = Vec::new();
    // A byte order mark, as Windows editors write, is not part of a name.
    let text = text.strip_prefix("\u{feff}".as_bytes()).unwrap_or(text);
    for (n, line) in text.split(|&b| b == b'\n').enumerate() {
        let at = |message: String| Error {
            origin: origin.to_string(),
            line: n + 1,
            message,
        };
        let line = std::str::from_utf8(line).map_err(|e| {
            at(format!(
                "not UTF-8 text (byte 0x{:02x} at column {})",
                line[e.valid_up_to()],
                e.valid_up_to() + 1
            ))
        })?;
        let line = match line.find('#') {
            Some(i) => &line[..i],
            None => line,
        };
        let line = line.trim();
        if !line.is_empty() {
            targets.extend(expr::evaluate_line(line, groups).map_err(at)?);
        }
    }
    Ok(targets)
}

/// Parses the value of `-H` (or `-x`): an expression, hosts separated by
/// commas (outside range brackets) or spaces. `origin` names the option.
pub fn parse_option(value: &str, origin: &str, groups: &Groups) -> Result<Vec<Target>, Error> {
    expr::evaluate(value, groups).map_err(|message| Error {
        origin: origin.to_string(),
        line: 1,
        message,
    })
}

/// Parses one entry, expanding its ranges.
pub fn parse_entry(entry: &str) -> Result<Vec<Target>, String> {
    let shown = printable(entry);
    // ssh's URI form, ssh://[user@]host[:port].
    let entry = entry.strip_prefix("ssh://").unwrap_or(entry);
    let (user, rest) = match entry.split_once('@') {
        Some(("", _)) => return Err(format!("'{shown}': empty user name before '@'")),
        Some((user, rest)) => (Some(user.to_string()), rest),
        None => (None, entry),
    };
    if rest.is_empty() {
        return Err(format!("'{shown}': no host name"));
    }
    let (host, port) = split_port(rest).map_err(|e| format!("'{shown}': {e}"))?;
    let names = expand(host).map_err(|e| format!("'{shown}': {e}"))?;
    names
        .into_iter()
        .map(|host| {
            check_host(&host).map_err(|e| format!("'{shown}': {e}"))?;
            Ok(Target {
                user: user.clone(),
                host,
                port,
            })
        })
        .collect()
}

/// Splits `host[:port]`, with IPv6 literals as `[addr]` or `[addr]:port`
/// (a bare address with several colons has no port).
fn split_port(s: &str) -> Result<(&str, Option<u16>), String> {
    if let Some(inner) = s.strip_prefix('[')
        && let Some(close) = inner.find(']')
        && inner[..close].contains(':')
    {
        let addr = &inner[..close];
        return match &inner[close + 1..] {
            "" => Ok((addr, None)),
            rest => match rest.strip_prefix(':') {
                Some(p) => Ok((addr, Some(port(p)?))),
                None => Err(format!("unexpected '{rest}' after ']'")),
            },
        };
    }
    if s.matches(':').count() > 1 {
        return Ok((s, None)); // a bare IPv6 address
    }
    match s.rsplit_once(':') {
        Some((host, p)) => Ok((host, Some(port(p)?))),
        _ => Ok((s, None)),
    }
}

fn port(p: &str) -> Result<u16, String> {
    match p.parse::<u16>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!("invalid port '{p}': expected 1 to 65535")),
    }
}

/// The longest host name DNS allows.
const MAX_HOST: usize = 253;

fn check_host(host: &str) -> Result<(), String> {
    if host.is_empty() {
        return Err("no host name".to_string());
    }
    if let Some(c) = host
        .chars()
        .find(|c| !(c.is_alphanumeric() || matches!(c, '-' | '.' | '_' | ':' | '%')))
    {
        return Err(format!(
            "unexpected character {} in host name '{}'",
            shown(c),
            printable(host)
        ));
    }
    if host.len() > MAX_HOST {
        return Err(format!(
            "host name of {} bytes: at most {MAX_HOST}",
            host.len()
        ));
    }
    if host.trim_matches('.').is_empty() {
        return Err("not a host name".to_string());
    }
    Ok(())
}

/// Text for a message, with control characters (a NUL, an escape
/// sequence) shown as `?`.
pub fn printable(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

/// A character for a message: itself when it prints, else its code point
/// (a NUL or an escape sequence is never echoed raw).
fn shown(c: char) -> String {
    if c.is_control() || c.is_whitespace() {
        format!("U+{:04X}", c as u32)
    } else {
        format!("'{c}'")
    }
}

/// Expands every `[…]` range in a host name, left to right.
pub fn expand(pattern: &str) -> Result<Vec<String>, String> {
    let Some(open) = pattern.find('[') else {
        if pattern.contains(']') {
            return Err("']' without '['".to_string());
        }
        return Ok(vec![pattern.to_string()]);
    };
    let close = pattern[open..]
        .find(']')
        .map(|i| open + i)
        .ok_or("'[' without ']'")?;
    let prefix = &pattern[..open];
    let items = range_items(&pattern[open + 1..close])?;
    let rest = expand(&pattern[close + 1..])?;
    if items.len().saturating_mul(rest.len()) > MAX_EXPANSION {
        return Err(format!("expands to more than {MAX_EXPANSION} hosts"));
    }
    let mut out = Vec::with_capacity(items.len() * rest.len());
    for item in &items {
        for tail in &rest {
            out.push(format!("{prefix}{item}{tail}"));
        }
    }
    Ok(out)
}

/// `1,3,5-7` or `01-20`: zero padding follows the range's first number.
fn range_items(spec: &str) -> Result<Vec<String>, String> {
    let mut items = Vec::new();
    for part in spec.split(',') {
        let (lo, hi) = part.split_once('-').unwrap_or((part, part));
        let number = |s: &str| {
            if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
                Err(format!(
                    "'[{spec}]': '{part}' is not a number or range like 1-9"
                ))
            } else {
                s.parse::<u64>()
                    .map_err(|_| format!("'[{spec}]': '{s}' is too large"))
            }
        };
        let (a, b) = (number(lo)?, number(hi)?);
        if a > b {
            return Err(format!("'[{spec}]': range {part} runs backwards"));
        }
        if (b - a) as usize >= MAX_EXPANSION {
            return Err(format!("expands to more than {MAX_EXPANSION} hosts"));
        }
        let width = if lo.len() > 1 && lo.starts_with('0') {
            lo.len()
        } else {
            0
        };
        items.extend((a..=b).map(|n| format!("{n:0width$}")));
    }
    Ok(items)
}

/// Targets indexed by host name, so set operations on large lists stay
/// linear.
pub struct ByHost<'a>(std::collections::HashMap<&'a str, Vec<&'a Target>>);

impl<'a> ByHost<'a> {
    pub fn new(targets: &'a [Target]) -> ByHost<'a> {
        let mut map: std::collections::HashMap<&str, Vec<&Target>> = Default::default();
        for t in targets {
            map.entry(t.host.as_str()).or_default().push(t);
        }
        ByHost(map)
    }

    /// Whether one of them names `t` (see [`Target::names`]).
    pub fn names(&self, t: &Target) -> bool {
        self.any(t, |x| x.names(t))
    }

    /// Whether one of them names `t`, or is named by it (`h` and
    /// `root@h` share a host either way round).
    pub fn shares(&self, t: &Target) -> bool {
        self.any(t, |x| x.names(t) || t.names(x))
    }

    fn any(&self, t: &Target, pred: impl Fn(&Target) -> bool) -> bool {
        self.0
            .get(t.host.as_str())
            .is_some_and(|xs| xs.iter().any(|x| pred(x)))
    }
}

/// `targets` without those any of `excluded` names (see
/// [`Target::names`]). Where an exclusion gives a user or port the target
/// leaves to ssh_config, `effective` says what the target's user and port
/// turn out to be (`-x h:22` leaves out `h`, whose port is 22); it is
/// asked only then.
pub fn exclude(
    targets: Vec<Target>,
    excluded: &[Target],
    mut effective: impl FnMut(&Target) -> Result<(String, u16), String>,
) -> Result<Vec<Target>, String> {
    let by_host = ByHost::new(excluded);
    let mut kept = Vec::with_capacity(targets.len());
    for t in targets {
        let Some(xs) = by_host.0.get(t.host.as_str()) else {
            kept.push(t);
            continue;
        };
        let mut out = xs.iter().any(|x| x.names(&t));
        if !out && xs.iter().any(|x| x.names_host_of(&t)) {
            let (user, port) = effective(&t)?;
            let full = Target {
                user: Some(t.user.clone().unwrap_or(user)),
                port: Some(t.port.unwrap_or(port)),
                ..t.clone()
            };
            out = xs.iter().any(|x| x.names(&full));
        }
        if !out {
            kept.push(t);
        }
    }
    Ok(kept)
}

/// Removes repeated targets, keeping the first of each.
pub fn dedupe(targets: Vec<Target>) -> Vec<Target> {
    let mut seen = std::collections::HashSet::new();
    targets
        .into_iter()
        .filter(|t| seen.insert(t.clone()))
        .collect()
}

/// Folds names into ranges: `web01 web02 web03 web05 db` →
/// `db,web[01-03,05]`. Names are grouped by what surrounds their last run
/// of digits (and its width, when zero-padded).
pub fn fold<S: AsRef<str>>(names: &[S]) -> String {
    use std::collections::BTreeMap;
    let mut groups: BTreeMap<(String, String, usize), Vec<u64>> = BTreeMap::new();
    let mut plain = Vec::new();
    for name in names {
        let name = name.as_ref();
        // Fold numbers in the host part only: `web1:2222,web2:2222` is
        // `web[1-2]:2222`, but ports stay as they are (a range of ports
        // is no host list entry).
        let host = match name.rsplit_once(':') {
            Some((h, p)) if !h.contains(':') && p.bytes().all(|b| b.is_ascii_digit()) => h,
            _ => name,
        };
        let port = &name[host.len()..];
        // IPv6 addresses stay whole: `[::[1-2]]` could not be read back,
        // and their numbers are hexadecimal anyway.
        let number = if host.contains(['[', ':']) {
            None
        } else {
            last_number(host)
        };
        match number {
            Some((prefix, digits, suffix)) => {
                let suffix = format!("{suffix}{port}");
                let suffix = suffix.as_str();
                let width = if digits.len() > 1 && digits.starts_with('0') {
                    digits.len()
                } else {
                    0
                };
                let n = digits.parse().unwrap_or(0);
                groups
                    .entry((prefix.to_string(), suffix.to_string(), width))
                    .or_default()
                    .push(n);
            }
            None => plain.push(name.to_string()),
        }
    }
    let mut parts: Vec<(String, String)> = plain.into_iter().map(|p| (p.clone(), p)).collect();
    for ((prefix, suffix, width), mut numbers) in groups {
        numbers.sort_unstable();
        numbers.dedup();
        let text = if numbers.len() == 1 {
            format!("{prefix}{:0width$}{suffix}", numbers[0])
        } else {
            let mut ranges = Vec::new();
            let mut i = 0;
            while i < numbers.len() {
                let mut j = i;
                while j + 1 < numbers.len() && numbers[j + 1] == numbers[j] + 1 {
                    j += 1;
                }
                ranges.push(if i == j {
                    format!("{:0width$}", numbers[i])
                } else {
                    format!("{:0width$}-{:0width$}", numbers[i], numbers[j])
                });
                i = j + 1;
            }
            format!("{prefix}[{}]{suffix}", ranges.join(","))
        };
        parts.push((format!("{prefix}{suffix}"), text));
    }
    parts.sort();
    parts
        .into_iter()
        .map(|(_, text)| text)
        .collect::<Vec<_>>()
        .join(",")
}

/// Splits a name around its last run of ASCII digits.
fn last_number(name: &str) -> Option<(&str, &str, &str)> {
    let end = name.rfind(|c: char| c.is_ascii_digit())? + 1;
    let start = name[..end]
        .rfind(|c: char| !c.is_ascii_digit())
        .map_or(0, |i| i + 1);
    if end - start > 18 {
        return None; // too long to be a counter
    }
    Some((&name[..start], &name[start..end], &name[end..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts(entry: &str) -> Vec<String> {
        parse_entry(entry)
            .unwrap()
            .into_iter()
            .map(|t| t.to_string())
            .collect()
    }

    #[test]
    fn entries() {
        assert_eq!(hosts("web01"), ["web01"]);
        assert_eq!(hosts("root@web01:2222"), ["root@web01:2222"]);
        assert_eq!(hosts("ssh://root@web01:2222"), ["root@web01:2222"]);
        assert_eq!(hosts("ssh://web01"), ["web01"]);
        assert_eq!(hosts("[::1]:22"), ["[::1]:22"]);
        assert_eq!(hosts("[::1]"), ["[::1]"]);
        assert_eq!(hosts("::1"), ["[::1]"]);
        assert_eq!(hosts("u@[fe80::1%eth0]:2200"), ["u@[fe80::1%eth0]:2200"]);
        assert_eq!(hosts("127.0.0.1:22"), ["127.0.0.1:22"]);
    }

    #[test]
    fn ranges() {
        assert_eq!(hosts("web[01-03]"), ["web01", "web02", "web03"]);
        assert_eq!(hosts("db[1,3,5-7]"), ["db1", "db3", "db5", "db6", "db7"]);
        assert_eq!(hosts("r[1-2]n[1-2]"), ["r1n1", "r1n2", "r2n1", "r2n2"]);
        assert_eq!(hosts("u@h[8-10]:22"), ["u@h8:22", "u@h9:22", "u@h10:22"]);
        assert_eq!(hosts("127.0.0.[2-3]"), ["127.0.0.2", "127.0.0.3"]);
    }

    #[test]
    fn bad_entries() {
        for bad in [
            "web[3-1]",
            "web[1-",
            "web]",
            "h[a-b]",
            "h:0",
            "h:99999",
            "@h",
            "u@",
            "we b",
            "h[1-9999999]",
            "h!",
        ] {
            assert!(parse_entry(bad).is_err(), "{bad}");
        }
    }

    fn list(text: &[u8]) -> Result<Vec<Target>, Error> {
        parse_list(text, "hosts.txt", &Groups::from_text("", "g"))
    }

    #[test]
    fn lists_name_the_bad_line() {
        let err = list(b"# fleet\nweb01\n\n  web02 # comment\nweb[3-\n").unwrap_err();
        assert_eq!(err.to_string(), "hosts.txt:5: 'web[3-': '[' without ']'");
        assert_eq!(list(b"a\n#x\n b, c \n").unwrap().len(), 3);
        // pssh's `host user` is not two hosts.
        let err = list(b"a\nweb1 root\n").unwrap_err().to_string();
        assert!(
            err.starts_with("hosts.txt:2: 'web1 root': one entry per line"),
            "{err}"
        );
        assert!(err.contains("root@web1"), "{err}");
        let err = list(b"a\nb\xff\n").unwrap_err().to_string();
        assert_eq!(err, "hosts.txt:2: not UTF-8 text (byte 0xff at column 2)");
        let err = list(b"a\x00b\n").unwrap_err().to_string();
        assert!(
            err.contains("unexpected character U+0000 in host name 'a?b'"),
            "{err}"
        );
        for bad in [".", "..", &"a".repeat(254)] {
            assert!(list(bad.as_bytes()).is_err(), "{bad}");
        }
        assert!(list("a".repeat(253).as_bytes()).is_ok());
    }

    #[test]
    fn option_splits_on_commas_outside_brackets() {
        let t = parse_option("a,db[1,3],c", "-H", &Groups::from_text("", "g")).unwrap();
        let names: Vec<String> = t.iter().map(|t| t.to_string()).collect();
        assert_eq!(names, ["a", "db1", "db3", "c"]);
    }

    #[test]
    fn folding() {
        assert_eq!(fold(&["web01", "web02", "web03", "web05"]), "web[01-03,05]");
        assert_eq!(fold(&["db", "web1", "web2"]), "db,web[1-2]");
        assert_eq!(
            fold(&["127.0.0.2", "127.0.0.3", "127.0.0.10"]),
            "127.0.0.[2-3,10]"
        );
        assert_eq!(fold(&["n1", "n10", "n9"]), "n[1,9-10]");
        assert_eq!(fold(&["a"]), "a");
        // Ports are never folded into a range: the result stays a host list.
        assert_eq!(
            fold(&["127.0.0.1:3002", "127.0.0.1:3003", "127.0.0.2:3002"]),
            "127.0.0.[1-2]:3002,127.0.0.1:3003"
        );
        assert_eq!(fold(&["web1:22", "web2:22"]), "web[1-2]:22");
        // IPv6 stays whole, so the fold reads back as a host list.
        let v6 = ["[::1]", "[::2]", "[fe80::1]:22"];
        let folded = fold(&v6);
        assert_eq!(folded, "[::1],[::2],[fe80::1]:22");
        let back: Vec<String> = parse_option(&folded, "-H", &Groups::from_text("", "none"))
            .unwrap()
            .iter()
            .map(|t| t.to_string())
            .collect();
        assert_eq!(back, v6);
        assert_eq!(fold::<&str>(&[]), "");
    }

    #[test]
    fn dedupes_keeping_order() {
        let t = list(b"b\na\nb\nu@a\n").unwrap();
        let names: Vec<String> = dedupe(t).iter().map(|t| t.to_string()).collect();
        assert_eq!(names, ["b", "a", "u@a"]);
    }
}
