//! End-to-end tests of rrun against real OpenSSH sshd "hosts" on loopback
//! (see util/fleet.rs): every output mode, the options, and each failure
//! class with its exit status.

mod util;

use std::io::Read;
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use util::Dir;
use util::fleet::{Fleet, PASSPHRASE, PASSWORD, PASSWORD_USER, free_port, keys};

/// Writes `dir/config`: an ssh_config reaching `fleet` as `user`, known
/// hosts kept in `dir/kh`, plus `extra` lines.
fn client_config(dir: &Dir, fleet: &Fleet, user: &str, extra: &str) {
    dir.create(
        "config",
        format!(
            "Host *\n  User {user}\n  Port {}\n  UserKnownHostsFile {}\n{extra}",
            fleet.port,
            dir.join("kh").display()
        ),
    );
}

/// A secret typed at a prompt was asked for once and never shown.
fn asked_once(screen: &str, prompt: &str, secret: &str) {
    assert_eq!(screen.matches(prompt).count(), 1, "{screen}");
    assert!(!screen.contains(secret), "the secret was echoed: {screen}");
}

fn sorted_lines(text: &str) -> Vec<String> {
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    lines.sort();
    lines
}

#[test]
fn streams_host_prefixed_whole_lines_to_stdout_and_stderr() {
    let fleet = Fleet::start(3);
    let dir = Dir::new("rrun-stream");
    let (out, err) = fleet
        .rrun(&dir)
        .args(["hostname;", "echo", "oops", ">&2;", "printf", "no-newline"])
        .expect_exit_text(0);
    assert_eq!(
        sorted_lines(&out),
        [
            "127.0.0.2: host0",
            "127.0.0.2: no-newline",
            "127.0.0.3: host1",
            "127.0.0.3: no-newline",
            "127.0.0.4: host2",
            "127.0.0.4: no-newline",
        ]
    );
    assert!(out.ends_with('\n'));
    let mut err_lines = sorted_lines(&err);
    assert_eq!(err_lines.pop().unwrap(), "3 hosts: 3 ok");
    assert_eq!(
        err_lines,
        ["127.0.0.2: oops", "127.0.0.3: oops", "127.0.0.4: oops"]
    );
}

#[test]
fn host_list_from_stdin_with_ranges_comments_and_duplicates() {
    let fleet = Fleet::start(3);
    let dir = Dir::new("rrun-stdin-list");
    let (out, err) = dir
        .command("rrun")
        .arg("-F")
        .arg(fleet.config())
        .arg("hostname")
        .stdin("# the fleet\n127.0.0.[2-3]\n\n127.0.0.2   # again\n")
        .expect_exit_text(0);
    assert_eq!(sorted_lines(&out), ["127.0.0.2: host0", "127.0.0.3: host1"]);
    assert_eq!(err, "2 hosts: 2 ok\n");
    // -H with ranges; the user and port in the entry win.
    let (out, _) = dir
        .command("rrun")
        .arg("-F")
        .arg(fleet.config())
        .arg("-H")
        .arg(format!("fleet@127.0.0.[3-4]:{}", fleet.port))
        .arg("whoami")
        .expect_exit_text(0);
    assert_eq!(
        sorted_lines(&out),
        [
            "127.0.0.3:PORT: fleet".replace("PORT", &fleet.port.to_string()),
            "127.0.0.4:PORT: fleet".replace("PORT", &fleet.port.to_string())
        ]
    );
}

#[test]
fn one_host_as_two_users_is_named_apart() {
    let fleet = Fleet::start(1);
    let dir = Dir::new("rrun-two-users");
    let (out, err) = dir
        .command("rrun")
        .arg("-F")
        .arg(fleet.config())
        .args([
            "-H",
            "fleet@127.0.0.2,ghost@127.0.0.2,127.0.0.3:1",
            "--connect-timeout",
            "2",
            "-o",
            "out",
            "whoami",
        ])
        .expect_exit_text(3);
    assert_eq!(out, "fleet@127.0.0.2: fleet\n");
    assert!(err.contains("rrun: ghost@127.0.0.2: auth: "), "{err}");
    assert!(err.contains("rrun: 127.0.0.3:1: unreachable: "), "{err}");
    assert_eq!(
        std::fs::read(dir.join("out/fleet@127.0.0.2")).unwrap(),
        b"fleet\n"
    );
    // A host never reached gets no output file.
    assert!(!dir.join("out/ghost@127.0.0.2").exists());
}

#[test]
fn a_malformed_host_list_names_the_line_and_runs_nothing() {
    let dir = Dir::new("rrun-bad-list");
    dir.create("hosts", "web01\nweb[3-\n");
    let (out, err) = dir
        .command("rrun")
        .args(["--hosts", "hosts", "touch", "/tmp/never"])
        .expect_exit_text(2);
    assert_eq!(out, "");
    assert_eq!(err, "rrun: hosts:2: 'web[3-': '[' without ']'\n");
    let (_, err) = dir
        .command("rrun")
        .args(["-H", "a,b:99999", "true"])
        .expect_exit_text(2);
    assert_eq!(
        err,
        "rrun: -H:1: 'b:99999': invalid port '99999': expected 1 to 65535\n"
    );
    let (_, err) = dir.command("rrun").args(["-H", "a"]).expect_exit_text(2);
    assert!(err.starts_with("rrun: no command given"), "{err}");
}

#[test]
fn inline_blocks_with_headers_and_exit_status_1() {
    let fleet = Fleet::start(2);
    let dir = Dir::new("rrun-inline");
    let (out, err) = fleet
        .rrun(&dir)
        .args([
            "--inline",
            "--",
            "echo",
            "hi;",
            "[",
            "$(hostname)",
            "=",
            "host0",
            "]",
            "||",
            "exit",
            "2",
        ])
        .expect_exit_text(1);
    let blocks: Vec<&str> = out.split_inclusive("hi\n").collect();
    assert_eq!(blocks.len(), 2, "{out}");
    let mut headers: Vec<String> = out
        .lines()
        .filter(|l| l.starts_with('['))
        .map(|l| {
            // [1/2] 127.0.0.2 OK 0.1s → drop the duration
            let mut words: Vec<&str> = l.split(' ').collect();
            words.pop();
            words[1..].join(" ")
        })
        .collect();
    headers.sort();
    assert_eq!(headers, ["127.0.0.2 OK", "127.0.0.3 FAILED exit=2"]);
    assert!(
        out.lines().any(|l| l.starts_with("[1/2] "))
            && out.lines().any(|l| l.starts_with("[2/2] "))
    );
    assert_eq!(err, "2 hosts: 1 ok, 1 failed\n  failed exit=2: 127.0.0.3\n");
}

#[test]
fn gather_groups_identical_output_under_folded_names() {
    let fleet = Fleet::start(5);
    let dir = Dir::new("rrun-gather");
    let (out, _) = fleet
        .rrun(&dir)
        .args([
            "-g",
            "case",
            "$(hostname)",
            "in",
            "host3)",
            "echo",
            "odd;;",
            "*)",
            "echo",
            "same;;",
            "esac",
        ])
        .expect_exit_text(0);
    let block = |title: &str, body: &str| {
        let rule = "-".repeat(title.len());
        format!("{rule}\n{title}\n{rule}\n{body}\n")
    };
    assert!(out.contains(&block("127.0.0.[2-4,6] (4)", "same")), "{out}");
    assert!(out.contains(&block("127.0.0.5 (1)", "odd")), "{out}");
    assert_eq!(out.lines().count(), 8);
    // stderr is grouped apart from stdout, on stderr under its own
    // headers: one host's warning does not split the stdout group.
    let (out, err) = fleet
        .rrun(&dir)
        .args([
            "-g",
            "echo same; [ $(hostname) = host3 ] && echo warning >&2; true",
        ])
        .expect_exit_text(0);
    assert_eq!(out, block("127.0.0.[2-6] (5)", "same"));
    assert!(
        err.starts_with(&block("127.0.0.5 (1) stderr", "warning")),
        "{err}"
    );
    // --inline gives a stderr block its host's header on stderr.
    let (out, err) = dir
        .command("rrun")
        .arg("-F")
        .arg(fleet.config())
        .args(["--inline", "-H", "127.0.0.2", "echo out; echo err >&2"])
        .expect_exit_text(0);
    assert!(out.starts_with("[1/1] 127.0.0.2 OK "), "{out}");
    assert!(err.starts_with("[1/1] 127.0.0.2 OK "), "{err}");
    assert!(err.contains(" (stderr)\nerr\n"), "{err}");
}

#[test]
fn diff_shows_drift_against_the_most_common_output() {
    let fleet = Fleet::start(4);
    let dir = Dir::new("rrun-diff");
    let config = "printf 'listen 80;\\nworkers 4;\\nuser www;\\n' | \
                  sed \"s/workers 4/workers $(case $(hostname) in host2) echo 8;; *) echo 4;; esac)/\"";
    let (out, err) = fleet
        .rrun(&dir)
        .args(["--diff", config])
        .expect_exit_text(0);
    assert_eq!(
        out,
        "--- 127.0.0.[2-3,5] (3)\n+++ 127.0.0.4 (1)\n@@ -1,3 +1,3 @@\n listen 80;\n-workers 4;\n+workers 8;\n user www;\n",
        "{err}"
    );
    // All the same: nothing on stdout.
    let (out, _) = fleet
        .rrun(&dir)
        .args(["--diff", "echo same"])
        .expect_exit_text(0);
    assert_eq!(out, "");
    // Modes are one at a time, by name.
    let (_, err) = fleet
        .rrun(&dir)
        .args(["--diff", "-g", "true"])
        .expect_exit_text(2);
    assert!(err.contains("cannot be used with --diff"), "{err}");
    let (_, err) = fleet
        .rrun(&dir)
        .args(["--json", "--diff", "true"])
        .expect_exit_text(2);
    assert!(
        err.contains("--json and --diff cannot be used together"),
        "{err}"
    );
}

