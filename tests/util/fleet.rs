//! A throwaway loopback fleet of real OpenSSH sshd "hosts" for tests, as
//! `scripts/fleet` makes by hand: one sshd per host, each under
//! `unshare -m -u` with its own hostname and a private tmpfs on /srv,
//! logins as the user `fleet` with a generated key. Needs root.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use super::{Dir, TestCommand};

/// Keys and the login user, made once per test process.
pub struct Keys {
    pub dir: PathBuf,
    pub host_key: PathBuf,
    /// A second host key, for "the key changed" tests.
    pub other_host_key: PathBuf,
    pub client_key: PathBuf,
    /// A key the hosts do not accept.
    pub wrong_key: PathBuf,
    /// An accepted key encrypted with the passphrase [`PASSPHRASE`].
    pub encrypted_key: PathBuf,
}

/// The passphrase of [`Keys::encrypted_key`].
pub const PASSPHRASE: &str = "correct horse";
/// The password of the user [`PASSWORD_USER`].
pub const PASSWORD: &str = "battery staple";
/// A user that logs in with a password (on fleets started with
/// `PasswordAuthentication yes`).
pub const PASSWORD_USER: &str = "fleetpw";

pub fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("fleetkit-keys-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let keygen_with = |name: &str, passphrase: &str| {
            let path = dir.join(name);
            let ok = Command::new("ssh-keygen")
                .args(["-q", "-t", "ed25519", "-N", passphrase, "-f"])
                .arg(&path)
                .status()
                .expect("ssh-keygen (openssh-client)");
            assert!(ok.success());
            path
        };
        let keygen = |name: &str| keygen_with(name, "");
        let keys = Keys {
            host_key: keygen("host_key"),
            other_host_key: keygen("other_host_key"),
            client_key: keygen("id_ed25519"),
            wrong_key: keygen("wrong_key"),
            encrypted_key: keygen_with("encrypted_key", PASSPHRASE),
            dir: dir.clone(),
        };
        let mut authorized = std::fs::read_to_string(dir.join("id_ed25519.pub")).unwrap();
        authorized.push_str(&std::fs::read_to_string(dir.join("encrypted_key.pub")).unwrap());
        std::fs::write(dir.join("authorized_keys"), authorized).unwrap();
        std::fs::create_dir_all("/run/sshd").unwrap();
        std::fs::create_dir_all("/srv").unwrap();
        ensure_user("fleet");
        // A `!` password field is refused under UsePAM no.
        let _ = Command::new("usermod").args(["-p", "*", "fleet"]).status();
        ensure_user(PASSWORD_USER);
        let mut chpasswd = Command::new("chpasswd")
            .stdin(Stdio::piped())
            .spawn()
            .expect("chpasswd");
        {
            use std::io::Write;
            let mut stdin = chpasswd.stdin.take().unwrap();
            writeln!(stdin, "{PASSWORD_USER}:{PASSWORD}").unwrap();
        }
        assert!(chpasswd.wait().unwrap().success());
        keys
    })
}

/// Creates a login user with /bin/sh unless it exists.
fn ensure_user(name: &str) {
    let exists = Command::new("id")
        .arg(name)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    if !exists.success() {
        let _ = Command::new("useradd")
            .args(["-m", "-s", "/bin/sh", name])
            .status();
    }
}

/// Running sshds, stopped when dropped.
pub struct Fleet {
    pub port: u16,
    pub addrs: Vec<String>,
    pub dir: PathBuf,
    children: Vec<Child>,
}

