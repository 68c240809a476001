//! ssh_config read as OpenSSH reads it: a differential test of `rrun -G`
//! against `ssh -G` itself over a corpus of configs (Include trees with
//! globs, every Match criterion, negated patterns, tokens, `Host *`
//! defaults before and after specific blocks, the command line's user and
//! port against the config's), and the errors ssh gives for bad files.

mod util;

use std::process::Command;

use util::Dir;

/// The options compared, as `ssh -G` names them.
const KEYS: &[&str] = &[
    "hostname",
    "user",
    "port",
    "identityfile",
    "proxyjump",
    "proxycommand",
    "userknownhostsfile",
    "stricthostkeychecking",
    "connecttimeout",
    "certificatefile",
];

/// The compared lines of a `-G` output, sorted.
fn compared(out: &[u8]) -> Vec<String> {
    let mut lines: Vec<String> = String::from_utf8_lossy(out)
        .lines()
        .filter(|l| KEYS.contains(&l.split(' ').next().unwrap_or("")))
        .map(str::to_string)
        .collect();
    lines.sort();
    lines
}

/// `ssh -G` and `rrun -G` for one host and command line agree.
fn agree(dir: &Dir, config: &std::path::Path, cli: &[&str], host: &str) {
    let ssh = Command::new("ssh")
        .arg("-G")
        .arg("-F")
        .arg(config)
        .args(cli)
        .arg(host)
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(ssh.status.success(), "ssh -G {host}: {ssh:?}");
    let rrun_cli: Vec<&str> = cli
        .iter()
        .map(|a| if *a == "-p" { "--port" } else { a })
        .collect();
    let rrun = dir
        .command("rrun")
        .arg("-F")
        .arg(config)
        .arg("-G")
        .args(&rrun_cli)
        .arg(host)
        .output();
    assert!(rrun.status.success(), "rrun -G {host}: {rrun:?}");
    assert_eq!(
        compared(&rrun.stdout),
        compared(&ssh.stdout),
        "rrun -G and ssh -G differ for {cli:?} {host} with\n{}",
        std::fs::read_to_string(config).unwrap()
    );
}

#[test]
fn rrun_dash_g_agrees_with_ssh_dash_g() {
    if Command::new("ssh").arg("-V").output().is_err() {
        panic!("ssh is needed for this test (openssh-client)");
    }
    let dir = Dir::new("ssh-g");
    let d = dir.path().display().to_string();
    dir.create(
        "conf.d/10-web.conf",
        "Host web*\n  User www\n  IdentityFile ~/.ssh/web_%h_%p_%r\n  CertificateFile ~/.ssh/web-cert.pub\n",
    );
    dir.create(
        "conf.d/20-db.conf",
        "Host db? !db9\n  HostName 10.9.0.%h\n  Port 2201\n  ProxyJump bastion,admin@hop2:2222\n",
    );
    dir.create("conf.d/ignored.txt", "Host *\n  User never\n");
    dir.create("nested/inner.conf", "Host deep\n  ConnectTimeout 3\n");
    dir.create(
        "conf.d/30-deep.conf",
        format!("Include {d}/nested/*.conf\n"),
    );
    let corpus = [
        // Include with a glob, defaults after specific blocks.
        format!(
            "Include {d}/conf.d/*.conf\nHost *\n  User fallback\n  ConnectTimeout 12\n  StrictHostKeyChecking accept-new\n"
        ),
        // Defaults before specific blocks: the first value wins.
        "Host *\n  Port 2000\n  UserKnownHostsFile ~/kh_%h_%p ${HOME}/kh2\nHost web1 web2\n  Port 9\n  User w\n"
            .to_string(),
        // Every Match criterion, negations, the final pass.
        format!(
            "Host alias\n  HostName 127.0.0.1\nMatch originalhost alias user root\n  Port 11\n\
             Match host 127.0.0.*\n  User matched\nMatch final host 127.0.0.1\n  ConnectTimeout 4\n\
             Match !host nowhere localuser root,!nobody exec \"touch {d}/exec-ran-%h\"\n  IdentityFile {d}/id_%h\n\
             Match canonical\n  ProxyCommand never\n\
             Match all\n  ProxyCommand ssh -W %h:%p gate\n"
        ),
        // Includes inside blocks apply only where the block does.
        format!(
            "Host never-this\n  Include {d}/conf.d/*.conf\nHost web*\n  Include {d}/nested/inner.conf\n  StrictHostKeyChecking yes\n"
        ),
        // ProxyJump none and ProxyCommand share one slot.
        "Host a\n  ProxyJump none\nHost b\n  ProxyCommand nc %h %p\n  ProxyJump j\nHost *\n  ProxyJump x:2022\n"
            .to_string(),
    ];
    let hosts = [
        "web1", "web7", "db1", "db9", "deep", "alias", "a", "b", "other",
    ];
    let clis: [&[&str]; 3] = [&[], &["-l", "cli"], &["-p", "2022"]];
    for (i, text) in corpus.iter().enumerate() {
        let config = dir.create(&format!("config{i}"), text);
        for host in hosts {
            for cli in clis {
                agree(&dir, &config, cli, host);
            }
        }
        // user@host and host:port forms.
        agree(&dir, &config, &["-p", "2300"], "someone@web1");
    }
    assert!(
        dir.join("exec-ran-127.0.0.1").exists(),
        "Match exec did not run"
    );
}