#[test]
fn json_records_one_per_host() {
    let fleet = Fleet::start(2);
    let dir = Dir::new("rrun-json");
    let (out, _) = fleet
        .rrun(&dir)
        .args(["--json", "echo", "out;", "echo", "err", ">&2;", "exit", "3"])
        .expect_exit_text(1);
    let records: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), 2);
    for r in &records {
        let keys: Vec<&str> = r.as_object().unwrap().keys().map(|k| k.as_str()).collect();
        assert_eq!(keys.len(), 13);
    }
    // Field order is fixed.
    for line in out.lines() {
        let at: Vec<usize> = [
            "host",
            "target",
            "user",
            "port",
            "status",
            "exit_code",
            "signal",
            "stdout",
            "stderr",
            "truncated",
            "error",
            "started",
            "duration_ms",
        ]
        .iter()
        .map(|k| line.find(&format!("\"{k}\":")).unwrap())
        .collect();
        assert!(at.windows(2).all(|w| w[0] < w[1]), "{line}");
    }
    for r in &records {
        assert_eq!(r["truncated"], serde_json::Value::Null);
        assert_eq!(r["user"], "fleet");
        assert_eq!(r["port"], fleet.port);
        assert_eq!(r["status"], "failed");
        assert_eq!(r["exit_code"], 3);
        assert_eq!(r["signal"], serde_json::Value::Null);
        assert_eq!(r["stdout"], "out\n");
        assert_eq!(r["stderr"], "err\n");
        assert!(r["started"].as_str().unwrap().ends_with('Z'));
        assert!(r["duration_ms"].as_u64().is_some());
    }
    // Field order is fixed.
    assert!(out.lines().all(|l| l.starts_with("{\"host\":\"127.0.0.")));
    // And jpretty reads it.
    let pretty = dir
        .command("jpretty")
        .args(["-c", "-S"])
        .stdin(&out)
        .stdout();
    assert_eq!(pretty.lines().count(), 2);
}

#[test]
fn outdir_and_errdir_hold_byte_exact_output() {
    let fleet = Fleet::start(2);
    let dir = Dir::new("rrun-outdir");
    fleet
        .rrun(&dir)
        .args([
            "-o",
            "out",
            "-e",
            "err",
            "printf",
            "'\\377\\376 raw\\000 bytes'",
            ";",
            "printf",
            "'e\\201'",
            ">&2",
        ])
        .expect_exit(0);
    for addr in &fleet.addrs {
        assert_eq!(
            std::fs::read(dir.join("out").join(addr)).unwrap(),
            b"\xff\xfe raw\x00 bytes"
        );
        assert_eq!(std::fs::read(dir.join("err").join(addr)).unwrap(), b"e\x81");
    }
    // No temporary files are left behind.
    assert_eq!(std::fs::read_dir(dir.join("out")).unwrap().count(), 2);
}

#[test]
fn five_megabytes_from_each_of_twenty_hosts_never_interleave() {
    let fleet = Fleet::start(20);
    let dir = Dir::new("rrun-big");
    let out = fleet
        .rrun(&dir)
        .args([
            "head",
            "-c",
            "5000000",
            "/dev/zero",
            "|",
            "tr",
            "'\\0'",
            "x",
            "|",
            "fold",
            "-w",
            "99",
        ])
        .expect_exit(0);
    let text = String::from_utf8(out.stdout).unwrap();
    let mut per_host = std::collections::HashMap::new();
    let line = "x".repeat(99);
    for l in text.lines() {
        let (host, rest) = l.split_once(": ").unwrap();
        assert!(
            rest == line || rest == "x".repeat(5_000_000 % 99),
            "interleaved: {l:.80}"
        );
        *per_host.entry(host.to_string()).or_insert(0) += 1;
    }
    assert_eq!(per_host.len(), 20);
    assert!(per_host.values().all(|&n| n == 5_000_000 / 99 + 1));
}

#[test]
fn stdin_is_broadcast_with_dash_capital_i() {
    let fleet = Fleet::start(3);
    let dir = Dir::new("rrun-broadcast");
    let input = "line one\nline two\n".repeat(1000);
    let (out, _) = fleet
        .rrun(&dir)
        .args(["-I", "-g", "sha1sum"])
        .stdin(&input)
        .expect_exit_text(0);
    let expected = Command::new("sha1sum")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(input.as_bytes())?;
            c.wait_with_output()
        });
    let expected = String::from_utf8(expected.unwrap().stdout).unwrap();
    assert!(out.contains("127.0.0.[2-4] (3)"), "{out}");
    assert!(out.ends_with(&expected), "{out}");
    let (_, err) = dir.command("rrun").args(["-I", "true"]).expect_exit_text(2);
    assert!(err.contains("give the hosts with -H or --hosts"), "{err}");
}

#[test]
fn a_local_script_runs_with_its_arguments() {
    let fleet = Fleet::start(2);
    let dir = Dir::new("rrun-script");
    dir.create(
        "probe.sh",
        "#!/bin/sh\necho \"args: $# [$1] [$2]\"\nhostname\n",
    );
    dir.create(
        "probe.py",
        "#!/usr/bin/env python3\nimport sys\nprint('py', sys.argv[1:])\n",
    );
    let (out, _) = fleet
        .rrun(&dir)
        .args(["--script", "probe.sh", "one two", "it's"])
        .expect_exit_text(0);
    assert_eq!(
        sorted_lines(&out),
        [
            "127.0.0.2: args: 2 [one two] [it's]",
            "127.0.0.2: host0",
            "127.0.0.3: args: 2 [one two] [it's]",
            "127.0.0.3: host1"
        ]
    );
    // With -t (a terminal), never an interactive shell: no prompt, no
    // echo, the same lines; on either transport.
    for ssh in ["--ssh=native", "--ssh=openssh"] {
        let (out, err) = fleet
            .rrun(&dir)
            .args([ssh, "-t", "20", "--script", "probe.sh", "one two", "it's"])
            .expect_exit_text(0);
        assert_eq!(
            sorted_lines(&out),
            [
                "127.0.0.2: args: 2 [one two] [it's]",
                "127.0.0.2: host0",
                "127.0.0.3: args: 2 [one two] [it's]",
                "127.0.0.3: host1"
            ],
            "{ssh}: {err}"
        );
    }
    // A script too long for a command line is refused with -t, before
    // anything runs.
    dir.create("big.sh", format!("#!/bin/sh\n#{}\n", "x".repeat(200_000)));
    let (_, err) = fleet
        .rrun(&dir)
        .args(["-t", "20", "--script", "big.sh"])
        .expect_exit_text(2);
    assert!(err.contains("holds at most 120 KiB"), "{err}");
    if std::path::Path::new("/usr/bin/python3").exists() {
        let (out, _) = fleet
            .rrun(&dir)
            .args(["-t", "20", "--script", "probe.py", "a"])
            .expect_exit_text(0);
        assert_eq!(
            sorted_lines(&out),
            ["127.0.0.2: py ['a']", "127.0.0.3: py ['a']"]
        );
        let (out, _) = fleet
            .rrun(&dir)
            .args(["--script", "probe.py", "a"])
            .expect_exit_text(0);
        assert_eq!(
            sorted_lines(&out),
            ["127.0.0.2: py ['a']", "127.0.0.3: py ['a']"]
        );
    }
}

#[test]
fn a_refused_port_is_unreachable_with_exit_3() {
    let fleet = Fleet::start(1);
    let dir = Dir::new("rrun-refused");
    let port = free_port();
    let (out, err) = dir
        .command("rrun")
        .arg("-F")
        .arg(fleet.config())
        .arg("-H")
        .arg(format!("127.0.0.2,127.0.0.99:{port}"))
        .arg("echo ran")
        .expect_exit_text(3);
    assert_eq!(out, "127.0.0.2: ran\n");
    assert!(
        err.contains(": unreachable: cannot connect to port "),
        "{err}"
    );
    assert!(
        err.ends_with(&format!(
            "2 hosts: 1 ok, 1 unreachable\n  unreachable: 127.0.0.99:{port}\n"
        )),
        "{err}"
    );
}

#[test]
fn a_silent_listener_fails_within_the_connect_timeout() {
    let dir = Dir::new("rrun-silent");
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    // Accept and never speak.
    let _keep = std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in listener.incoming() {
            held.push(s);
        }
    });
    let started = Instant::now();
    let (_, err) = dir
        .command("rrun")
        .args(["--connect-timeout", "1.5", "-H"])
        .arg(format!("127.0.0.1:{port}"))
        .arg("true")
        .expect_exit_text(3);
    let took = started.elapsed();
    assert!(took < Duration::from_secs(5), "took {took:?}");
    assert!(
        err.contains("unreachable: timed out after 1.5s during the SSH banner"),
        "{err}"
    );
}

#[test]
fn a_key_the_host_refuses_is_an_auth_failure() {
    let fleet = Fleet::start(1);
    let dir = Dir::new("rrun-auth");
    client_config(&dir, &fleet, "fleet", "  IdentitiesOnly yes\n");
    let (out, err) = dir
        .command("rrun")
        .args(["-F", "config", "-i"])
        .arg(&keys().wrong_key)
        .args(["-H", "127.0.0.2", "echo", "ran"])
        .expect_exit_text(3);
    assert_eq!(out, "");
    assert!(
        err.contains("127.0.0.2: auth: authentication as fleet failed (tried "),
        "{err}"
    );
    assert!(
        err.ends_with("1 host: 1 auth\n  auth: 127.0.0.2\n"),
        "{err}"
    );
    // The right key with -i works.
    let (out, _) = dir
        .command("rrun")
        .args(["-F", "config", "-i"])
        .arg(&keys().client_key)
        .args(["-H", "127.0.0.2", "echo", "ran"])
        .expect_exit_text(0);
    assert_eq!(out, "127.0.0.2: ran\n");
}

