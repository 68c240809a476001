//! End-to-end tests of rcp against real OpenSSH sshd "hosts" on loopback,
//! each with a private /srv: uploads and downloads of files and trees,
//! the copy options, hostile names, a large file checked on every host,
//! failures of every class, and copies cut off mid-file.

mod util;

use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use util::fleet::{Fleet, free_port};
use util::{Dir, TestCommand};

/// Each test below runs over both transports: the system's ssh
/// (`--ssh=openssh`, the default where ssh is installed) and libssh2.
macro_rules! both_transports {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[test]
            fn openssh() {
                super::$name("openssh")
            }
            #[test]
            fn native() {
                super::$name("native")
            }
        }
    )*};
}

both_transports!(
    uploads_files_and_trees_with_modes_times_and_symlinks,
    downloads_land_under_each_hosts_own_directory,
    update_and_checksum_skip_what_is_already_there,
    hostile_names_are_copied_as_they_are_and_never_run,
    a_large_file_arrives_whole_on_every_host,
    unreachable_hosts_and_remote_errors_have_their_own_status,
    ctrl_c_mid_file_leaves_the_old_file_and_no_temporary,
    a_connection_cut_mid_file_leaves_the_old_file,
    symlinks_on_either_side_are_replaced_never_followed,
    owner_without_root_on_the_host_says_so,
    a_terminal_sees_the_bytes_move,
    large_downloads_and_checksums_of_many_long_names,
    a_symlinked_directory_on_the_host_is_never_written_through,
    a_replaced_file_keeps_its_mode_and_a_changing_source_is_refused,
    a_deadline_mid_file_leaves_no_temporary
);

/// `rcp --ssh=<ssh> -F <config> --hosts <hosts>` run in `dir`.
fn rcp(fleet: &Fleet, dir: &Dir, ssh: &str) -> TestCommand {
    let mut cmd = dir.command("rcp");
    cmd.arg(format!("--ssh={ssh}"))
        .arg("-F")
        .arg(fleet.config())
        .arg("--hosts")
        .arg(fleet.hosts_file());
    cmd
}

/// Runs a shell command on every host; returns each host's stdout, in
/// fleet order.
fn on_hosts(fleet: &Fleet, dir: &Dir, command: &str) -> Vec<String> {
    fleet
        .addrs
        .iter()
        .map(|addr| {
            let out = dir
                .command("rrun")
                .arg("-F")
                .arg(fleet.config())
                .args(["-H", addr, "--json", command])
                .output();
            let v: serde_json::Value =
                serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
            v["stdout"].as_str().unwrap_or("").to_string()
        })
        .collect()
}

/// A file of `bytes` zeros (sparse: made at once).
fn zeros(path: &std::path::Path, bytes: u64) {
    std::fs::File::create(path).unwrap().set_len(bytes).unwrap();
}

fn sha256(path: &std::path::Path) -> String {
    let out = Command::new("sha256sum").arg(path).output().unwrap();
    String::from_utf8(out.stdout)
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .to_string()
}