#[test]
fn match_localnetwork_sees_this_machines_networks() {
    // OpenSSH 9.2 has no `Match localnetwork` (9.4 added it), so this one
    // is checked on its own: loopback is always a local network.
    let dir = Dir::new("ssh-localnet");
    let config = dir.create(
        "config",
        "Match localnetwork 203.0.113.0/24\n  Port 1\n\
         Match localnetwork 10.0.0.0/8,127.0.0.0/8\n  Port 2\n",
    );
    let (out, _) = dir
        .command("rrun")
        .arg("-F")
        .arg(&config)
        .args(["-G", "h"])
        .expect_exit_text(0);
    assert!(out.lines().any(|l| l == "port 2"), "{out}");
}

#[test]
fn a_bad_config_is_refused_naming_file_and_line() {
    let dir = Dir::new("ssh-bad");
    let config = dir.create("config", "Host a\n  User x\n  Frobnicate yes\n");
    let (_, err) = dir
        .command("rrun")
        .arg("-F")
        .arg(&config)
        .args(["-H", "a", "true"])
        .expect_exit_text(2);
    assert!(
        err.contains(&format!(
            "{}:3: Bad configuration option: frobnicate",
            config.display()
        )),
        "{err}"
    );
    // IgnoreUnknown lets it pass, as it does for ssh.
    let config = dir.create("config2", "IgnoreUnknown Frob*\nHost a\n  Frobnicate yes\n");
    dir.command("rrun")
        .arg("-F")
        .arg(&config)
        .args(["-G", "a"])
        .expect_exit(0);
    // A keyword the native SSH cannot honour is named, not dropped (auto
    // would give the host to OpenSSH).
    let config = dir.create(
        "config3",
        "Host a\n  ControlMaster auto\n  ControlPath /tmp/cm-%C\n",
    );
    let (_, err) = dir
        .command("rrun")
        .arg("-F")
        .arg(&config)
        .args(["--ssh=native", "-H", "a", "true"])
        .expect_exit_text(2);
    assert!(err.contains("config3:2: controlmaster auto"), "{err}");
    assert!(err.contains("--ssh=native cannot do"), "{err}");
    // A jump host that is the host itself.
    let config = dir.create("config4", "Host *\n  ProxyJump x\n");
    let (_, err) = dir
        .command("rrun")
        .arg("-F")
        .arg(&config)
        .args(["-G", "x"])
        .expect_exit_text(2);
    assert!(err.contains("jumphost loop via x"), "{err}");
}