#[test]
fn host_keys_unknown_appended_strict_refused_changed_refused() {
    let fleet = Fleet::start(2);
    let dir = Dir::new("rrun-hostkeys");
    let known = fleet.known_hosts();
    std::fs::remove_file(&known).unwrap();
    // Strict with an empty known_hosts: refused, nothing recorded.
    let (_, err) = fleet
        .rrun(&dir)
        .args(["--host-key=strict", "true"])
        .expect_exit_text(3);
    assert!(err.contains("hostkey: host key of [127.0.0.2]:"), "{err}");
    assert!(
        err.contains("is not known and host keys are checked strictly"),
        "{err}"
    );
    assert!(!known.exists());
    // accept-new: appended, one line per host, [host]:port form, each
    // with ssh's notice.
    let (_, err) = fleet.rrun(&dir).arg("true").expect_exit_text(0);
    assert!(
        err.contains(&format!(
            "Warning: Permanently added '[127.0.0.2]:{}' (ED25519) to the list of known hosts.",
            fleet.port
        )),
        "{err}"
    );
    let text = std::fs::read_to_string(&known).unwrap();
    let mut lines = sorted_lines(&text);
    lines
        .iter_mut()
        .for_each(|l| *l = l.split(' ').take(2).collect::<Vec<_>>().join(" "));
    assert_eq!(
        lines,
        [
            format!("[127.0.0.2]:{} ssh-ed25519", fleet.port),
            format!("[127.0.0.3]:{} ssh-ed25519", fleet.port)
        ]
    );
    // Strict now passes.
    fleet
        .rrun(&dir)
        .args(["--host-key", "strict", "true"])
        .expect_exit(0);
    // A host whose key changed: refused, naming the file and line; not run.
    drop(fleet);
    let _ = &dir;
    let changed = Fleet::start_with(2, &keys().other_host_key);
    std::fs::write(
        changed.known_hosts(),
        text.replace(
            &format!(
                "]:{} ",
                text.split("]:").nth(1).unwrap().split(' ').next().unwrap()
            ),
            &format!("]:{} ", changed.port),
        ),
    )
    .unwrap();
    let marker = dir.join("ran");
    let (out, err) = changed
        .rrun(&dir)
        .arg(format!("touch {}; echo ran", marker.display()))
        .expect_exit_text(3);
    assert_eq!(out, "");
    assert!(!marker.exists());
    let kh = changed.known_hosts().display().to_string();
    assert!(err.contains("has CHANGED: "), "{err}");
    assert!(err.contains("knows ED25519 SHA256:"), "{err}");
    assert!(err.contains("the host now shows ED25519 SHA256:"), "{err}");
    assert!(err.contains("ssh-keygen -R '[127.0.0.2]:"), "{err}");
    assert!(
        err.contains(&format!("{kh}:1")) && err.contains(&format!("{kh}:2")),
        "{err}"
    );
    assert!(
        err.ends_with("2 hosts: 2 hostkey\n  hostkey: 127.0.0.[2-3]\n"),
        "{err}"
    );
    // off (StrictHostKeyChecking no): runs anyway, with ssh's loud
    // warning.
    let (_, err) = changed
        .rrun(&dir)
        .args(["--host-key=off", "true"])
        .expect_exit_text(0);
    assert!(err.contains("WARNING: host key of [127.0.0.2]:"), "{err}");
    assert!(err.contains("public-key authentication only"), "{err}");
}

#[test]
fn a_known_key_of_another_type_is_a_changed_key() {
    // known_hosts knows the host by an RSA key; the host has only ed25519.
    let fleet = Fleet::start(1);
    let dir = Dir::new("rrun-keytype");
    let rsa = dir.join("rsa");
    assert!(
        Command::new("ssh-keygen")
            .args(["-q", "-t", "rsa", "-b", "2048", "-N", "", "-f"])
            .arg(&rsa)
            .status()
            .unwrap()
            .success()
    );
    let public = std::fs::read_to_string(rsa.with_extension("pub")).unwrap();
    let key: Vec<&str> = public.split_whitespace().take(2).collect();
    std::fs::write(
        fleet.known_hosts(),
        format!("[{}]:{} {}\n", fleet.addrs[0], fleet.port, key.join(" ")),
    )
    .unwrap();
    let (_, err) = fleet.rrun(&dir).arg("true").expect_exit_text(3);
    assert!(err.contains("1 hostkey"), "{err}");
    assert!(err.contains("knows RSA SHA256:"), "{err}");
    assert!(err.contains("now shows ED25519 SHA256:"), "{err}");
}

#[test]
fn host_certificates_signed_by_a_known_ca_are_checked() {
    // The hosts present a certificate for a key known_hosts has never
    // seen; known_hosts has only the CA, for 127.0.0.*.
    let dir = Dir::new("rrun-hostcert");
    let keygen = |args: &[&str]| {
        let status = Command::new("ssh-keygen")
            .args(args)
            .current_dir(dir.path())
            .status()
            .unwrap();
        assert!(status.success(), "ssh-keygen {args:?}");
    };
    keygen(&["-q", "-t", "ed25519", "-N", "", "-f", "ca"]);
    keygen(&["-q", "-t", "ed25519", "-N", "", "-f", "hk"]);
    // Only 127.0.0.2 is a principal.
    keygen(&[
        "-q",
        "-s",
        "ca",
        "-h",
        "-I",
        "web",
        "-n",
        "127.0.0.2",
        "hk.pub",
    ]);
    let fleet = Fleet::start_configured(
        2,
        &dir.join("hk"),
        &format!("HostCertificate {}\n", dir.join("hk-cert.pub").display()),
    );
    let ca = std::fs::read_to_string(dir.join("ca.pub")).unwrap();
    let ca: Vec<&str> = ca.split_whitespace().take(2).collect();
    let ca = ca.join(" ");
    let authority = format!("@cert-authority [127.0.0.*]:{} {ca}\n", fleet.port);
    std::fs::write(fleet.known_hosts(), &authority).unwrap();
    for transport in ["--ssh=native", "--ssh=openssh"] {
        let (out, err) = fleet
            .rrun(&dir)
            .args([transport, "--host-key=strict", "hostname"])
            .expect_exit_text(3);
        // The principal is accepted, strictly, with nothing learnt ...
        assert_eq!(out, "127.0.0.2: host0\n", "{transport}: {err}");
        // ... and the other host is refused for its name.
        assert!(err.contains("1 hostkey"), "{transport}: {err}");
        if transport == "--ssh=native" {
            assert!(
                err.contains("127.0.0.3 is not among its principals (127.0.0.2)"),
                "{err}"
            );
        }
    }
    // Accept-new learns nothing from a certificate it refused.
    let (out, err) = fleet.rrun(&dir).arg("hostname").expect_exit_text(3);
    assert_eq!(out, "127.0.0.2: host0\n", "{err}");
    assert_eq!(
        std::fs::read_to_string(fleet.known_hosts()).unwrap(),
        authority
    );
    // A revoked CA: refused everywhere, whatever else is known.
    std::fs::write(fleet.known_hosts(), format!("{authority}@revoked * {ca}\n")).unwrap();
    let marker = dir.join("ran");
    let (out, err) = fleet
        .rrun(&dir)
        .arg(format!("touch {}", marker.display()))
        .expect_exit_text(3);
    assert_eq!(out, "");
    assert!(!marker.exists());
    assert!(err.contains("is signed by a CA revoked in"), "{err}");
    assert!(err.contains("2 hostkey"), "{err}");
    // A revoked CA with no CA line at all, or the host's own key
    // revoked while its certificate is valid: refused too.
    let host_key = std::fs::read_to_string(dir.join("hk.pub")).unwrap();
    let host_key = host_key
        .split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ");
    for known in [
        format!("@revoked * {ca}\n"),
        format!("{authority}@revoked * {host_key}\n"),
    ] {
        std::fs::write(fleet.known_hosts(), &known).unwrap();
        let (out, err) = fleet.rrun(&dir).arg("true").expect_exit_text(3);
        assert_eq!(out, "");
        assert!(err.contains("revoked in"), "{known}: {err}");
        assert!(err.contains("2 hostkey"), "{known}: {err}");
    }
    // The CA line for the bare name serves any port, as in ssh.
    std::fs::write(
        fleet.known_hosts(),
        format!("@cert-authority 127.0.0.2 {ca}\n"),
    )
    .unwrap();
    let (out, err) = dir
        .command("rrun")
        .arg("-F")
        .arg(fleet.config())
        .args(["--host-key=strict", "-H", "127.0.0.2", "hostname"])
        .expect_exit_text(0);
    assert_eq!(out, "127.0.0.2: host0\n", "{err}");
    // No CA known: the certified key is learnt as a plain key (so a
    // renewed certificate for it is still known), never the certificate.
    std::fs::remove_file(fleet.known_hosts()).unwrap();
    fleet.rrun(&dir).arg("true").expect_exit(0);
    let learnt = std::fs::read_to_string(fleet.known_hosts()).unwrap();
    let host_key = std::fs::read_to_string(dir.join("hk.pub")).unwrap();
    let host_key = host_key.split_whitespace().nth(1).unwrap();
    assert_eq!(learnt.lines().count(), 2, "{learnt}");
    assert!(
        learnt
            .lines()
            .all(|l| l.ends_with(&format!(" ssh-ed25519 {host_key}"))),
        "{learnt}"
    );
}

