//! rrun attacked as users and hosts will: servers that never speak or
//! speak garbage for ever, readers that stop reading or go away, closed
//! and full standard output, signals mid-run, planted links and bad output
//! paths, connections cut mid-command, lines and outputs far larger than
//! any buffer. Each against the built binary and real sshd on loopback.

mod util;

use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use util::Dir;
use util::fleet::Fleet;
use util::servers::{self, Misbehaviour};

fn kill(pid: u32, sig: &str) {
    Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .status()
        .unwrap();
}

/// A directory any user (the fleet's login) can write markers into.
fn open_dir(name: &str) -> Dir {
    let dir = Dir::new(name);
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    dir
}

/// `rrun ARGS` against the fleet, stdout and stderr piped, not waited for.
fn spawn(fleet: &Fleet, dir: &Dir, args: &[&str]) -> Child {
    Command::new(util::binary("rrun"))
        .arg("-F")
        .arg(fleet.config())
        .arg("--hosts")
        .arg(fleet.hosts_file())
        .args(args)
        .current_dir(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn servers_that_never_send_a_banner_fail_within_the_connect_timeout() {
    let dir = Dir::new("hostile-banner");
    let ports: Vec<u16> = [
        Misbehaviour::Silent,
        Misbehaviour::EndlessNoNewline,
        Misbehaviour::EndlessLines,
        Misbehaviour::Trickle,
        Misbehaviour::CloseAfterBanner,
        Misbehaviour::BannerThenGarbage,
    ]
    .into_iter()
    .map(servers::start)
    .collect();
    let hosts: Vec<String> = ports.iter().map(|p| format!("127.0.0.1:{p}")).collect();
    let started = Instant::now();
    let (out, err) = dir
        .command("rrun")
        .args(["--connect-timeout", "2", "-t", "60", "-H"])
        .arg(hosts.join(","))
        .arg("true")
        .expect_exit_text(3);
    assert!(started.elapsed() < Duration::from_secs(6), "{err}");
    assert_eq!(out, "");
    let line = |port: u16| {
        err.lines()
            .find(|l| l.starts_with(&format!("rrun: 127.0.0.1:{port}: unreachable: ")))
            .unwrap_or_else(|| panic!("no line for {port}: {err}"))
            .to_string()
    };
    assert!(line(ports[0]).ends_with("timed out after 2s during the SSH banner"));
    assert!(line(ports[1]).contains("not an SSH server"), "{err}");
    assert!(line(ports[2]).contains("not an SSH server"), "{err}");
    assert!(line(ports[3]).contains("during the SSH banner"), "{err}");
    assert!(
        line(ports[4]).contains("closed the connection during the SSH handshake"),
        "{err}"
    );
    line(ports[5]);
    assert!(err.contains("6 hosts: 6 unreachable"), "{err}");
}

#[test]
fn a_signal_ends_hosts_still_connecting_at_once() {
    let dir = Dir::new("hostile-connecting");
    let silent = servers::start(Misbehaviour::Silent);
    let garbage = servers::start(Misbehaviour::EndlessLines);
    let trickle = servers::start(Misbehaviour::Trickle);
    for (sig, code) in [("INT", 130), ("TERM", 143), ("HUP", 129)] {
        let mut child = Command::new(util::binary("rrun"))
            .args(["--connect-timeout", "30", "--retry", "3", "--failed", "f"])
            .args(["--log", "log", "-H"])
            // A silent server, one that trickles, one that floods.
            .arg(format!(
                "127.0.0.1:{silent},127.0.0.1:{trickle},127.0.0.1:{garbage}"
            ))
            .arg("true")
            .current_dir(dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(500));
        let sent = Instant::now();
        kill(child.id(), sig);
        let status = child.wait().unwrap();
        assert!(
            sent.elapsed() < Duration::from_secs(3),
            "SIG{sig} took {:?}",
            sent.elapsed()
        );
        let err = util::read_stderr(&mut child);
        assert_eq!(status.code(), Some(code), "SIG{sig}: {err}");
        assert!(err.contains("3 hosts: "), "{err}");
        assert!(err.contains("interrupted"), "{err}");
        assert_eq!(
            util::line_count(dir.join("f")),
            3,
            "every unfinished host listed"
        );
    }
    assert_eq!(
        util::line_count(dir.join("log")),
        9,
        "a log line per host and run"
    );
}

#[test]
fn term_and_hup_mid_command_write_the_summary_failed_and_log() {
    let fleet = Fleet::start(3);
    let dir = Dir::new("hostile-term");
    // Output files from an earlier, complete run.
    for addr in &fleet.addrs {
        dir.create(&format!("out/{addr}"), "old\n");
    }
    for (sig, code) in [("TERM", 143), ("HUP", 129)] {
        let mut child = spawn(
            &fleet,
            &dir,
            // -t: on a pty, so ending the session hangs the command up.
            &[
                "-t",
                "60",
                "--failed",
                "f",
                "--log",
                "log",
                "-o",
                "out",
                "echo up; sleep 7.5",
            ],
        );
        let mut first = [0u8; 8];
        child
            .stdout
            .as_mut()
            .unwrap()
            .read_exact(&mut first)
            .unwrap();
        std::thread::sleep(Duration::from_millis(300));
        let sent = Instant::now();
        kill(child.id(), sig);
        let status = child.wait().unwrap();
        assert!(sent.elapsed() < Duration::from_secs(3));
        let err = util::read_stderr(&mut child);
        assert_eq!(status.code(), Some(code), "{err}");
        assert!(err.contains("3 hosts: 3 interrupted"), "{err}");
        assert_eq!(util::line_count(dir.join("f")), 3);
        // What each host printed before the signal is kept beside the
        // complete output of the earlier run, never over it.
        for addr in &fleet.addrs {
            let out = dir.join("out");
            assert_eq!(std::fs::read_to_string(out.join(addr)).unwrap(), "old\n");
            let partial = out.join(format!("{addr}.partial"));
            assert_eq!(std::fs::read_to_string(partial).unwrap(), "up\n");
        }
    }
    assert_eq!(util::line_count(dir.join("log")), 6);
    // The remote commands were ended with the sessions.
    std::thread::sleep(Duration::from_millis(500));
    let left = Command::new("pgrep")
        .args(["-f", "sleep 7.5"])
        .output()
        .unwrap();
    assert!(left.stdout.is_empty(), "remote commands left running");
}

#[test]
fn a_closed_stdout_changes_nothing_that_runs() {
    let fleet = Fleet::start(2);
    let dir = Dir::new("hostile-head");
    // As `rrun … | head -c 16`: the reader takes 16 bytes and goes away.
    let mut child = spawn(
        &fleet,
        &dir,
        &[
            "--failed",
            "f",
            "--log",
            "log",
            "-o",
            "out",
            "seq 200000; exit 4",
        ],
    );
    let mut first = [0u8; 16];
    child
        .stdout
        .as_mut()
        .unwrap()
        .read_exact(&mut first)
        .unwrap();
    drop(child.stdout.take());
    let status = child.wait().unwrap();
    let err = util::read_stderr(&mut child);
    // Every host ran to its end: exit 1 (the commands failed), as usual.
    assert_eq!(status.code(), Some(1), "{err}");
    assert!(err.contains("2 hosts: 2 failed"), "{err}");
    assert_eq!(util::line_count(dir.join("f")), 2);
    assert_eq!(util::line_count(dir.join("log")), 2);
    let whole: String = (1..=200_000).map(|n| format!("{n}\n")).collect();
    for addr in &fleet.addrs {
        assert_eq!(
            std::fs::read_to_string(dir.join("out").join(addr)).unwrap(),
            whole
        );
    }
}

#[test]
fn a_closed_or_full_stdout_is_an_error() {
    let fleet = Fleet::start(1);
    let dir = open_dir("hostile-stdout");
    let marker = dir.join("ran");
    let rrun = util::binary("rrun");
    // Closed before the start: nothing runs.
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "exec '{}' -F '{}' --hosts '{}' touch '{}' >&-",
            rrun.display(),
            fleet.config().display(),
            fleet.hosts_file().display(),
            marker.display()
        ))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("standard output is closed"));
    assert!(!marker.exists());
    // A full disk: the run completes (the log says so), exit 2.
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "exec '{}' -F '{}' --hosts '{}' --log '{}' seq 100000 >/dev/full",
            rrun.display(),
            fleet.config().display(),
            fleet.hosts_file().display(),
            dir.join("log").display()
        ))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("writing standard output: No space left on device"),
        "{err}"
    );
    assert!(err.contains("1 host: 1 ok"), "{err}");
    assert_eq!(util::line_count(dir.join("log")), 1);
}

