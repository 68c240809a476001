//! Authentication: every ssh-agent identity (libssh2's `userauth_agent`
//! tries only the first), then key files (`-i`, IdentityFile, the defaults),
//! then a password if asked for — stopping before the server's MaxAuthTries.
//! Passphrases and the password are asked once, through the [`Prompter`]
//! the caller hands in (this layer knows no terminal), and reused for every
//! host; they are never logged.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use ssh2::Session;

/// OpenSSH's default MaxAuthTries is 6; a failed attempt past it closes the
/// connection, so leave one to spare.
const MAX_ATTEMPTS: usize = 5;

/// Asks a person for a secret.
pub trait Prompter: Send + Sync {
    /// `Ok(None)`: nobody to ask. `Err`: asking is not safe (the answer
    /// would be shown), said in words.
    fn secret(&self, prompt: &str) -> Result<Option<String>, String>;
}

/// Nobody to ask.
pub struct NoPrompter;

impl Prompter for NoPrompter {
    fn secret(&self, _: &str) -> Result<Option<String>, String> {
        Ok(None)
    }
}

/// What a prompt gave: a secret, nobody to ask, or why not asked.
type Answer = Result<Option<String>, String>;

/// Where the keys and secrets come from, shared by every worker.
pub struct Credentials {
    /// `-i` files, tried before the config's.
    pub identity_files: Vec<PathBuf>,
    /// `-A`: ask for a password once and try it.
    pub ask_password: bool,
    passphrases: Mutex<Vec<(PathBuf, Answer)>>,
    password: OnceLock<Answer>,
    /// One prompt at a time.
    prompt: Mutex<()>,
    prompter: Arc<dyn Prompter>,
}

impl Credentials {
    pub fn new(
        identity_files: Vec<PathBuf>,
        ask_password: bool,
        prompter: Arc<dyn Prompter>,
    ) -> Credentials {
        Credentials {
            identity_files,
            ask_password,
            passphrases: Mutex::new(Vec::new()),
            password: OnceLock::new(),
            prompt: Mutex::new(()),
            prompter,
        }
    }

    /// The passphrase of an encrypted key, asked once per key file for
    /// every host. An OpenSSH-format key is opened here with it first: a
    /// mistyped passphrase is asked again (three tries, as ssh), rather
    /// than failing every host.
    fn passphrase(&self, key: &Path, text: &[u8]) -> Answer {
        let _one = self.prompt.lock().map_err(|_| "prompt lock".to_string())?;
        let mut known = self.passphrases.lock().map_err(|_| "lock".to_string())?;
        if let Some((_, p)) = known.iter().find(|(k, _)| k == key) {
            return p.clone();
        }
        let parsed = std::str::from_utf8(text)
            .ok()
            .and_then(|t| ssh_key::PrivateKey::from_openssh(t).ok());
        let mut answer = Ok(None);
        for attempt in 0..3 {
            let prompt = if attempt == 0 {
                format!("Enter passphrase for key '{}': ", key.display())
            } else {
                "Bad passphrase, try again: ".to_string()
            };
            answer = self.prompter.secret(&prompt);
            match (&answer, &parsed) {
                (Ok(Some(p)), Some(k)) if k.decrypt(p.as_bytes()).is_err() => {
                    answer = Err("wrong passphrase, 3 tries".to_string());
                }
                _ => break,
            }
        }
        known.push((key.to_path_buf(), answer.clone()));
        answer
    }

    fn password(&self, user: &str) -> Answer {
        let _one = self.prompt.lock().map_err(|_| "prompt lock".to_string())?;
        self.password
            .get_or_init(|| {
                self.prompter
                    .secret(&format!("Password for {user} (used for every host): "))
            })
            .clone()
    }
}

/// Tries every method in turn; `Err` says what was tried.
/// Which agent to ask (ssh_config's IdentityAgent).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum AgentChoice {
    /// `$SSH_AUTH_SOCK`.
    #[default]
    Environment,
    None,
    Socket(PathBuf),
}

/// Whom to log in as, with what.
pub struct Login<'a> {
    pub user: &'a str,
    /// IdentityFile from ssh_config.
    pub config_files: &'a [PathBuf],
    pub identities_only: bool,
    pub agent: &'a AgentChoice,
    /// Never ask on the terminal (ssh_config's BatchMode).
    pub batch: bool,
    /// Password authentication allowed (not after a changed host key).
    pub password: bool,
}

pub fn authenticate(sess: &Session, login: &Login, creds: &Credentials) -> Result<(), String> {
    let (user, config_files, identities_only) =
        (login.user, login.config_files, login.identities_only);
    let mut attempts = 0;
    let mut tried = Vec::new();
    let agent_socket = match login.agent {
        AgentChoice::Environment => std::env::var_os("SSH_AUTH_SOCK").map(PathBuf::from),
        AgentChoice::None => None,
        AgentChoice::Socket(p) => Some(p.clone()),
    };
    let agent = match agent_socket.filter(|_| !identities_only) {
        None => None,
        Some(socket) => {
            let connected = sess.agent().ok().and_then(|mut agent| {
                (agent.set_identity_path(&socket).is_ok()
                    && agent.connect().is_ok()
                    && agent.list_identities().is_ok())
                .then_some(agent)
            });
            if connected.is_none() {
                // Said, so "no agent" is not a mystery (a stale
                // SSH_AUTH_SOCK from a closed session).
                tried.push(format!(
                    "no agent at {} ({})",
                    socket.display(),
                    if socket.exists() {
                        "nothing answers there"
                    } else {
                        "the socket does not exist"
                    }
                ));
            }
            connected
        }
    };
    if let Some(agent) = agent {
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
            if login.batch {
                tried.push(format!(
                    "{} (encrypted, BatchMode: not asked)",
                    key.display()
                ));
                continue;
            }
            match creds.passphrase(&key, &text) {
                Ok(Some(p)) => Some(p),
                Ok(None) => {
                    tried.push(format!("{} (encrypted, no terminal to ask)", key.display()));
                    continue;
                }
                Err(why) => {
                    tried.push(format!("{} (encrypted: {why})", key.display()));
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
    if creds.ask_password && !login.batch && login.password && attempts < MAX_ATTEMPTS {
        match creds.password(user) {
            Ok(Some(p)) => {
                tried.push("password".to_string());
                if sess.userauth_password(user, &p).is_ok() && sess.authenticated() {
                    return Ok(());
                }
            }
            Ok(None) => tried.push("password (no terminal to ask)".to_string()),
            Err(why) => tried.push(format!("password ({why})")),
        }
    }
    if tried.is_empty() {
        tried.push(
            "no agent (SSH_AUTH_SOCK is not set) and no key files (~/.ssh/id_ed25519, id_ecdsa, id_rsa do not exist, and neither -i nor IdentityFile names one)"
                .to_string(),
        );
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