#[test]
fn concurrent_runs_learn_each_key_once_and_hash_when_asked() {
    let fleet = Fleet::start(20);
    let dir = Dir::new("rrun-learn");
    std::fs::remove_file(fleet.known_hosts()).unwrap();
    let runs: Vec<_> = (0..2)
        .map(|_| {
            Command::new(util::binary("rrun"))
                .arg("-F")
                .arg(fleet.config())
                .arg("--hosts")
                .arg(fleet.hosts_file())
                .arg("true")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut r in runs {
        assert!(r.wait().unwrap().success());
    }
    assert_eq!(util::line_count(fleet.known_hosts()), 20);
    // HashKnownHosts yes: learnt names are written hashed.
    std::fs::remove_file(fleet.known_hosts()).unwrap();
    let config = dir.create(
        "config",
        format!("HashKnownHosts yes\n{}", fleet.config_text()),
    );
    dir.command("rrun")
        .arg("-F")
        .arg(&config)
        .arg("--hosts")
        .arg(fleet.hosts_file())
        .arg("true")
        .expect_exit(0);
    let text = std::fs::read_to_string(fleet.known_hosts()).unwrap();
    assert_eq!(text.lines().count(), 20);
    assert!(text.lines().all(|l| l.starts_with("|1|")), "{text}");
    fleet
        .rrun(&dir)
        .args(["--host-key=strict", "true"])
        .expect_exit(0);
}

#[test]
fn a_command_killed_by_a_signal_reports_it() {
    let fleet = Fleet::start(1);
    let dir = Dir::new("rrun-signal");
    let (_, err) = fleet
        .rrun(&dir)
        .args(["--json", "kill", "-KILL", "$$"])
        .expect_exit_text(1);
    let _ = err;
    let (out, _) = fleet
        .rrun(&dir)
        .args(["--json", "kill", "-TERM", "$$"])
        .expect_exit_text(1);
    let r: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(r["status"], "failed");
    assert_eq!(r["signal"], "TERM");
    assert_eq!(r["exit_code"], serde_json::Value::Null);
    let (_, err) = fleet
        .rrun(&dir)
        .args(["kill", "-KILL", "$$"])
        .expect_exit_text(1);
    assert!(
        err.contains("127.0.0.2: failed: killed by signal KILL"),
        "{err}"
    );
    assert!(err.ends_with("  failed signal=KILL: 127.0.0.2\n"), "{err}");
}

#[test]
fn the_command_deadline_ends_the_remote_process() {
    let fleet = Fleet::start(2);
    let dir = Dir::new("rrun-deadline");
    let started = Instant::now();
    let (out, err) = fleet
        .rrun(&dir)
        .args(["-t", "1", "echo", "started;", "sleep", "4321"])
        .expect_exit_text(3);
    assert!(started.elapsed() < Duration::from_secs(4));
    assert_eq!(
        sorted_lines(&out),
        ["127.0.0.2: started", "127.0.0.3: started"]
    );
    assert!(
        err.contains("timeout: the command did not finish in time"),
        "{err}"
    );
    assert!(
        err.ends_with("2 hosts: 2 timeout\n  timeout: 127.0.0.[2-3]\n"),
        "{err}"
    );
    // The remote sleeps were hung up, not left running.
    let mut gone = false;
    for _ in 0..50 {
        let ps = Command::new("pgrep")
            .args(["-f", "sleep 4321"])
            .output()
            .unwrap();
        if ps.stdout.is_empty() {
            gone = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(gone, "remote command still running");
}

#[test]
fn failed_and_log_files() {
    let fleet = Fleet::start(3);
    let dir = Dir::new("rrun-failed");
    let dead = format!("127.0.0.99:{}", free_port());
    dir.create("hosts", format!("{}{dead}\n", fleet.hosts()));
    let (_, _) = dir
        .command("rrun")
        .arg("-F")
        .arg(fleet.config())
        .args([
            "--hosts",
            "hosts",
            "--failed",
            "retry.txt",
            "--log",
            "run.log",
            "--",
            "test",
            "$(hostname)",
            "!=",
            "host1",
        ])
        .expect_exit_text(3);
    assert_eq!(
        std::fs::read_to_string(dir.join("retry.txt")).unwrap(),
        format!("127.0.0.3\n{dead}\n")
    );
    let log = std::fs::read_to_string(dir.join("run.log")).unwrap();
    assert_eq!(log.lines().count(), 4);
    let line = log.lines().find(|l| l.contains(" 127.0.0.3 ")).unwrap();
    let words: Vec<&str> = line.split(' ').collect();
    assert!(words[0].starts_with("20") && words[0].ends_with('Z'));
    assert_eq!(&words[1..4], ["127.0.0.3", "failed", "exit=1"]);
    assert!(log.lines().any(
        |l| l.contains(&format!("{dead} unreachable exit=- ")) && l.contains("cannot connect")
    ));
    // The failed list feeds straight back in.
    let (_, err) = dir
        .command("rrun")
        .arg("-F")
        .arg(fleet.config())
        .args(["--hosts", "retry.txt", "--log", "run.log", "true"])
        .expect_exit_text(3);
    assert!(err.starts_with("rrun: 127.0.0.99:"), "{err}");
    assert!(err.contains("2 hosts: 1 ok, 1 unreachable"), "{err}");
    assert_eq!(util::line_count(dir.join("run.log")), 6);
}

#[test]
fn ssh_config_patterns_hostname_user_port_and_flags() {
    let fleet = Fleet::start(2);
    let dir = Dir::new("rrun-config");
    let k = keys();
    dir.create(
        "config",
        format!(
            "Host web* !web2\n  HostName 127.0.0.2\nHost web2\n  HostName 127.0.0.3\nHost *\n  User fleet\n  Port {}\n  IdentityFile {}\n  IdentitiesOnly yes\n  UserKnownHostsFile {}\n  ConnectTimeout 5\n",
            fleet.port,
            k.client_key.display(),
            dir.join("kh").display()
        ),
    );
    let (out, _) = dir
        .command("rrun")
        .args(["-F", "config", "-H", "web1,web2", "hostname"])
        .expect_exit_text(0);
    assert_eq!(sorted_lines(&out), ["web1: host0", "web2: host1"]);
    // -l and --port where the list names none; the list's own win.
    dir.create(
        "bare",
        format!(
            "Host *\n  IdentityFile {}\n  UserKnownHostsFile {}\n",
            k.client_key.display(),
            dir.join("kh2").display()
        ),
    );
    let (out, _) = dir
        .command("rrun")
        .args(["-F", "bare", "-l", "fleet", "--port"])
        .arg(fleet.port.to_string())
        .args(["-H", "127.0.0.2", "whoami"])
        .expect_exit_text(0);
    assert_eq!(out, "127.0.0.2: fleet\n");
    // A bad config line is an error naming it.
    dir.create("broken", "Host *\n  Port twenty\n");
    let (_, err) = dir
        .command("rrun")
        .args(["-F", "broken", "-H", "x", "true"])
        .expect_exit_text(2);
    assert_eq!(
        err,
        "rrun: ssh_config: broken:2: Port 'twenty' is not a port number\n"
    );
    let (_, err) = dir
        .command("rrun")
        .args(["-F", "missing", "-H", "x", "true"])
        .expect_exit_text(2);
    assert_eq!(err, "rrun: missing: no such ssh_config file (-F)\n");
}

#[test]
fn a_thousand_workers_and_retries() {
    let fleet = Fleet::start(8);
    let dir = Dir::new("rrun-fanout");
    // Each host prints when its command started and ended (one clock:
    // every "host" is on this machine).
    let spans = |fanout: &str| -> Vec<(u128, u128)> {
        let (out, err) = fleet
            .rrun(&dir)
            .args(["-p", fanout, "--retry", "2"])
            .args(["date +%s%N; sleep 0.3; date +%s%N"])
            .expect_exit_text(0);
        assert_eq!(err, "8 hosts: 8 ok\n");
        let mut by_host: std::collections::BTreeMap<&str, Vec<u128>> = Default::default();
        for line in out.lines() {
            let (host, t) = line.split_once(": ").unwrap();
            by_host.entry(host).or_default().push(t.parse().unwrap());
        }
        assert_eq!(by_host.len(), 8);
        by_host.values().map(|t| (t[0], t[1])).collect()
    };
    // -p 1000: every host runs at once, so every command starts before
    // the first one ends.
    let wide = spans("1000");
    let first_end = wide.iter().map(|s| s.1).min().unwrap();
    assert!(wide.iter().all(|s| s.0 < first_end), "{wide:?}");
    // -p 1: one at a time, so no two commands overlap.
    let mut narrow = spans("1");
    narrow.sort();
    assert!(narrow.windows(2).all(|w| w[0].1 <= w[1].0), "{narrow:?}");
    let (_, err) = fleet
        .rrun(&dir)
        .args(["-p", "0", "true"])
        .expect_exit_text(2);
    assert!(err.starts_with("rrun: -p: invalid value '0'"), "{err}");
    // Retries apply to connection failures: a port that opens late.
    let port = free_port();
    // Once open it stays open (the thread outlives the run), silent, each
    // connection held: every later attempt times out at the banner.
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        let l = TcpListener::bind(("127.0.0.1", port)).unwrap();
        let mut held = Vec::new();
        for s in l.incoming() {
            held.push(s);
        }
    });
    let (_, err) = dir
        .command("rrun")
        .args(["--retry", "3", "--connect-timeout", "1", "-H"])
        .arg(format!("127.0.0.1:{port}"))
        .arg("true")
        .expect_exit_text(3);
    // It got past "refused" to the listener, which never speaks.
    assert!(
        err.contains("timed out after 1s during the SSH banner"),
        "{err}"
    );
}

#[test]
fn ctrl_c_stops_prints_the_summary_and_exits_130() {
    let fleet = Fleet::start(3);
    let dir = Dir::new("rrun-ctrl-c");
    let mut child = Command::new(util::binary("rrun"))
        .arg("-F")
        .arg(fleet.config())
        .arg("--hosts")
        .arg(fleet.hosts_file())
        .args(["-p", "2", "echo", "up;", "sleep", "5678"])
        .current_dir(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until two hosts are running.
    let mut stdout = child.stdout.take().unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 256];
    while seen.iter().filter(|&&b| b == b'\n').count() < 2 {
        let n = stdout.read(&mut buf).unwrap();
        assert!(n > 0);
        seen.extend_from_slice(&buf[..n]);
    }
    let started = Instant::now();
    unsafe_kill(child.id(), 2);
    let status = child.wait().unwrap();
    assert!(started.elapsed() < Duration::from_secs(3));
    let err = util::read_stderr(&mut child);
    assert_eq!(status.code(), Some(130), "{err}");
    // One folded line per class, not one line per host.
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 3, "{err}");
    assert_eq!(lines[0], "3 hosts: 3 interrupted");
    assert!(lines[1].starts_with("  interrupted: 127.0.0."), "{err}");
    assert!(
        lines[2].starts_with("  interrupted (not started): 127.0.0."),
        "{err}"
    );
}

fn unsafe_kill(pid: u32, sig: i32) {
    Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .status()
        .unwrap();
}

#[test]
fn help_man_and_usage() {
    let dir = Dir::new("rrun-help");
    let (out, _) = dir.command("rrun").arg("-h").expect_exit_text(0);
    assert!(out.contains("Usage: rrun [OPTIONS] [--] COMMAND [ARG...]"));
    assert!(out.contains("-p, --fanout=N"));
    let (_, err) = dir
        .command("rrun")
        .args(["--host-key=maybe", "-H", "a", "true"])
        .expect_exit_text(2);
    assert!(
        err.starts_with("rrun: --host-key: invalid value 'maybe'"),
        "{err}"
    );
    // Options after the command belong to the command.
    let (_, err) = dir
        .command("rrun")
        .args(["-H", "a", "--retry", "x", "ls", "-l"])
        .expect_exit_text(2);
    assert!(err.starts_with("rrun: --retry: invalid value 'x'"), "{err}");
}

#[test]
fn proxy_jump_goes_through_the_bastion() {
    // 127.0.0.2 is the bastion, 127.0.0.3 the target.
    let fleet = Fleet::start(2);
    let closed = Fleet::start_configured(1, &keys().host_key, "AllowTcpForwarding no\n");
    let dir = Dir::new("rrun-jump");
    dir.create(
        "config",
        format!(
            "Host target\n  HostName 127.0.0.3\n  ProxyJump fleet@127.0.0.2:{}\n\
             Host blocked\n  HostName 127.0.0.3\n  ProxyJump 127.0.0.2:{}\n\
             Host *\n  User fleet\n  Port {}\n  IdentityFile {}\n  IdentitiesOnly yes\n  UserKnownHostsFile {}\n",
            fleet.port,
            closed.port,
            fleet.port,
            keys().client_key.display(),
            dir.join("kh").display()
        ),
    );
    let (out, err) = dir
        .command("rrun")
        .args(["-F", "config", "-H", "target", "hostname"])
        .expect_exit_text(0);
    assert_eq!(out, "target: host1\n", "{err}");
    // A bastion that refuses to forward: the hop really is used.
    let (out, err) = dir
        .command("rrun")
        .args(["-F", "config", "-H", "blocked", "hostname"])
        .expect_exit_text(3);
    assert_eq!(out, "");
    assert!(
        err.contains(
            "blocked: unreachable: the jump host could not open a connection to 127.0.0.3:"
        ),
        "{err}"
    );
    // Both hops' keys were learnt.
    let kh = std::fs::read_to_string(dir.join("kh")).unwrap();
    assert!(
        kh.contains(&format!("[127.0.0.2]:{} ", fleet.port))
            && kh.contains(&format!("[127.0.0.3]:{} ", fleet.port)),
        "{kh}"
    );
}

/// Runs rrun on a pseudo-terminal (util-linux script); once `prompt` is on
/// the screen, types `typed` (as a person would: after the prompt turned
/// echo off). Returns the exit code and everything the terminal showed.
fn on_terminal(dir: &Dir, args: &str, prompt: &str, typed: &str) -> (i32, String) {
    on_terminal_shell(
        dir,
        &format!("{} {args}", util::binary("rrun").display()),
        prompt,
        typed,
    )
}

/// [`on_terminal`] for a shell command line (`$RRUN` is the binary).
fn on_terminal_shell(dir: &Dir, line: &str, prompt: &str, typed: &str) -> (i32, String) {
    use std::io::Write;
    use std::sync::{Arc, Mutex};
    let mut child = Command::new("script")
        .args(["-q", "-e", "-c"])
        .arg(line)
        .env("RRUN", util::binary("rrun"))
        .arg("/dev/null")
        .current_dir(dir.path())
        .env("TERM", "xterm")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("script(1)");
    let screen = Arc::new(Mutex::new(Vec::new()));
    let mut stdout = child.stdout.take().unwrap();
    let reader = {
        let screen = screen.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stdout.read(&mut buf) {
                if n == 0 {
                    break;
                }
                screen.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        })
    };
    let mut stdin = child.stdin.take().unwrap();
    if !prompt.is_empty() {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !String::from_utf8_lossy(&screen.lock().unwrap()).contains(prompt) {
            assert!(Instant::now() < deadline, "no prompt {prompt:?}");
            std::thread::sleep(Duration::from_millis(20));
        }
        stdin.write_all(typed.as_bytes()).unwrap();
    }
    let status = child.wait().unwrap();
    drop(stdin);
    reader.join().unwrap();
    let text = String::from_utf8_lossy(&screen.lock().unwrap()).into_owned();
    (status.code().unwrap_or(-1), text)
}

