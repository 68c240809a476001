//! known_hosts: which keys are known for a host (plain and hashed entries,
//! `[host]:port` for other ports, wildcards and negation), the verdict on a
//! key a server presents, and appending keys learnt under accept-new.
//!
//! Files are read line by line, so one line ssh would not parse does not
//! hide the ones after it (libssh2's `read_file` stops at the first). New
//! keys are appended under one lock, never by rewriting the file.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Mutex;

use super::config::glob;
use super::digest::{base64_decode, hmac_sha1};

/// What to do about host keys (`--host-key`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Policy {
    /// Only known keys are accepted.
    Strict,
    /// Unknown keys are learnt (appended); changed keys are refused.
    AcceptNew,
    /// No checking at all.
    Off,
}

/// What a line's `@` marker makes of its key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Marker {
    /// No marker: the host's own key.
    Key,
    /// `@revoked`: never to be accepted.
    Revoked,
    /// `@cert-authority`: a CA whose host certificates are trusted.
    Authority,
}

/// One usable known_hosts line.
#[derive(Debug, Clone)]
struct Entry {
    file: usize,
    line: usize,
    marker: Marker,
    hosts: String,
    key_type: String,
    key: String,
}

/// The verdict on a presented key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// A line lists this key for this host.
    Known,
    /// No line names this host with a key of this type.
    Unknown,
    /// Lines name this host, but with another key (of this type, or only
    /// of other types): the first such line, and the key it holds.
    Changed {
        file: PathBuf,
        line: usize,
        key_type: String,
        key: String,
    },
    /// The key is marked `@revoked`.
    Revoked { file: PathBuf, line: usize },
}

/// A `@cert-authority` line that applies to a host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authority {
    pub file: PathBuf,
    pub line: usize,
    /// The CA's public key, base64 as written.
    pub key: String,
}

/// The known_hosts files in use.
#[derive(Debug)]
pub struct KnownHosts {
    files: Vec<PathBuf>,
    entries: Mutex<Vec<Entry>>,
    /// Serialises appends: one writer at a time, whole lines.
    append: Mutex<()>,
}

impl KnownHosts {
    /// The files read, the first being where new keys go.
    pub fn files(&self) -> &[PathBuf] {
        &self.files
    }

    /// Entries read from `text`, as if it were the one file `path` (for
    /// tests and the fuzzer).
    pub fn from_text(path: PathBuf, text: &str) -> KnownHosts {
        KnownHosts {
            entries: Mutex::new(
                text.lines()
                    .enumerate()
                    .filter_map(|(n, l)| parse_line(l, 0, n + 1))
                    .collect(),
            ),
            files: vec![path],
            append: Mutex::new(()),
        }
    }

    /// Reads the files (missing ones are empty); new keys go to the first.
    pub fn load(files: Vec<PathBuf>) -> KnownHosts {
        let mut entries = Vec::new();
        for (i, path) in files.iter().enumerate() {
            // ssh reads bytes: one stray byte in a comment must not hide
            // the file (its @revoked lines above all).
            let Ok(bytes) = std::fs::read(path) else {
                continue;
            };
            let text = String::from_utf8_lossy(&bytes);
            for (n, line) in text.lines().enumerate() {
                if let Some(e) = parse_line(line, i, n + 1) {
                    entries.push(e);
                }
            }
        }
        KnownHosts {
            files,
            entries: Mutex::new(entries),
            append: Mutex::new(()),
        }
    }

    /// The key types known for `host:port`, in file order, for preferring
    /// them in the handshake (libssh2 would otherwise pick one the file
    /// does not know and the key would look changed).
    pub fn key_types(&self, host: &str, port: u16) -> Vec<String> {
        let names = lookup_names(host, port);
        let entries = self.entries.lock().expect("known_hosts lock");
        let mut types: Vec<String> = Vec::new();
        for e in entries
            .iter()
            .filter(|e| e.marker == Marker::Key && host_matches(&e.hosts, &names))
        {
            if !types.contains(&e.key_type) {
                types.push(e.key_type.clone());
            }
        }
        types
    }

    /// The `@cert-authority` lines for `host:port`, in file order; on a
    /// port other than 22, those for the bare host when none name the
    /// port (as ssh looks again "without port identifier").
    pub fn authorities(&self, host: &str, port: u16) -> Vec<Authority> {
        let entries = self.entries.lock().expect("known_hosts lock");
        let find = |names: &[String]| -> Vec<Authority> {
            entries
                .iter()
                .filter(|e| e.marker == Marker::Authority && host_matches(&e.hosts, names))
                .map(|e| Authority {
                    file: self.files[e.file].clone(),
                    line: e.line,
                    key: e.key.clone(),
                })
                .collect()
        };
        let found = find(&names(host, port));
        if found.is_empty() && port != 22 {
            return find(&names(host, 22));
        }
        found
    }