#[test]
fn output_paths_are_checked_before_anything_runs() {
    let fleet = Fleet::start(1);
    let dir = open_dir("hostile-paths");
    let marker = dir.join("ran");
    let touch = format!("touch {}", marker.display());
    for (o, e) in [("x", "x"), ("y", "./y"), ("z", "z/")] {
        let (_, err) = fleet
            .rrun(&dir)
            .args(["-o", o, "-e", e, &touch])
            .expect_exit_text(2);
        assert!(err.contains("-o and -e name the same directory"), "{err}");
    }
    let (_, err) = fleet
        .rrun(&dir)
        .args(["-g", "--inline", &touch])
        .expect_exit_text(2);
    assert!(
        err.contains("--inline: cannot be used with --gather"),
        "{err}"
    );
    let (_, err) = fleet
        .rrun(&dir)
        .args(["--failed", "/nonexistent/dir/f", &touch])
        .expect_exit_text(2);
    assert!(
        err.starts_with("rrun: --failed: /nonexistent/dir/f: "),
        "{err}"
    );
    dir.create("file", "");
    let (_, err) = fleet
        .rrun(&dir)
        .args(["-o", "file/sub", &touch])
        .expect_exit_text(2);
    assert!(
        err.starts_with("rrun: -o: file/sub: cannot create directory"),
        "{err}"
    );
    assert!(!marker.exists(), "nothing may run after a usage error");
}