#[test]
fn an_encrypted_key_asks_its_passphrase_once_for_all_hosts() {
    let fleet = Fleet::start(3);
    let dir = Dir::new("rrun-passphrase");
    client_config(&dir, &fleet, "fleet", "  IdentitiesOnly yes\n");
    let args = format!(
        "-F config -i {} --hosts {} --inline hostname",
        keys().encrypted_key.display(),
        fleet.hosts_file().display()
    );
    let (code, screen) = on_terminal(
        &dir,
        &args,
        "Enter passphrase for key",
        &format!("{PASSPHRASE}\n"),
    );
    assert_eq!(code, 0, "{screen}");
    asked_once(&screen, "Enter passphrase for key", PASSPHRASE);
    for host in ["host0", "host1", "host2"] {
        assert!(screen.contains(host), "{screen}");
    }
    // Without a terminal there is no one to ask: an auth failure that says so.
    let (_, err) = dir
        .command("rrun")
        .args(["-F", "config", "-i"])
        .arg(&keys().encrypted_key)
        .args(["-H", "127.0.0.2", "true"])
        .expect_exit_text(3);
    assert!(err.contains("(encrypted, no terminal to ask)"), "{err}");
    // A mistyped passphrase is asked again (as ssh does), not failed on
    // every host.
    let (code, screen) = on_terminal(
        &dir,
        &args,
        "Enter passphrase for key",
        &format!("not it\n{PASSPHRASE}\n"),
    );
    assert_eq!(code, 0, "{screen}");
    assert_eq!(
        screen.matches("Bad passphrase, try again").count(),
        1,
        "{screen}"
    );
    assert!(
        !screen.contains(PASSPHRASE) && !screen.contains("not it"),
        "{screen}"
    );
    // Three wrong ones: auth, said once, with why.
    let (code, screen) = on_terminal(&dir, &args, "Enter passphrase for key", "a\nb\nc\n");
    assert_eq!(code, 3, "{screen}");
    assert!(screen.contains("wrong passphrase, 3 tries"), "{screen}");
}