fn uploads_files_and_trees_with_modes_times_and_symlinks(ssh: &str) {
    let fleet = Fleet::start(2);
    let dir = Dir::new(&format!("rcp-up-{ssh}"));
    dir.create("a.txt", "alpha\n");
    dir.create("tree/one", "1\n");
    dir.create("tree/sub/two", "2\n");
    std::fs::set_permissions(dir.join("tree/one"), std::fs::Permissions::from_mode(0o751)).unwrap();
    std::os::unix::fs::symlink("one", dir.join("tree/link")).unwrap();
    Command::new("touch")
        .args(["-d", "2001-02-03 04:05:06", "tree/sub/two"])
        .current_dir(dir.path())
        .status()
        .unwrap();
    Command::new("mkfifo")
        .arg(dir.join("tree/pipe"))
        .status()
        .unwrap();
    // One file into a directory (trailing slash), then a tree with -a and
    // --mkdir into a directory that does not exist yet.
    let (out, err) = rcp(&fleet, &dir, ssh)
        .args(["a.txt", "/srv/"])
        .expect_exit_text(0);
    assert_eq!(out.lines().count(), 2, "{out}");
    assert!(
        out.lines()
            .all(|l| l.ends_with(" s") && l.contains(": 1 file, 0 skipped, 6 B in ")),
        "{out}"
    );
    assert_eq!(err, "2 hosts: 2 ok\n");
    let (_, err) = rcp(&fleet, &dir, ssh)
        .args(["-a", "--mkdir", "tree", "/srv/deep/er/"])
        .expect_exit_text(0);
    assert!(err.contains("tree/pipe: skipped, a named pipe"), "{err}");
    // Without -r a directory is refused before anything runs.
    let (_, err) = rcp(&fleet, &dir, ssh)
        .args(["tree", "/srv/"])
        .expect_exit_text(2);
    assert!(err.contains("tree: is a directory (use -r"), "{err}");
    for listing in on_hosts(
        &fleet,
        &dir,
        "cd /srv && cat a.txt && stat -c '%n %a %Y' deep/er/tree/one deep/er/tree/sub/two && readlink deep/er/tree/link && ls -a deep/er/tree",
    ) {
        assert_eq!(
            listing,
            format!(
                "alpha\ndeep/er/tree/one 751 {}\ndeep/er/tree/sub/two 644 981173106\none\n.\n..\nlink\none\nsub\n",
                std::fs::metadata(dir.join("tree/one"))
                    .map(|m| std::os::unix::fs::MetadataExt::mtime(&m))
                    .unwrap()
            )
        );
    }
    // The one source becomes DEST when DEST is not a directory.
    rcp(&fleet, &dir, ssh)
        .args(["a.txt", "/srv/renamed"])
        .expect_exit(0);
    assert!(
        on_hosts(&fleet, &dir, "cat /srv/renamed")
            .iter()
            .all(|s| s == "alpha\n")
    );
    // A missing parent without --mkdir is that host's failure, named.
    let (out, err) = rcp(&fleet, &dir, ssh)
        .args(["a.txt", "/srv/no/such/"])
        .expect_exit_text(1);
    assert_eq!(out.lines().count(), 2);
    assert!(
        err.contains(": failed: /srv/no/such/: no such directory (--mkdir creates it)"),
        "{err}"
    );
}