    /// Where `key` (base64) is marked `@revoked` for `host:port`, if it
    /// is. A revocation counts wherever it is, before any line that knows
    /// the key (in any file).
    pub fn revocation(&self, host: &str, port: u16, key: &str) -> Option<(PathBuf, usize)> {
        let names = lookup_names(host, port);
        let entries = self.entries.lock().expect("known_hosts lock");
        entries
            .iter()
            .find(|e| {
                e.marker == Marker::Revoked
                    && e.key == key
                    && (e.hosts == "*" || host_matches(&e.hosts, &names))
            })
            .map(|e| (self.files[e.file].clone(), e.line))
    }

    /// Judges the key `key` (base64) of type `key_type` from `host:port`.
    /// CA lines play no part: a plain key is known by its own line. On a
    /// port other than 22, a key no line names for `[host]:port` is still
    /// known if a line for the bare host holds it (ssh looks again
    /// "without port identifier"); a different key there does not make it
    /// changed.
    pub fn check(&self, host: &str, port: u16, key_type: &str, key: &str) -> Verdict {
        if let Some((file, line)) = self.revocation(host, port, key) {
            return Verdict::Revoked { file, line };
        }
        let verdict = self.check_names(&names(host, port), key_type, key);
        if verdict == Verdict::Unknown
            && port != 22
            && self.check_names(&names(host, 22), key_type, key) == Verdict::Known
        {
            return Verdict::Known;
        }
        verdict
    }

    fn check_names(&self, names: &[String], key_type: &str, key: &str) -> Verdict {
        let entries = self.entries.lock().expect("known_hosts lock");
        let mut changed: Option<&Entry> = None;
        let mut other_type: Option<&Entry> = None;
        for e in entries.iter() {
            if e.marker != Marker::Key || !host_matches(&e.hosts, names) {
                continue;
            }
            if e.key_type == key_type {
                if e.key == key {
                    return Verdict::Known;
                }
                changed.get_or_insert(e);
            } else {
                other_type.get_or_insert(e);
            }
        }
        // A host known only by keys of other types that now shows a new
        // type has changed its identification too, as OpenSSH says.
        match changed.or(other_type) {
            Some(e) => Verdict::Changed {
                file: self.files[e.file].clone(),
                line: e.line,
                key_type: e.key_type.clone(),
                key: e.key.clone(),
            },
            None => Verdict::Unknown,
        }
    }

    /// Appends a learnt key to the first file (creating it, and its
    /// directory 0700 as ssh does), hashed when `hash` (HashKnownHosts),
    /// and remembers it. Writers in other processes are kept apart by a
    /// lock on the file, and a key another one wrote meanwhile is not
    /// written twice. Returns whether a line was written.
    pub fn learn(
        &self,
        host: &str,
        port: u16,
        key_type: &str,
        key: &str,
        hash: bool,
    ) -> std::io::Result<bool> {
        let _one_writer = self.append.lock().expect("known_hosts append lock");
        let name = names(host, port).remove(0);
        // Another worker may have learnt it meanwhile.
        if self.check(host, port, key_type, key) == Verdict::Known {
            return Ok(false);
        }
        let path = self.files.first().ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::NotFound, "no known_hosts file")
        })?;
        if let Some(dir) = path.parent()
            && !dir.exists()
        {
            use std::os::unix::fs::DirBuilderExt;
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)?;
        }
        let file = {
            use std::os::unix::fs::OpenOptionsExt;
            OpenOptions::new()
                .create(true)
                .append(true)
                .read(true)
                .mode(0o644)
                .open(path)?
        };
        let _locked = Flock::exclusive(&file)?;
        // Another process may have written it meanwhile: read again
        // under the lock.
        let text = String::from_utf8_lossy(&std::fs::read(path).unwrap_or_default()).into_owned();
        let names = [name.clone()];
        let present = text.lines().filter_map(|l| parse_line(l, 0, 0)).any(|e| {
            e.marker == Marker::Key
                && e.key_type == key_type
                && e.key == key
                && host_matches(&e.hosts, &names)
        });
        let line_no = text.lines().count() + 1;
        let field = if hash { hashed(&name) } else { name.clone() };
        if !present {
            (&file).write_all(format!("{field} {key_type} {key}\n").as_bytes())?;
        }
        self.entries.lock().expect("known_hosts lock").push(Entry {
            file: 0,
            line: line_no,
            marker: Marker::Key,
            hosts: field,
            key_type: key_type.to_string(),
            key: key.to_string(),
        });
        Ok(!present)
    }

    /// Where learnt keys are written.
    pub fn primary(&self) -> Option<&PathBuf> {
        self.files.first()
    }
}