#[test]
fn ask_password_without_a_terminal_and_a_gone_agent_are_said() {
    let fleet = Fleet::start(1);
    let dir = Dir::new("rrun-no-tty");
    // setsid: no controlling terminal, as under cron or CI.
    let out = Command::new("setsid")
        .arg("-w")
        .arg(util::binary("rrun"))
        .arg("-F")
        .arg(fleet.config())
        .args(["-A", "-H", "127.0.0.2", "true"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("-A asks for the password on the terminal"),
        "{err}"
    );
    // SSH_AUTH_SOCK left from a closed session.
    client_config(&dir, &fleet, "fleet", "  IdentitiesOnly no\n");
    let (_, err) = dir
        .command("rrun")
        .env("SSH_AUTH_SOCK", dir.join("gone.sock"))
        .env("HOME", dir.path())
        .args(["-F", "config", "-H", "127.0.0.2", "true"])
        .expect_exit_text(3);
    assert!(
        err.contains("gone.sock (the socket does not exist)"),
        "{err}"
    );
}

#[test]
fn ask_password_asks_once_and_is_not_echoed() {
    let fleet = Fleet::start_configured(2, &keys().host_key, "PasswordAuthentication yes\n");
    let dir = Dir::new("rrun-password");
    client_config(
        &dir,
        &fleet,
        PASSWORD_USER,
        "  IdentitiesOnly yes\n  IdentityFile /nonexistent\n",
    );
    let args = format!(
        "-F config -A --hosts {} --inline whoami",
        fleet.hosts_file().display()
    );
    let (code, screen) = on_terminal(&dir, &args, "Password for", &format!("{PASSWORD}\n"));
    assert_eq!(code, 0, "{screen}");
    asked_once(&screen, "Password for fleetpw", PASSWORD);
    assert_eq!(screen.matches("\nfleetpw").count(), 2, "{screen}");
}

#[test]
fn a_live_count_on_a_terminal() {
    let fleet = Fleet::start(2);
    let dir = Dir::new("rrun-progress");
    let args = format!(
        "-F {} --hosts {} --json true > out.json",
        fleet.config().display(),
        fleet.hosts_file().display()
    );
    let (code, screen) = on_terminal(&dir, &args, "", "");
    assert_eq!(code, 0, "{screen}");
    assert!(screen.contains("\r\u{1b}[K[2/2] 2 ok"), "{screen:?}");
    // The summary's classes are coloured on a terminal.
    assert!(
        screen.ends_with("2 hosts: \u{1b}[32m2 ok\u{1b}[0m\r\n"),
        "{screen:?}"
    );
    assert_eq!(util::line_count(dir.join("out.json")), 2);
    // In the default mode too, with lines on the same terminal: the count
    // is cleared before each line, so every line arrives whole.
    let fleet = Fleet::start(6);
    let args = format!(
        "--color=never -p 2 -F {} --hosts {} 'sleep 0.5; echo line one; sleep 0.3; echo line two'",
        fleet.config().display(),
        fleet.hosts_file().display()
    );
    let (code, screen) = on_terminal(&dir, &args, "", "");
    assert_eq!(code, 0, "{screen:?}");
    assert!(screen.contains("\r\u{1b}[K[2/6] 2 ok"), "{screen:?}");
    for a in &fleet.addrs {
        for line in ["line one", "line two"] {
            // Whole: after a line break or an erased count, never after
            // the count's text.
            let whole = format!("{a}: {line}\r\n");
            let at = screen
                .find(&whole)
                .unwrap_or_else(|| panic!("{whole:?} in {screen:?}"));
            let before = &screen[..at];
            assert!(
                before.ends_with('\n') || before.ends_with("\r\u{1b}[K"),
                "{whole:?} after {:?}",
                &before[before.len().saturating_sub(40)..]
            );
        }
    }
}

#[test]
fn every_agent_identity_is_tried() {
    let fleet = Fleet::start(1);
    let dir = Dir::new("rrun-agent");
    let socket = dir.join("agent.sock");
    let agent = Command::new("ssh-agent")
        .arg("-D")
        .arg("-a")
        .arg(&socket)
        .stdout(Stdio::null())
        .spawn()
        .expect("ssh-agent");
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let _agent = Kill(agent);
    let deadline = Instant::now() + Duration::from_secs(5);
    while !socket.exists() {
        assert!(Instant::now() < deadline, "ssh-agent did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    // The refused key first: libssh2's userauth_agent would stop there.
    for key in [&keys().wrong_key, &keys().client_key] {
        let ok = Command::new("ssh-add")
            .arg(key)
            .env("SSH_AUTH_SOCK", &socket)
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(ok.success());
    }
    client_config(&dir, &fleet, "fleet", "");
    let (out, err) = dir
        .command("rrun")
        .args(["-F", "config", "-H", "127.0.0.2", "whoami"])
        .env("SSH_AUTH_SOCK", &socket)
        .env("HOME", dir.path())
        .expect_exit_text(0);
    assert_eq!(out, "127.0.0.2: fleet\n", "{err}");
    // Without the agent, the default key files in ~/.ssh are tried.
    std::fs::create_dir_all(dir.join("home/.ssh")).unwrap();
    std::fs::copy(&keys().client_key, dir.join("home/.ssh/id_ed25519")).unwrap();
    let (out, err) = dir
        .command("rrun")
        .args(["-F", "config", "-H", "127.0.0.2", "whoami"])
        .env("SSH_AUTH_SOCK", dir.join("none"))
        .env("HOME", dir.join("home"))
        .expect_exit_text(0);
    assert_eq!(out, "127.0.0.2: fleet\n", "{err}");
    // Neither agent nor key files: it says what it tried.
    let (_, err) = dir
        .command("rrun")
        .args(["-F", "config", "-H", "127.0.0.2", "whoami"])
        .env("SSH_AUTH_SOCK", dir.join("none"))
        .env("HOME", dir.path())
        .expect_exit_text(3);
    assert!(err.contains("authentication as fleet failed"), "{err}");
}

#[test]
fn hashed_known_hosts_entries_are_read() {
    let fleet = Fleet::start(2);
    let dir = Dir::new("rrun-hashed");
    fleet.rrun(&dir).arg("true").expect_exit(0);
    let hashed = Command::new("ssh-keygen")
        .arg("-H")
        .arg("-f")
        .arg(fleet.known_hosts())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(hashed.success());
    let text = std::fs::read_to_string(fleet.known_hosts()).unwrap();
    assert!(text.lines().all(|l| l.starts_with("|1|")), "{text}");
    fleet
        .rrun(&dir)
        .args(["--host-key=strict", "true"])
        .expect_exit(0);
    // Nothing was appended: the hashed entries matched.
    assert_eq!(std::fs::read_to_string(fleet.known_hosts()).unwrap(), text);
}

#[test]
fn host_names_are_coloured_when_asked() {
    // A neutral colour per host (never red or green, which read as
    // failure and success), the same in every run; the summary's classes
    // coloured.
    let fleet = Fleet::start(2);
    let dir = Dir::new("rrun-colour");
    let colours: Vec<String> = (0..2)
        .map(|_| {
            let (out, err) = fleet
                .rrun(&dir)
                .args([
                    "--color=always",
                    "-H",
                    "127.0.0.2",
                    "echo out; echo err >&2; [ $(hostname) = host0 ]",
                ])
                .expect_exit_text(1);
            let line = out
                .lines()
                .find(|l| l.contains("127.0.0.2"))
                .unwrap()
                .to_string();
            assert!(line.ends_with("127.0.0.2\x1b[0m: out"), "{line:?}");
            let code = line
                .trim_start_matches("\x1b[")
                .split('m')
                .next()
                .unwrap()
                .to_string();
            assert!(
                ["36", "34", "35", "96", "94", "95"].contains(&code.as_str()),
                "{code}"
            );
            assert!(
                err.contains(&format!("\x1b[{code}m127.0.0.2\x1b[0m: err\n")),
                "{err:?}"
            );
            assert!(
                err.contains("\x1b[32m1 ok\x1b[0m, \x1b[31m1 failed\x1b[0m"),
                "{err:?}"
            );
            code
        })
        .collect();
    assert_eq!(colours[0], colours[1]);
    let (out, _) = fleet
        .rrun(&dir)
        .args(["--color=never", "echo", "out"])
        .expect_exit_text(0);
    assert_eq!(sorted_lines(&out), ["127.0.0.2: out", "127.0.0.3: out"]);
}

#[test]
fn a_signal_at_a_prompt_puts_the_terminal_back() {
    use std::io::Write;
    let fleet = Fleet::start(1);
    let dir = Dir::new("rrun-prompt-signal");
    client_config(&dir, &fleet, "fleet", "  IdentitiesOnly yes\n");
    // rrun asks for a passphrase (echo off), is killed by SIGTERM while it
    // waits, then stty shows the terminal's echo setting.
    let command = format!(
        "{} -F config -i {} -H 127.0.0.2 --connect-timeout 29.5 true; stty -a",
        util::binary("rrun").display(),
        keys().encrypted_key.display()
    );
    let mut child = Command::new("script")
        .args(["-q", "-e", "-c", &command, "/dev/null"])
        .current_dir(dir.path())
        .env("TERM", "xterm")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("script(1)");
    let mut stdout = child.stdout.take().unwrap();
    let mut screen = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&screen).contains("Enter passphrase for key") {
        let n = stdout.read(&mut buf).unwrap();
        assert!(n > 0, "no prompt: {}", String::from_utf8_lossy(&screen));
        screen.extend_from_slice(&buf[..n]);
    }
    let pid = Command::new("pgrep")
        .args(["-f", "connect-timeout 29.5 true"])
        .output()
        .unwrap();
    let pid = String::from_utf8(pid.stdout).unwrap();
    let pid = pid.lines().find(|p| {
        std::fs::read(format!("/proc/{p}/cmdline"))
            .is_ok_and(|c| c.starts_with(util::binary("rrun").to_string_lossy().as_bytes()))
    });
    unsafe_kill(pid.expect("rrun runs").parse().unwrap(), 15);
    let mut stdin = child.stdin.take().unwrap();
    let _ = stdin.flush();
    stdout.read_to_end(&mut screen).unwrap();
    child.wait().unwrap();
    let screen = String::from_utf8_lossy(&screen);
    assert!(screen.contains("interrupted"), "{screen}");
    // stty -a lists `echo` when it is on, `-echo` when off.
    let settings: Vec<&str> = screen.split_whitespace().collect();
    assert!(settings.contains(&"echo"), "{screen}");
    assert!(!settings.contains(&"-echo"), "{screen}");
}

#[test]
fn the_retry_loop_ends_on_an_empty_list_and_quiet_and_no_prefix() {
    let fleet = Fleet::start(2);
    let dir = Dir::new("rrun-retry-loop");
    // Some hosts fail: they go to the list...
    let (_, _) = fleet
        .rrun(&dir)
        .args(["--failed", "f", "[ $(hostname) = host0 ]"])
        .expect_exit_text(1);
    assert_eq!(util::line_count(dir.join("f")), 1);
    // ...are fixed and run again from it, which empties it...
    let (_, err) = dir
        .command("rrun")
        .arg("-F")
        .arg(fleet.config())
        .args(["--hosts", "f", "--failed", "f", "true"])
        .expect_exit_text(0);
    assert_eq!(err, "1 host: 1 ok\n");
    assert_eq!(util::line_count(dir.join("f")), 0);
    // ...and the next round has nothing to do: exit 0, said on stderr.
    let (out, err) = dir
        .command("rrun")
        .arg("-F")
        .arg(fleet.config())
        .args(["--hosts", "f", "true"])
        .expect_exit_text(0);
    assert_eq!(out, "");
    assert_eq!(err, "rrun: the host list is empty: nothing to do\n");
    // -q: no summary; -N: lines as the hosts printed them.
    let (out, err) = fleet
        .rrun(&dir)
        .args(["-q", "-N", "echo same"])
        .expect_exit_text(0);
    assert_eq!((out.as_str(), err.as_str()), ("same\nsame\n", ""));
}

#[test]
fn groups_exclusions_and_the_listed_hosts() {
    // Groups from ~/.config/fleetkit/groups, set operations as clush's,
    // -x after everything; --list-hosts and --list-groups connect nowhere.
    let fleet = Fleet::start(4);
    let dir = Dir::new("rrun-groups");
    dir.create(
        ".config/fleetkit/groups",
        "# the fleet\nweb: 127.0.0.[2-4]\neu: 127.0.0.[4-5], @db\ndb: 127.0.0.5\nall: @web, @eu\n",
    );
    let rrun = |args: &[&str]| {
        let mut c = dir.command("rrun");
        c.env("HOME", dir.path())
            .env_remove("XDG_CONFIG_HOME")
            .arg("-F")
            .arg(fleet.config())
            .args(args);
        c
    };
    let (out, _) = rrun(&["-H", "@web!127.0.0.3", "--list-hosts"]).expect_exit_text(0);
    assert_eq!(out, "127.0.0.2\n127.0.0.4\n");
    let (out, _) = rrun(&["-H", "@web&@eu", "--list-hosts"]).expect_exit_text(0);
    assert_eq!(out, "127.0.0.4\n");
    let (out, _) = rrun(&["-H", "@web^@eu", "--list-hosts"]).expect_exit_text(0);
    assert_eq!(out, "127.0.0.2\n127.0.0.3\n127.0.0.5\n");
    let (out, _) = rrun(&["-H", "@all", "-x", "@db,127.0.0.2", "--list-hosts"]).expect_exit_text(0);
    assert_eq!(out, "127.0.0.3\n127.0.0.4\n");
    // -x leaves a host out as any user, on any port.
    dir.create("out.txt", "127.0.0.3\n");
    let (out, _) = rrun(&[
        "-H",
        "fleet@127.0.0.3:22,127.0.0.2",
        "--exclude-hosts",
        "out.txt",
        "--list-hosts",
    ])
    .expect_exit_text(0);
    assert_eq!(out, "127.0.0.2\n");
    // A user or port in -x is compared with the one the host would use:
    // here ssh_config's port and user, else 22 and the local user.
    let port = fleet.port.to_string();
    let two = "127.0.0.2,127.0.0.3";
    for (x, left) in [
        (format!("127.0.0.2:{port}"), "127.0.0.3\n"),
        ("127.0.0.2:22".to_string(), "127.0.0.2\n127.0.0.3\n"),
        ("fleet@127.0.0.3".to_string(), "127.0.0.2\n"),
        ("root@127.0.0.3".to_string(), "127.0.0.2\n127.0.0.3\n"),
    ] {
        let (out, _) = rrun(&["-H", two, "-x", &x, "--list-hosts"]).expect_exit_text(0);
        assert_eq!(out, left, "-x {x}");
    }
    dir.create("no_config", "");
    let (out, _) = dir
        .command("rrun")
        .env("HOME", dir.path())
        .args([
            "-F",
            "no_config",
            "-H",
            "web9,web8",
            "-x",
            "web9:22",
            "--list-hosts",
        ])
        .expect_exit_text(0);
    assert_eq!(out, "web8\n");
    let (out, _) = rrun(&["--list-groups"]).expect_exit_text(0);
    assert_eq!(
        out,
        "web: 127.0.0.[2-4] (3)\neu: 127.0.0.[4-5] (2)\ndb: 127.0.0.5 (1)\nall: 127.0.0.[2-5] (4)\n"
    );
    // The groups run: every host of @web but one.
    let (out, err) = rrun(&["-H", "@web", "-x", "127.0.0.4", "hostname"]).expect_exit_text(0);
    assert_eq!(
        sorted_lines(&out),
        ["127.0.0.2: host0", "127.0.0.3: host1"],
        "{err}"
    );
    // Every tool takes them: rcp lists the same hosts.
    let (out, _) = dir
        .command("rcp")
        .env("HOME", dir.path())
        .env_remove("XDG_CONFIG_HOME")
        .args(["-H", "@web!127.0.0.3", "--list-hosts"])
        .expect_exit_text(0);
    assert_eq!(out, "127.0.0.2\n127.0.0.4\n");
    // Every host excluded: nothing to do, not an error.
    let (out, err) = rrun(&["-H", "@web", "-x", "@web", "hostname"]).expect_exit_text(0);
    assert_eq!(out, "");
    assert!(err.contains("the host list is empty"), "{err}");
    // Mistakes name what and where, and nothing runs.
    let (_, err) = rrun(&["-H", "@nope", "true"]).expect_exit_text(2);
    assert!(err.contains("no group 'nope'"), "{err}");
    dir.create(".config/fleetkit/groups", "a: x, @b\nb: @a\n");
    let (_, err) = rrun(&["-H", "@a", "true"]).expect_exit_text(2);
    assert!(
        err.contains("groups:2: groups name each other in a cycle: @a -> @b -> @a"),
        "{err}"
    );
    let (_, err) = rrun(&["-H", "web1!", "true"]).expect_exit_text(2);
    assert!(err.contains("an operator with no hosts after it"), "{err}");
}

#[test]
fn host_lists_are_checked_line_by_line() {
    let dir = Dir::new("rrun-hostlist");
    let check = |list: &[u8], expected: &str| {
        let (out, err) = dir
            .command("rrun")
            .args(["--hosts", "-", "--list-hosts"])
            .stdin(list)
            .expect_exit_text(2);
        assert_eq!(out, "");
        assert!(err.contains(expected), "{err}");
        assert!(!err.contains('\0'), "{err:?}");
    };
    // pssh writes `host user`: not two hosts.
    check(
        b"web1\nweb2 root\n",
        "<stdin>:2: 'web2 root': one entry per line",
    );
    check(b"web1\n.\n", "<stdin>:2: '.': not a host name");
    check(b"..\n", "<stdin>:1: '..': not a host name");
    check(
        format!("{}\n", "a".repeat(254)).as_bytes(),
        "<stdin>:1: 'aaa",
    );
    check(b"web1\nweb\x002\n", "unexpected character U+0000");
    check(
        b"web1\nweb1\xff\n",
        "<stdin>:2: not UTF-8 text (byte 0xff at column 5)",
    );
    // A name lost between commas, as clush's nodeset says.
    check(
        b"a,,b\n",
        "<stdin>:1: 'a,,b': two operators in a row at ','",
    );
    check(
        b"a,\n",
        "<stdin>:1: 'a,': an operator with no hosts after it",
    );
    check(b",a\n", "<stdin>:1: ',a': ',' with no hosts before it");
    // Standard input is read once: not for -I and a host list both.
    let (_, err) = dir
        .command("rrun")
        .args(["--hosts", "-", "-I", "cat"])
        .stdin("a\n")
        .expect_exit_text(2);
    assert!(err.contains("-I takes standard input"), "{err}");
    let (_, err) = dir
        .command("rrun")
        .args(["--hosts", "-", "--exclude-hosts", "-", "--list-hosts"])
        .stdin("a\n")
        .expect_exit_text(2);
    assert!(err.contains("standard input can be read once"), "{err}");
    // Large set operations stay linear: 100000 hosts less themselves.
    let (out, _) = dir
        .command("rrun")
        .args(["-H", "h[1-99999]!h[1-99999]", "--list-hosts"])
        .expect_exit_text(0);
    assert_eq!(out, "");
    // A file and stdin combine; commas join hosts on a line.
    let dir2 = Dir::new("rrun-hostlist2");
    dir2.create("list", "a, b\n");
    let (out, _) = dir2
        .command("rrun")
        .args(["--hosts", "list", "--hosts", "-", "--list-hosts"])
        .stdin("c\n")
        .expect_exit_text(0);
    assert_eq!(out, "a\nb\nc\n");
    // A byte order mark (Windows editors) is not part of the first name,
    // in a host list or in the groups file.
    dir2.create("bom", "\u{feff}a\n");
    dir2.create(".config/fleetkit/groups", "\u{feff}g: x,y\n");
    let (out, _) = dir2
        .command("rrun")
        .env("HOME", dir2.path())
        .env_remove("XDG_CONFIG_HOME")
        .args(["--hosts", "bom", "-H", "@g", "--list-hosts"])
        .expect_exit_text(0);
    assert_eq!(out, "x\ny\na\n");
    // A groups file another user could write is refused: it says where
    // commands (and a sudo password) go.
    let groups = dir2.join(".config/fleetkit/groups");
    std::fs::set_permissions(&groups, std::os::unix::fs::PermissionsExt::from_mode(0o666)).unwrap();
    let (_, err) = dir2
        .command("rrun")
        .env("HOME", dir2.path())
        .env_remove("XDG_CONFIG_HOME")
        .args(["-H", "@g", "--list-hosts"])
        .expect_exit_text(2);
    assert!(err.contains("groups: bad owner or permissions"), "{err}");
}

#[test]
fn largest_exit_status_and_the_json_target() {
    // -S: the largest remote status, as pdsh -S; a signal is 128+N, a
    // host not reached 255.
    let fleet = Fleet::start(2);
    let dir = Dir::new("rrun-largest");
    let by_host = "exit $(( $(hostname | tr -dc 0-9) + 3 ))";
    fleet.rrun(&dir).args(["-S", by_host]).expect_exit(4);
    // Without -S, rrun's own classes: 1 for a failed command.
    fleet.rrun(&dir).arg(by_host).expect_exit(1);
    fleet.rrun(&dir).args(["-S", "true"]).expect_exit(0);
    fleet
        .rrun(&dir)
        .args(["-S", "kill -TERM $$"])
        .expect_exit(143);
    let port = free_port();
    dir.command("rrun")
        .arg("-F")
        .arg(fleet.config())
        .args(["-S", "-H", &format!("127.0.0.2,127.0.0.3:{port}"), "exit 7"])
        .expect_exit(255);
    // --json's target is the entry as listed, user and port included, so
    // `jq -r .target | rrun --hosts -` runs on the same hosts as the
    // same users.
    let (out, _) = dir
        .command("rrun")
        .arg("-F")
        .arg(fleet.config())
        .args([
            "--json",
            "-H",
            &format!("fleet@127.0.0.2:{},127.0.0.3", fleet.port),
            "true",
        ])
        .expect_exit_text(0);
    let mut targets: Vec<String> = out
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["target"].as_str().unwrap().to_string()
        })
        .collect();
    targets.sort();
    assert_eq!(
        targets,
        [
            "127.0.0.3".to_string(),
            format!("fleet@127.0.0.2:{}", fleet.port)
        ]
    );
}

