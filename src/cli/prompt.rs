//! Asking a person for a secret on the terminal (`/dev/tty`), echo off.
//!
//! rpassword is not used: its terminal guard lives on the stack of the
//! thread that is blocked reading, so a signal handled on another thread
//! (our signal thread ends the run) could not put the terminal back. Here
//! the saved settings are kept where [`restore_terminal`] can reach them,
//! and echo that cannot be turned off is an error, not a leak.

use std::io::{BufRead, Write};
use std::os::fd::AsRawFd;
use std::sync::Mutex;

use crate::ssh::auth::Prompter;

/// The terminal's settings while a prompt has echo turned off.
static SAVED: Mutex<Option<(i32, libc::termios)>> = Mutex::new(None);

/// Asks on the controlling terminal.
pub struct Terminal;

impl Prompter for Terminal {
    fn secret(&self, prompt: &str) -> Result<Option<String>, String> {
        let Ok(tty) = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/tty")
        else {
            return Ok(None);
        };
        let fd = tty.as_raw_fd();
        // SAFETY: termios calls on a descriptor we own; the saved settings
        // are put back below, or by restore_terminal on a signal.
        unsafe {
            let mut t: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(fd, &mut t) != 0 {
                return Ok(None);
            }
            if let Ok(mut saved) = SAVED.lock() {
                *saved = Some((fd, t));
            }
            t.c_lflag &= !libc::ECHO;
            t.c_lflag |= libc::ECHONL;
            let mut now: libc::termios = std::mem::zeroed();
            if libc::tcsetattr(fd, libc::TCSANOW, &t) != 0
                || libc::tcgetattr(fd, &mut now) != 0
                || now.c_lflag & libc::ECHO != 0
            {
                restore_terminal();
                return Err("the terminal's echo cannot be turned off; not asking".to_string());
            }
        }
        let mut writer = &tty;
        let _ = writer.write_all(prompt.as_bytes());
        let _ = writer.flush();
        let mut line = String::new();
        let read = std::io::BufReader::new(&tty).read_line(&mut line);
        restore_terminal();
        match read {
            Ok(0) | Err(_) => Ok(None),
            Ok(_) => Ok(Some(line.trim_end_matches(['\n', '\r']).to_string())),
        }
    }
}

/// Puts the terminal back as it was before a prompt turned echo off (a
/// no-op when no prompt is open). Called when a prompt ends and when a
/// signal ends the run.
pub fn restore_terminal() {
    if let Ok(mut saved) = SAVED.lock()
        && let Some((fd, t)) = saved.take()
    {
        // SAFETY: restores settings read from this descriptor, which stays
        // open while the prompt is (SAVED is cleared before it closes).
        unsafe {
            libc::tcsetattr(fd, libc::TCSANOW, &t);
        }
    }
}