#[test]
fn output_files_never_follow_links_and_one_bad_file_fails_only_its_host() {
    let fleet = Fleet::start(3);
    let dir = Dir::new("hostile-links");
    let victim = dir.create("victim", "precious\n");
    std::fs::create_dir_all(dir.join("out")).unwrap();
    let [a, b, c] = [&fleet.addrs[0], &fleet.addrs[1], &fleet.addrs[2]];
    // A link planted at one host's name, a directory at another's.
    std::os::unix::fs::symlink(&victim, dir.join("out").join(a)).unwrap();
    std::fs::create_dir_all(dir.join("out").join(b).join("full")).unwrap();
    let (out, err) = fleet
        .rrun(&dir)
        .args(["-o", "out", "--failed", "f", "hostname"])
        .expect_exit_text(2);
    assert_eq!(out.lines().count(), 3, "every host ran: {err}");
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n");
    let written = dir.join("out").join(a);
    assert!(!std::fs::symlink_metadata(&written).unwrap().is_symlink());
    assert_eq!(std::fs::read_to_string(&written).unwrap(), "host0\n");
    assert_eq!(
        std::fs::read_to_string(dir.join("out").join(c)).unwrap(),
        "host2\n"
    );
    assert!(
        err.contains(&format!("rrun: {b}: cannot write output file")),
        "{err}"
    );
    assert!(err.contains("3 hosts: 3 ok"), "{err}");
    let left: Vec<_> = std::fs::read_dir(dir.join("out"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(left.is_empty(), "temp files left: {left:?}");
}

#[test]
fn a_connection_lost_mid_command_is_lost_not_unreachable() {
    let fleet = Fleet::start(2);
    let dir = Dir::new("hostile-lost");
    let mut child = spawn(&fleet, &dir, &["--json", "echo up; sleep 6.25; echo late"]);
    std::thread::sleep(Duration::from_millis(1500));
    // Kill the sshd session process serving one host's command.
    let pids = Command::new("pgrep")
        .args(["-f", "^sleep 6.25"])
        .output()
        .unwrap();
    let pid = String::from_utf8(pids.stdout).unwrap();
    let pid = pid
        .lines()
        .next()
        .expect("the remote command runs")
        .to_string();
    // Up from the command to the sshd process that serves its session.
    let mut pid: u32 = pid.parse().unwrap();
    loop {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
        pid = stat
            .rsplit(") ")
            .next()
            .unwrap()
            .split(' ')
            .nth(1)
            .unwrap()
            .parse()
            .unwrap();
        let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap();
        if cmd.starts_with(b"sshd") {
            break;
        }
    }
    kill(pid, "KILL");
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(3));
    let statuses: Vec<String> = out
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["status"].as_str().unwrap().to_string()
        })
        .collect();
    assert!(statuses.contains(&"lost".to_string()), "{out}");
    assert!(statuses.contains(&"ok".to_string()), "{out}");
    assert!(out.contains("it may have run"), "{out}");
}