#[test]
fn ssh_options_for_one_run_win_over_the_config() {
    // -O KEY=VALUE, as ssh -o: first, so it wins over ssh_config, on
    // either transport.
    let fleet = Fleet::start(1);
    let dir = Dir::new("rrun-ssh-option");
    let (out, _) = fleet
        .rrun(&dir)
        .args([
            "-G",
            "-O",
            "User=deploy",
            "-O",
            "ConnectTimeout 7",
            "127.0.0.2",
        ])
        .expect_exit_text(0);
    assert!(out.contains("\nuser deploy\n"), "{out}");
    assert!(out.contains("\nconnecttimeout 7\n"), "{out}");
    for ssh in ["--ssh=native", "--ssh=openssh"] {
        let (_, err) = fleet
            .rrun(&dir)
            .args([ssh, "-O", "User=nosuchuser", "true"])
            .expect_exit_text(3);
        assert!(err.contains("1 auth"), "{ssh}: {err}");
        fleet
            .rrun(&dir)
            .args([ssh, "-O", "User=fleet", "true"])
            .expect_exit(0);
    }
    for (bad, says) in [
        ("Host=x", "Host is not an option for one run"),
        ("Frobnicate=yes", "Bad configuration option: frobnicate"),
        ("Port", "expected KEY=VALUE"),
    ] {
        let (_, err) = fleet
            .rrun(&dir)
            .args(["-O", bad, "true"])
            .expect_exit_text(2);
        assert!(err.contains(says), "{bad}: {err}");
    }
}

