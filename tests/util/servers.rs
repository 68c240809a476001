//! Small misbehaving "SSH servers" on loopback, each a listener thread:
//! what a hostile or broken host does to a client.

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

/// What a server does with each connection.
#[derive(Clone, Copy, Debug)]
pub enum Misbehaviour {
    /// Accepts and never sends a byte.
    Silent,
    /// Sends bytes with no newline, as fast as it can, for ever.
    EndlessNoNewline,
    /// Sends non-SSH lines, as fast as it can, for ever.
    EndlessLines,
    /// Sends one byte every 100 ms, for ever.
    Trickle,
    /// Sends a valid banner, then closes.
    CloseAfterBanner,
    /// Sends a valid banner, then garbage for ever.
    BannerThenGarbage,
}

/// Starts a server; returns its port. It lives as long as the test
/// process (each connection is served on its own thread until the client
/// goes away).
pub fn start(how: Misbehaviour) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || serve(stream, how));
        }
    });
    port
}

fn serve(mut s: TcpStream, how: Misbehaviour) {
    let junk = [b'x'; 8192];
    let lines = b"garbage garbage garbage\n".repeat(300);
    let _ = match how {
        Misbehaviour::Silent => {
            std::thread::sleep(Duration::from_secs(120));
            Ok(())
        }
        Misbehaviour::EndlessNoNewline => loop {
            if s.write_all(&junk).is_err() {
                break Ok(());
            }
        },
        Misbehaviour::EndlessLines => loop {
            if s.write_all(&lines).is_err() {
                break Ok(());
            }
        },
        Misbehaviour::Trickle => loop {
            if s.write_all(b"x").is_err() {
                break Ok(());
            }
            std::thread::sleep(Duration::from_millis(100));
        },
        Misbehaviour::CloseAfterBanner => s.write_all(b"SSH-2.0-OpenSSH_9.2p1 Debian\r\n"),
        Misbehaviour::BannerThenGarbage => {
            let _ = s.write_all(b"SSH-2.0-OpenSSH_9.2p1 Debian\r\n");
            loop {
                if s.write_all(&junk).is_err() {
                    break Ok(());
                }
            }
        }
    };
}