/// An exclusive flock(2), released when dropped.
struct Flock<'a>(&'a std::fs::File);

impl<'a> Flock<'a> {
    fn exclusive(f: &'a std::fs::File) -> std::io::Result<Flock<'a>> {
        use std::os::fd::AsRawFd;
        // SAFETY: flock on a descriptor we hold open.
        if unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(Flock(f))
    }
}

impl Drop for Flock<'_> {
    fn drop(&mut self) {
        use std::os::fd::AsRawFd;
        // SAFETY: as above.
        unsafe {
            libc::flock(self.0.as_raw_fd(), libc::LOCK_UN);
        }
    }
}

/// `|1|salt|hash`: a name as HashKnownHosts writes it.
fn hashed(name: &str) -> String {
    use super::digest::base64_encode;
    let mut salt = [0u8; 20];
    let _ = getrandom::getrandom(&mut salt);
    let mac = hmac_sha1(&salt, name.as_bytes());
    format!("|1|{}|{}", base64_encode(&salt), base64_encode(&mac))
}

/// `ED25519`, `RSA`, `ECDSA`: a key type as ssh's messages name it.
pub fn type_word(key_type: &str) -> String {
    let t = key_type.trim_start_matches("ssh-");
    if t.starts_with("ecdsa") {
        "ECDSA".to_string()
    } else {
        t.split('-').next().unwrap_or(t).to_ascii_uppercase()
    }
}

/// The names a host is looked up by: `[host]:port`, then the bare host,
/// on a port other than 22.
fn lookup_names(host: &str, port: u16) -> Vec<String> {
    let mut n = names(host, port);
    if port != 22 {
        n.extend(names(host, 22));
    }
    n
}

/// How OpenSSH names a host in known_hosts: lowercased, `host` on port
/// 22, `[host]:port` otherwise. The first name is the one to write.
fn names(host: &str, port: u16) -> Vec<String> {
    let host = host.to_ascii_lowercase();
    if port == 22 {
        vec![host]
    } else {
        vec![format!("[{host}]:{port}")]
    }
}

fn parse_line(line: &str, file: usize, n: usize) -> Option<Entry> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let mut fields = line.split_whitespace();
    let mut first = fields.next()?;
    let mut marker = Marker::Key;
    if first.starts_with('@') {
        // ssh ignores a line with a marker it does not know.
        marker = match first {
            "@revoked" => Marker::Revoked,
            "@cert-authority" => Marker::Authority,
            _ => return None,
        };
        first = fields.next()?;
    }
    let key_type = fields.next()?;
    let key = fields.next()?;
    base64_decode(key)?;
    Some(Entry {
        file,
        line: n,
        marker,
        hosts: first.to_string(),
        key_type: key_type.to_string(),
        key: key.to_string(),
    })
}