#[test]
fn lines_longer_than_the_limit_come_in_marked_pieces() {
    let fleet = Fleet::start(1);
    let dir = Dir::new("hostile-long-line");
    let out = fleet
        .rrun(&dir)
        .args(["head -c 2500000 /dev/zero | tr '\\0' a; echo; echo short"])
        .expect_exit(0)
        .stdout;
    let host = &fleet.addrs[0];
    let lines: Vec<&[u8]> = out
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(lines.len(), 4);
    let mib = 1024 * 1024;
    assert_eq!(
        lines[0],
        [format!("{host}: ").as_bytes(), &vec![b'a'; mib]].concat()
    );
    assert_eq!(
        lines[1],
        [format!("{host}+ ").as_bytes(), &vec![b'a'; mib]].concat()
    );
    let rest = 2_500_000 - 2 * mib;
    assert_eq!(
        lines[2],
        [format!("{host}+ ").as_bytes(), &vec![b'a'; rest]].concat()
    );
    assert_eq!(lines[3], format!("{host}: short").as_bytes());
}

#[test]
fn json_records_carry_a_bounded_head_of_the_output() {
    let fleet = Fleet::start(1);
    let dir = Dir::new("hostile-json-head");
    let (out, _) = fleet
        .rrun(&dir)
        .args(["--json", "-o", "o", "head -c 200000 /dev/zero | tr '\\0' b"])
        .expect_exit_text(0);
    let r: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(r["stdout"].as_str().unwrap().len(), 65536);
    assert_eq!(r["truncated"]["stdout"], 200_000 - 65536);
    assert_eq!(r["truncated"]["stderr"], 0);
    let file = std::fs::read(dir.join("o").join(&fleet.addrs[0])).unwrap();
    assert_eq!(file.len(), 200_000);
}

/// Runs `rrun ARGS` under GNU time behind a reader that waits `stall`
/// before reading everything; returns (peak RSS in KiB, bytes read, stderr).
fn peak_rss_behind_a_slow_reader(fleet: &Fleet, dir: &Dir, args: &[&str]) -> (u64, u64, String) {
    let rss = dir.join("rss");
    let mut child = Command::new("/usr/bin/time")
        .args(["-f", "%M", "-o"])
        .arg(&rss)
        .arg(util::binary("rrun"))
        .arg("-F")
        .arg(fleet.config())
        .arg("--hosts")
        .arg(fleet.hosts_file())
        .args(args)
        .current_dir(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let err = child.stderr.take().unwrap();
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let mut err = err;
        let _ = err.read_to_string(&mut s);
        s
    });
    std::thread::sleep(Duration::from_secs(2));
    let read = std::io::copy(&mut stdout, &mut std::io::sink()).unwrap();
    let status = child.wait().unwrap();
    let err = err.join().unwrap();
    assert_eq!(status.code(), Some(0), "{err}");
    let kib = std::fs::read_to_string(&rss)
        .unwrap()
        .lines()
        .last()
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    (kib, read, err)
}

/// The documented bound on rrun's memory in these runs (see rrun(1)).
const BOUND_KIB: u64 = 32 * 1024;