/// The native SSH honours what the config says: an Include tree with a
/// glob, Match exec, tokens, ProxyCommand, and a ProxyJump chain of three
/// hops where each hop may only forward to the next.
#[test]
fn the_native_ssh_follows_the_config_to_the_host() {
    use util::fleet::{Fleet, keys};
    let k = keys();
    // Started from the target back, so each hop knows the next one's port.
    let target = Fleet::start(1);
    let hop = |next: &Fleet, extra: &str| {
        Fleet::start_configured(
            1,
            &k.host_key,
            &format!("PermitOpen 127.0.0.2:{}\n{extra}", next.port),
        )
    };
    let h3 = hop(&target, "");
    let h2 = hop(&h3, "");
    let h1 = hop(&h2, "");
    let dir = Dir::new("ssh-native");
    let d = dir.path().display().to_string();
    let known = dir.join("known_hosts");
    let common = format!(
        "  User fleet\n  IdentityFile {}\n  IdentitiesOnly yes\n  UserKnownHostsFile {}\n",
        k.client_key.display(),
        known.display()
    );
    dir.create(
        "conf.d/hops.conf",
        format!(
            "Host h1\n  HostName 127.0.0.2\n  Port {}\nHost h2\n  HostName 127.0.0.2\n  Port {}\n\
             Host h3\n  HostName 127.0.0.2\n  Port {}\n",
            h1.port, h2.port, h3.port
        ),
    );
    let config = dir.create(
        "config",
        format!(
            "Include {d}/conf.d/*.conf\n\
             Host chained\n  HostName 127.0.0.2\n  Port {tp}\n  ProxyJump h1,h2,h3\n\
             Host proxied\n  HostName 127.0.0.2\n  Port {tp}\n  \
             ProxyCommand sh -c 'touch {d}/proxied-%h-%p; exec ssh -F {base} -W %h:%p 127.0.0.2'\n\
             Match originalhost proxied exec \"touch {d}/matched-%n\"\n  ConnectTimeout 9\n\
             Host *\n{common}",
            tp = target.port,
            base = target.config().display(),
        ),
    );
    let (out, err) = dir
        .command("rrun")
        .arg("-F")
        .arg(&config)
        .args(["-H", "chained,proxied", "hostname"])
        .expect_exit_text(0);
    assert_eq!(
        {
            let mut l: Vec<&str> = out.lines().collect();
            l.sort();
            l
        },
        ["chained: host0", "proxied: host0"],
        "{err}"
    );
    assert!(
        dir.join(&format!("proxied-127.0.0.2-{}", target.port))
            .exists()
    );
    assert!(dir.join("matched-proxied").exists());
    // The middle hop may not forward: the chain, not a direct connection,
    // was what reached the target.
    drop(h1);
    let h2_closed = Fleet::start_configured(1, &k.host_key, "AllowTcpForwarding no\n");
    let h1 = hop(&h2_closed, "");
    dir.create(
        "conf.d/hops.conf",
        format!(
            "Host h1\n  HostName 127.0.0.2\n  Port {}\nHost h2\n  HostName 127.0.0.2\n  Port {}\n\
             Host h3\n  HostName 127.0.0.2\n  Port {}\n",
            h1.port, h2_closed.port, h3.port
        ),
    );
    let (_, err) = dir
        .command("rrun")
        .arg("-F")
        .arg(&config)
        .args(["-H", "chained", "hostname"])
        .expect_exit_text(3);
    assert!(err.contains("1 unreachable"), "{err}");
}

