//! The SSH layer: ssh_config, known_hosts, authentication and one session
//! per host over libssh2 (ssh2). It knows no flags and no terminal: the
//! fanout engine calls it, and output never sees it.

pub mod auth;
pub mod config;
pub mod digest;
pub mod host_cert;
pub mod jump;
pub mod known_hosts;
pub mod link;
pub mod openssh;
pub mod proxy;
pub mod session;

/// A notice for the user on standard error, as ssh gives them ("Warning:
/// Permanently added …"): one whole line in one write, so it never lands
/// inside another line.
pub fn notice(line: &str) {
    use std::io::Write;
    let _ = std::io::stderr().write_all(format!("{line}\n").as_bytes());
}

/// Quotes one word for the remote POSIX shell, so it arrives as one
/// argument whatever it holds (spaces, quotes, newlines, `$(…)`, `*`).
pub fn shell_quote(word: &str) -> String {
    String::from_utf8(shell_quote_bytes(word.as_bytes())).expect("quoting keeps UTF-8 whole")
}

/// [`shell_quote`] for a word that need not be UTF-8 (an argument from
/// the command line is bytes).
pub fn shell_quote_bytes(word: &[u8]) -> Vec<u8> {
    if !word.is_empty()
        && !word.starts_with(b"-")
        && word
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./=:,+@%".contains(b))
    {
        return word.to_vec();
    }
    let mut quoted = vec![b'\''];
    for &b in word {
        if b == b'\'' {
            quoted.extend_from_slice(b"'\\''");
        } else {
            quoted.push(b);
        }
    }
    quoted.push(b'\'');
    quoted
}
