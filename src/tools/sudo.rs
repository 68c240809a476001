//! `rrun --sudo`: the shell text wrapped around a command so it runs as
//! root (or another user) through sudo on every host, the password fed to
//! sudo once, and the filter that takes sudo's prompt and rrun's markers
//! out of the output before anything (a terminal, `-o` files, JSON, logs)
//! sees it.
//!
//! On the host, one POSIX shell line: the first line of standard input
//! (the password) is read into a shell variable and piped to `sudo -S -v`
//! alone, so sudo can never read the command's own input as a second
//! attempt, and a wrong password is refused once, never retried. On
//! success the credentials are cached for that shell and
//! `sudo -n -u USER -- sh -c COMMAND` runs with the rest of the input; on
//! hosts that cache nothing (`timestamp_timeout=0`) the proved password
//! goes once more, to the command's own sudo, ahead of that input.
//! Markers (a random token per run) on the command's stderr say which
//! happened; the password is never in an argument list on either side.

use crate::outcome::{Failure, OnOutput, Stream};
use crate::ssh::{shell_quote, shell_quote_bytes};

/// What `--sudo` needs to wrap a command.
pub struct Sudo {
    /// Marks rrun's own lines (and sudo's prompt) in the output.
    token: String,
    /// `-u USER`, when not root.
    user: Option<String>,
    /// Typed once at the start; `None`: none given (sudo must not need one).
    password: Option<String>,
}

impl Sudo {
    pub fn new(user: Option<String>, password: Option<String>) -> Sudo {
        Sudo {
            token: format!("fleetkit-sudo-{}", crate::copy::random_suffix()),
            user,
            password: password.filter(|p| !p.is_empty()),
        }
    }

    /// A command to run first, and what it must print, when a password
    /// is to be sent: proof that the host runs our shell line as written.
    pub fn probe(&self) -> Option<(String, String)> {
        self.password.as_ref()?;
        let t = &self.token;
        Some((
            format!("printf '%s:%s\\n' {t} probe"),
            format!("{t}:probe\n"),
        ))
    }

    /// The command line for the host's shell. With a password, it is
    /// checked by `sudo -v` first; without one, sudo -n says if one is
    /// needed. A command of plain words (`systemctl restart nginx`) runs
    /// as those words, so sudoers rules for that command match; anything
    /// else runs under `sh -c`.
    ///
    /// `tty_input`: input (`-I`) on a terminal (`--pty`). It reaches the
    /// command through `cat`, so the terminal's end of input (^D) ends
    /// it: sudo's `use_pty` relay would take ^D for its own end of input
    /// and never pass it on.
    pub fn wrap(&self, command: &[u8], tty_input: bool) -> Vec<u8> {
        let t = &self.token;
        let feed = if tty_input { "cat | " } else { "" };
        let user = match &self.user {
            Some(u) => format!(" -u {}", shell_quote(u)),
            None => String::new(),
        };
        let plain = !command.is_empty()
            && command
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || b" -_./=:,+@%".contains(b));
        let run = if plain {
            command.to_vec()
        } else {
            let mut run = b"sh -c ".to_vec();
            run.extend(shell_quote_bytes(command));
            run
        };
        let mut line = Vec::new();
        let mut part = |text: String, run: &[u8]| {
            line.extend_from_slice(text.as_bytes());
            line.extend_from_slice(run);
        };
        if self.password.is_none() {
            part(format!("echo '{t}:go' >&2; {feed}sudo -n{user} -- "), &run);
            return line;
        }
        // The prompt ends in a newline, so it is a line of its own.
        // Where sudo caches credentials, the command then runs under
        // `sudo -n` with the session's own input. Where it does not
        // (`timestamp_timeout=0`: `sudo -n -v` still fails after a good
        // password), the password, already proved right, goes to this
        // one sudo ahead of the rest of the input: sudo reads exactly its
        // line, byte by byte, and the command inherits what follows.
        part(
            format!(
                "{{ IFS= read -r fleetkit_pw; printf '%s\\n' \"$fleetkit_pw\" | sudo -S -p '{t}:ask\n' -v; }} || {{ echo '{t}:refused' >&2; exit 1; }}; \
                 if sudo -n -v 2>/dev/null; then unset fleetkit_pw; echo '{t}:go' >&2; {feed}sudo -n{user} -- "
            ),
            &run,
        );
        part(
            format!(
                "; else echo '{t}:go' >&2; {{ printf '%s\\n' \"$fleetkit_pw\"; unset fleetkit_pw; exec cat; }} | sudo -S -p ''{user} -- "
            ),
            &run,
        );
        line.extend_from_slice(b"; fi");
        line
    }

    /// The command's standard input: the password's line, then `rest`.
    pub fn input(&self, rest: Option<&[u8]>) -> Option<Vec<u8>> {
        match (&self.password, rest) {
            (None, rest) => rest.map(<[u8]>::to_vec),
            (Some(p), rest) => {
                let mut input = format!("{p}\n").into_bytes();
                input.extend_from_slice(rest.unwrap_or_default());
                Some(input)
            }
        }
    }

    /// A fresh filter for one host's output.
    pub fn filter(&self) -> Filter {
        Filter {
            token: self.token.clone(),
            started: false,
            pending: Vec::new(),
            said: Vec::new(),
            wanted_password: false,
        }
    }
}