#[test]
fn memory_stays_bounded_behind_a_slow_reader_whatever_hosts_print() {
    let fleet = Fleet::start(2);
    let dir = Dir::new("hostile-rss");
    // 10x the bound in all, from two hosts, in each mode.
    let each = 10 * BOUND_KIB * 1024 / 2;
    let lines = format!("yes line | head -c {each}");
    let base64 = format!("head -c {} /dev/zero | base64", each / 4 * 3);
    let one_line = format!("head -c {each} /dev/zero | tr '\\0' x");
    for (mode, command) in [
        (vec![], base64.as_str()),
        (vec![], one_line.as_str()),
        (vec!["-o", "out"], one_line.as_str()),
        (vec!["-g"], base64.as_str()),
        (vec!["--inline"], lines.as_str()),
        (vec!["--json", "-o", "out", "-e", "err"], base64.as_str()),
    ] {
        let mut args = mode.clone();
        args.push(command);
        let (kib, read, err) = peak_rss_behind_a_slow_reader(&fleet, &dir, &args);
        assert!(err.contains("2 hosts: 2 ok"), "{mode:?}: {err}");
        assert!(
            kib < BOUND_KIB,
            "{mode:?} {command}: peak RSS {kib} KiB, bound {BOUND_KIB}"
        );
        if mode.is_empty() || mode[0] == "-o" || mode[0] == "--inline" {
            assert!(read >= 2 * each, "{mode:?}: read {read}");
        }
    }
    // -o files hold everything, byte for byte.
    let meta = std::fs::metadata(dir.join("out").join(&fleet.addrs[0])).unwrap();
    let local = Command::new("sh")
        .args(["-c", &format!("{base64} | wc -c")])
        .output()
        .unwrap();
    let expected: u64 = String::from_utf8(local.stdout)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(meta.len(), expected);
}

#[test]
fn a_signal_ends_the_run_even_when_stderr_is_not_read() {
    let fleet = Fleet::start(2);
    let dir = Dir::new("hostile-stderr-blocked");
    // As `rrun … 2>&1 | less` with nobody paging: stderr is never read.
    let mut child = Command::new(util::binary("rrun"))
        .arg("-F")
        .arg(fleet.config())
        .arg("--hosts")
        .arg(fleet.hosts_file())
        .args([
            "--failed",
            "f",
            "--log",
            "log",
            "head -c 100000000 /dev/zero | base64 >&2",
        ])
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(2));
    let sent = Instant::now();
    kill(child.id(), "INT");
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(sent.elapsed() < Duration::from_secs(4), "still running");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(130));
    assert_eq!(util::line_count(dir.join("f")), 2);
    assert_eq!(util::line_count(dir.join("log")), 2);
}

#[test]
fn a_full_temporary_directory_is_an_error_not_lost_output() {
    let fleet = Fleet::start(1);
    let dir = Dir::new("hostile-tmpdir");
    let small = dir.join("small");
    std::fs::create_dir_all(&small).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=1m", "tmpfs"])
        .arg(&small)
        .status()
        .unwrap();
    assert!(mounted.success());
    for mode in ["--inline", "-g"] {
        let (_, err) = fleet
            .rrun(&dir)
            .env("TMPDIR", &small)
            .args([mode, "head -c 3000000 /dev/zero | base64"])
            .expect_exit_text(2);
        assert!(err.contains("(its stdout spool): "), "{mode}: {err}");
        assert!(err.contains("the output shown is incomplete"), "{err}");
        assert!(err.contains("output files not written: "), "{err}");
    }
    Command::new("umount").arg(&small).status().unwrap();
}

#[test]
fn gathered_groups_come_in_a_stable_order() {
    let fleet = Fleet::start(3);
    let dir = Dir::new("hostile-gather-order");
    let (out, _) = fleet
        .rrun(&dir)
        .args(["-g", "[ $(hostname) = host0 ] && echo b || echo a"])
        .expect_exit_text(0);
    let a = out.find("\na\n").unwrap();
    let b = out.find("\nb\n").unwrap();
    assert!(a < b, "the larger group first: {out}");
    assert!(out.contains(&format!("{} (1)", fleet.addrs[0])), "{out}");
}