fn downloads_land_under_each_hosts_own_directory(ssh: &str) {
    let fleet = Fleet::start(2);
    let dir = Dir::new(&format!("rcp-get-{ssh}"));
    on_hosts(
        &fleet,
        &dir,
        "mkdir -p /srv/t/s && hostname > /srv/t/name && echo x > /srv/t/s/f && ln -s name /srv/t/l",
    );
    let (out, err) = rcp(&fleet, &dir, ssh)
        .args(["--get", "-r", "/srv/t", "/srv/nothing", "got"])
        .expect_exit_text(1);
    assert_eq!(out.lines().count(), 2, "{out}");
    assert!(
        err.contains("/srv/nothing: no such file or directory"),
        "{err}"
    );
    for (i, addr) in fleet.addrs.iter().enumerate() {
        let base = dir.join("got").join(addr).join("t");
        assert_eq!(
            std::fs::read_to_string(base.join("name")).unwrap(),
            format!("host{i}\n")
        );
        assert_eq!(std::fs::read_to_string(base.join("s/f")).unwrap(), "x\n");
        assert_eq!(
            std::fs::read_link(base.join("l")).unwrap().to_str(),
            Some("name")
        );
    }
    let left: Vec<_> = walk(&dir.join("got"))
        .into_iter()
        .filter(|p| p.contains(".tmp"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

fn walk(root: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(root) {
        for e in rd.flatten() {
            let p = e.path();
            out.push(p.display().to_string());
            if e.file_type().unwrap().is_dir() {
                out.extend(walk(&p));
            }
        }
    }
    out
}

fn update_and_checksum_skip_what_is_already_there(ssh: &str) {
    let fleet = Fleet::start(2);
    let dir = Dir::new(&format!("rcp-update-{ssh}"));
    dir.create("t/a", "aaa\n");
    dir.create("t/b", "bbb\n");
    rcp(&fleet, &dir, ssh)
        .args(["-a", "t", "/srv/"])
        .expect_exit(0);
    let (out, _) = rcp(&fleet, &dir, ssh)
        .args(["-a", "-u", "t", "/srv/"])
        .expect_exit_text(0);
    assert!(
        out.lines().all(|l| l.contains(": 0 files, 2 skipped")),
        "{out}"
    );
    // Same size and time but other content: -u is fooled, --checksum not.
    on_hosts(
        &fleet,
        &dir,
        "printf 'zzz\\n' > /srv/t/.x && touch -r /srv/t/a /srv/t/.x && mv /srv/t/.x /srv/t/a",
    );
    let (out, _) = rcp(&fleet, &dir, ssh)
        .args(["-a", "-u", "t", "/srv/"])
        .expect_exit_text(0);
    assert!(
        out.lines().all(|l| l.contains(": 0 files, 2 skipped")),
        "{out}"
    );
    let (out, _) = rcp(&fleet, &dir, ssh)
        .args(["-r", "--checksum", "t", "/srv/"])
        .expect_exit_text(0);
    assert!(
        out.lines().all(|l| l.contains(": 1 file, 1 skipped")),
        "{out}"
    );
    assert!(
        on_hosts(&fleet, &dir, "cat /srv/t/a")
            .iter()
            .all(|s| s == "aaa\n")
    );
    // The same for downloads.
    rcp(&fleet, &dir, ssh)
        .args(["--get", "-a", "/srv/t", "got"])
        .expect_exit(0);
    let (out, _) = rcp(&fleet, &dir, ssh)
        .args(["--get", "-a", "-u", "/srv/t", "got"])
        .expect_exit_text(0);
    assert!(
        out.lines().all(|l| l.contains(": 0 files, 2 skipped")),
        "{out}"
    );
}

fn hostile_names_are_copied_as_they_are_and_never_run(ssh: &str) {
    let fleet = Fleet::start(1);
    let dir = Dir::new(&format!("rcp-names-{ssh}"));
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let marker = dir.join("pwned");
    let names = [
        format!("$(touch {})", marker.display()),
        "-rf".to_string(),
        "a b".to_string(),
        "it's".to_string(),
        "new\nline".to_string(),
        "*".to_string(),
        "`touch x`;".to_string(),
        "back\\slash".to_string(),
    ];
    // A name that is not UTF-8 (Latin-1 "café").
    let latin1 = dir.join("h").join(std::ffi::OsStr::from_bytes(b"caf\xe9"));
    for (i, n) in names.iter().enumerate() {
        dir.create(&format!("h/{n}"), format!("{i}\n"));
    }
    std::fs::write(&latin1, "old\n").unwrap();
    rcp(&fleet, &dir, ssh)
        .args(["-r", "h", "/srv/"])
        .expect_exit(0);
    // Again, so every file replaces an existing one (posix-rename),
    // and with --checksum (the remote sha256sum path): every UTF-8 name,
    // newline and backslash included, is found the same and skipped.
    for n in &names {
        dir.create(&format!("h/{n}"), format!("new {n}\n"));
    }
    std::fs::write(&latin1, "new\n").unwrap();
    rcp(&fleet, &dir, ssh)
        .args(["-r", "h", "/srv/"])
        .expect_exit(0);
    let (out, _) = rcp(&fleet, &dir, ssh)
        .args(["-r", "--checksum", "h", "/srv/"])
        .expect_exit_text(0);
    // The name that is not UTF-8 too: the names go to the host on the
    // standard input of its sha256sum, as bytes.
    assert!(
        out.contains(&format!(": 0 files, {} skipped", names.len() + 1)),
        "{out}"
    );
    rcp(&fleet, &dir, ssh)
        .args(["--get", "-r", "/srv/h", "got"])
        .expect_exit(0);
    for n in &names {
        let got = std::fs::read_to_string(dir.join("got").join(&fleet.addrs[0]).join("h").join(n))
            .unwrap();
        assert_eq!(got, format!("new {n}\n"));
    }
    let got = dir
        .join("got")
        .join(&fleet.addrs[0])
        .join("h")
        .join(std::ffi::OsStr::from_bytes(b"caf\xe9"));
    assert_eq!(std::fs::read_to_string(got).unwrap(), "new\n");
    assert!(!marker.exists(), "a name was run by a shell");
    assert!(!dir.join("x").exists());
}

fn a_large_file_arrives_whole_on_every_host(ssh: &str) {
    let fleet = Fleet::start(2);
    let dir = Dir::new(&format!("rcp-big-{ssh}"));
    let big = dir.join("big");
    let status = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "head -c 200000000 /dev/urandom > {}",
            big.display()
        ))
        .status()
        .unwrap();
    assert!(status.success());
    let sum = sha256(&big);
    let (out, _) = rcp(&fleet, &dir, ssh)
        .args(["big", "/srv/big"])
        .expect_exit_text(0);
    assert!(
        out.lines()
            .all(|l| l.contains("1 file, 0 skipped, 200.0 MB")),
        "{out}"
    );
    for remote in on_hosts(&fleet, &dir, "sha256sum /srv/big") {
        assert_eq!(remote.split(' ').next().unwrap(), sum);
    }
}

fn unreachable_hosts_and_remote_errors_have_their_own_status(ssh: &str) {
    let fleet = Fleet::start(1);
    let dir = Dir::new(&format!("rcp-fail-{ssh}"));
    dir.create("f", "f\n");
    let port = free_port();
    let (out, err) = dir
        .command("rcp")
        .arg(format!("--ssh={ssh}"))
        .arg("-F")
        .arg(fleet.config())
        .args([
            "-H",
            &format!("127.0.0.2,127.0.0.99:{port}"),
            "--json",
            "f",
            "/srv/",
        ])
        .expect_exit_text(3);
    assert!(err.contains("2 hosts: 1 ok, 1 unreachable"), "{err}");
    let records: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let ok = records.iter().find(|r| r["status"] == "ok").unwrap();
    assert_eq!(ok["copied"], 1);
    assert_eq!(ok["files"][0]["path"], "/srv/f");
    assert_eq!(ok["files"][0]["action"], "copied");
    assert_eq!(ok["files"][0]["bytes"], 2);
    // A login refused is auth, on either transport.
    let (_, err) = dir
        .command("rcp")
        .arg(format!("--ssh={ssh}"))
        .arg("-F")
        .arg(fleet.config())
        .args(["-H", "nosuchuser@127.0.0.2", "f", "/srv/"])
        .expect_exit_text(3);
    assert!(err.contains("1 host: 1 auth"), "{err}");
    // A directory the login cannot write: that host's file fails, named.
    let (_, err) = rcp(&fleet, &dir, ssh)
        .args(["f", "/root/"])
        .expect_exit_text(1);
    assert!(err.contains(": failed: /root/f: "), "{err}");
    assert!(err.contains("permission denied"), "{err}");
    // Usage errors.
    let (_, err) = rcp(&fleet, &dir, ssh).args(["f"]).expect_exit_text(2);
    assert!(err.contains("give sources and a destination"), "{err}");
    let (_, err) = rcp(&fleet, &dir, ssh)
        .args(["missing", "/srv/"])
        .expect_exit_text(2);
    assert!(err.contains("missing: No such file or directory"), "{err}");
}

fn owner_without_root_on_the_host_says_so(ssh: &str) {
    let fleet = Fleet::start(1);
    let dir = Dir::new(&format!("rcp-owner-{ssh}"));
    dir.create("f", "f\n");
    // The tests run as root: a root-owned file cannot be given to root by
    // the fleet's login.
    let (_, err) = rcp(&fleet, &dir, ssh)
        .args(["--preserve", "--owner", "f", "/srv/f"])
        .expect_exit_text(1);
    assert!(err.contains("--owner needs root on the host"), "{err}");
    assert_eq!(on_hosts(&fleet, &dir, "ls -A /srv"), vec!["".to_string()]);
}

fn a_terminal_sees_the_bytes_move(ssh: &str) {
    let fleet = Fleet::start(2);
    let dir = Dir::new(&format!("rcp-progress-{ssh}"));
    zeros(&dir.join("f"), 30_000_000);
    // stderr on a pseudo-terminal (script), stdout to a file.
    let command = format!(
        "{} --ssh={ssh} -F {} --hosts {} f /srv/f > out",
        util::binary("rcp").display(),
        fleet.config().display(),
        fleet.hosts_file().display()
    );
    let seen = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(seen.status.success(), "{seen:?}");
    let tty = String::from_utf8_lossy(&seen.stdout);
    assert!(tty.contains("of 60.0 MB ("), "{tty}");
    assert!(tty.contains("MB/s"), "{tty}");
    assert!(tty.contains("2 hosts: \x1b[32m2 ok\x1b[0m"), "{tty}");
    let out = std::fs::read_to_string(dir.join("out")).unwrap();
    assert_eq!(out.lines().count(), 2, "{out}");
}

#[test]
fn the_openssh_transport_reads_ssh_config_as_ssh_does() {
    // Include with a glob, Match, a token and ProxyCommand: ssh itself
    // reads them, and rcp passes nothing the config could have said.
    let fleet = Fleet::start(1);
    let dir = Dir::new("rcp-config");
    dir.create("f", "f\n");
    let marker = dir.join("proxied");
    dir.create(
        "conf.d/db.conf",
        format!(
            "Host db1\n  HostName {addr}\n  ProxyCommand sh -c 'touch {marker}; exec ssh -F {base} -W %h:%p {addr}'\n",
            addr = fleet.addrs[0],
            marker = marker.display(),
            base = fleet.config().display()
        ),
    );
    let config = dir.create(
        "config",
        format!(
            "Include {}/conf.d/*.conf\nMatch originalhost db1\n  User fleet\n  Port {}\n  IdentityFile {}\n               IdentitiesOnly yes\n  UserKnownHostsFile {}\n",
            dir.path().display(),
            fleet.port,
            util::fleet::keys().client_key.display(),
            fleet.known_hosts().display()
        ),
    );
    let (out, err) = dir
        .command("rcp")
        .arg("--ssh=openssh")
        .arg("-F")
        .arg(&config)
        .args(["-H", "db1", "f", "/srv/through-proxy"])
        .expect_exit_text(0);
    assert!(out.contains("db1: 1 file"), "{out}{err}");
    assert!(marker.exists(), "the ProxyCommand was not used");
    assert_eq!(
        on_hosts(&fleet, &dir, "cat /srv/through-proxy"),
        vec!["f\n"]
    );
}

fn large_downloads_and_checksums_of_many_long_names(ssh: &str) {
    let fleet = Fleet::start(1);
    let dir = Dir::new(&format!("rcp-getbig-{ssh}"));
    // A file far larger than one SFTP reply, and 500 files whose names
    // make a command line far longer than a channel request may be.
    let long = "n".repeat(200);
    on_hosts(
        &fleet,
        &dir,
        &format!(
            "mkdir -p /srv/g && head -c 3000000 /dev/urandom > /srv/g/big && \
             for i in $(seq 1 500); do echo $i > /srv/g/${{i}}{long}; done"
        ),
    );
    let remote = on_hosts(&fleet, &dir, "sha256sum < /srv/g/big")[0].clone();
    rcp(&fleet, &dir, ssh)
        .args(["--get", "-r", "/srv/g", "got"])
        .expect_exit(0);
    let big = dir.join("got").join(&fleet.addrs[0]).join("g/big");
    assert_eq!(format!("{}  -\n", sha256(&big)), remote);
    // Again with --checksum: every file is found the same, in one command.
    let (out, _) = rcp(&fleet, &dir, ssh)
        .args(["--get", "-r", "--checksum", "/srv/g", "got"])
        .expect_exit_text(0);
    assert!(out.contains(": 0 files, 501 skipped"), "{out}");
    // And the other way.
    let (out, _) = rcp(&fleet, &dir, ssh)
        .args(["-r", "--checksum"])
        .arg(dir.join("got").join(&fleet.addrs[0]).join("g"))
        .arg("/srv/")
        .expect_exit_text(0);
    assert!(out.contains(": 0 files, 501 skipped"), "{out}");
}

fn a_symlinked_directory_on_the_host_is_never_written_through(ssh: &str) {
    let fleet = Fleet::start(1);
    let dir = Dir::new(&format!("rcp-dirlink-{ssh}"));
    on_hosts(
        &fleet,
        &dir,
        "mkdir -p /srv/victim /srv/tr && ln -s /srv/victim /srv/tr/sub",
    );
    dir.create("tr/sub/f", "f\n");
    dir.create("tr/sub/deeper/g", "g\n");
    dir.create("tr/top", "top\n");
    let (_, err) = rcp(&fleet, &dir, ssh)
        .args(["-r", "tr", "/srv/"])
        .expect_exit_text(1);
    assert!(err.contains("/srv/tr/sub: is a symlink"), "{err}");
    assert_eq!(
        on_hosts(&fleet, &dir, "ls -A /srv/victim; cat /srv/tr/top"),
        vec!["top\n".to_string()]
    );
}

fn a_replaced_file_keeps_its_mode_and_a_changing_source_is_refused(ssh: &str) {
    let fleet = Fleet::start(1);
    let dir = Dir::new(&format!("rcp-mode-{ssh}"));
    on_hosts(
        &fleet,
        &dir,
        "echo old > /srv/secret && chmod 600 /srv/secret",
    );
    dir.create("secret", "new\n");
    rcp(&fleet, &dir, ssh)
        .args(["secret", "/srv/secret"])
        .expect_exit(0);
    assert_eq!(
        on_hosts(&fleet, &dir, "stat -c %a /srv/secret; cat /srv/secret"),
        vec!["600\nnew\n".to_string()]
    );
    // A source written to while it is sent: the old file stays.
    let big = dir.join("big");
    zeros(&big, 300_000_000);
    on_hosts(&fleet, &dir, "echo old > /srv/big");
    let mut child = Command::new(util::binary("rcp"))
        .arg(format!("--ssh={ssh}"))
        .arg("-F")
        .arg(fleet.config())
        .args(["-H", &fleet.addrs[0], "big", "/srv/big"])
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_temp(&fleet, &dir);
    std::fs::OpenOptions::new()
        .write(true)
        .open(&big)
        .and_then(|mut f| std::io::Write::write_all(&mut f, b"changed"))
        .unwrap();
    let status = child.wait().unwrap();
    let err = util::read_stderr(&mut child);
    assert_eq!(status.code(), Some(1), "{err}");
    assert!(err.contains("changed while it was being copied"), "{err}");
    assert_eq!(
        on_hosts(&fleet, &dir, "cat /srv/big; ls -A /srv"),
        vec!["old\nbig\nsecret\n".to_string()]
    );
}

fn a_deadline_mid_file_leaves_no_temporary(ssh: &str) {
    let fleet = Fleet::start(1);
    let dir = Dir::new(&format!("rcp-deadline-{ssh}"));
    zeros(&dir.join("big"), 300_000_000);
    on_hosts(&fleet, &dir, "echo old > /srv/big");
    let (_, err) = rcp(&fleet, &dir, ssh)
        .args(["-t", "0.3", "big", "/srv/big"])
        .expect_exit_text(3);
    assert!(err.contains("1 host: 1 timeout"), "{err}");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        on_hosts(&fleet, &dir, "cat /srv/big; ls -A /srv"),
        vec!["old\nbig\n".to_string()]
    );
}