/// A port nobody listens on now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Fleet {
    /// `n` hosts at 127.0.0.2, 127.0.0.3, … on one fresh port.
    pub fn start(n: usize) -> Fleet {
        Fleet::start_with(n, &keys().host_key)
    }

    /// Like [`Fleet::start`], with a given host key.
    pub fn start_with(n: usize, host_key: &Path) -> Fleet {
        Fleet::start_configured(n, host_key, "")
    }

    /// Like [`Fleet::start_with`], with extra sshd_config lines.
    pub fn start_configured(n: usize, host_key: &Path, extra: &str) -> Fleet {
        let keys = keys();
        let port = free_port();
        let dir = keys.dir.join(format!("fleet-{port}"));
        std::fs::create_dir_all(&dir).unwrap();
        let mut fleet = Fleet {
            port,
            addrs: Vec::new(),
            dir: dir.clone(),
            children: Vec::new(),
        };
        for i in 0..n {
            let addr = format!("127.0.{}.{}", i / 250, 2 + i % 250);
            let cfg = dir.join(format!("sshd_{i}.conf"));
            std::fs::write(
                &cfg,
                format!(
                    // sshd takes the first value given: extra lines go first.
                    "{extra}Port {port}\nListenAddress {addr}\nHostKey {}\nPidFile none\n\
                     AuthorizedKeysFile {}/authorized_keys\nUsePAM no\nStrictModes no\n\
                     PasswordAuthentication no\nKbdInteractiveAuthentication no\n\
                     Subsystem sftp internal-sftp\nMaxStartups 10000:30:10000\nLogLevel ERROR\n",
                    host_key.display(),
                    keys.dir.display()
                ),
            )
            .unwrap();
            let log = std::fs::File::create(dir.join(format!("sshd_{i}.log"))).unwrap();
            let child = Command::new("unshare")
                .args(["-m", "-u", "--", "sh", "-c"])
                .arg(format!(
                    "hostname host{i} && mount -t tmpfs -o size=512m tmpfs /srv && exec /usr/sbin/sshd -D -e -f {}",
                    cfg.display()
                ))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .expect("unshare and /usr/sbin/sshd (openssh-server)");
            fleet.children.push(child);
            fleet.addrs.push(addr);
        }
        // The hosts are known: tests of learning keys remove the file.
        if let Ok(public) = std::fs::read_to_string(host_key.with_extension("pub")) {
            let key: Vec<&str> = public.split_whitespace().take(2).collect();
            let lines: String = fleet
                .addrs
                .iter()
                .map(|a| format!("[{a}]:{port} {}\n", key.join(" ")))
                .collect();
            std::fs::write(fleet.known_hosts(), lines).unwrap();
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        for addr in &fleet.addrs {
            while TcpStream::connect((addr.as_str(), port)).is_err() {
                assert!(
                    Instant::now() < deadline,
                    "sshd on {addr}:{port} did not start"
                );
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        std::fs::write(fleet.config(), fleet.config_text()).unwrap();
        std::fs::write(fleet.hosts_file(), fleet.hosts()).unwrap();
        fleet
    }

    /// Kills (SIGKILL) the sshd processes serving this fleet's sessions
    /// (not the listeners), as a host that crashes or drops off would.
    pub fn kill_sessions(&self) {
        let listeners: Vec<u32> = self.children.iter().map(|c| c.id()).collect();
        for pid in descendants(&listeners) {
            let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            if cmd.starts_with(b"sshd: ") {
                let _ = Command::new("kill")
                    .args(["-KILL", &pid.to_string()])
                    .status();
            }
        }
    }

    /// Freezes every session (SIGSTOP): the hosts stop answering but their
    /// connections stay open, as a hung machine's do. They are killed
    /// with the fleet.
    pub fn freeze_sessions(&self) {
        let listeners: Vec<u32> = self.children.iter().map(|c| c.id()).collect();
        for pid in descendants(&listeners) {
            let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            if cmd.starts_with(b"sshd: ") {
                let _ = Command::new("kill")
                    .args(["-STOP", &pid.to_string()])
                    .status();
            }
        }
    }

    /// The ssh_config for reaching the fleet.
    pub fn config(&self) -> PathBuf {
        self.dir.join("ssh_config")
    }

    pub fn config_text(&self) -> String {
        format!(
            "Host 127.*\n  User fleet\n  Port {}\n  IdentityFile {}\n  IdentitiesOnly yes\n  \
             UserKnownHostsFile {}\n  StrictHostKeyChecking accept-new\n",
            self.port,
            keys().client_key.display(),
            self.known_hosts().display()
        )
    }

    pub fn known_hosts(&self) -> PathBuf {
        self.dir.join("known_hosts")
    }

    /// One address per line.
    pub fn hosts(&self) -> String {
        self.addrs.iter().map(|a| format!("{a}\n")).collect()
    }

    pub fn hosts_file(&self) -> PathBuf {
        self.dir.join("hosts")
    }

    /// `rrun -F <config> --hosts <hosts>` run in `dir`.
    pub fn rrun(&self, dir: &Dir) -> TestCommand {
        let mut cmd = dir.command("rrun");
        cmd.arg("-F")
            .arg(self.config())
            .arg("--hosts")
            .arg(self.hosts_file());
        cmd
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        // Sessions too: a frozen one would outlive its listener.
        self.kill_sessions();
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Every process below `roots` (by /proc's parent links).
fn descendants(roots: &[u32]) -> Vec<u32> {
    let mut parent = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        if let Some(ppid) = stat
            .rsplit(") ")
            .next()
            .and_then(|r| r.split(' ').nth(1))
            .and_then(|p| p.parse::<u32>().ok())
        {
            parent.push((pid, ppid));
        }
    }
    let mut found: Vec<u32> = roots.to_vec();
    let mut i = 0;
    while i < found.len() {
        let p = found[i];
        found.extend(parent.iter().filter(|(_, pp)| *pp == p).map(|(c, _)| *c));
        i += 1;
    }
    found.split_off(roots.len())
}