#[test]
fn a_host_that_stops_answering_mid_command_is_lost_after_the_keepalives() {
    // ServerAliveInterval 1s (a time, as ssh reads it), ServerAliveCountMax 2: a host frozen while
    // its command runs is given up in about two seconds, not never.
    let fleet = util::fleet::Fleet::start(1);
    let dir = Dir::new("ssh-alive");
    let config = dir.create(
        "config",
        format!(
            "ServerAliveInterval 1s\nServerAliveCountMax 2\n{}",
            fleet.config_text()
        ),
    );
    let mut child = std::process::Command::new(util::binary("rrun"))
        .arg("-F")
        .arg(&config)
        .args([
            "--ssh=native",
            "-H",
            &fleet.addrs[0],
            "echo begun; sleep 60",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    fleet.freeze_sessions();
    let frozen = std::time::Instant::now();
    let status = child.wait().unwrap();
    let err = util::read_stderr(&mut child);
    assert!(
        frozen.elapsed() < std::time::Duration::from_secs(15),
        "{:?}",
        frozen.elapsed()
    );
    assert_eq!(status.code(), Some(3), "{err}");
    assert!(err.contains("stopped answering"), "{err}");
}

#[test]
fn a_failing_proxy_command_says_how_it_ended() {
    let dir = Dir::new("ssh-proxyfail");
    let config = dir.create(
        "config",
        "Host p\n  ProxyCommand sh -c \"echo 'no route to the bastion' >&2; exit 7\"\n",
    );
    let (_, err) = dir
        .command("rrun")
        .arg("-F")
        .arg(&config)
        .args(["--ssh=native", "--connect-timeout", "5", "-H", "p", "true"])
        .expect_exit_text(3);
    assert!(
        err.contains("ProxyCommand: exited with status 7: no route to the bastion"),
        "{err}"
    );
}

#[test]
fn an_included_file_others_could_write_is_refused_as_ssh_refuses_it() {
    // ssh (Debian's) refuses an included file writable by others, or by
    // a group with other members, and accepts one writable only by the
    // owner's private group (umask 002 on Debian and Ubuntu).
    use std::os::unix::fs::PermissionsExt;
    let dir = Dir::new("config-perms");
    let main = dir.create("main", format!("Include {}\n", dir.join("inc").display()));
    let inc = dir.create("inc", "Host x\n  Port 2200\n");
    // A group with another member: fleet (the test fleet's login user).
    let _ = Command::new("groupadd").arg("fkshared").status();
    let _ = Command::new("useradd")
        .args(["-m", "-s", "/bin/sh", "fleet"])
        .status();
    let _ = Command::new("usermod")
        .args(["-aG", "fkshared", "fleet"])
        .status();
    for (mode, group, accepted) in [
        (0o644, "root", true),
        (0o664, "root", true),
        (0o666, "root", false),
        (0o664, "fkshared", false),
    ] {
        assert!(
            Command::new("chgrp")
                .arg(group)
                .arg(&inc)
                .status()
                .unwrap()
                .success()
        );
        std::fs::set_permissions(&inc, std::fs::Permissions::from_mode(mode)).unwrap();
        let ssh = Command::new("ssh")
            .arg("-F")
            .arg(&main)
            .args(["-G", "x"])
            .output()
            .unwrap();
        assert_eq!(ssh.status.success(), accepted, "ssh, {mode:o} {group}");
        let mut rrun = dir.command("rrun");
        rrun.arg("-F").arg(&main).args(["-G", "x"]);
        if accepted {
            let (out, _) = rrun.expect_exit_text(0);
            assert!(out.contains("port 2200\n"), "{out}");
        } else {
            let (_, err) = rrun.expect_exit_text(2);
            assert!(
                err.contains("inc: Bad owner or permissions"),
                "{mode:o} {group}: {err}"
            );
        }
    }
}

#[test]
fn include_globs_and_extra_arguments_as_ssh_reads_them() {
    // Include globs as glob(3): character classes, negated classes and
    // escapes; checked against ssh -G itself.
    let dir = Dir::new("ssh-include-classes");
    dir.create("d/a.conf", "Host a\n  Port 2201\n");
    dir.create("d/b.conf", "Host b\n  Port 2202\n");
    dir.create("d/c.conf", "Host c\n  Port 2203\n");
    dir.create("d/*.conf", "Host star\n  Port 2204\n");
    let d = dir.join("d").display().to_string();
    for (include, host) in [
        (format!("{d}/[ab].conf"), "a"),
        (format!("{d}/[ab].conf"), "b"),
        (format!("{d}/[!ab].conf"), "c"),
        (format!("{d}/[a-b].conf"), "b"),
        (format!("{d}/\\*.conf"), "star"),
        (format!("{d}/[!ab].conf"), "a"),
    ] {
        let config = dir.create("config", format!("Include {include}\n"));
        agree(&dir, &config, &[], host);
    }
    // A second word after a one-value keyword, or an empty value, is
    // refused as ssh refuses it, even in a block that does not apply.
    for (text, line) in [
        ("Port 22 33\n", 1),
        ("Host nomatch\n  User a b\n", 2),
        ("HostName \"\"\n", 1),
        ("ConnectTimeout 5 6\n", 1),
    ] {
        let config = dir.create("bad", text);
        let ssh = Command::new("ssh")
            .arg("-G")
            .arg("-F")
            .arg(&config)
            .arg("x")
            .output()
            .unwrap();
        assert!(!ssh.status.success(), "ssh accepted {text:?}");
        let (_, err) = dir
            .command("rrun")
            .arg("-F")
            .arg(&config)
            .args(["-G", "x"])
            .expect_exit_text(2);
        assert!(err.contains(&format!("bad:{line}: ")), "{text:?}: {err}");
    }
}