/// sudoers for the sudo tests: PASSWORD_USER may run anything after its
/// password; `fleettty` too, but only from a terminal (requiretty);
/// `fleetnocache` too, but sudo caches nothing for it (timestamp_timeout=0).
fn sudoers() {
    use std::io::Write;
    for user in ["fleettty", "fleetnocache"] {
        let _ = Command::new("useradd")
            .args(["-m", "-s", "/bin/sh", user])
            .status();
        let mut chpasswd = Command::new("chpasswd")
            .stdin(Stdio::piped())
            .spawn()
            .unwrap();
        writeln!(chpasswd.stdin.take().unwrap(), "{user}:{PASSWORD}").unwrap();
        assert!(chpasswd.wait().unwrap().success());
    }
    let path = "/etc/sudoers.d/fleetkit-tests";
    std::fs::write(
        path,
        format!(
            "Defaults:{PASSWORD_USER},fleettty,fleetnocache lecture=never\n{PASSWORD_USER} ALL=(ALL) ALL\n\
             Defaults:fleettty requiretty\nfleettty ALL=(ALL) ALL\n\
             Defaults:fleetnocache timestamp_timeout=0\nfleetnocache ALL=(ALL) ALL\n"
        ),
    )
    .unwrap();
    assert!(
        Command::new("chmod")
            .args(["440", path])
            .status()
            .unwrap()
            .success()
    );
    assert!(
        Command::new("visudo")
            .args(["-c", "-q"])
            .status()
            .unwrap()
            .success()
    );
}

#[test]
fn sudo_asks_once_and_the_password_is_never_shown() {
    sudoers();
    let fleet = Fleet::start(2);
    let dir = Dir::new("rrun-sudo");
    let base = format!(
        "--color=never -F {} --hosts {} -l {PASSWORD_USER} --sudo",
        fleet.config().display(),
        fleet.hosts_file().display()
    );
    let prompt = "[sudo] password on the hosts";
    // The right password: root on every host, asked once, and nowhere
    // in the output, the -o files, the log or JSON.
    let (code, screen) = on_terminal(
        &dir,
        &format!("{base} -o out --log log 'id -u; whoami'"),
        prompt,
        &format!("{PASSWORD}\r"),
    );
    assert_eq!(code, 0, "{screen}");
    assert_eq!(screen.matches(prompt).count(), 1, "{screen}");
    assert!(screen.contains("127.0.0.2: root"), "{screen}");
    assert!(screen.contains("127.0.0.3: 0"), "{screen}");
    assert!(
        !screen.contains(PASSWORD) && !screen.contains("fleetkit-sudo"),
        "{screen}"
    );
    for f in ["out/127.0.0.2", "out/127.0.0.3", "log"] {
        let text = std::fs::read_to_string(dir.join(f)).unwrap();
        assert!(
            !text.contains(PASSWORD) && !text.contains("fleetkit-sudo"),
            "{f}: {text}"
        );
    }
    assert_eq!(
        std::fs::read_to_string(dir.join("out/127.0.0.2")).unwrap(),
        "0\nroot\n"
    );
    let (code, screen) = on_terminal(
        &dir,
        &format!("{base} --json 'id -un'"),
        prompt,
        &format!("{PASSWORD}\r"),
    );
    assert_eq!(code, 0, "{screen}");
    assert!(screen.contains(r#""stdout":"root\n""#), "{screen}");
    assert!(!screen.contains(PASSWORD), "{screen}");
    // -I still works: the command's input follows the password.
    let (code, screen) = on_terminal_shell(
        &dir,
        &format!("printf 'line one\\nline two\\n' | \"$RRUN\" {base} -I 'id -un; wc -l'"),
        prompt,
        &format!("{PASSWORD}\r"),
    );
    assert_eq!(code, 0, "{screen}");
    assert!(screen.contains("127.0.0.2: root"), "{screen}");
    assert!(screen.contains("127.0.0.2: 2"), "{screen}");
    // A wrong password: auth on every host, in sudo's words, said once.
    let marker = dir.join("ran");
    let (code, screen) = on_terminal(
        &dir,
        &format!("{base} 'touch {}'", marker.display()),
        prompt,
        "wrong password\r",
    );
    assert_eq!(code, 3, "{screen}");
    assert!(screen.contains("auth: sudo refused: "), "{screen}");
    assert!(screen.contains("2 hosts: 2 auth"), "{screen}");
    assert_eq!(
        screen.matches("incorrect password attempt").count(),
        2,
        "{screen}"
    );
    assert!(!marker.exists());
    // A host whose sudoers requires a terminal needs --pty.
    let tty = format!(
        "--color=never -F {} --hosts {} -l fleettty --sudo",
        fleet.config().display(),
        fleet.hosts_file().display()
    );
    let (code, screen) = on_terminal(
        &dir,
        &format!("{tty} whoami"),
        prompt,
        &format!("{PASSWORD}\r"),
    );
    assert_eq!(code, 3, "{screen}");
    assert!(screen.contains("you must have a tty"), "{screen}");
    let (code, screen) = on_terminal(
        &dir,
        &format!("{tty} --pty whoami"),
        prompt,
        &format!("{PASSWORD}\r"),
    );
    assert_eq!(code, 0, "{screen}");
    assert!(screen.contains("127.0.0.3: root"), "{screen}");
    assert!(!screen.contains(PASSWORD), "{screen}");
    // --pty with -I: the input ends (sudo's use_pty relay, on in
    // Debian's sudoers, would keep the terminal's ^D to itself).
    let (code, screen) = on_terminal_shell(
        &dir,
        &format!(
            "printf 'line one\\nline two\\n' | \"$RRUN\" {tty} --pty -t 20 -I 'id -un; wc -l'"
        ),
        prompt,
        &format!("{PASSWORD}\r"),
    );
    assert_eq!(code, 0, "{screen}");
    assert!(screen.contains("127.0.0.2: root"), "{screen}");
    assert!(screen.contains("127.0.0.2: 2"), "{screen}");
    // A host whose sudo caches nothing (timestamp_timeout=0) still runs
    // the command once the password is proved, with -I's input after it
    // and the password nowhere.
    let nocache = format!(
        "--color=never -F {} --hosts {} -l fleetnocache --sudo",
        fleet.config().display(),
        fleet.hosts_file().display()
    );
    let (code, screen) = on_terminal_shell(
        &dir,
        &format!("printf 'line one\\nline two\\n' | \"$RRUN\" {nocache} -I 'id -un; cat'"),
        prompt,
        &format!("{PASSWORD}\r"),
    );
    assert_eq!(code, 0, "{screen}");
    assert_eq!(screen.matches(prompt).count(), 1, "{screen}");
    assert!(screen.contains("127.0.0.2: root"), "{screen}");
    assert!(screen.contains("127.0.0.3: line two"), "{screen}");
    assert!(!screen.contains(PASSWORD), "{screen}");
    let (code, screen) = on_terminal(&dir, &format!("{nocache} whoami"), prompt, "wrong\r");
    assert_eq!(code, 3, "{screen}");
    assert!(screen.contains("2 hosts: 2 auth"), "{screen}");
    // A host that does not run our shell line as written (a ForceCommand
    // that echoes its input) is never sent the password.
    let echoing = Fleet::start_configured(1, &keys().host_key, "ForceCommand /bin/cat\n");
    let (code, screen) = on_terminal(
        &dir,
        &format!(
            "--color=never -F {} -H 127.0.0.2 -l {PASSWORD_USER} --sudo --json id",
            echoing.config().display()
        ),
        prompt,
        &format!("{PASSWORD}\r"),
    );
    assert_eq!(code, 3, "{screen}");
    assert!(screen.contains("the password was not sent"), "{screen}");
    assert!(!screen.contains(PASSWORD), "{screen}");
}
