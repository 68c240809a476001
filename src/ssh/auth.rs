//! Authentication: every ssh-agent identity (libssh2's `userauth_agent`
//! tries only the first), then key files (`-i`, IdentityFile, the defaults),
//! then a password if asked for — stopping before the server's MaxAuthTries.
//! Passphrases and the password are asked once on the terminal and reused
//! for every host; they are never logged.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use ssh2::Session;

/// OpenSSH's default MaxAuthTries is 6; a failed attempt past it closes the
/// connection, so leave one to spare.
const MAX_ATTEMPTS: usize = 5;

/// Where the keys and secrets come from, shared by every worker.
pub struct Credentials {
    /// `-i` files, tried before the config's.
    pub identity_files: Vec<PathBuf>,
    /// `-A`: ask for a password once and try it.
    pub ask_password: bool,
    passphrases: Mutex<Vec<(PathBuf, String)>>,
    password: OnceLock<Option<String>>,
    /// One prompt at a time.
    prompt: Mutex<()>,
}

impl Credentials {
    pub fn new(identity_files: Vec<PathBuf>, ask_password: bool) -> Credentials {
        Credentials {
            identity_files,
            ask_password,
            passphrases: Mutex::new(Vec::new()),
            password: OnceLock::new(),
            prompt: Mutex::new(()),
        }
    }

    /// The passphrase of an encrypted key, asked once per key file.
    fn passphrase(&self, key: &Path) -> Option<String> {
        let _one = self.prompt.lock().ok()?;
        if let Some((_, p)) = self.passphrases.lock().ok()?.iter().find(|(k, _)| k == key) {
            return Some(p.clone());
        }
        let p = ask(&format!("Enter passphrase for key '{}': ", key.display()))?;
        self.passphrases
            .lock()
            .ok()?
            .push((key.to_path_buf(), p.clone()));
        Some(p)
    }

    fn password(&self, user: &str) -> Option<String> {
        let _one = self.prompt.lock().ok()?;
        self.password
            .get_or_init(|| ask(&format!("Password for {user} (used for every host): ")))
            .clone()
    }
}

/// Tries every method in turn; `Err` says what was tried.
pub fn authenticate(
    sess: &Session,
    user: &str,
    config_files: &[PathBuf],
    identities_only: bool,
    creds: &Credentials,
) -> Result<(), String> {
    let mut attempts = 0;
    let mut tried = Vec::new();
    if !identities_only
        && std::env::var_os("SSH_AUTH_SOCK").is_some()
        && let Ok(mut agent) = sess.agent()
        && agent.connect().is_ok()
        && agent.list_identities().is_ok()
    {
        let identities = agent.identities().unwrap_or_default();
        tried.push(format!("{} agent identities", identities.len()));
        for id in identities {
            if attempts >= MAX_ATTEMPTS {
                break;
            }
            attempts += 1;
            if agent.userauth(user, &id).is_ok() && sess.authenticated() {
                return Ok(());
            }
        }
    }
    let mut files: Vec<PathBuf> = creds.identity_files.clone();
    files.extend(config_files.iter().cloned());
    if files.is_empty() {
        let ssh = super::config::home().join(".ssh");
        files = ["id_ed25519", "id_ecdsa", "id_rsa"]
            .iter()
            .map(|f| ssh.join(f))
            .filter(|p| p.exists())
            .collect();
    }
    for key in files {
        if attempts >= MAX_ATTEMPTS {
            tried.push("(stopped before the server's MaxAuthTries)".to_string());
            break;
        }
        let Ok(text) = std::fs::read(&key) else {
            tried.push(format!("{} (unreadable)", key.display()));
            continue;
        };
        let passphrase = if is_encrypted(&text) {
            match creds.passphrase(&key) {
                Some(p) => Some(p),
                None => {
                    tried.push(format!("{} (encrypted, no terminal to ask)", key.display()));
                    continue;
                }
            }
        } else {
            None
        };
        attempts += 1;
        tried.push(key.display().to_string());
        if sess
            .userauth_pubkey_file(user, None, &key, passphrase.as_deref())
            .is_ok()
            && sess.authenticated()
        {
            return Ok(());
        }
    }
    if creds.ask_password
        && attempts < MAX_ATTEMPTS
        && let Some(p) = creds.password(user)
    {
        tried.push("password".to_string());
        if sess.userauth_password(user, &p).is_ok() && sess.authenticated() {
            return Ok(());
        }
    }
    if tried.is_empty() {
        tried.push("no agent, no key files".to_string());
    }
    Err(format!(
        "authentication as {user} failed (tried {})",
        tried.join(", ")
    ))
}

/// Whether a private key file needs a passphrase: PEM's `ENCRYPTED`
/// header, or an OpenSSH key whose cipher is not `none`.
fn is_encrypted(text: &[u8]) -> bool {
    let text = String::from_utf8_lossy(text);
    if text.contains("ENCRYPTED") {
        return true;
    }
    let body: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
    match super::digest::base64_decode(&body) {
        // "openssh-key-v1\0", then a string: the cipher name.
        Some(blob) if blob.starts_with(b"openssh-key-v1\0") && blob.len() > 19 => {
            let len = u32::from_be_bytes(blob[15..19].try_into().unwrap_or_default()) as usize;
            blob.get(19..19 + len).is_some_and(|c| c != b"none")
        }
        _ => false,
    }
}

/// Asks on the terminal with echo off; `None` without a terminal.
fn ask(prompt: &str) -> Option<String> {
    let tty = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .ok()?;
    use std::os::fd::AsRawFd;
    let fd = tty.as_raw_fd();
    // SAFETY: termios calls on a file descriptor we own; the old settings
    // are restored before returning.
    let saved = unsafe {
        let mut t: libc::termios = std::mem::zeroed();
        if libc::tcgetattr(fd, &mut t) != 0 {
            return None;
        }
        let saved = t;
        t.c_lflag &= !libc::ECHO;
        t.c_lflag |= libc::ECHONL;
        libc::tcsetattr(fd, libc::TCSANOW, &t);
        saved
    };
    let mut writer = &tty;
    let _ = writer.write_all(prompt.as_bytes());
    let _ = writer.flush();
    let mut line = String::new();
    let read = std::io::BufReader::new(&tty).read_line(&mut line);
    // SAFETY: as above.
    unsafe {
        libc::tcsetattr(fd, libc::TCSANOW, &saved);
    }
    read.ok()?;
    Some(line.trim_end_matches(['\n', '\r']).to_string())
}