/// Whether a hosts field (`a,b,!c`, `|1|salt|hash`) names one of `names`.
fn host_matches(field: &str, names: &[String]) -> bool {
    if let Some(hashed) = field.strip_prefix("|1|") {
        let Some((salt, hash)) = hashed.split_once('|') else {
            return false;
        };
        let (Some(salt), Some(hash)) = (base64_decode(salt), base64_decode(hash)) else {
            return false;
        };
        return names
            .iter()
            .any(|n| hmac_sha1(&salt, n.as_bytes()).as_slice() == hash.as_slice());
    }
    let mut hit = false;
    for pattern in field.split(',') {
        let (negated, pattern) = match pattern.strip_prefix('!') {
            Some(p) => (true, p),
            None => (false, pattern),
        };
        let pattern = pattern.to_ascii_lowercase();
        if names.iter().any(|n| glob(&pattern, n)) {
            if negated {
                return false;
            }
            hit = true;
        }
    }
    hit
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ssh::digest::base64_encode;

    fn store(text: impl AsRef<[u8]>) -> (KnownHosts, PathBuf) {
        // One directory per call: tests run in parallel.
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let text = text.as_ref();
        let dir = std::env::temp_dir().join(format!("kh-test-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("known_hosts");
        std::fs::write(&path, text).unwrap();
        (KnownHosts::load(vec![path.clone()]), path)
    }

    #[test]
    fn verdicts() {
        let (kh, path) = store(
            "web1 ssh-ed25519 AAAA\nnot a valid line at all\n[web2]:2222,web3 ssh-rsa BBBB\n*.example.com,!bad.example.com ssh-ed25519 CCCC\n",
        );
        assert_eq!(kh.check("web1", 22, "ssh-ed25519", "AAAA"), Verdict::Known);
        assert_eq!(
            kh.check("web1", 22, "ssh-ed25519", "ZZZZ"),
            Verdict::Changed {
                file: path.clone(),
                line: 1,
                key_type: "ssh-ed25519".into(),
                key: "AAAA".into()
            }
        );
        // Known only as ed25519, now showing RSA: changed too.
        assert!(matches!(
            kh.check("web1", 22, "ssh-rsa", "ZZZZ"),
            Verdict::Changed { line: 1, .. }
        ));
        assert_eq!(kh.check("web9", 22, "ssh-rsa", "ZZZZ"), Verdict::Unknown);
        assert_eq!(kh.check("web2", 2222, "ssh-rsa", "BBBB"), Verdict::Known);
        assert_eq!(kh.check("web3", 22, "ssh-rsa", "BBBB"), Verdict::Known);
        assert_eq!(
            kh.check("a.example.com", 22, "ssh-ed25519", "CCCC"),
            Verdict::Known
        );
        assert_eq!(
            kh.check("bad.example.com", 22, "ssh-ed25519", "CCCC"),
            Verdict::Unknown
        );
        assert_eq!(kh.key_types("web2", 2222), ["ssh-rsa"]);
        // On another port, a line for the bare host still knows its key
        // (ssh looks again without the port); another key there is not
        // a change.
        assert_eq!(
            kh.check("web1", 2200, "ssh-ed25519", "AAAA"),
            Verdict::Known
        );
        assert_eq!(
            kh.check("web1", 2200, "ssh-ed25519", "ZZZZ"),
            Verdict::Unknown
        );
    }

    #[test]
    fn a_stray_byte_does_not_hide_the_file() {
        let (kh, _) = store(b"# caf\xe9\n@revoked * ssh-ed25519 AAAA\n");
        assert!(matches!(
            kh.check("web1", 22, "ssh-ed25519", "AAAA"),
            Verdict::Revoked { line: 2, .. }
        ));
    }

    #[test]
    fn learnt_names_are_hashed_when_asked() {
        let (kh, path) = store("");
        assert!(
            kh.learn("10.0.0.7", 2200, "ssh-ed25519", "EEEE", true)
                .unwrap()
        );
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.starts_with("|1|") && !text.contains("10.0.0.7"),
            "{text}"
        );
        let again = KnownHosts::load(vec![path]);
        assert_eq!(
            again.check("10.0.0.7", 2200, "ssh-ed25519", "EEEE"),
            Verdict::Known
        );
    }

    #[test]
    fn a_revocation_counts_wherever_it_is_and_names_ignore_case() {
        let (kh, _) = store(
            "[web1]:2222 ssh-ed25519 AAAA\n@revoked * ssh-ed25519 AAAA\nWeb2 ssh-ed25519 BBBB\n",
        );
        assert!(matches!(
            kh.check("web1", 2222, "ssh-ed25519", "AAAA"),
            Verdict::Revoked { line: 2, .. }
        ));
        assert_eq!(kh.check("WEB2", 22, "ssh-ed25519", "BBBB"), Verdict::Known);
        assert!(matches!(
            kh.check("WEB2", 22, "ssh-ed25519", "CCCC"),
            Verdict::Changed { line: 3, .. }
        ));
    }

    #[test]
    fn hashed_names() {
        let salt = b"0123456789abcdefghij";
        let hash = hmac_sha1(salt, b"[10.0.0.5]:2200");
        let line = format!(
            "|1|{}|{} ssh-ed25519 AAAA\n",
            base64_encode(salt),
            base64_encode(&hash)
        );
        let (kh, _) = store(&line);
        assert_eq!(
            kh.check("10.0.0.5", 2200, "ssh-ed25519", "AAAA"),
            Verdict::Known
        );
        assert_eq!(
            kh.check("10.0.0.5", 22, "ssh-ed25519", "AAAA"),
            Verdict::Unknown
        );
    }

    #[test]
    fn learning_appends_one_line() {
        let (kh, path) = store("web1 ssh-ed25519 AAAA\n");
        // Loaded before anything is learnt, as another process would be.
        let other = KnownHosts::load(vec![path.clone()]);
        assert!(
            kh.learn("127.0.0.2", 2222, "ssh-ed25519", "DDDD", false)
                .unwrap()
        );
        assert!(
            !kh.learn("127.0.0.2", 2222, "ssh-ed25519", "DDDD", false)
                .unwrap()
        );
        // A key written by another process meanwhile is not written again.
        assert!(
            !other
                .learn("127.0.0.2", 2222, "ssh-ed25519", "DDDD", false)
                .unwrap()
        );
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "web1 ssh-ed25519 AAAA\n[127.0.0.2]:2222 ssh-ed25519 DDDD\n"
        );
        assert_eq!(
            kh.check("127.0.0.2", 2222, "ssh-ed25519", "DDDD"),
            Verdict::Known
        );
    }
}