/// Takes sudo's part out of one host's output. Until the command starts
/// (the `go` marker), whole lines are held and judged: the prompt and
/// markers are dropped, sudo's own messages kept to explain a refusal or
/// passed on once the command runs.
pub struct Filter {
    token: String,
    started: bool,
    /// Bytes of an unfinished line before the start, per stream.
    pending: Vec<(Stream, Vec<u8>)>,
    /// sudo's messages before the start (`Sorry, try again.`).
    said: Vec<(Stream, Vec<u8>)>,
    /// `sudo -n` said a password is required.
    wanted_password: bool,
}

impl Filter {
    /// Passes `bytes` from `stream` on to `out`, minus sudo's part. A
    /// refused password is `Failure::Auth`, in sudo's words.
    pub fn feed(
        &mut self,
        stream: Stream,
        bytes: &[u8],
        out: &mut OnOutput<'_>,
    ) -> Result<(), Failure> {
        if self.started {
            if stream == Stream::Stderr && !self.wanted_password {
                self.wanted_password =
                    memchr::memmem::find(bytes, b"sudo: a password is required").is_some();
            }
            return out(stream, bytes);
        }
        let mut held = match self.pending.iter().position(|(s, _)| *s == stream) {
            Some(i) => self.pending.remove(i).1,
            None => Vec::new(),
        };
        held.extend_from_slice(bytes);
        let mut rest: &[u8] = &held;
        while let Some(nl) = rest.iter().position(|&b| b == b'\n') {
            let line = &rest[..=nl];
            rest = &rest[nl + 1..];
            let text = String::from_utf8_lossy(line);
            let text = text.trim_end_matches(['\n', '\r']);
            // A prompt may share its line with nothing, or (on a
            // terminal) run into the marker after it.
            let text = text.replace(&format!("{}:ask", self.token), "");
            if text.is_empty() {
                continue;
            }
            if text == format!("{}:refused", self.token) {
                let words: Vec<String> = self
                    .said
                    .iter()
                    .map(|(_, l)| String::from_utf8_lossy(l).trim().to_string())
                    .filter(|l| !l.is_empty())
                    .collect();
                return Err(Failure::Auth(if words.is_empty() {
                    "sudo refused".to_string()
                } else {
                    format!("sudo refused: {}", words.join(" "))
                }));
            }
            if text == format!("{}:go", self.token) {
                self.started = true;
                for (s, l) in std::mem::take(&mut self.said) {
                    out(s, &l)?;
                }
                if !rest.is_empty() {
                    out(stream, rest)?;
                }
                // Whatever another stream held is the command's.
                for (s, l) in std::mem::take(&mut self.pending) {
                    out(s, &l)?;
                }
                return Ok(());
            }
            let mut kept = text.into_bytes();
            kept.push(b'\n');
            self.said.push((stream, kept));
        }
        if !rest.is_empty() {
            self.pending.push((stream, rest.to_vec()));
        }
        Ok(())
    }