/// Waits until an rcp temporary file is on the (first) host.
fn wait_for_temp(fleet: &Fleet, dir: &Dir) {
    let until = Instant::now() + Duration::from_secs(20);
    loop {
        let n = on_hosts(fleet, dir, "ls -a /srv | grep -c rcp- || true");
        if n[0].trim() == "1" {
            return;
        }
        assert!(Instant::now() < until, "the copy never started");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn killed_outright_it_leaves_no_ssh_running() {
    // kill -9 gives rcp no chance to end its ssh processes: the kernel
    // does (PR_SET_PDEATHSIG).
    let fleet = Fleet::start(1);
    let dir = Dir::new("rcp-kill9");
    zeros(&dir.join("big"), 300_000_000);
    let mut child = Command::new(util::binary("rcp"))
        .arg("--ssh=openssh")
        .arg("-F")
        .arg(fleet.config())
        .args(["-H", &fleet.addrs[0], "big", "/srv/big"])
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for_temp(&fleet, &dir);
    child.kill().unwrap();
    child.wait().unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let left = Command::new("pgrep")
        .args(["-f", &fleet.config().display().to_string()])
        .output()
        .unwrap();
    assert!(
        left.stdout.is_empty(),
        "ssh processes left: {}",
        String::from_utf8_lossy(&left.stdout)
    );
}

#[test]
fn the_openssh_transport_gives_up_on_a_silent_server_as_unreachable() {
    let dir = Dir::new("rcp-silent");
    dir.create("f", "f\n");
    let port = util::servers::start(util::servers::Misbehaviour::Silent);
    let started = Instant::now();
    let (_, err) = dir
        .command("rcp")
        .args(["--ssh=openssh", "--connect-timeout", "1", "--retry", "1"])
        .args([
            "--host-key",
            "off",
            "-H",
            &format!("127.0.0.1:{port}"),
            "f",
            "/tmp/",
        ])
        .expect_exit_text(3);
    assert!(err.contains("1 host: 1 unreachable"), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn usage_errors_of_the_transports_and_downloads() {
    let dir = Dir::new("rcp-usage");
    let (_, err) = dir
        .command("rcp")
        .args(["-H", "127.0.0.2", "--get", "/a/x", "/b/x", "dl"])
        .expect_exit_text(2);
    assert!(err.contains("two sources are named x"), "{err}");
    dir.create("f", "f");
    let (_, err) = dir
        .command("rcp")
        .args(["--ssh=openssh", "-A", "-H", "127.0.0.2", "f", "/tmp/"])
        .expect_exit_text(2);
    assert!(
        err.contains("-A (ask for a password) needs --ssh=native"),
        "{err}"
    );
}

/// Starts an upload of a 300 MB file over an old one, lets it run, cuts
/// it with `cut`, and checks the old file is whole and no temporary is left.
fn cut_off_mid_file(
    name: &str,
    ssh: &str,
    cut: impl Fn(&std::process::Child, &Fleet),
) -> (i32, String) {
    let fleet = Fleet::start(1);
    let dir = Dir::new(&format!("{name}-{ssh}"));
    dir.create("big", "");
    zeros(&dir.join("big"), 300_000_000);
    on_hosts(&fleet, &dir, "echo old > /srv/big");
    let mut child = Command::new(util::binary("rcp"))
        .arg(format!("--ssh={ssh}"))
        .arg("-F")
        .arg(fleet.config())
        .arg("--hosts")
        .arg(fleet.hosts_file())
        .args(["big", "/srv/big"])
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the temporary file is growing on the host.
    let until = Instant::now() + Duration::from_secs(20);
    loop {
        let sizes = on_hosts(&fleet, &dir, "ls -a /srv | grep -c rcp- || true");
        if sizes[0].trim() == "1" {
            break;
        }
        assert!(Instant::now() < until, "the copy never started");
        std::thread::sleep(Duration::from_millis(50));
    }
    cut(&child, &fleet);
    let status = child.wait().unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let after = on_hosts(&fleet, &dir, "cat /srv/big; ls -a /srv").concat();
    (status.code().unwrap_or(-1), format!("{after}|{err}"))
}

fn ctrl_c_mid_file_leaves_the_old_file_and_no_temporary(ssh: &str) {
    let (code, seen) = cut_off_mid_file("rcp-ctrl-c", ssh, |child, _| {
        Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status()
            .unwrap();
    });
    assert_eq!(code, 130, "{seen}");
    let (host, err) = seen.split_once('|').unwrap();
    assert_eq!(host, "old\n.\n..\nbig\n", "{err}");
    assert!(err.contains("1 host: 1 interrupted"), "{err}");
}

fn a_connection_cut_mid_file_leaves_the_old_file(ssh: &str) {
    // Kill the sshd process serving the transfer (sftp runs in it).
    let (code, seen) = cut_off_mid_file("rcp-cut", ssh, |_, fleet| fleet.kill_sessions());
    assert_eq!(code, 3, "{seen}");
    let (host, err) = seen.split_once('|').unwrap();
    // The old file is whole; the temporary could not be removed (the
    // connection was gone), but it is not the file.
    assert!(host.starts_with("old\n"), "{host}");
    assert!(err.contains("lost"), "{err}");
}

fn symlinks_on_either_side_are_replaced_never_followed(ssh: &str) {
    let fleet = Fleet::start(1);
    let dir = Dir::new(&format!("rcp-links-{ssh}"));
    let outside = dir.join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    // A host sends `evil` as a symlink to a local directory, then as a
    // directory: the second must not write through the first.
    on_hosts(
        &fleet,
        &dir,
        &format!(
            "mkdir -p /srv/ga /srv/gb/evil && ln -sfn {} /srv/ga/evil && echo x > /srv/gb/evil/pwn",
            outside.display()
        ),
    );
    rcp(&fleet, &dir, ssh)
        .args(["--get", "-r", "/srv/ga/evil", "dl"])
        .expect_exit(0);
    rcp(&fleet, &dir, ssh)
        .args(["--get", "-r", "/srv/gb/evil", "dl"])
        .expect_exit(0);
    assert!(!outside.join("pwn").exists(), "wrote through a symlink");
    let got = dir.join("dl").join(&fleet.addrs[0]).join("evil/pwn");
    assert_eq!(std::fs::read_to_string(got).unwrap(), "x\n");
    // On the host, a symlink to a directory where a file goes is replaced
    // by the file; nothing lands in the directory it pointed to.
    on_hosts(
        &fleet,
        &dir,
        "mkdir -p /srv/t2 /srv/victim && ln -sfn /srv/victim /srv/t2/f",
    );
    dir.create("t2/f", "data\n");
    rcp(&fleet, &dir, ssh)
        .args(["-r", "t2", "/srv/"])
        .expect_exit(0);
    let seen = on_hosts(&fleet, &dir, "cat /srv/t2/f; ls -A /srv/victim");
    assert_eq!(seen[0], "data\n");
}