    /// Whether sudo, once started, said it needed a password.
    pub fn wanted_password(&self) -> bool {
        self.wanted_password
    }

    /// The end of output: whatever was held is passed on (a command that
    /// never started says why in sudo's words).
    pub fn finish(&mut self, out: &mut OnOutput<'_>) -> Result<(), Failure> {
        for (s, l) in std::mem::take(&mut self.said) {
            out(s, &l)?;
        }
        for (s, l) in std::mem::take(&mut self.pending) {
            out(s, &l)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(filter: &mut Filter, chunks: &[(Stream, &str)]) -> (Result<(), Failure>, String) {
        let mut seen = String::new();
        let mut out = |s: Stream, b: &[u8]| {
            let tag = if s == Stream::Stdout { "O:" } else { "E:" };
            seen.push_str(tag);
            seen.push_str(&String::from_utf8_lossy(b));
            Ok(())
        };
        for (s, c) in chunks {
            if let Err(e) = filter.feed(*s, c.as_bytes(), &mut out) {
                return (Err(e), seen);
            }
        }
        (filter.finish(&mut out), seen)
    }

    #[test]
    fn the_prompt_and_markers_never_reach_the_output() {
        let sudo = Sudo::new(None, Some("pw".into()));
        let t = sudo.token.clone();
        let mut f = sudo.filter();
        let (r, seen) = run(
            &mut f,
            &[
                (Stream::Stderr, &format!("{t}:a")),
                (Stream::Stderr, &format!("sk\n{t}:go\nroot\n")),
                (Stream::Stdout, "out\n"),
            ],
        );
        assert!(r.is_ok());
        assert_eq!(seen, "E:root\nO:out\n");
        assert!(!seen.contains("pw"));
    }

    #[test]
    fn a_refusal_is_auth_in_sudos_words() {
        let sudo = Sudo::new(None, Some("wrong".into()));
        let t = sudo.token.clone();
        let mut f = sudo.filter();
        let (r, seen) = run(
            &mut f,
            &[(
                Stream::Stderr,
                &format!(
                    "{t}:ask\nSorry, try again.\n{t}:ask\nsudo: 1 incorrect password attempt\n{t}:refused\n"
                ),
            )],
        );
        assert_eq!(
            r,
            Err(Failure::Auth(
                "sudo refused: Sorry, try again. sudo: 1 incorrect password attempt".into()
            ))
        );
        assert_eq!(seen, "");
    }

    #[test]
    fn the_password_goes_first_and_only_on_stdin() {
        let sudo = Sudo::new(Some("www data".into()), Some("s3cret".into()));
        assert_eq!(sudo.input(Some(b"rest")).unwrap(), b"s3cret\nrest");
        let line = String::from_utf8(sudo.wrap(b"id -u", false)).unwrap();
        assert!(!line.contains("s3cret"));
        // Plain words run as themselves, so sudoers rules for that
        // command match; anything else under sh -c.
        assert!(line.contains("sudo -n -u 'www data' -- id -u"), "{line}");
        assert!(sudo.probe().is_some());
        let none = Sudo::new(None, Some(String::new()));
        assert!(none.input(None).is_none());
        assert!(none.probe().is_none());
        let line = String::from_utf8(none.wrap(b"systemctl restart nginx", false)).unwrap();
        assert!(
            line.ends_with("sudo -n -- systemctl restart nginx"),
            "{line}"
        );
        let line = String::from_utf8(none.wrap(b"echo $HOME", false)).unwrap();
        assert!(line.ends_with("sudo -n -- sh -c 'echo $HOME'"), "{line}");
    }
}
